"""Initial weights drawn from an explicit ``torch.Generator`` (thread-safe seeding).

torch's layers draw their initial weights from the process-wide generator, which torch code
in any other thread also draws from. :func:`seeded_init_` redraws the weights of a module
with torch's own schemes (and torchvision's for the ResNet-18 convolutions), from a
generator of its own, so a seeded fit gets the same initial weights whatever else runs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from skcontrast.nn.image_encoder import ResNet18Encoder

# layers without random initial values: nothing to redraw
_DETERMINISTIC = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)


@torch.no_grad()
def seeded_init_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Redraw the initial weights of every layer of ``module`` from ``generator``.

    Linear and convolution layers get torch's default initialisation (Kaiming-uniform
    weights with ``a = sqrt(5)``, biases uniform in ``+-1/sqrt(fan_in)``); the convolutions of
    a :class:`ResNet18Encoder` get torchvision's Kaiming-normal (``fan_out``). Values are
    drawn on the CPU and copied, so the initial weights do not depend on the device.
    ``generator`` is a CPU generator. A module with parameters of its own (not in
    sub-layers) may define ``seeded_reset_parameters(generator)`` to draw them; any other
    kind of layer that holds parameters is an error, rather than weights silently drawn
    from the global generator.
    """
    resnet_convs = {
        id(m)
        for encoder in module.modules()
        if isinstance(encoder, ResNet18Encoder)
        for m in encoder.modules()
        if isinstance(m, nn.Conv2d)
    }
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            weight = torch.empty(m.weight.shape)
            if id(m) in resnet_convs:
                nn.init.kaiming_normal_(
                    weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
            else:
                nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
            m.weight.copy_(weight)
            if m.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                bias = torch.empty(m.bias.shape).uniform_(-bound, bound, generator=generator)
                m.bias.copy_(bias)
        elif hasattr(m, "seeded_reset_parameters"):
            m.seeded_reset_parameters(generator)
        elif not isinstance(m, _DETERMINISTIC) and any(True for _ in m.parameters(recurse=False)):
            raise TypeError(
                f"seeded_init_ does not know how to initialise {type(m).__name__}; add its "
                "scheme to skcontrast.nn.initialization."
            )
    return module
