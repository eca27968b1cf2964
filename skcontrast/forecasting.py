"""Forecasting from learned representations (TS2Vec's protocol), as an sktime forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sktime.forecasting.base import BaseForecaster

from skcontrast._ridge import HoldoutRidge
from skcontrast._series_features import (
    COMMON_CONSTRAINTS,
    COMMON_RULES,
    StepFeaturizer,
    autocovariance,
    check_length,
    series_values,
)
from skcontrast._validation import Bool, validate_params
from skcontrast.btsf import BTSFTransformer

__all__ = ["RepresentationForecaster"]


class RepresentationForecaster(BaseForecaster):
    """Direct multi-horizon forecasts by a regressor on causal learned representations.

    The TS2Vec/BTSF protocol: the series is z-normalised with the training statistics; the
    transformer learns, without labels, from windows of ``window_length`` points cut from
    the training series; every time point ``t`` gets a causal representation ``r_t`` (from
    ``x[..t]`` only, :meth:`~skcontrast.BTSFTransformer.transform_timesteps`); one
    regressor maps ``r_t`` to the next ``H = max(fh)`` values of every variable at once
    (direct, not recursive). By default the regressor is Ridge with ``alpha`` chosen on the
    last 20 % of the training samples (TS2Vec's grid), then refit on all of them.

    ``update`` appends new observations, which the next ``predict`` reads (the
    representation at the new cutoff); it does not retrain: call ``fit`` for that. As
    sktime's own forecasters (``NaiveForecaster``), a forecast starts from the cutoff: an
    update that ends before the previous cutoff moves the cutoff back there, and the
    forecast reads the points up to it (revised values included), not the later ones.
    The points a forecast reads must be consecutive: an update that leaves a gap among
    them (a missing step of the fitted series' frequency, or of its integer step) is
    refused, as is one without enough history before an earlier cutoff.

    Parameters
    ----------
    transformer : skcontrast transformer, "passthrough" or None, default=None
        Learns the representation (cloned; ``None`` means
        ``BTSFTransformer(batch_size=16, n_iters=200)``: twice the classifier default's
        steps, measured better for long-horizon features).
        ``"passthrough"``: the raw lag window of ``window_length`` points (flattened) is the
        representation, the plain linear baseline on the same context.
    lags : bool, default=True
        With a transformer, the regressor also reads the raw lag window of
        ``window_length`` points beside ``r_t`` (the representation's columns scaled to
        unit variance on the training series, as the standardised lags); with the default
        regressor, the lag window alone, ``r_t`` alone or the mean of those two forecasts
        is kept instead where it scores better on the validation tail (``inputs_``), and
        the lag window alone unless another input beats it there by more than one
        standard error (so the default falls back on the ``"passthrough"`` baseline
        where the representation's gain is noise, or where the tail is too short to
        tell).
        ``False``: ``r_t`` alone, TS2Vec's and the BTSF paper's protocol. Ignored with
        ``"passthrough"``.
    regressor : scikit-learn regressor or None, default=None
        Maps a representation to the ``H x n_variables`` future values (multi-output).
        ``None`` means :class:`~skcontrast.HoldoutRidge` (TS2Vec's protocol).
    window_length : int, default=201
        Length of the training windows of the transformer, of the lag window with
        ``"passthrough"`` and of the trailing window with ``representation="pooled"``.
        Training samples start once a full window of history exists.
    train_stride : int or None, default=None
        Step between the training windows of the transformer (``None``: window_length // 4).
    representation : {"timesteps", "pooled"}, default="timesteps"
        ``"timesteps"``: the transformer's causal step features
        (``transform_timesteps(X)``). ``"pooled"``: its full representation of the
        trailing window ending at ``t`` (one encoder pass per time point: slower).
    transformer_normalize : {None, "zscore"}, default=None
        ``normalize`` given to the transformer: ``None`` keeps each window's level (the
        series is already standardised); ``"zscore"`` normalises each training window by
        itself.

    Attributes
    ----------
    transformer_ : fitted transformer or None
        ``None`` with ``"passthrough"``.
    regressor_ : fitted regressor
    horizon_ : int
        ``H``, the number of steps the regressor predicts.
    context_ : int
        Past points the representation at a cutoff reads.
    inputs_ : {"representation+lags", "representation", "lags", \
"mean of lags and representation"}
        What the regressor reads. With ``lags=True`` and the default regressor, whichever
        of ``r_t`` with the lags, the lag window alone, ``r_t`` alone and the mean of the
        last two forecasts (a forecast combination) scored the lowest MSE on the
        chronological validation tail (``HoldoutRidge``'s), if it beats the lag window
        alone (the ``"passthrough"`` baseline) there by more than one standard error of
        the paired difference (means of blocks of at least ``H`` samples, and as long as
        the per-sample gains stay autocorrelated; at least two blocks); else the lag
        window alone.
    input_validation_mse_ : dict or None
        The validation-tail MSE of each of those inputs (``None`` where none was chosen:
        ``lags=False``, ``"passthrough"`` or a regressor of your own).
    mean_, scale_ : ndarray
        Training statistics of each variable.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from skcontrast import BTSFTransformer, RepresentationForecaster
    >>> y = load_airline()
    >>> forecaster = RepresentationForecaster(
    ...     BTSFTransformer(hidden_channels=8, repr_dims=8, n_iters=5, random_state=0,
    ...                     options={"temporal_depth": 2}),
    ...     window_length=24)
    >>> forecaster = forecaster.fit(y, fh=[1, 2, 3])
    >>> forecaster.predict().shape
    (3,)
    """

    _tags = {
        "authors": ["skcontrast developers"],
        "maintainers": ["skcontrast developers"],
        "python_dependencies": "torch",
        "scitype:y": "both",
        "capability:multivariate": True,
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:exogenous": False,
        "requires-fh-in-fit": True,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "capability:update": True,
        "fit_is_empty": False,
    }
    _config = {"remember_data": False}
    _param_constraints = {**COMMON_CONSTRAINTS, "lags": [Bool()]}  # see skcontrast._validation

    def __init__(
        self,
        transformer=None,
        regressor=None,
        window_length=201,
        train_stride=None,
        representation="timesteps",
        transformer_normalize=None,
        lags=True,
    ):
        self.transformer = transformer
        self.regressor = regressor
        self.window_length = window_length
        self.train_stride = train_stride
        self.representation = representation
        self.transformer_normalize = transformer_normalize
        self.lags = lags
        super().__init__()
        # sktime's own copy of the data; unused (predict reads self._history), so not kept
        # by default (sktime 1.3's default; 1.2 warns on every forecaster otherwise)
        self._y = self._X = None

    def _fit(self, y, X=None, fh=None):
        name = type(self).__name__
        validate_params(self, self._param_constraints, COMMON_RULES)
        # in-sample fh (<= 0) is refused by sktime already (capability:insample False)
        H = int(fh.to_relative(self.cutoff).to_numpy().max())
        values = series_values(y, name, "y")
        L = self.window_length
        check_length(name, len(values), L + H + 4, f"window_length={L} with horizon {H}")
        featurizer = StepFeaturizer(self, BTSFTransformer, lags=self.lags)
        scaled, features = featurizer.fit_features(values)
        # sample t: representation r_t -> the next H values of every variable
        t = np.arange(L - 1, len(values) - H)
        targets = np.lib.stride_tricks.sliding_window_view(scaled[L:], H, axis=0)[: len(t)]
        targets = targets.transpose(0, 2, 1).reshape(len(t), -1)  # (n, H * C), step-major
        self.regressor_, self.inputs_ = self._fit_regressor(featurizer, features[t], targets)
        self._featurizer = featurizer
        self.transformer_ = featurizer.transformer_
        self.mean_, self.scale_ = featurizer.mean_, featurizer.scale_
        self.context_ = featurizer.context_
        self.horizon_ = H
        # the context the next predict reads, kept here: sktime >= 1.3 stops storing _y
        self._history = y.iloc[-self.context_ :]
        self._first_index = y.index[0]  # a shorter context than context_ is the series start
        self._spacing = _index_spacing(y.index)
        self._history_cutoff = self._cutoff  # the cutoff _history was made for
        return self

    def _fit_regressor(self, featurizer, features, targets):
        """The regressor on ``r_t`` and the lag window, or (default regressor only) on
        whichever input (both, the lag window alone, ``r_t`` alone, the mean of the last
        two forecasts) scores the lowest MSE on the chronological validation tail, kept
        only if it beats the lag window alone by more than one standard error."""
        regressor = HoldoutRidge() if self.regressor is None else clone(self.regressor)
        both = regressor.fit(features, targets)
        self.input_validation_mse_ = None  # set where the inputs are chosen
        if not featurizer.lags or featurizer.transformer_ is None:
            return both, "representation" if featurizer.transformer_ is not None else "lags"
        if self.regressor is not None:
            return both, "representation+lags"
        n_vars = len(featurizer.mean_)
        alone = {
            inputs: HoldoutRidge().fit(self._input_columns(features, inputs, n_vars), targets)
            for inputs in ("lags", "representation")
        }
        mean = _MeanForecast([(alone["lags"], "lags"), (alone["representation"], "representation")],
                             self._input_columns, n_vars)  # fmt: skip
        models = {"representation+lags": both, **alone, _MEAN: mean}
        errors = self._tail_errors(features, targets, models, n_vars)
        self.input_validation_mse_ = {k: float(e.mean()) for k, e in errors.items()}
        chosen = _keep_baseline_unless_better(errors, targets.shape[1] // n_vars)
        return models[chosen], chosen

    def _tail_errors(self, features, targets, models, n_vars) -> dict:
        """Squared error of every validation-tail sample (mean over its outputs) of each
        candidate, refitted on the rows before the tail with its chosen alpha (exactly
        how ``HoldoutRidge`` scored it)."""
        n_val = int(round(HoldoutRidge().validation_size * len(features)))
        head, tail = slice(None, -n_val), slice(-n_val, None)
        predictions = {}
        for inputs in ("representation+lags", "lags", "representation"):
            columns = self._input_columns(features, inputs, n_vars)
            ridge = Ridge(alpha=models[inputs].alpha_).fit(columns[head], targets[head])
            predictions[inputs] = ridge.predict(columns[tail])
        predictions[_MEAN] = (predictions["lags"] + predictions["representation"]) / 2
        return {k: ((p - targets[tail]) ** 2).mean(axis=1) for k, p in predictions.items()}

    def _input_columns(self, features, inputs, n_vars):
        """The columns of ``[r_t, lags]`` (``n_vars`` variables) that ``inputs`` reads (the
        mean of two forecasts reads all and picks its own)."""
        n_lags = self.window_length * n_vars
        if inputs == "lags":
            return features[:, -n_lags:]
        if inputs == "representation":
            return features[:, :-n_lags]
        return features

    def _update(self, y, X=None, update_params=True):
        # new observations extend the context the next predict reads; no retraining.
        # sktime has already moved the cutoff to the end of y: put it back on refusal
        if y is None or len(y) == 0:
            return self
        try:
            self._history, self._first_index = self._updated_history(y)
        except ValueError:
            self._cutoff = self._history_cutoff
            raise
        self._history_cutoff = self._cutoff
        return self

    def _updated_history(self, y):
        """The history merged with ``y``, checked: the last ``context_`` points up to the
        (new) cutoff, which the next forecast reads, and the points after it (an update
        ending before the cutoff leaves them for a later update that moves forward); and
        the first time point seen."""
        name = type(self).__name__
        if list(y.columns) != list(self._history.columns):
            raise ValueError(
                f"update got variables {list(y.columns)}; the forecaster was fitted on "
                f"{list(self._history.columns)}."
            )
        history = pd.concat([self._history, y])
        history = history[~history.index.duplicated(keep="last")].sort_index()
        cutoff = self.cutoff[0]
        up_to = history.index <= cutoff
        context = history[up_to].iloc[-self.context_ :]
        first = min(self._first_index, y.index[0])
        if len(context) < self.context_ and context.index[0] != first:
            raise ValueError(
                f"{name}: a forecast from the cutoff {cutoff} reads the {self.context_} "
                f"points up to it, but only {len(context)} are known (the forecaster keeps "
                f"the last {self.context_} points). Pass update the series up to {cutoff} "
                f"with at least {self.context_} points."
            )
        gap = _first_gap(context.index, self._spacing)
        if gap is not None:
            before, after = gap
            raise ValueError(
                f"{name}: the series has a gap between {before} and {after} (the fitted "
                f"series steps by {_describe_spacing(self._spacing)}), inside the "
                f"{self.context_} points a forecast from the cutoff {cutoff} reads, which "
                "would be read as consecutive. Pass update the missing observations (impute "
                "them if they are unknown, e.g. with sktime's Imputer), or refit."
            )
        return pd.concat([context, history[~up_to]]), first

    def _forecast_from(self, features):
        """(n, D) representations -> (n, H, C) forecasts on the original scale."""
        n_vars = len(self.mean_)
        if self.transformer_ is not None and self.lags:  # the columns the regressor reads
            features = self._input_columns(features, self.inputs_, n_vars)
        scaled = np.asarray(self.regressor_.predict(features)).reshape(
            len(features), self.horizon_, n_vars
        )
        return self._featurizer.unscale(scaled)

    def _predict(self, fh, X=None):
        # sktime refuses an fh other than fit's (requires-fh-in-fit): steps 1..H are known
        relative = fh.to_relative(self.cutoff).to_numpy()
        # from the cutoff: the points up to it (an update may have moved it back)
        context = self._history[self._history.index <= self.cutoff[0]].iloc[-self.context_ :]
        history = series_values(context, type(self).__name__, "y")
        features = self._featurizer.features(self._featurizer.scale(history))[-1:]
        forecast = self._forecast_from(features)[0][relative - 1]
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(forecast, index=index, columns=self._history.columns)

    def rolling_predict(self, y, start=None):
        """Forecasts made at every cutoff of ``y`` from ``start`` on, in one pass.

        Each forecast reads ``y`` up to its cutoff only: the result equals calling
        ``update`` then ``predict(fh=1..H)`` at each cutoff, without re-encoding the
        history every time. Used by the benchmark on ETTh1 (thousands of cutoffs).

        Parameters
        ----------
        y : pd.DataFrame, pd.Series or array (n_timepoints, n_variables)
            The series, from its beginning (the context of early cutoffs), with the same
            variables as in fit.
        start : int or None
            Position of the first cutoff (``None``: the first with a full window).

        Returns
        -------
        ndarray of shape (n_cutoffs, H, n_variables)
            Row ``i`` holds the forecasts of steps ``1..H`` after cutoff ``start + i``;
            cutoffs run to the end of ``y``.
        """
        self.check_is_fitted()
        values = series_values(y, type(self).__name__, "y")
        if values.shape[1] != len(self.mean_):
            raise ValueError(
                f"y has {values.shape[1]} variable(s); the forecaster was fitted on "
                f"{len(self.mean_)}."
            )
        start = self.window_length - 1 if start is None else int(start)
        if not 0 <= start < len(values):
            raise ValueError(f"start must be in [0, {len(values)}), got {start}.")
        features = self._featurizer.features(self._featurizer.scale(values))[start:]
        if np.isnan(features).any():
            raise ValueError(
                f"start={start} leaves cutoffs without a full lag window of {self.window_length} "
                f"points; use start >= {self.window_length - 1}."
            )
        return self._forecast_from(features)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's and the package's own tests."""
        from skcontrast.aimts import AimTSTransformer

        tiny_btsf = BTSFTransformer(**BTSFTransformer.get_test_params()[0])
        tiny_aimts = AimTSTransformer(**AimTSTransformer.get_test_params()[1])
        return [
            {"transformer": tiny_btsf, "window_length": 4},
            {"transformer": tiny_aimts, "window_length": 5, "train_stride": 2},
            {"transformer": "passthrough", "window_length": 3},
        ]


def _index_spacing(index):
    """How consecutive time points of the fitted series differ: ``("period", freq)``,
    ``("datetime", offset)`` (the index's or an inferred frequency), ``("int", step)``,
    or ``None`` where it has no regular step (nothing is checked then)."""
    if isinstance(index, pd.PeriodIndex):
        return "period", index.freq
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (pd.infer_freq(index) if len(index) >= 3 else None)
        return ("datetime", pd.tseries.frequencies.to_offset(freq)) if freq else None
    if pd.api.types.is_integer_dtype(index.dtype) and len(index) >= 2:
        steps = np.diff(index.to_numpy())
        if (steps == steps[0]).all() and steps[0] > 0:
            return "int", int(steps[0])
    return None


def _first_gap(index, spacing):
    """``(before, after)``, the first two neighbours of ``index`` more than one step apart
    under ``spacing``, or ``None``."""
    if spacing is None or len(index) < 2:
        return None
    kind, step = spacing
    if kind == "int":
        expected = index[0] + step * np.arange(len(index))
    elif kind == "period":
        expected = pd.period_range(index[0], periods=len(index), freq=step)
    else:
        expected = pd.date_range(index[0], periods=len(index), freq=step)
    differs = np.flatnonzero(np.asarray(index) != np.asarray(expected))
    if len(differs) == 0:
        return None
    return index[differs[0] - 1], index[differs[0]]


def _describe_spacing(spacing):
    kind, step = spacing
    return f"{step}" if kind == "int" else f"one {step.freqstr!r} period"


_MEAN = "mean of lags and representation"


def _keep_baseline_unless_better(errors: dict, horizon: int) -> str:
    """The candidate with the lowest validation MSE, if it beats the lag window alone by
    more than one standard error of the paired difference (the one-standard-error rule),
    else ``"lags"``, the passthrough baseline.

    The tail's per-sample gains are autocorrelated (consecutive origins share ``horizon``
    future steps, and errors persist beyond that: on ETTh1 at 24 h the gains correlate at
    0.5 one horizon apart), so the standard error is that of the means of blocks at least
    as long as the gains stay correlated: ``max(horizon, the first lag at which their
    sample autocorrelation is <= 0)``, the batch-means estimate. With fewer than two such
    blocks the noise cannot be estimated, and the baseline is kept."""
    best = min(errors, key=lambda k: errors[k].mean())  # ties keep the earlier
    if best == "lags":
        return best
    gain = errors["lags"] - errors[best]  # > 0: the candidate is better on that sample
    if gain.std() <= 1e-9 * abs(gain.mean()):  # the same gain on every sample: no noise
        return best
    block = max(1, horizon, _decorrelation_lag(gain))
    n_blocks = len(gain) // block
    if n_blocks < 2:
        return "lags"
    blocks = gain[-n_blocks * block :].reshape(n_blocks, -1).mean(axis=1)
    standard_error = blocks.std(ddof=1) / np.sqrt(n_blocks)
    return best if gain.mean() > standard_error else "lags"


def _decorrelation_lag(values) -> int:
    """The first lag at which the sample autocorrelation of ``values`` is <= 0 (by FFT,
    O(n log n)); ``len(values)`` if it never is."""
    centred = np.asarray(values, dtype=np.float64) - np.mean(values)
    n = len(centred)
    lagged = autocovariance(centred, n)[1:]
    below = np.flatnonzero(lagged <= 1e-12 * max(float(centred @ centred), 1e-300))
    return int(below[0]) + 1 if len(below) else n


class _MeanForecast:
    """The mean of fitted regressors' forecasts, each reading its own columns of
    ``[r_t, lags]`` (the forecaster's ``inputs_="mean of lags and representation"``)."""

    def __init__(self, parts, columns_of, n_vars):
        self.parts, self._columns_of, self._n_vars = parts, columns_of, n_vars

    def predict(self, X):
        forecasts = [model.predict(self._columns_of(X, inputs, self._n_vars))
                     for model, inputs in self.parts]  # fmt: skip
        return np.mean(forecasts, axis=0)
