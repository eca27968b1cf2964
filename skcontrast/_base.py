"""The shared base of every contrastive transformer in skcontrast.

It holds the scikit-learn/sktime plumbing once: input conversion and validation,
normalisation, seeding, device handling, the training loop with its budget, batched
inference, output standardisation and persistence. A method subclasses it and supplies
three hooks: ``_build_network``, ``_training_loss`` and ``_encode``.
"""

from __future__ import annotations

import copy
import numbers
import time
import warnings

import numpy as np
import torch
from skbase._exceptions import NotFittedError as _SkbaseNotFittedError
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils import check_random_state
from sktime.transformations.base import BaseTransformer

from skcontrast import _checkpoint, _distributed
from skcontrast._data import (
    NORMALIZATIONS,
    as_sklearn_panel,
    check_not_one_series_with_labels,
    check_panel,
    is_one_series_frame,
    normalize_panel,
    quiet_shape_warnings,
    refuse_complex,
    single_series_message,
    warn_if_transposed,
)
from skcontrast._persistence import load_weights, save_weights
from skcontrast._timesteps import stream_timesteps, windowed_timesteps
from skcontrast._torch_utils import isolated_seed, resolve_device
from skcontrast._training import apply_in_batches, run_training

# attributes scikit-learn >= 1.9 sets on a pipeline step around its fit; sktime's
# reset() (called first thing in fit) would delete them (sktime #10725, #11173)
_SKLEARN_CALLBACK_ATTRS = ("_parent_callback_ctx", "_skl_callbacks")


class NotFittedError(_SkbaseNotFittedError, _SklearnNotFittedError):
    """Raised when a method needs a fitted estimator: both sktime's and scikit-learn's error."""


