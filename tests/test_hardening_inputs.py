"""Input hardening: complex values, labels, shapes, lists, wide frames, multi-index panels,
the detector's and forecaster's series checks, and thread-safe seeding."""

import contextlib
import itertools
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import tiny_aimts, tiny_btsf, tiny_clf
from sktime.datatypes import convert_to

from skcontrast import (
    AimTSClassifier,
    BTSFTransformer,
    RepresentationAnomalyDetector,
    RepresentationForecaster,
)
from skcontrast._data import LikelyTransposedWarning, multiindex_to_numpy3d
from skcontrast._torch_utils import torch_generator


def _panel(n=8, channels=1, length=20, seed=0):
    return np.random.default_rng(seed).standard_normal((n, channels, length))


def _two_sines(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    X = pd.DataFrame({"a": np.sin(t / 6.0), "b": np.cos(t / 6.0)})
    return X + 0.02 * rng.standard_normal(X.shape)


# -- complex input ------------------------------------------------------------------------
COMPLEX_CALLS = {
    "btsf.fit": lambda X: tiny_btsf().fit(X),
    "aimts.fit": lambda X: tiny_aimts().fit(X),
    "btsf.fit_transform 2-D": lambda X: tiny_btsf().fit_transform(X[:, 0]),
    "btsf.fit list of lists": lambda X: tiny_btsf().fit(X[:, 0].tolist()),
    "btsf.fit multi-index": lambda X: tiny_btsf().fit(convert_to(X, to_type="pd-multiindex")),
    "btsf.fit df-list": lambda X: tiny_btsf().fit(convert_to(X, to_type="df-list")),
    "clf.fit": lambda X: tiny_clf().fit(X, np.array([0, 1] * 4)),
    "transform": lambda X: tiny_btsf().fit(X.real).transform(X),
    "transform_timesteps": lambda X: tiny_btsf().fit(X.real).transform_timesteps(X[0, 0]),
    "clf.predict": lambda X: tiny_clf().fit(X.real, np.array([0, 1] * 4)).predict(X),
}


@pytest.mark.parametrize("call", list(COMPLEX_CALLS))
def test_complex_input_is_a_clear_error_not_a_dropped_imaginary_part(call):
    X = _panel() + 1j * _panel(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        with pytest.raises(ValueError, match="complex numbers.*imaginary part"):
            COMPLEX_CALLS[call](X)


def test_complex_series_in_the_detector_and_forecaster():
    X = _two_sines()
    with pytest.raises(ValueError, match="complex"):
        RepresentationAnomalyDetector("passthrough", window_length=20).fit(X.astype(complex))
    detector = RepresentationAnomalyDetector("passthrough", window_length=20).fit(X)
    with pytest.raises(ValueError, match="complex"):
        detector.predict(X.astype(complex))
    forecaster = RepresentationForecaster("passthrough", window_length=20).fit(X, fh=[1, 2])
    with pytest.raises(ValueError, match="y holds complex"):
        forecaster.rolling_predict(X.to_numpy().astype(complex))


# -- classification targets ---------------------------------------------------------------
def test_classifier_refuses_continuous_labels():
    X = _panel(12)
    with pytest.raises(ValueError, match="continuous target.*class labels.*astype\\(int\\)"):
        tiny_clf().fit(X, np.linspace(0.0, 1.0, 12))


@pytest.mark.parametrize(
    "y", [np.array([0.0, 1.0, np.nan, 1.0] * 3), np.array(["a", "b", None, "a"] * 3, dtype=object)]
)
def test_classifier_refuses_missing_labels(y):
    with pytest.raises(ValueError, match="3 missing label"):
        tiny_clf().fit(_panel(12), y)


def test_classifier_still_takes_float_coded_and_string_labels():
    X = _panel(12)
    clf = tiny_clf().fit(X, np.array([0.0, 1.0, 2.0] * 4))
    assert list(clf.classes_) == [0.0, 1.0, 2.0]
    assert tiny_clf().fit(X, pd.Series(["x", "y"] * 6)).predict(X).shape == (12,)


# -- the anomaly detector: short series, NaN, huge values -----------------------------------
@pytest.fixture(scope="module")
def passthrough_detector():
    return RepresentationAnomalyDetector("passthrough", window_length=20, target="next").fit(
        _two_sines().iloc[:200]
    )


def test_detector_series_shorter_than_the_window_is_a_clear_error(passthrough_detector):
    X = _two_sines()
    error_only = RepresentationAnomalyDetector(
        "passthrough", window_length=20, target="next", scoring="error"
    ).fit(X.iloc[:200])
    with pytest.raises(ValueError, match="X has 10 points, but at least 21 .*window_length=20"):
        error_only.predict(X.iloc[:10])
    with pytest.raises(ValueError, match="X has 20 points"):
        error_only.transform_scores(X.iloc[:20])
    assert len(error_only.transform_scores(X.iloc[:21])) == 21
    # the default also scores a discord of the training series' period (37 points here)
    m = passthrough_detector.discord_window_
    assert m == 37
    with pytest.raises(ValueError, match=f"X has 36 points, but at least {m} .* discord_window_"):
        passthrough_detector.transform_scores(X.iloc[:36])
    assert len(passthrough_detector.transform_scores(X.iloc[:37])) == 37


def test_detector_refuses_nan_at_fit_and_at_predict(passthrough_detector):
    X = _two_sines()
    train = X.iloc[:200].copy()
    train.iloc[50, 0] = np.nan
    with pytest.raises(ValueError, match="missing \\(NaN\\) values at 1 time point.*position 50"):
        RepresentationAnomalyDetector("passthrough", window_length=20, target="next").fit(train)
    test = X.iloc[200:].copy()
    test.iloc[50, 1] += 5.0  # a spike in one variable ...
    flagged = passthrough_detector.predict(test)["ilocs"].tolist()
    assert 50 in flagged
    test.iloc[50, 0] = np.nan  # ... that a NaN in the other would hide
    with pytest.raises(ValueError, match="missing \\(NaN\\)"):
        passthrough_detector.predict(test)
    test.iloc[50, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        passthrough_detector.transform_scores(test)


def test_values_whose_squares_overflow_scale_correctly(passthrough_detector):
    X = _two_sines()
    huge = X * 1e155
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way
        detector = RepresentationAnomalyDetector("passthrough", window_length=20, target="next")
        detector.fit(huge.iloc[:200])
    assert detector.threshold_ == pytest.approx(passthrough_detector.threshold_, rel=1e-6)
    np.testing.assert_allclose(detector.scale_, passthrough_detector.scale_ * 1e155, rtol=1e-9)
    test = huge.iloc[200:].copy()
    test.iloc[50, 1] += 5.0 * 1e155
    assert 50 in detector.predict(test)["ilocs"].tolist()
    # the forecaster shares the scaling: finite forecasts on the data's own scale
    small = RepresentationForecaster("passthrough", window_length=20).fit(X, fh=[1, 2])
    big = RepresentationForecaster("passthrough", window_length=20).fit(huge, fh=[1, 2])
    assert np.isfinite(big.predict().to_numpy()).all()
    np.testing.assert_allclose(
        big.predict().to_numpy(), small.predict().to_numpy() * 1e155, rtol=1e-4
    )


def test_values_beyond_float32_after_scaling_are_a_clear_error(passthrough_detector):
    test = _two_sines().iloc[200:].copy()
    test.iloc[50, 0] = 1e300
    with pytest.raises(ValueError, match="beyond float32 range"):
        passthrough_detector.predict(test)


# -- a wide 2-D DataFrame: one series to sktime ---------------------------------------------
@pytest.mark.parametrize("method", ["fit", "fit_transform"])
def test_wide_dataframe_says_it_was_read_as_one_series_and_not_trained(method):
    X = pd.DataFrame(np.random.default_rng(0).standard_normal((20, 60)))
    est = tiny_btsf()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = getattr(est, method)(X)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert not [w for w in caught if issubclass(w.category, LikelyTransposedWarning)]
    assert len(messages) == 1, messages
    assert "pd.DataFrame of shape (20, 60)" in messages[0]
    assert "single series" in messages[0] and "X.to_numpy()" in messages[0]
    assert est.stop_reason_ == "single_series" and est.n_iters_ == 0
    assert (out if method == "fit_transform" else est.transform(X)).shape[0] == 1
    # the fix the message gives: one row per series, trained
    fixed = tiny_btsf().fit(X.to_numpy())
    assert fixed.stop_reason_ == "budget" and fixed.transform(X.to_numpy()).shape[0] == 20


def test_single_series_stop_reason_for_arrays_and_corpora():
    with pytest.warns(UserWarning, match="single series.*stop_reason_='single_series'"):
        est = tiny_btsf().fit(_panel(1))
    assert est.stop_reason_ == "single_series"
    with pytest.warns(UserWarning, match="single series"):
        est = tiny_aimts(image=None).fit([_panel(1), _panel(1, 2, 12)])
    assert est.stop_reason_ == "single_series"
    assert tiny_btsf().fit(_panel(3)).stop_reason_ == "budget"


# -- shapes and lists -------------------------------------------------------------------------
@pytest.mark.parametrize("est", [tiny_btsf, tiny_aimts, tiny_clf])
def test_four_d_array_gets_a_short_message(est):
    X = _panel()[..., np.newaxis]
    args = (np.array([0, 1] * 4),) if est is tiny_clf else ()
    with pytest.raises(ValueError) as err:
        est().fit(X, *args)
    message = str(err.value)
    assert "4-D array of shape (8, 1, 20, 1)" in message and "3-D array" in message
    assert len(message) < 400, message


def test_list_of_lists_is_a_2d_array():
    X = _panel()[:, 0]
    a, b = tiny_btsf().fit(X), tiny_btsf().fit(X.tolist())
    np.testing.assert_array_equal(a.transform(X).to_numpy(), b.transform(X.tolist()).to_numpy())
    np.testing.assert_array_equal(
        a.transform(X).to_numpy(), a.transform([tuple(row) for row in X]).to_numpy()
    )
    clf = tiny_clf().fit(X.tolist(), [0, 1] * 4)
    np.testing.assert_array_equal(clf.predict_proba(X.tolist()), clf.predict_proba(X))


def test_ragged_and_non_numeric_lists_are_clear_errors():
    with pytest.raises(ValueError, match="different lengths \\[2, 3\\].*list of pd.DataFrame"):
        tiny_btsf().fit([[1.0, 2.0, 3.0], [1.0, 2.0], [4.0, 5.0, 6.0]])
    with pytest.raises(TypeError, match="series must be numbers"):
        tiny_btsf().fit([["a", "b", "c"], ["d", "e", "f"]])
    fitted = tiny_btsf().fit(_panel())
    with pytest.raises(TypeError, match="pass one panel"):
        fitted.transform([_panel(), _panel()])


def test_more_channels_than_time_points_warns_at_fit():
    X = _panel(8, 30, 5)
    with pytest.warns(LikelyTransposedWarning, match=r"\(8, 30, 5\).*np.swapaxes\(X, 1, 2\)"):
        tiny_btsf().fit(X)
    with pytest.warns(LikelyTransposedWarning):
        tiny_clf().fit(X, np.array([0, 1] * 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelyTransposedWarning)
        tiny_btsf().fit(np.swapaxes(X, 1, 2))
        # the detector's own training windows may have more variables than points
        many = pd.DataFrame(np.random.default_rng(0).standard_normal((120, 6)))
        RepresentationAnomalyDetector(tiny_btsf(), window_length=4).fit(many)


# -- multi-index panels: one reshape instead of a DataFrame per series ----------------------
def _multiindex(X, labels=None):
    frame = convert_to(X, to_type="pd-multiindex")
    if labels is not None:
        codes = frame.index.get_level_values(0).to_numpy()
        frame.index = pd.MultiIndex.from_arrays(
            [np.asarray(labels)[codes], frame.index.get_level_values(1)], names=frame.index.names
        )
    return frame


def test_equal_length_multiindex_panel_takes_the_numpy_path(monkeypatch):
    X = _panel(10, 3, 16)
    frame = _multiindex(X, labels=[7, 3, 9, 1, 0, 5, 2, 8, 6, 4])  # instances unsorted
    seen = []
    original = BTSFTransformer._transform

    def spy(self, X, y=None):
        seen.append(type(X))
        return original(self, X, y)

    monkeypatch.setattr(BTSFTransformer, "_transform", spy)
    est = tiny_btsf().fit(frame)
    by_frame = est.transform(frame)
    assert seen == [np.ndarray]  # numpy3D, not sktime's df-list
    by_array = tiny_btsf().fit(X).transform(X)
    np.testing.assert_array_equal(by_frame.to_numpy(), by_array.to_numpy())
    assert list(by_frame.index) == list(by_array.index)
    np.testing.assert_array_equal(multiindex_to_numpy3d(frame), X)


def test_multiindex_fast_path_gives_the_same_rows_as_sktime_conversion():
    X = _panel(6, 2, 10)
    frame = _multiindex(X, labels=["f", "b", "a", "e", "c", "d"])
    est = tiny_btsf().fit(X)
    fast = est.transform(frame).to_numpy()
    slow = est.transform(convert_to(frame, to_type="df-list")).to_numpy()  # sktime's route
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-6)


def test_multiindex_panels_the_fast_path_leaves_to_sktime():
    X = _panel(4, 2, 6)
    frame = _multiindex(X)
    assert multiindex_to_numpy3d(frame) is not None
    assert multiindex_to_numpy3d(frame.iloc[:-1]) is None  # unequal lengths
    assert multiindex_to_numpy3d(frame.iloc[::-1]) is None  # time running backwards
    interleaved = frame.iloc[np.argsort(np.tile(np.arange(6), 4), kind="stable")]
    assert multiindex_to_numpy3d(interleaved) is None  # an instance in several blocks
    assert multiindex_to_numpy3d(frame.astype(bool)) is None
    dated, named = frame.copy(), frame.copy()
    times = frame.index.get_level_values(1)
    dated.index = pd.MultiIndex.from_arrays(
        [frame.index.get_level_values(0), pd.Timestamp("2024-01-01") + pd.to_timedelta(times, "h")]
    )
    np.testing.assert_array_equal(multiindex_to_numpy3d(dated), X)
    named.index = pd.MultiIndex.from_arrays(
        [frame.index.get_level_values(0), [f"t{i}" for i in times]]
    )
    assert multiindex_to_numpy3d(named) is None  # not a time index: sktime decides
    # unequal lengths still work through sktime's conversion
    est = tiny_btsf().fit(frame.iloc[:-1])
    assert est.n_timepoints_in_ is None and est.transform(frame.iloc[:-1]).shape[0] == 4


# -- seeding with generators of the fit's own ----------------------------------------------
@pytest.fixture
def global_rng_scrambled(monkeypatch):
    """Replace the seeding of torch's global generator by a different state at every fit:
    what a fit still draws from the global generator then changes its result."""
    from skcontrast import _estimator

    counter = itertools.count()

    @contextlib.contextmanager
    def scrambled(seed, device):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1000 + next(counter))
            yield

    # every fit seeds in _fit_network (the transformers' and the classifier's)
    monkeypatch.setattr(_estimator, "isolated_seed", scrambled)


@pytest.mark.parametrize(
    "make",
    [
        lambda: tiny_aimts(n_iters=4, max_channels=1),
        lambda: tiny_aimts(n_iters=4, image=None),
        lambda: tiny_clf(n_iters=4),
        lambda: BTSFTransformer(**{**BTSFTransformer.get_test_params()[0], "n_iters": 4}),
        lambda: BTSFTransformer(
            **{**BTSFTransformer.get_test_params()[0], "n_iters": 4, "recipe": "paper"}
        ),
    ],
    ids=["aimts", "aimts_no_image", "aimts_clf", "btsf_crops", "btsf_paper"],
)
def test_fits_draw_nothing_from_the_global_generator(make, global_rng_scrambled):
    # BTSF too (issue 34): building the network draws torch's default initialisations from
    # the global generator, but _init_weights redraws them all from the fit's own
    # (isolated_seed's fork keeps the caller's state; see its docstring)
    X = _panel(8, 2, 24).astype(np.float32)
    y = np.array([0, 1] * 4)

    def result():
        est = make()
        if isinstance(est, AimTSClassifier):
            return est.fit(X, y).predict_proba(X)
        return est.fit(X).transform(X).to_numpy()

    np.testing.assert_array_equal(result(), result())


@pytest.mark.parametrize("method", ["aimts", "btsf_crops", "btsf_paper"])
def test_fits_are_reproducible_while_another_thread_draws_from_torch(method):
    X = _panel(12, 2, 24).astype(np.float32)

    def fit():
        if method == "aimts":
            est = tiny_aimts(n_iters=6, max_channels=1)
        else:
            est = BTSFTransformer(**{**BTSFTransformer.get_test_params()[0], "n_iters": 6,
                                     "recipe": method.split("_")[1]})  # fmt: skip
        est.fit(X)
        return est.transform(X).to_numpy(), est.loss_history_

    reference, reference_losses = fit()

    def hammer(stop):
        while not stop.is_set():
            torch.rand(64)

    for _ in range(3):
        stop = threading.Event()
        thread = threading.Thread(target=hammer, args=(stop,))
        thread.start()
        try:
            features, losses = fit()
        finally:
            stop.set()
            thread.join()
        np.testing.assert_array_equal(features, reference)
        assert losses == reference_losses


def test_seeded_init_redraws_every_parameter_from_the_generator():
    from torch import nn

    from skcontrast.nn.initialization import seeded_init_

    def weights(seed):
        network = tiny_aimts()._build_network(2, 24)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # a different global state: it must not matter
            torch.rand(seed + 1)
            seeded_init_(network, torch_generator(0))
        return {k: v for k, v in network.state_dict().items() if "running" not in k}

    a, b = weights(1), weights(2)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(3))

    with pytest.raises(TypeError, match="Custom"):
        seeded_init_(nn.Sequential(nn.Linear(2, 2), Custom()), torch_generator(0))
    Custom.seeded_reset_parameters = lambda self, g: self.w.data.uniform_(generator=g)
    module = seeded_init_(Custom(), torch_generator(0))
    assert torch.equal(module.w, seeded_init_(Custom(), torch_generator(0)).w)
    assert not torch.equal(module.w, torch.zeros(3))
