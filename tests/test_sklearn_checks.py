"""scikit-learn's own estimator checks (issue 36), for every public scikit-learn estimator.

``check_estimator`` runs each check on the first test configuration, as a new user would
(``check_estimator(C(**C.get_test_params()[0]))``). The checks that fail by design are
declared below with their reason, as strict expected failures: a new failure breaks the
tests, and so does a declared one that starts to pass (then remove it from the table).

Not here: ``RepresentationForecaster`` and ``RepresentationAnomalyDetector`` are sktime
estimators only (``fit(y, fh=...)``, ``fit(X)`` on one series); scikit-learn's checks do
not apply to them and sktime's ``check_estimator`` covers them (tests/test_compat.py).
"""

import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import (
    check_classifiers_train,
    parametrize_with_checks,
)

import skcontrast
from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer, HoldoutRidge

_DATAFRAME = (
    "transform returns a pd.DataFrame (sktime's output for a transformer of series to "
    "features; its columns are float32 whatever the input's dtype), not an array with a dtype"
)
_ANY_SHAPE = (
    "by design AimTS encodes series of any length and channel count (a channel-independent "
    "encoder max-pooled over time): transform does not refuse a number of 'features' "
    "(time points) other than fit's"
)
EXPECTED_FAILED_CHECKS = {
    "BTSFTransformer": {"check_transformer_preserve_dtypes": _DATAFRAME},
    "AimTSTransformer": {
        "check_transformer_preserve_dtypes": _DATAFRAME,
        "check_n_features_in_after_fitting": _ANY_SHAPE,
        "check_transformer_general": _ANY_SHAPE,
    },
    "AimTSClassifier": {
        "check_classifiers_train": (
            "scikit-learn's blobs have 2 features, read as series of 2 time points: the "
            "default per-series z-score (normalize='zscore') keeps only their order, and "
            "the tiny configuration takes 2 steps. get_test_params()[2] (normalize=None, 30 "
            "steps) learns them: test_the_learning_configuration_passes_check_classifiers_train"
        ),
    },
    "HoldoutRidge": {},
}
ESTIMATORS = [
    BTSFTransformer(**BTSFTransformer.get_test_params()[0]),
    AimTSTransformer(**AimTSTransformer.get_test_params()[0]),
    AimTSClassifier(**AimTSClassifier.get_test_params()[0]),
    HoldoutRidge(),
]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=_expected_failed_checks, xfail_strict=True
)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


def test_every_public_sklearn_estimator_is_checked():
    """Each public class with scikit-learn's fit/get_params API, except the sktime-only
    forecaster and detector, is in ESTIMATORS; at most 3 declared failures each."""
    public = {
        name for name in skcontrast.__all__
        if isinstance(getattr(skcontrast, name), type)
        and hasattr(getattr(skcontrast, name), "get_params")
    }  # fmt: skip
    sktime_only = {"RepresentationForecaster", "RepresentationAnomalyDetector"}
    assert public - sktime_only == {type(e).__name__ for e in ESTIMATORS}
    assert set(EXPECTED_FAILED_CHECKS) == public - sktime_only
    for name, declared in EXPECTED_FAILED_CHECKS.items():
        assert len(declared) <= 3, name
        assert all(isinstance(reason, str) and len(reason) > 40 for reason in declared.values())


@pytest.mark.parametrize("readonly_memmap", [False, True])
def test_the_learning_configuration_passes_check_classifiers_train(readonly_memmap):
    params = AimTSClassifier.get_test_params()[2]
    check_classifiers_train("AimTSClassifier", AimTSClassifier(**params), readonly_memmap)
    check_classifiers_train(
        "AimTSClassifier", AimTSClassifier(**params), X_dtype=np.float32
    )  # fmt: skip


# -- the fixes, one by one, with the messages a user reads ----------------------------------
def _X(n=12, length=8):
    return np.random.default_rng(0).standard_normal((n, length))