class TorchTrainingMixin:
    """What every torch-trained estimator shares: training parameters, seeding, and the
    scikit-learn 1.9 glue (pipeline fix, tags). Used by the transformers and the classifier."""

    _sklearn_estimator_type = "transformer"
    # True where lr=None means a method default (resolved by _learning_rate)
    _lr_default_allowed = False
    # True where one series is enough to take a training step (labels, not negatives)
    _trains_on_single_series = False

    def _min_shard_rows(self) -> int:
        """Rows each process needs per batch in a process group (0: any, even none)."""
        return 0

    def __sklearn_tags__(self):
        # sktime estimators do not define scikit-learn's tags; GridSearchCV and the API
        # checks of scikit-learn >= 1.6 read them
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags, TransformerTags

        classifier = self._sklearn_estimator_type == "classifier"
        return Tags(
            estimator_type=self._sklearn_estimator_type,
            target_tags=TargetTags(required=classifier),
            transformer_tags=None if classifier else TransformerTags(),
            classifier_tags=ClassifierTags() if classifier else None,
            input_tags=InputTags(two_d_array=True, three_d_array=True, allow_nan=False),
            requires_fit=True,
            non_deterministic=False,
        )

    def reset(self):
        """Reset to the post-init state, keeping scikit-learn's callback context."""
        kept = {a: self.__dict__[a] for a in _SKLEARN_CALLBACK_ATTRS if a in self.__dict__}
        super().reset()
        self.__dict__.update(kept)
        return self

    def _require_int(self, param, minimum=1, allow_none=False):
        """Raise a ValueError naming ``param`` unless it is an integer >= ``minimum``."""
        value = getattr(self, param)
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(
                f"{type(self).__name__}: {param} must be an integer >= {minimum}"
                f"{' or None' if allow_none else ''}, got {value!r}."
            )

    def _check_params(self):
        name = type(self).__name__
        for p in ("batch_size", "inference_batch_size", "n_iter_no_change", "checkpoint_every"):
            self._require_int(p)
        # n_iters=0 or n_epochs=0: no training (the seeded or pretrained encoder as is)
        self._require_int("n_iters", minimum=0, allow_none=True)
        self._require_int("n_epochs", minimum=0, allow_none=True)
        if self.n_iters is not None and self.n_epochs is not None:
            raise ValueError(
                f"{name}: set n_iters or n_epochs, not both (got n_iters={self.n_iters}, "
                f"n_epochs={self.n_epochs})."
            )
        if getattr(self, "normalize", None) not in NORMALIZATIONS:
            raise ValueError(
                f"{name}: normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}."
            )
        if not self.tol > 0:
            raise ValueError(f"{name}: tol must be > 0, got {self.tol!r}.")
        # lr=None: the method's default learning rate (where it has one)
        if not (self.lr is None and self._lr_default_allowed):
            if isinstance(self.lr, bool) or not (isinstance(self.lr, numbers.Real) and self.lr > 0):
                raise ValueError(f"{name}: lr must be > 0, got {self.lr!r}.")
        if not self.weight_decay >= 0:
            raise ValueError(f"{name}: weight_decay must be >= 0, got {self.weight_decay!r}.")
        if self.max_time is not None and not self.max_time > 0:
            raise ValueError(f"{name}: max_time must be None or > 0 seconds, got {self.max_time!r}.")
        self._check_method_params()
        if getattr(self, "checkpoint_path", None):  # found now, not at the first save
            _distributed.on_main(_checkpoint.check_path, self.checkpoint_path, name)

    def _discard_checkpoint(self):
        """Delete the checkpoint of a finished fit: it only serves to resume an unfinished one."""
        if getattr(self, "checkpoint_path", None):
            _distributed.on_main(_checkpoint.discard, self.checkpoint_path, self.stop_reason_)

    def _check_fitted_shape(self, X):
        """Same channels and length as in fit, with scikit-learn's n_features wording."""
        name = type(self).__name__
        _, n_channels, n_timepoints = X.shape
        if n_channels != self.n_channels_in_:
            raise ValueError(
                f"X has {n_channels} channel(s), but {name} was fitted on series with "
                f"{self.n_channels_in_}; pass series with the same variables as in fit."
            )
        if self.n_timepoints_in_ is not None and n_timepoints != self.n_timepoints_in_:
            n_features = n_channels * n_timepoints
            raise ValueError(
                f"X has {n_features} features, but {name} is expecting "
                f"{self.n_features_in_} features as input: series have {n_timepoints} "
                f"time points, the transformer was fitted on {self.n_timepoints_in_}. "
                "Resample, pad or truncate them to that length."
            )

    def _check_input_shape(self, X):
        """Hook: shapes a fitted estimator accepts (AimTS's encoder accepts any)."""
        self._check_fitted_shape(X)

    def _network_on(self, device):
        """The fitted network on ``device``: itself on the CPU, else a copy (weights stay on CPU)."""
        return self.network_ if device.type == "cpu" else copy.deepcopy(self.network_).to(device)

    def _rows_by_length(self, X, rows_of):
        """``rows_of(panel)`` for each equal-length group of ``X``, rows in input order.

        Each group is validated and never padded, so a row never depends on the lengths of
        the other series; a single group is returned without a copy.
        """
        groups = groups_by_length(X)
        out = None
        for index, panel in groups:
            panel = check_panel(panel, type(self).__name__)
            self._check_input_shape(panel)
            values = rows_of(panel)
            if len(groups) == 1:
                return values
            if out is None:
                out = np.empty((len(X), values.shape[1]), dtype=values.dtype)
            out[index] = values
        return out

    def check_is_fitted(self, method_name=None):
        """Raise a NotFittedError that scikit-learn and sktime both recognise."""
        try:
            return super().check_is_fitted(method_name)
        except _SkbaseNotFittedError as err:
            raise NotFittedError(str(err)) from None

    def _seed(self) -> int:
        """A seed from ``random_state``; ``None`` draws fresh OS entropy, not np.random.

        In a process group every rank uses rank 0's seed (same initial weights and batches).
        """
        if self.random_state is None:
            seed = int(np.random.default_rng().integers(np.iinfo(np.int32).max))
        else:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return _distributed.broadcast_object(seed)


