"""scikit-learn and sktime conformance, plus the value-level checks their suites skip."""

import numpy as np
import pytest
from _helpers import tiny_btsf
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from skcontrast import (
    AimTSClassifier,
    AimTSTransformer,
    BTSFTransformer,
    RepresentationAnomalyDetector,
    RepresentationForecaster,
)

ESTIMATORS = [BTSFTransformer, AimTSTransformer]


@pytest.mark.slow
@pytest.mark.parametrize(
    "cls",
    ESTIMATORS + [AimTSClassifier, RepresentationForecaster, RepresentationAnomalyDetector],
)
def test_sktime_check_estimator_passes_every_check(cls):
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(cls, raise_exceptions=False, verbose=False)
    failed = {name: err for name, err in results.items() if err != "PASSED"}
    assert not failed, failed
    assert len(results) > 100  # the suite really ran (about 200-310 checks)


# scikit-learn's own check_estimator (all checks, with the declared expected failures):
# tests/test_sklearn_checks.py


def test_pipeline_under_sklearn_callbacks(panel):
    # scikit-learn >= 1.9 sets _parent_callback_ctx on each step around its fit; sktime's
    # reset() inside fit used to delete it and the pipeline crashed with AttributeError
    X, y = panel
    pipe = Pipeline([("rep", tiny_btsf()), ("clf", LogisticRegression())]).fit(X, y)
    assert pipe.predict(X).shape == (12,)
    assert not hasattr(pipe.named_steps["rep"], "_parent_callback_ctx")  # cleaned up after


def test_reset_keeps_the_callback_context_only():
    t = tiny_btsf()
    t._parent_callback_ctx = sentinel = object()
    t.fitted_thing_ = 1
    t.reset()
    assert t._parent_callback_ctx is sentinel and not hasattr(t, "fitted_thing_")


def test_grid_search_with_two_jobs_and_cross_val_score(panel):
    X, y = panel
    pipe = make_pipeline(tiny_btsf(), LogisticRegression())
    cv = StratifiedKFold(3)
    grid = GridSearchCV(
        pipe,
        {
            "btsftransformer__options__spectrum": ["complex", "magnitude"],
            "logisticregression__C": [0.1, 1.0],
        },
        cv=cv,
        n_jobs=2,
        error_score="raise",
    ).fit(X, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_params_["btsftransformer__options__spectrum"] in ("complex", "magnitude")
    scores = cross_val_score(pipe, X, y, cv=cv, error_score="raise")
    assert scores.shape == (3,) and np.isfinite(scores).all()
    # the same, sequentially, gives the same scores: workers are deterministic
    seq = GridSearchCV(pipe, grid.param_grid, cv=cv, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(
        seq.cv_results_["mean_test_score"], grid.cv_results_["mean_test_score"]
    )


def test_clone_is_unfitted_with_equal_params(panel):
    X, _ = panel
    t = tiny_btsf(rank=3).fit(X)
    c = clone(t)
    assert c.get_params() == t.get_params() and not c.is_fitted
    assert not hasattr(c, "network_")


def test_sktime_classification_benchmark_with_dunder_composition():
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import KFold
    from sktime.benchmarking.classification import ClassificationBenchmark
    from sktime.datasets import load_unit_test

    bench = ClassificationBenchmark()
    bench.add_estimator(tiny_btsf() * LogisticRegression(), estimator_id="BTSF-LR")
    bench.add_task(
        load_unit_test, KFold(n_splits=2, shuffle=True, random_state=0), [accuracy_score]
    )
    results = bench.run()
    acc = results.filter(like="accuracy_score_fold").select_dtypes("number").to_numpy()
    assert acc.size == 2 and ((acc >= 0) & (acc <= 1)).all()
