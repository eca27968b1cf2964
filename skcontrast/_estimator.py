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
    A context manager around the training loop (default: yields ``None``): prepares what
    the objective needs and yields it as a ``_training.FitState`` (its ``checkpointed``
    module, e.g. a weight average, is saved with the network); the hooks read it as
    ``step.fit``, so fit-time state never sits on the estimator. On exit it finishes the
    network (e.g. loads the weight average).
``_before_training(network, panels, device)``
    Runs once between the initial weights and the first step (default: nothing).
``_after_step(network, step)``
    Runs after every optimiser step (default: nothing).
``_lr_factor(step, total)``
    The learning-rate schedule, a factor of the optimiser's rate (default: constant).
``_default_n_iters(n_series)``, ``_min_shard_rows()``, ``_trains_on_single_series``
    The step budget without ``n_iters``/``n_epochs``; rows every process needs per batch in
    a process group; whether one series is enough for a step (labels, not negatives).

The transformers add the encoders used at transform (``skcontrast._base``).

Helper modules (the loop in ``_training``, checkpoints, weights files, the command line)
call the hooks above and these members, and set no private state on an estimator:

``_effective_params()``
    The constructor parameters with every option at the value in effect (one flat table:
    what a checkpoint fingerprints and a weights file stores).
``_check_params()``
    The parameter checks ``fit`` runs (a weights file's parameters are checked with them).
``_readout(network, batch)``, ``_normalizations()``
    A transformer's output row of a batch and its normalisations (a weights file's output
    width is checked with them).
``_layer_params``, ``_accepts_corpus``
    Class attributes: the parameters that count layers (bounded before a file's network
    is built) and whether ``fit`` takes a list of panels.
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np
import torch
from skbase._exceptions import NotFittedError as _SkbaseNotFittedError
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils import check_random_state

from skcontrast import _checkpoint, _distributed
from skcontrast._data import NORMALIZATIONS, check_panel, groups_by_length
from skcontrast._torch_utils import STREAM_INIT, isolated_seed, resolve_device, torch_generator
from skcontrast._training import run_training
from skcontrast._validation import Bool, Interval, Options, Rule, TupleOf, validate_params
from skcontrast.nn.initialization import seeded_init_


def _one_budget(est):
    if est.n_iters is not None and est.n_epochs is not None:
        raise ValueError(
            f"{type(est).__name__}: set n_iters or n_epochs, not both (got n_iters={est.n_iters}, "
            f"n_epochs={est.n_epochs})."
        )


def _distinct_normalizations(est):
    how = est.normalize
    if isinstance(how, (tuple, list)) and len(set(how)) != len(how):
        raise ValueError(
            f"{type(est).__name__}: normalize={how!r} repeats a normalisation; each one "
            "encodes the series once more, so list each at most once."
        )


# the training parameters every torch-trained estimator has, in the order they are checked
TRAINING_CONSTRAINTS = {
    "batch_size": [Interval("int", 1)],
    "inference_batch_size": [Interval("int", 1)],
    "n_iter_no_change": [Interval("int", 1)],
    "checkpoint_every": [Interval("int", 1)],
    # n_iters=0 or n_epochs=0: no training (the seeded or pretrained encoder as is)
    "n_iters": [Interval("int", 0), None],
    "n_epochs": [Interval("int", 0), None],
    # a tuple: training reads the first; transform concatenates the readout of each
    "normalize": [Options(NORMALIZATIONS), TupleOf(Options(NORMALIZATIONS), max_length=3)],
    "tol": [Interval("any", 0, closed="neither")],
    # finite: lr=inf or weight_decay=inf would pass here and fail at the second step
    "lr": [Interval("real", 0, math.inf, closed="neither")],
    "weight_decay": [Interval("any", 0, math.inf)],
    "max_time": [None, Interval("any", 0, closed="neither", unit="seconds")],
    # flags are bools: "False" is a truthy string
    "early_stopping": [Bool()],
    "mixed_precision": [Bool()],
    "verbose": [Bool()],
}
TRAINING_RULES = (Rule("n_epochs", _one_budget), Rule("normalize", _distinct_normalizations))
# the transformers' (BaseContrastiveTransformer) training parameters
TRANSFORMER_CONSTRAINTS = {**TRAINING_CONSTRAINTS, "standardize": [Bool()]}
# upper bounds of the sizes that build the networks: beyond them a network or a batch's
# activations do not fit in memory (hidden_channels=100000 or image_size=100000 ask for
# tens of GB), refused with the bound instead of a failed allocation. A depth of residual
# blocks of dilation 2**i pads by 2**depth steps: 16 reads 131,072 past points.
MAX_WIDTH = 4096
MAX_DEPTH = 16


