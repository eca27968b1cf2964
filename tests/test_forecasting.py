"""RepresentationForecaster: values, the sktime ways of using it, HoldoutRidge, errors."""

import numpy as np
import pandas as pd
import pytest
from _helpers import tiny_btsf
from sklearn.linear_model import Ridge

from skcontrast import HoldoutRidge, RepresentationForecaster


def _ar_series(n=400, seed=0):
    """A noiseless 2-variable linear system: a lag-window Ridge can forecast it exactly."""
    t = np.arange(n)
    return pd.DataFrame({"a": np.sin(2 * np.pi * t / 24), "b": np.cos(2 * np.pi * t / 24) + 0.5})


@pytest.fixture(scope="module")
def fitted():
    y = _ar_series()
    forecaster = RepresentationForecaster(tiny_btsf(temporal_depth=2), window_length=24)
    return forecaster.fit(y.iloc[:300], fh=[1, 2, 3, 4, 5]), y


def test_passthrough_baseline_forecasts_a_linear_system_exactly():
    y = _ar_series()
    f = RepresentationForecaster("passthrough", window_length=30).fit(y.iloc[:300], fh=[1, 6, 12])
    pred = f.predict()
    np.testing.assert_allclose(pred.to_numpy(), y.iloc[[300, 305, 311]].to_numpy(), atol=0.02)
    assert list(pred.columns) == ["a", "b"] and list(pred.index) == [300, 305, 311]


def test_learned_representation_forecasts_beat_the_mean(fitted):
    f, y = fitted
    pred = f.predict()
    truth = y.iloc[300:305].to_numpy()
    mse = np.mean((pred.to_numpy() - truth) ** 2)
    naive = np.mean((y.iloc[:300].mean().to_numpy() - truth) ** 2)
    assert mse < 0.2 * naive, (mse, naive)


def test_rolling_predict_equals_update_then_predict(fitted):
    f, y = fitted
    rolling = f.rolling_predict(y, start=299)  # cutoffs 299 .. 399
    assert rolling.shape == (101, 5, 2)
    g = f.clone().fit(y.iloc[:300], fh=[1, 2, 3, 4, 5])
    np.testing.assert_allclose(g.predict().to_numpy(), rolling[0], rtol=1e-5, atol=1e-5)
    for cutoff in (320, 351):
        g.update(y.iloc[: cutoff + 1], update_params=False)
        np.testing.assert_allclose(
            g.predict().to_numpy(), rolling[cutoff - 299], rtol=1e-5, atol=1e-5
        )


def test_absolute_fh_univariate_series_and_refit_equality():
    from sktime.forecasting.base import ForecastingHorizon

    y = pd.Series(np.sin(np.arange(200) / 5.0) + 0.01 * np.arange(200), name="y")
    fh = ForecastingHorizon([201, 203], is_relative=False)
    a = RepresentationForecaster(tiny_btsf(), window_length=20).fit(y, fh=fh)
    assert a.horizon_ == 4  # steps 2 and 4 after the cutoff (199)
    pred = a.predict()
    assert isinstance(pred, pd.Series) and list(pred.index) == [201, 203]
    b = RepresentationForecaster(tiny_btsf(), window_length=20).fit(y, fh=fh)
    np.testing.assert_array_equal(b.predict().to_numpy(), pred.to_numpy())


def test_aimts_representation_and_pooled_mode():
    from skcontrast import AimTSTransformer

    y = _ar_series(260)
    aimts = AimTSTransformer(**AimTSTransformer.get_test_params()[1])
    f = RepresentationForecaster(aimts, window_length=24, train_stride=6).fit(y, fh=[1, 2])
    assert f.predict().shape == (2, 2) and np.isfinite(f.predict().to_numpy()).all()
    pooled = RepresentationForecaster(tiny_btsf(), window_length=24, representation="pooled")
    assert pooled.fit(y, fh=[3]).predict().shape == (1, 2)
    assert pooled.context_ == 24


def test_evaluate_and_forecasting_benchmark_run(tmp_path):
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import ExpandingWindowSplitter

    y = pd.Series(np.sin(np.arange(160) / 4.0))
    f = RepresentationForecaster("passthrough", window_length=12)
    cv = ExpandingWindowSplitter(initial_window=100, step_length=20, fh=[1, 2, 3])
    results = evaluate(f, cv, y, strategy="update")
    assert len(results) == 3 and (results.iloc[:, 0] < 0.05).all()


