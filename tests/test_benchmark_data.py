"""The benchmark's loaders read the shared data the way the benchmark needs it."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest


def load_benchmark_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "classification.py"
    spec = importlib.util.spec_from_file_location("bench_classification", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, shape", [("ECG200", (100, 1, 96)), ("NATOPS", (180, 24, 51))])
def test_shared_datasets_load_as_numpy3d(shared_data, name, shape):
    bench = load_benchmark_module()
    (X_train, y_train), (X_test, y_test) = bench.load(name, shared_data)
    assert X_train.shape == shape and len(y_train) == shape[0]
    assert X_test.shape[1:] == shape[1:] and len(y_test) == len(X_test)
    assert np.isfinite(X_train).all() and len(np.unique(y_train)) >= 2
