"""Weights-only persistence: tensors, numbers, strings and tuples of them; loading runs no code.

Pickle, joblib and sktime's ``save``/``load`` also work on fitted estimators (the network
is kept on the CPU), but they run code on load. This format does not: it is read with
``torch.load(weights_only=True)``.

A weights file is untrusted input. Everything in it is checked before anything is built
from it: the parameters with the estimator's own checks, the stored tensors against the
shapes the parameters imply (the network is first built on the ``meta`` device, which
allocates nothing), and the fitted arrays against the network's output width. Parameters
that describe this machine rather than the model (``ENVIRONMENT``) are never read from a
file.
"""

from __future__ import annotations

import numbers
import zipfile

import numpy as np
import torch

from skcontrast._checkpoint import atomic_save, short_error
from skcontrast._version import __version__

FORMAT = "skcontrast.weights"
FORMAT_VERSION = 1

_SIMPLE = (type(None), bool, int, float, str)
# fitted attributes saved besides the network weights
_ARRAYS = ("feature_mean_", "feature_scale_", "loss_history_")
# normalize="global"'s per-channel input statistics: None otherwise (absent from older files)
_INPUT_STATISTICS = ("input_mean_", "input_scale_")
_SCALARS = ("n_channels_in_", "n_timepoints_in_", "n_features_in_", "n_iters_",
            "stop_reason_", "fit_time_")  # fmt: skip
_STOP_REASONS = ("budget", "max_time", "early_stopping", "interrupted")
# parameters about this machine, its files and its user, not the model: never saved, and
# a loaded estimator gets the class defaults (a file must not choose where a refit writes
# or which files it reads)
ENVIRONMENT = ("checkpoint_path", "device", "verbose", "pretrained", "image_encoder")
_PROBE_LENGTH = 64  # time points of the series the output width is measured on
# parameters that may be a tuple whatever their default (normalize: an ensemble)
_SEQUENCES = ("normalize",)


def _plain(value, sequence=False) -> bool:
    """A value a weights-only file holds: ``_SIMPLE`` or, with ``sequence``, a tuple of them."""
    if sequence and isinstance(value, (tuple, list)):
        return all(isinstance(v, _SIMPLE) for v in value)
    return isinstance(value, _SIMPLE)


def _stored_params(estimator):
    """Constructor parameters that survive a weights-only file (``ENVIRONMENT`` left out).

    A ``random_state`` given as a ``RandomState`` instance cannot be stored; it is saved as
    ``None`` (it only matters for refitting, not for the stored weights).
    """
    # one flat table: options by name (files of every version read alike)
    params = {k: v for k, v in estimator._effective_params().items() if k not in ENVIRONMENT}
    for key, value in params.items():
        if isinstance(value, (tuple, list)):  # e.g. input_scales; numpy scalars as Python's
            value = params[key] = tuple(v.item() if isinstance(v, np.generic) else v for v in value)
        if not _plain(value, sequence=True):
            if key == "random_state":  # only used to start a fit
                params[key] = None
            else:
                raise TypeError(
                    f"Parameter {key}={value!r} cannot be stored in a weights-only file; "
                    "use pickle, joblib or the estimator's save() for this estimator."
                )
    return params


def save_weights(estimator, path):
    """Write the fitted state of ``estimator`` to ``path``, atomically."""
    state = {a: torch.as_tensor(np.asarray(getattr(estimator, a))) for a in _ARRAYS}
    # shape attributes are None or absent after a corpus of mixed shapes
    state.update({a: getattr(estimator, a, None) for a in _SCALARS})
    for attr in _INPUT_STATISTICS:
        value = getattr(estimator, attr, None)
        state[attr] = None if value is None else torch.as_tensor(np.asarray(value))
    # the named terms of the loss (absent from files of earlier versions)
    terms = getattr(estimator, "loss_terms_", {})
    state["loss_terms_"] = {
        str(k): torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in terms.items()
    }
    blob = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skcontrast_version": __version__,
        "estimator": type(estimator).__name__,
        "params": _stored_params(estimator),
        "state": state,
        "state_dict": estimator.network_.state_dict(),
    }
    atomic_save(blob, path)