def test_sktime_forecasting_benchmark(tmp_path):
    from sktime.benchmarking.forecasting import ForecastingBenchmark
    from sktime.performance_metrics.forecasting import MeanSquaredError
    from sktime.split import ExpandingWindowSplitter

    bench = ForecastingBenchmark()
    bench.add_estimator(RepresentationForecaster(tiny_btsf(), window_length=12), "btsf")
    bench.add_estimator(RepresentationForecaster("passthrough", window_length=12), "lags")
    bench.add_task(
        lambda: pd.Series(np.sin(np.arange(150) / 4.0)),
        ExpandingWindowSplitter(initial_window=110, step_length=20, fh=[1, 2]),
        [MeanSquaredError()],
    )
    table = bench.run(str(tmp_path / "results.csv"))
    assert len(table) == 2
    mse = table.filter(like="MeanSquaredError_mean").iloc[:, 0]
    assert np.isfinite(mse).all()


def test_plain_reduction_route_with_a_pipeline():
    """make_reduction hands the regressor (n_windows, window) tables: our transformer reads
    them as univariate series (the scikit-learn convention), Ridge maps features to y."""
    from sklearn.pipeline import make_pipeline
    from sktime.forecasting.compose import make_reduction

    y = pd.Series(np.sin(np.arange(200) / 4.0))
    pipe = make_pipeline(tiny_btsf(standardize=True), Ridge(alpha=1.0))
    f = make_reduction(pipe, window_length=24, strategy="recursive").fit(y, fh=[1, 2, 3])
    pred = f.predict()
    assert pred.shape == (3,) and np.isfinite(pred.to_numpy()).all()
    assert f.estimator_.steps[0][1].n_timepoints_in_ == 24


def test_bad_inputs_are_clear_errors():
    y = _ar_series(100)
    with pytest.raises(ValueError, match="needs at least"):
        RepresentationForecaster("passthrough", window_length=95).fit(y, fh=[5])
    with pytest.raises(ValueError, match="window_length"):
        RepresentationForecaster("passthrough", window_length=1).fit(y, fh=[1])
    with pytest.raises(TypeError, match="transform_timesteps"):
        RepresentationForecaster(Ridge()).fit(y, fh=[1])
    with pytest.raises(ValueError, match="representation"):
        RepresentationForecaster(representation="mean").fit(y, fh=[1])
    with pytest.raises(NotImplementedError, match="in-sample"):
        RepresentationForecaster("passthrough", window_length=10).fit(y, fh=[-1, 2])
    f = RepresentationForecaster("passthrough", window_length=10).fit(y, fh=[1, 2])
    with pytest.raises(ValueError, match="variable"):
        f.rolling_predict(np.zeros((50, 3)))
    with pytest.raises(ValueError, match="start"):
        f.rolling_predict(y, start=3)


def test_holdout_ridge_picks_the_alpha_with_the_lowest_tail_mse():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 30))
    Y = X[:, :3] @ rng.standard_normal((3, 4)) + 2.0 * rng.standard_normal((120, 4))
    alphas = (0.01, 1.0, 30.0, 1000.0)
    model = HoldoutRidge(alphas=alphas, validation_size=0.25).fit(X, Y)
    brute = [
        np.mean((Ridge(alpha=a).fit(X[:90], Y[:90]).predict(X[90:]) - Y[90:]) ** 2) for a in alphas
    ]
    np.testing.assert_allclose(model.validation_mse_, brute, rtol=1e-6)
    assert model.alpha_ == alphas[int(np.argmin(brute))]
    np.testing.assert_allclose(model.coef_, Ridge(alpha=model.alpha_).fit(X, Y).coef_, rtol=1e-6)
    with pytest.raises(ValueError, match="alphas"):
        HoldoutRidge(alphas=(0.0, 1.0)).fit(X, Y)
    with pytest.raises(ValueError, match="validation rows|validation row"):
        HoldoutRidge().fit(X[:2], Y[:2])


