"""Images of series for AimTS's series-image contrast: pyts images and the per-fit context.

:func:`pyts_images` makes other images of series than line plots, with pyts: Gramian
angular and Markov transition fields, recurrence plots (the ``image=`` parameter of
``AimTSTransformer``). The layout is the line plots' one (``skcontrast.nn.rendering``):
each channel in its own ``size x size`` cell of a ``G = ceil(sqrt(C))`` grid, so the image
encoder is the same. :class:`ImageContext` prepares, once per fit, what the image branch
needs per training panel. (Kept out of ``skcontrast.nn``, which is pure torch.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch.nn import functional as F

from skcontrast.nn.image_encoder import freeze, load_pretrained_weights
from skcontrast.nn.rendering import render_line_plots, tile_cells

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
        images = F.interpolate(
            torch.from_numpy(images)[:, None],
            size=(size, size),
            mode="bilinear",
            align_corners=False,
        )[:, 0].numpy()
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
        raise ValueError(
            f"unknown image kind {kind!r} for pyts_images; valid kinds are "
            f"{pyts_kinds} ('line' plots are drawn by skcontrast.nn.rendering)"
        )
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
    cells = np.concatenate(
        [cells.reshape(n, C, size, size), np.zeros((n, grid * grid - C, size, size))], axis=1
    )
    image = cells.reshape(n, grid, grid, size, size).transpose(0, 1, 3, 2, 4)
    return image.reshape(n, 1, grid * size, grid * size).astype(np.float32)


class ImageContext:
    """What the image branch needs per training panel, prepared once per fit.

    Line plots are rendered on the device per batch, on the y-range of each channel over
    the training panel; pyts images are computed once on the CPU, one cell per channel, and
    tiled per batch (so a channel subset can be drawn); with a frozen image encoder each
    series' image embedding is computed once and looked up (unless channels are
    subsampled, when the subset's image changes from batch to batch).

    ``kind`` is ``"line"`` or a pyts image name, ``size`` the image side, ``encoder`` the
    image encoder's weights (``"scratch"``: trained, else loaded and frozen) and
    ``chunk_rows(shape)`` the series per chunk when a frozen encoder embeds a panel.
    """

    def __init__(self, network, panels, device, *, kind, size, encoder, chunk_rows):
        self.device, self.size, self.chunk_rows = device, size, chunk_rows
        self.value_ranges = [
            torch.from_numpy(
                np.stack([np.nanmin(p, axis=(0, 2)), np.nanmax(p, axis=(0, 2))], axis=1)
            ).to(device)
            for p in panels
        ]
        self.cells = None
        if kind != "line":  # (n, C, size, size) per panel
            self.cells = [
                torch.from_numpy(
                    np.concatenate(
                        # missing values drawn at the series mean (0 after z-normalisation)
                        [
                            pyts_images(np.nan_to_num(p[:, c : c + 1]), kind, size)
                            for c in range(p.shape[1])
                        ],
                        axis=1,
                    )
                )  # fmt: skip
                for p in panels
            ]
        self.frozen = None
        if encoder != "scratch":
            load_pretrained_weights(network.image_encoder, encoder)
            freeze(network.image_encoder)
            with torch.no_grad():
                self.frozen = [self._embed_panel(network, p, d) for d, p in enumerate(panels)]

    def images_of(self, x, dataset, indices, channels=None):
        if self.cells is None:
            value_range = self.value_ranges[dataset]
            if channels is not None:
                value_range = value_range[channels]
            return render_line_plots(x, value_range, self.size)
        cells = self.cells[dataset][torch.from_numpy(indices)].to(self.device)
        return tile_cells(cells if channels is None else cells[:, channels.cpu()])

    def _embed_panel(self, network, panel, dataset):
        out, size = [], self.chunk_rows(panel.shape)
        for start in range(0, len(panel), size):
            idx = np.arange(start, min(start + size, len(panel)))
            x = torch.from_numpy(panel[idx]).to(self.device)
            out.append(network.image_encoder(self.images_of(x, dataset, idx)))
        return torch.cat(out)

    def features(self, network, x, step, channels=None):
        """Image embeddings of the global batch ``x`` (data-parallel: encoded by shards)."""
        if self.frozen is not None:
            if channels is None:
                return self.frozen[step.dataset][torch.from_numpy(step.indices).to(self.device)]
            network.image_encoder.eval()  # frozen: keep BatchNorm statistics fixed
            with torch.no_grad():
                return network.image_encoder(
                    self.images_of(x, step.dataset, step.indices, channels)
                )
        return step.per_row(
            lambda rows, indices: network.image_encoder(
                self.images_of(rows, step.dataset, indices, channels)
            )
        )(x, step.indices)