class BaseContrastiveTransformer(TorchTrainingMixin, BaseTransformer):
    """Base for self-supervised transformers: series in, fixed-size features out."""

    _tags = {
        "authors": ["skcontrast developers"],
        "maintainers": ["skcontrast developers"],
        "python_dependencies": "torch",
        "scitype:transform-input": "Series",
        "scitype:transform-output": "Primitives",
        "scitype:instancewise": False,
        "scitype:transform-labels": "None",
        # numpy3D input is taken as is; other containers (unequal lengths too) arrive as a
        # list of (time, channels) frames, which sktime converts anything else to first
        "X_inner_mtype": ["df-list", "numpy3D"],
        "y_inner_mtype": "None",
        "requires_y": False,
        "fit_is_empty": False,
        "capability:multivariate": True,
        "capability:missing_values": True,
        "capability:unequal_length": True,
        "capability:categorical_in_X": False,
        "capability:random_state": True,
        "property:randomness": "derandomized",
        "capability:inverse_transform": False,
    }

    # parameters every subclass exposes, in __init__, with these names
    _training_params = (
        "normalize", "batch_size", "n_iters", "n_epochs", "max_time", "early_stopping",
        "n_iter_no_change", "tol", "lr", "weight_decay", "standardize",
        "inference_batch_size", "device", "mixed_precision", "verbose", "random_state",
    )  # fmt: skip

    # a method that can pretrain on several datasets of different shapes sets this
    _accepts_corpus = False

    # -- hooks a method implements ------------------------------------------------------
    def _build_network(self, n_channels: int, n_timepoints: int) -> torch.nn.Module:
        raise NotImplementedError

    def _training_loss(self, network, batch: torch.Tensor, step) -> torch.Tensor:
        """Loss of one batch ``(B, C, T)``; ``step`` is a ``skcontrast._training.Step``."""
        raise NotImplementedError

    def _encode(self, network, batch: torch.Tensor) -> torch.Tensor:
        """Features ``(B, ..., D)`` of a normalised batch, network in eval mode."""
        raise NotImplementedError

    def _pool(self, features: np.ndarray) -> np.ndarray:
        """Standardised ``_encode`` output ``(N, ..., D)`` to the output table ``(N, F)``."""
        return features.reshape(len(features), -1)

    def _check_method_params(self):
        """Validate the method's own parameters (called at fit)."""

    # per-timestep representations (forecasting, anomaly detection): a method returns
    # ``(B, T, D)`` step features from _encode_timesteps, and its receptive field when the
    # step encoder is causal (output at t reads x[..t] only), else None
    _default_timestep_window = 201  # TS2Vec's causal sliding inference: 200 past steps + t

    def _encode_timesteps(self, network, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no per-timestep encoder.")

    def _causal_receptive_field(self, network) -> int | None:
        return None

    def _check_channels(self, X):
        """Hook: channel counts a fitted estimator accepts for per-timestep encoding."""
        if self.n_channels_in_ is not None and X.shape[1] != self.n_channels_in_:
            raise ValueError(
                f"X has {X.shape[1]} channel(s), but {type(self).__name__} was fitted on "
                f"series with {self.n_channels_in_}; pass series with the same variables."
            )

    def _default_n_iters(self, n_series: int) -> int:
        return 100

    def _training_panels(self, panels: list[np.ndarray]) -> list[np.ndarray]:
        """Hook: the panels training samples batches from (default: as given, one per length)."""
        return panels

    def _learning_rate(self) -> float:
        """``lr``, or the method's default where ``lr=None`` means one."""
        return self.lr

    def _make_optimizer(self, network):
        return torch.optim.Adam(
            network.parameters(), lr=self._learning_rate(), weight_decay=self.weight_decay
        )

    def _train(self, network, panels, device, seed):
        """Optimise the network; returns (``_training.History``, stop reason)."""
        return run_training(self, network, panels, device, seed, self._training_loss)

    # -- scikit-learn interplay --------------------------------------------------------
    def fit(self, X, y=None):
        """Fit on a panel of series (or, where supported, a list of panels: a corpus)."""
        if _is_corpus(X):
            return self._fit_corpus(X)
        name = type(self).__name__
        check_not_one_series_with_labels(X, y, name)
        # a 2-D DataFrame read as one series gets its own warning below, not the shape one
        with quiet_shape_warnings(is_one_series_frame(X)):
            super().fit(as_sklearn_panel(X, name), y)
        if getattr(self, "stop_reason_", None) == "single_series":
            warnings.warn(single_series_message(X, name), UserWarning, stacklevel=2)
        return self

    def _fit_corpus(self, panels):
        name = type(self).__name__
        if not self._accepts_corpus:
            raise TypeError(
                f"{name} fits one panel; got a list of {len(panels)} panels. Concatenate "
                "them into one panel of equal-length series with the same channels."
            )
        self.reset()
        self._fit_panels([_to_numpy3d(p, name) for p in panels])
        self._is_fitted = True
        self._is_vectorized = False
        if self.stop_reason_ == "single_series":
            warnings.warn(single_series_message(panels, name), UserWarning, stacklevel=3)
        return self

    def transform(self, X, y=None):
        """Features of each series: a ``pd.DataFrame`` with one row per series."""
        return super().transform(as_sklearn_panel(X, type(self).__name__), y)

    def fit_transform(self, X, y=None):
        """Fit, then transform the same series."""
        if _is_corpus(X):
            raise TypeError("fit_transform takes one panel: fit on the corpus, then transform each panel.")
        check_not_one_series_with_labels(X, y, type(self).__name__)
        return super().fit_transform(as_sklearn_panel(X, type(self).__name__), y)

    # -- fit -------------------------------------------------------------------------
    def _fit(self, X, y=None):
        # unequal lengths: one panel per length, sampled like a corpus (no padding anywhere)
        return self._fit_panels([panel for _, panel in groups_by_length(X)])

    def _fit_panels(self, panels):
        """Train on a list of numpy3D panels (one, or a corpus) and set the fitted state."""
        self._check_params()
        name = type(self).__name__
        panels = [normalize_panel(check_panel(p, name), self.normalize) for p in panels]
        for p in panels:
            warn_if_transposed(p, name, stacklevel=5)
        channels = {p.shape[1] for p in panels}
        lengths = {p.shape[2] for p in panels}
        # shapes of the training data; None where the corpus mixes them
        self.n_channels_in_ = channels.pop() if len(channels) == 1 else None
        self.n_timepoints_in_ = lengths.pop() if len(lengths) == 1 else None
        # scikit-learn's notion: values per sample (T for a 2-D (n, T) input)
        if self.n_channels_in_ is not None and self.n_timepoints_in_ is not None:
            self.n_features_in_ = self.n_channels_in_ * self.n_timepoints_in_
        sizes = [len(p) for p in panels]
        device = _distributed.local_device(resolve_device(self.device))
        seed = self._seed()
        start = time.perf_counter()
        with isolated_seed(seed, device):
            network = self._build_network(panels[0].shape[1], panels[0].shape[2]).to(device)
            training = self._training_panels(panels)
            history, self.stop_reason_ = self._train(network, training, device, seed)
        self.loss_history_, self.loss_terms_ = history.total, history.terms
        if max(sizes) < 2:  # n_steps() skipped training (no negatives); fit warns
            self.stop_reason_ = "single_series"
        self.n_iters_ = len(self.loss_history_)
        network.eval()
        # standardisation statistics per feature (last axis), over all series (and channels)
        encoded = [self._encode_panel(network, p, device) for p in panels]
        features = np.concatenate([f.reshape(-1, f.shape[-1]) for f in encoded])
        # fitted weights live on the CPU: the object pickles and loads anywhere
        self.network_ = network.cpu()
        self.feature_mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        scale[scale < 1e-8] = 1.0
        self.feature_scale_ = scale
        self.fit_time_ = time.perf_counter() - start
        self._discard_checkpoint()
        return self

    # -- transform ---------------------------------------------------------------------
    def _encode_panel(self, network, X, device, prepare=None):
        """Encode a panel in batches of ``inference_batch_size`` (bounded memory)."""
        return apply_in_batches(self, lambda batch: self._encode(network, batch), X, device, prepare)

    def _transform(self, X, y=None):
        device = resolve_device(self.device)
        network = self._network_on(device)

        def rows_of(panel):
            # normalised chunk by chunk: no normalised copy of the whole panel
            features = self._encode_panel(
                network, panel, device, prepare=lambda rows: normalize_panel(rows, self.normalize)
            )
            if self.standardize:  # in place: the output table is the one O(n) allocation
                features -= self.feature_mean_
                features /= self.feature_scale_
            return self._pool(features)

        return self._rows_by_length(X, rows_of)

    # -- per-timestep representations -----------------------------------------------
    def transform_timesteps(self, X, window=None, pooled=False):
        """Causal representation of every time point: ``r_t`` reads ``x[..t]`` only.

        For forecasting and anomaly detection. A long series is encoded in chunks (memory
        bounded by the output), never by re-encoding one window per step where the method's
        step encoder is causal.

        Parameters
        ----------
        X : one series or a panel of equal-length series
            One series: a ``pd.DataFrame`` (rows = time, columns = variables), a
            ``pd.Series`` or a 1-D array. A panel: a 3-D array ``(n_series, n_channels,
            n_timepoints)``, a 2-D array ``(n_series, n_timepoints)`` or any sktime panel.
            Values are used as given (no per-series normalisation, which would read the
            future): standardise them with training statistics first.
        window : int or None, default=None
            ``None``: the method's own causal step features (BTSF: the dilated causal
            temporal encoder, one streaming pass; methods with a non-causal encoder, such as
            AimTS: the encoder's last step on the trailing window of 201 points, as in
            TS2Vec). An int: the trailing window of this many points (NaN-padded at the
            start of the series) is encoded for every step.
        pooled : bool, default=False
            Return for every step the ``transform`` row of its trailing window (``window``
            points; default: the fitted length, else 201), the method's full
            representation (e.g. BTSF's temporal-spectral fusion, and the estimator's own
            ``normalize`` applied to each window, which reads the past only), at the cost
            of one encoder pass per step.

        Returns
        -------
        ndarray of float32
            ``(n_timepoints, n_features)`` for one series, ``(n_series, n_timepoints,
            n_features)`` for a panel.
        """
        self.check_is_fitted()
        name = type(self).__name__
        panel, single = _timestep_input(X, name)
        panel = check_panel(panel, name)
        self._check_channels(panel)
        mode, span = self._timestep_mode(window, pooled)
        device = resolve_device(self.device)
        network = self._network_on(device)
        if mode == "stream":
            values = stream_timesteps(self, network, panel, device, span)
        else:
            values = windowed_timesteps(self, network, panel, device, span, pooled)
        return values[0] if single else values

    def timestep_context(self, window=None, pooled=False) -> int:
        """Past points (``t`` included) that the step representation of ``t`` reads.

        ``transform_timesteps`` of the last ``timestep_context()`` points ends with the
        same row as that of the whole series.
        """
        self.check_is_fitted()
        return self._timestep_mode(window, pooled)[1]

    def _timestep_mode(self, window, pooled):
        """("stream", receptive field) or ("window", window length), validated."""
        if pooled and window is None and self.n_timepoints_in_ is not None:
            window = self.n_timepoints_in_  # the length the full encoder was fitted on
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1
        ):
            raise ValueError(f"window must be None or an integer >= 1, got {window!r}.")
        if pooled and self.n_timepoints_in_ is not None and window != self.n_timepoints_in_:
            raise ValueError(
                f"pooled=True encodes each trailing window with the full {type(self).__name__}, "
                f"which was fitted on series of {self.n_timepoints_in_} points: use "
                f"window={self.n_timepoints_in_} (or None)."
            )
        if window is None and not pooled:
            receptive_field = self._causal_receptive_field(self.network_)
            if receptive_field is not None:
                return "stream", int(receptive_field)
        return "window", int(window or self._default_timestep_window)

    # -- persistence -------------------------------------------------------------------
    def save_weights(self, path):
        """Save the fitted state in a weights-only file (``torch.load(weights_only=True)``).

        The file holds tensors, numbers and strings only: loading it runs no code. It is
        written atomically (to a unique temporary file in the same folder, then renamed), so
        an interrupted save leaves any previous file intact. Use :meth:`load_weights` to get
        a fitted estimator back.
        """
        self.check_is_fitted()
        save_weights(self, path)

    @classmethod
    def load_weights(cls, path):
        """Return a fitted estimator from a file written by :meth:`save_weights`.

        The file is treated as untrusted: its parameters go through the estimator's own
        checks and the stored tensors must have exactly the shapes those parameters imply
        before any network is built, so a damaged or crafted file is a ``ValueError``
        (a missing file a ``FileNotFoundError``), never a large allocation.

        Parameters that describe the machine rather than the model are not read from the
        file: ``checkpoint_path``, ``device``, ``verbose``, and the file paths
        ``pretrained`` and ``image_encoder`` get the class defaults (set them with
        ``set_params`` after loading). The other parameters are the saved ones.
        """
        return load_weights(cls, path)


