"""Anomaly detection from learned representations, as an sktime detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sktime.detection.base import BaseDetector

from skcontrast._ridge import HoldoutRidge
from skcontrast._series_features import (
    COMMON_CONSTRAINTS,
    COMMON_RULES,
    StepFeaturizer,
    check_length,
    series_values,
)
from skcontrast._validation import Interval, Options, validate_params
from skcontrast.btsf import BTSFTransformer

__all__ = ["RepresentationAnomalyDetector"]

TARGETS = ("reconstruction", "next")
OUTPUTS = ("points", "intervals")
# the shared parameters, then the detector's, in the order they are checked
CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "target": [Options(TARGETS)],
    "output": [Options(OUTPUTS)],
    "k": [Interval("number", 0)],
    "contamination": [None, Interval("number", 0, 0.5, closed="neither")],
}


class RepresentationAnomalyDetector(BaseDetector):
    """Anomalies as points a decoder on the learned representations cannot reproduce.

    The recipe of the BTSF paper: a decoder on top of the representations reconstructs the
    input, and a point is anomalous when its reconstruction error exceeds a threshold. Here
    the series is z-normalised with training statistics, the transformer learns from
    windows of the training series without labels, every point ``t`` gets the causal
    representation ``r_t`` (``x[..t]`` only), and a Ridge decoder (``alpha`` chosen on the
    last 20 % of the training points) maps ``r_t`` to the observed values ``x_t``. The score
    of a point is the squared error averaged over the variables; the threshold is
    ``mean + k * std`` of the training scores (TS2Vec uses ``k = 4``), or their
    ``1 - contamination`` quantile.

    The decoder learns from points with a full window of history only, so the first
    ``window_length - 1`` points of a series (one more with ``target="next"``) score 0 and
    are never flagged. To score a test series that continues the training series with its
    full context, pass both joined and keep the test part of the result.

    Parameters
    ----------
    transformer : skcontrast transformer, "passthrough" or None, default=None
        Learns the representation (cloned; ``None`` means
        ``BTSFTransformer(batch_size=16, n_iters=200)``: twice the classifier default's
        steps, measured better for long-horizon features).
        ``"passthrough"``: the raw lag window of ``window_length`` points, the baseline
        (use it with ``target="next"``: a window that holds ``x_t`` reconstructs it
        trivially).
    decoder : scikit-learn regressor or None, default=None
        Representation -> values of all variables. ``None``: :class:`~skcontrast.HoldoutRidge`.
    target : {"reconstruction", "next"}, default="reconstruction"
        ``"reconstruction"`` (the paper): decode ``x_t`` from ``r_t``. ``"next"``: predict
        ``x_t`` from ``r_{t-1}`` (one-step-ahead error; the representation never saw the
        point it is judged on).
    k : float, default=4.0
        Threshold = mean + ``k`` standard deviations of the training scores.
    contamination : float or None, default=None
        If set, the threshold is the ``1 - contamination`` quantile of the training scores
        instead (the expected fraction of anomalous training points).
    output : {"points", "intervals"}, default="points"
        What ``predict`` returns: the anomalous points (``task="anomaly_detection"``), or
        runs of consecutive anomalous points as left-closed intervals (sktime's segment
        format, ``task="segmentation"``; ``transform`` then numbers the intervals 0, 1, ...
        and gives -1 outside them).
    window_length : int, default=201
        Training windows of the transformer; lag window with ``"passthrough"``; trailing
        window with ``representation="pooled"``.
    train_stride : int or None, default=None
        Step between training windows (``None``: window_length // 4).
    representation : {"timesteps", "pooled"}, default="timesteps"
        As in :class:`~skcontrast.RepresentationForecaster`.
    transformer_normalize : {None, "zscore"}, default=None
        ``normalize`` given to the transformer (``None``: windows keep their level).

    Attributes
    ----------
    transformer_ : fitted transformer or None
    decoder_ : fitted regressor
    threshold_ : float
        Scores above it are anomalous.
    train_scores_ : ndarray
        Scores of the training points.
    mean_, scale_ : ndarray
        Training statistics of each variable.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skcontrast import BTSFTransformer, RepresentationAnomalyDetector
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(600)
    >>> X = pd.DataFrame({"a": np.sin(t / 8), "b": np.cos(t / 8)})
    >>> X += 0.05 * rng.standard_normal(X.shape)
    >>> detector = RepresentationAnomalyDetector(
    ...     BTSFTransformer(hidden_channels=8, repr_dims=8, n_iters=5, random_state=0,
    ...                     options={"temporal_depth": 3}),
    ...     window_length=32, target="next")
    >>> detector = detector.fit(X[:400])
    >>> X_test = X[400:].copy()
    >>> X_test.iloc[100, 0] += 3.0
    >>> detector.predict(X_test)["ilocs"].tolist()  # the spike and steps that read it
    [100, 101, 109]
    """

    _tags = {
        "authors": ["skcontrast developers"],
        "maintainers": ["skcontrast developers"],
        "python_dependencies": "torch",
        "task": "anomaly_detection",
        "learning_type": "unsupervised",
        "capability:multivariate": True,
        "capability:missing_values": False,
        "X_inner_mtype": "pd.DataFrame",
        "fit_is_empty": False,
    }
    _param_constraints = CONSTRAINTS  # see skcontrast._validation

    def __init__(
        self,
        transformer=None,
        decoder=None,
        target="reconstruction",
        k=4.0,
        contamination=None,
        output="points",
        window_length=201,
        train_stride=None,
        representation="timesteps",
        transformer_normalize=None,
    ):
        self.transformer = transformer
        self.decoder = decoder
        self.target = target
        self.k = k
        self.contamination = contamination
        self.output = output
        self.window_length = window_length
        self.train_stride = train_stride
        self.representation = representation
        self.transformer_normalize = transformer_normalize
        super().__init__()
        if output == "intervals":
            self.set_tags(task="segmentation")

    def _check_params(self):
        validate_params(self, self._param_constraints, COMMON_RULES)

    def _fit(self, X, y=None):
        self._check_params()
        values = series_values(X, type(self).__name__)
        L = self.window_length
        check_length(type(self).__name__, len(values), L + 5, f"window_length={L}")
        featurizer = StepFeaturizer(self, BTSFTransformer)
        scaled, features = featurizer.fit_features(values)
        rows, points = self._samples(len(values))
        decoder = HoldoutRidge() if self.decoder is None else clone(self.decoder)
        self.decoder_ = decoder.fit(features[rows], scaled[points])
        self._featurizer = featurizer
        self.transformer_ = featurizer.transformer_
        self.mean_, self.scale_ = featurizer.mean_, featurizer.scale_
        self.train_scores_ = self._errors(features, scaled)[points]
        if self.contamination is None:
            self.threshold_ = float(self.train_scores_.mean() + self.k * self.train_scores_.std())
        else:
            self.threshold_ = float(np.quantile(self.train_scores_, 1 - self.contamination))
        return self

    def _samples(self, n_points):
        """(representation rows, decoded points) of the training pairs."""
        points = np.arange(self.window_length - 1 + (self.target == "next"), n_points)
        return points - (self.target == "next"), points

    def _errors(self, features, scaled):
        """Squared error per point, averaged over variables; 0 before a full window."""
        scores = np.zeros(len(scaled))
        shift = int(self.target == "next")
        inputs = features[: len(features) - shift]
        # the decoder was trained on representations with a full window of history only
        usable = ~np.isnan(inputs).any(axis=1) & (np.arange(len(inputs)) >= self.window_length - 1)
        decoded = np.asarray(self.decoder_.predict(inputs[usable])).reshape(-1, scaled.shape[1])
        points = np.flatnonzero(usable) + shift
        scores[points] = np.mean((decoded - scaled[points]) ** 2, axis=1)
        return scores

    def _scores(self, X):
        # predict_points/predict_segments hand X over as given (e.g. a pd.Series)
        name = type(self).__name__
        values = series_values(X, name)
        if values.shape[1] != len(self.mean_):
            raise ValueError(
                f"X has {values.shape[1]} variable(s); {name} was fitted on {len(self.mean_)}."
            )
        # the first scored point needs a full window of history (and its successor, "next")
        needed = self.window_length + (self.target == "next")
        if len(values) < needed:
            raise ValueError(
                f"{name}: X has {len(values)} points, but window_length={self.window_length} "
                f"needs at least {needed} to score one (the first {needed - 1} points have no "
                "full window of history). Pass a longer series, e.g. the end of the training "
                "series joined in front of it, and keep the part you want."
            )
        scaled = self._featurizer.scale(values)
        return self._errors(self._featurizer.features(scaled), scaled)

    def _transform_scores(self, X):
        return pd.DataFrame({"score": self._scores(X)}, index=getattr(X, "index", None))

    def _predict(self, X):
        return self._events(self._scores(X))

    def _events(self, scores):
        """The anomalous points, or their runs as intervals, from the scores of a series."""
        flagged = scores > self.threshold_
        if self.output == "points":
            return pd.DataFrame({"ilocs": pd.array(np.flatnonzero(flagged), dtype="int64")})
        # runs of consecutive flagged points -> left-closed [start, end) intervals
        edges = np.diff(np.concatenate([[0], flagged.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return pd.DataFrame(
            {"ilocs": pd.arrays.IntervalArray.from_arrays(starts, ends, closed="left")}
        )

    def _predict_scores(self, X):
        scores = self._scores(X)  # encoded once, for the events and their scores
        events = self._events(scores)["ilocs"]
        if self.output == "points":
            return pd.Series(scores[events.to_numpy(dtype=np.int64)], dtype="float64")
        return pd.Series([scores[i.left : i.right].max() for i in events], dtype="float64")

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's and the package's own tests."""
        from skcontrast.aimts import AimTSTransformer

        tiny_btsf = BTSFTransformer(**BTSFTransformer.get_test_params()[0])
        tiny_aimts = AimTSTransformer(**AimTSTransformer.get_test_params()[1])
        return [
            {"transformer": tiny_btsf, "window_length": 4},
            {
                "transformer": tiny_aimts,
                "window_length": 5,
                "target": "next",
                "output": "intervals",
            },
            {
                "transformer": "passthrough",
                "window_length": 3,
                "target": "next",
                "contamination": 0.1,
            },
        ]
