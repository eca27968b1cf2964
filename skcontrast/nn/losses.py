"""Contrastive losses."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _pairwise_contrast(z1, z2, temperature=1.0, normalize=True):
    """NT-Xent over the second-to-last axis, batched over any leading axes.

    ``z1[..., i, :]`` and ``z2[..., i, :]`` are positives; every other instance of either
    view is a negative (``2 B - 2`` per anchor). With ``B == 1`` the loss is 0.
    """
    batch = z1.shape[-2]
    z = torch.cat([z1, z2], dim=-2).float()
    if normalize:
        z = F.normalize(z, dim=-1)
    logits = z @ z.transpose(-1, -2) / temperature
    # an anchor is never its own negative
    self_mask = torch.eye(2 * batch, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    # the positive of row i is row i + B (and vice versa)
    target = torch.arange(2 * batch, device=z.device).roll(batch).expand(logits.shape[:-1])
    return F.cross_entropy(logits.reshape(-1, 2 * batch), target.reshape(-1))


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Symmetric instance-level InfoNCE (NT-Xent) between two views ``(B, D)``.

    Features are l2-normalised, so the similarity is the cosine.
    """
    return _pairwise_contrast(z1, z2, temperature, normalize=True)


def hierarchical_instance_contrast(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """TS2Vec's hierarchical instance contrast between two views ``(B, T, D)``.

    At every time step, instances are contrasted across the batch (raw dot products, as in
    TS2Vec); then time is max-pooled by 2 and the contrast repeated down to one step; the
    loss is the mean over scales.
    """
    losses = []
    while True:
        # (T, B, D): one contrast per time step
        losses.append(_pairwise_contrast(z1.transpose(0, 1), z2.transpose(0, 1), normalize=False))
        if z1.shape[1] == 1:
            return torch.stack(losses).mean()
        z1 = F.max_pool1d(z1.transpose(1, 2), 2, ceil_mode=True).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), 2, ceil_mode=True).transpose(1, 2)


def hierarchical_contrast(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """TS2Vec's hierarchical contrast (instance and temporal) between two views ``(B, T, D)``.

    ``z1[:, t]`` and ``z2[:, t]`` describe the same time step in two contexts. At every
    scale, the instance term contrasts each step across the batch and the temporal term
    contrasts it against the other steps of the same series; time is then max-pooled by
    2 down to one step, and the loss is the mean over scales of ``alpha * instance +
    (1 - alpha) * temporal`` (the temporal term is skipped at one step).
    """
    losses = []
    while True:
        loss = alpha * _pairwise_contrast(z1.transpose(0, 1), z2.transpose(0, 1), normalize=False)
        if z1.shape[1] > 1:
            loss = loss + (1 - alpha) * _pairwise_contrast(z1, z2, normalize=False)
        losses.append(loss)
        if z1.shape[1] == 1:
            return torch.stack(losses).mean()
        z1 = F.max_pool1d(z1.transpose(1, 2), 2, ceil_mode=True).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), 2, ceil_mode=True).transpose(1, 2)


def augmentation_contrast(
    p1: torch.Tensor, p2: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """AimTS's intra-prototype loss over per-augmentation embeddings ``(A, B, D)``.

    Within a sample, augmentation ``a`` of view 1 has augmentation ``a`` of view 2 as its
    positive and the other augmentation types of view 2 as negatives (and symmetrically).
    Cosine similarity with a temperature: with raw dot products a larger-norm negative can
    outscore the positive, so the loss could be lowered by norms alone.
    """
    n_aug = p1.shape[0]
    p1, p2 = F.normalize(p1.float(), dim=-1), F.normalize(p2.float(), dim=-1)
    logits = torch.einsum("abd,cbd->bac", p1, p2) / temperature  # (B, A, A)
    target = torch.arange(n_aug, device=p1.device).expand(logits.shape[0], n_aug).reshape(-1)
    forward = F.cross_entropy(logits.reshape(-1, n_aug), target)
    backward = F.cross_entropy(logits.transpose(1, 2).reshape(-1, n_aug), target)
    return (forward + backward) / 2


def slerp(a: torch.Tensor, b: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """Geodesic (spherical) interpolation between unit vectors ``a`` and ``b`` (B, D)."""
    cos = (a * b).sum(-1, keepdim=True).clamp(-1 + 1e-6, 1 - 1e-6)
    theta = torch.acos(cos)
    return (torch.sin((1 - lam) * theta) * a + torch.sin(lam * theta) * b) / torch.sin(theta)


def series_image_contrast(s, v, temperature=0.1, mixup_weight=0.5, lam=None):
    """CLIP-style contrast between series ``s`` and image ``v`` embeddings ``(B, D)``.

    Pair ``i`` is the positive; the other pairs' images (resp. series) are negatives. With
    ``mixup_weight > 0``, geodesic mixes ``m_j = slerp(s_j, v_j, lam_j)`` of the other pairs
    are added as hard negatives (geodesic multi-modal mixup), weighted by ``mixup_weight``.
    """
    s, v = F.normalize(s.float(), dim=-1), F.normalize(v.float(), dim=-1)
    batch = s.shape[0]
    target = torch.arange(batch, device=s.device)
    logits = s @ v.T / temperature
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    if mixup_weight == 0 or batch < 2 or lam is None:
        return loss
    m = slerp(s, v, lam)
    own_mix = torch.eye(batch, dtype=torch.bool, device=s.device)
    hard_s = (s @ m.T / temperature).masked_fill(own_mix, float("-inf"))
    hard_v = (v @ m.T / temperature).masked_fill(own_mix, float("-inf"))
    mix = (
        F.cross_entropy(torch.cat([logits, hard_s], dim=1), target)
        + F.cross_entropy(torch.cat([logits.T, hard_v], dim=1), target)
    ) / 2
    return loss + mixup_weight * mix
