"""The benchmark's loaders read the shared data the way the benchmark needs it."""

from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """The benchmark scripts' modules, imported from ``benchmarks/`` as the scripts do."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common
    import classification

    return _common, classification


@pytest.mark.parametrize("name, shape", [("ECG200", (100, 1, 96)), ("NATOPS", (180, 24, 51))])
def test_shared_datasets_load_as_numpy3d(shared_data, bench, name, shape):
    common, _ = bench
    (X_train, y_train), (X_test, y_test) = common.load(name, shared_data)
    assert X_train.shape == shape and len(y_train) == shape[0]
    assert X_test.shape[1:] == shape[1:] and len(y_test) == len(X_test)
    assert np.isfinite(X_train).all() and len(np.unique(y_train)) >= 2


def test_unequal_lengths_and_missing_values_load_as_the_archive_means(shared_data, bench):
    common, classification = bench
    # trailing NaN pads unequal lengths: each series comes back at its own length
    (X_train, _), (X_test, _) = common.load("AllGestureWiimoteX", shared_data)
    lengths = [len(f) for f in X_train]
    assert isinstance(X_train, list) and len(set(lengths)) > 50
    assert all(np.isfinite(f.to_numpy()).all() for f in X_train)
    # MiniRocket gets one length (edge-padded) and no NaN, train and test alike
    length = max(len(f) for f in [*X_train, *X_test])
    A = classification.for_minirocket(X_train, length)
    B = classification.for_minirocket(X_test, length)
    assert A.shape == (len(X_train), 1, length) and B.shape[-1] == length
    assert np.isfinite(A).all() and np.isfinite(B).all()
    np.testing.assert_array_equal(A[0, 0, : lengths[0]], X_train[0].to_numpy()[:, 0])
    # in the sets with missing values every NaN (trailing ones too) stays a missing value:
    # one length, as the archive gives it
    for name in ("DodgerLoopDay", "MelbournePedestrian"):
        (X_train, _), (X_test, _) = common.load(name, shared_data)
        assert isinstance(X_train, np.ndarray) and isinstance(X_test, np.ndarray)
        assert np.isnan(X_train).any() or np.isnan(X_test).any()
        assert X_train.shape[-1] == X_test.shape[-1]
        assert np.isfinite(classification.for_minirocket(X_test)).all()


def test_dev_suite_lists_every_shared_set(shared_data, bench):
    _, classification = bench
    suite = classification.dev_suite(shared_data)
    ucr = sorted(p.name for p in (shared_data / "classification" / "ucr").iterdir())
    assert set(ucr) <= set(suite) and "GunPoint" in suite and "NATOPS" in suite
    assert len(suite) == len(set(suite))
