"""Weights-only persistence: tensors, numbers and strings; loading runs no code.

Pickle, joblib and sktime's ``save``/``load`` also work on fitted estimators (the network
is kept on the CPU), but they run code on load. This format does not: it is read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import numpy as np
import torch

from skcontrast._checkpoint import short_error

FORMAT = "skcontrast.weights"
FORMAT_VERSION = 1

_SIMPLE = (type(None), bool, int, float, str)
# fitted attributes saved besides the network weights
_ARRAYS = ("feature_mean_", "feature_scale_", "loss_history_")
_SCALARS = ("n_channels_in_", "n_timepoints_in_", "n_features_in_", "n_iters_",
            "stop_reason_", "fit_time_")  # fmt: skip


def _simple_params(estimator):
    """Constructor parameters that survive a weights-only file.

    A ``random_state`` given as a ``RandomState`` instance, or a ``pretrained`` estimator
    object, cannot be stored; it is saved as ``None`` (it only matters for refitting, not for
    the stored weights).
    """
    params = estimator.get_params(deep=False)
    for key, value in params.items():
        if not isinstance(value, _SIMPLE):
            if key in ("random_state", "pretrained"):  # only used to start a fit
                params[key] = None
            else:
                raise TypeError(
                    f"Parameter {key}={value!r} cannot be stored in a weights-only file; "
                    "use pickle, joblib or the estimator's save() for this estimator."
                )
    return params


def save_weights(estimator, path):
    state = {a: torch.as_tensor(np.asarray(getattr(estimator, a))) for a in _ARRAYS}
    # shape attributes are None or absent after a corpus of mixed shapes
    state.update({a: getattr(estimator, a, None) for a in _SCALARS})
    from skcontrast import __version__

    blob = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skcontrast_version": __version__,
        "estimator": type(estimator).__name__,
        "params": _simple_params(estimator),
        "state": state,
        "state_dict": estimator.network_.state_dict(),
    }
    torch.save(blob, path)


def load_weights(cls, path):
    try:
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
    estimator = cls(**blob["params"])
    state = blob["state"]
    network = estimator._build_network(state["n_channels_in_"], state["n_timepoints_in_"])
    try:
        network.load_state_dict(blob["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path!s}: the stored weights do not fit the stored configuration: {err}") from err
    estimator.network_ = network.eval()
    for attr in _ARRAYS:
        value = state[attr].numpy()
        setattr(estimator, attr, value.tolist() if attr == "loss_history_" else value)
    for attr in _SCALARS:
        if state[attr] is not None or attr != "n_features_in_":
            setattr(estimator, attr, state[attr])
    # the flags sktime's fit sets
    estimator._is_fitted = True
    estimator._is_vectorized = False
    return estimator
