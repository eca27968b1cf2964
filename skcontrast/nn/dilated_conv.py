"""Dilated 1-D convolution encoder (TS2Vec style), causal or not.

Shared by the methods: BTSF's temporal branch (causal, along time) and spectral branch
(non-causal, along frequency) and, later, AimTS's series encoder.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class PaddedConv1d(nn.Conv1d):
    """Conv1d that keeps the length: causal (pad on the left) or centred.

    Taps whose offset reaches past the whole series only ever read padding zeros; they are
    dropped rather than computed. With dilation 512 on a 51-step series that is the
    difference between convolving 1,075 mostly-zero steps and 51 real ones (and the padded
    copy is kept for the backward pass), while the result is the same.
    """

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1, causal=True):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.causal = causal
        # time offset of each tap relative to the output step
        shift = kernel_size - 1 if causal else (kernel_size - 1) // 2
        self._offsets = [(j - shift) * dilation for j in range(kernel_size)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        taps = [j for j, o in enumerate(self._offsets) if abs(o) < length]
        lo, hi = taps[0], taps[-1] + 1  # the taps that can see data are contiguous
        pad = (-self._offsets[lo], self._offsets[hi - 1])
        weight = self.weight if (lo, hi) == (0, self.kernel_size[0]) else self.weight[..., lo:hi]
        return F.conv1d(F.pad(x, pad), weight, self.bias, dilation=self.dilation)


class ConvBlock(nn.Module):
    """Residual block: GELU -> dilated conv -> GELU -> dilated conv, plus a skip."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation, causal):
        super().__init__()
        self.conv1 = PaddedConv1d(in_channels, out_channels, kernel_size, dilation, causal)
        self.conv2 = PaddedConv1d(out_channels, out_channels, kernel_size, dilation, causal)
        self.projector = (
            nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.projector is None else self.projector(x)
        x = self.conv1(F.gelu(x))
        x = self.conv2(F.gelu(x))
        return x + residual


class DilatedConvEncoder(nn.Module):
    """Input projection, then ``depth`` residual blocks with dilation ``2**i``.

    Maps ``(batch, in_channels, length)`` to ``(batch, out_channels, length)``; NaN inputs are
    treated as missing (masked after the input projection).
    The receptive field is ``1 + 2 (kernel_size - 1) (2**depth - 1)`` positions.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 64,
        out_channels: int = 128,
        depth: int = 6,
        kernel_size: int = 3,
        causal: bool = True,
    ):
        super().__init__()
        self.causal = causal
        # input steps one output step reads (towards the past only when causal)
        self.receptive_field = 1 + 2 * (kernel_size - 1) * (2**depth - 1)
        self.input_fc = nn.Conv1d(in_channels, hidden_channels, 1)
        dims = [hidden_channels] * depth + [out_channels]
        self.blocks = nn.Sequential(
            *[ConvBlock(dims[i], dims[i + 1], kernel_size, 2**i, causal) for i in range(depth)]
        )
        # depth 0 still has to reach out_channels
        self.output_fc = (
            nn.Conv1d(hidden_channels, out_channels, 1) if depth == 0 else nn.Identity()
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode ``x``; ``mask`` (B, 1, T), where given, zeroes the masked steps' features
        after the input projection (TS2Vec's timestamp masking, a training augmentation)."""
        # missing values (NaN), as TS2Vec: a step with any missing channel gets zero features
        # after the input projection, so it carries no signal into the convolutions
        observed = ~torch.isnan(x).any(dim=1, keepdim=True)
        if mask is not None:
            observed = observed & mask
        h = self.input_fc(torch.nan_to_num(x)) * observed
        return self.output_fc(self.blocks(h))

    def forward_blocks(self, x: torch.Tensor, taps, output: bool = True) -> list[torch.Tensor]:
        """The outputs of the residual blocks numbered in ``taps`` (0-based, ascending),
        then, with ``output``, the encoder's output: what a readout of intermediate layers
        pools. Without ``output``, the blocks after the last tap are not run."""
        observed = ~torch.isnan(x).any(dim=1, keepdim=True)
        h = self.input_fc(torch.nan_to_num(x)) * observed
        out = []
        last = len(self.blocks) - 1 if output else max(taps)
        for i, block in enumerate(self.blocks[: last + 1]):
            h = block(h)
            if i in taps:
                out.append(h)
        return out + [self.output_fc(h)] if output else out