def load_weights(cls, path):
    """A fitted ``cls`` from a file written by :func:`save_weights`, checked first."""
    blob = _read(cls, path)
    params = _checked_params(cls, blob, path)
    state, state_dict = _checked_state(cls, blob, path)
    estimator = cls(**cls._split_options(params))
    _check_estimator_params(estimator, path)
    network = _build_checked(estimator, state, state_dict, path)
    _check_fitted_arrays(estimator, network, state, path)
    _check_input_statistics(estimator, state, path)
    estimator.network_ = network
    for attr in _ARRAYS:
        value = state[attr].numpy()
        setattr(estimator, attr, value.tolist() if attr == "loss_history_" else value)
    for attr in _SCALARS:
        if state[attr] is not None or attr != "n_features_in_":
            setattr(estimator, attr, state[attr])
    for attr in _INPUT_STATISTICS:
        value = state.get(attr)
        setattr(estimator, attr, None if value is None else value.numpy())
    estimator.loss_terms_ = {k: v.numpy().tolist() for k, v in state.get("loss_terms_", {}).items()}
    return estimator  # its fitted attributes set (sktime's fitted flags are the caller's)


def _read(cls, path) -> dict:
    """The file's top-level dict, after checking its container, format and estimator."""
    try:
        # torch.save writes an uncompressed zip: a compressed member (a zip bomb) or an
        # older container could make torch allocate far more than the file holds
        start = path.tell() if hasattr(path, "seek") else None  # an open file object
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            packed = [i.filename for i in infos if i.compress_type != zipfile.ZIP_STORED]
        if packed:
            raise ValueError(f"compressed members {packed[:3]}")
        if start is not None:
            path.seek(start)
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # truncated, corrupted, or a pickle that needs code to load
        raise ValueError(
            f"{path!s} is not a readable skcontrast weights file (truncated, corrupted, or "
            f"not written by save_weights): {short_error(err)}"
        ) from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path!s} is not a skcontrast weights file (written by save_weights).")
    version = blob.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path!s} uses weights format version {version}, newer than this skcontrast "
            f"understands ({FORMAT_VERSION}); upgrade skcontrast to load it."
        )
    if blob.get("estimator") != cls.__name__:
        raise ValueError(
            f"{path!s} holds a fitted {blob.get('estimator')}, not a {cls.__name__}; load it "
            f"with {blob.get('estimator')}.load_weights."
        )
    for key in ("params", "state", "state_dict"):
        if not isinstance(blob.get(key), dict):
            raise ValueError(
                f"{path!s}: the weights file has no valid {key!r} entry; it is damaged."
            )
    return blob


def _checked_params(cls, blob, path) -> dict:
    """The file's parameters (one flat table, options by name): known names, plain values
    of the default's kind."""
    defaults = cls()._effective_params()
    # a parameter added later: a file without it was written with the old behaviour
    params = {**cls._params_added_later,
              **{k: v for k, v in blob["params"].items() if k not in ENVIRONMENT}}  # fmt: skip
    # a parameter removed since: the file's value must be the one every estimator now has
    for key, kept in cls._params_removed.items():
        if key in params and key not in defaults:
            value = params.pop(key)
            if not (type(value) is type(kept) and value == kept):
                raise ValueError(
                    f"{path!s}: {key}={value!r} in the weights file; {cls.__name__} no longer "
                    f"has the parameter {key!r} (it always behaves as {key}={kept!r}). The "
                    "option lives on in the benchmarks (benchmarks/variants.py)."
                )
    unknown = sorted(map(str, set(params) - set(defaults)))
    if unknown:
        raise ValueError(
            f"{path!s}: unknown {cls.__name__} parameters {unknown} in the weights file; it was "
            "written by another skcontrast version or is damaged."
        )
    for key, value in params.items():
        wrong = not _plain(value, sequence=isinstance(defaults[key], tuple) or key in _SEQUENCES)
        if isinstance(defaults[key], bool):  # a flag: "yes" would read as True
            wrong = wrong or not isinstance(value, bool)
        if key == "random_state" and not wrong:
            wrong = value is not None and (type(value) is not int or not 0 <= value < 2**32)
        if wrong:
            raise ValueError(f"{path!s}: invalid value {key}={value!r} in the weights file.")
    return params


