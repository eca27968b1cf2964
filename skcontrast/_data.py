"""Input reading, checks and normalisation for panels of series, as numpy3D (n, channels, time)."""

from __future__ import annotations

import contextlib
import contextvars
import warnings

import numpy as np

# re-exported: the normalisation lives in its own module, callers import it from here
from skcontrast._normalization import CONSTANT_RTOL as CONSTANT_RTOL
from skcontrast._normalization import global_statistics as global_statistics
from skcontrast._normalization import is_constant as is_constant
from skcontrast._normalization import normalize_panel as normalize_panel

NORMALIZATIONS = ("zscore", "global", None)

_PANEL_FORMS = (
    "a 3-D array (n_series, n_channels, n_timepoints), a 2-D array or list of lists "
    "(n_series, n_timepoints), or an sktime panel container"
)


class LikelyTransposedWarning(UserWarning):
    """A 3-D array with more channels than time points: its last two axes may be swapped."""


# off while the forecaster and the detector fit a transformer on their own windows, which
# may rightly have more variables than time points
_SHAPE_WARNINGS = contextvars.ContextVar("skcontrast_shape_warnings", default=True)


@contextlib.contextmanager
def quiet_shape_warnings(active=True):
    """No :class:`LikelyTransposedWarning` inside, if ``active`` (a context variable: per
    thread and task)."""
    token = _SHAPE_WARNINGS.set(not active and _SHAPE_WARNINGS.get())
    try:
        yield
    finally:
        _SHAPE_WARNINGS.reset(token)


def _prefix(name):
    return f"{name}: " if name else ""


def refuse_complex(X, name=None, what="X"):
    """Raise a ValueError for complex values, whose imaginary part a cast would drop."""
    import pandas as pd

    if isinstance(X, (pd.DataFrame, pd.Series)):
        dtypes = X.dtypes if isinstance(X, pd.DataFrame) else [X.dtype]
        is_complex = any(pd.api.types.is_complex_dtype(t) for t in dtypes)
    elif isinstance(X, (list, tuple)) and X and all(isinstance(p, pd.DataFrame) for p in X):
        is_complex = any(pd.api.types.is_complex_dtype(t) for p in X for t in p.dtypes)
    else:  # arrays and anything with a dtype; nested lists are checked once an array
        dtype = getattr(X, "dtype", None)
        is_complex = isinstance(dtype, np.dtype) and dtype.kind == "c"
    if is_complex:
        raise ValueError(
            f"{_prefix(name)}Complex data not supported: {what} holds complex numbers; "
            "series must be real-valued "
            "(casting would silently drop the imaginary part). Pass the part you mean, e.g. "
            f"{what}.real, np.abs({what}), or both as separate variables."
        )


def as_sklearn_panel(X, name=None):
    """Read arrays and lists the scikit-learn way; give sktime only its own containers.

    sktime reads a 2-D array as ONE series of shape (time, variables); a scikit-learn
    user hands ``(n_samples, n_timepoints)`` and expects one output row per sample. A 2-D
    ``np.ndarray`` (or a list of equal-length lists of numbers, read with ``np.asarray``)
    becomes a univariate 3-D panel ``(n, 1, T)``; an equal-length multi-index DataFrame
    becomes a 3-D array in one reshape (sktime would make one DataFrame per series);
    everything else (3-D arrays, pandas and other sktime containers) is left to sktime's
    own conversion. Complex values and arrays of other dimensions are clear errors.
    """
    import pandas as pd

    if isinstance(X, (list, tuple)) and not (X and all(isinstance(p, pd.DataFrame) for p in X)):
        X = _list_as_array(X, name)
    X = _array_like_as_array(X)
    refuse_complex(X, name)
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        values = multiindex_to_numpy3d(X)
        return X if values is None else values
    if not isinstance(X, np.ndarray):
        return X
    X = numeric_array(X, name)
    if X.ndim == 2:
        check_not_empty(X.shape, name, what="2-D array (n_series, n_timepoints)")
        return X[:, np.newaxis, :]
    if X.ndim == 1:
        raise ValueError(
            f"{_prefix(name)}Expected a 2-D or 3-D array, got a 1-D array of shape {X.shape} "
            "instead: a panel of series is needed. Reshape your data: one series as "
            "X.reshape(1, -1) (one univariate series), several as a 2-D array (n_series, "
            "n_timepoints) or a 3-D array (n_series, n_channels, n_timepoints)."
        )
    if X.ndim != 3:
        raise ValueError(
            f"{_prefix(name)}X is a {X.ndim}-D array of shape {X.shape}; expected "
            f"{_PANEL_FORMS}. Drop axes of size 1 with np.squeeze(X, axis=...) or reshape it."
        )
    return X


