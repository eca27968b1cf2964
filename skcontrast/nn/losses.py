"""Contrastive losses."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Symmetric instance-level InfoNCE (NT-Xent) between two views.

    ``z1[i]`` and ``z2[i]`` are the two views of instance ``i`` (positives); every other
    instance of either view is a negative (``2 B - 2`` per anchor, as in SimCLR).
    Features are l2-normalised, so the similarity is the cosine.

    Parameters
    ----------
    z1, z2 : Tensor of shape (B, D)
    temperature : float

    Returns
    -------
    Scalar tensor. With ``B == 1`` there are no negatives and the loss is 0.
    """
    batch = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    logits = z @ z.T / temperature
    # an anchor is never its own negative
    self_mask = torch.eye(2 * batch, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    # the positive of row i is row i + B (and vice versa)
    target = torch.arange(2 * batch, device=z.device).roll(batch)
    return F.cross_entropy(logits, target)
