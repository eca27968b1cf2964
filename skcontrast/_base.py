"""The shared base of every contrastive transformer in skcontrast.

It holds the sktime/scikit-learn plumbing of a transformer once: input conversion and
validation, normalisation, the fit (shapes, seeding, device, the training loop of
``skcontrast._training``), batched inference, output standardisation, per-timestep
representations and persistence. A method subclasses it and implements the training
contract of ``skcontrast._estimator.TorchTrainingMixin`` (at least ``_build_network`` and
``_training_loss``) and the encoders used at transform: ``_encode`` (and, for per-timestep
representations, ``_encode_timesteps``). Self-ensembling over input resolutions
(``input_scales``, where a method exposes it) is the base's: ``_readout`` concatenates
``_encode`` of each resampled copy.
"""

from __future__ import annotations

import contextvars
import numbers
import time
import warnings

import numpy as np
import torch
from sktime.transformations.base import BaseTransformer

from skcontrast._data import (
    as_sklearn_panel,
    check_not_one_series_with_labels,
    check_panel,
    global_statistics,
    groups_by_length,
    is_constant,
    is_corpus,
    is_one_series_frame,
    normalize_panel,
    quiet_shape_warnings,
    single_series_message,
    timestep_input,
    to_numpy3d,
    warn_if_transposed,
)
from skcontrast._estimator import NotFittedError, TorchTrainingMixin
from skcontrast._inference import apply_in_batches
from skcontrast._persistence import load_weights, save_weights
from skcontrast._timesteps import stream_timesteps, windowed_timesteps, writable_copy
from skcontrast._torch_utils import resolve_device
from skcontrast.nn.series import fill_missing, resample

__all__ = ["BaseContrastiveTransformer", "NotFittedError"]