def width(low=1, high=MAX_WIDTH):
    """An integer size in ``[low, high]`` (a network width or a number of positions)."""
    return [Interval("int", low, high, closed="both")]


# self-ensembling over input resolutions (BaseContrastiveTransformer._readout), bounded: a
# copy at s times the length costs s times an encoding (also checked in load_weights)
INPUT_SCALES_CONSTRAINTS = {
    "input_scales": [TupleOf(Interval("real", 0, 8, closed="right"), max_length=8)],
}

# attributes scikit-learn >= 1.9 sets on a pipeline step around its fit; sktime's
# reset() (called first thing in fit) would delete them (sktime #10725, #11173)
_SKLEARN_CALLBACK_ATTRS = ("_parent_callback_ctx", "_skl_callbacks")


# the further options every torch-trained estimator takes through ``options`` (a dict):
# training events and compute settings few fits change; name -> default. A method adds
# its own (e.g. loss weights) in ``_option_defaults`` and may change a default.
SHARED_OPTIONS = {
    "n_epochs": None,
    "weight_decay": 1e-4,
    "early_stopping": False,
    "n_iter_no_change": 20,
    "tol": 1e-3,
    "checkpoint_every": 50,
    "inference_batch_size": 256,
    "mixed_precision": True,
}


def _option_property(name):
    def read(self):
        return self._option(name)

    read.__doc__ = f"The value of the option ``{name}`` in effect (read-only; set ``options``)."
    return property(read)


def _check_options(est):
    """``options``: None or a dict whose keys are the estimator's option names."""
    options = est.options
    owner = type(est).__name__
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValueError(
            f"{owner}: options must be None or a dict of option names to values, e.g. "
            f"options={{'n_epochs': 5}}; got {options!r}."
        )
    unknown = sorted(map(repr, set(options) - set(est._option_defaults)))
    if unknown:
        raise ValueError(
            f"{owner}: unknown options {', '.join(unknown)}; valid option names: "
            f"{', '.join(est._option_defaults)} (constructor parameters are passed directly, "
            "not in options)."
        )


class NotFittedError(_SkbaseNotFittedError, _SklearnNotFittedError):
    """Raised when a method needs a fitted estimator: both sktime's and scikit-learn's error."""