def test_in_sktime_pipelines_and_grid_search():
    """TransformedTargetForecaster (via ``*``) equals the manual composition; the tuner
    picks the window long enough for two tones (two lags cannot forecast them)."""
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter
    from sktime.transformations.series.detrend import Detrender

    t = np.arange(240)
    y = pd.Series(0.05 * t + np.sin(2 * np.pi * t / 24))
    pipe = Detrender() * RepresentationForecaster("passthrough", window_length=12)
    pred = pipe.fit(y, fh=[1, 2, 3]).predict()

    detrender = Detrender().fit(y)
    inner = RepresentationForecaster("passthrough", window_length=12)
    manual = detrender.inverse_transform(inner.fit(detrender.transform(y), fh=[1, 2, 3]).predict())
    np.testing.assert_allclose(pred.to_numpy(), manual.to_numpy(), rtol=1e-10)
    truth = 0.05 * np.arange(240, 243) + np.sin(2 * np.pi * np.arange(240, 243) / 24)
    np.testing.assert_allclose(pred.to_numpy(), truth, atol=2e-2)  # trend fit sees the sine

    tuner = ForecastingGridSearchCV(
        RepresentationForecaster("passthrough"),
        ExpandingWindowSplitter(initial_window=150, step_length=30, fh=[1, 2]),
        param_grid={"window_length": [2, 30]},
        error_score="raise",
    )
    tuner.fit(pd.Series(np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 7)), fh=[1, 2])
    assert tuner.best_params_["window_length"] == 30
    assert tuner.cv_results_["mean_test_MeanAbsolutePercentageError"].min() < 0.01


@pytest.mark.parametrize("kind", ["forecaster", "detector"])
def test_default_transformer_is_btsf_with_200_steps_of_16(kind, monkeypatch):
    """transformer=None means the per-timestep default (200 steps of 16 windows, not the
    classifier default's 100 of 32): documented, and what a fit actually trains."""
    from skcontrast import BTSFTransformer, RepresentationAnomalyDetector, _series_features

    assert _series_features.STEP_DEFAULTS == {"batch_size": 16, "n_iters": 200}
    assert BTSFTransformer().get_params()["n_iters"] is None  # the classifier's: 100 of 32
    # the fit below uses the same plumbing with a tiny network and 3 steps of 4
    tiny = {**BTSFTransformer.get_test_params()[0], "batch_size": 4, "n_iters": 3}
    monkeypatch.setattr(_series_features, "STEP_DEFAULTS", tiny)
    y = _ar_series(200)
    if kind == "forecaster":
        est = RepresentationForecaster(window_length=24).fit(y.iloc[:150], fh=[1])
    else:
        est = RepresentationAnomalyDetector(None, window_length=24).fit(y.iloc[:150])
    fitted = est.transformer_
    assert isinstance(fitted, BTSFTransformer)
    assert (fitted.batch_size, fitted.n_iters, fitted.n_iters_) == (4, 3, 3)


# -- update (issue 35 items 3, 7): forecasts from the cutoff, consecutive points only --------
def _indexed(kind, n=200):
    y = _ar_series(n)
    if kind == "datetime":
        y.index = pd.date_range("2020-01-01", periods=n, freq="h")
    elif kind == "period":
        y.index = pd.period_range("2000-01", periods=n, freq="M")
    elif kind == "int_step":
        y.index = pd.Index(np.arange(n) * 5 + 100)
    return y


@pytest.fixture(scope="module", params=["passthrough", "btsf"])
def transformer(request):
    return "passthrough" if request.param == "passthrough" else tiny_btsf(temporal_depth=2)


@pytest.mark.parametrize("kind", ["range", "datetime", "period", "int_step"])
def test_update_patterns_forecast_from_the_cutoff(kind, transformer):
    """Continuing, overlapping, older and revising updates: each forecast equals the one
    made from the series up to the (new) cutoff, and is labelled from it."""
    y = _indexed(kind)
    f = RepresentationForecaster(transformer, window_length=12).fit(y.iloc[:150], fh=[1, 2, 3])
    rolling = f.rolling_predict(y)  # forecasts at every cutoff from the first full window

    def check(position, series=y):
        assert f.cutoff[0] == series.index[position]
        pred = f.predict()
        np.testing.assert_allclose(pred.to_numpy(), rolling_of(series)[position - 11],
                                   rtol=1e-5, atol=1e-5)  # fmt: skip
        if kind != "int_step":  # sktime steps an integer index by 1, whatever its spacing
            assert list(pred.index) == list(series.index[position + 1 : position + 4])

    rolling_of = lambda series: rolling if series is y else f.rolling_predict(series)  # noqa: E731
    f.update(y.iloc[150:160])  # continuing
    check(159)
    f.update(y.iloc[155:170])  # overlapping
    check(169)
    f.update(y.iloc[90:121])  # older: ends before the cutoff, which moves back to 120
    check(120)
    f.update(y.iloc[170:180])  # forward again, from the points kept after the old cutoff
    check(179)
    revised = y.copy()
    revised.iloc[175:180] += 1.0  # revised observations are read
    f.update(revised.iloc[175:180])
    check(179, revised)


