"""Declarative parameter validation: the tables, the validator and its messages."""

import numpy as np
import pytest

from skcontrast import (
    AimTSClassifier,
    AimTSTransformer,
    BTSFTransformer,
    RepresentationAnomalyDetector,
    RepresentationForecaster,
)
from skcontrast._validation import (
    Const,
    Hidden,
    Interval,
    Options,
    Path,
    Rule,
    TupleOf,
    check_value,
    validate_params,
)

ESTIMATORS = [BTSFTransformer, AimTSTransformer, AimTSClassifier, RepresentationForecaster,
              RepresentationAnomalyDetector]  # fmt: skip


def _all_params(cls):
    """The constructor parameters, with each option by name (the torch estimators')."""
    est = cls()
    return est._effective_params() if hasattr(est, "_effective_params") else est.get_params()


def _build(cls, params):
    """``cls(**params)``, options given by name (the torch estimators')."""
    return cls(**cls._split_options(params)) if hasattr(cls, "_split_options") else cls(**params)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_table_entry_is_a_parameter(cls):
    params = set(_all_params(cls))
    assert set(cls._param_constraints) <= params
    assert {"batch_size", "lr", "n_iters"} <= set(
        cls._param_constraints
    ) or "window_length" in params


@pytest.mark.parametrize(
    "constraints, value, message",
    [
        ([Interval("int", 1)], 0, "p must be an integer >= 1, got 0."),
        ([Interval("int", 0), None], 2.5, "p must be an integer >= 0 or None, got 2.5."),
        ([None, Interval("int", 1)], True, "p must be None or an integer >= 1, got True."),
        ([Interval("any", 0, closed="neither")], 0, "p must be > 0, got 0."),
        ([Interval("any", 0)], -1, "p must be >= 0, got -1."),
        ([Interval("any", 0, 1)], 1.0, r"p must be in [0, 1), got 1.0."),
        (
            [None, Interval("number", 0, 0.5, closed="neither")],
            0.5,
            "p must be None or in (0, 0.5), got 0.5.",
        ),
        ([Interval("number", 0)], "a", "p must be a number >= 0, got 'a'."),
        (
            [None, Interval("any", 0, closed="neither", unit="seconds")],
            0,
            "p must be None or > 0 seconds, got 0.",
        ),
        ([Interval("real", 0, closed="neither"), Hidden(None)], -1, "p must be > 0, got -1."),
        ([Options(("a", "b")), None], "c", "p must be one of ('a', 'b') or None, got 'c'."),
        (
            [TupleOf(Interval("real", 0, 8, closed="right"), max_length=2)],
            (1.0, 2.0, 3.0),
            "p must be a tuple or list of 1 to 2 values, each in (0, 8], got (1.0, 2.0, 3.0).",
        ),
        (
            [Const("scratch"), Path("a weights file")],
            3,
            "p must be 'scratch' or a weights file, got 3.",
        ),
    ],
)
def test_messages_join_the_constraints_in_order(constraints, value, message):
    with pytest.raises(ValueError) as info:
        check_value("Est", "p", value, constraints)
    assert str(info.value) == f"Est: {message}"


def test_accepted_values():
    assert Interval("int", 1).accepts(np.int64(3)) and not Interval("int", 1).accepts(True)
    assert Interval("real", 0, closed="neither").accepts(np.float32(0.1))
    assert not Interval("real", 0, closed="neither").accepts(True)
    assert Interval("number", 0).accepts(True)  # as the detector's k always did
    check_value("Est", "lr", None, [Interval("real", 0, closed="neither"), Hidden(None)])
    with pytest.raises(TypeError):  # "any": only the comparison, as `not value > 0` reads
        Interval("any", 0, closed="neither").accepts("fast")
    scales = TupleOf(Interval("real", 0, 8, closed="right"), max_length=2)
    assert scales.accepts((1.0, 2)) and scales.accepts([0.5]) and scales.accepts((np.float32(2),))
    for wrong in ((), (1.0, 2.0, 3.0), (float("inf"),), (True,), "1,2", 2.0, (0.0,), (9.0,)):
        assert not scales.accepts(wrong)


