"""Input checks and normalisation for panels of series, as numpy3D (n, channels, time)."""

from __future__ import annotations

import numpy as np

NORMALIZATIONS = ("zscore", None)


def as_sklearn_panel(X):
    """Read a 2-D numpy array as ``(n_series, n_timepoints)``, the scikit-learn convention.

    sktime reads a 2-D array as ONE series of shape (time, variables); a scikit-learn
    user hands ``(n_samples, n_timepoints)`` and expects one output row per sample. A 2-D
    ``np.ndarray`` becomes a univariate 3-D panel ``(n, 1, T)``; everything else (3-D
    arrays, pandas and other sktime containers) is left to sktime's own conversion.
    """
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return X[:, np.newaxis, :]
    if isinstance(X, np.ndarray) and X.ndim == 1:
        raise ValueError(
            f"X is a 1-D array of shape {X.shape}; expected a panel of series. Pass one "
            "series as X.reshape(1, -1) (one univariate series), or several as a 2-D "
            "array (n_series, n_timepoints) or a 3-D array (n_series, n_channels, "
            "n_timepoints)."
        )
    return X


def check_not_one_series_with_labels(X, y, estimator_name: str):
    """Refuse a 2-D pandas DataFrame with one label per row.

    sktime reads a plain 2-D DataFrame as ONE series (rows = time, columns = variables),
    so ``(n_series, n_timepoints)`` data in a DataFrame would become a single series and a
    single output row, and the next pipeline step would fail on a sample-count mismatch.
    A 1-D label vector with one entry per row of a multi-column frame says the user meant
    rows as series (sktime's own time-aligned ``y`` for a series is 2-D, and left alone).
    """
    import pandas as pd

    if (
        isinstance(X, pd.DataFrame)
        and not isinstance(X.index, pd.MultiIndex)
        and all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
        and X.shape[0] > 1
        and X.shape[1] > 1
        and y is not None
        and np.ndim(y) == 1
        and len(y) == len(X)
    ):
        raise ValueError(
            f"{estimator_name} got a 2-D DataFrame of shape {X.shape} and {len(y)} labels. "
            "sktime reads a 2-D DataFrame as ONE series (rows = time points, columns = "
            "variables), which would give one output row. If each row is a series, pass "
            "X.to_numpy() (read as (n_series, n_timepoints)) or a 3-D array "
            "(n_series, n_channels, n_timepoints)."
        )


def check_panel(X: np.ndarray, estimator_name: str, allow_nan: bool = True) -> np.ndarray:
    """Validate a numpy3D panel and return it as a contiguous float32 array.

    NaN marks a missing value (allowed unless ``allow_nan=False``); infinities, values
    beyond float32 and channels without a single observed value are errors.
    """
    if X.dtype == object or not np.issubdtype(X.dtype, np.number):
        raise TypeError(
            f"{estimator_name} needs numeric series, got dtype {X.dtype}. Convert X to "
            "floats, e.g. X.astype('float32')."
        )
    n, n_channels, n_timepoints = X.shape
    if n == 0 or n_channels == 0 or n_timepoints == 0:
        raise ValueError(
            f"{estimator_name} got an empty panel of shape (n_series, n_channels, "
            f"n_timepoints) = {X.shape}; it needs at least one series with one channel "
            "and one time point."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        X = np.ascontiguousarray(X, dtype=np.float32)
    missing = np.isnan(X)
    bad = np.isinf(X) | (missing if not allow_nan else False)
    if bad.any():
        n_bad = int(bad.any(axis=(1, 2)).sum())
        what = "NaN or infinite values" if not allow_nan else "infinite values"
        raise ValueError(
            f"X contains {what} (or values beyond float32 range) in {n_bad} of {n} series. "
            f"{estimator_name} needs finite series{'' if not allow_nan else ' (NaN marks a missing value)'}: "
            "clip or impute them first, e.g. with sktime.transformations.series.impute.Imputer, "
            "or drop those series."
        )
    empty = missing.all(axis=2)
    if empty.any():
        series, channel = np.argwhere(empty)[0]
        raise ValueError(
            f"{estimator_name}: channel {channel} of series {series} has no observed value (all "
            f"NaN; {int(empty.sum())} such channels). Impute or drop them first."
        )
    return X


def normalize_panel(X: np.ndarray, how) -> np.ndarray:
    """Per-series, per-channel normalisation.

    ``"zscore"`` subtracts each channel's mean and divides by its standard deviation; a
    constant channel (std 0) becomes all zeros rather than NaN; missing values (NaN) are
    ignored in the statistics and stay missing. ``None`` leaves X as is.
    """
    if how is None:
        return X
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(X, axis=2, keepdims=True, dtype=np.float64)
        std = np.nanstd(X, axis=2, keepdims=True, dtype=np.float64)
    # constant channels: no scale information, map to zero instead of dividing by 0
    std[std < 1e-8] = 1.0
    # statistics in float64, the arithmetic in float32: no float64 copy of the panel
    out = X - mean.astype(np.float32)
    out /= std.astype(np.float32)
    return out  # NaN (missing) stays NaN