@pytest.mark.parametrize("kind", ["range", "datetime", "period", "int_step"])
def test_update_with_a_gap_is_refused_and_changes_nothing(kind):
    y = _indexed(kind)
    f = RepresentationForecaster("passthrough", window_length=12).fit(y.iloc[:150], fh=[1, 2])
    before, cutoff = f.predict(), f.cutoff
    with pytest.raises(ValueError, match=rf"gap between {y.index[149]} and {y.index[153]}"):
        f.update(y.iloc[153:156])  # three steps missing, read by the next forecast
    assert (f.cutoff == cutoff).all()
    pd.testing.assert_frame_equal(f.predict(), before)
    # an older update without the points before it: refused too
    with pytest.raises(ValueError, match=r"reads the 12 points up to it, but only 4 are known"):
        f.update(y.iloc[50:54])
    assert (f.cutoff == cutoff).all()
    # a gap the forecast does not read (a whole window after it) is fine
    f.update(y.iloc[160:175])
    assert f.cutoff[0] == y.index[174]


def test_naive_forecaster_also_forecasts_from_the_cutoff():
    """What sktime's own forecasters do, which the forecaster follows."""
    from sktime.forecasting.naive import NaiveForecaster

    y = _indexed("period")["a"]
    f = NaiveForecaster(strategy="mean", window_length=3).fit(y.iloc[:150], fh=[1])
    f.update(y.iloc[90:121])
    assert f.cutoff[0] == y.index[120]
    assert f.predict().iloc[0] == pytest.approx(y.iloc[118:121].mean())


def test_lags_beside_the_representation_or_alone_by_validation():
    """lags=True: the regressor reads r_t and the lag window; the default regressor keeps
    the lag window alone where that scores better on the validation tail (then it is the
    passthrough baseline exactly); lags=False reads r_t alone."""
    from sklearn.linear_model import LinearRegression

    y = _ar_series()
    train, fh = y.iloc[:300], [1, 2, 3]
    passthrough = RepresentationForecaster("passthrough", window_length=24).fit(train, fh=fh)
    default = RepresentationForecaster(tiny_btsf(), window_length=24).fit(train, fh=fh)
    assert default.lags and default.inputs_ in ("lags", "representation+lags")
    # the noiseless linear system: the lag window alone forecasts it best
    assert default.inputs_ == "lags"
    np.testing.assert_allclose(default.predict(), passthrough.predict(), rtol=1e-5, atol=1e-6)
    assert default.context_ >= 24
    alone = RepresentationForecaster(tiny_btsf(), window_length=24, lags=False).fit(train, fh=fh)
    assert alone.inputs_ == "representation"
    width = alone.regressor_.n_features_in_
    both = RepresentationForecaster(tiny_btsf(), window_length=24,
                                    regressor=LinearRegression()).fit(train, fh=fh)  # fmt: skip
    assert both.inputs_ == "representation+lags"
    assert both.regressor_.n_features_in_ == width + 24 * 2
    # the representation block is scaled to unit variance on the training rows
    scaled, features = both._featurizer.fit_features(train.to_numpy())
    np.testing.assert_allclose(features[23:, :width].std(axis=0), 1.0, rtol=1e-3)
    rolling = both.rolling_predict(y, start=299)
    np.testing.assert_allclose(rolling[0], both.predict().to_numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="lags must be a bool"):
        RepresentationForecaster(lags="no").fit(train, fh=fh)