def test_rules_run_right_after_their_parameter():
    class Est:
        a, b = 1, -1

    calls = []

    def rule(est):
        calls.append("rule")
        raise ValueError("rule after a")

    with pytest.raises(ValueError, match="rule after a"):  # before b's own check
        validate_params(
            Est(), {"a": [Interval("int", 0)], "b": [Interval("int", 0)]}, (Rule("a", rule),)
        )
    assert calls == ["rule"]


@pytest.mark.parametrize(
    "cls, params, message",
    [
        (BTSFTransformer, {"rank": 0},
         "BTSFTransformer: rank must be an integer in [1, 256], got 0."),
        (BTSFTransformer, {"lr": "fast"},
         "BTSFTransformer: lr must be finite and > 0, got 'fast'."),
        (BTSFTransformer, {"n_iters": 2, "n_epochs": 2, "normalize": "x"},
         "BTSFTransformer: set n_iters or n_epochs, not both (got n_iters=2, n_epochs=2)."),
        (BTSFTransformer, {"spectrum": "magnitude", "dropout": 2.0},
         "BTSFTransformer: dropout must be in [0, 1), got 2.0."),
        (AimTSTransformer, {"image": "photo"}, "AimTSTransformer: image must be one of "
         "('line', 'gasf', 'gadf', 'mtf', 'recurrence') or None, got 'photo'."),
        (AimTSTransformer, {"lr": None},
         "AimTSTransformer: lr must be finite and > 0, got None."),
        (AimTSClassifier, {"head_lr": 0},
         "AimTSClassifier: head_lr must be finite and > 0, got 0."),
        (RepresentationAnomalyDetector, {"contamination": 0.5},
         "RepresentationAnomalyDetector: contamination must be None or in (0, 0.5), got 0.5."),
    ],
)  # fmt: skip
def test_estimator_messages(cls, params, message):
    base = cls.get_test_params()[0] if hasattr(cls, "_training_loss") else {}
    est = _build(cls, {**base, **params})
    with pytest.raises(ValueError) as info:
        est._check_params()
    assert str(info.value) == message


def test_forecaster_refuses_other_transformers_with_a_type_error():
    from sklearn.linear_model import Ridge

    from skcontrast._series_features import COMMON_RULES

    est = RepresentationForecaster(transformer=Ridge())
    with pytest.raises(TypeError, match="transformer must be None"):
        validate_params(est, est._param_constraints, COMMON_RULES)


# -- issue 35: flags, finite rates, size bounds ---------------------------------------------
TORCH_ESTIMATORS = [BTSFTransformer, AimTSTransformer, AimTSClassifier]


def _flags(cls):
    """Every boolean parameter: a bool default, or a bool in the constraint table."""
    from skcontrast._validation import Bool

    defaults = _all_params(cls)
    declared = {
        p for p, allowed in cls._param_constraints.items()
        if any(isinstance(c, Bool) for c in allowed)
    }  # fmt: skip
    return sorted({p for p, v in defaults.items() if isinstance(v, bool)} | declared)


def _fit_small(est):
    X = np.random.default_rng(0).standard_normal((6, 1, 16))
    return est.fit(X, np.arange(6) % 2)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_boolean_parameter_is_in_the_table(cls):
    defaults = _all_params(cls)
    flags = {p for p, v in defaults.items() if isinstance(v, bool)}
    assert flags <= set(cls._param_constraints), flags - set(cls._param_constraints)


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", ["False", "no", "", 1, 0, None, [True]])
def test_boolean_parameters_refuse_strings_numbers_and_none(cls, value):
    flags = _flags(cls)
    assert {"early_stopping", "mixed_precision", "verbose"} <= set(flags)
    for flag in flags:
        if value is None and flag == "swa" and cls is BTSFTransformer:
            continue  # BTSF's swa=None: the recipe's default
        est = _build(cls, {**cls.get_test_params()[0], flag: value})
        with pytest.raises(ValueError, match=f"{flag} must be a bool \\(True or False\\)"):
            _fit_small(est)


