"""AimTS (Chen, Huang et al., 2025): series encoder, projection heads, image branch, and
the fine-tuning network (encoder + linear head) of the classifier.

The series encoder is channel-independent: each channel of a ``(B, C, T)`` batch is
encoded as its own univariate series, so one encoder serves datasets of any channel count
and length (multi-source pretraining).
"""

from __future__ import annotations

import torch
from torch import nn

from skcontrast.nn.dilated_conv import DilatedConvEncoder


def mlp(in_dims: int, hidden: int, out_dims: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dims, hidden), nn.ReLU(), nn.Linear(hidden, out_dims))


class AimTSNetwork(nn.Module):
    """Series encoder + prototype projector + series/image heads (+ image encoder).

    ``image_encoder`` is any module mapping ``(B, 1, H, W)`` images to ``(B, image_dims)``,
    or ``None`` without the series-image branch.
    """

    def __init__(
        self,
        hidden_channels: int = 64,
        repr_dims: int = 512,
        depth: int = 10,
        projection_hidden: int = 256,
        projection_dims: int = 128,
        image_encoder: nn.Module | None = None,
        image_dims: int = 512,
    ):
        super().__init__()
        # TS2Vec-style: non-causal (same-padded) dilated convolutions
        self.series_encoder = DilatedConvEncoder(
            1, hidden_channels, repr_dims, depth, kernel_size=3, causal=False
        )
        self.projector = mlp(repr_dims, projection_hidden, projection_dims)
        self.image_encoder = image_encoder
        if image_encoder is not None:
            self.series_head = mlp(repr_dims, projection_hidden, projection_dims)
            self.image_head = mlp(image_dims, projection_hidden, projection_dims)

    def timestep_features(self, x):
        """``(B, C, T)`` -> per-channel, per-step features ``(B, C, D, T)``."""
        B, C, T = x.shape
        return self.series_encoder(x.reshape(B * C, 1, T)).reshape(B, C, -1, T)

    def series_embedding(self, x):
        """Pretraining embedding ``(B, D)``: mean over channels, then max over time."""
        return self.timestep_features(x).mean(dim=1).amax(dim=-1)

    def channel_embeddings(self, x):
        """Downstream embeddings ``(B, C, D)``: each channel max-pooled over time."""
        return self.timestep_features(x).amax(dim=-1)

    def multi_block_embeddings(self, x):
        """Frozen-transfer embeddings ``(B, C, F)`` of ``readout="multi"``: for the series
        and for its first difference (each z-normalised per channel), the mean and the max
        over time of the last block's output and of three intermediate blocks' (at 30, 60
        and 90 % of the depth). ``F = 4 * (repr_dims + 3 * hidden_channels)`` at depth >= 4."""
        return self._pooled_views(x, intermediate_blocks(len(self.series_encoder.blocks)), True)

    def block_embeddings(self, x):
        """Frozen-transfer embeddings ``(B, C, F)`` of ``readout="blocks"``: for the series
        and for its first difference (each z-normalised per channel), the mean and the max
        over time of every residual block but the last. The last block (``hidden_channels``
        to ``repr_dims`` maps, two thirds of an encoding's time at the defaults) is not
        run. ``F = 4 * hidden_channels * (depth - 1)`` (2,304 at the defaults); below depth
        2 (no block before the last), the encoder's output, as ``"multi"``."""
        taps = hidden_blocks(len(self.series_encoder.blocks))
        if not taps:
            return self.multi_block_embeddings(x)
        return self._pooled_views(x, taps, False)

    def _pooled_views(self, x, taps, output):
        """Mean and max over time of the blocks ``taps`` (and, with ``output``, of the
        encoder's output) for the series and its first difference, ``(B, C, F)``."""
        B, C, T = x.shape
        rows = x.reshape(B * C, 1, T)
        views = [rows, _znorm(torch.diff(rows, dim=-1)) if T > 1 else torch.zeros_like(rows)]
        pooled = [
            torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=-1)
            for view in views
            for h in self.series_encoder.forward_blocks(view, taps, output=output)
        ]
        return torch.cat(pooled, dim=-1).reshape(B, C, -1)


def intermediate_blocks(depth: int) -> tuple:
    """The blocks at 30, 60 and 90 % of ``depth`` (2, 5, 8 of 10), the last one excluded."""
    return tuple(sorted({round(f * depth) - 1 for f in (0.3, 0.6, 0.9)} & set(range(depth - 1))))


def hidden_blocks(depth: int) -> tuple:
    """Every block but the last (0 to 8 of 10); none below depth 2."""
    return tuple(range(depth - 1))


def _znorm(x):
    """Per-row z-normalisation along time, NaN ignored; a constant row (a spread below
    1e-6 of its largest magnitude, whatever its units) becomes zeros."""
    mean = torch.nanmean(x, dim=-1, keepdim=True)
    std = torch.nanmean((x - mean) ** 2, dim=-1, keepdim=True).sqrt()
    magnitude = torch.nan_to_num(x).abs().amax(dim=-1, keepdim=True)
    constant = ~(std > 1e-6 * magnitude)  # NaN (no observed value) counts as constant
    return torch.where(constant, torch.zeros_like(x), (x - mean) / torch.where(constant, 1.0, std))


class FineTuneNetwork(nn.Module):
    """AimTS series encoder + linear head on the concatenated per-channel max-pooled features.

    The head reads features standardised with fixed statistics of the initial (pretrained or
    random) encoder on the training series, so that a fresh head starts on unit-scale inputs
    whatever the encoder's scale.
    """

    def __init__(self, n_channels, n_classes, hidden_channels, repr_dims, depth):
        super().__init__()
        self.series_encoder = DilatedConvEncoder(1, hidden_channels, repr_dims, depth, causal=False)
        self.head = nn.Linear(n_channels * repr_dims, n_classes)
        self.register_buffer("feature_mean", torch.zeros(n_channels * repr_dims))
        self.register_buffer("feature_scale", torch.ones(n_channels * repr_dims))

    def features(self, x):  # (B, C, T) -> (B, C * D)
        B, C, T = x.shape
        return self.series_encoder(x.reshape(B * C, 1, T)).amax(dim=-1).reshape(B, -1)

    def forward(self, x):  # logits (B, n_classes)
        return self.head((self.features(x) - self.feature_mean) / self.feature_scale)

    @torch.no_grad()
    def fit_feature_scaling(self, panels, batch_size, device):
        """Feature statistics of the current encoder over numpy3D ``panels``."""
        was_training = self.training
        self.eval()
        feats = torch.cat([
            self.features(torch.from_numpy(p[i : i + batch_size]).to(device))
            for p in panels
            for i in range(0, len(p), batch_size)
        ])  # fmt: skip
        self.feature_mean.copy_(feats.mean(dim=0))
        self.feature_scale.copy_(feats.std(dim=0, correction=0).clamp(min=1e-6))
        self.train(was_training)