def test_the_validation_tail_can_choose_the_representation_alone():
    """Of r_t with the lags, the lags alone and r_t alone, the default regressor keeps the
    input with the lowest validation-tail MSE: here r_t carries the target, the lag
    columns are noise that only a fit on them can overfit."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    n, window = 240, 24
    rep = rng.standard_normal((n, 4))
    lags = rng.standard_normal((n, window))
    targets = rep @ rng.standard_normal((4, 3)) + 1e-3 * rng.standard_normal((n, 3))
    forecaster = RepresentationForecaster(tiny_btsf(), window_length=window)
    featurizer = SimpleNamespace(lags=True, transformer_=object(), mean_=np.zeros(1))
    regressor, inputs = forecaster._fit_regressor(featurizer, np.hstack([rep, lags]), targets)
    assert inputs == "representation"
    assert regressor.n_features_in_ == 4
    # the lag window where it carries the target
    regressor, inputs = forecaster._fit_regressor(
        featurizer, np.hstack([rng.standard_normal((n, 4)), lags]), lags[:, -3:]
    )
    assert inputs == "lags" and regressor.n_features_in_ == window


def test_the_default_keeps_the_lag_baseline_unless_another_input_is_clearly_better():
    """The one-standard-error rule: a candidate whose validation gain over the lag window
    alone is within noise (one standard error of block means) leaves the baseline; a clear
    gain keeps the lowest MSE; too few blocks to estimate the noise keep the baseline."""
    from skcontrast.forecasting import _keep_baseline_unless_better

    rng = np.random.default_rng(0)
    lags = 1.0 + rng.standard_normal(400) ** 2
    noisy = lags + 0.5 * rng.standard_normal(400) - 0.01  # 0.01 lower on average
    assert noisy.mean() < lags.mean()
    assert _keep_baseline_unless_better({"lags": lags, "representation": noisy}, 10) == "lags"
    clear = lags - 0.3 + 0.05 * rng.standard_normal(400)
    errors = {"lags": lags, "representation": noisy, "representation+lags": clear}
    assert _keep_baseline_unless_better(errors, 10) == "representation+lags"
    # one block of 300: no noise estimate, the baseline is kept even for a clear gain
    assert _keep_baseline_unless_better(errors, 300) == "lags"


def test_the_standard_error_uses_blocks_as_long_as_the_gains_stay_correlated():
    """A small gain riding on strongly autocorrelated noise passes a rule with blocks of
    H samples (their means are not independent, so the noise looks small) but not the
    decorrelated blocks; the decorrelation lag is the first lag with autocorrelation <= 0."""
    from skcontrast.forecasting import _decorrelation_lag, _keep_baseline_unless_better

    rng = np.random.default_rng(1)
    noise = np.zeros(4000)
    for i in range(1, len(noise)):  # AR(1), correlated for about a hundred samples
        noise[i] = 0.98 * noise[i - 1] + 0.05 * rng.standard_normal()
    noise -= noise.mean()  # the gain's mean is exactly 0.02
    lag = _decorrelation_lag(noise)
    centred = noise - noise.mean()
    brute = next(k for k in range(1, len(centred)) if centred[:-k] @ centred[k:] <= 0)
    assert lag == brute and lag > 24
    lags = 1.0 + rng.standard_normal(4000) ** 2
    candidate = lags - (0.02 + noise)  # 0.02 better on average, wandering around it
    gain = lags - candidate
    blocks = gain.reshape(-1, 4).mean(axis=1)  # blocks of H = 4 samples, the old rule
    assert gain.mean() > blocks.std(ddof=1) / np.sqrt(len(blocks))
    errors = {"lags": lags, "representation": candidate}
    assert _keep_baseline_unless_better(errors, 4) == "lags"
    clear = lags - 0.2 + 0.05 * rng.standard_normal(4000)
    assert _keep_baseline_unless_better({"lags": lags, "representation": clear}, 4) == (
        "representation"
    )
    constant = {"lags": lags, "representation": lags - 0.2}  # better by 0.2 everywhere
    assert _keep_baseline_unless_better(constant, 4) == "representation"
    assert _decorrelation_lag(np.ones(10)) == 1  # constant: no correlation to wait for

    forecaster = RepresentationForecaster(tiny_btsf(), window_length=24).fit(
        _ar_series().iloc[:300], fh=[1, 2]
    )
    scores = forecaster.input_validation_mse_
    assert set(scores) == {"representation+lags", "lags", "representation",
                           "mean of lags and representation"}  # fmt: skip
    assert forecaster.inputs_ == "lags" or scores[forecaster.inputs_] < scores["lags"]
