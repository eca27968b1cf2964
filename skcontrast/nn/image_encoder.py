"""ResNet-18 image encoder for AimTS's series-image contrast.

The images are line plots (or other pictures) of series with one channel. The module and
parameter names follow torchvision's ``resnet18`` exactly, so ImageNet weights a user saved
elsewhere (``torch.save(resnet18(weights=...).state_dict(), path)``) load without
torchvision, which this package does not depend on.
"""

from __future__ import annotations

import pickle

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip (torchvision's ``BasicBlock``)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            # the skip must match the main path's shape
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18Encoder(nn.Module):
    """ResNet-18 trunk: images ``(B, in_channels, H, W)`` to features ``(B, out_dims)``.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for the gray plots of series).
    width : int
        Channels of ``layer1``; the later stages have 2, 4 and 8 times as many. 64 is the
        standard ResNet-18 (and the only width ImageNet weights fit); smaller widths make
        cheap encoders for small data and tests.
    out_dims : int or None
        ``None`` returns the ``8 * width`` pooled features; an int adds a linear head ``fc``.
    """

    def __init__(self, in_channels: int = 1, width: int = 64, out_dims: int | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [width, 2 * width, 4 * width, 8 * width]
        previous = width
        for i, (channels, stride) in enumerate(zip(widths, [1, 2, 2, 2], strict=True), start=1):
            blocks = [BasicBlock(previous, channels, stride), BasicBlock(channels, channels)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            previous = channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = None if out_dims is None else nn.Linear(previous, out_dims)
        self.out_dims = previous if out_dims is None else out_dims
        # torchvision's initialisation, so training from scratch behaves like theirs
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return x if self.fc is None else self.fc(x)


_EXPECTED_FORMAT = (
    "expected a file written by torch.save(state_dict) holding a torchvision-format resnet18 "
    "state dict (a dict of parameter name -> tensor, e.g. 'conv1.weight', 'layer1.0.bn1.weight')"
)


def load_pretrained_weights(encoder: ResNet18Encoder, path) -> ResNet18Encoder:
    """Load torchvision-format ResNet-18 weights from a local file into ``encoder``.

    The file's ``fc.*`` entries (ImageNet's 1000-class head) are ignored, since the encoder's
    own head, if any, is task specific. RGB weights load into a 1-channel encoder by summing
    ``conv1`` over its input channels: a gray image then gives exactly the activations of
    the RGB image with three equal channels. Everything else must match exactly.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a state dict of tensors, or its keys or shapes do not fit.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise ValueError(f"cannot read {path}: {error}; {_EXPECTED_FORMAT}") from error
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()
    ):
        raise ValueError(
            f"{path} holds a {type(state).__name__}, not a state dict; {_EXPECTED_FORMAT}"
        )
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    conv1 = state.get("conv1.weight")
    if conv1 is not None and conv1.ndim == 4 and conv1.shape[1] == 3:
        if encoder.conv1.in_channels == 1:
            state["conv1.weight"] = conv1.sum(dim=1, keepdim=True)
    own = {k: v for k, v in encoder.state_dict().items() if not k.startswith("fc.")}
    unexpected = sorted(set(state) - set(own))
    # BatchNorm fills in num_batches_tracked itself when old files lack it
    missing = sorted(k for k in set(own) - set(state) if not k.endswith("num_batches_tracked"))
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit a ResNet-18 encoder: missing keys {missing[:5]}, "
            f"unexpected keys {unexpected[:5]}; {_EXPECTED_FORMAT}"
        )
    for key, value in state.items():
        if value.shape != own[key].shape:
            raise ValueError(
                f"{path}: {key} has shape {tuple(value.shape)} but the encoder expects "
                f"{tuple(own[key].shape)} (in_channels={encoder.conv1.in_channels}, "
                f"width={encoder.conv1.out_channels}); ImageNet weights need width=64"
            )
    encoder.load_state_dict(state, strict=False)
    return encoder


def freeze(module: nn.Module) -> nn.Module:
    """Stop training ``module``: no gradients, and eval mode so BatchNorm statistics stay put."""
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.eval()
