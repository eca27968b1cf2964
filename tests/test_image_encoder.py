"""ResNet-18 image encoder (torchvision-compatible weights) and the pyts image transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skcontrast._images import IMAGE_KINDS, pyts_images
from skcontrast.nn.image_encoder import ResNet18Encoder, freeze, load_pretrained_weights

# a few torchvision resnet18 state-dict keys, spanning stem, blocks, downsample and BN buffers
TORCHVISION_KEYS = [
    "conv1.weight",
    "bn1.weight",
    "bn1.running_mean",
    "bn1.running_var",
    "bn1.num_batches_tracked",
    "layer1.0.conv1.weight",
    "layer1.0.bn1.weight",
    "layer1.0.conv2.weight",
    "layer1.1.bn2.bias",
    "layer2.0.downsample.0.weight",
    "layer2.0.downsample.1.weight",
    "layer2.0.downsample.1.running_var",
    "layer3.0.downsample.0.weight",
    "layer4.0.downsample.1.bias",
    "layer4.1.bn2.weight",
]


def randomise_batchnorm(encoder, seed=0):
    """Non-trivial BN statistics and affine parameters, so eval-mode outputs depend on them."""
    g = torch.Generator().manual_seed(seed)
    for m in encoder.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(1 + 0.1 * torch.randn(n, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))
    return encoder


@pytest.mark.parametrize("width, features", [(64, 512), (8, 64)])
@pytest.mark.parametrize("side", [64, 192])
def test_output_shape(width, features, side):
    encoder = ResNet18Encoder(in_channels=1, width=width)
    assert encoder.out_dims == features
    assert encoder(torch.randn(2, 1, side, side)).shape == (2, features)


def test_out_dims_adds_fc():
    encoder = ResNet18Encoder(width=8, out_dims=32)
    assert encoder.out_dims == 32
    assert encoder.fc.in_features == 64 and encoder.fc.out_features == 32
    assert encoder(torch.randn(3, 1, 64, 64)).shape == (3, 32)
    assert "fc.weight" in encoder.state_dict()
    assert "fc.weight" not in ResNet18Encoder(width=8).state_dict()


def test_state_dict_matches_torchvision_resnet18():
    encoder = ResNet18Encoder(in_channels=3, width=64)
    keys = encoder.state_dict().keys()
    assert set(TORCHVISION_KEYS) <= set(keys)
    # torchvision resnet18 has 122 state-dict entries, 2 of them fc
    assert len(keys) == 120
    assert "layer1.0.downsample.0.weight" not in keys  # layer1 keeps the shape: no downsample
    assert encoder.state_dict()["layer3.0.downsample.0.weight"].shape == (256, 128, 1, 1)
    # torchvision: 11,689,512 parameters, of which fc has 512 * 1000 + 1000
    assert sum(p.numel() for p in encoder.parameters()) == 11_689_512 - 513_000


def test_rgb_weights_load_into_gray_encoder(tmp_path):
    torch.manual_seed(0)
    rgb = randomise_batchnorm(ResNet18Encoder(in_channels=3, width=8)).eval()
    state = rgb.state_dict()
    # ImageNet files carry the 1000-class head; it must be ignored
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 64), torch.randn(1000)
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)

    gray = ResNet18Encoder(in_channels=1, width=8)
    assert load_pretrained_weights(gray, path) is gray
    gray.eval()
    g = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        expected = rgb(g.repeat(1, 3, 1, 1))
        out = gray(g)
    assert expected.abs().max() > 1e-3  # the comparison is not trivially between zeros
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(gray.bn1.running_var, rgb.bn1.running_var)


def test_same_channels_load_exactly_and_keep_own_head(tmp_path):
    source = randomise_batchnorm(ResNet18Encoder(in_channels=3, width=8))
    path = tmp_path / "w.pth"
    torch.save(source.state_dict(), path)
    target = ResNet18Encoder(in_channels=3, width=8, out_dims=5)
    head = target.fc.weight.detach().clone()
    load_pretrained_weights(target, path)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value, atol=0, rtol=0)
    torch.testing.assert_close(target.fc.weight, head, atol=0, rtol=0)


def test_width_mismatch_raises(tmp_path):
    path = tmp_path / "w.pth"
    torch.save(ResNet18Encoder(in_channels=3, width=16).state_dict(), path)
    with pytest.raises(ValueError, match=r"shape \(16, 1, 7, 7\).*\(8, 1, 7, 7\)"):
        load_pretrained_weights(ResNet18Encoder(in_channels=1, width=8), path)


def test_missing_and_unexpected_keys_raise(tmp_path):
    state = ResNet18Encoder(width=8).state_dict()
    del state["layer3.1.conv2.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="layer3.1.conv2.weight"):
        load_pretrained_weights(ResNet18Encoder(width=8), tmp_path / "missing.pth")
    state = ResNet18Encoder(width=8).state_dict()
    state["layer5.0.conv1.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(ValueError, match="layer5.0.conv1.weight"):
        load_pretrained_weights(ResNet18Encoder(width=8), tmp_path / "extra.pth")


def test_not_a_state_dict_raises(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(ValueError, match="state dict"):
        load_pretrained_weights(ResNet18Encoder(width=8), tmp_path / "tensor.pth")
    # a full checkpoint wraps the weights: not a dict of tensors either
    torch.save({"epoch": 3, "state_dict": {}}, tmp_path / "checkpoint.pth")
    with pytest.raises(ValueError, match="state dict"):
        load_pretrained_weights(ResNet18Encoder(width=8), tmp_path / "checkpoint.pth")
    (tmp_path / "garbage.pth").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="state dict"):
        load_pretrained_weights(ResNet18Encoder(width=8), tmp_path / "garbage.pth")


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_pretrained_weights(ResNet18Encoder(width=8), tmp_path / "absent.pth")


def test_freeze():
    encoder = ResNet18Encoder(width=8, out_dims=4)
    assert freeze(encoder) is encoder
    assert not any(p.requires_grad for p in encoder.parameters())
    assert not any(m.training for m in encoder.modules())
    # eval mode: BN statistics do not move on a forward pass
    before = encoder.bn1.running_mean.clone()
    encoder(torch.randn(2, 1, 64, 64) + 5)
    torch.testing.assert_close(encoder.bn1.running_mean, before, atol=0, rtol=0)


# ---------------------------------------------------------------- pyts images


@pytest.fixture
def series():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 40)
    return np.stack([np.stack([np.sin(t + p), np.cos(2 * t), t]) for p in rng.uniform(0, 3, 4)])


RANGES = {"gasf": (-1, 1), "gadf": (-1, 1), "mtf": (0, 1), "recurrence": (0, 1)}


@pytest.mark.parametrize("kind", IMAGE_KINDS[1:])
def test_pyts_shapes_and_ranges(series, kind):
    one = pyts_images(series[:, :1], kind, size=16)
    assert one.shape == (4, 1, 16, 16) and one.dtype == np.float32
    three = pyts_images(series, kind, size=16)
    assert three.shape == (4, 1, 32, 32)
    cells = [three[:, 0, :16, :16], three[:, 0, :16, 16:], three[:, 0, 16:, :16]]
    assert all(np.abs(c).max() > 0.1 for c in cells)
    assert np.all(three[:, 0, 16:, 16:] == 0)  # the unused fourth cell
    low, high = RANGES[kind]
    assert three.min() >= low - 1e-6 and three.max() <= high + 1e-6
    # channel c sits in cell (c // 2, c % 2) and is imaged on its own
    for c, cell in enumerate(cells):
        np.testing.assert_allclose(cell, pyts_images(series[:, c : c + 1], kind, 16)[:, 0])


def test_gasf_matches_pyts(series):
    from pyts.image import GramianAngularField

    expected = GramianAngularField(image_size=16, method="summation").fit_transform(series[:, 0])
    image = pyts_images(series, "gasf", size=16)
    np.testing.assert_allclose(image[:, 0, :16, :16], expected, atol=1e-6)


def test_recurrence_is_scaled_distance_matrix(series):
    image = pyts_images(series[:, :1], "recurrence", size=20)[:, 0]
    np.testing.assert_allclose(image, image.transpose(0, 2, 1), atol=1e-6)
    np.testing.assert_allclose(np.diagonal(image, axis1=1, axis2=2), 0, atol=1e-6)
    np.testing.assert_allclose(image.max(axis=(1, 2)), 1, atol=1e-6)


@pytest.mark.parametrize("kind", IMAGE_KINDS[1:])
def test_short_series_are_upsampled(kind):
    X = np.sin(np.linspace(0, 3, 10))[None, None]
    image = pyts_images(X, kind, size=16)
    assert image.shape == (1, 1, 16, 16)
    assert np.isfinite(image).all()
    low, high = RANGES[kind]
    assert image.min() >= low - 1e-6 and image.max() <= high + 1e-6


@pytest.mark.parametrize("kind", IMAGE_KINDS[1:])
def test_constant_series_give_finite_images(series, kind):
    X = series[:2, :2].copy()
    X[0, 1] = 3.0  # one constant channel next to a varying one
    image = pyts_images(X, kind, size=8)
    assert np.isfinite(image).all()
    assert np.all(image[0, 0, :8, 8:] == 0)
    assert np.abs(image[0, 0, :8, :8]).max() > 0.1


@pytest.mark.parametrize("kind", ["line", "gaf", "spectrogram"])
def test_unknown_kind_raises(series, kind):
    with pytest.raises(ValueError, match="gasf.*recurrence"):
        pyts_images(series, kind)
