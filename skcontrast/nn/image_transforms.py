"""Other images of series than line plots, from pyts: Gramian angular and Markov transition
fields, recurrence plots.

They replace the line plots of AimTS's series-image contrast (the ``image=`` parameter). The
layout is the line plots' one (``skcontrast.nn.rendering``): each channel in its own
``size x size`` cell of a ``G = ceil(sqrt(C))`` grid, so the image encoder is the same.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch.nn import functional as F

IMAGE_KINDS = ("line", "gasf", "gadf", "mtf", "recurrence")

# quantile bins of the Markov transition field (pyts's default)
_MTF_BINS = 8


def _cell_images(series: np.ndarray, kind: str, size: int) -> np.ndarray:
    """Images ``(N, size, size)`` of the non-constant series ``(N, T)``."""
    # imported here: pyts compiles its numba kernels on import (about 20 s), a cost only
    # those who ask for these images should pay
    from pyts.image import GramianAngularField, MarkovTransitionField, RecurrencePlot

    T = series.shape[-1]
    if kind == "recurrence":
        # RecurrencePlot has no image_size: resample the series to size points instead
        grid = np.linspace(0, T - 1, size)
        series = np.stack([np.interp(grid, np.arange(T), s) for s in series])
        images = RecurrencePlot().fit_transform(series)
        # distances to [0, 1] per image, so the scale of the series does not matter
        return images / np.maximum(images.max(axis=(1, 2), keepdims=True), 1e-12)
    # pyts needs image_size <= T: shorter series are upsampled as images below
    image_size = min(size, T)
    if kind == "mtf":
        transform = MarkovTransitionField(image_size=image_size, n_bins=_MTF_BINS)
    else:
        method = "summation" if kind == "gasf" else "difference"
        transform = GramianAngularField(image_size=image_size, method=method)
    with warnings.catch_warnings():
        # series with ties (e.g. square waves) have fewer distinct quantiles than bins; the
        # fewer bins are fine
        warnings.filterwarnings("ignore", message="Some quantiles are equal")
        images = transform.fit_transform(series)
    if image_size < size:
        # bilinear weights are convex, so the values stay in the field's range
        images = F.interpolate(torch.from_numpy(images)[:, None], size=(size, size),
                               mode="bilinear", align_corners=False)[:, 0].numpy()
    return images


def pyts_images(X: np.ndarray, kind: str, size: int = 64) -> np.ndarray:
    """Image every channel of every series with pyts and tile the channels in a grid.

    Parameters
    ----------
    X : ndarray (n, C, T)
    kind : {"gasf", "gadf", "mtf", "recurrence"}
        Gramian angular summation / difference field (values in [-1, 1]), Markov
        transition field ([0, 1]) or unthresholded recurrence plot (distances scaled to
        [0, 1] per image).
    size : int
        Pixels per cell side.

    Returns
    -------
    ndarray (n, 1, G * size, G * size) float32, ``G = ceil(sqrt(C))``; channel c in grid cell
    ``(c // G, c % G)``, unused cells zero. A constant channel has no shape to show (and
    pyts's min-max scaling and quantile bins are degenerate for it), so its cell is zero too.
    """
    pyts_kinds = IMAGE_KINDS[1:]
    if kind not in pyts_kinds:
        raise ValueError(f"unknown image kind {kind!r} for pyts_images; valid kinds are "
                         f"{pyts_kinds} ('line' plots are drawn by skcontrast.nn.rendering)")
    X = np.asarray(X, dtype=np.float64)
    n, C, T = X.shape
    series = X.reshape(n * C, T)
    cells = np.zeros((n * C, size, size))
    varies = np.ptp(series, axis=1) > 1e-12
    if varies.any():
        cells[varies] = _cell_images(series[varies], kind, size)
    cells = np.nan_to_num(cells, nan=0.0)  # guard against anything pyts still leaves undefined
    # tile the C cells row-major into a G x G grid, as render_line_plots does
    grid = math.ceil(math.sqrt(C))
    cells = np.concatenate([cells.reshape(n, C, size, size),
                            np.zeros((n, grid * grid - C, size, size))], axis=1)
    image = cells.reshape(n, grid, grid, size, size).transpose(0, 1, 3, 2, 4)
    return image.reshape(n, 1, grid * size, grid * size).astype(np.float32)
