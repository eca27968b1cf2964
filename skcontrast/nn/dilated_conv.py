"""Dilated 1-D convolution encoder (TS2Vec style), causal or not.

Shared by the methods: BTSF's temporal branch (causal, along time) and spectral branch
(non-causal, along frequency) and, later, AimTS's series encoder.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class PaddedConv1d(nn.Conv1d):
    """Conv1d that keeps the length: causal (pad on the left) or centred."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1, causal=True):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        span = (kernel_size - 1) * dilation
        # causal: the output at t sees only inputs <= t
        self._pad = (span, 0) if causal else (span // 2, span - span // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self._pad))


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

    Maps ``(batch, in_channels, length)`` to ``(batch, out_channels, length)``.
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
        self.input_fc = nn.Conv1d(in_channels, hidden_channels, 1)
        dims = [hidden_channels] * depth + [out_channels]
        self.blocks = nn.Sequential(
            *[
                ConvBlock(dims[i], dims[i + 1], kernel_size, 2**i, causal)
                for i in range(depth)
            ]
        )
        # depth 0 still has to reach out_channels
        self.output_fc = (
            nn.Conv1d(hidden_channels, out_channels, 1) if depth == 0 else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_fc(self.blocks(self.input_fc(x)))
