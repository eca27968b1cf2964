"""BTSF's objective: instance contrast of the fused representation of two views.

:func:`btsf_loss` is what ``BTSFTransformer._training_loss`` returns. ``recipe="paper"``:
two dropout views of each whole series, instance contrast only. ``recipe="crops"``: two
overlapping random crops (at most ``crop_length`` points) with dropout and random
timestamp masks, and TS2Vec's hierarchical contrast of the temporal branch's per-step
features on the crops' overlap, weighted by ``temporal_weight``.
"""

from __future__ import annotations

import torch

from skcontrast.nn.augmentations import overlapping_crops
from skcontrast.nn.losses import hierarchical_contrast, info_nce

__all__ = ["btsf_loss", "series_lengths"]


def series_lengths(x: torch.Tensor):
    """Each row's length without its trailing all-NaN steps (padding), or None if none."""
    observed = ~torch.isnan(x).all(dim=1)  # (B, T)
    if observed[:, -1].all():
        return None
    return x.shape[-1] - observed.flip(-1).float().argmax(dim=-1)


def dropout(x, rate, generator):
    """Standard dropout with the step's own generator (``F.dropout`` takes none)."""
    if rate == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= rate
    return x * keep / (1 - rate)


def _encoder(network, keep, temporal):
    """A view's fused representation and, with ``temporal``, the steps ``keep`` of its
    temporal features ``(B, overlap, d)``: a tuple of one or two tensors."""

    def encode(view, mask):
        h_t, heads = network.encode(view, mask)
        z = torch.sigmoid(network.fuse(heads))
        return (z, h_t[..., keep].transpose(1, 2)) if temporal else (z,)

    return encode


def btsf_loss(est, network, x, step):
    """The named loss terms of one batch ``x`` (the instances the network sees)."""
    generator = step.generator
    if est.recipe == "paper":
        # two independent dropout masks over the whole series; one pass over both views
        views = dropout(x.repeat(2, 1, 1), est.dropout, generator)
        z = step.per_row(network)(views)  # data-parallel: encoded by shards
        z_anchor, z_positive = z.chunk(2)
        return {"instance": info_nce(z_anchor, z_positive, est.temperature)}
    views, overlap = overlapping_crops(x, est.crop_length, series_lengths(x), generator)
    # fusion="spectral" (an ablation) has no temporal branch: instance contrast only
    temporal = est.temporal_weight > 0 and network.uses_temporal
    z, h = [], []
    for view, keep in zip(views, (slice(-overlap, None), slice(0, overlap)), strict=True):
        view = dropout(view, est.dropout, generator)
        shape = (view.shape[0], 1, view.shape[-1])
        mask = torch.rand(shape, generator=generator, device=view.device) >= est.mask_ratio
        encoded = step.per_row(_encoder(network, keep, temporal))(view, mask)
        z.append(encoded[0])
        if temporal:  # the overlapping steps, (B, overlap, d)
            h.append(encoded[1])
    terms = {"instance": info_nce(z[0], z[1], est.temperature)}
    if temporal:
        terms["temporal"] = est.temporal_weight * hierarchical_contrast(h[0], h[1])
    return terms
