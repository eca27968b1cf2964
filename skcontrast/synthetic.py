"""Synthetic time series for pretraining: seeded, any length and channel count.

Published frozen encoders owe much of their transfer to the scale and diversity of their
pretraining corpus, and synthetic series are the part of it that costs nothing to grow
(MantisV2 pretrains on synthetic series only; Chronos adds KernelSynth; CauKer mixes
Gaussian-process samples through random causal graphs). :func:`make_synthetic_series`
draws series from four families, each series its own random member:

``"kernel"``
    KernelSynth (Ansari et al., Chronos, 2024): a Gaussian-process sample whose kernel is
    a random sum or product of up to ``MAX_KERNELS`` kernels from a bank (linear, RBF,
    periodic, rational quadratic, white noise, constant) with random hyperparameters.
``"arma"``
    A stable ARMA(p<=3, q<=2) process plus seasonal harmonics, a piecewise-linear trend
    and regime switches of level and scale.
``"motif"``
    A noisy background (AR(1) or a smooth GP) with one to three shapes (bump, square,
    triangle, sine burst, chirp, random smooth shape) at random positions, widths and
    amplitudes: the local patterns that classification sets turn on.
``"mixed"`` (default)
    Each series draws one of the three.

Several channels (and, with ``causal=True``, single channels too) come from a random
causal graph (CauKer, Xie et al., 2025): root nodes are series of the families above,
every other node a random nonlinearity (identity, tanh, ReLU, sine, sigmoid, absolute
value) of a weighted sum of its parents plus a little noise, and the channels are nodes
drawn from the graph, so that channels share structure without being copies.

Everything is numpy, seeded by ``random_state`` alone: the same call gives the same array
on any machine. Gaussian-process samples are drawn on at most ``MAX_GP_POINTS`` points
(a Cholesky factor per kernel, shared by a few series) and linearly resampled to longer
series, so a series costs O(T) beyond that.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter
from sklearn.utils import check_random_state

__all__ = ["FAMILIES", "make_synthetic_corpus", "make_synthetic_series"]

FAMILIES = ("kernel", "arma", "motif")
MAX_KERNELS = 5
MAX_GP_POINTS = 256
_SERIES_PER_KERNEL = 8  # GP samples that share one kernel draw (one Cholesky factor)
_ACTIVATIONS = (
    lambda z: z,
    np.tanh,
    lambda z: np.maximum(z, 0.0),
    np.sin,
    lambda z: 1.0 / (1.0 + np.exp(-z)),
    np.abs,
)


# -- KernelSynth ---------------------------------------------------------------------------
def _random_kernel(rng, t):
    """One kernel of the bank, as a ``(G, G)`` matrix over the grid ``t`` in [0, 1]."""
    d = t[:, None] - t[None, :]
    kind = rng.integers(6)
    if kind == 0:  # linear
        c = rng.uniform(-0.5, 1.5)
        return rng.choice([0.1, 1.0, 10.0]) * (t[:, None] - c) * (t[None, :] - c)
    if kind == 1:  # RBF
        scale = rng.choice([0.01, 0.03, 0.1, 0.3, 1.0])
        return np.exp(-0.5 * (d / scale) ** 2)
    if kind == 2:  # periodic: a period of 3 grid steps to half the series
        period = np.exp(rng.uniform(np.log(min(3.0 / len(t), 0.25)), np.log(0.5)))
        scale = rng.choice([0.5, 1.0, 2.0])
        return np.exp(-2.0 * np.sin(np.pi * np.abs(d) / period) ** 2 / scale**2)
    if kind == 3:  # rational quadratic
        alpha, scale = rng.choice([0.1, 1.0, 10.0]), rng.choice([0.03, 0.1, 0.3, 1.0])
        return (1.0 + d**2 / (2.0 * alpha * scale**2)) ** (-alpha)
    if kind == 4:  # white noise
        return rng.choice([0.01, 0.1, 1.0]) * np.eye(len(t))
    return np.full_like(d, rng.uniform(0.1, 2.0))  # constant


def _kernel_synth(rng, n, length):
    """``(n, length)`` GP samples, a new random kernel composition every few series."""
    grid = min(length, MAX_GP_POINTS)
    t = np.linspace(0.0, 1.0, grid)
    out = np.empty((n, grid))
    for start in range(0, n, _SERIES_PER_KERNEL):
        K = _random_kernel(rng, t)
        for _ in range(rng.integers(MAX_KERNELS)):
            other = _random_kernel(rng, t)
            K = K + other if rng.random() < 0.5 else K * other
        K = K + 1e-6 * np.trace(K) / grid * np.eye(grid) + 1e-8 * np.eye(grid)
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:  # numerically indefinite product: its eigen-square-root
            w, V = np.linalg.eigh(K)
            L = V * np.sqrt(np.clip(w, 0.0, None))
        m = min(_SERIES_PER_KERNEL, n - start)
        out[start : start + m] = (L @ rng.standard_normal((grid, m))).T
    return _to_length(out, length)


def _to_length(x, length):
    if x.shape[1] == length:
        return x
    src = np.linspace(0.0, 1.0, x.shape[1])
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, row) for row in x])


# -- ARMA, seasonality, trend, regimes -------------------------------------------------------
def _stable_ar(rng, p):
    """AR coefficients of a stable process: roots drawn inside the unit circle."""
    roots = rng.uniform(0.1, 0.95, p) * rng.choice([-1.0, 1.0], p)
    return -np.poly(roots)[1:]


def _arma(rng, n, length):
    t = np.arange(length)
    out = np.empty((n, length))
    for i in range(n):
        ar, ma = _stable_ar(rng, rng.integers(1, 4)), rng.normal(0, 0.5, rng.integers(3))
        noise = lfilter(np.r_[1.0, ma], np.r_[1.0, -ar], rng.standard_normal(length + 100))[100:]
        x = noise / (noise.std() + 1e-12) * rng.uniform(0.1, 1.0)
        period = np.exp(rng.uniform(np.log(3.0), np.log(max(4.0, length / 2))))
        for h in range(1, rng.integers(1, 4) + 1):  # seasonal harmonics
            x += rng.uniform(0, 1.5) / h * np.sin(2 * np.pi * h * t / period + rng.uniform(0, 6.3))
        knots = np.sort(rng.integers(0, length, rng.integers(0, 4)))  # piecewise-linear trend
        slope = rng.normal(0, 2.0 / length, len(knots) + 1)
        x += np.cumsum(slope[np.searchsorted(knots, t, side="right")])
        for cut in rng.integers(0, length, rng.integers(0, 3)):  # regime switches
            x[cut:] = x[cut:] * rng.uniform(0.5, 2.0) + rng.normal(0, 1.0)
        out[i] = x
    return out


# -- motifs ---------------------------------------------------------------------------------
def _shape(rng, width):
    u = np.linspace(0.0, 1.0, width)
    kind = rng.integers(6)
    if kind == 0:
        return np.exp(-0.5 * ((u - 0.5) / 0.15) ** 2)  # bump
    if kind == 1:
        return np.where((u > 0.2) & (u < 0.8), 1.0, 0.0)  # square
    if kind == 2:
        return 1.0 - np.abs(2 * u - 1)  # triangle
    if kind == 3:
        return np.sin(2 * np.pi * rng.uniform(1, 4) * u) * np.sin(np.pi * u)  # sine burst
    if kind == 4:
        return np.sin(2 * np.pi * (1 + rng.uniform(2, 8) * u) * u)  # chirp
    return _kernel_synth(rng, 1, width)[0] * np.sin(np.pi * u)  # random smooth shape


def _motif(rng, n, length):
    out = np.empty((n, length))
    for i in range(n):
        if rng.random() < 0.5:
            x = lfilter([1.0], [1.0, -rng.uniform(0, 0.95)], rng.standard_normal(length))
            x *= rng.uniform(0.05, 0.5) / (x.std() + 1e-12)
        else:
            x = 0.3 * _kernel_synth(rng, 1, length)[0]
        for _ in range(rng.integers(1, 4)):
            width = int(np.clip(rng.uniform(0.05, 0.3) * length, 2, length))
            start = rng.integers(0, length - width + 1)
            x[start : start + width] += rng.normal(0, 1.5) * _shape(rng, width)
        out[i] = x
    return out


_GENERATORS = {"kernel": _kernel_synth, "arma": _arma, "motif": _motif}


def _base_series(rng, n, length, kind):
    """``(n, length)`` series of one family, or of a family drawn per series (``"mixed"``)."""
    if kind != "mixed":
        return _GENERATORS[kind](rng, n, length)
    families = rng.integers(len(FAMILIES), size=n)
    out = np.empty((n, length))
    for f, name in enumerate(FAMILIES):
        rows = np.flatnonzero(families == f)
        if len(rows):
            out[rows] = _GENERATORS[name](rng, len(rows), length)
    return out


def _unit(x):
    x = x - x.mean(axis=-1, keepdims=True)
    return x / (x.std(axis=-1, keepdims=True) + 1e-8)


def _causal_mix(rng, n, length, n_channels, kind):
    """``(n, n_channels, length)``: channels are nodes of a random causal graph per series."""
    out = np.empty((n, n_channels, length))
    for i in range(n):
        n_nodes = n_channels + rng.integers(1, 4)
        n_roots = rng.integers(1, max(2, n_nodes // 2) + 1)
        nodes = list(_unit(_base_series(rng, n_roots, length, kind)))
        for _ in range(n_nodes - n_roots):
            parents = rng.choice(len(nodes), rng.integers(1, min(3, len(nodes)) + 1), replace=False)
            z = sum(rng.normal(0, 1) * nodes[p] for p in parents) + rng.normal(0, 0.5)
            act = _ACTIVATIONS[rng.integers(len(_ACTIVATIONS))]
            node = act(z) + 0.1 * rng.standard_normal(length)
            nodes.append(_unit(node))
        # channels: the non-root nodes first (they carry the mixing), then roots
        order = list(range(n_roots, n_nodes))
        rng.shuffle(order)
        order += list(rng.permutation(n_roots))
        out[i] = np.stack([nodes[k] for k in order[:n_channels]])
    return out


def make_synthetic_series(
    n_series, n_timepoints=256, n_channels=1, kind="mixed", causal=None, random_state=None
):
    """Draw synthetic series for pretraining.

    Parameters
    ----------
    n_series, n_timepoints, n_channels : int
        Shape of the panel returned.
    kind : {"mixed", "kernel", "arma", "motif"}, default="mixed"
        The family of the base series (see the module docstring); ``"mixed"`` draws a
        family per series.
    causal : bool or None, default=None
        Mix base series through a random causal graph (CauKer). ``None``: for several
        channels always, for one channel half of the series.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw: the same value gives the same panel.

    Returns
    -------
    ndarray of float32, shape (n_series, n_channels, n_timepoints)
        Each series scaled to zero mean and unit variance per channel, then given a
        random level and scale, so that normalisation still matters.

    Examples
    --------
    >>> from skcontrast.synthetic import make_synthetic_series
    >>> X = make_synthetic_series(8, n_timepoints=100, n_channels=3, random_state=0)
    >>> X.shape, X.dtype
    ((8, 3, 100), dtype('float32'))
    """
    for name, value, low in (("n_series", n_series, 1), ("n_timepoints", n_timepoints, 2),
                             ("n_channels", n_channels, 1)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(
                f"make_synthetic_series: {name} must be an int >= {low}; got {value!r}."
            )
    if kind not in ("mixed", *FAMILIES):
        raise ValueError(
            f"make_synthetic_series: kind must be 'mixed' or one of {FAMILIES}; got {kind!r}."
        )
    if causal not in (None, True, False):
        raise ValueError(
            f"make_synthetic_series: causal must be True, False or None; got {causal!r}."
        )
    rng = np.random.default_rng(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    if causal is None:
        mixed = np.ones(n_series, bool) if n_channels > 1 else rng.random(n_series) < 0.5
    else:
        mixed = np.full(n_series, causal)
    out = np.empty((n_series, n_channels, n_timepoints))
    rows = np.flatnonzero(mixed)
    if len(rows):
        out[rows] = _causal_mix(rng, len(rows), n_timepoints, n_channels, kind)
    rows = np.flatnonzero(~mixed)
    if len(rows):
        base = _base_series(rng, len(rows) * n_channels, n_timepoints, kind)
        out[rows] = _unit(base).reshape(len(rows), n_channels, n_timepoints)
    out = out * np.exp(rng.normal(0, 1, (n_series, n_channels, 1))) + rng.normal(
        0, 2, (n_series, n_channels, 1)
    )
    return out.astype(np.float32)


def make_synthetic_corpus(
    n_panels, series_per_panel=500, lengths=(64, 128, 256, 512), channels=(1, 1, 1, 2, 3),
    random_state=None,
):  # fmt: skip
    """A list of synthetic panels for ``AimTSTransformer.fit``: each panel one length and
    channel count drawn from ``lengths`` and ``channels`` (with repetition: the defaults
    make most panels univariate), series of mixed families.

    Examples
    --------
    >>> from skcontrast.synthetic import make_synthetic_corpus
    >>> corpus = make_synthetic_corpus(3, series_per_panel=4, lengths=(32, 64), random_state=0)
    >>> [p.shape[0] for p in corpus]
    [4, 4, 4]
    """
    rng = check_random_state(random_state)
    panels = []
    for _ in range(n_panels):
        length, n_channels = int(rng.choice(lengths)), int(rng.choice(channels))
        seed = rng.randint(np.iinfo(np.int32).max)
        panels.append(
            make_synthetic_series(series_per_panel, length, n_channels, random_state=seed)
        )
    return panels
