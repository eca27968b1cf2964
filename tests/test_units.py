"""The same data in other units gives the same answer (issue 35, item 1).

A panel multiplied by any positive factor (values around 1e-10 or 1e20, say) is the same
data in other units: every estimator that normalises its input must give the same
features, probabilities, forecasts (scaled back) and anomaly scores. The constant-channel
test is relative to each channel's magnitude, and the statistics are float64 (squares of
float32 values above ~1.8e19 overflow in float32). ``normalize=None`` feeds the raw values
to the network, which is not scale invariant: left out on purpose.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skcontrast import (
    AimTSClassifier,
    AimTSTransformer,
    BTSFTransformer,
    RepresentationAnomalyDetector,
    RepresentationForecaster,
)
from skcontrast._data import global_statistics, normalize_panel

SCALES = [1e-30, 1e-10, 1e-3, 7.5, 1e6, 1e20, 3e30]
# features are standardised (unit spread): differences of float32 rounding; the bug gave
# differences of order 1 (every series mapped to the same row)
TOL = dict(rtol=1e-3, atol=1e-3)


def _panel():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 32)
    y = np.array([0, 1] * 6)
    phase = rng.uniform(0, np.pi, size=(12, 1))
    X = np.where(y[:, None] == 0, np.sin(t + phase), np.sign(np.sin(t + phase)))
    X = np.stack([X + 0.1 * rng.standard_normal(X.shape), 2.0 + np.cos(t + phase)], axis=1)
    X[3, 1] = 4.0  # a constant channel in one series
    return X, y


def _series():
    t = np.arange(120)
    return pd.DataFrame({"a": np.sin(t / 5.0), "b": np.cos(t / 7.0) + 0.1 * np.sin(t)})


def _configs(cls):
    """Every test configuration that normalises its input, in float32: on a CPU with native
    bf16, mixed_precision=True encodes in bf16 (8-bit mantissa), whose rounding of the two
    normalised inputs (equal to float32 rounding) can differ by a bf16 step."""
    return [
        {**p, "mixed_precision": False}
        for p in cls.get_test_params()
        if p.get("normalize", "zscore") is not None
    ]


PANEL_ESTIMATORS = [
    (cls, i, params)
    for cls in (BTSFTransformer, AimTSTransformer, AimTSClassifier)
    for i, params in enumerate(_configs(cls))
]
IDS = [f"{cls.__name__}-{i}" for cls, i, _ in PANEL_ESTIMATORS]


def _output(cls, params, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls(**cls._split_options(params)).fit(X, y)
        if hasattr(est, "predict_proba"):
            return est.predict_proba(X)
        return est.transform(X).to_numpy()


_REFERENCE = {}


def _reference(cls, i, params, X, y):
    if (cls, i) not in _REFERENCE:
        _REFERENCE[cls, i] = _output(cls, params, X, y)
    return _REFERENCE[cls, i]


def test_every_estimator_with_a_normalisation_is_covered():
    assert {cls for cls, _, _ in PANEL_ESTIMATORS} == {
        BTSFTransformer, AimTSTransformer, AimTSClassifier
    }
    # BTSF's and AimTS's second configurations read "global" statistics too
    assert any("global" in str(p.get("normalize")) for _, _, p in PANEL_ESTIMATORS)


@pytest.mark.parametrize("cls, i, params", PANEL_ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("scale", [1e-10, 1e20])
def test_panel_estimators_give_the_same_answer_in_other_units(cls, i, params, scale):
    X, y = _panel()
    expected = _reference(cls, i, params, X, y)
    np.testing.assert_allclose(_output(cls, params, X * scale, y), expected, **TOL)


@pytest.mark.parametrize("cls, i, params", PANEL_ESTIMATORS, ids=IDS)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mantissa=st.floats(1.0, 9.99),
    exponent=st.integers(-30, 30),
)
def test_property_any_positive_factor_leaves_the_answer(cls, i, params, mantissa, exponent):
    X, y = _panel()
    expected = _reference(cls, i, params, X, y)
    out = _output(cls, params, X * (mantissa * 10.0**exponent), y)
    np.testing.assert_allclose(out, expected, **TOL)


@settings(max_examples=25, deadline=None)
@given(
    mantissa=st.floats(1.0, 9.99),
    exponent=st.integers(-30, 30),
    how=st.sampled_from(["zscore", "global"]),
)
def test_property_the_normalised_panel_does_not_depend_on_units(mantissa, exponent, how):
    X, _ = _panel()
    X = X.astype(np.float32)
    scaled = (X * (mantissa * 10.0**exponent)).astype(np.float32)

    def normalised(panel):
        statistics = global_statistics([panel], "Est") if how == "global" else None
        return normalize_panel(panel, how, statistics)

    np.testing.assert_allclose(normalised(scaled), normalised(X), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale", SCALES)
def test_zscore_statistics_are_float64_and_the_constant_test_relative(scale):
    X, _ = _panel()
    X = (X * scale).astype(np.float32)
    out = normalize_panel(X, "zscore")
    assert np.isfinite(out).all()
    # every varying channel comes out with mean 0 and standard deviation 1 ...
    varying = np.ones(X.shape[:2], dtype=bool)
    varying[3, 1] = False
    np.testing.assert_allclose(out.std(axis=2)[varying], 1.0, rtol=1e-3)
    np.testing.assert_allclose(out.mean(axis=2)[varying], 0.0, atol=1e-4)
    # ... and the constant one as zeros, at any level
    np.testing.assert_array_equal(out[3, 1], 0.0)


def test_rounding_noise_on_a_large_level_is_a_constant_channel():
    """A channel that varies by a float32 step around its level carries no signal: zeros
    (its z-score would blow the rounding up to unit variance)."""
    level = np.float32(1e6)
    steps = np.array([0, 1, 0, -1] * 8, dtype=np.float32) * np.spacing(level)
    X = (level + steps).reshape(1, 1, -1)
    assert X.std() > 0
    np.testing.assert_array_equal(normalize_panel(X, "zscore"), 0.0)
    # a small variation that is real (1e-4 of the level, hundreds of float32 steps) is kept
    X = (level * (1 + 1e-4 * np.sin(np.arange(32)))).astype(np.float32).reshape(1, 1, -1)
    assert normalize_panel(X, "zscore").std() == pytest.approx(1.0, rel=1e-2)


def test_nan_stays_missing_and_constant_global_channels_scale_by_their_magnitude():
    X = np.ones((3, 2, 10), dtype=np.float32) * np.float32(5e20)
    X[:, 0] = np.random.default_rng(0).standard_normal((3, 10)) * 1e20
    X[1, 0, 4] = np.nan
    out = normalize_panel(X, "zscore")
    missing = np.isnan(X)
    assert (np.isnan(out) == missing).all() and np.isfinite(out[~missing]).all()
    mean, scale = global_statistics([X], "Est")
    assert scale[1] == pytest.approx(5e20)
    np.testing.assert_allclose(normalize_panel(X, "global", (mean, scale))[:, 1], 0.0, atol=1e-6)


_FITTED = {}


def _forecaster(params, y):
    return RepresentationForecaster(**params).fit(y, fh=[1, 2, 3])


@pytest.mark.parametrize("scale", [1e-12, 1e20])
def test_learned_forecasts_scale_with_the_series(scale):
    """The forecaster's constant-variable test is relative too (it was 1e-12 absolute)."""
    y = _series()
    params = RepresentationForecaster.get_test_params()[0]  # a tiny BTSF
    if "btsf" not in _FITTED:
        _FITTED["btsf"] = _forecaster(params, y).predict().to_numpy()
    got = _forecaster(params, y * scale).predict().to_numpy()
    np.testing.assert_allclose(got / scale, _FITTED["btsf"], rtol=1e-4, atol=1e-4)


