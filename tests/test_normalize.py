"""normalize="global": dataset-level per-channel statistics, fitted, kept and applied."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import tiny_aimts, tiny_btsf, tiny_clf
from test_hardening_files import edited

from skcontrast import BTSFTransformer
from skcontrast._data import global_statistics, normalize_panel


@pytest.fixture
def levels():
    """Two channels on very different scales; NaN in one; a constant third channel."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3, 30)) * np.array([1.0, 50.0, 0.0])[None, :, None]
    X = (X + np.array([3.0, -100.0, 7.0])[None, :, None]).astype(np.float32)
    X[0, 0, 3] = X[5, 1, 10] = np.nan
    return X


def test_statistics_are_each_channels_over_every_observed_value(levels):
    mean, scale = global_statistics([levels[:5], levels[5:]], "Est")
    np.testing.assert_allclose(mean, np.nanmean(levels, axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(scale[:2], np.nanstd(levels, axis=(0, 2))[:2], rtol=1e-5)
    assert scale[2] == 7.0  # constant channel: its magnitude (not 0), so any units read alike
    out = normalize_panel(levels, "global", (mean, scale))
    assert out.dtype == np.float32 and np.isnan(out[0, 0, 3]) and np.isnan(out[5, 1, 10])
    np.testing.assert_allclose(out[1, 1], (levels[1, 1] - mean[1]) / scale[1], rtol=1e-5)
    np.testing.assert_allclose(out[:, 2], 0.0, atol=1e-6)
    with pytest.raises(ValueError, match=r"panels have \[1, 3\] channels; use normalize='zscore'"):
        global_statistics([levels, levels[:, :1]], "Est")


def test_transform_encodes_the_series_with_the_fitted_statistics(levels):
    est = tiny_btsf(normalize="global", standardize=False, mixed_precision=False).fit(levels)
    np.testing.assert_allclose(est.input_mean_, np.nanmean(levels, axis=(0, 2)), rtol=1e-6)
    # a new panel is normalised with the training statistics, not its own
    shifted = levels[:4] + 5.0
    x = torch.from_numpy((shifted - est.input_mean_[:, None]) / est.input_scale_[:, None])
    with torch.inference_mode():
        expected = est._encode(est.network_, x).numpy()
    np.testing.assert_allclose(est.transform(shifted).to_numpy(), expected, rtol=1e-5, atol=1e-6)
    # a series and its shifted copy: one row with a per-series z-score, two with "global"
    pair = np.stack([levels[1], levels[1] + 2.0])
    zscore = tiny_btsf(standardize=False).fit(levels).transform(pair).to_numpy()
    np.testing.assert_allclose(zscore[0], zscore[1], rtol=1e-4, atol=1e-5)
    rows = est.transform(pair).to_numpy()
    assert np.abs(rows[0] - rows[1]).max() > 1e-2
    # per-step features read the same statistics (causal: they hold no future)
    steps = est.transform_timesteps(shifted)
    with torch.inference_mode():
        direct = est._encode_timesteps(est.network_, x).numpy()
    np.testing.assert_allclose(steps, direct, rtol=1e-4, atol=1e-5)
    # per-series normalisation keeps none
    assert tiny_btsf().fit(levels).input_mean_ is None


def test_unequal_lengths_share_one_set_of_statistics():
    rng = np.random.default_rng(1)
    ragged = [pd.DataFrame(rng.standard_normal((n, 1)) * 3 + 10) for n in (9, 14, 14, 31)]
    est = tiny_btsf(normalize="global").fit(ragged)
    values = np.concatenate([f.to_numpy().ravel() for f in ragged])
    np.testing.assert_allclose(est.input_mean_, [values.mean()], rtol=1e-5)
    np.testing.assert_allclose(est.input_scale_, [values.std()], rtol=1e-5)
    assert np.isfinite(est.transform(ragged).to_numpy()).all()


def test_weights_files_keep_the_statistics_and_check_them(levels, tmp_path):
    est = tiny_btsf(normalize="global").fit(levels)
    est.save_weights(tmp_path / "g.pt")
    loaded = BTSFTransformer.load_weights(tmp_path / "g.pt")
    np.testing.assert_array_equal(loaded.input_scale_, est.input_scale_)
    np.testing.assert_array_equal(loaded.transform(levels), est.transform(levels))
    blob = torch.load(tmp_path / "g.pt", weights_only=True)
    for change, match in [
        ({"input_scale_": torch.zeros(3)}, "finite values \\(positive scales\\)"),
        ({"input_mean_": torch.zeros(2)}, "input_mean_ and input_scale_ of n_channels_in_=3"),
        ({"input_mean_": None}, "needs input_mean_ and input_scale_"),
    ]:
        path = edited(tmp_path, blob, state={**blob["state"], **change})
        with pytest.raises(ValueError, match=match):
            BTSFTransformer.load_weights(path)
    # statistics in a file of a per-series estimator: damaged
    path = edited(tmp_path, blob, params={**blob["params"], "normalize": "zscore"})
    with pytest.raises(ValueError, match="input statistics stored for normalize='zscore'"):
        BTSFTransformer.load_weights(path)


def test_channel_counts_must_match_the_statistics(levels):
    aimts = tiny_aimts(normalize="global").fit(levels)  # AimTS encodes any channel count...
    with pytest.raises(ValueError, match="statistics of 3 fitted channel"):
        aimts.transform(levels[:, :2])  # ...but not with statistics of three
    assert tiny_aimts().fit(levels).transform(levels[:, :2]).shape[0] == 12
    with pytest.raises(ValueError, match="use normalize='zscore' for a corpus"):
        tiny_aimts(normalize="global").fit([levels, levels[:, :1]])
    # the classifier keeps no input statistics: per-series normalisation or none
    with pytest.raises(ValueError, match="normalize must be"):
        tiny_clf(normalize="global").fit(levels, np.arange(12) % 2)


def test_a_tuple_trains_on_the_first_and_concatenates_each_readout(levels, tmp_path):
    exact = dict(standardize=False, options=dict(mixed_precision=False))
    plain = tiny_btsf(**exact).fit(levels)
    both = tiny_btsf(normalize=("zscore", "global"), **exact).fit(levels)
    assert both.loss_history_ == plain.loss_history_  # training read the z-scored series
    F_plain, F_both = plain.transform(levels).to_numpy(), both.transform(levels).to_numpy()
    width = F_plain.shape[1]
    assert F_both.shape == (12, 2 * width)
    np.testing.assert_allclose(F_both[:, :width], F_plain, rtol=1e-5, atol=1e-6)
    # the second block: the same network on the series scaled by the training statistics
    x = (levels - both.input_mean_[:, None]) / both.input_scale_[:, None]
    with torch.inference_mode():
        expected = plain._encode(plain.network_, torch.from_numpy(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(F_both[:, width:], expected, rtol=1e-4, atol=1e-5)
    # standardised output, pooled windows and weights files follow the wider readout
    est = tiny_btsf(normalize=("zscore", "global")).fit(levels)
    rows = est.transform(levels[:3]).to_numpy()
    pooled = est.transform_timesteps(levels[:3], window=30, pooled=True)
    np.testing.assert_allclose(pooled[:, -1], rows, rtol=1e-4, atol=1e-4)
    est.save_weights(tmp_path / "e.pt")
    loaded = BTSFTransformer.load_weights(tmp_path / "e.pt")
    assert loaded.normalize == ("zscore", "global")
    np.testing.assert_array_equal(loaded.transform(levels[:3]).to_numpy(), rows)
    # AimTS: a tuple survives a weights file although its default is a string
    aimts = tiny_aimts(normalize=("zscore", "global")).fit(levels)
    # rows are per channel (channel_pooling="concat"): each channel's readout of each
    # normalisation in turn, the first the default's (benchmarks/aimts_dev.py pairs on it)
    default = tiny_aimts().fit(levels).transform(levels).to_numpy()
    rows = aimts.transform(levels).to_numpy().reshape(12, levels.shape[1], 2, -1)
    assert levels.shape[1] > 1 and rows.shape[-1] * levels.shape[1] == default.shape[1]
    np.testing.assert_array_equal(rows[:, :, 0].reshape(12, -1), default)
    assert not np.allclose(rows[:, :, 1], rows[:, :, 0], atol=1e-2)
    aimts.save_weights(tmp_path / "a.pt")
    assert type(aimts).load_weights(tmp_path / "a.pt").normalize == ("zscore", "global")
    with pytest.raises(ValueError, match=r"repeats a normalisation"):
        tiny_btsf(normalize=("global", "global")).fit(levels)
    with pytest.raises(ValueError, match=r"or a tuple or list of 1 to 3 values"):
        tiny_btsf(normalize=("zscore", "minmax")).fit(levels)