def _array_like_as_array(X):
    """An array-like that no reader knows (no ndarray, pandas or sktime container, but
    ``np.asarray`` makes an array of it) as that array, as scikit-learn reads it."""
    import pandas as pd

    if isinstance(X, (np.ndarray, pd.DataFrame, pd.Series, list, tuple, str, dict)):
        return X
    from sktime.datatypes import check_is_scitype

    if check_is_scitype(X, scitype=["Series", "Panel", "Hierarchical"]):
        return X  # e.g. an xarray or polars container: sktime's own conversion reads it
    values = np.asarray(X)
    return values if values.ndim > 0 and values.dtype != object else X


def numeric_array(X: np.ndarray, name=None) -> np.ndarray:
    """``X`` itself, or an object array of numbers as float64 (as scikit-learn's
    ``check_array``); anything else that is not numbers is a ``TypeError``."""
    if X.dtype.kind in "biufc":
        return X
    if X.dtype != object:  # strings, dates, bytes, ...
        raise TypeError(
            f"{_prefix(name)}X holds {X.dtype} values; series must be numbers. Convert them "
            "first, e.g. np.asarray(X, dtype=float)."
        )
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{_prefix(name)}X is an object array whose values are not all numbers ({err}); "
            "series must be numbers. Convert them first, e.g. np.asarray(X, dtype=float)."
        ) from err


def check_not_empty(shape, name=None, what="panel (n_series, n_channels, n_timepoints)"):
    """A ValueError with scikit-learn's wording for an array without samples or values."""
    if shape[0] == 0:
        raise ValueError(
            f"{_prefix(name)}Found array with 0 sample(s) (shape={shape}) while a minimum of "
            f"1 is required: X is an empty {what}; pass at least one series."
        )
    if 0 in shape[1:]:
        raise ValueError(
            f"{_prefix(name)}Found array with 0 feature(s) (shape={shape}) while a minimum "
            f"of 1 is required: X is a {what} without values; every series needs at least "
            "one channel and one time point."
        )


def _list_as_array(X, name):
    """A list of series (lists, tuples or 1-D arrays of numbers) as one array."""
    if len(X) == 0:
        raise ValueError(
            f"{_prefix(name)}X is an empty {type(X).__name__}; expected {_PANEL_FORMS}."
        )
    if any(isinstance(p, np.ndarray) and p.ndim >= 2 for p in X):
        raise TypeError(
            f"{_prefix(name)}X is a list of {len(X)} arrays of 2 or more dimensions, i.e. "
            "several panels (a corpus, which only AimTSTransformer.fit accepts); pass one "
            f"panel: {_PANEL_FORMS}."
        )
    try:
        values = np.asarray(X)
    except ValueError:  # numpy refuses ragged nesting
        values = None
    if values is None or values.dtype == object:
        lengths = sorted({np.size(p) if np.ndim(p) else 1 for p in X})
        raise ValueError(
            f"{_prefix(name)}X is a list of {len(X)} series with different lengths "
            f"{lengths[:5]}{'...' if len(lengths) > 5 else ''}; a list of lists is read as a "
            "2-D array (n_series, n_timepoints), which needs one length. Pad or truncate the "
            "series, or pass unequal lengths as an sktime panel, e.g. a list of pd.DataFrame "
            "(one (n_timepoints, n_channels) frame per series)."
        )
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise TypeError(
            f"{_prefix(name)}X is a list holding {values.dtype} values; series must be "
            "numbers. Convert them first, e.g. np.asarray(X, dtype=float)."
        )
    return values


def multiindex_to_numpy3d(X):
    """An equal-length multi-index panel ``(instance, time)`` as numpy3D, or ``None``.

    Vectorised: one reshape of ``X.to_numpy()`` instead of sktime's one DataFrame per
    series. ``None`` (sktime's conversion then decides) unless there are exactly two index
    levels, numeric (not bool) columns, every instance in one contiguous block of the same
    number of rows, and strictly increasing time labels in each. Instances keep their
    order of appearance, as in sktime's own conversion.
    """
    import pandas as pd

    index = X.index
    if index.nlevels != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        return None
    if not all(isinstance(t, np.dtype) and t.kind in "iuf" for t in X.dtypes):
        return None
    time_labels = index.levels[1]
    if (
        not (
            pd.api.types.is_integer_dtype(time_labels.dtype)
            or isinstance(time_labels, (pd.DatetimeIndex, pd.PeriodIndex, pd.TimedeltaIndex))
        )
        or not time_labels.is_monotonic_increasing
    ):
        return None  # time labels sktime would check or order differently
    instances, times = (np.asarray(c) for c in index.codes)
    if (instances < 0).any() or (times < 0).any():
        return None  # missing labels
    starts = np.flatnonzero(np.r_[True, instances[1:] != instances[:-1]])
    n_series = len(starts)
    n_timepoints, remainder = divmod(len(X), n_series)
    if remainder or not (np.diff(np.r_[starts, len(X)]) == n_timepoints).all():
        return None  # unequal lengths
    if len(np.unique(instances[starts])) != n_series:
        return None  # an instance in several blocks
    if n_timepoints > 1 and not (np.diff(times.reshape(n_series, n_timepoints), axis=1) > 0).all():
        return None  # time not sorted within an instance
    values = X.to_numpy()  # (n_series * n_timepoints, n_channels)
    return values.reshape(n_series, n_timepoints, X.shape[1]).transpose(0, 2, 1)


