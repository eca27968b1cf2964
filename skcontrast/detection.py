"""Anomaly detection from learned representations, as an sktime detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sktime.detection.base import BaseDetector

from skcontrast._discord import discord_scores, reference_tail
from skcontrast._ridge import HoldoutRidge
from skcontrast._series_features import (
    COMMON_CONSTRAINTS,
    COMMON_RULES,
    StepFeaturizer,
    _mean_and_scale,
    autocovariance,
    check_length,
    series_values,
)
from skcontrast._validation import Interval, Options, validate_params
from skcontrast.btsf import BTSFTransformer

__all__ = ["RepresentationAnomalyDetector", "dominant_period"]

TARGETS = ("reconstruction", "next")
SCORINGS = ("error+discord", "error", "discord")
OUTPUTS = ("points", "intervals")
# the shared parameters, then the detector's, in the order they are checked
CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "target": [Options(TARGETS)],
    "output": [Options(OUTPUTS)],
    "k": [Interval("number", 0)],
    "contamination": [None, Interval("number", 0, 0.5, closed="neither")],
    # "period": the training series' dominant period (dominant_period); an int: that many
    # points; None: each point's own error
    "smoothing": [Options(("period",)), Interval("int", 1), None],
    "scoring": [Options(SCORINGS)],
    # "period": the training series' dominant period; an int: that many points
    "discord_window": [Options(("period",)), Interval("int", 4)],
}


class RepresentationAnomalyDetector(BaseDetector):
    """Anomalies as points that neither a decoder nor the series' own past explains.

    Two scores, each learned from a stretch of normal data (``fit``) and combined by
    default (``scoring="error+discord"``):

    - **error**: the recipe of the BTSF paper. The series is z-normalised with training
      statistics, every point ``t`` gets the causal representation ``r_t`` (``x[..t]``
      only) of ``transformer``, and a Ridge decoder (``alpha`` chosen on the last 20 % of
      the training points) maps ``r_t`` to ``x_t`` (``target="reconstruction"``) or
      ``r_{t-1}`` to ``x_t`` (``target="next"``). A point's error is the squared error
      averaged over the variables, averaged again over a centred window of the training
      series' dominant period (``smoothing``).
    - **discord**: the matrix profile's discord. The subsequence of ``discord_window``
      points centred at a point is as anomalous as it is far, in z-normalised Euclidean
      distance, from every other subsequence of the training series and of the scored
      series itself (trivial matches excluded): a pattern that does not recur.

    Combined, each score is divided by its standard deviation over the training points
    and the two are added. The threshold is ``mean + k * std`` of the training scores
    (TS2Vec uses ``k = 4``), or their ``1 - contamination`` quantile.

    The defaults were chosen on the 107 series of the UCR anomaly archive in the
    project's data (``benchmarks/results/anomaly_archive.md``, the archive's top-1 rule):
    the raw lag window's one-step error, smoothed over the period, plus the discord
    found 0.748 of the anomalies, the discord alone 0.579, the smoothed error alone 0.607.
    A learned representation did not help there (BTSF's smoothed reconstruction error
    0.259, and 0.444 with the discord, on the 27 series it ran): pass a transformer to
    score with one, e.g. ``transformer=BTSFTransformer()``.

    The decoder learns from points with a full window of history only, so the first
    ``window_length - 1`` points of a series (one more with ``target="next"``) score 0 and
    are never flagged (with ``scoring="discord"``, every point is scored). To score a test
    series that continues the training series with its full context, pass both joined and
    keep the test part of the result.

    Parameters
    ----------
    transformer : skcontrast transformer, "passthrough" or None, default="passthrough"
        The representation the error's decoder reads. ``"passthrough"``: the raw lag window
        of ``window_length`` points (use it with ``target="next"``: a window that holds
        ``x_t`` reconstructs it trivially). A transformer is cloned and learns from
        windows of the training series; ``None`` means ``BTSFTransformer(batch_size=16,
        n_iters=200)`` (twice the classifier default's steps, measured better for
        long-horizon features). Not used with ``scoring="discord"``.
    decoder : scikit-learn regressor or None, default=None
        Representation -> values of all variables. ``None``: :class:`~skcontrast.HoldoutRidge`.
    target : {"next", "reconstruction"}, default="next"
        ``"next"``: predict ``x_t`` from ``r_{t-1}`` (one-step-ahead error; the
        representation never saw the point it is judged on). ``"reconstruction"`` (the
        BTSF paper): decode ``x_t`` from ``r_t``.
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
        Lag window with ``"passthrough"``; training windows of a transformer; trailing
        window with ``representation="pooled"``.
    train_stride : int or None, default=None
        Step between a transformer's training windows (``None``: window_length // 4).
    representation : {"timesteps", "pooled"}, default="timesteps"
        As in :class:`~skcontrast.RepresentationForecaster`.
    transformer_normalize : {None, "zscore"}, default=None
        ``normalize`` given to the transformer (``None``: windows keep their level).
    smoothing : "period", int or None, default="period"
        The error of a point is averaged over a centred window of this many points (so it
        also reads the errors of the ``w // 2`` points after it): ``"period"``, the
        training series' dominant period (:func:`dominant_period`, ``smoothing_window_``);
        ``None``, each point's own error (causal). On the UCR anomaly archive the
        period's smoothing lifted the raw window's error from 0.458 to 0.607 top-1
        accuracy. Training scores (and so the threshold) are smoothed alike.
    scoring : {"error+discord", "error", "discord"}, default="error+discord"
        The decoder's error and the discord, each divided by its training standard
        deviation, added; or either alone (unscaled).
    discord_window : "period" or int, default="period"
        Points in a discord's subsequence: the training series' dominant period (at most
        a quarter of the training series; ``discord_window_``), or that many.
        Subsequences longer than 128 points are compared after averaging over
        ``ceil(m / 128)`` points, each with the last 20,000 of the training series and
        those of the scored series within 20,000 of it, so the cost stays linear in the
        length (``skcontrast._discord``).

    Attributes
    ----------
    transformer_ : fitted transformer or None
        ``None`` with ``"passthrough"`` or ``scoring="discord"``.
    decoder_ : fitted regressor or None
        ``None`` with ``scoring="discord"``.
    threshold_ : float
        Scores above it are anomalous.
    train_scores_ : ndarray
        Scores of the training points.
    smoothing_window_ : int
        Points each error is averaged over (1: no smoothing).
    discord_window_ : int or None
        Points in a discord's subsequence (``None`` with ``scoring="error"``).
    score_scales_ : dict
        The training standard deviation of each score the combination divides by.
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
    ...     window_length=32, target="next", output="intervals")
    >>> detector = detector.fit(X[:400])
    >>> X_test = X[400:].copy()
    >>> X_test.iloc[100, 0] += 3.0
    >>> detector.smoothing_window_  # the training series' period (2 pi * 8 points)
    50
    >>> detector.predict(X_test)["ilocs"].tolist()  # the spike, smoothed over a period
    [Interval(76, 127, closed='left')]
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
        transformer="passthrough",
        decoder=None,
        target="next",
        k=4.0,
        contamination=None,
        output="points",
        window_length=201,
        train_stride=None,
        representation="timesteps",
        transformer_normalize=None,
        smoothing="period",
        scoring="error+discord",
        discord_window="period",
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
        self.smoothing = smoothing
        self.scoring = scoring
        self.discord_window = discord_window
        super().__init__()
        if output == "intervals":
            self.set_tags(task="segmentation")

    def _check_params(self):
        validate_params(self, self._param_constraints, COMMON_RULES)

    def _fit(self, X, y=None):
        self._check_params()
        name = type(self).__name__
        values = series_values(X, name)
        L = self.window_length
        # the training series' dominant period, found once for the smoothing and the discord
        wanted = "period" in (self.smoothing, self.discord_window)
        period = dominant_period(values) if wanted else None
        scores = {}
        if self.scoring != "discord":
            check_length(name, len(values), L + 5, f"window_length={L}")
            featurizer = StepFeaturizer(self, BTSFTransformer)
            scaled, features = featurizer.fit_features(values)
            rows, points = self._samples(len(values))
            decoder = HoldoutRidge() if self.decoder is None else clone(self.decoder)
            self.decoder_ = decoder.fit(features[rows], scaled[points])
            self._featurizer = featurizer
            self.transformer_ = featurizer.transformer_
            self.mean_, self.scale_ = featurizer.mean_, featurizer.scale_
            self.smoothing_window_ = self._smoothing_window(period)
            scores["error"] = self._smoothed(self._errors(features, scaled))
        else:
            self.decoder_ = self.transformer_ = self._featurizer = None
            self.mean_, self.scale_ = _mean_and_scale(values)
            self.smoothing_window_ = self._smoothing_window(period)
            points = np.arange(len(values))
        self.discord_window_ = None
        if self.scoring != "error":
            m = self.discord_window
            if m == "period":  # at most a quarter of the training series (4 points at least)
                m = min(period, max(4, len(values) // 4))
            self.discord_window_ = int(m)
            check_length(name, len(values), self.discord_window_ + 1,
                         f"discord_window={self.discord_window_}")  # fmt: skip
            # what later series are compared with: the training series' last subsequences
            self._reference = reference_tail(values, self.discord_window_)
            scores["discord"] = discord_scores(values, self.discord_window_)
        self.score_scales_ = {
            kind: _positive(score[points].std()) for kind, score in scores.items()
        }
        self.train_scores_ = self._combined(scores)[points]
        if self.contamination is None:
            self.threshold_ = float(self.train_scores_.mean() + self.k * self.train_scores_.std())
        else:
            self.threshold_ = float(np.quantile(self.train_scores_, 1 - self.contamination))
        return self

    def _combined(self, scores):
        """The score of each point: one score as it is, or both divided by their training
        standard deviations and added (0 where the error has no full window yet)."""
        if len(scores) == 1:
            return next(iter(scores.values()))
        error, discord = scores["error"], scores["discord"]
        scales = self.score_scales_
        return np.where(error > 0, error / scales["error"] + discord / scales["discord"], 0.0)

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
        needs = []  # (points, why)
        if self.scoring != "discord":
            # the first scored point needs a full window of history (and its successor)
            needs.append((self.window_length + (self.target == "next"),
                          f"window_length={self.window_length}: the first points have no "
                          "full window of history"))  # fmt: skip
        if self.scoring != "error":
            needs.append((self.discord_window_, "the discord compares subsequences of "
                          f"discord_window_={self.discord_window_} points"))  # fmt: skip
        needed = max(n for n, _ in needs)
        if len(values) < needed:
            raise ValueError(
                f"{name}: X has {len(values)} points, but at least {needed} are needed to "
                f"score one ({'; '.join(why for _, why in sorted(needs))}). Pass a longer "
                "series, e.g. the end of the training series joined in front of it, and keep "
                "the part you want."
            )
        scores = {}
        if self.scoring != "discord":
            scaled = self._featurizer.scale(values)
            features = self._featurizer.features(scaled)
            scores["error"] = self._smoothed(self._errors(features, scaled))
        if self.scoring != "error":
            scores["discord"] = discord_scores(values, self.discord_window_, self._reference)
        return self._combined(scores)

    def _smoothing_window(self, period) -> int:
        """Points an error is averaged over: the training series' dominant ``period`` with
        ``smoothing="period"``, the given number, or 1 (no smoothing)."""
        if self.smoothing is None:
            return 1
        if self.smoothing == "period":
            return period
        return int(self.smoothing)

    def _smoothed(self, errors):
        """The errors averaged over a centred window of ``smoothing_window_`` points (the
        points before the first full window keep their 0 and do not enter the mean)."""
        return smooth_scores(errors, self.smoothing_window_)

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
        # sktime scores series of 10 points: windows (and discords) shorter than that
        return [
            {"transformer": tiny_btsf, "window_length": 4, "target": "reconstruction",
             "discord_window": 4},
            {"transformer": tiny_aimts, "window_length": 5, "output": "intervals",
             "discord_window": 5},
            {"window_length": 3, "contamination": 0.1, "discord_window": 4},
            {"scoring": "discord", "discord_window": 6, "output": "intervals"},
        ]  # fmt: skip


def _positive(value) -> float:
    """A standard deviation to divide by (1 when there is no spread, or no score)."""
    value = float(value) if np.isfinite(value) else 0.0
    return value if value > 0 else 1.0


def smooth_scores(errors, window: int) -> np.ndarray:
    """``errors`` averaged over a centred window of ``window`` points (at most the series'
    length), over the scored points only: a 0 (no full window of history yet) keeps its 0
    and does not enter the mean."""
    errors = np.asarray(errors, dtype=np.float64)
    w = min(int(window), len(errors))
    if w <= 1:
        return errors
    scored = errors > 0
    kernel = np.ones(w)
    total = np.convolve(errors, kernel, mode="same")
    count = np.convolve(scored.astype(np.float64), kernel, mode="same")
    out = np.zeros_like(errors)
    np.divide(total, count, out=out, where=scored & (count > 0))
    return out


def dominant_period(values, low=8, high=1000, default=100) -> int:
    """The dominant period of a series ``(T,)`` or ``(T, C)``: the lag of the highest
    autocorrelation (averaged over the variables) after its first zero crossing, in
    ``[low, high]`` (``min(high, T // 2)``); ``default`` when there is none (no zero
    crossing, e.g. a trend, or a peak outside the range)."""
    x = np.asarray(values, dtype=np.float64)
    x = x.reshape(len(x), -1)
    peak = np.abs(x).max(axis=0)
    x = x / np.where(peak > 0, peak, 1.0)  # scale-free: no overflow in the squares below
    x = x - x.mean(axis=0)
    n = len(x)
    if n < 4 * low or not np.any(x):
        return default
    acf = autocovariance(x, min(n // 2, high + 1))
    power = acf[0]
    acf = (acf[:, power > 0] / power[power > 0]).mean(axis=1)
    below = np.flatnonzero(acf < 0)
    if len(below) == 0:
        return default
    lag = int(below[0] + np.argmax(acf[below[0] :]))
    return lag if low <= lag <= high else default
