"""What the forecaster and the detector share: one long series -> causal step features.

Both follow the TS2Vec protocol: the series is z-normalised with training statistics, the
transformer is trained on windows cut from the training series (its own per-series
normalisation switched off, so windows keep their level), and every time point gets the
causal representation ``r_t`` from ``transform_timesteps``. ``transformer="passthrough"``
gives the raw lag window ``x[t - L + 1 .. t]`` instead: the linear baseline on the same
context length.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from skcontrast._data import quiet_shape_warnings, refuse_complex
from skcontrast._validation import Interval, Options, Rule

REPRESENTATIONS = ("timesteps", "pooled")
# transformer=None: BTSF with 200 steps of 16 windows, not the classifier's 100 of 32. The
# same windows seen in twice the steps make better per-timestep features for long
# horizons (ETTh1, three seeds: MSE 0.674 / 0.986 / 1.189 at 168 / 336 / 720 hours against
# 0.699 / 1.032 / 1.243; the short horizons equal), benchmarks/README.md
STEP_DEFAULTS = {"batch_size": 16, "n_iters": 200}
# a variable whose standard deviation is at most this fraction of its largest magnitude is
# constant (the series are float64: about a thousand float64 steps, eps 2.2e-16)
CONSTANT_RTOL_FLOAT64 = 1e-12


def _check_transformer(est):
    transformer = est.transformer
    if not (
        transformer is None
        or (isinstance(transformer, str) and transformer == "passthrough")
        or hasattr(transformer, "transform_timesteps")
    ):
        raise TypeError(
            f"{type(est).__name__}: transformer must be None (the default BTSF), 'passthrough' "
            "(raw lag window) or an skcontrast transformer with transform_timesteps, e.g. "
            f"AimTSTransformer(); got {type(transformer).__name__}."
        )


# the parameters the forecaster and the detector share, in the order they are checked
COMMON_CONSTRAINTS = {
    "window_length": [Interval("int", 2)],
    "train_stride": [None, Interval("int", 1)],
    "representation": [Options(REPRESENTATIONS)],
}
COMMON_RULES = (Rule("representation", _check_transformer),)


def series_values(X, name, what="X") -> np.ndarray:
    """One series (``(T,)`` or ``(T, C)``: DataFrame, Series, array) as float64 ``(T, C)``.

    Complex numbers, non-numeric values, NaN and infinities are errors: the forecaster and
    the detector do not handle missing values (a NaN in one variable would also hide an
    anomaly in another), and a cast would drop an imaginary part.
    """
    refuse_complex(X, name, what)
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name}: {what} must hold numbers ({type(err).__name__}: {err}); convert it "
            "first, e.g. with .astype(float)."
        ) from err
    values = values.reshape(len(values), -1)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        kind = "missing (NaN)" if np.isnan(values).any() else "infinite"
        raise ValueError(
            f"{name}: {what} has {kind} values at {len(rows)} time point(s) (first at "
            f"position {rows[0]}); {name} needs finite values in every variable. Impute "
            "them first (e.g. sktime.transformations.series.impute.Imputer) or drop those "
            "points."
        )
    return values


def _mean_and_scale(values):
    """Per-variable mean and standard deviation, in float64, without overflow.

    Squares of values beyond about 1e154 overflow float64: the statistics are then taken
    on the values divided by their largest magnitude and scaled back (the same result, up
    to rounding, for ordinary values, which keep the direct computation).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean, scale = values.mean(axis=0), values.std(axis=0)
    if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
        peak = np.abs(values).max(axis=0)
        peak[peak == 0] = 1.0
        unit = values / peak
        mean, scale = unit.mean(axis=0) * peak, unit.std(axis=0) * peak
    return mean, scale