def test_the_flags_of_each_estimator():
    assert _flags(BTSFTransformer) == sorted(
        ["channel_independent", "early_stopping", "mixed_precision", "standardize", "swa",
         "verbose"]
    )  # fmt: skip
    assert _flags(AimTSTransformer) == sorted(
        ["early_stopping", "mixed_precision", "standardize", "swa", "verbose"]
    )
    assert _flags(AimTSClassifier) == ["early_stopping", "mixed_precision", "verbose"]
    assert _flags(RepresentationForecaster) == ["lags"]
    assert _flags(RepresentationAnomalyDetector) == []


@pytest.mark.parametrize("cls", [RepresentationForecaster, RepresentationAnomalyDetector])
def test_forecaster_and_detector_flags_refuse_strings(cls):
    for flag in _flags(cls):
        with pytest.raises(ValueError, match=f"{flag} must be a bool"):
            validate_params(_build(cls, {flag: "False"}), cls._param_constraints)


def test_numpy_bools_are_bools():
    params = {**BTSFTransformer.get_test_params()[0], "standardize": np.bool_(False),
              "swa": np.True_}  # fmt: skip
    est = BTSFTransformer(**BTSFTransformer._split_options(params))
    _fit_small(est)
    assert est.is_fitted


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", [np.inf, np.nan, 1e400])
def test_rates_weights_and_temperatures_must_be_finite(cls, value):
    names = {
        BTSFTransformer: ["lr", "weight_decay", "temperature", "temporal_weight"],
        AimTSTransformer: ["lr", "weight_decay", "image_temperature", "intra_temperature",
                           "mixup_alpha", "mixup_weight", "inter_weight", "intra_weight"],
        AimTSClassifier: ["lr", "head_lr", "weight_decay"],
    }[cls]  # fmt: skip
    for name in names:
        est = _build(cls, {**cls.get_test_params()[0], name: value})
        with pytest.raises(ValueError, match=f"{name} must be finite and >=? 0, got"):
            _fit_small(est)


@pytest.mark.parametrize(
    "cls, name, bound",
    [
        (BTSFTransformer, "hidden_channels", 4096), (BTSFTransformer, "repr_dims", 4096),
        (BTSFTransformer, "rank", 256), (BTSFTransformer, "temporal_size", 1024),
        (BTSFTransformer, "spectral_size", 1024), (BTSFTransformer, "temporal_depth", 16),
        (BTSFTransformer, "spectral_depth", 16), (BTSFTransformer, "n_loops", 16),
        (AimTSTransformer, "hidden_channels", 4096), (AimTSTransformer, "repr_dims", 8192),
        (AimTSTransformer, "projection_dims", 8192), (AimTSTransformer, "image_size", 512),
        (AimTSTransformer, "image_width", 256), (AimTSTransformer, "depth", 16),
        (AimTSClassifier, "hidden_channels", 4096), (AimTSClassifier, "repr_dims", 8192),
        (AimTSClassifier, "depth", 16),
    ],
)  # fmt: skip
def test_network_sizes_have_an_upper_bound(cls, name, bound):
    """A size past the bound is refused at the start of fit, before any allocation."""
    for value in (bound + 1, 100_000, 2**62):
        est = _build(cls, {**cls.get_test_params()[0], name: value})
        with pytest.raises(ValueError, match=rf"{name} must be an integer in \[\d, {bound}\]"):
            _fit_small(est)
    est = _build(cls, {**cls.get_test_params()[0], name: bound})
    est._check_params()  # the bound itself is accepted


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_transform_timesteps_pooled_is_a_bool(value, panel):
    X, _ = panel
    est = BTSFTransformer(**BTSFTransformer.get_test_params()[0]).fit(X)
    with pytest.raises(ValueError, match=r"pooled must be a bool \(True or False\)"):
        est.transform_timesteps(X, pooled=value)
    with pytest.raises(ValueError, match=r"pooled must be a bool"):
        est.timestep_context(pooled=value)