def _check_estimator_params(estimator, path):
    """The estimator's own parameter checks, as a ValueError naming the file."""
    try:
        estimator._check_params()
    except (ValueError, TypeError) as err:  # TypeError: e.g. a str where a number belongs
        raise ValueError(f"{path!s}: invalid parameters in the weights file: {err}") from err


def _is_count(value, minimum=1):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


def _checked_state(cls, blob, path):
    """The fitted attributes and the state dict, checked for kind and stored size."""
    state, state_dict = blob["state"], blob["state_dict"]
    missing = [a for a in (*_ARRAYS, *_SCALARS) if a not in state]
    if missing:
        raise ValueError(
            f"{path!s}: the weights file lacks the fitted attributes {missing}; it is damaged."
        )

    def bad(what):
        return ValueError(f"{path!s}: invalid {what} in the weights file; it is damaged.")

    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise bad("network weights (not a mapping of names to tensors)")
    if not all(isinstance(state[a], torch.Tensor) and state[a].ndim == 1 for a in _ARRAYS):
        raise bad(f"fitted arrays {list(_ARRAYS)} (not 1-D tensors)")
    for attr in ("n_channels_in_", "n_timepoints_in_", "n_features_in_"):
        # None where a corpus mixes shapes (AimTS); a one-panel estimator has a channel count
        may_be_none = attr != "n_channels_in_" or cls._accepts_corpus
        if not (_is_count(state[attr]) or (state[attr] is None and may_be_none)):
            raise bad(f"{attr}={state[attr]!r}")
    C, T, F = state["n_channels_in_"], state["n_timepoints_in_"], state["n_features_in_"]
    if F is not None and (C is None or T is None or F != C * T):
        raise bad(f"n_features_in_={F!r} (n_channels_in_={C!r}, n_timepoints_in_={T!r})")
    if not _is_count(state["n_iters_"], 0) or len(state["loss_history_"]) != state["n_iters_"]:
        steps = len(state["loss_history_"])
        raise bad(f"n_iters_={state['n_iters_']!r} (the loss history has {steps} steps)")
    if state["stop_reason_"] not in _STOP_REASONS:
        raise bad(f"stop_reason_={state['stop_reason_']!r}")
    fit_time = state["fit_time_"]
    is_real = isinstance(fit_time, numbers.Real) and not isinstance(fit_time, bool)
    if not (is_real and 0 <= fit_time < float("inf")):
        raise bad(f"fit_time_={fit_time!r}")
    terms = state.get("loss_terms_", {})  # absent from files of earlier versions
    if not (
        isinstance(terms, dict)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in terms.items())
    ):
        raise bad("loss_terms_ (not a mapping of names to tensors)")
    statistics = [state.get(a) for a in _INPUT_STATISTICS]  # None or tensors (checked later)
    statistics = [v for v in statistics if isinstance(v, torch.Tensor)]
    arrays = [*(state[a] for a in _ARRAYS), *statistics]
    _check_stored_size([*state_dict.values(), *arrays, *terms.values()], path)
    steps = state["n_iters_"]
    if not all(v.ndim == 1 and v.is_floating_point() and len(v) == steps for v in terms.values()):
        raise bad(f"loss_terms_ (not 1-D float tensors of n_iters_={steps} steps)")
    return state, state_dict


def _check_stored_size(tensors, path):
    """Refuse tensors whose shapes claim more values than the file holds.

    A tensor in a file can be a broadcast view (stride 0) of a few stored bytes: loading
    the weights into the network, or listing the loss history, would materialise it.
    """
    claimed = sum(t.numel() * t.element_size() for t in tensors)
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    stored = sum(storages.values())
    if claimed > stored:
        raise ValueError(
            f"{path!s}: the tensors in the weights file claim {claimed} bytes but hold {stored}; "
            "the file is damaged or crafted."
        )