def groups_by_length(X):
    """``[(row indices, numpy3D panel)]``: the series of ``X`` grouped by length.

    ``X`` is numpy3D (one group) or sktime's ``df-list`` (one ``(time, channels)`` frame per
    series, unequal lengths).
    """
    if isinstance(X, np.ndarray):
        return [(np.arange(len(X)), X)]
    series = [np.asarray(frame, dtype=np.float64).T for frame in X]  # (C, T_i)
    channels = {s.shape[0] for s in series}
    if len(channels) > 1:
        raise ValueError(f"series have different channel counts {sorted(channels)}; every series needs the same variables.")
    lengths = np.array([s.shape[1] for s in series])
    return [
        (np.flatnonzero(lengths == length), np.stack([series[i] for i in np.flatnonzero(lengths == length)]))
        for length in np.unique(lengths)
    ]


def _timestep_input(X, name):
    """``(numpy3D panel, is_single_series)`` for :meth:`transform_timesteps`."""
    import pandas as pd

    refuse_complex(X, name)
    if isinstance(X, pd.Series) or (isinstance(X, np.ndarray) and X.ndim == 1):
        return np.asarray(X, dtype=np.float64).reshape(1, 1, -1), True
    if isinstance(X, pd.DataFrame) and not isinstance(X.index, pd.MultiIndex):
        return X.to_numpy(dtype=np.float64).T[np.newaxis], True
    panel = as_sklearn_panel(X, name)
    if isinstance(panel, np.ndarray):
        return panel, False
    groups = groups_by_length(_sktime_inner(panel, name))
    if len(groups) > 1:
        raise ValueError(
            f"{name}.transform_timesteps needs series of one length (got {len(groups)} "
            "lengths); pass each series on its own."
        )
    return groups[0][1], False


