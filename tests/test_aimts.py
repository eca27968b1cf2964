"""AimTSTransformer: corpus pretraining, reuse, images, the objective, persistence."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import tiny_aimts, tiny_btsf, tiny_clf
from sklearn.base import clone

from skcontrast import AimTSTransformer
from skcontrast.nn.aimts import AimTSNetwork
from skcontrast.nn.losses import augmentation_contrast, series_image_contrast, slerp

# the tiny configuration's features per channel: readout="auto" ("multi" from scratch) at
# depth 1 reads the last block (repr_dims=8) by mean and max, on the series and its difference
WIDTH = 4 * 8


def features(t, X):
    out = t.transform(X)
    assert isinstance(out, pd.DataFrame)
    return out.to_numpy()


@pytest.fixture
def corpus():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((10, 1, 40)), rng.standard_normal((8, 3, 25))]


def test_pretrain_on_a_two_dataset_corpus_and_transform_a_third(corpus):
    t = tiny_aimts(n_iters=4).fit(corpus)
    assert t.n_channels_in_ is None and t.n_timepoints_in_ is None and t.n_iters_ == 4
    third = np.random.default_rng(1).standard_normal((5, 2, 33))
    F = features(t, third)
    assert F.shape == (5, 2 * WIDTH) and np.isfinite(F).all()  # concat: channels x width


@pytest.mark.parametrize("pooling, width", [("concat", 3 * WIDTH), ("mean", WIDTH), ("max", WIDTH)])
def test_channel_pooling_widths(corpus, pooling, width):
    t = tiny_aimts(channel_pooling=pooling).fit(corpus[1])
    assert features(t, corpus[1]).shape == (8, width)
    # any channel count at transform
    assert features(t, corpus[0]).shape[0] == 10


def test_batches_follow_dataset_sizes(monkeypatch, corpus):
    seen = []
    from skcontrast import aimts

    original = aimts.aimts_loss

    def recording(est, network, x, step, images):
        seen.append((step.dataset, x.shape[1], x.shape[2], len(step.indices)))
        return original(est, network, x, step, images)

    monkeypatch.setattr(aimts, "aimts_loss", recording)
    big = [
        np.random.default_rng(0).standard_normal((40, 1, 20)),
        np.random.default_rng(1).standard_normal((8, 2, 12)),
    ]
    tiny_aimts(n_iters=60, batch_size=4, image=None).fit(big)
    datasets = np.array([d for d, *_ in seen])
    # each batch comes from one panel with that panel's shape
    assert all((c, t) == ((1, 20) if d == 0 else (2, 12)) for d, c, t, _ in seen)
    # drawn in proportion to size: 40 vs 8 series
    assert 0.7 < np.mean(datasets == 0) < 0.95


def test_refits_are_bitwise_identical_and_rng_untouched(corpus):
    torch.manual_seed(7)
    state = torch.get_rng_state()
    a, b = tiny_aimts(n_iters=3).fit(corpus), tiny_aimts(n_iters=3).fit(corpus)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(features(a, corpus[1]), features(b, corpus[1]))
    assert a.loss_history_ == b.loss_history_


def test_pretrained_object_path_and_n_iters_zero(corpus, tmp_path):
    base = tiny_aimts(n_iters=3).fit(corpus)
    base.save_weights(tmp_path / "enc.pt")
    target = corpus[1]
    as_is = tiny_aimts(pretrained=str(tmp_path / "enc.pt"), n_iters=0).fit(target)
    from_obj = tiny_aimts(pretrained=base, n_iters=0).fit(target)
    # n_iters=0: the pretrained encoder unchanged
    for p, q in zip(as_is.network_.parameters(), base.network_.parameters(), strict=True):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(features(as_is, target), features(from_obj, target))
    epochs_zero = tiny_aimts(pretrained=base, n_iters=None, n_epochs=0).fit(target)
    np.testing.assert_array_equal(features(epochs_zero, target), features(as_is, target))
    continued = tiny_aimts(pretrained=base, n_iters=2).fit(target)
    assert not np.array_equal(features(continued, target), features(as_is, target))


def test_pretrained_errors(corpus):
    with pytest.raises(ValueError, match="unfitted"):
        tiny_aimts(pretrained=tiny_aimts()).fit(corpus[0])
    base = tiny_aimts().fit(corpus[0])
    with pytest.raises(ValueError, match="repr_dims=16 vs 8"):
        tiny_aimts(pretrained=base, repr_dims=16).fit(corpus[0])


def test_weights_only_round_trip(corpus, tmp_path):
    t = tiny_aimts().fit(corpus)
    t.save_weights(tmp_path / "w.pt")
    loaded = AimTSTransformer.load_weights(tmp_path / "w.pt")
    np.testing.assert_array_equal(features(loaded, corpus[0]), features(t, corpus[0]))


@pytest.mark.parametrize("image", ["gasf", "mtf", "recurrence", None])
def test_image_kinds_train(corpus, image):
    t = tiny_aimts(image=image).fit(corpus[1])
    assert np.isfinite(t.loss_history_).all() and np.isfinite(features(t, corpus[1])).all()


def test_frozen_local_image_encoder_is_not_trained(corpus, tmp_path):
    from skcontrast.nn.image_encoder import ResNet18Encoder

    torch.save(ResNet18Encoder(in_channels=3, width=2).state_dict(), tmp_path / "resnet.pt")
    t = tiny_aimts(image_encoder=str(tmp_path / "resnet.pt"), n_iters=3).fit(corpus[0])
    reference = ResNet18Encoder(in_channels=1, width=2)
    from skcontrast.nn.image_encoder import load_pretrained_weights

    load_pretrained_weights(reference, tmp_path / "resnet.pt")
    for p, q in zip(t.network_.image_encoder.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_warmup_trains_the_image_loss_alone(corpus, monkeypatch):
    calls = []
    from skcontrast import _aimts_loss

    monkeypatch.setattr(
        _aimts_loss,
        "hierarchical_instance_contrast",
        lambda *a: calls.append(1) or torch.zeros((), requires_grad=True),
    )
    # 10 series, batch 4: 3 steps per epoch; 3 warm-up steps then 2 full ones
    tiny_aimts(n_iters=5, warmup_epochs=1).fit(corpus[0])
    assert len(calls) == 2


@pytest.mark.parametrize(
    "params, rows, length",
    [
        ({}, 2 * 2 * 10, 16),
        ({"n_augmentations": 5, "crop_length": None}, 2 * 5 * 10, 40),
        ({"n_augmentations": 3, "crop_length": 100}, 2 * 3 * 10, 40),
    ],
)
def test_a_step_encodes_the_drawn_augmentations_of_cropped_windows(corpus, params, rows, length):
    seen = []
    t = tiny_aimts(n_iters=1, warmup_epochs=0, batch_size=10, image=None,
                   **{"crop_length": 16, **params})  # fmt: skip
    network = t._build_network(1, 40)
    original = network.timestep_features
    network.timestep_features = lambda x: seen.append(tuple(x.shape)) or original(x)
    from skcontrast._aimts_loss import aimts_loss
    from skcontrast._training import Step

    step = Step(0, 1, 0, np.arange(10), generator=torch.Generator().manual_seed(0))
    x = torch.from_numpy(corpus[0]).float()  # (10, 1, 40)
    terms = aimts_loss(t, network, x, step, None)
    assert seen == [(rows, 1, length)] and set(terms) == {"inter", "intra"}


def test_drawn_augmentations_vary_and_windows_stay_inside():
    from skcontrast._aimts_loss import view_augmentations, view_windows
    from skcontrast.nn.augmentations import AUGMENTATIONS

    g = torch.Generator().manual_seed(0)
    drawn = {view_augmentations(2, g, "cpu") for _ in range(60)}
    assert len(drawn) == 10  # every pair of the five appears
    assert all(len(d) == 2 and list(d) == [a for a in AUGMENTATIONS if a in d] for d in drawn)
    assert view_augmentations(5, g, "cpu") == AUGMENTATIONS
    x = torch.arange(3 * 50.0).reshape(3, 1, 50)
    w = view_windows(x, 20, g)
    assert w.shape == (3, 1, 20) and not torch.isnan(w).any()
    steps = w[:, 0] - x[:, 0, :1]  # positions in each series: 20 consecutive steps
    assert torch.equal(steps - steps[:, :1], torch.arange(20.0).expand(3, 20))
    assert view_windows(x, 50, g) is x and view_windows(x, None, g) is x


def test_swa_averages_the_encoder(corpus):
    a = tiny_aimts(n_iters=4, swa=True, warmup_epochs=0).fit(corpus[0])
    b = tiny_aimts(n_iters=4, swa=False, warmup_epochs=0).fit(corpus[0])
    assert a.loss_history_ == b.loss_history_  # same optimisation
    assert not np.array_equal(features(a, corpus[0]), features(b, corpus[0]))


def test_bad_parameters(corpus):
    for params, match in [
        ({"image": "photo"}, "image must be one of"),
        ({"channel_pooling": "sum"}, "channel_pooling"),
        ({"image_encoder": 3}, "image_encoder"),
        ({"mixup_weight": -1}, "mixup_weight"),
    ]:
        with pytest.raises(ValueError, match=match):
            tiny_aimts(**params).fit(corpus[0])


def test_btsf_refuses_a_corpus(corpus):
    with pytest.raises(TypeError, match="fits one panel"):
        tiny_btsf().fit(corpus)


# -- the objective's pieces ---------------------------------------------------------------
def test_augmentation_contrast_prefers_matching_augmentations():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(5, 4, 8, generator=g)
    aligned = augmentation_contrast(p, p + 0.01 * torch.randn(5, 4, 8, generator=g))
    assert aligned < 0.5 < augmentation_contrast(p, p.roll(1, dims=0))
    # a larger-norm negative cannot win: only directions count
    scaled = p.clone()
    scaled[1] *= 100
    torch.testing.assert_close(augmentation_contrast(p, scaled), augmentation_contrast(p, p))


def test_slerp_stays_on_the_sphere_between_its_ends():
    g = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(6, 5, generator=g), dim=1)
    b = torch.nn.functional.normalize(torch.randn(6, 5, generator=g), dim=1)
    m = slerp(a, b, torch.full((6, 1), 0.3))
    torch.testing.assert_close(m.norm(dim=1), torch.ones(6))
    torch.testing.assert_close(slerp(a, b, torch.zeros(6, 1)), a)
    torch.testing.assert_close(slerp(a, b, torch.ones(6, 1)), b, atol=1e-5, rtol=1e-5)


def test_mixup_negatives_make_the_loss_harder():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(8, 16, generator=g)
    v = s + 0.5 * torch.randn(8, 16, generator=g)
    lam = torch.full((8, 1), 0.5)
    plain = series_image_contrast(s, v, 0.1, mixup_weight=0.0, lam=lam)
    mixed = series_image_contrast(s, v, 0.1, mixup_weight=1.0, lam=lam)
    assert mixed > plain > 0


def test_network_is_channel_independent():
    net = AimTSNetwork(hidden_channels=4, repr_dims=6, depth=2).eval()
    x = torch.randn(3, 2, 20)
    with torch.no_grad():
        both = net.channel_embeddings(x)
        alone = net.channel_embeddings(x[:, 1:2])
    torch.testing.assert_close(both[:, 1:2], alone)


# -- AimTSClassifier ----------------------------------------------------------------------
def test_classifier_learns_and_is_deterministic(panel):
    X, y = panel
    clf = tiny_clf(hidden_channels=8, repr_dims=8, n_iters=60, batch_size=12).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert (clf.predict(X) == y).mean() >= 0.9  # sine vs square wave: easy to fit
    assert np.mean(clf.loss_history_[-5:]) < np.mean(clf.loss_history_[:5])
    again = tiny_clf(hidden_channels=8, repr_dims=8, n_iters=60, batch_size=12).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_classifier_starts_from_the_pretrained_encoder(corpus, tmp_path):
    X = corpus[1]
    y = np.array([0, 1] * 4)
    base = tiny_aimts(hidden_channels=4, repr_dims=4, depth=1).fit(corpus)
    base.save_weights(tmp_path / "enc.pt")
    clf = tiny_clf(pretrained=str(tmp_path / "enc.pt"), n_iters=0).fit(X, y)
    encoders = clf.network_.series_encoder, base.network_.series_encoder
    for p, q in zip(encoders[0].parameters(), encoders[1].parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="depth=2 vs 1"):
        tiny_clf(pretrained=base, depth=2).fit(X, y)


def test_classifier_in_sklearn_grid_search(panel):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = panel
    pipe = Pipeline([("id", FunctionTransformer()), ("clf", tiny_clf())])
    grid = GridSearchCV(pipe, {"clf__lr": [1e-3, 1e-2]}, cv=3, error_score="raise").fit(X, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_classifier_wrong_channels(panel):
    X, y = panel
    clf = tiny_clf().fit(X, y)
    with pytest.raises(ValueError, match="2 channel.*fitted on series with 1"):
        clf.predict(np.repeat(X, 2, axis=1))
    with pytest.raises(ValueError, match="16 time points.*fitted on 32"):
        clf.predict(X[:, :, :16])


def test_unfitted_errors_are_sklearn_and_sktime_not_fitted_errors(panel):
    from sklearn.exceptions import NotFittedError as SklearnNotFitted
    from sktime.exceptions import NotFittedError as SktimeNotFitted

    for est in (tiny_clf(), tiny_aimts()):
        method = est.predict if hasattr(est, "predict") else est.transform
        with pytest.raises(SklearnNotFitted) as info:
            method(panel[0])
        assert isinstance(info.value, SktimeNotFitted)


@pytest.mark.parametrize("image", ["line", "gadf"])
def test_max_channels_subsamples_pretraining_channels(monkeypatch, image):
    from skcontrast import _images

    seen = []
    original = _images.ImageContext.features

    def recording(self, network, x, step, channels=None):
        seen.append((x.shape[1], None if channels is None else channels.tolist()))
        return original(self, network, x, step, channels)

    monkeypatch.setattr(_images.ImageContext, "features", recording)
    X = np.random.default_rng(0).standard_normal((8, 5, 20))
    t = tiny_aimts(max_channels=2, image=image, n_iters=4).fit(X)
    assert all(c == 2 and len(set(chans)) == 2 for c, chans in seen) and len(seen) == 4
    assert len({tuple(ch) for _, ch in seen}) > 1  # different subsets across steps
    assert features(t, X).shape == (8, 5 * WIDTH)  # transform uses every channel


def test_corpus_of_sktime_containers_and_arrays():
    from sktime.datasets import load_basic_motions

    nested, _ = load_basic_motions(return_X_y=True)  # nested DataFrame: 6 channels, length 100
    arrays = np.random.default_rng(0).standard_normal((6, 30))  # 2-D: (n, T) univariate
    t = tiny_aimts(n_iters=3).fit([nested.iloc[:8], arrays])
    assert t.n_channels_in_ is None and features(t, arrays).shape == (6, WIDTH)


def test_corpus_errors_name_the_panel_problem():
    good = np.random.default_rng(0).standard_normal((6, 1, 20))
    bad = good.copy()
    bad[0, 0, 3] = np.inf
    with pytest.raises(ValueError, match="infinite values"):
        tiny_aimts().fit([good, bad])
    with pytest.raises(TypeError, match="fit_transform takes one panel"):
        tiny_aimts().fit_transform([good, good])


def test_pickle_round_trips(corpus, panel):
    import pickle

    t = tiny_aimts(n_iters=2).fit(corpus)
    np.testing.assert_array_equal(
        features(pickle.loads(pickle.dumps(t)), corpus[1]), features(t, corpus[1])
    )
    X, y = panel
    clf = tiny_clf().fit(X, y)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X)
    )


def test_classifier_rejects_non_finite_input(panel):
    X, y = panel
    X = X.copy()
    X[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite values"):
        tiny_clf().fit(X, y)


def test_cpu_inference_precision(corpus):
    """float32 without mixed_precision; bf16 at transform on a CPU with native bf16 (close)."""
    from skcontrast._data import normalize_panel
    from skcontrast._torch_utils import cpu_has_bf16

    X = corpus[0]
    exact = tiny_aimts(mixed_precision=False, standardize=False).fit(X)
    with torch.inference_mode():
        x = torch.from_numpy(normalize_panel(X.astype(np.float32), "zscore"))
        direct = exact.network_.multi_block_embeddings(x).flatten(1).numpy()
    np.testing.assert_allclose(features(exact, X), direct, rtol=1e-6, atol=1e-6)
    fast = tiny_aimts(mixed_precision=True, standardize=False).fit(X)  # training: float32 on CPU
    assert fast.loss_history_ == exact.loss_history_
    if cpu_has_bf16():
        assert not np.array_equal(features(fast, X), direct)
        np.testing.assert_allclose(features(fast, X), direct, rtol=0.05, atol=0.05)
    else:
        np.testing.assert_array_equal(features(fast, X), features(exact, X))


@pytest.mark.parametrize("pooling", ["concat", "mean"])
def test_input_scales_self_ensemble_each_channel(corpus, pooling, tmp_path):
    """The shared base's self-ensembling: each channel's embedding at every scale."""
    from skcontrast._data import normalize_panel
    from skcontrast.nn.series import fill_missing, resample

    X = corpus[1].astype(np.float32)  # 8 series, 3 channels, 25 steps
    exact = dict(standardize=False, channel_pooling=pooling, options=dict(mixed_precision=False))
    plain = tiny_aimts(**exact).fit(X)
    multi = tiny_aimts(input_scales=(1.0, 2.0), **exact).fit(X)
    # the training is the same; per channel, the embedding of the copy at twice the length
    # follows the series' own
    np.testing.assert_array_equal(multi.loss_history_, plain.loss_history_)
    x = torch.from_numpy(normalize_panel(X, "zscore"))
    holed = X.copy()
    holed[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
    x_holed = fill_missing(torch.from_numpy(normalize_panel(holed, "zscore")))
    for data, filled in ((X, x), (holed, x_holed)):
        with torch.inference_mode():
            own = plain._encode(plain.network_, torch.from_numpy(normalize_panel(data, "zscore")))
            doubled = plain._encode(plain.network_, resample(filled, 2.0))
        expected = plain._pool(torch.cat([own, doubled], dim=-1).numpy())
        np.testing.assert_allclose(features(multi, data), expected, rtol=1e-4, atol=1e-5)
    width = features(plain, X).shape[1]
    assert expected.shape == (8, 2 * width)
    assert not np.allclose(expected[:, :width], expected[:, width:], atol=1e-3)
    # the chunks shrink with the largest scale; a weights-only file keeps the scales
    assert tiny_aimts(input_scales=(4.0,), inference_batch_size=8)._inference_rows((10, 1, 16)) == 2
    multi.save_weights(tmp_path / "w.pt")
    loaded = AimTSTransformer.load_weights(tmp_path / "w.pt")
    assert loaded.input_scales == (1.0, 2.0)
    np.testing.assert_array_equal(features(loaded, X), features(multi, X))
    with pytest.raises(ValueError, match="input_scales must be a tuple or list"):
        tiny_aimts(input_scales=(0.5, 9.0)).fit(X)


def test_multi_readout_blocks_views_and_pooling():
    """readout="multi": mean and max of three intermediate blocks and the last, for the
    z-normalised series and its z-normalised first difference; "max": the last block's max."""
    from skcontrast.nn.aimts import intermediate_blocks

    assert intermediate_blocks(10) == (2, 5, 8) and intermediate_blocks(1) == ()
    assert intermediate_blocks(4) == (0, 1) and intermediate_blocks(5) == (1, 2, 3)
    net = AimTSNetwork(hidden_channels=4, repr_dims=6, depth=5).eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 2, 30)).astype(np.float32))
    with torch.no_grad():
        out = net.multi_block_embeddings(x)
        # per view: (mean, max) of blocks 1, 2, 3 (4 maps each), then of the output (6)
        assert out.shape == (3, 2, 2 * (3 * 8 + 12))
        half = out.shape[-1] // 2
        torch.testing.assert_close(out[..., 3 * 8 + 6 : half], net.channel_embeddings(x))
        dx = torch.diff(x, dim=-1)
        dx = (dx - dx.mean(-1, keepdim=True)) / dx.std(-1, correction=0, keepdim=True)
        expected = net.multi_block_embeddings(dx)[..., :half]
        torch.testing.assert_close(out[..., half:], expected, rtol=1e-4, atol=1e-5)