def warn_if_transposed(X: np.ndarray, name: str, stacklevel: int = 3):
    """Warn when a panel ``(n, C, T)`` has more channels than time points."""
    n, n_channels, n_timepoints = X.shape
    if n_channels > n_timepoints and _SHAPE_WARNINGS.get():
        warnings.warn(
            f"{name} got series with more channels than time points: X has shape "
            f"(n_series, n_channels, n_timepoints) = {X.shape}, so its last two axes may "
            f"be swapped. If your array is (n_series, n_timepoints, n_channels), pass "
            "np.swapaxes(X, 1, 2).",
            LikelyTransposedWarning,
            stacklevel=stacklevel,
        )


def is_one_series_frame(X) -> bool:
    """A plain 2-D numeric DataFrame with several columns: sktime reads it as ONE series."""
    import pandas as pd

    return (
        isinstance(X, pd.DataFrame)
        and not isinstance(X.index, pd.MultiIndex)
        and X.shape[0] > 1
        and X.shape[1] > 1
        and all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
    )


def single_series_message(X, name: str) -> str:
    """Why a contrastive transformer fitted on one series did not train, and the fix."""
    if is_one_series_frame(X):
        return (
            f"{name} got a 2-D pd.DataFrame of shape {X.shape}, which sktime reads as a "
            f"single series of {X.shape[0]} time points and {X.shape[1]} variables (rows = "
            "time points, columns = variables). A contrastive loss needs other series as "
            "negatives, so training did not happen (stop_reason_='single_series') and "
            "transform returns one row. If each row is a series, pass X.to_numpy() (read as "
            "(n_series, n_timepoints)) or a 3-D array (n_series, n_channels, n_timepoints)."
        )
    return (
        f"{name} got a single series: a contrastive loss needs other series as negatives, "
        "so training did not happen (stop_reason_='single_series') and the network keeps "
        "its seeded initial weights."
    )


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

    NaN marks a missing value (allowed unless ``allow_nan=False``); complex values,
    infinities, values beyond float32 and channels without a single observed value are
    errors.
    """
    refuse_complex(X, estimator_name)
    X = numeric_array(X, estimator_name)
    n = len(X)
    check_not_empty(X.shape, estimator_name)
    with np.errstate(over="ignore", invalid="ignore"):
        X = np.ascontiguousarray(X, dtype=np.float32)
    missing = np.isnan(X)
    bad = np.isinf(X) | (missing if not allow_nan else False)
    if bad.any():
        n_bad = int(bad.any(axis=(1, 2)).sum())
        what = "NaN or infinite values" if not allow_nan else "infinite values"
        raise ValueError(
            f"X contains {what} (or values beyond float32 range) in {n_bad} of {n} series. "
            f"{estimator_name} needs finite series"
            f"{'' if not allow_nan else ' (NaN marks a missing value)'}: "
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
        raise ValueError(
            f"series have different channel counts {sorted(channels)}; every series needs the "
            "same variables."
        )
    lengths = np.array([s.shape[1] for s in series])
    return [
        (
            np.flatnonzero(lengths == length),
            np.stack([series[i] for i in np.flatnonzero(lengths == length)]),
        )
        for length in np.unique(lengths)
    ]


def timestep_input(X, name):
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
    groups = groups_by_length(sktime_inner(panel, name))
    if len(groups) > 1:
        raise ValueError(
            f"{name}.transform_timesteps needs series of one length (got {len(groups)} "
            "lengths); pass each series on its own."
        )
    return groups[0][1], False


def sktime_inner(X, name):
    """A sktime panel container as a numpy3D array or a df-list (unequal lengths)."""
    from sktime.datatypes import check_is_scitype, convert_to

    if not check_is_scitype(X, scitype="Panel"):
        raise TypeError(
            f"{name}: could not read X ({type(X).__name__}) as a series or a panel; pass a "
            "pd.DataFrame (time x variables), a 1-D/2-D/3-D array or an sktime panel."
        )
    return convert_to(X, to_type=["numpy3D", "df-list"])


def is_corpus(X) -> bool:
    """A list/tuple of panels (not sktime's list-of-DataFrames, which is one panel)."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    from sktime.datatypes import check_is_scitype

    return all(
        (isinstance(p, np.ndarray) and p.ndim in (2, 3))
        or (not isinstance(p, np.ndarray) and check_is_scitype(p, scitype="Panel"))
        for p in X
    )


def to_numpy3d(panel, name) -> np.ndarray:
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
