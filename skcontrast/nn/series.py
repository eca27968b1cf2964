"""Operations on whole series that every method shares: gap filling and resampling."""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["fill_missing", "resample"]


def fill_missing(x: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of NaN along the last axis (edges: the nearest observed value).

    A row with no observed value becomes zeros. Vectorised: the previous and next observed
    positions of every step come from a running max / min of observed indices.
    """
    missing = torch.isnan(x)
    if not missing.any():
        return x
    length = x.shape[-1]
    index = torch.arange(length, device=x.device).expand_as(x)
    prev = torch.where(missing, -1, index).cummax(-1).values
    following = torch.where(missing, length, index).flip(-1).cummin(-1).values.flip(-1)
    values = torch.nan_to_num(x)
    before = values.gather(-1, prev.clamp(min=0))
    after = values.gather(-1, following.clamp(max=length - 1))
    has_before, has_after = prev >= 0, following < length
    weight = (index - prev) / (following - prev).clamp(min=1)
    both = before + (after - before) * weight.to(x.dtype)
    filled = torch.where(
        has_before & has_after, both,
        torch.where(has_before, before, torch.where(has_after, after, torch.zeros_like(x))),
    )  # fmt: skip
    return torch.where(missing, filled, x)


def resample(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``x`` (B, C, T) linearly resampled to ``max(2, round(scale * T))`` steps, ends kept."""
    length = max(2, round(scale * x.shape[-1]))
    return F.interpolate(x, size=length, mode="linear", align_corners=True)