@settings(max_examples=10, deadline=None)
@given(mantissa=st.floats(1.0, 9.99), exponent=st.integers(-30, 30))
def test_property_forecasts_scale_with_the_series(mantissa, exponent):
    y = _series()
    scale = mantissa * 10.0**exponent
    params = RepresentationForecaster.get_test_params()[2]  # the raw lag window
    expected = _forecaster(params, y).predict().to_numpy()
    got = _forecaster(params, y * scale).predict().to_numpy()
    np.testing.assert_allclose(got / scale, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", [0, 2])  # a tiny BTSF, the raw lag window
@pytest.mark.parametrize("scale", [1e-12, 1e20])
def test_anomaly_scores_do_not_depend_on_units(kind, scale):
    X = _series()
    test = X.iloc[80:].copy()
    test.iloc[20, 0] += 3.0
    params = RepresentationAnomalyDetector.get_test_params()[kind]
    a = RepresentationAnomalyDetector(**params).fit(X.iloc[:80])
    b = RepresentationAnomalyDetector(**params).fit(X.iloc[:80] * scale)
    np.testing.assert_allclose(
        b.transform_scores(test * scale).to_numpy(), a.transform_scores(test).to_numpy(),
        rtol=1e-4, atol=1e-6,
    )  # fmt: skip
    assert b.predict(test * scale)["ilocs"].tolist() == a.predict(test)["ilocs"].tolist()


def test_a_feature_constant_up_to_rounding_is_not_blown_up(monkeypatch):
    """The output standardisation's constant test is relative too: a feature that varies
    only by float32 rounding around its level stays near zero, not unit-sized noise."""
    import torch

    X, _ = _panel()
    original = BTSFTransformer._readout

    def with_a_constant_feature(self, network, batch):
        features = original(self, network, batch)
        level = torch.full((len(batch), 1), 1000.0)
        level += torch.randn(len(batch), 1, generator=torch.Generator().manual_seed(0)) * 1e-4
        return torch.cat([features, level], dim=-1)

    monkeypatch.setattr(BTSFTransformer, "_readout", with_a_constant_feature)
    est = BTSFTransformer(**BTSFTransformer.get_test_params()[0]).fit(X)
    out = est.transform(X).to_numpy()
    assert est.feature_scale_[-1] == 1.0
    assert np.abs(out[:, -1]).max() < 1e-3
    np.testing.assert_allclose(out[:, :-1].std(axis=0), 1.0, rtol=1e-3)


def test_zscore_of_spreads_below_float32s_normal_range_is_finite():
    """Values of 1e-45 (float32 subnormals; found by the fuzz test): the spread in float32
    flushes to zero, so such a panel is normalised in float64, as at any other scale."""
    X = np.array([[[0.0, 1e-45]], [[0.0, 1.0]]], dtype=np.float32)
    out = normalize_panel(X, "zscore")
    np.testing.assert_allclose(out, [[[-1.0, 1.0]], [[-1.0, 1.0]]], rtol=1e-6)
    assert out.dtype == np.float32
    tiny = np.array([[[0.0, 3e-39, 1e-39, 2e-39]]], dtype=np.float32)  # subnormal spread
    larger = normalize_panel(tiny * np.float32(1e30), "zscore")
    np.testing.assert_allclose(normalize_panel(tiny, "zscore"), larger, rtol=1e-4)