class TorchTrainingMixin:
    """What every torch-trained estimator shares: training parameters, seeding, and the
    scikit-learn 1.9 glue (pipeline fix, tags). Used by the transformers and the classifier."""

    _sklearn_estimator_type = "transformer"
    # the parameter table (skcontrast._validation; not named _parameter_constraints, which
    # scikit-learn's own checks read with its own constraint objects): a method extends it
    # with its parameters, e.g. {**TRAINING_CONSTRAINTS, "rank": [Interval("int", 1)]}
    _param_constraints = TRAINING_CONSTRAINTS
    _param_rules = TRAINING_RULES
    # True where one series is enough to take a training step (labels, not negatives)
    _trains_on_single_series = False
    # the options (``options``: a dict) and their defaults; each is also a read-only
    # attribute of the same name (the value in effect), so the code reads ``self.tol``
    _option_defaults: dict = SHARED_OPTIONS

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls._option_defaults:
            if not isinstance(getattr(cls, name, None), property):
                setattr(cls, name, _option_property(name))

    def _option(self, name):
        """The value of option ``name`` in effect: ``options[name]``, else its default."""
        options = self.options if isinstance(self.options, dict) else {}
        return options.get(name, self._option_defaults[name])

    def _effective_params(self) -> dict:
        """The constructor parameters with ``options`` spread into every option's value in
        effect: what a checkpoint fingerprints and a weights file stores (one flat table,
        the same whether an option was given or left at its default)."""
        params = self.get_params(deep=False)
        params.pop("options", None)
        return {**params, **{name: self._option(name) for name in self._option_defaults}}

    def set_params(self, **params):
        """Set parameters; ``options__<name>=value`` sets one option and keeps the others
        (so a grid can search an option: ``{"rep__options__tol": [1e-3, 1e-4]}``)."""
        nested = {k[len("options__"):]: params.pop(k) for k in list(params)
                  if k.startswith("options__")}  # fmt: skip
        if nested:
            params["options"] = {**(params.get("options", self.options) or {}), **nested}
        return super().set_params(**params)

    @classmethod
    def _split_options(cls, params: dict) -> dict:
        """A flat table (``_effective_params``) as constructor parameters: option names
        gathered into ``options`` (a flat name wins over the same name in an ``options``
        it holds), those at their default left out."""
        params = dict(params)
        if not any(name in params for name in cls._option_defaults):
            return params  # no option by name: ``options`` as given (the same object)
        options = dict(params.pop("options", None) or {})
        for name, default in cls._option_defaults.items():
            if name in params:
                options[name] = params.pop(name)
            if name in options and type(options[name]) is type(default):
                if options[name] == default:
                    del options[name]
        return {**params, "options": options or None}

    # parameters added after weights files were written: name -> the value that gives the
    # behaviour of a file without it (skcontrast._persistence reads files with it)
    _params_added_later: dict = {}
    # parameters removed from the package (moved to benchmarks/variants.py): name -> the
    # value every estimator now has; a file that stores that value reads, another is refused
    _params_removed: dict = {}

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
        """Around the training loop: yields a ``_training.FitState`` (the fit-time state the
        step hooks read as ``step.fit``, and a module to checkpoint) or None."""
        yield None

    def _after_step(self, network, step):
        """After every optimiser step (e.g. update a weight average)."""

    def _lr_factor(self, step: int, total: int) -> float:
        """The learning rate of step ``step`` (0-based) of ``total``, as a fraction of the
        optimiser's own (default: constant)."""
        return 1.0

    def _default_n_iters(self, n_series: int) -> int:
        return 100

    # bf16 inference on a CPU with native bf16 when mixed_precision (measured per method)
    _bf16_cpu_inference = False

    def _inference_rows(self, shape) -> int:
        """Series per inference chunk for a panel of ``shape`` (n, C, T), shrunk by the
        largest input scale (``_scaled_rows``)."""
        return self._scaled_rows(self.inference_batch_size)

    # on a CPU, at most this many encoded time steps (over every instance the network
    # sees) per inference chunk, so that a chunk's activations stay in cache; None: only
    # inference_batch_size bounds a chunk. Measured per method (method notes).
    _cpu_chunk_steps = None

    def _instances_per_series(self, n_channels: int) -> int:
        """How many series the network encodes for one input series (channels run as
        their own series in a channel-independent encoder)."""
        return n_channels if getattr(self, "channel_independent", False) else 1

    def _chunk_rows(self, shape, device) -> int:
        """Series per inference chunk on ``device``: ``_inference_rows``, on a CPU also
        bounded by ``_cpu_chunk_steps`` time steps at the largest input scale (at least one
        series)."""
        rows = self._inference_rows(shape)
        if device.type != "cpu" or self._cpu_chunk_steps is None:
            return rows
        _, n_channels, n_timepoints = shape
        steps = self._instances_per_series(n_channels) * n_timepoints
        steps *= max(1.0, *self._input_scales())
        return max(1, min(rows, int(self._cpu_chunk_steps // max(1.0, steps))))

    def _inference_settings(self, shape, device) -> dict:
        """What batched inference (``_inference.apply_in_batches``) reads for a panel of
        ``shape`` on ``device``: rows per chunk, precision, the name for its warnings."""
        return dict(rows=self._chunk_rows(shape, device), mixed_precision=self.mixed_precision,
                    cpu_bf16=self._bf16_cpu_inference, name=type(self).__name__)  # fmt: skip

    def _input_scales(self) -> tuple:
        """The resolutions ``transform`` reads: ``input_scales``, or the series as given."""
        return tuple(getattr(self, "input_scales", (1.0,)))

    def _scaled_rows(self, rows: int) -> int:
        """``rows`` series per inference chunk, shrunk by the largest input scale: a copy at
        ``s`` times the length holds ``s`` times the activations."""
        return max(1, int(rows / max(1.0, *self._input_scales())))

    def _min_shard_rows(self) -> int:
        """Rows each process needs per batch in a process group (0: any, even none)."""
        return 0

    def _record_input_shape(self, panels):
        """``n_channels_in_``, ``n_timepoints_in_`` (None where the panels mix them) and
        scikit-learn's ``n_features_in_`` (values per sample) of the training panels."""
        channels = {p.shape[1] for p in panels}
        lengths = {p.shape[2] for p in panels}
        self.n_channels_in_ = channels.pop() if len(channels) == 1 else None
        self.n_timepoints_in_ = lengths.pop() if len(lengths) == 1 else None
        if self.n_channels_in_ is not None and self.n_timepoints_in_ is not None:
            self.n_features_in_ = self.n_channels_in_ * self.n_timepoints_in_

    def _fit_network(self, panels, targets=None):
        """Build, initialise and train the network on the (normalised) training ``panels``
        (``targets``: one label tensor per panel), seeded; sets the training history
        (``loss_history_``, ``loss_terms_``, ``n_iters_``, ``stop_reason_``) and returns the
        network in eval mode, on the training device, with that device."""
        # in a process group: cuda:LOCAL_RANK of the process
        device = _distributed.local_device(resolve_device(self.device))
        seed = self._seed()
        with isolated_seed(seed, device):
            network = self._build_network(panels[0].shape[1], panels[0].shape[2]).to(device)
            # thread-safe: initial weights from the fit's own generator (no global RNG)
            self._init_weights(network, seed)
            self._before_training(network, panels, device)
            history, self.stop_reason_ = self._train(network, panels, device, seed, targets)
        self.loss_history_, self.loss_terms_ = history.total, history.terms
        self.n_iters_ = len(self.loss_history_)
        return network.eval(), device

    def _before_training(self, network, panels, device):
        """After the initial weights, before the first step (default: nothing)."""

    def _train(self, network, panels, device, seed, targets=None):
        """Optimise the network; returns (``_training.History``, stop reason)."""
        with self._training_context(network, panels, device, seed) as fit:
            history, reason = run_training(self, network, panels, device, seed, fit, targets)
        # Ctrl-C: the fit completes the fitted state, then re-raises (_raise_if_interrupted)
        self._interruption = history.interruption
        return history, reason

    def _raise_if_interrupted(self):
        """Re-raise the ``KeyboardInterrupt`` that stopped training, once ``fit`` has made a
        usable estimator of the weights reached so far (``stop_reason_ == "interrupted"``).

        Called last in every public ``fit``: a user who presses Ctrl-C keeps the weights
        (and the checkpoint, to resume), while ``cross_val_score``, ``GridSearchCV`` or any
        other loop around ``fit`` stops instead of scoring a half-trained model.
        """
        message = self.__dict__.pop("_interruption", None)
        if message is not None:
            raise KeyboardInterrupt(message)

    def __sklearn_tags__(self):
        # sktime estimators do not define scikit-learn's tags; GridSearchCV and the API
        # checks of scikit-learn >= 1.6 read them
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags, TransformerTags

        classifier = self._sklearn_estimator_type == "classifier"
        return Tags(
            estimator_type=self._sklearn_estimator_type,
            target_tags=TargetTags(required=classifier),
            # features are float32 whatever the input's dtype (in a pd.DataFrame: sktime)
            transformer_tags=None if classifier else TransformerTags(preserves_dtype=["float32"]),
            classifier_tags=ClassifierTags() if classifier else None,
            # NaN marks a missing value (imputed by the encoders); infinities are errors
            input_tags=InputTags(two_d_array=True, three_d_array=True, allow_nan=True),
            requires_fit=True,
            non_deterministic=False,
        )

    def reset(self):
        """Reset to the post-init state, keeping scikit-learn's callback context."""
        kept = {a: self.__dict__[a] for a in _SKLEARN_CALLBACK_ATTRS if a in self.__dict__}
        super().reset()
        self.__dict__.update(kept)
        return self

    def _check_params(self):
        """Validate the parameters against the estimator's table (called at fit); options
        are checked by name, then by value in the same table."""
        _check_options(self)
        validate_params(self, self._param_constraints, self._param_rules)
        if self.checkpoint_path:  # found now, not at the first save
            _distributed.on_main(_checkpoint.check_path, self.checkpoint_path, type(self).__name__)

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
        """The fitted network on ``device``: itself on the CPU, else a copy (weights stay on
        the CPU)."""
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
