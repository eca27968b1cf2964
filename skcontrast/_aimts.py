"""AimTS training: the objective, its schedule, the image context, SWA, pretrained starts.

Kept apart from the public estimator so that the transformer and the classifier share it.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

from skcontrast import _distributed
from skcontrast._torch_utils import STREAM_INIT, torch_generator
from skcontrast.nn.aimts import AimTSNetwork
from skcontrast.nn.augmentations import AUGMENTATIONS, augment
from skcontrast.nn.image_encoder import ResNet18Encoder, freeze, load_pretrained_weights
from skcontrast.nn.image_transforms import IMAGE_KINDS, pyts_images
from skcontrast.nn.initialization import seeded_init_
from skcontrast.nn.losses import (
    augmentation_contrast,
    hierarchical_instance_contrast,
    series_image_contrast,
)
from skcontrast.nn.rendering import render_line_plots, tile_cells

# parameters that fix the network's shapes: a pretrained network must match them
ARCHITECTURE = ("hidden_channels", "repr_dims", "depth", "projection_dims", "image", "image_width")


def build_network(est) -> AimTSNetwork:
    image_encoder = None
    if est.image is not None:
        image_encoder = ResNet18Encoder(in_channels=1, width=est.image_width)
    return AimTSNetwork(
        hidden_channels=est.hidden_channels,
        repr_dims=est.repr_dims,
        depth=est.depth,
        projection_dims=est.projection_dims,
        image_encoder=image_encoder,
        image_dims=8 * est.image_width,
    )


def check_params(est):
    name = type(est).__name__
    for p in ("hidden_channels", "repr_dims", "projection_dims", "image_size", "image_width"):
        est._require_int(p, minimum=1)
    est._require_int("depth", minimum=0)
    est._require_int("warmup_epochs", minimum=0)
    est._require_int("max_channels", minimum=1, allow_none=True)
    if est.image is not None and est.image not in IMAGE_KINDS:
        raise ValueError(f"{name}: image must be one of {IMAGE_KINDS} or None, got {est.image!r}.")
    if not (est.image_encoder == "scratch" or isinstance(est.image_encoder, (str, os.PathLike))):
        raise ValueError(
            f"{name}: image_encoder must be 'scratch' or the path of a local ResNet-18 weights "
            f"file, got {est.image_encoder!r}."
        )
    for p in ("image_temperature", "intra_temperature", "mixup_alpha"):
        if not getattr(est, p) > 0:
            raise ValueError(f"{name}: {p} must be > 0, got {getattr(est, p)!r}.")
    for p in ("mixup_weight", "inter_weight", "intra_weight"):
        if not getattr(est, p) >= 0:
            raise ValueError(f"{name}: {p} must be >= 0, got {getattr(est, p)!r}.")


def resolve_pretrained(est):
    """``est.pretrained`` as a fitted AimTSTransformer (loading a weights file if a path)."""
    from skcontrast.transformations import AimTSTransformer

    source = est.pretrained
    if isinstance(source, (str, os.PathLike)):
        source = AimTSTransformer.load_weights(source)
    if not isinstance(source, AimTSTransformer) or not source.is_fitted:
        raise ValueError(
            f"{type(est).__name__}: pretrained must be a fitted AimTSTransformer or the path of "
            "a file written by its save_weights(); got an unfitted or other object (note that "
            "clone() and GridSearchCV pass unfitted copies of estimator parameters: use a path "
            "there)."
        )
    return source


def check_architecture(est, source, params):
    differ = {p: (getattr(est, p), getattr(source, p)) for p in params if getattr(est, p) != getattr(source, p)}
    if differ:
        raise ValueError(
            f"{type(est).__name__}: the pretrained encoder has another architecture; set these "
            "parameters to the pretrained values (yours vs pretrained): "
            + ", ".join(f"{p}={mine!r} vs {theirs!r}" for p, (mine, theirs) in differ.items())
        )


def load_pretrained(est, network):
    """Start the whole AimTS ``network`` from ``est.pretrained``."""
    source = resolve_pretrained(est)
    check_architecture(est, source, ARCHITECTURE)
    network.load_state_dict(source.network_.state_dict())


class ImageContext:
    """What the image branch needs per training panel, prepared once per fit.

    Line plots are rendered on the device per batch, on the y-range of each channel over
    the training panel; pyts images are computed once on the CPU, one cell per channel, and
    tiled per batch (so a channel subset can be drawn); with a frozen image encoder each
    series' image embedding is computed once and looked up (unless channels are
    subsampled, when the subset's image changes from batch to batch).
    """

    def __init__(self, est, network, panels, device):
        self.est, self.device = est, device
        self.value_ranges = [
            torch.from_numpy(np.stack([np.nanmin(p, axis=(0, 2)), np.nanmax(p, axis=(0, 2))], axis=1)).to(device)
            for p in panels
        ]
        self.cells = None
        if est.image != "line":  # (n, C, size, size) per panel
            self.cells = [
                torch.from_numpy(np.concatenate(
                    # missing values drawn at the series mean (0 after z-normalisation)
                    [pyts_images(np.nan_to_num(p[:, c : c + 1]), est.image, est.image_size) for c in range(p.shape[1])], axis=1
                ))  # fmt: skip
                for p in panels
            ]
        self.frozen = None
        if est.image_encoder != "scratch":
            load_pretrained_weights(network.image_encoder, est.image_encoder)
            freeze(network.image_encoder)
            with torch.no_grad():
                self.frozen = [self._embed_panel(network, p, d) for d, p in enumerate(panels)]

    def images_of(self, x, dataset, indices, channels=None):
        if self.cells is None:
            value_range = self.value_ranges[dataset]
            if channels is not None:
                value_range = value_range[channels]
            return render_line_plots(x, value_range, self.est.image_size)
        cells = self.cells[dataset][torch.from_numpy(indices)].to(self.device)
        return tile_cells(cells if channels is None else cells[:, channels.cpu()])

    def _embed_panel(self, network, panel, dataset):
        out, size = [], self.est.inference_batch_size
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
                return network.image_encoder(self.images_of(x, step.dataset, step.indices, channels))
        local = network.image_encoder(
            self.images_of(_distributed.shard(x), step.dataset, _distributed.shard(step.indices), channels)
        )
        return _distributed.gather(local, len(x))


def mixup_weights(alpha, n, generator, device) -> torch.Tensor:
    """``n`` mixing weights ``lambda ~ Beta(alpha, alpha)``, shape ``(n, 1)``, from ``generator``.

    torch's Beta sampler draws from the process-wide generator only: the draw is made by
    numpy, seeded from ``generator`` (which stays the one source of randomness).
    """
    seed = torch.randint(0, 2**62, (1,), generator=generator, device=device).item()
    lam = np.random.default_rng(seed).beta(alpha, alpha, size=(n, 1))
    return torch.from_numpy(lam).float().to(device)


def aimts_loss(est, network, x, step, images: ImageContext | None):
    """``L_img`` alone during the warm-up, then ``L_img + w_inter L_inter + w_intra L_intra``.

    Returns the named terms ``{"image", "inter", "intra"}`` (weighted; their sum is the
    loss); ``"image"`` only with an image branch. Every random draw comes from
    ``step.generator`` (torch's global generator if ``None``).
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
        # data-parallel: each rank encodes its shard, the losses see the gathered global batch
        s = _distributed.gather(network.series_head(network.series_embedding(_distributed.shard(x))), len(x))
        v = network.image_head(images.features(network, x, step, channels))
        lam = mixup_weights(est.mixup_alpha, x.shape[0], generator, x.device)
        terms["image"] = series_image_contrast(s, v, est.image_temperature, est.mixup_weight, lam)
        if step.index < est.warmup_epochs * step.steps_per_epoch:
            return terms
    B, C, T = x.shape
    n_aug = len(AUGMENTATIONS)
    # two views, each the whole set of augmentations: (2 * A * B, C, T)
    views = torch.cat([augment(x, generator), augment(x, generator)]).reshape(2 * n_aug * B, C, T)
    h = network.timestep_features(_distributed.shard(views)).mean(dim=1)  # pool channels: (2AB, D, T)
    z = _distributed.gather(network.projector(h.transpose(1, 2)), len(views)).reshape(2, n_aug, B, T, -1)
    if est.use_prototypes:
        prototypes = z.mean(dim=1)  # per view: mean over its augmented projections
        inter = hierarchical_instance_contrast(prototypes[0], prototypes[1])
    else:  # ablation: contrast each augmentation with its counterpart directly
        inter = torch.stack([hierarchical_instance_contrast(z[0, a], z[1, a]) for a in range(n_aug)]).mean()
    intra = augmentation_contrast(z[0].amax(dim=2), z[1].amax(dim=2), est.intra_temperature)
    terms["inter"] = est.inter_weight * inter
    terms["intra"] = est.intra_weight * intra
    return terms


def train_aimts(est, network, panels, device, seed, loss_fn, run_training):
    """Pretrained start, image context, schedule and SWA around ``run_training``."""
    # initial weights from a generator of the fit's own (thread-safe seeding), not from
    # torch's process-wide one that the network was built with
    seeded_init_(network, torch_generator(seed, "cpu", STREAM_INIT))
    if est.pretrained is not None:
        load_pretrained(est, network)
    images = ImageContext(est, network, panels, device) if network.image_encoder is not None else None
    averaged = AveragedModel(network.series_encoder) if est.swa else None
    warmup = est.warmup_epochs if network.image_encoder is not None else 0

    def after_step(net, step):
        # equal-weight running average of the encoder, from the end of the warm-up on
        if averaged is not None and step.index >= warmup * step.steps_per_epoch:
            averaged.update_parameters(net.series_encoder)

    history, reason = run_training(
        est, network, panels, device, seed, lambda net, x, step: loss_fn(net, x, step, images),
        after_step, extra_state=averaged,
    )
    if averaged is not None and int(averaged.n_averaged) > 0:
        network.series_encoder.load_state_dict(averaged.module.state_dict())
    return history, reason