def test_blocks_readout_pools_every_block_but_the_last_and_never_runs_it():
    """readout="blocks" (the default): mean and max of every residual block but the last,
    for the z-normalised series and its z-normalised first difference; the last block is
    not run. Below depth 2 it reads the encoder's output, as "multi" does."""
    from skcontrast.nn.aimts import hidden_blocks

    assert hidden_blocks(10) == tuple(range(9)) and hidden_blocks(1) == hidden_blocks(0) == ()
    net = AimTSNetwork(hidden_channels=4, repr_dims=6, depth=5).eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 2, 30)).astype(np.float32))
    encoder = net.series_encoder
    calls = []
    encoder.blocks[-1].register_forward_hook(lambda *args: calls.append(1))
    with torch.no_grad():
        out = net.block_embeddings(x)
        assert not calls  # the last block never ran
        assert out.shape == (3, 2, 2 * 4 * 2 * 4)  # views x blocks 0-3 x (mean, max) x 4 maps
        h = encoder.input_fc(x.reshape(6, 1, 30))
        expected = []
        for block in list(encoder.blocks)[:4]:
            h = block(h)
            expected.append(torch.cat([h.mean(-1), h.amax(-1)], dim=-1))
        half = out.shape[-1] // 2
        torch.testing.assert_close(out[..., :half], torch.cat(expected, -1).reshape(3, 2, -1))
        dx = torch.diff(x, dim=-1)
        dx = (dx - dx.mean(-1, keepdim=True)) / dx.std(-1, correction=0, keepdim=True)
        torch.testing.assert_close(
            out[..., half:], net.block_embeddings(dx)[..., :half], rtol=1e-4, atol=1e-5
        )
        for depth in (0, 1):  # no block before the last: the encoder's output, as "multi"
            shallow = AimTSNetwork(hidden_channels=4, repr_dims=6, depth=depth).eval()
            torch.testing.assert_close(
                shallow.block_embeddings(x), shallow.multi_block_embeddings(x)
            )
    t = tiny_aimts(n_iters=2).fit(np.random.default_rng(0).standard_normal((10, 1, 40)))
    for readout, method in (("multi", "multi_block_embeddings"), ("max", "channel_embeddings")):
        other = clone(t).set_params(readout=readout)
        assert other._encode(t.network_, x).shape == getattr(t.network_, method)(x).shape


