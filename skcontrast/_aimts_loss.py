"""AimTS's objective: the series-image contrast and the two-level prototype contrast.

:func:`aimts_loss` is what ``AimTSTransformer._training_loss`` returns. Two knobs bound the
cost of a step (the paper's setting is ``n_augmentations=5, crop_length=None``):
``crop_length`` cuts the series of the prototype contrast to a random window of at most
that many steps (per series), and ``n_augmentations`` draws that many of the five
augmentations per step (the same ones in both views) instead of all five. The image
branch always sees the whole series.
"""

from __future__ import annotations

import numpy as np
import torch

from skcontrast._images import ImageContext
from skcontrast.nn.augmentations import AUGMENTATIONS, augment, take_per_row
from skcontrast.nn.losses import (
    augmentation_contrast,
    hierarchical_instance_contrast,
    series_image_contrast,
)

__all__ = ["aimts_loss", "mixup_weights", "view_augmentations", "view_windows"]


def mixup_weights(alpha, n, generator, device) -> torch.Tensor:
    """``n`` mixing weights ``lambda ~ Beta(alpha, alpha)``, shape ``(n, 1)``, from ``generator``.

    torch's Beta sampler draws from the process-wide generator only: the draw is made by
    numpy, seeded from ``generator`` (which stays the one source of randomness).
    """
    seed = torch.randint(0, 2**62, (1,), generator=generator, device=device).item()
    lam = np.random.default_rng(seed).beta(alpha, alpha, size=(n, 1))
    return torch.from_numpy(lam).float().to(device)


def view_windows(x, crop_length, generator):
    """A random window of ``crop_length`` steps of each series (all of it if not longer)."""
    T = x.shape[-1]
    if crop_length is None or T <= crop_length:
        return x
    starts = torch.randint(0, T - crop_length + 1, (len(x),), generator=generator, device=x.device)
    return take_per_row(x, starts, crop_length)


def view_augmentations(n_augmentations, generator, device):
    """The names of this step's augmentations: all five, or a random subset in a fixed order."""
    if n_augmentations >= len(AUGMENTATIONS):
        return AUGMENTATIONS
    chosen = torch.randperm(len(AUGMENTATIONS), generator=generator, device=device)
    return tuple(AUGMENTATIONS[i] for i in sorted(chosen[:n_augmentations].tolist()))


def _image_term(est, network, x, step, images, channels):
    # data-parallel: encoded by shards, the losses see the global batch
    s = step.per_row(lambda rows: network.series_head(network.series_embedding(rows)))(x)
    v = network.image_head(images.features(network, x, step, channels))
    lam = mixup_weights(est.mixup_alpha, x.shape[0], step.generator, x.device)
    return series_image_contrast(s, v, est.image_temperature, est.mixup_weight, lam)


def _project(network, views):
    """Per-step projections ``(B, T, d)`` of views ``(B, C, T)``, channels pooled."""
    h = network.timestep_features(views).mean(dim=1)
    return network.projector(h.transpose(1, 2))


def prototype_contrast(z):
    """``L_inter``: the prototypes of the two views (the mean of each view's augmented
    projections, ``z`` of shape ``(2, A, B, T, d)``), contrasted hierarchically."""
    prototypes = z.mean(dim=1)
    return hierarchical_instance_contrast(prototypes[0], prototypes[1])


def aimts_loss(est, network, x, step, images: ImageContext | None, inter=prototype_contrast):
    """``L_img`` alone during the warm-up, then ``L_img + w_inter L_inter + w_intra L_intra``.

    Returns the named terms ``{"image", "inter", "intra"}`` (weighted; their sum is the
    loss); ``"image"`` only with an image branch. Every random draw comes from
    ``step.generator`` (torch's global generator if ``None``). ``inter`` computes
    ``L_inter`` from the projections (benchmarks/variants.py passes an ablation).
    """
    terms = {}
    channels = None
    generator = step.generator
    if est.max_channels is not None and x.shape[1] > est.max_channels:
        # the encoder is channel-independent: a random channel subset per batch is an
        # unbiased, cheaper stand-in for all channels (a CPU budget knob)
        channels = torch.randperm(x.shape[1], generator=generator, device=x.device)
        channels = channels[: est.max_channels].sort().values
        x = x[:, channels]
    if network.image_encoder is not None:
        terms["image"] = _image_term(est, network, x, step, images, channels)
        if step.index < est.warmup_epochs * step.steps_per_epoch:
            return terms
    x = view_windows(x, est.crop_length, generator)
    names = view_augmentations(est.n_augmentations, generator, x.device)
    B, C, T = x.shape
    n_aug = len(names)
    # two views, each the step's set of augmentations: (2 * A * B, C, T)
    views = torch.cat([augment(x, generator, names), augment(x, generator, names)])
    views = views.reshape(2 * n_aug * B, C, T)
    z = step.per_row(lambda rows: _project(network, rows))(views)
    z = z.reshape(2, n_aug, B, T, -1)
    intra = augmentation_contrast(z[0].amax(dim=2), z[1].amax(dim=2), est.intra_temperature)
    terms["inter"] = est.inter_weight * inter(z)
    terms["intra"] = est.intra_weight * intra
    return terms