def _build_checked(estimator, state, state_dict, path):
    """The network, built on the CPU only once the stored weights are known to fit it."""
    name = type(estimator).__name__
    limit = max(len(state_dict), 16)
    # parameters that set a number of layers, each holding at least one stored tensor:
    # bounded before anything (even a meta network, whose cost grows with the layer count)
    for param in type(estimator)._layer_params:
        value = getattr(estimator, param)
        if value is not None and value > limit:
            raise ValueError(
                f"{path!s}: {param}={value} in the weights file, but the file stores only "
                f"{len(state_dict)} weight tensors; it is damaged or crafted."
            )
    with torch.device("meta"):  # shapes only: allocates nothing, whatever the parameters
        network = estimator._build_network(state["n_channels_in_"], state["n_timepoints_in_"])
    expected = network.state_dict()
    differ = [
        f"{k}: {_describe(expected.get(k))} expected, {_describe(state_dict.get(k))} stored"
        for k in sorted(set(expected) | set(state_dict), key=str)
        if _describe(expected.get(k)) != _describe(state_dict.get(k))
    ]
    if differ:
        raise ValueError(
            f"{path!s}: the stored weights do not fit the stored {name} configuration "
            f"({len(differ)} tensors differ, e.g. {'; '.join(differ[:3])}); the file is damaged "
            "or was edited."
        )
    network = network.to_empty(device="cpu")  # the size of the stored weights, now checked
    network.load_state_dict(state_dict)
    return network.eval()


def _describe(tensor):
    if tensor is None:
        return "absent"
    return f"{str(tensor.dtype).replace('torch.', '')}{list(tensor.shape)}"


def _check_fitted_arrays(estimator, network, state, path):
    """The output standardisation must match the network's output width (and be finite).

    The width is measured on one short series of zeros. An estimator that fits corpora
    (AimTS) encodes each channel alike, so one channel gives its width; for the others the
    channel count shows in the stored network (input weights) or in the width (BTSF's
    channel-independent features), so a count beyond both is a crafted file.
    """
    mean, scale = state["feature_mean_"], state["feature_scale_"]
    C = 1 if type(estimator)._accepts_corpus else state["n_channels_in_"]
    stored = sum(t.numel() for t in network.state_dict().values())
    if C > max(stored, len(mean)):
        raise ValueError(
            f"{path!s}: n_channels_in_={C} in the weights file is more than the stored network "
            "and features can hold; the file is damaged or crafted."
        )
    T = min(state["n_timepoints_in_"] or _PROBE_LENGTH, _PROBE_LENGTH)
    with torch.inference_mode():
        # one readout per normalisation, concatenated
        width = estimator._readout(network, torch.zeros(1, C, T)).shape[-1]
    width *= len(estimator._normalizations())
    if len(mean) != width or len(scale) != width:
        raise ValueError(
            f"{path!s}: feature_mean_ and feature_scale_ have {len(mean)} and {len(scale)} "
            f"values, but the stored network outputs {width} features; the file is damaged."
        )
    if not (mean.is_floating_point() and scale.is_floating_point()):
        raise ValueError(f"{path!s}: feature_mean_ and feature_scale_ must be floating point.")
    if not (torch.isfinite(mean).all() and torch.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError(
            f"{path!s}: feature_mean_ or feature_scale_ holds non-finite or non-positive values."
        )


def _check_input_statistics(estimator, state, path):
    """normalize="global" needs finite per-channel statistics (positive scales), one per
    fitted channel; other settings store none."""
    values = [state.get(a) for a in _INPUT_STATISTICS]
    if "global" not in estimator._normalizations():
        if any(v is not None for v in values):
            raise ValueError(
                f"{path!s}: input statistics stored for normalize={estimator.normalize!r}; "
                "the file is damaged."
            )
        return
    C = state["n_channels_in_"]
    ok = C is not None and all(
        isinstance(v, torch.Tensor) and v.ndim == 1 and v.is_floating_point() and len(v) == C
        and torch.isfinite(v).all()
        for v in values
    )  # fmt: skip
    if not ok or not (values[1] > 0).all():
        raise ValueError(
            f"{path!s}: normalize='global' needs input_mean_ and input_scale_ of "
            f"n_channels_in_={C!r} finite values (positive scales); the file is damaged."
        )
