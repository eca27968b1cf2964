"""Normalisation of panels of series: per series (z-score) or with dataset statistics.

Units invariant: the statistics are float64 (squares of float32 values do not overflow)
and the constant-channel test is relative to each channel's magnitude, so the same data
in other units (values around 1e-10 or 1e20) normalises to the same panel.
"""

from __future__ import annotations

import numpy as np

# a channel whose standard deviation is at most this fraction of its largest magnitude is
# constant: relative, so that the same data in other units (1e-10, 1e20) is treated alike;
# a few float32 steps (eps 1.2e-7), below which the variation is rounding, not signal
CONSTANT_RTOL = 1e-6
# series per float64 block of the statistics (bounded memory: no float64 panel copy)
_STATISTICS_BLOCK_VALUES = 1 << 22


def _series_statistics(X: np.ndarray):
    """Per-series, per-channel ``(mean, std, peak)``, each ``(n, C, 1)`` float64, NaN ignored.

    Computed on float64 copies of blocks of series: squares of float32 values cannot
    overflow (``np.nanstd(x32, dtype=np.float64)`` still squares in float32 above ~1e19).
    ``peak`` is the largest magnitude, the reference of the relative constant test. A
    channel without an observed value gets NaN statistics (and peak 0), without the
    warning of ``np.nanmean`` (whose filters are not thread-safe to silence).
    """
    shape = X.shape[:2] + (1,)
    mean, std, peak = np.empty(shape), np.empty(shape), np.empty(shape)
    rows = max(1, _STATISTICS_BLOCK_VALUES // max(1, X.shape[1] * X.shape[2]))
    for start in range(0, len(X), rows):
        block = np.asarray(X[start : start + rows], dtype=np.float64)
        observed = ~np.isnan(block)
        count = observed.sum(axis=2, keepdims=True)
        filled = np.where(observed, block, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: NaN, as wanted
            m = filled.sum(axis=2, keepdims=True) / count
            deviation = np.where(observed, block - m, 0.0)
            std[start : start + rows] = np.sqrt(
                np.square(deviation).sum(axis=2, keepdims=True) / count
            )
        mean[start : start + rows] = m
        peak[start : start + rows] = np.abs(filled).max(axis=2, keepdims=True)
    return mean, std, peak


def is_constant(std, peak):
    """Channels without variation, relative to their magnitude (units invariant)."""
    return ~(std > CONSTANT_RTOL * peak)


def normalize_panel(X: np.ndarray, how, statistics=None) -> np.ndarray:
    """Per-series (``"zscore"``) or dataset-level (``"global"``) per-channel normalisation.

    ``"zscore"`` subtracts each series' channel mean and divides by its standard deviation;
    a constant channel (a standard deviation of at most ``CONSTANT_RTOL`` times its largest
    magnitude, a relative test: data in other units gives the same result) becomes all
    zeros rather than NaN. ``"global"`` subtracts the fitted per-channel ``statistics =
    (mean, scale)`` of the training data (see :func:`global_statistics`) and divides by its
    scale, so that levels and spreads keep their differences between series. The
    statistics are float64 (no float32 overflow of squares). Missing values (NaN) are
    ignored in the statistics and stay missing. ``None`` leaves X as is.
    """
    if how is None:
        return X
    if how == "global":
        mean, scale = statistics
        if X.shape[1] != len(mean):
            raise ValueError(
                f"X has {X.shape[1]} channel(s), but normalize='global' holds statistics of "
                f"{len(mean)} fitted channel(s); pass series with the fitted channels, or fit "
                "with normalize='zscore' to encode any channel count."
            )
        out = X - mean[None, :, None]
        out /= scale[None, :, None]
        return out.astype(np.float32, copy=False)
    mean, std, peak = _series_statistics(X)
    # constant channels: no scale information; dividing by inf maps them to exactly zero
    # (whatever rounding residue the subtraction leaves), and NaN (missing) stays NaN
    std[is_constant(std, peak)] = np.inf
    std32 = std.astype(np.float32)
    if np.any(np.isfinite(std) & ~(std32 >= np.finfo(np.float32).tiny)):
        # a spread below float32's normal range (values of ~1e-38 or less) would divide by
        # a flushed zero: this panel in float64, the same z-scores as in any other unit
        return ((X.astype(np.float64) - mean) / std).astype(np.float32)
    # statistics in float64, the arithmetic in float32: no float64 copy of the panel
    out = X - mean.astype(np.float32)
    out /= std32
    return out


def global_statistics(panels, name: str):
    """Per-channel mean and standard deviation (float32, ``(C,)`` each) over every observed
    value of every series of ``panels`` (numpy3D, one channel count).

    A constant channel (relative test, as in :func:`normalize_panel`) gets its largest
    magnitude as scale (1 if it is all zeros): values at transform then read as relative
    deviations from the training constant, in any units.
    """
    channels = {p.shape[1] for p in panels}
    if len(channels) > 1:
        raise ValueError(
            f"{name}(normalize='global') fits one set of per-channel statistics, but the "
            f"panels have {sorted(channels)} channels; use normalize='zscore' for a corpus "
            "of different channel counts."
        )
    n_channels = channels.pop()
    total = np.zeros(n_channels)
    count = np.zeros(n_channels)
    peak = np.zeros(n_channels)
    for p in panels:  # two passes in float64, one channel-sum at a time (no panel copy)
        total += np.nansum(p, axis=(0, 2), dtype=np.float64)
        count += (~np.isnan(p)).sum(axis=(0, 2))
        peak = np.fmax(peak, np.nanmax(np.abs(p), axis=(0, 2)).astype(np.float64))
    mean = total / np.maximum(count, 1)
    square = np.zeros(n_channels)
    for p in panels:
        square += np.nansum(np.square(p - mean[None, :, None], dtype=np.float64), axis=(0, 2))
    scale = np.sqrt(square / np.maximum(count, 1))
    constant = is_constant(scale, peak)
    scale[constant] = np.where(peak[constant] > 0, peak[constant], 1.0)
    return mean.astype(np.float32), scale.astype(np.float32)
