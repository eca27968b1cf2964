"""Classifiers that fine-tune a (pretrained) contrastive encoder end to end."""

from __future__ import annotations

import math

import numpy as np
import torch
from sktime.classification.base import BaseClassifier
from torch.nn import functional as F

from skcontrast._data import (
    as_sklearn_panel,
    check_panel,
    groups_by_length,
    normalize_panel,
    warn_if_transposed,
)
from skcontrast._estimator import (
    MAX_DEPTH,
    MAX_WIDTH,
    SHARED_OPTIONS,
    TRAINING_CONSTRAINTS,
    TorchTrainingMixin,
    width,
)
from skcontrast._inference import apply_in_batches
from skcontrast._torch_utils import resolve_device
from skcontrast._validation import Interval, Options
from skcontrast.aimts import (
    ChannelIndependentEncoding,
    check_architecture,
    resolve_pretrained,
)
from skcontrast.nn.aimts import FineTuneNetwork

__all__ = ["AimTSClassifier"]


class AimTSClassifier(ChannelIndependentEncoding, TorchTrainingMixin, BaseClassifier):
    """Fine-tune an AimTS encoder with a classification head, end to end.

    This is how the AimTS paper reaches its accuracy: pretrain the encoder once
    (``AimTSTransformer``, possibly on a corpus of other datasets), then fine-tune encoder
    and a linear head on the labelled series with cross-entropy. Without ``pretrained`` the
    encoder starts from scratch (a supervised dilated-convolution network). The head reads
    the per-channel max-pooled embeddings, concatenated (the paper's downstream choice).

    Parameters
    ----------
    pretrained : AimTSTransformer, path, name or None, default=None
        A fitted ``AimTSTransformer``, a file written by its ``save_weights``, or the name of
        an encoder shipped with the package (``"base"``, see
        ``skcontrast.pretrained.available()``); its series encoder initialises this one
        (architecture parameters must match).
    hidden_channels, repr_dims, depth : int, default=64, 512, 10
        Encoder architecture (as ``AimTSTransformer``).
    normalize : {"zscore", None}, default="zscore"
    batch_size : int, default=16
    n_iters : int or None, default=None
        Fine-tuning steps; ``None`` (without the option ``n_epochs``) means 100.
    max_time, checkpoint_path, device, verbose, random_state
        As in the transformers.
    lr : float, default=1e-4
        AdamW learning rate of the encoder (small: it is pretrained).
    head_lr : float, default=1e-3
        AdamW learning rate of the (fresh) linear head.
    options : dict or None, default=None
        The options every estimator takes (user guide, "Options"), with
        ``weight_decay=0.01`` (AdamW's) by default.

    Attributes
    ----------
    network_ : torch.nn.Module
        Fine-tuned encoder and head, on the CPU.
    classes_ : ndarray
        Class labels, in the order of ``predict_proba``'s columns.
    loss_history_, n_iters_, stop_reason_
        Training record: loss per step, steps done, and why training stopped
        (``"budget"``, ``"max_time"``, ``"early_stopping"`` or ``"interrupted"``; never
        ``"single_series"``, the transformers' value for a fit without training: with
        labels one series is enough to take a step).
    loss_terms_ : dict of str to list of float
        The loss at each step by term: ``{"cross_entropy": ...}``.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from skcontrast import AimTSClassifier
    >>> X, y = load_unit_test(return_X_y=True, return_type="numpy3D")
    >>> clf = AimTSClassifier(hidden_channels=8, repr_dims=16, depth=2, n_iters=5,
    ...                       random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _tags = {
        "authors": ["skcontrast developers"],
        "maintainers": ["skcontrast developers"],
        "python_dependencies": "torch",
        # numpy3D as is; other containers (unequal lengths too) as a list of frames
        "X_inner_mtype": ["df-list", "numpy3D"],
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:missing_values": True,
        "capability:predict_proba": True,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }
    # fine-tuning has labels, not negatives: one series is enough to take a step
    _trains_on_single_series = True
    # the training parameters, then the classifier's, in the order they are checked
    _param_constraints = {
        **TRAINING_CONSTRAINTS,
        # per-series normalisation only: the classifier keeps no fitted input statistics
        "normalize": [Options(("zscore", None))],
        "hidden_channels": width(),
        "repr_dims": width(high=2 * MAX_WIDTH),
        "head_lr": [Interval("any", 0, math.inf, closed="neither")],
        "depth": width(0, MAX_DEPTH),
    }
    _sklearn_estimator_type = "classifier"
    _option_defaults = {**SHARED_OPTIONS, "weight_decay": 0.01}

    def __init__(
        self,
        pretrained=None,
        hidden_channels=64,
        repr_dims=512,
        depth=10,
        normalize="zscore",
        batch_size=16,
        n_iters=None,
        max_time=None,
        lr=1e-4,
        head_lr=1e-3,
        checkpoint_path=None,
        device="auto",
        verbose=False,
        random_state=None,
        options=None,
    ):
        self.pretrained = pretrained
        self.hidden_channels = hidden_channels
        self.repr_dims = repr_dims
        self.depth = depth
        self.normalize = normalize
        self.batch_size = batch_size
        self.n_iters = n_iters
        self.max_time = max_time
        self.lr = lr
        self.head_lr = head_lr
        self.checkpoint_path = checkpoint_path
        self.device = device
        self.verbose = verbose
        self.random_state = random_state
        self.options = options
        super().__init__()
        # sktime's BaseClassifier.__init__ sets these; scikit-learn expects fitted
        # attributes to exist only after fit (they are set again there)
        for attr in ("classes_", "n_classes_", "fit_time_"):
            self.__dict__.pop(attr, None)

    def _build_network(self, n_channels, n_timepoints):
        return FineTuneNetwork(
            n_channels, len(self.classes_), self.hidden_channels, self.repr_dims, self.depth
        )

    def _training_loss(self, network, batch, step):
        labels = step.targets.to(batch.device)
        return {"cross_entropy": F.cross_entropy(network(batch).float(), labels)}

    def _make_optimizer(self, network):
        # the fresh head learns faster than the (pretrained) encoder it sits on
        return torch.optim.AdamW(
            [
                {"params": network.series_encoder.parameters(), "lr": self.lr},
                {"params": network.head.parameters(), "lr": self.head_lr},
            ],
            weight_decay=self.weight_decay,
        )

    # -- input checks before sktime's conversion ------------------------------------
    def fit(self, X, y):
        """Fine-tune on labelled series: ``X`` as the transformers take it, ``y`` class labels."""
        name = type(self).__name__
        y = as_label_vector(y, name)
        check_classification_labels(y, name)
        super().fit(_panel(X, name), y)
        self._raise_if_interrupted()
        return self

    def predict(self, X):
        """Class label of each series."""
        return super().predict(_panel(X, type(self).__name__))

    def predict_proba(self, X):
        """Class probabilities of each series, columns in the order of ``classes_``."""
        return super().predict_proba(_panel(X, type(self).__name__))

    def _before_training(self, network, panels, device):
        """The head's input scaling, from the initial encoder's features of the panels."""
        rows = min(self._chunk_rows(p.shape, device) for p in panels)
        network.fit_feature_scaling(panels, rows, device)

    def _init_weights(self, network, seed):
        """Seeded initial weights, then the pretrained series encoder (architecture checked)."""
        super()._init_weights(network, seed)
        if self.pretrained is not None:
            source = resolve_pretrained(self)
            check_architecture(self, source, ("hidden_channels", "repr_dims", "depth"))
            network.series_encoder.load_state_dict(source.network_.series_encoder.state_dict())

    def _fit(self, X, y):
        self._check_params()
        name = type(self).__name__
        # one panel per series length (no padding); labels follow their series
        groups = groups_by_length(X)
        panels = [normalize_panel(check_panel(p, name), self.normalize) for _, p in groups]
        for p in panels:
            warn_if_transposed(p, name, stacklevel=4)
        all_labels = np.searchsorted(self.classes_, y)
        targets = [torch.from_numpy(all_labels[index]).long() for index, _ in groups]
        self._record_input_shape(panels)
        # in a process group every rank fine-tunes on the whole batch (correct, identical
        # on every rank, but not faster: only pretraining is sharded)
        network, _ = self._fit_network(panels, targets)
        self.network_ = network.cpu()
        self._discard_checkpoint()
        return self

    def _predict_proba(self, X):
        device = resolve_device(self.device)
        network = self._network_on(device)

        def proba(panel):  # the head reads each fitted channel: shapes checked per group
            return apply_in_batches(
                lambda batch: torch.softmax(network(batch).float(), dim=-1), panel, device,
                prepare=lambda rows: normalize_panel(rows, self.normalize),
                **self._inference_settings(panel.shape, device),
            ).astype(np.float64)  # fmt: skip

        return self._rows_by_length(X, proba)

    def _predict(self, X):
        return self.classes_[self._predict_proba(X).argmax(axis=1)]

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's and the package's own tests."""
        tiny = dict(hidden_channels=4, repr_dims=4, depth=1, batch_size=4, n_iters=2,
                    lr=1e-3, head_lr=1e-2, device="cpu", random_state=0)  # fmt: skip
        # the third learns scikit-learn's easy problems (check_classifiers_train: blobs of
        # 2 features, i.e. series of 2 points, whose per-series z-score keeps only their order)
        learns = {**tiny, "normalize": None, "batch_size": 16, "n_iters": 30, "lr": 1e-2,
                  "head_lr": 5e-2}  # fmt: skip
        return [tiny, {**tiny, "normalize": None, "n_iters": 3}, learns]


