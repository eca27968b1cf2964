"""A discord score: each subsequence's distance to its nearest neighbour.

The matrix profile's discord (Yeh et al. 2016) in the detector's terms: a subsequence of
``m`` points is as anomalous as it is far, in z-normalised Euclidean distance, from every
other subsequence, those of the training series and those of the scored series itself (an
anomaly is a pattern that does not recur). Trivial matches, subsequences of the scored
series that overlap it by more than three quarters, are excluded, as in the matrix
profile.

Bounded cost, for series of any length:

- windows longer than ``MAX_WIDTH`` points are compared after piecewise-aggregate
  averaging over ``f = ceil(m / MAX_WIDTH)`` points (so each compared window has at most
  ``MAX_WIDTH`` values);
- a subsequence of the scored series is compared with the last ``MAX_REFERENCE``
  subsequences of the training series and with those of the scored series within
  ``BAND`` subsequences of it (a local discord beyond that distance);
- distances come from matrix products in chunks of ``CHUNK`` subsequences.

So the time is linear in the series' length, about ``n / f * (MAX_REFERENCE + 2 * BAND)
* 2 * m / f`` floating-point operations, and the memory is ``O(CHUNK * (MAX_REFERENCE + 2 *
BAND))`` beside the windows themselves.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAX_WIDTH = 128
MAX_REFERENCE = 20_000
BAND = 20_000
CHUNK = 512


def aggregation(m: int) -> int:
    """Points averaged into one compared value for windows of ``m`` points."""
    return max(1, math.ceil(m / MAX_WIDTH))


def reference_tail(values: np.ndarray, m: int) -> np.ndarray:
    """The end of a training series that holds its last ``MAX_REFERENCE`` subsequences, cut
    on the averaging grid (what a detector keeps to compare later series with: the same
    compared windows as the whole series gives)."""
    f = aggregation(m)
    keep = (MAX_REFERENCE + max(2, m // f)) * f
    start = max(0, (len(values) - keep) // f * f)
    return values[start:]


def _windows(values: np.ndarray, f: int, width: int) -> np.ndarray:
    """Z-normalised windows ``(n, C * width)`` (float32) of ``values`` ``(T, C)`` averaged
    over ``f`` points; a flat window (no variation) is all zeros."""
    n = len(values) // f * f
    coarse = values[:n].reshape(-1, f, values.shape[1]).mean(axis=1)
    if len(coarse) < width:
        return np.zeros((0, values.shape[1] * width), dtype=np.float32)
    W = sliding_window_view(coarse, width, axis=0)  # (n, C, width)
    mean = W.mean(axis=2, keepdims=True)
    std = W.std(axis=2, keepdims=True)
    peak = np.abs(coarse).max(axis=0)[None, :, None]
    flat = ~(std > 1e-8 * np.where(peak > 0, peak, 1.0))  # relative to the channel's size
    Z = (W - mean) / np.where(flat, 1.0, std)
    Z[np.broadcast_to(flat, Z.shape)] = 0.0
    return Z.reshape(len(Z), -1).astype(np.float32)


def discord_scores(values: np.ndarray, m: int, reference: np.ndarray | None = None):
    """Nearest-neighbour distance of each point's subsequence, ``(T,)``.

    ``values`` ``(T, C)``: the scored series; ``reference`` ``(T', C)`` or ``None``: the
    training series its subsequences are also compared with. A subsequence of ``m``
    points is scored at its centre, the distance divided by ``sqrt(m' * C)`` (``m'`` the
    compared width) so that it lies in ``[0, 2]``; the first and last ``m // 2`` points
    take the score of the first and last subsequence. Needs ``T >= m``.
    """
    # each channel over its largest magnitude (windows are z-normalised: the distances do
    # not change, and squares of values beyond ~1e154 would overflow)
    values = np.asarray(values, dtype=np.float64)
    values = values.reshape(len(values), -1)
    peak = np.abs(values).max(axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    values = values / peak
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1) / peak
    f = aggregation(m)
    width = max(2, m // f)
    Q = _windows(values, f, width)
    if len(Q) == 0:
        raise ValueError(f"a discord of {m}-point subsequences needs at least {m} points")
    R = np.zeros((0, Q.shape[1]), dtype=np.float32)
    if reference is not None:
        R = _windows(reference, f, width)[-MAX_REFERENCE:]
    norms_q, norms_r = (Q * Q).sum(axis=1), (R * R).sum(axis=1)
    exclusion = math.ceil(width / 4)
    best = np.empty(len(Q))
    for start in range(0, len(Q), CHUNK):
        stop = min(start + CHUNK, len(Q))
        lo, hi = max(0, start - BAND), min(len(Q), stop + BAND)
        # (squared distance - |q|^2) = |r|^2 - 2 q.r for the scored series' own band ...
        own = Q[start:stop] @ Q[lo:hi].T
        own *= -2.0
        own += norms_q[lo:hi]
        rows = np.arange(stop - start)
        # ... within BAND of each subsequence: the chunk's band is BAND wider than a row's
        # at either end, so a row's out-of-band columns lie in the first or last
        # ``stop - start`` columns
        edge = min(stop - start, hi - lo)
        cols = np.arange(edge)
        own[:, :edge][cols[None, :] < (rows + start - BAND - lo)[:, None]] = np.inf
        right = hi - lo - edge + cols
        own[:, hi - lo - edge :][right[None, :] > (rows + start + BAND - lo)[:, None]] = np.inf
        for offset in range(-exclusion, exclusion + 1):  # ... without trivial matches
            cols = rows + start + offset - lo
            keep = (cols >= 0) & (cols < hi - lo)
            own[rows[keep], cols[keep]] = np.inf
        nearest = own.min(axis=1)
        if len(R):  # ... and for the training series'
            other = Q[start:stop] @ R.T
            other *= -2.0
            other += norms_r
            nearest = np.minimum(nearest, other.min(axis=1))
        best[start:stop] = nearest + norms_q[start:stop]
    # no other subsequence at all (a series of about one window, no reference): 0
    best[~np.isfinite(best)] = 0.0
    distance = np.sqrt(np.maximum(best, 0.0) / (width * values.shape[1]))
    # back to the points: subsequence k covers [k f, (k + width) f), centred at its middle
    per_point = np.repeat(distance, f)
    out = np.empty(len(values))
    first = width * f // 2
    out[:first] = per_point[0]
    end = min(len(values), first + len(per_point))
    out[first:end] = per_point[: end - first]
    out[end:] = per_point[-1]
    return out
