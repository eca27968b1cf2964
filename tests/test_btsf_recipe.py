"""The BTSF training recipes, readouts, crops and missing-value handling: values, not types."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import tiny_btsf
from sklearn.base import clone

from skcontrast import BTSFTransformer
from skcontrast._checkpoint import canonical_params
from skcontrast._data import normalize_panel
from skcontrast.nn.augmentations import overlapping_crops
from skcontrast.nn.btsf import fill_missing, resample
from skcontrast.nn.losses import hierarchical_contrast

NAN = float("nan")


def test_fill_missing_interpolates_inside_and_extends_edges():
    x = torch.tensor([[[NAN, 1.0, NAN, 3.0, NAN, NAN]], [[NAN, NAN, NAN, NAN, NAN, NAN]]])
    out = fill_missing(x)
    np.testing.assert_allclose(out[0, 0].numpy(), [1, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(out[1, 0].numpy(), np.zeros(6))  # nothing observed
    y = torch.randn(2, 3, 5)
    assert fill_missing(y) is y  # no copy without missing values


@pytest.mark.parametrize("max_length", [4, 16, 64])
def test_overlapping_crops_share_the_overlap_and_stay_inside_each_series(max_length):
    gen = torch.Generator().manual_seed(0)
    T = 40
    # each value names its (row, time): checks where every view comes from
    x = (100 * torch.arange(6.0)[:, None] + torch.arange(T, dtype=torch.float32)).unsqueeze(1)
    lengths = torch.tensor([40, 40, 30, 12, 5, 40])
    for row, n in enumerate(lengths.tolist()):
        x[row, :, n:] = NAN
    for _ in range(50):
        (a, b), overlap = overlapping_crops(x, max_length, lengths, gen)
        assert a.shape[-1] <= max_length and b.shape[-1] <= max_length
        assert 1 <= overlap <= min(a.shape[-1], b.shape[-1])
        # the same time points: A's last `overlap` steps are B's first
        torch.testing.assert_close(a[..., -overlap:], b[..., :overlap], equal_nan=True)
        for view in (a, b):
            values = view[~torch.isnan(view)]
            rows = values // 100
            assert rows.numel() > 0
            # consecutive points of the row's own series, never another row's
            for r in range(6):
                own = view[r, 0][~torch.isnan(view[r, 0])]
                assert (own // 100 == r).all()
                assert (torch.diff(own) == 1).all()
        # series at least as long as the views lie wholly inside their observed part
        full = lengths >= max(a.shape[-1], b.shape[-1]) + (T - lengths).clamp(max=0)
        fits = lengths >= min(max_length, T)
        assert not torch.isnan(a[fits & full]).any() and not torch.isnan(b[fits & full]).any()


def test_hierarchical_contrast_prefers_aligned_views():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, 16, 12, generator=gen)
    aligned = hierarchical_contrast(z, z + 0.01 * torch.randn(z.shape, generator=gen))
    shuffled_time = hierarchical_contrast(z, z[:, torch.randperm(16, generator=gen)])
    shuffled_rows = hierarchical_contrast(z, z[torch.randperm(8, generator=gen)])
    assert aligned < shuffled_time and aligned < shuffled_rows
    # alpha=1: the instance term only, which ignores the order of time steps... per scale
    assert torch.isfinite(hierarchical_contrast(z[:, :1], z[:, :1]))


def test_readouts_widths_and_paper_recipe(panel):
    X, _ = panel
    exact = dict(standardize=False, options=dict(mixed_precision=False))  # float32 on any CPU
    fused = tiny_btsf(readout="fused", **exact).fit(X)
    multi = tiny_btsf(**exact).fit(X)
    # rank * repr_dims; multiscale adds the temporal features pooled at 1 + 2 + 4 positions
    assert fused.transform(X).shape == (12, 2 * 4)
    assert multi.transform(X).shape == (12, 2 * 4 + 7 * 4)
    # the readout does not change training; the multiscale readout starts with the logits
    # of the paper's output
    np.testing.assert_allclose(
        torch.sigmoid(torch.from_numpy(multi.transform(X).to_numpy()[:, :8])).numpy(),
        fused.transform(X).to_numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    paper = tiny_btsf(recipe="paper", readout="fused").fit(X)
    assert paper._learning_rate() == 3e-4 and multi._learning_rate() == 1e-3
    assert tiny_btsf(lr=0.01)._learning_rate() == 0.01
    assert np.isfinite(paper.loss_history_).all() and np.isfinite(multi.loss_history_).all()


def test_resample_keeps_the_ends_and_the_line_between_samples():
    x = torch.arange(5.0).reshape(1, 1, 5) * 2  # 0, 2, 4, 6, 8
    np.testing.assert_allclose(resample(x, 2.0)[0, 0].numpy(), np.linspace(0, 8, 10), atol=1e-6)
    np.testing.assert_allclose(resample(x, 0.6)[0, 0].numpy(), [0, 4, 8])
    assert resample(x, 0.01).shape[-1] == 2  # never fewer than two steps


def test_input_scales_concatenate_the_readout_of_each_resampled_copy(panel, tmp_path):
    X, _ = panel
    exact = dict(standardize=False, options=dict(mixed_precision=False))
    plain = tiny_btsf(**exact).fit(X)
    multi = tiny_btsf(input_scales=(1.0, 2.0), **exact).fit(X)
    F_plain, F_multi = plain.transform(X).to_numpy(), multi.transform(X).to_numpy()
    width = F_plain.shape[1]
    assert F_multi.shape == (12, 2 * width)  # training is the same; the readout doubles
    np.testing.assert_allclose(F_multi[:, :width], F_plain, rtol=1e-5, atol=1e-6)
    # the second block reads the z-normalised series at twice its length
    x = torch.from_numpy(normalize_panel(X, "zscore"))
    with torch.inference_mode():
        doubled = plain._encode(plain.network_, resample(x, 2.0)).numpy()
    np.testing.assert_allclose(F_multi[:, width:], doubled, rtol=1e-4, atol=1e-5)
    assert not np.allclose(F_multi[:, width:], F_plain, atol=1e-3)
    # readout only: a checkpoint of the fit resumes under other scales
    assert canonical_params(multi) == canonical_params(plain)
    # a copy at four times the length: chunks of a quarter of the series
    assert tiny_btsf(input_scales=(1.0, 4.0), inference_batch_size=8)._inference_rows(None) == 2
    # scattered missing values are interpolated before resampling: the copy reads the
    # interpolated series (NaN spread by the resampling would read otherwise)
    holed = X.copy()
    holed[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    x_holed = fill_missing(torch.from_numpy(normalize_panel(holed, "zscore")))
    with torch.inference_mode():
        expected = plain._encode(plain.network_, resample(x_holed, 2.0)).numpy()
    np.testing.assert_allclose(
        multi.transform(holed).to_numpy()[:, width:], expected, rtol=1e-4, atol=1e-5
    )
    # a weights-only file keeps the scales (a list is stored as a tuple)
    listed = tiny_btsf(input_scales=[1.0, 2.0], **exact).fit(X)
    assert clone(listed).get_params()["input_scales"] == [1.0, 2.0]
    listed.save_weights(tmp_path / "w.pt")
    loaded = BTSFTransformer.load_weights(tmp_path / "w.pt")
    assert loaded.input_scales == (1.0, 2.0)
    np.testing.assert_array_equal(loaded.transform(X).to_numpy(), F_multi)


def test_input_scales_with_channels_unequal_lengths_and_pooled_windows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 20)).astype(np.float32)
    plain = tiny_btsf(channel_independent=True).fit(X)
    multi = tiny_btsf(channel_independent=True, input_scales=(1.0, 0.5)).fit(X)
    width = plain.transform(X).shape[1]
    assert multi.transform(X).shape == (6, 2 * width)  # each channel at each scale
    # unequal lengths: every length group is resampled on its own
    ragged = [pd.DataFrame(rng.standard_normal((n, 1))) for n in (9, 14, 14, 31)]
    single = tiny_btsf().fit(ragged)
    both = tiny_btsf(input_scales=(1.0, 2.0)).fit(ragged)
    F_single, F_both = single.transform(ragged).to_numpy(), both.transform(ragged).to_numpy()
    assert F_both.shape == (4, 2 * F_single.shape[1]) and np.isfinite(F_both).all()
    # the first scale's block is the plain readout, up to standardisation statistics of
    # the wider output (each feature is standardised on its own)
    np.testing.assert_allclose(F_both[:, : F_single.shape[1]], F_single, rtol=1e-4, atol=1e-4)
    # pooled windows of transform_timesteps read every scale too
    windows = both.transform_timesteps(ragged[3], window=8, pooled=True)
    assert windows.shape[-1] == F_both.shape[1] and np.isfinite(windows).all()


def test_default_budget_is_100_steps_with_either_recipe(panel):
    X, _ = panel
    assert tiny_btsf(n_iters=None).fit(X).n_iters_ == 100
    assert tiny_btsf(n_iters=None, recipe="paper").fit(X).n_iters_ == 100


def test_crop_steps_cost_the_same_for_any_series_length(monkeypatch):
    """The network never sees more than crop_length steps in training."""
    seen = []
    original = BTSFTransformer._training_loss

    def spy(self, network, batch, step):
        forward = network.encode

        def encode(x, mask=None):
            seen.append(x.shape[-1])
            return forward(x, mask)

        network.encode = encode
        try:
            return original(self, network, batch, step)
        finally:
            del network.encode

    monkeypatch.setattr(BTSFTransformer, "_training_loss", spy)
    X = np.random.default_rng(0).standard_normal((6, 1, 500)).astype(np.float32)
    tiny_btsf(crop_length=24, n_iters=5).fit(X)
    assert seen and max(seen) <= 24


def test_cpu_inference_chunks_are_bounded_in_time_steps(monkeypatch):
    """On a CPU a chunk holds at most _cpu_chunk_steps encoded steps (cache-sized, faster
    on long series), and the features do not depend on the chunking."""
    from skcontrast import AimTSTransformer

    X = np.random.default_rng(0).standard_normal((12, 1, 3000)).astype(np.float32)
    est = tiny_btsf(n_iters=2, mixed_precision=False).fit(X[:4])
    seen, forward = [], est.network_.encode

    def encode(x, mask=None):
        seen.append(x.shape[0])
        return forward(x, mask)

    monkeypatch.setattr(est.network_, "encode", encode)
    chunked = est.transform(X).to_numpy()
    assert seen == [5, 5, 2] * len(est._normalizations())  # 16,384 // 3,000 = 5 series
    monkeypatch.setattr(est, "_cpu_chunk_steps", None)
    seen.clear()
    whole = est.transform(X).to_numpy()
    assert seen == [12] * len(est._normalizations())
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-5)
    # channels encoded as their own series and resampled copies count; at least one series
    CPU = torch.device("cpu")
    assert tiny_btsf()._chunk_rows((9, 3, 2000), CPU) == 8
    assert tiny_btsf(channel_independent=True)._chunk_rows((9, 3, 2000), CPU) == 2
    assert (
        tiny_btsf(channel_independent=True, input_scales=(2.0, 1.0))._chunk_rows((9, 3, 2000), CPU)
        == 1
    )
    assert tiny_btsf(inference_batch_size=4)._chunk_rows((9, 1, 100), CPU) == 4
    assert tiny_btsf()._chunk_rows((9, 1, 10**6), CPU) == 1
    assert AimTSTransformer()._chunk_rows((9, 2, 2000), CPU) == 2  # 8,192 steps, every channel
    # other devices: inference_batch_size (and the input scales) only
    assert (
        tiny_btsf()._chunk_rows((9, 1, 10**6), torch.device("meta"))
        == tiny_btsf().inference_batch_size
    )


def test_unequal_lengths_train_together_with_crops():
    """Every series trains with crops, also lengths seen once (one padded panel)."""
    rng = np.random.default_rng(0)
    X = [pd.DataFrame(rng.standard_normal(n)) for n in (9, 14, 20, 31, 31, 40)]
    sizes = []
    t = tiny_btsf(n_iters=3)
    original = t._training_panels

    def spy(panels):
        out = original(panels)
        sizes.append([len(p) for p in out])
        return out

    t._training_panels = spy
    t.fit(X)
    assert sizes == [[6]] and t.n_iters_ == 3 and t.n_timepoints_in_ is None
    assert t.transform(X).shape[0] == 6
    # the paper's recipe keeps one panel per length
    p = tiny_btsf(n_iters=3, recipe="paper")
    assert len(p._training_panels([np.zeros((2, 1, 5)), np.zeros((1, 1, 7))])) == 2


def test_missing_values_barely_move_the_representation():
    """10 % scattered NaN: features stay close to the complete series' features."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6 * np.pi, 64)
    X = np.sin(t + rng.uniform(0, np.pi, (20, 1)))[:, None, :].astype(np.float32)
    X += 0.05 * rng.standard_normal(X.shape).astype(np.float32)
    holed = X.copy()
    holed[rng.random(X.shape) < 0.1] = np.nan
    est = tiny_btsf(n_iters=10, standardize=False).fit(X)
    full, gaps = est.transform(X).to_numpy(), est.transform(holed).to_numpy()
    other = est.transform(X[::-1].copy()).to_numpy()
    # closer to its own complete series than the typical distance between series
    drift = np.linalg.norm(full - gaps, axis=1).mean()
    assert drift < 0.5 * np.linalg.norm(full - other, axis=1).mean()
    # masking (TS2Vec's way, missing="mask") moves them further
    masked = tiny_btsf(n_iters=10, standardize=False, missing="mask").fit(X)
    masked_drift = np.linalg.norm(
        masked.transform(X).to_numpy() - masked.transform(holed).to_numpy(), axis=1
    )
    assert drift < masked_drift.mean()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"recipe": "simclr"}, "recipe must be one of"),
        ({"readout": "mean"}, "readout must be one of"),
        (
            {"input_scales": (0.0, 1.0)},
            r"list of 1 to 8 values, each in \(0, 8\], got \(0.0, 1.0\)",
        ),
        ({"input_scales": ()}, "input_scales must be a tuple or list of 1 to 8"),
        ({"input_scales": (float("inf"),)}, "input_scales must be a tuple or list"),
        ({"input_scales": 2.0}, "input_scales must be a tuple or list"),
        ({"crop_length": 1}, "crop_length must be an integer >= 2"),
        ({"mask_ratio": 1.0}, r"mask_ratio must be in \[0, 1\)"),
        ({"temporal_weight": -1}, "temporal_weight must be finite and >= 0"),
        ({"swa": "yes"}, r"swa must be a bool \(True or False\), got .yes."),
        ({"lr": None, "recipe": "paper"}, None),
    ],
)
def test_recipe_parameters_are_validated(panel, params, match):
    if match is None:
        tiny_btsf(**params).fit(panel[0])
        return
    with pytest.raises(ValueError, match=match):
        tiny_btsf(**params).fit(panel[0])