def _panel(X, name):
    """``X`` read as the transformers read it, and a plain numeric 2-D DataFrame as its
    values: one row per series, as scikit-learn and sktime's classifiers ("pd-wide") read
    it (sktime's check refuses integer columns)."""
    import pandas as pd

    if (
        isinstance(X, pd.DataFrame)
        and not isinstance(X.index, pd.MultiIndex)
        and X.shape[1] > 0
        and all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
    ):
        X = X.to_numpy()
    return as_sklearn_panel(X, name)


def as_label_vector(y, name):
    """``y`` as scikit-learn's classifiers read it, before sktime's checks.

    ``None`` is refused with scikit-learn's wording; lists and other array-likes become
    arrays (sktime takes neither); a column-vector array ``(n, 1)`` becomes 1-D with
    scikit-learn's ``DataConversionWarning`` (a one-column DataFrame, sktime's table of
    labels, without one).
    """
    import warnings

    import pandas as pd
    from sklearn.exceptions import DataConversionWarning

    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None: fine-tuning learns "
            "from one class label per series. To learn representations without labels, use "
            "AimTSTransformer (or BTSFTransformer)."
        )
    if not isinstance(y, (np.ndarray, pd.Series, pd.DataFrame)):
        y = np.asarray(y)  # lists, tuples, other array-likes
    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        # sktime's own table of labels (its vectorisation over columns passes these): no
        # warning, as sktime would read it
        return y.iloc[:, 0]
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        y = y[:, 0]
    return y


