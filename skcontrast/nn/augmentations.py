"""The five AimTS augmentations, in torch, vectorised over the batch, on any device.

Every function takes a batch ``x`` of shape ``(B, C, T)`` and an explicit
``torch.Generator`` on ``x``'s device, so views are reproducible and nothing touches the
global RNG or makes a CPU round trip. Each draws its randomness per series (and, for
scaling, per channel); the channels of one series share the time distortion.

The original AimTS code runs time warping on the CPU in numpy (cubic splines per series);
here every warp is a monotone map of output time to input time, applied by linear
interpolation (``resample``).
"""

from __future__ import annotations

import torch

AUGMENTATIONS = ("jitter", "scaling", "window_slicing", "time_warping", "window_warping")


def resample(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Sample each series at fractional time ``positions`` (B, T_out) by linear interpolation.

    Positions are clamped to ``[0, T - 1]``; all channels of a series share them.
    """
    T = x.shape[-1]
    positions = positions.clamp(0, T - 1)
    left = positions.floor().long().clamp(max=T - 1)
    right = (left + 1).clamp(max=T - 1)
    frac = (positions - left).unsqueeze(1).to(x.dtype)
    index_shape = (x.shape[0], x.shape[1], positions.shape[-1])
    x_left = x.gather(2, left.unsqueeze(1).expand(index_shape))
    x_right = x.gather(2, right.unsqueeze(1).expand(index_shape))
    return x_left + frac * (x_right - x_left)


def _uniform(shape, generator, device, low=0.0, high=1.0):
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)


def jitter(x, generator, sigma=0.3):
    """Add Gaussian noise of standard deviation ``sigma``."""
    return x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def scaling(x, generator, sigma=0.5):
    """Multiply each channel of each series by a factor drawn from N(1, sigma)."""
    factor = 1 + sigma * torch.randn(x.shape[:2], generator=generator, device=x.device)
    return x * factor.unsqueeze(-1).to(x.dtype)


def window_slicing(x, generator, keep=0.5):
    """Keep a random window of ``keep * T`` points and stretch it back to length T."""
    B, _, T = x.shape
    span = keep * (T - 1)
    start = _uniform((B, 1), generator, x.device, 0.0, (T - 1) - span)
    grid = torch.linspace(0, 1, T, device=x.device).unsqueeze(0)
    return resample(x, start + span * grid)


def time_warping(x, generator, sigma=0.2, n_knots=4):
    """Smooth random speed changes: a monotone warp through ``n_knots`` random speeds.

    Speeds ~ N(1, sigma) (clipped to >= 0.1) at evenly spaced knots are interpolated
    linearly over time and integrated; the warp is rescaled to start at 0 and end at
    T - 1, so the series keeps its endpoints and its duration.
    """
    B, _, T = x.shape
    knots = (
        1 + sigma * torch.randn((B, 1, n_knots + 2), generator=generator, device=x.device)
    ).clamp(min=0.1)
    speed = torch.nn.functional.interpolate(knots, size=T, mode="linear", align_corners=True)[:, 0]
    warp = torch.cumsum(speed, dim=-1) - speed[:, :1]
    warp = warp / warp[:, -1:].clamp(min=1e-6) * (T - 1)
    return resample(x, warp)


def window_warping(x, generator, window=0.3, scales=(0.5, 2.0)):
    """Resample a random window of ``window * T`` points by 0.5 or 2, then fit back to T.

    In the warped series the window lasts ``scale`` times as long; the whole warped series
    is then read at T evenly spaced points, so the length is unchanged.
    """
    B, _, T = x.shape
    w = window * (T - 1)
    start = _uniform((B, 1), generator, x.device, 0.0, (T - 1) - w)
    choice = torch.randint(len(scales), (B, 1), generator=generator, device=x.device)
    scale = torch.tensor(scales, device=x.device)[choice]
    warped_length = (T - 1) + w * (scale - 1)  # in input-time units
    v = torch.linspace(0, 1, T, device=x.device).unsqueeze(0) * warped_length
    # map warped time v back to input time: slope 1 outside the window, 1/scale inside
    inside = (v - start) / scale + start
    after = v - w * (scale - 1)
    positions = torch.where(v < start, v, torch.where(v < start + w * scale, inside, after))
    return resample(x, positions)


_FUNCTIONS = {
    "jitter": jitter,
    "scaling": scaling,
    "window_slicing": window_slicing,
    "time_warping": time_warping,
    "window_warping": window_warping,
}


def augment(x, generator, names=AUGMENTATIONS):
    """All augmentations of one view: a tensor ``(len(names), B, C, T)``."""
    return torch.stack([_FUNCTIONS[name](x, generator) for name in names])


def take_per_row(x: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """``x[i, :, starts[i] : starts[i] + length]`` for each row; out-of-range steps are NaN."""
    index = starts.unsqueeze(1) + torch.arange(length, device=x.device)  # (B, length)
    inside = (index >= 0) & (index < x.shape[-1])
    gathered = x.gather(-1, index.clamp(0, x.shape[-1] - 1).unsqueeze(1).expand(-1, x.shape[1], -1))
    return gathered.masked_fill(~inside.unsqueeze(1), float("nan"))


def overlapping_crops(x: torch.Tensor, max_length: int, lengths=None, generator=None):
    """TS2Vec's two overlapping random crops of every series, within a window.

    Series longer than ``max_length`` are first cut to a random window of that length (per
    series), so the cost does not grow with series length. Inside it, an overlap of random
    length is chosen; view A ends with it and starts earlier, view B starts with it and
    ends later (random extents, shared by the batch, shifted per series). ``lengths``
    (B,), where given, are the series' own lengths in a NaN-padded batch: windows and shifts
    stay inside them where the views fit. Returns ``((view_a, view_b), overlap)``: the
    overlap is the last ``overlap`` steps of A and the first ``overlap`` of B, the same time
    points seen in two contexts.
    """
    B, T = x.shape[0], x.shape[-1]
    lengths = torch.full((B,), T, device=x.device) if lengths is None else lengths

    def randint(low, high, size=()):
        return torch.randint(low, high, size, generator=generator, device=x.device)

    def below(high):  # per-row integers in [0, high]
        u = torch.rand(high.shape, generator=generator, device=x.device)
        return (u * (high + 1)).long().clamp(max=high)

    if T > max_length:
        starts = below((lengths - max_length).clamp(min=0))
        x = take_per_row(x, starts, max_length)
        lengths, T = (lengths - starts).clamp(max=max_length), max_length
    overlap = int(randint(min(2, T), T + 1))
    left = int(randint(0, T - overlap + 1))
    right = left + overlap
    a_start, b_end = int(randint(0, left + 1)), int(randint(right, T + 1))
    # a shift per series keeps both views inside the series (where they fit in it)
    shift = below((lengths - b_end).clamp(min=0) + a_start) - a_start
    view_a = take_per_row(x, shift + a_start, right - a_start)
    view_b = take_per_row(x, shift + left, b_end - left)
    return (view_a, view_b), overlap
