"""What every torch-trained estimator in skcontrast shares, and the contract a method fills.

:class:`TorchTrainingMixin` holds the training parameters' checks, seeding, the training
loop's entry point and the scikit-learn glue once. A method implements the hooks of its
training contract (each has a default where one makes sense):

``_build_network(n_channels, n_timepoints)``
    The network (also built on the ``meta`` device to check a weights file: no side effects).
``_init_weights(network, seed)``
    Initial weights from a generator of the fit's own (default: torch's schemes, seeded).
``_training_loss(network, batch, step)``
    THE training objective: a batch ``(B, C, T)`` to the loss, or to a dict of named loss
    terms whose sum is the loss (recorded in ``loss_terms_``).
``_make_optimizer(network)``
    The optimiser (default: Adam at ``_learning_rate()`` with ``weight_decay``).
``_training_context(network, panels, device, seed)``
    A context manager around the training loop (default: nothing): prepares what the
    objective needs, yields extra state to checkpoint (a module, or ``None``) and finishes
    the network after the loop (e.g. loads a weight average).
``_after_step(network, step)``
    Runs after every optimiser step (default: nothing).
``_default_n_iters(n_series)``, ``_min_shard_rows()``, ``_trains_on_single_series``
    The step budget without ``n_iters``/``n_epochs``; rows every process needs per batch in
    a process group; whether one series is enough for a step (labels, not negatives).

The transformers add the encoders used at transform (``skcontrast._base``).
"""

from __future__ import annotations

import contextlib
import copy
import numbers

import numpy as np
import torch
from skbase._exceptions import NotFittedError as _SkbaseNotFittedError
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils import check_random_state

from skcontrast import _checkpoint, _distributed
from skcontrast._data import NORMALIZATIONS, check_panel, groups_by_length
from skcontrast._torch_utils import STREAM_INIT, torch_generator
from skcontrast._training import run_training
from skcontrast.nn.initialization import seeded_init_

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

    # -- the training contract (see the module docstring) -----------------------------
    def _build_network(self, n_channels: int, n_timepoints: int | None) -> torch.nn.Module:
        raise NotImplementedError

    def _init_weights(self, network: torch.nn.Module, seed: int):
        """Initial weights from a generator of the fit's own (thread-safe seeding), not from
        torch's process-wide one that the network was built with."""
        seeded_init_(network, torch_generator(seed, "cpu", STREAM_INIT))

    def _training_loss(self, network, batch: torch.Tensor, step):
        """The loss of one batch ``(B, C, T)``, or a dict of named terms whose sum is the
        loss; ``step`` is a ``skcontrast._training.Step``."""
        raise NotImplementedError

    def _learning_rate(self) -> float:
        """``lr``, or the method's default where ``lr=None`` means one."""
        return self.lr

    def _make_optimizer(self, network):
        return torch.optim.Adam(
            network.parameters(), lr=self._learning_rate(), weight_decay=self.weight_decay
        )

    @contextlib.contextmanager
    def _training_context(self, network, panels, device, seed):
        """Around the training loop: yields the extra state to checkpoint (a module) or None."""
        yield None

    def _after_step(self, network, step):
        """After every optimiser step (e.g. update a weight average)."""

    def _default_n_iters(self, n_series: int) -> int:
        return 100

    def _min_shard_rows(self) -> int:
        """Rows each process needs per batch in a process group (0: any, even none)."""
        return 0

    def _train(self, network, panels, device, seed, targets=None):
        """Optimise the network; returns (``_training.History``, stop reason)."""
        with self._training_context(network, panels, device, seed) as extra_state:
            return run_training(self, network, panels, device, seed, extra_state, targets)

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
        if self.normalize not in NORMALIZATIONS:
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
        if self.checkpoint_path:  # found now, not at the first save
            _distributed.on_main(_checkpoint.check_path, self.checkpoint_path, name)

    def _discard_checkpoint(self):
        """Delete the checkpoint of a finished fit: it only serves to resume an unfinished one."""
        if self.checkpoint_path:
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