class StepFeaturizer:
    """Fitted scaling + transformer: series ``(T, C)`` -> step features ``(T, D)``.

    ``default_transformer`` (a transformer class) is built with ``STEP_DEFAULTS`` when
    ``est.transformer`` is ``None``.
    """

    def __init__(self, est, default_transformer, lags=False):
        self.est = est
        self.default_transformer = default_transformer
        # with a transformer, also give the raw lag window beside r_t (forecaster's lags)
        self.lags = lags

    def fit(self, values: np.ndarray):
        est = self.est
        self.mean_, scale = _mean_and_scale(values)
        # constant variables (relative to their magnitude, so that any units read alike;
        # float64 data: a thousand float64 steps) are divided by that magnitude instead
        peak = np.abs(values).max(axis=0)
        constant = ~(scale > CONSTANT_RTOL_FLOAT64 * peak)
        scale[constant] = np.where(peak[constant] > 0, peak[constant], 1.0)
        self.scale_ = scale
        scaled = self.scale(values)
        L = est.window_length
        if est.transformer == "passthrough":
            self.transformer_ = None
            self.context_ = L
            return self
        transformer = (
            self.default_transformer(**STEP_DEFAULTS)
            if est.transformer is None
            else est.transformer
        )
        transformer = clone(transformer)
        if "normalize" in transformer.get_params():
            # the series is already standardised with training statistics: windows keep
            # their level, which the per-window z-score would erase
            transformer.set_params(normalize=est.transformer_normalize)
        stride = est.train_stride or max(1, L // 4)
        windows = np.lib.stride_tricks.sliding_window_view(scaled, L, axis=0)[::stride]
        with quiet_shape_warnings():  # windows may rightly have more variables than points
            self.transformer_ = transformer.fit(np.ascontiguousarray(windows, dtype=np.float32))
        pooled = est.representation == "pooled"
        self._timestep_kwargs = {"window": L if pooled else None, "pooled": pooled}
        self.context_ = self.transformer_.timestep_context(**self._timestep_kwargs)
        if self.lags:
            self.context_ = max(self.context_, L)
        return self

    def fit_features(self, values: np.ndarray):
        """Fit on the training series; returns it scaled and its step features (the
        representation encoded once)."""
        self.fit(values)
        scaled = self.scale(values)
        if self.transformer_ is None or not self.lags:
            return scaled, self.features(scaled)
        # r_t's columns at unit scale on the training series, as the z-scored lags: one
        # Ridge penalty then weighs both blocks alike
        r = self._representation(scaled)
        scale = r[self.est.window_length - 1 :].std(axis=0)
        self.representation_scale_ = np.where(scale > 1e-12, scale, 1.0).astype(np.float32)
        return scaled, np.concatenate([r / self.representation_scale_,
                                       self._lag_window(scaled)], axis=1)  # fmt: skip

    def scale(self, values):
        """Standardised with the training statistics, as float32 (the encoders' type)."""
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (values - self.mean_) / self.scale_
            out = scaled.astype(np.float32)
        if not np.isfinite(out).all():
            peak = float(np.nanmax(np.abs(scaled)))
            raise ValueError(
                f"{type(self.est).__name__}: after standardising with the training mean and "
                f"standard deviation the values reach {peak:.3g}, beyond float32 range "
                "(about 3.4e38): they are too far from the training data's scale. Rescale "
                "the series (the same way in fit and later) or refit on data of this scale."
            )
        return out

    def unscale(self, values):
        return values * self.scale_ + self.mean_

    def features(self, scaled: np.ndarray) -> np.ndarray:
        """Step features ``(T, D)`` of a scaled series; rows before a full lag window
        (passthrough, or lags beside the representation) are NaN."""
        if self.transformer_ is None:
            return self._lag_window(scaled)
        if not self.lags:
            return self._representation(scaled)
        r = self._representation(scaled) / self.representation_scale_
        return np.concatenate([r, self._lag_window(scaled)], axis=1)

    def _representation(self, scaled):
        return self.transformer_.transform_timesteps(scaled[np.newaxis].transpose(0, 2, 1),
                                                     **self._timestep_kwargs)[0]  # fmt: skip

    def _lag_window(self, scaled):
        """``x[t - L + 1 .. t]`` flattened per step (NaN before a full window)."""
        L = self.est.window_length
        out = np.full((len(scaled), L * scaled.shape[1]), np.nan, dtype=np.float32)
        if len(scaled) >= L:
            lags = np.lib.stride_tricks.sliding_window_view(scaled, L, axis=0)
            out[L - 1 :] = lags.reshape(len(lags), -1)
        return out


def autocovariance(centred, n_lags) -> np.ndarray:
    """Sample autocovariance sums of a centred series ``(T,)`` or ``(T, C)`` at lags
    ``0 .. n_lags - 1`` (along axis 0), by FFT with zero padding: O(T log T)."""
    spectrum = np.fft.rfft(centred, 2 * len(centred), axis=0)
    return np.fft.irfft(spectrum * np.conj(spectrum), axis=0)[:n_lags]


def check_length(name, n_points, needed, what):
    if n_points < needed:
        raise ValueError(
            f"{name}: the series has {n_points} points, but {what} needs at least {needed}. "
            "Pass a longer series or lower window_length."
        )
