"""BTSF: Bilinear Temporal-Spectral Fusion (Yang & Hong, ICML 2022).

Notation follows the paper: ``F_t`` (m x d) temporal features at m time positions, ``F_s``
(n x d) spectral features at n frequency positions, ``l`` the rank of the low-rank bilinear
interaction. Every choice the paper leaves open is listed in ``docs/btsf_method_notes.md``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from skcontrast.nn.dilated_conv import DilatedConvEncoder, PaddedConv1d
from skcontrast.nn.series import fill_missing, resample

__all__ = ["BTSFNetwork", "fill_missing", "multiscale_max_pool", "resample"]


def multiscale_max_pool(h: torch.Tensor, scales=(1, 2, 4)) -> torch.Tensor:
    """Max over the whole series, its halves, its quarters...: ``(B, d, T) -> (B, d * sum)``.

    Missing steps (NaN input) have zero features after the input projection but not after
    the convolutions; every position is pooled.
    """
    return torch.cat([F.adaptive_max_pool1d(h, s).flatten(1) for s in scales], dim=1)


FUSIONS = ("bilinear", "sum", "concat", "temporal", "spectral")
SPECTRA = ("complex", "magnitude")
MISSING = ("interpolate", "mask")


def low_rank_bilinear(F_t, F_s, U, V):
    """Low-rank bilinear pooling ``(U^T F_t) o (V^T F_s)``.

    Equals, for every rank component k, ``sum_i sum_j U[i,k] V[j,k] (F_t[i] o F_s[j])``,
    the interaction-weighted sum over all (time, frequency) pairs, at a cost of
    O((m + n) l d) instead of O(m n d).

    F_t : (B, m, d); F_s : (B, n, d); U : (m, l); V : (n, l). Returns (B, l, d).
    """
    return torch.einsum("bmd,ml->bld", F_t, U) * torch.einsum("bnd,nl->bld", F_s, V)


def cross_aggregate(F_a, F_b, A, W, bias):
    """Aggregate the pairwise features ``F_a[i] o F_b[j]`` along ``j`` and mix channels.

    The (i, j) bilinear feature map ``P[b, i, j] = F_a[b, i] o F_b[b, j]`` (B, p, q, d) is
    convolved along the ``j`` axis with a kernel spanning all q positions and k output
    groups (``A``, q x k), then the k groups of d channels are mixed to d channels (``W``,
    d x k x d): ``h[b, i, e] = sum_{k, c} W[e, k, c] sum_j A[j, k] P[b, i, j, c] + bias[e]``.

    Since ``sum_j A[j, k] P[b, i, j] = F_a[b, i] o (A^T F_b[b])[k]``, this is
    ``F_a[b] @ M[b]`` with a per-sample d x d matrix ``M[b, c, e] = sum_k W[e, k, c]
    (A^T F_b[b])[k, c]``: O((p + q) k d + p d^2) per sample instead of O(p q d + p k d^2),
    and the (B, p, q, d) map is never built. F_a : (B, p, d); F_b : (B, q, d).
    """
    context = torch.einsum("bqd,qk->bkd", F_b, A)
    # M as one bmm batched over the channel c, on contiguous operands: einsum's strided
    # batch made bmm loop per channel (1.7x slower fwd+bwd; equal up to float rounding)
    M = torch.bmm(context.permute(2, 0, 1).contiguous(), W.permute(2, 1, 0).contiguous())
    return torch.bmm(F_a, M.transpose(0, 1).contiguous()) + bias


class BiCausalConv(nn.Module):
    """Bi-directional causal convolution: a forward-in-time and a backward-in-time pass."""

    def __init__(self, channels, kernel_size=3):
        super().__init__()
        self.forward_conv = PaddedConv1d(channels, channels, kernel_size, causal=True)
        self.backward_conv = PaddedConv1d(channels, channels, kernel_size, causal=True)

    def forward(self, x):  # (B, C, m)
        return self.forward_conv(x) + self.backward_conv(x.flip(-1)).flip(-1)


class CrossAggregation(nn.Module):
    """One direction of the iterative fusion (S2T or T2S).

    S2T: the bilinear (time i, frequency j) feature map is aggregated along the spectral
    axis and mixed to d channels (``cross_aggregate``), then passed through bi-directional
    causal convolutions along time; the result is added to ``F_t``.
    T2S: the converse, aggregated along time and convolved along frequency (no causality
    on the spectral axis), added to ``F_s``.
    """

    def __init__(self, other_positions, dim, rank, causal_axis):
        super().__init__()
        self.A = nn.Parameter(torch.randn(other_positions, rank) / other_positions**0.5)
        # channel mix of the k aggregated groups, initialised as nn.Linear(rank * dim, dim)
        bound = (rank * dim) ** -0.5
        self.W = nn.Parameter(torch.empty(dim, rank, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        # products of features grow with each loop: normalise before the convolution
        self.norm = nn.LayerNorm(dim)
        self.conv = BiCausalConv(dim) if causal_axis else PaddedConv1d(dim, dim, 3, causal=False)

    def seeded_reset_parameters(self, generator):
        """Redraw ``A``, ``W`` and ``bias`` as in ``__init__``, from ``generator`` (CPU)."""
        q = self.A.shape[0]
        bound = (self.W.shape[1] * self.W.shape[2]) ** -0.5
        self.A.copy_(torch.randn(self.A.shape, generator=generator) / q**0.5)
        self.W.copy_(torch.empty(self.W.shape).uniform_(-bound, bound, generator=generator))
        self.bias.copy_(torch.empty(self.bias.shape).uniform_(-bound, bound, generator=generator))

    def forward(self, own, other):  # own (B, p, d), other (B, q, d)
        h = self.norm(cross_aggregate(own, other, self.A, self.W, self.bias))
        h = self.conv(F.gelu(h).transpose(1, 2)).transpose(1, 2)
        return own + h


class BTSFNetwork(nn.Module):
    """Temporal encoder, spectral encoder, iterative bilinear fusion, output head.

    Input ``(B, C, T)``; output ``(B, l * d)`` features in (0, 1), or ``(B, 2 l d)`` with
    ``fusion="concat"``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 64,
        repr_dims: int = 128,
        temporal_depth: int = 6,
        spectral_depth: int = 3,
        temporal_size: int = 32,
        spectral_size: int = 32,
        rank: int = 8,
        n_loops: int = 3,
        fusion: str = "bilinear",
        spectrum: str = "complex",
        missing: str = "interpolate",
    ):
        super().__init__()
        self.fusion = fusion
        self.missing = missing
        self.spectrum = spectrum
        self.m, self.n, d = temporal_size, spectral_size, repr_dims
        self.uses_temporal = fusion != "spectral"
        self.uses_spectral = fusion != "temporal"
        if self.uses_temporal:
            self.temporal_encoder = DilatedConvEncoder(
                in_channels, hidden_channels, d, temporal_depth, causal=True
            )
            self.W_t = nn.Parameter(torch.randn(self.m, rank) / self.m**0.5)
        if self.uses_spectral:
            spec_channels = 2 * in_channels if spectrum == "complex" else in_channels
            self.spectral_encoder = DilatedConvEncoder(
                spec_channels, hidden_channels, d, spectral_depth, causal=False
            )
            self.W_s = nn.Parameter(torch.randn(self.n, rank) / self.n**0.5)
        if fusion == "bilinear":
            self.U = nn.Parameter(torch.randn(self.m, rank) / self.m**0.5)
            self.V = nn.Parameter(torch.randn(self.n, rank) / self.n**0.5)
            self.s2t = nn.ModuleList(
                CrossAggregation(self.n, d, rank, causal_axis=True) for _ in range(n_loops)
            )
            self.t2s = nn.ModuleList(
                CrossAggregation(self.m, d, rank, causal_axis=False) for _ in range(n_loops)
            )

    def seeded_reset_parameters(self, generator):
        """Redraw the position maps (``W_t``, ``W_s``, ``U``, ``V``) from ``generator``."""
        for name in ("W_t", "W_s", "U", "V"):
            param = getattr(self, name, None)
            if param is not None:
                param.copy_(torch.randn(param.shape, generator=generator) / param.shape[0] ** 0.5)

    def spectral_input(self, x, filled=False):
        """FFT of each channel along time, as real+imag channels or log-magnitude.

        ``filled=True``: ``x`` has no missing values left (skips the scan for them)."""
        # FFTs run in float32 even under bf16 autocast (no bf16 FFT kernels)
        with torch.autocast(device_type=x.device.type, enabled=False):
            # missing values are linearly interpolated: a zero (the series mean) at each
            # gap would put broadband energy into every frequency
            x = x.float() if filled else fill_missing(x.float())
            spec = torch.fft.rfft(x, dim=-1, norm="ortho")
            if self.spectrum == "complex":
                return torch.cat([spec.real, spec.imag], dim=1)
            return torch.log1p(spec.abs())

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """``(h_t, heads)``: the temporal encoder's per-step features ``(B, d, T)`` (None
        without a temporal branch) and the ``(B, l, d)`` terms whose sum (or concatenation)
        goes through the sigmoid. ``mask`` (B, 1, T) masks time steps in the temporal
        encoder (training only)."""
        heads, h_t = [], None
        if self.missing == "interpolate":
            # a masked step changes what the convolutions around it compute far more than
            # an interpolated value does (10 % NaN: 5x less feature drift, default model)
            x = fill_missing(x)
        if self.uses_temporal:
            h_t = self.temporal_encoder(x, mask)
            # max-pool to m fixed positions: (B, m, d) for any series length
            F_t = F.adaptive_max_pool1d(h_t, self.m).transpose(1, 2)
        if self.uses_spectral:
            filled = self.missing == "interpolate"  # encode() filled them above
            spec = self.spectral_encoder(self.spectral_input(x, filled=filled))
            F_s = F.adaptive_max_pool1d(spec, self.n).transpose(1, 2)
        if self.fusion == "bilinear":
            for s2t, t2s in zip(self.s2t, self.t2s, strict=True):
                # both updates read the features of the previous loop
                F_t, F_s = s2t(F_t, F_s), t2s(F_s, F_t)
        if self.uses_temporal:
            heads.append(torch.einsum("bmd,ml->bld", F_t, self.W_t))
        if self.uses_spectral:
            heads.append(torch.einsum("bnd,nl->bld", F_s, self.W_s))
        if self.fusion == "bilinear":
            heads.append(low_rank_bilinear(F_t, F_s, self.U, self.V))
        return h_t, heads

    def heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The (B, l, d) terms whose sum (or concatenation) goes through the sigmoid."""
        return self.encode(x)[1]

    def fuse(self, heads: list[torch.Tensor]) -> torch.Tensor:
        """The output before the sigmoid, flattened: (B, l * d) or (B, 2 l d)."""
        if self.fusion == "concat":
            return torch.cat([h.flatten(1) for h in heads], dim=1)
        return sum(heads).flatten(1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The output before the sigmoid, flattened: (B, l * d) or (B, 2 l d)."""
        return self.fuse(self.heads(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The representation ``f = sigmoid(W_t^T F_t + W_s^T F_s + F_bilinear)``."""
        return torch.sigmoid(self.logits(x))
