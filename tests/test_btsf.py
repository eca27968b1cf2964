"""BTSFTransformer behaviour that sktime's checks do not assert: values, not just types."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import tiny_btsf
from sktime.base import load as sktime_load
from sktime.datasets import load_basic_motions

from skcontrast import BTSFTransformer


def features(transformer, X):
    out = transformer.transform(X)
    assert isinstance(out, pd.DataFrame)
    return out.to_numpy()


# -- shapes and formats -------------------------------------------------------------------
def test_one_finite_row_per_series(panel):
    X, _ = panel
    t = tiny_btsf().fit(X)
    F = features(t, X)
    assert F.shape == (12, 2 * 4 + 7 * 4)  # rank * repr_dims + multiscale temporal pools
    assert F.dtype == np.float32 and np.isfinite(F).all()
    # standardised on the training series
    np.testing.assert_allclose(F.mean(axis=0), 0, atol=1e-4)
    assert t.n_channels_in_ == 1 and t.n_timepoints_in_ == 32 and t.n_features_in_ == 32


def test_2d_array_is_read_as_n_univariate_series(panel):
    X, _ = panel
    t = tiny_btsf().fit(X[:, 0, :])
    np.testing.assert_array_equal(features(t, X[:, 0, :]), features(t, X))
    assert features(t, X[:, 0, :]).shape[0] == 12


def test_1d_array_gets_a_message_that_names_the_fix(panel):
    X, _ = panel
    with pytest.raises(ValueError, match="reshape"):
        tiny_btsf().fit(X[0, 0])


def test_2d_dataframe_with_one_label_per_row_names_the_fix(panel):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    X, y = panel
    pipe = Pipeline([("rep", tiny_btsf()), ("clf", LogisticRegression())])
    with pytest.raises(ValueError, match=r"ONE series.*X.to_numpy\(\)"):
        pipe.fit(pd.DataFrame(X[:, 0, :]), y)
    # a 2-D DataFrame without labels stays sktime's single multivariate series
    assert (
        features(tiny_btsf().fit(pd.DataFrame(X[:, 0, :])), pd.DataFrame(X[:, 0, :])).shape[0] == 1
    )


def test_multivariate_sktime_container_and_channel_independent():
    X, _ = load_basic_motions(return_X_y=True)  # nested DataFrame, 6 channels
    X = X.iloc[:10]
    F = features(tiny_btsf(readout="fused").fit(X), X)
    assert F.shape == (10, 2 * 4)
    F_ci = features(tiny_btsf(readout="fused", channel_independent=True).fit(X), X)
    assert F_ci.shape == (10, 6 * 2 * 4)
    # multiscale: + 7 pooled temporal positions of d features, per channel if independent
    assert features(tiny_btsf().fit(X), X).shape == (10, 2 * 4 + 7 * 4)
    F_ci = features(tiny_btsf(channel_independent=True).fit(X), X)
    assert F_ci.shape == (10, 6 * (2 * 4 + 7 * 4))


def test_standardize_false_gives_raw_sigmoid_features(panel):
    X, _ = panel
    F = features(tiny_btsf(standardize=False, readout="fused").fit(X), X)
    assert (F > 0).all() and (F < 1).all()


def test_normalize_zscore_makes_features_scale_invariant(panel):
    X, _ = panel
    t = tiny_btsf(normalize="zscore").fit(X)
    np.testing.assert_allclose(features(t, 1000 * X + 5), features(t, X), atol=1e-4)
    # the default also reads the series with the training set's statistics: a rescaled
    # copy changes the second half of the row, not the first
    both = tiny_btsf(normalize=("zscore", "global")).fit(X)
    width = features(t, X).shape[1]
    moved, own = features(both, 1000 * X + 5), features(both, X)
    np.testing.assert_allclose(moved[:, :width], own[:, :width], atol=1e-4)
    assert not np.allclose(moved[:, width:], own[:, width:], atol=1e-2)
    raw = tiny_btsf(normalize=None).fit(X)
    assert not np.allclose(features(raw, 3 * X), features(raw, X), atol=1e-3)


# -- reproducibility ----------------------------------------------------------------------
def test_refits_are_bitwise_identical(panel):
    X, _ = panel
    a, b = tiny_btsf(n_iters=5).fit(X), tiny_btsf(n_iters=5).fit(X)
    np.testing.assert_array_equal(features(a, X), features(b, X))
    assert a.loss_history_ == b.loss_history_
    c = tiny_btsf(n_iters=5, random_state=1).fit(X)
    assert not np.array_equal(features(a, X), features(c, X))


def test_transform_is_deterministic_and_batch_independent(panel):
    X, _ = panel
    t = tiny_btsf().fit(X)
    F = features(t, X)
    np.testing.assert_array_equal(F, features(t, X))
    chunked = tiny_btsf(inference_batch_size=5).fit(X)  # encodes in chunks of 5
    np.testing.assert_allclose(features(chunked, X), F, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features(t, X[3:4]), F[3:4], rtol=1e-5, atol=1e-5)


def test_global_rng_state_is_untouched(panel):
    X, _ = panel
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    tiny_btsf(n_iters=3).fit_transform(X)
    tiny_btsf(n_iters=3, random_state=None).fit(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])


def test_random_state_none_still_trains(panel):
    X, _ = panel
    t = tiny_btsf(random_state=None).fit(X)
    assert np.isfinite(features(t, X)).all()


# -- persistence --------------------------------------------------------------------------
@pytest.fixture
def fitted(panel):
    X, _ = panel
    return tiny_btsf(n_iters=3).fit(X), X


def test_pickle_round_trip(fitted):
    t, X = fitted
    np.testing.assert_array_equal(features(pickle.loads(pickle.dumps(t)), X), features(t, X))


def test_joblib_round_trip(fitted, tmp_path):
    t, X = fitted
    joblib.dump(t, tmp_path / "t.joblib")
    np.testing.assert_array_equal(features(joblib.load(tmp_path / "t.joblib"), X), features(t, X))


def test_sktime_save_load_round_trip(fitted, tmp_path):
    t, X = fitted
    t.save(tmp_path / "model")
    loaded = sktime_load(tmp_path / "model.zip")
    np.testing.assert_array_equal(features(loaded, X), features(t, X))


def test_weights_only_round_trip(fitted, tmp_path):
    t, X = fitted
    path = tmp_path / "w.pt"
    t.save_weights(path)
    # the file is readable without unpickling any code
    blob = torch.load(path, weights_only=True)
    assert blob["estimator"] == "BTSFTransformer" and blob["format_version"] == 1
    loaded = BTSFTransformer.load_weights(path)
    np.testing.assert_array_equal(features(loaded, X), features(t, X))
    # environment parameters (device, checkpoint_path, verbose) are never read from a file
    assert loaded.get_params() == {**t.get_params(), "device": "auto"}
    assert loaded.loss_history_ == pytest.approx(t.loss_history_)


def test_weights_file_errors(fitted, tmp_path):
    t, X = fitted
    path = tmp_path / "w.pt"
    t.save_weights(path)
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable skcontrast weights file"):
        BTSFTransformer.load_weights(tmp_path / "cut.pt")
    torch.save({"something": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a skcontrast weights file"):
        BTSFTransformer.load_weights(tmp_path / "other.pt")
    blob = torch.load(path, weights_only=True)
    torch.save({**blob, "format_version": 99}, tmp_path / "new.pt")
    with pytest.raises(ValueError, match="upgrade skcontrast"):
        BTSFTransformer.load_weights(tmp_path / "new.pt")
    torch.save({**blob, "estimator": "AimTSTransformer"}, tmp_path / "aimts.pt")
    with pytest.raises(ValueError, match="AimTSTransformer.load_weights"):
        BTSFTransformer.load_weights(tmp_path / "aimts.pt")
    with pytest.raises(FileNotFoundError):
        BTSFTransformer.load_weights(tmp_path / "missing.pt")


def test_save_weights_before_fit_raises():
    from sktime.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        tiny_btsf().save_weights("unused.pt")


def test_fitted_network_lives_on_cpu(fitted):
    t, _ = fitted
    assert all(p.device.type == "cpu" for p in t.network_.parameters())
    assert not t.network_.training


# -- training budget ----------------------------------------------------------------------
def test_n_iters_and_n_epochs(panel):
    X, _ = panel
    assert tiny_btsf(n_iters=7).fit(X).n_iters_ == 7
    # 12 series in batches of 4: 3 steps an epoch
    t = tiny_btsf(n_iters=None, n_epochs=2).fit(X)
    assert t.n_iters_ == 6 and t.stop_reason_ == "budget"
    assert len(t.loss_history_) == 6


def test_n_iters_zero_keeps_the_seeded_initialisation(panel):
    X, _ = panel
    a, b = tiny_btsf(n_iters=0).fit(X), tiny_btsf(n_iters=0).fit(X)
    assert a.n_iters_ == 0 and a.loss_history_ == []
    np.testing.assert_array_equal(features(a, X), features(b, X))
    assert not np.array_equal(features(a, X), features(tiny_btsf(n_iters=3).fit(X), X))


def test_max_time_stops_training(panel):
    X, _ = panel
    t = tiny_btsf(n_iters=100000, max_time=0.3).fit(X)
    assert t.stop_reason_ == "max_time" and 0 < t.n_iters_ < 100000


def test_early_stopping_on_a_plateau(panel):
    X, _ = panel
    t = tiny_btsf(n_iters=5000, early_stopping=True, n_iter_no_change=5, tol=0.5).fit(X)
    assert t.stop_reason_ == "early_stopping" and t.n_iters_ < 5000


def test_loss_decreases_with_training(panel):
    X, _ = panel
    small = dict(
        hidden_channels=8,
        repr_dims=8,
        rank=2,
        n_loops=1,
        batch_size=12,
        lr=3e-3,
        device="cpu",
        random_state=0,
        options=dict(temporal_depth=2, spectral_depth=1, temporal_size=4, spectral_size=4),
    )
    t = BTSFTransformer(**small, n_iters=60, recipe="paper").fit(X)
    assert np.mean(t.loss_history_[-10:]) < 0.7 * np.mean(t.loss_history_[:5])
    # crops: a harder task (random crops, masks, temporal contrast), a slower descent
    t = BTSFTransformer(**small, n_iters=150).fit(X)
    assert np.mean(t.loss_history_[-30:]) < 0.95 * np.mean(t.loss_history_[:10])


def test_verbose_shows_progress_with_loss(panel, capsys):
    X, _ = panel
    tiny_btsf(n_iters=3, verbose=True).fit(X)
    err = capsys.readouterr().err
    assert "BTSFTransformer" in err and "loss=" in err


def test_keyboard_interrupt_keeps_a_usable_estimator(panel, monkeypatch):
    X, _ = panel
    t = tiny_btsf(n_iters=50)
    calls = {"n": 0}
    original = BTSFTransformer._training_loss

    def interrupting(self, network, batch, step):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, network, batch, step)

    monkeypatch.setattr(BTSFTransformer, "_training_loss", interrupting)
    with pytest.raises(KeyboardInterrupt, match="interrupted after 3 of 50 steps"):
        t.fit(X)
    assert t.stop_reason_ == "interrupted" and t.n_iters_ == 3
    assert np.isfinite(features(t, X)).all()


def test_diverging_loss_is_a_clear_error(panel, monkeypatch):
    X, _ = panel
    monkeypatch.setattr(
        BTSFTransformer, "_training_loss", lambda self, net, b, step: net(b).sum() * float("nan")
    )
    with pytest.raises(FloatingPointError, match="loss became nan at step 1.*Lower lr"):
        tiny_btsf().fit(X)


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_are_rejected(panel, bad):
    X, _ = panel
    X = X.copy()
    X[2, 0, 5] = bad
    with pytest.raises(ValueError, match="infinite values.*1 of 12 series.*impute"):
        tiny_btsf().fit(X)
    t = tiny_btsf().fit(panel[0])
    with pytest.raises(ValueError, match="infinite values"):
        t.transform(X)


def test_values_beyond_float32_are_rejected(panel):
    X = panel[0].astype(np.float64)
    X[0, 0, 0] = 1e300
    with pytest.raises(ValueError, match="float32 range"):
        tiny_btsf().fit(X)


def test_empty_input_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        tiny_btsf().fit(np.zeros((0, 1, 10)))


def test_non_numeric_input_is_rejected():
    X = np.array([[["a", "b", "c"]]] * 3, dtype=object)
    with pytest.raises((TypeError, ValueError)):
        tiny_btsf().fit(X)


def test_wrong_channel_count_at_transform(panel):
    X, _ = panel
    t = tiny_btsf().fit(X)
    with pytest.raises(ValueError, match="2 channel.*fitted on series with 1"):
        t.transform(np.repeat(X, 2, axis=1))


def test_wrong_length_at_transform(panel):
    X, _ = panel
    t = tiny_btsf().fit(X)
    with pytest.raises(ValueError, match="16 time points.*fitted on 32"):
        t.transform(X[:, :, :16])


@pytest.mark.parametrize("length", [1, 2, 3])
def test_very_short_series_work(length):
    X = np.random.default_rng(0).standard_normal((6, 1, length))
    F = features(tiny_btsf().fit(X), X)
    assert F.shape == (6, 8 + 7 * 4) and np.isfinite(F).all()


def test_constant_series_give_finite_features(panel):
    X, _ = panel
    X = X.copy()
    X[:3] = 7.0  # three constant series
    t = tiny_btsf().fit(X)
    F = features(t, X)
    assert np.isfinite(F).all()
    # after z-normalisation every constant series is the zero series: same features
    np.testing.assert_array_equal(F[0], F[1])


def test_single_series_warns_and_stays_finite(panel):
    X, _ = panel
    with pytest.warns(UserWarning, match="single series"):
        t = tiny_btsf().fit(X[:1])
    assert t.n_iters_ == 0
    np.testing.assert_array_equal(features(t, X), features(tiny_btsf(n_iters=0).fit(X[:1]), X))
    assert np.isfinite(features(t, X)).all()


def test_integer_and_float64_input(panel):
    X, _ = panel
    Xi = np.round(X * 10).astype(np.int64)
    assert np.isfinite(features(tiny_btsf().fit(Xi), Xi)).all()
    np.testing.assert_array_equal(
        features(tiny_btsf().fit(X.astype(np.float64)), X), features(tiny_btsf().fit(X), X)
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"dropout": 1.0}, "dropout"),
        ({"temperature": 0}, "temperature"),
        ({"spectrum": "phase"}, "spectrum must be one of"),
        ({"rank": 0}, r"rank must be an integer in \[1, 256\]"),
        ({"n_loops": -1}, r"n_loops must be an integer in \[0, 16\]"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"n_iters": 5, "n_epochs": 2}, "not both"),
        ({"normalize": "minmax"}, "normalize must be one of"),
        ({"lr": -1}, "lr must be finite and > 0"),
        ({"max_time": 0}, "max_time"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_fail_at_fit_with_the_parameter_named(panel, params, match):
    X, _ = panel
    t = tiny_btsf(**params)  # __init__ never validates
    with pytest.raises(ValueError, match=match):
        t.fit(X)


def test_numpy_integer_parameters_are_accepted(panel):
    X, _ = panel
    tiny_btsf(rank=np.int64(2), n_iters=np.int32(2)).fit(X)


def test_unavailable_cuda_is_a_clear_error(panel):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available.*device='auto'"):
        tiny_btsf(device="cuda").fit(panel[0])


def test_auto_device_resolves_without_writing_back(panel):
    X, _ = panel
    t = tiny_btsf(device="auto").fit(X)
    assert t.get_params()["device"] == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features(t, X)


def test_out_of_gpu_memory_halves_the_batch_and_goes_on(panel, monkeypatch):
    X, _ = panel
    seen = []
    original = BTSFTransformer._training_loss

    def small_memory(self, network, batch, step):
        if batch.shape[0] > 3:
            raise torch.cuda.OutOfMemoryError("simulated")
        seen.append(batch.shape[0])
        return original(self, network, batch, step)

    monkeypatch.setattr(BTSFTransformer, "_training_loss", small_memory)
    with pytest.warns(
        UserWarning, match="out of GPU memory at a batch of 12 series; continuing with batch_size=6"
    ):
        t = tiny_btsf(batch_size=12, n_iters=5).fit(X)
    assert t.n_iters_ == 5 and seen == [3] * 5


def test_out_of_gpu_memory_at_inference_retries_smaller_chunks(panel, monkeypatch):
    X, _ = panel
    t = tiny_btsf().fit(X)
    expected = features(t, X)
    original = BTSFTransformer._encode

    def small_memory(self, network, batch):
        if batch.shape[0] > 5:
            raise torch.cuda.OutOfMemoryError("simulated")
        return original(self, network, batch)

    monkeypatch.setattr(BTSFTransformer, "_encode", small_memory)
    with pytest.warns(UserWarning, match="retrying with 3 series at a time") as record:
        got = features(t, X)
    assert [str(w.message).split("retrying with ")[1][:2] for w in record] == ["6 ", "3 "]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
