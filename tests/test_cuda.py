"""The CUDA path, checked where a GPU exists (skipped elsewhere, e.g. in CI)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from skcontrast import (
    AimTSClassifier,
    AimTSTransformer,
    BTSFTransformer,
    RepresentationAnomalyDetector,
    RepresentationForecaster,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 20)
    t = np.linspace(0, 6 * np.pi, 64)
    X = np.where(y[:, None] == 0, np.sin(t), np.sign(np.sin(t)))[:, None, :]
    X = np.repeat(X, 3, axis=1) + 0.2 * rng.standard_normal((40, 3, 64))
    return X.astype(np.float32), y


@pytest.mark.parametrize("mixed_precision", [False, True])
@pytest.mark.parametrize("cls", [BTSFTransformer, AimTSTransformer])
def test_fit_on_gpu_transform_anywhere(cls, data, mixed_precision):
    X, _ = data
    params = {**cls.get_test_params()[0], "n_iters": 5, "mixed_precision": mixed_precision}
    gpu = cls(**{**params, "device": "cuda"}).fit(X)
    # fitted weights live on the CPU, so the object pickles and loads anywhere
    assert all(p.device.type == "cpu" for p in gpu.network_.parameters())
    assert np.isfinite(gpu.loss_history_).all() and len(gpu.loss_history_) == 5
    on_gpu = gpu.transform(X).to_numpy()
    loaded = pickle.loads(pickle.dumps(gpu))
    # what device="auto" resolves to on a CPU-only machine (set_params would reset the fit)
    loaded.device = "cpu"
    on_cpu = loaded.transform(X).to_numpy()
    # bf16 autocast changes the low bits; float32 on both devices agrees closely
    tol = 0.1 if mixed_precision else 1e-3
    np.testing.assert_allclose(on_gpu, on_cpu, atol=tol * max(1.0, np.abs(on_cpu).max()))
    steps_gpu = gpu.transform_timesteps(X[:2])
    steps_cpu = loaded.transform_timesteps(X[:2])
    np.testing.assert_allclose(steps_gpu, steps_cpu, atol=tol * max(1.0, np.abs(steps_cpu).max()))


def test_gpu_training_is_reproducible_with_a_seed(data):
    X, _ = data
    params = {**BTSFTransformer.get_test_params()[0], "n_iters": 5, "device": "cuda"}
    a = BTSFTransformer(**params).fit(X).loss_history_
    b = BTSFTransformer(**params).fit(X).loss_history_
    np.testing.assert_allclose(a, b, rtol=1e-3)


def test_classifier_forecaster_detector_on_gpu(data):
    X, y = data
    clf = AimTSClassifier(**{**AimTSClassifier.get_test_params()[0], "device": "cuda"}).fit(X, y)
    assert clf.predict(X).shape == (40,)
    series = pd.DataFrame(np.sin(np.arange(300)[:, None] / np.array([5.0, 7.0])))
    btsf = BTSFTransformer(**{**BTSFTransformer.get_test_params()[0], "device": "cuda"})
    f = RepresentationForecaster(btsf, window_length=24).fit(series, fh=[1, 2])
    assert np.isfinite(f.predict().to_numpy()).all()
    d = RepresentationAnomalyDetector(btsf, window_length=24).fit(series)
    assert np.isfinite(d.transform_scores(series).to_numpy()).all()
