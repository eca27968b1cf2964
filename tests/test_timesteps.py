"""Per-timestep causal representations: causality, exactness of the chunked paths, inputs."""

import numpy as np
import pandas as pd
import pytest
from _helpers import tiny_btsf

from skcontrast import AimTSTransformer, _timesteps


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 2, 40)).astype(np.float32)
    btsf = tiny_btsf(temporal_depth=3).fit(X)
    aimts = AimTSTransformer(**AimTSTransformer.get_test_params()[1]).fit(X)
    return {"btsf": btsf, "aimts": aimts}


@pytest.fixture
def long_series():
    rng = np.random.default_rng(1)
    return pd.DataFrame(np.cumsum(rng.standard_normal((700, 2)), axis=0) / 10)


@pytest.mark.parametrize("name", ["btsf", "aimts"])
def test_representations_are_causal(fitted, long_series, name):
    est = fitted[name]
    R = est.transform_timesteps(long_series)
    changed = long_series.copy()
    changed.iloc[500:] += 3.0
    R2 = est.transform_timesteps(changed)
    np.testing.assert_array_equal(R2[:500], R[:500])  # the future never leaks back
    assert np.abs(R2[500:] - R[500:]).max() > 1e-3


@pytest.mark.parametrize("name", ["btsf", "aimts"])
def test_last_row_needs_only_the_context(fitted, long_series, name):
    est = fitted[name]
    context = est.timestep_context()
    full = est.transform_timesteps(long_series)
    tail = est.transform_timesteps(long_series.iloc[-context:])
    np.testing.assert_allclose(tail[-1], full[-1], rtol=1e-5, atol=1e-6)


def test_btsf_streams_with_its_receptive_field(fitted):
    est = fitted["btsf"]
    # depth 3, kernel 3: 1 + 2 * 2 * (2**3 - 1) steps
    assert est.timestep_context() == 29
    # AimTS's encoder is not causal: the trailing window of TS2Vec's sliding inference
    assert fitted["aimts"].timestep_context() == 201


def test_chunked_stream_equals_one_pass(fitted, long_series):
    est = fitted["btsf"]
    import torch

    X = long_series.to_numpy(np.float32).T[None]

    def encode(part):
        return est._step_features(est.network_, part, torch.device("cpu"))

    one = _timesteps.stream_timesteps(encode, X, 29, chunk=10_000)
    chunked = _timesteps.stream_timesteps(encode, X, 29, chunk=37)
    np.testing.assert_allclose(chunked, one, rtol=1e-5, atol=1e-6)


def test_window_row_equals_encoding_that_window(fitted, long_series):
    import torch

    est = fitted["aimts"]
    R = est.transform_timesteps(long_series, window=50)
    x = torch.from_numpy(long_series.to_numpy(np.float32).T[None, :, 300 - 49 : 301].copy())
    from skcontrast._torch_utils import autocast

    # the precision transform encodes in (bf16 on a CPU with native bf16, mixed_precision)
    cpu = torch.device("cpu")
    with torch.inference_mode(), autocast(cpu, est.mixed_precision, cpu=est._bf16_cpu_inference):
        direct = est._encode_timesteps(est.network_, x)[0, -1].float().numpy()
    np.testing.assert_allclose(R[300], direct, rtol=1e-5, atol=1e-6)


def test_pooled_row_is_the_transform_of_the_trailing_window(fitted, long_series, monkeypatch):
    est = fitted["btsf"]
    # float32: bf16 kernels (a CPU with native bf16) round differently per batch size
    monkeypatch.setattr(est, "options", {**(est.options or {}), "mixed_precision": False})
    R = est.transform_timesteps(long_series, pooled=True)
    window = long_series.to_numpy(np.float32)[400 - 39 : 401].T[None]
    np.testing.assert_allclose(R[400], est.transform(window).to_numpy()[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="window=40"):
        est.transform_timesteps(long_series, window=30, pooled=True)


def test_shapes_for_series_and_panels(fitted):
    est = fitted["btsf"]
    rng = np.random.default_rng(2)
    panel = rng.standard_normal((3, 2, 50))
    out = est.transform_timesteps(panel)
    assert out.shape == (3, 50, 4) and out.dtype == np.float32
    np.testing.assert_allclose(est.transform_timesteps(pd.DataFrame(panel[1].T)), out[1], atol=1e-6)
    uni = tiny_btsf().fit(rng.standard_normal((8, 30)))
    assert uni.transform_timesteps(pd.Series(rng.standard_normal(60))).shape == (60, 4)
    assert uni.transform_timesteps(rng.standard_normal(60)).shape == (60, 4)


def test_bad_inputs_are_clear_errors(fitted, long_series):
    est = fitted["btsf"]
    with pytest.raises(ValueError, match="3 channel"):
        est.transform_timesteps(pd.DataFrame(np.zeros((50, 3))))
    with pytest.raises(ValueError, match="window must be"):
        est.transform_timesteps(long_series, window=0)
    with pytest.raises(ValueError, match="infinite"):
        est.transform_timesteps(long_series.replace(long_series.iloc[3, 0], np.inf))
    from skcontrast import BTSFTransformer
    from skcontrast._base import NotFittedError

    with pytest.raises(NotFittedError):
        BTSFTransformer().transform_timesteps(long_series)


def test_missing_values_are_masked_not_fatal(fitted, long_series):
    gappy = long_series.copy()
    gappy.iloc[100:110, 0] = np.nan
    R = fitted["btsf"].transform_timesteps(gappy)
    assert np.isfinite(R).all()