def test_auto_readout_is_blocks_for_a_pretrained_encoder_and_survives_a_weights_file(tmp_path):
    """readout="auto" (the default): "blocks" with a pretrained encoder used as is, "multi"
    for one that fit trains (from scratch or further); a weights file stores the readout
    in effect (it does not store ``pretrained``, so "auto" would otherwise read
    differently after loading)."""
    X = np.random.default_rng(0).standard_normal((10, 1, 40))
    deep = dict(depth=4, n_iters=2)
    scratch = tiny_aimts(**deep).fit(X)
    assert scratch.readout == "auto" and scratch._readout_in_effect() == "multi"
    frozen = tiny_aimts(**deep, pretrained=scratch).set_params(n_iters=0).fit(X)
    assert frozen._readout_in_effect() == "blocks"
    epochs = tiny_aimts(depth=4, pretrained=scratch, n_iters=None, n_epochs=0)
    assert epochs._readout_in_effect() == "blocks"
    further = tiny_aimts(**deep, pretrained=scratch)  # trained on: n_iters=2
    assert further._readout_in_effect() == "multi"
    blocks = tiny_aimts(**deep, pretrained=scratch, readout="blocks").set_params(n_iters=0)
    np.testing.assert_array_equal(features(frozen, X), features(blocks.fit(X), X))
    assert features(frozen, X).shape[1] != features(scratch, X).shape[1]
    for fitted, expected in ((scratch, "multi"), (frozen, "blocks")):
        fitted.save_weights(tmp_path / "w.pt")
        loaded = AimTSTransformer.load_weights(tmp_path / "w.pt")
        assert loaded.readout == expected
        np.testing.assert_array_equal(features(loaded, X), features(fitted, X))


