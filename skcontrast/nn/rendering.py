"""Line-plot images of series, rasterised in torch (AimTS's series-image contrast).

No matplotlib and no PNG files: a batch ``(B, C, T)`` becomes a batch of binary images
``(B, 1, G * size, G * size)`` on the same device, each channel drawn in its own
``size x size`` cell of a ``G = ceil(sqrt(C))`` grid, in one vectorised pass.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def column_ranges(x: torch.Tensor, width: int):
    """Lowest and highest value each of ``width`` pixel columns must show: (B, C, width) x 2.

    Series longer than ``width`` keep their peaks (min/max pooling per column); shorter ones
    are linearly interpolated. Each column also reaches to where the next column starts, so
    the drawn line is connected.
    """
    if x.shape[-1] < width:
        x = F.interpolate(x, size=width, mode="linear", align_corners=True)
    high = F.adaptive_max_pool1d(x, width)
    low = -F.adaptive_max_pool1d(-x, width)
    # connect column u to column u + 1: extend u's span towards u + 1's span
    next_low = torch.cat([low[..., 1:], low[..., -1:]], dim=-1)
    next_high = torch.cat([high[..., 1:], high[..., -1:]], dim=-1)
    return torch.minimum(low, next_high), torch.maximum(high, next_low)


def render_line_plots(x: torch.Tensor, value_range: torch.Tensor | None = None, size: int = 64):
    """Draw each channel of each series as a line plot.

    Parameters
    ----------
    x : Tensor (B, C, T)
    value_range : Tensor (C, 2) or None
        Per-channel (min, max) of the y axis, e.g. from the training data, so that images of
        different series are comparable. ``None`` uses each series' own range per channel.
        Values outside the range are clipped to the border; a zero-width range draws the
        channel at mid-height.
    size : int
        Pixels per cell side.

    Returns
    -------
    Tensor (B, 1, G * size, G * size) of 0.0 / 1.0, ``G = ceil(sqrt(C))``; row 0 is the top.
    """
    B, C, _ = x.shape
    x = x.float()
    if value_range is None:
        y_min, y_max = x.amin(dim=-1, keepdim=True), x.amax(dim=-1, keepdim=True)
    else:
        value_range = value_range.to(x.device, torch.float32)
        y_min, y_max = value_range[:, :1].expand(B, C, 1), value_range[:, 1:].expand(B, C, 1)
    extent = y_max - y_min
    flat = extent <= 1e-12
    scaled = torch.where(flat, torch.full_like(x, 0.5), (x - y_min) / extent.clamp(min=1e-12))
    low, high = column_ranges(scaled.clamp(0, 1), size)
    # value 1 is the top row (0), value 0 the bottom row (size - 1)
    top, bottom = (1 - high) * (size - 1), (1 - low) * (size - 1)
    rows = torch.arange(size, device=x.device, dtype=torch.float32).view(1, 1, size, 1)
    # half-open pixel intervals: a value on a pixel boundary lights exactly one row
    cells = ((rows >= top.unsqueeze(2) - 0.5) & (rows < bottom.unsqueeze(2) + 0.5)).float()
    return tile_cells(cells)


def tile_cells(cells: torch.Tensor) -> torch.Tensor:
    """Tile per-channel cells ``(B, C, s, s)`` row-major into ``(B, 1, G s, G s)``,
    ``G = ceil(sqrt(C))``."""
    B, C, size, _ = cells.shape
    grid = math.ceil(math.sqrt(C))
    cells = torch.cat([cells, cells.new_zeros(B, grid * grid - C, size, size)], dim=1)
    image = cells.view(B, grid, grid, size, size).permute(0, 1, 3, 2, 4)
    return image.reshape(B, 1, grid * size, grid * size)