@pytest.mark.parametrize("cls", [BTSFTransformer, AimTSTransformer, AimTSClassifier])
def test_errors_carry_scikit_learns_phrases(cls):
    est = cls(**cls.get_test_params()[0])
    y = np.arange(12) % 2
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(_X() + 1j, y)
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(12, 0\)\) while a minimum"):
        est.fit(np.empty((12, 0)), y)
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 3\)\)"):
        est.fit(np.empty((0, 3)), [])
    est.fit(_X(), y)
    method = est.predict if hasattr(est, "predict") else est.transform
    with pytest.raises(ValueError, match="Reshape your data"):
        method(_X()[0])
    # an object array of numbers is read as numbers; one that holds other things is not
    est.fit(_X().astype(object), y)
    bad = _X().astype(object)
    bad[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="argument must be a string or a real number"):
        est.fit(bad, y)


class _ArrayLike:
    """An array-like that is not an ndarray (scikit-learn's _NotAnArray)."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


@pytest.mark.parametrize("cls", [BTSFTransformer, AimTSTransformer, AimTSClassifier])
def test_array_likes_are_read_with_np_asarray(cls):
    X, y = _X(), np.arange(12) % 2
    params = cls.get_test_params()[0]
    a = cls(**params).fit(X, y)
    b = cls(**params).fit(_ArrayLike(X), _ArrayLike(y))
    out = (lambda e, Z: e.predict_proba(Z)) if hasattr(a, "predict_proba") else (
        lambda e, Z: e.transform(Z).to_numpy())  # fmt: skip
    np.testing.assert_array_equal(out(b, _ArrayLike(X)), out(a, X))


def test_classifier_y_is_read_as_scikit_learn_reads_it():
    import pandas as pd
    from sklearn.exceptions import DataConversionWarning

    X, y = _X(), np.array([0, 1, 2] * 4)
    params = AimTSClassifier.get_test_params()[0]
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        AimTSClassifier(**params).fit(X, None)
    expected = AimTSClassifier(**params).fit(X, y).predict_proba(X)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        clf = AimTSClassifier(**params).fit(X, y[:, None])
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    with warnings.catch_warnings():  # sktime's one-column table of labels: read as is
        warnings.simplefilter("error", DataConversionWarning)
        clf = AimTSClassifier(**params).fit(X, pd.DataFrame({"label": y}))
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    # a plain DataFrame of int features: one row per series, as sktime's "pd-wide"
    ints = (X * 10).astype(int)
    frame = pd.DataFrame(ints)
    got = AimTSClassifier(**params).fit(frame, pd.Series(y)).predict(frame)
    np.testing.assert_array_equal(got, AimTSClassifier(**params).fit(ints, y).predict(ints))
    with pytest.raises(ValueError, match="Unknown label type: y is a object array of int"):
        AimTSClassifier(**params).fit(X, y.astype(object))


def test_holdout_ridge_declares_multi_output_and_checks_its_flag():
    from sklearn.utils import get_tags

    assert get_tags(HoldoutRidge()).target_tags.multi_output
    with pytest.raises(ValueError, match=r"fit_intercept must be a bool \(True or False\)"):
        HoldoutRidge(fit_intercept="False").fit(_X(), np.arange(12.0))
    with pytest.raises(ValueError, match="n_samples=1"):
        HoldoutRidge().fit(_X(1), [1.0])


@pytest.mark.parametrize("cls", [BTSFTransformer, AimTSTransformer, AimTSClassifier])
def test_input_tags_say_nan_is_accepted_and_infinity_refused(cls):
    """Issue 35 item 4: allow_nan=True, as sktime's capability:missing_values."""
    from sklearn.utils import get_tags

    est = cls(**cls.get_test_params()[0])
    assert get_tags(est).input_tags.allow_nan is True
    assert est.get_tag("capability:missing_values") is True
    X, y = _X(), np.arange(12) % 2
    X[0, 3] = np.nan
    est.fit(X, y)
    X[1, 2] = np.inf
    with pytest.raises(ValueError, match="infinite values"):
        est.fit(X, y)
