"""The torch modules, against explicit definitions from the paper."""

import pytest
import torch

from skcontrast.nn.btsf import FUSIONS, BTSFNetwork, cross_aggregate, low_rank_bilinear
from skcontrast.nn.dilated_conv import DilatedConvEncoder
from skcontrast.nn.losses import info_nce


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def test_low_rank_bilinear_equals_weighted_sum_over_all_pairs(gen):
    B, m, n, d, r = 2, 5, 4, 3, 6
    F_t, F_s = torch.randn(B, m, d, generator=gen), torch.randn(B, n, d, generator=gen)
    U, V = torch.randn(m, r, generator=gen), torch.randn(n, r, generator=gen)
    explicit = torch.zeros(B, r, d)
    for k in range(r):
        for i in range(m):
            for j in range(n):
                explicit[:, k] += U[i, k] * V[j, k] * F_t[:, i] * F_s[:, j]
    torch.testing.assert_close(low_rank_bilinear(F_t, F_s, U, V), explicit)


def test_low_rank_bilinear_with_all_ones_is_the_full_pair_sum(gen):
    # rank 1, U = V = 1: the plain sum over all (i, j) of F_t(i) o F_s(j) (the diagonal
    # of F_t^T F_s summed over positions)
    F_t, F_s = torch.randn(2, 5, 3, generator=gen), torch.randn(2, 4, 3, generator=gen)
    full = torch.einsum("bid,bjd->bd", F_t, F_s)
    out = low_rank_bilinear(F_t, F_s, torch.ones(5, 1), torch.ones(4, 1))
    torch.testing.assert_close(out[:, 0], full)


def test_cross_aggregate_equals_convolution_over_the_explicit_pair_map(gen):
    B, p, q, d, k = 2, 5, 4, 3, 2
    F_a, F_b = torch.randn(B, p, d, generator=gen), torch.randn(B, q, d, generator=gen)
    A, W, bias = (
        torch.randn(q, k, generator=gen),
        torch.randn(d, k, d, generator=gen),
        torch.randn(d, generator=gen),
    )
    pairs = F_a[:, :, None, :] * F_b[:, None, :, :]  # (B, p, q, d) bilinear feature map
    aggregated = torch.einsum("bijc,jk->bikc", pairs, A)  # conv spanning the j axis
    explicit = torch.einsum("bikc,ekc->bie", aggregated, W) + bias  # channel mix
    torch.testing.assert_close(cross_aggregate(F_a, F_b, A, W, bias), explicit)


def test_causal_encoder_does_not_see_the_future(gen):
    enc = DilatedConvEncoder(2, 8, 4, depth=3, causal=True).eval()
    x = torch.randn(1, 2, 40, generator=gen)
    x2 = x.clone()
    x2[..., 25:] = torch.randn(1, 2, 15, generator=gen)
    with torch.no_grad():
        a, b = enc(x), enc(x2)
    torch.testing.assert_close(a[..., :25], b[..., :25])
    assert not torch.allclose(a[..., 25:], b[..., 25:])


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("dilation, length", [(1, 10), (4, 5), (4, 9), (8, 8), (32, 5), (3, 4)])
def test_padded_conv_skips_only_taps_that_read_zeros(gen, causal, dilation, length):
    from skcontrast.nn.dilated_conv import PaddedConv1d

    conv = PaddedConv1d(3, 4, 3, dilation=dilation, causal=causal)
    x = torch.randn(2, 3, length, generator=gen)
    span = 2 * dilation  # the full, padded reference computation
    pad = (span, 0) if causal else (span // 2, span // 2)
    reference = torch.nn.functional.conv1d(
        torch.nn.functional.pad(x, pad), conv.weight, conv.bias, dilation=dilation
    )
    torch.testing.assert_close(conv(x), reference)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("length", [1, 2, 7, 64])
def test_network_output_shape_and_range(fusion, length):
    net = BTSFNetwork(
        3,
        hidden_channels=4,
        repr_dims=5,
        temporal_depth=2,
        spectral_depth=1,
        temporal_size=4,
        spectral_size=3,
        rank=2,
        n_loops=2,
        fusion=fusion,
    )
    out = net(torch.randn(6, 3, length))
    width = 2 * 2 * 5 if fusion == "concat" else 2 * 5
    assert out.shape == (6, width)
    assert torch.isfinite(out).all() and (out > 0).all() and (out < 1).all()


def test_ablation_branches_build_only_what_they_use():
    assert not hasattr(BTSFNetwork(1, fusion="temporal"), "spectral_encoder")
    assert not hasattr(BTSFNetwork(1, fusion="spectral"), "temporal_encoder")
    assert not hasattr(BTSFNetwork(1, fusion="sum"), "s2t")
    assert len(BTSFNetwork(1, n_loops=3).s2t) == 3


def test_iterative_loops_change_the_output(gen):
    torch.manual_seed(0)
    net = BTSFNetwork(
        1, hidden_channels=4, repr_dims=4, temporal_size=4, spectral_size=4, n_loops=2
    )
    x = torch.randn(3, 1, 20, generator=gen)
    with torch.no_grad():
        looped = net(x)
        net.s2t, net.t2s = net.s2t[:0], net.t2s[:0]
        plain = net(x)
    assert not torch.allclose(looped, plain)


def test_spectrum_complex_keeps_phase_magnitude_does_not():
    # a circular shift changes only the phase of the DFT
    base = torch.randn(32, generator=torch.Generator().manual_seed(0))
    x = torch.stack([base, base.roll(5)])[:, None, :]
    complex_in = BTSFNetwork(1, spectrum="complex").spectral_input(x)
    magnitude_in = BTSFNetwork(1, spectrum="magnitude").spectral_input(x)
    assert complex_in.shape == (2, 2, 17) and magnitude_in.shape == (2, 1, 17)
    assert not torch.allclose(complex_in[0], complex_in[1])
    torch.testing.assert_close(magnitude_in[0], magnitude_in[1], atol=1e-4, rtol=1e-4)


def test_info_nce_prefers_aligned_views(gen):
    z = torch.randn(8, 16, generator=gen)
    aligned = info_nce(z, z + 0.01 * torch.randn(8, 16, generator=gen), 0.05)
    shuffled = info_nce(z, z[torch.randperm(8, generator=gen)], 0.05)
    assert aligned < 0.1 < shuffled


def test_info_nce_single_instance_is_zero_not_nan():
    loss = info_nce(torch.randn(1, 4), torch.randn(1, 4), 0.05)
    assert torch.isfinite(loss) and loss.item() == 0.0