def test_multi_readout_constant_and_missing_values():
    t = tiny_aimts(n_iters=2).fit(np.random.default_rng(0).standard_normal((10, 1, 40)))
    X = np.random.default_rng(1).standard_normal((4, 2, 40))
    X[0, 0] = 5.0  # a constant channel: its difference is all zeros, not NaN
    X[1, 1, 10:14] = np.nan
    X[2, 0, ::2] = 1.0  # a two-level channel
    assert np.isfinite(features(t, X)).all()


def test_readout_max_and_files_written_before_readout_existed(corpus, tmp_path):
    t = tiny_aimts(readout="max").fit(corpus[1])
    assert features(t, corpus[1]).shape == (8, 3 * 8)
    assert tiny_aimts().fit(corpus[1]).transform(corpus[1]).shape == (8, 3 * WIDTH)
    # a file without the parameter (written before it existed) reads out the last block's max
    path = tmp_path / "old.pt"
    t.save_weights(path)
    blob = torch.load(path, weights_only=True)
    del blob["params"]["readout"]
    torch.save(blob, path)
    loaded = AimTSTransformer.load_weights(path)
    assert loaded.readout == "max"
    np.testing.assert_array_equal(features(loaded, corpus[1]), features(t, corpus[1]))
    with pytest.raises(ValueError, match="readout"):
        tiny_aimts(readout="mean").fit(corpus[1])