def _sktime_inner(X, name):
    """A sktime panel container as a numpy3D array or a df-list (unequal lengths)."""
    from sktime.datatypes import check_is_scitype, convert_to

    if not check_is_scitype(X, scitype="Panel"):
        raise TypeError(
            f"{name}: could not read X ({type(X).__name__}) as a series or a panel; pass a "
            "pd.DataFrame (time x variables), a 1-D/2-D/3-D array or an sktime panel."
        )
    return convert_to(X, to_type=["numpy3D", "df-list"])


def _is_corpus(X) -> bool:
    """A list/tuple of panels (not sktime's list-of-DataFrames, which is one panel)."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    from sktime.datatypes import check_is_scitype

    return all(
        (isinstance(p, np.ndarray) and p.ndim in (2, 3))
        or (not isinstance(p, np.ndarray) and check_is_scitype(p, scitype="Panel"))
        for p in X
    )


def _to_numpy3d(panel, name) -> np.ndarray:
    """One corpus entry as numpy3D: 2-D arrays as (n, T) univariate, sktime panels converted."""
    if isinstance(panel, np.ndarray):
        return panel[:, np.newaxis, :] if panel.ndim == 2 else panel
    from sktime.datatypes import convert_to

    try:
        return convert_to(panel, to_type="numpy3D")
    except Exception as err:
        raise ValueError(
            f"{name}: a corpus entry could not be read as a panel of equal-length series "
            f"({type(err).__name__}: {err})."
        ) from err
