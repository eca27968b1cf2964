"""RepresentationAnomalyDetector: values, thresholds, output formats, errors."""

import numpy as np
import pandas as pd
import pytest
from _helpers import tiny_btsf

from skcontrast import RepresentationAnomalyDetector


def _series(n=700, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    X = pd.DataFrame({"a": np.sin(t / 6.0), "b": np.sin(t / 6.0 + 1.0)})
    return X + 0.02 * rng.standard_normal(X.shape)


@pytest.fixture(scope="module")
def fitted():
    X = _series()
    detector = RepresentationAnomalyDetector(
        tiny_btsf(temporal_depth=3), window_length=32, smoothing=None, scoring="error"
    )
    return detector.fit(X.iloc[:500]), X


def test_flags_an_injected_spike_and_little_else(fitted):
    detector, X = fitted
    test = X.iloc[500:].copy()
    test.iloc[120, 1] += 2.5
    scores = detector.transform_scores(test)["score"].to_numpy()
    assert scores.argmax() in (120, 121)
    flagged = detector.predict(test)["ilocs"].to_numpy()
    clean = detector.predict(X.iloc[500:])["ilocs"].to_numpy()
    # the spike adds flags at 120 and after it only: it also spoils the next few one-step
    # predictions, which read it, and never an earlier one (causal). The tiny random
    # encoder flags at most one point of the clean series (at 1.03x the threshold with
    # this seed since BTSF's thread-safe initialisation)
    added = np.setdiff1d(flagged, clean)
    assert 120 in added and added.min() >= 120 and added.max() < 140
    assert len(clean) <= 1 and np.isin(clean, flagged).all()
    assert scores[:32].max() == 0  # no full window of history yet: never flagged


def test_threshold_is_mean_plus_k_std_or_a_quantile(fitted):
    detector, X = fitted
    s = detector.train_scores_
    assert detector.threshold_ == pytest.approx(s.mean() + 4 * s.std())
    q = RepresentationAnomalyDetector(
        "passthrough", window_length=20, target="next", contamination=0.05
    ).fit(X.iloc[:500])
    assert np.mean(q.train_scores_ > q.threshold_) == pytest.approx(0.05, abs=0.01)


def test_passthrough_next_is_a_linear_one_step_predictor():
    X = _series()
    d = RepresentationAnomalyDetector(
        "passthrough", window_length=20, target="next", smoothing=None, scoring="error"
    ).fit(X.iloc[:500])
    test = X.iloc[500:].copy()
    test.iloc[60, 0] -= 1.0
    assert d.transform_scores(test)["score"].to_numpy().argmax() == 60


def test_interval_output_merges_consecutive_points():
    X = _series()
    d = RepresentationAnomalyDetector(
        "passthrough", window_length=20, target="next", output="intervals"
    ).fit(X.iloc[:500])
    assert d.get_tag("task") == "segmentation"
    test = X.iloc[500:].copy()
    test.iloc[100:106, 0] += 3.0  # a level shift of 6 points
    events = d.predict(test)["ilocs"].tolist()
    assert any(iv.left <= 100 < iv.right for iv in events)
    assert all(isinstance(iv, pd.Interval) and iv.closed == "left" for iv in events)
    # sktime's dense segment format: the interval's number inside, -1 outside any
    dense = d.transform(test)["labels"].to_numpy()
    assert dense[100] >= 0 and dense[0] == -1


def test_reconstruction_target_and_refit_equality():
    X = _series(400)
    kw = dict(transformer=tiny_btsf(), window_length=24, target="reconstruction")
    a = RepresentationAnomalyDetector(**kw).fit(X)
    b = RepresentationAnomalyDetector(**kw).fit(X)
    np.testing.assert_array_equal(
        a.transform_scores(X).to_numpy(), b.transform_scores(X).to_numpy()
    )
    assert a.threshold_ > 0 and a.transformer_.get_params()["normalize"] is None


def test_bad_inputs_are_clear_errors(fitted):
    detector, X = fitted
    with pytest.raises(ValueError, match="variable"):
        detector.predict(pd.DataFrame(np.zeros((50, 3))))
    with pytest.raises(ValueError, match="target"):
        RepresentationAnomalyDetector(target="future").fit(X)
    with pytest.raises(ValueError, match="contamination"):
        RepresentationAnomalyDetector(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="needs at least"):
        RepresentationAnomalyDetector("passthrough", window_length=50).fit(X.iloc[:40])


@pytest.mark.parametrize("output", ["points", "intervals"])
def test_predict_scores_encodes_the_series_once(output, monkeypatch):
    # issue 34: _predict_scores scored the series, then predict scored it again
    X = _series(300)
    d = RepresentationAnomalyDetector(
        tiny_btsf(), window_length=16, target="next", output=output
    ).fit(X.iloc[:200])
    calls = []
    featurizer = type(d._featurizer)
    encode = featurizer.features
    monkeypatch.setattr(
        featurizer, "features", lambda self, scaled: calls.append(1) or encode(self, scaled)
    )
    scores = d.predict_scores(X.iloc[200:])
    assert len(calls) == 1
    expected = d.predict(X.iloc[200:])
    assert len(scores) == len(expected) and len(calls) == 2


def test_dominant_period_reads_the_autocorrelation():
    from skcontrast.detection import dominant_period

    t = np.arange(3000)
    rng = np.random.default_rng(0)
    assert dominant_period(np.sin(2 * np.pi * t / 50) + 0.1 * rng.standard_normal(len(t))) == 50
    both = np.stack([np.sin(2 * np.pi * t / 37), np.cos(2 * np.pi * t / 37)], axis=1)
    assert dominant_period(both) == 37
    assert dominant_period(t.astype(float)) == 100  # a trend: no zero crossing, the default
    assert dominant_period(np.sin(2 * np.pi * t / 4)) == 100  # below 8 points: the default
    assert dominant_period(np.zeros(500)) == 100


def test_smoothing_averages_each_score_over_a_centred_window():
    X = _series()
    kw = dict(transformer="passthrough", window_length=20, target="next", scoring="error")
    raw = RepresentationAnomalyDetector(**kw, smoothing=None).fit(X.iloc[:500])
    smooth = RepresentationAnomalyDetector(**kw, smoothing=9).fit(X.iloc[:500])
    period = RepresentationAnomalyDetector(**kw).fit(X.iloc[:500])
    assert raw.smoothing_window_ == 1 and smooth.smoothing_window_ == 9
    assert period.smoothing == "period" and period.smoothing_window_ == 38  # 2 pi * 6
    test = X.iloc[500:].copy()
    test.iloc[100, 0] += 2.0
    e = raw.transform_scores(test)["score"].to_numpy()
    s = smooth.transform_scores(test)["score"].to_numpy()
    assert s[100] == pytest.approx(e[96:105].mean())  # the 9 points centred on 100
    assert s[:20].max() == 0  # no full window of history (and its successor): never scored
    assert s[20] == pytest.approx(e[20:25].mean())  # the unscored points do not count
    # the threshold reads the training scores smoothed alike
    assert smooth.threshold_ == pytest.approx(
        smooth.train_scores_.mean() + 4 * smooth.train_scores_.std()
    )
    assert smooth.train_scores_.std() < raw.train_scores_.std()
    with pytest.raises(ValueError, match="smoothing must be"):
        RepresentationAnomalyDetector(smoothing=0).fit(X)