# (id of the estimator, its training features) during a fit_transform call: fit encodes
# the series, the transform of the same call reuses them (no state on the estimator)
_FIT_TRANSFORM_FEATURES: contextvars.ContextVar = contextvars.ContextVar(
    "fit_transform_features", default=(None, None)
)


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

    # parameters every subclass exposes, in __init__, with these names (and ``options``,
    # whose shared names are _estimator.SHARED_OPTIONS)
    _training_params = (
        "normalize", "batch_size", "n_iters", "max_time", "lr", "checkpoint_path",
        "standardize", "device", "verbose", "random_state", "options",
    )  # fmt: skip

    # a method that can pretrain on several datasets of different shapes sets this
    _accepts_corpus = False

    def _fit_transform_features(self):
        """The list that collects the training series' features for the transform of the
        same ``fit_transform`` call (None outside one: nothing kept)."""
        owner, features = _FIT_TRANSFORM_FEATURES.get()
        return features if owner == id(self) else None

    # parameters that set a number of layers (bounded when a weights file is read)
    _layer_params: tuple[str, ...] = ()

    # -- the encoders used at transform (the training contract is TorchTrainingMixin's) --
    def _encode(self, network, batch: torch.Tensor) -> torch.Tensor:
        """Features ``(B, ..., D)`` of a normalised batch, network in eval mode."""
        raise NotImplementedError

    def _readout(self, network, batch: torch.Tensor) -> torch.Tensor:
        """``_encode`` of the batch resampled to each of ``input_scales`` times its length,
        concatenated along the last axis (Mantis's self-ensembling; ``(1.0,)``: ``_encode``).

        Resampling needs complete series: the copies at another length read missing
        values linearly interpolated; the copy at scale 1 is the batch as given.
        """
        scales = self._input_scales()
        if all(s == 1 for s in scales):
            return self._encode(network, batch)
        filled = fill_missing(batch)
        copies = [batch if s == 1 else resample(filled, s) for s in scales]
        return torch.cat([self._encode(network, c) for c in copies], dim=-1)

    def _pool(self, features: np.ndarray) -> np.ndarray:
        """Standardised ``_encode`` output ``(N, ..., D)`` to the output table ``(N, F)``."""
        return features.reshape(len(features), -1)

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

    def _training_panels(self, panels: list[np.ndarray]) -> list[np.ndarray]:
        """Hook: the panels training samples batches from (default: as given, one per length)."""
        return panels

    # -- scikit-learn interplay --------------------------------------------------------
    def fit(self, X, y=None):
        """Fit on a panel of series (or, where supported, a list of panels: a corpus)."""
        if is_corpus(X):
            return self._fit_corpus(X)
        name = type(self).__name__
        check_not_one_series_with_labels(X, y, name)
        # a 2-D DataFrame read as one series gets its own warning below, not the shape one
        with quiet_shape_warnings(is_one_series_frame(X)):
            super().fit(as_sklearn_panel(X, name), y)
        if getattr(self, "stop_reason_", None) == "single_series":
            warnings.warn(single_series_message(X, name), UserWarning, stacklevel=2)
        self._raise_if_interrupted()
        return self

    def _fit_corpus(self, panels):
        name = type(self).__name__
        if not self._accepts_corpus:
            raise TypeError(
                f"{name} fits one panel; got a list of {len(panels)} panels. Concatenate "
                "them into one panel of equal-length series with the same channels."
            )
        self.reset()
        self._fit_panels([to_numpy3d(p, name) for p in panels])
        self._is_fitted = True
        self._is_vectorized = False
        if self.stop_reason_ == "single_series":
            warnings.warn(single_series_message(panels, name), UserWarning, stacklevel=3)
        self._raise_if_interrupted()
        return self

    def transform(self, X, y=None):
        """Features of each series: a ``pd.DataFrame`` with one row per series."""
        return super().transform(as_sklearn_panel(X, type(self).__name__), y)

    def fit_transform(self, X, y=None):
        """Fit, then transform the same series."""
        if is_corpus(X):
            raise TypeError(
                "fit_transform takes one panel: fit on the corpus, then transform each panel."
            )
        check_not_one_series_with_labels(X, y, type(self).__name__)
        # fit encodes the series for its standardisation statistics: the transform of the
        # same series reuses those features instead of a second pass (half the time of a
        # frozen encoder's fit_transform). They pass through a context variable of this
        # call, keyed by the estimator, never through an attribute of it.
        token = _FIT_TRANSFORM_FEATURES.set((id(self), []))
        try:
            return super().fit_transform(as_sklearn_panel(X, type(self).__name__), y)
        finally:
            _FIT_TRANSFORM_FEATURES.reset(token)

    # -- fit -------------------------------------------------------------------------
    def _fit(self, X, y=None):
        # unequal lengths: one panel per length, sampled like a corpus (no padding anywhere)
        return self._fit_panels([panel for _, panel in groups_by_length(X)])

    def _fit_panels(self, panels):
        """Train on a list of numpy3D panels (one, or a corpus) and set the fitted state."""
        self._check_params()
        name = type(self).__name__
        panels = [check_panel(p, name) for p in panels]
        for p in panels:
            warn_if_transposed(p, name, stacklevel=5)
        # normalize="global": per-channel statistics of the training data, kept for transform
        self.input_mean_, self.input_scale_ = (
            global_statistics(panels, name) if "global" in self._normalizations() else (None, None)
        )
        # shapes of the training data; None where the corpus mixes them
        self._record_input_shape(panels)
        sizes = [len(p) for p in panels]
        start = time.perf_counter()
        # training reads the first normalisation (the others are readouts only)
        network, device = self._fit_network(
            self._training_panels([self._normalize(p) for p in panels])
        )
        if max(sizes) < 2:  # n_steps() skipped training (no negatives); fit warns
            self.stop_reason_ = "single_series"
        # standardisation statistics per feature (last axis), over all series (and channels)
        encoded = [self._features(network, p, device) for p in panels]
        features = np.concatenate([f.reshape(-1, f.shape[-1]) for f in encoded])
        reused = self._fit_transform_features()
        if reused is not None:  # inside fit_transform: kept for its transform
            reused.extend(encoded)
        # fitted weights live on the CPU: the object pickles and loads anywhere
        self.network_ = network.cpu()
        self.feature_mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        # a feature constant up to rounding (relative to its magnitude, as the inputs'
        # test) keeps its scale: standardising would blow float32 rounding up to unit size
        scale[is_constant(scale, np.abs(features).max(axis=0))] = 1.0
        self.feature_scale_ = scale
        self.fit_time_ = time.perf_counter() - start
        self._discard_checkpoint()
        return self

    # -- transform ---------------------------------------------------------------------
    def _normalizations(self) -> tuple:
        """``normalize`` as a tuple: training reads the first, ``transform`` concatenates
        the readout of the series normalised by each."""
        how = self.normalize
        return tuple(how) if isinstance(how, (tuple, list)) else (how,)

    def _normalize(self, X: np.ndarray, how="first") -> np.ndarray:
        """A panel (or a chunk of one) normalised by ``how`` (default: the first of
        ``normalize``), with the fitted statistics for ``"global"``."""
        how = self._normalizations()[0] if how == "first" else how
        statistics = getattr(self, "input_mean_", None), getattr(self, "input_scale_", None)
        return normalize_panel(X, how, statistics)

    def _features(self, network, X, device, copy=False) -> np.ndarray:
        """The readout ``(N, ..., D)`` of a raw panel: one per normalisation, concatenated
        along the last axis; each chunk is normalised on its own (no normalised copy of
        the panel); ``copy``: on a writable copy of each chunk (``X`` a read-only view)."""
        take = writable_copy if copy else (lambda rows: rows)
        parts = [
            self._encode_panel(
                network, X, device, prepare=lambda rows, h=how: self._normalize(take(rows), h)
            )
            for how in self._normalizations()
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)

    def _encode_panel(self, network, X, device, prepare=None):
        """Encode a panel in batches of ``inference_batch_size`` (bounded memory)."""
        return apply_in_batches(
            lambda batch: self._readout(network, batch), X, device, prepare=prepare,
            **self._inference_settings(X.shape, device),
        )  # fmt: skip

    def _transform(self, X, y=None):
        device = resolve_device(self.device)
        network = self._network_on(device)

        def rows_of(panel):
            reused = self._fit_transform_features()
            if reused:  # fit_transform: fit encoded these series, group by group, in order
                features = reused.pop(0)
            else:  # normalised chunk by chunk: no normalised copy of the whole panel
                features = self._features(network, panel, device)
            return self._output_rows(features)

        return self._rows_by_length(X, rows_of)

    def _output_rows(self, features: np.ndarray) -> np.ndarray:
        """The output table of fresh readout ``features``: standardised with the training
        statistics (in place: the output table is the one O(n) allocation), pooled."""
        if self.standardize:
            features -= self.feature_mean_
            features /= self.feature_scale_
        return self._pool(features)

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
        panel, single = timestep_input(X, name)
        panel = check_panel(panel, name)
        self._check_channels(panel)
        mode, span = self._timestep_mode(window, pooled)
        device = resolve_device(self.device)
        network = self._network_on(device)
        if mode == "stream":
            values = stream_timesteps(
                lambda part: self._step_features(network, part, device), panel, span
            )
        elif pooled:  # transform() rows of each window, its own normalisation(s) included
            values = windowed_timesteps(
                lambda windows: self._window_rows(network, windows, device), panel, span
            )
        else:  # the encoder's last step on each trailing window
            values = windowed_timesteps(
                lambda windows: self._step_features(network, windows, device, last=True),
                panel,
                span,
            )
        return values[0] if single else values

    def _step_features(self, network, X, device, last=False) -> np.ndarray:
        """Step features ``(N, T, D)`` of a chunk (``last``: the last step's, ``(N, D)``),
        on a copy with the fitted statistics of ``normalize="global"`` (first) applied: a
        per-series z-score would read the future."""
        if self._normalizations()[0] == "global":
            prepare = lambda rows: self._normalize(writable_copy(rows))  # noqa: E731
        else:
            prepare = writable_copy
        if last:
            encode = lambda b: self._encode_timesteps(network, b)[:, -1]  # noqa: E731
        else:
            encode = lambda b: self._encode_timesteps(network, b)  # noqa: E731
        return apply_in_batches(
            encode, X, device, prepare=prepare, **self._inference_settings(X.shape, device)
        )

    def _window_rows(self, network, windows, device) -> np.ndarray:
        """The ``transform`` rows ``(T, D)`` of a series' trailing windows."""
        return self._output_rows(self._features(network, windows, device, copy=True))

    def timestep_context(self, window=None, pooled=False) -> int:
        """Past points (``t`` included) that the step representation of ``t`` reads.

        ``transform_timesteps`` of the last ``timestep_context()`` points ends with the
        same row as that of the whole series.
        """
        self.check_is_fitted()
        return self._timestep_mode(window, pooled)[1]

    def _timestep_mode(self, window, pooled):
        """("stream", receptive field) or ("window", window length), validated."""
        if not isinstance(pooled, (bool, np.bool_)):  # "False" would read as True
            raise ValueError(f"pooled must be a bool (True or False), got {pooled!r}.")
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

        The file holds tensors, numbers, strings and tuples of them only: loading it runs no
        code. It is written atomically (to a unique temporary file in the same folder, then
        renamed), so an interrupted save leaves any previous file intact. Use
        :meth:`load_weights` to get a fitted estimator back.
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
        estimator = load_weights(cls, path)
        # the flags sktime's fit sets
        estimator._is_fitted = True
        estimator._is_vectorized = False
        return estimator