def test_swa_ends_with_the_mean_of_the_weights_after_each_step(panel):
    X = panel[0]
    # the constant-rate trajectory does not depend on the budget: the weights after step k
    # are those of a fit with n_iters=k
    steps = [tiny_btsf(n_iters=k, swa=False).fit(X).network_.state_dict() for k in (1, 2, 3)]
    averaged = tiny_btsf(n_iters=3, swa=True).fit(X)
    plain = tiny_btsf(n_iters=3, swa=False).fit(X)
    assert averaged.loss_history_ == plain.loss_history_  # the same optimisation
    for name, value in averaged.network_.state_dict().items():
        expected = sum(s[name] for s in steps) / 3
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
    assert not torch.equal(averaged.network_.W_t, plain.network_.W_t)
    # swa=None: on with the crops recipe (the default), off with the paper's
    default = tiny_btsf(n_iters=3).fit(X).network_.state_dict()
    assert all(torch.equal(default[k], v) for k, v in averaged.network_.state_dict().items())
    paper = [tiny_btsf(n_iters=3, recipe="paper", swa=s).fit(X) for s in (None, False)]
    assert torch.equal(paper[0].network_.W_t, paper[1].network_.W_t)


def test_cpu_inference_precision(panel):
    """float32 without mixed_precision; bf16 at transform on a CPU with native bf16 (close)."""
    from skcontrast._data import normalize_panel
    from skcontrast._torch_utils import cpu_has_bf16

    X = panel[0]
    exact = tiny_btsf(mixed_precision=False, standardize=False).fit(X)
    with torch.inference_mode():
        x = torch.from_numpy(normalize_panel(X, "zscore"))
        direct = exact._encode(exact.network_, x).numpy()
    np.testing.assert_allclose(exact.transform(X).to_numpy(), direct, rtol=1e-6, atol=1e-6)
    fast = tiny_btsf(mixed_precision=True, standardize=False).fit(X)  # training: float32
    assert fast.loss_history_ == exact.loss_history_
    got = fast.transform(X).to_numpy()
    if cpu_has_bf16():
        assert not np.array_equal(got, direct)
        np.testing.assert_allclose(got, direct, rtol=0.05, atol=0.05)
    else:
        np.testing.assert_array_equal(got, direct)