def check_classification_labels(y, name):
    """Refuse missing or continuous labels before they become classes (with a clear message).

    sktime would take every distinct float as a class and NaN as a label of its own;
    scikit-learn's ``check_classification_targets`` decides what counts as class labels.
    """
    import pandas as pd
    from sklearn.utils.multiclass import check_classification_targets, type_of_target

    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    missing = pd.isna(labels)
    if np.any(missing):
        raise ValueError(
            f"{name}: y has {int(np.sum(missing))} missing label(s) (NaN or None) of "
            f"{len(labels)}; every series needs a class label. Drop the unlabelled series "
            "(e.g. X[mask], y[mask] with mask = pd.notna(y)), or use AimTSTransformer, which "
            "learns without labels."
        )
    try:
        check_classification_targets(labels)
    except ValueError as err:
        kind = type_of_target(labels)
        if kind == "unknown":  # e.g. an object array of numbers, or of mixed types
            raise ValueError(
                f"{name}: Unknown label type: y is a {labels.dtype} array of "
                f"{type(labels.flat[0]).__name__} values, which scikit-learn does not read "
                "as class labels; pass ints, strings or bools, e.g. y.astype(int) or "
                "y.astype(str)."
            ) from err
        raise ValueError(
            f"{name}: Unknown label type: y looks like a {kind} target "
            f"({len(np.unique(labels))} distinct values for {len(labels)} series), not class "
            "labels; a classifier needs a finite set of discrete labels such as ints or "
            "strings. If the floats are class codes, pass y.astype(int); for a continuous "
            "target use a regressor on the features, e.g. make_pipeline(AimTSTransformer(), "
            "Ridge())."
        ) from err
