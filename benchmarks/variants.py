"""Options that measurements rejected, kept for the benchmarks that measured them.

They left the package's estimators (issue 34): each is a subclass here that adds its
parameters (with their checks) to the estimator's, so ``clone``, ``get_params`` and grid
searches treat them as any other parameter. The scripts import these classes instead of
the package's; the tests are ``tests/test_benchmark_variants.py``.

- :class:`BTSFVariant`: BTSF with ``fusion`` (the paper's ablations ``"sum"``,
  ``"concat"``, ``"temporal"``, ``"spectral"`` beside the method's ``"bilinear"``),
  ``lr_schedule="cosine"`` (a cosine decay of the rate to 0 over the step budget) and
  ``ema_decay`` (an exponential instead of SWA's equal-weight average of the weights).
  ``0.99`` measured -0.2 points against SWA; the cosine schedule did not help either
  (``results/btsf_recipe.md``, docs/btsf_method_notes.md).
- :class:`AimTSVariant`: AimTS with ``use_prototypes=False``: each augmentation is
  contrasted with its counterpart in the other view instead of the prototypes (the
  paper's ablation, ``results/aimts_ablation.md``).

With their defaults both give the package's estimators' fits, bit for bit.
"""

from __future__ import annotations

import contextlib
import inspect
import math

import torch

from skcontrast import AimTSTransformer, BTSFTransformer
from skcontrast._aimts_loss import aimts_loss
from skcontrast._torch_utils import weight_average
from skcontrast._training import FitState
from skcontrast._validation import Bool, Interval, Options, Rule
from skcontrast.nn.btsf import FUSIONS, BTSFNetwork
from skcontrast.nn.losses import hierarchical_instance_contrast

__all__ = ["AimTSVariant", "BTSFVariant"]

LR_SCHEDULES = ("constant", "cosine")


def _with_options(cls, options):
    """``cls.__init__`` with the keyword parameters ``options`` (name -> default) added."""
    base = cls.__init__
    signature = inspect.signature(base)
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in options.items()
    ]

    def __init__(self, *args, **kwargs):
        for name, default in options.items():
            setattr(self, name, kwargs.pop(name, default))
        # the estimator's options may be given by name, as the benchmarks' tables do
        base(self, *args, **cls._split_options(kwargs))

    __init__.__signature__ = signature.replace(
        parameters=[*signature.parameters.values(), *added]
    )
    return __init__


def _ema_needs_averaging(est):
    if est.ema_decay is not None and est.swa is False:
        raise ValueError(
            f"ema_decay={est.ema_decay!r} sets how the weights are averaged, but swa=False "
            "turns the average off: pass swa=None, or ema_decay=None for the last weights."
        )


class BTSFVariant(BTSFTransformer):
    """:class:`~skcontrast.BTSFTransformer` with ``fusion``, ``lr_schedule`` and ``ema_decay``.

    fusion : {"bilinear", "sum", "concat", "temporal", "spectral"}, default="bilinear"
        ``"bilinear"`` is the method; the others are the paper's ablations: the sum or the
        concatenation of both branches without interaction, or one branch alone.
    lr_schedule : {"constant", "cosine"}, default="constant"
        Learning rate over the steps: constant, or a cosine decay from ``lr`` to 0 over the
        step budget.
    ema_decay : float or None, default=None
        In (0, 1): the weight average is exponential (EMA, ``avg = ema_decay * avg +
        (1 - ema_decay) * weights`` after each step) instead of SWA's, also with ``swa=None``
        (``swa=False`` is an error).
    """

    __init__ = _with_options(
        BTSFTransformer, {"fusion": "bilinear", "lr_schedule": "constant", "ema_decay": None}
    )
    _param_constraints = {
        **BTSFTransformer._param_constraints,
        "fusion": [Options(FUSIONS)],
        "lr_schedule": [Options(LR_SCHEDULES)],
        "ema_decay": [None, Interval("real", 0, 1, closed="neither")],
    }
    _param_rules = (*BTSFTransformer._param_rules, Rule("ema_decay", _ema_needs_averaging))

    def _build_network(self, n_channels, n_timepoints):
        if self.fusion == "bilinear":
            return super()._build_network(n_channels, n_timepoints)
        return BTSFNetwork(**self._network_kwargs(n_channels), fusion=self.fusion)

    def _lr_factor(self, step, total):
        if self.lr_schedule == "cosine" and total > 0:
            return 0.5 * (1 + math.cos(math.pi * step / total))
        return super()._lr_factor(step, total)

    @contextlib.contextmanager
    def _training_context(self, network, panels, device, seed):
        if self.ema_decay is None:
            with super()._training_context(network, panels, device, seed) as averaged:
                yield averaged
            return
        swa = True if self.swa is None else self.swa
        with weight_average(network, swa, self.ema_decay) as averaged:
            yield FitState(checkpointed=averaged)


def _per_augmentation_contrast(z):
    """The ablation: each augmentation against its counterpart in the other view."""
    n_aug = z.shape[1]
    return torch.stack(
        [hierarchical_instance_contrast(z[0, a], z[1, a]) for a in range(n_aug)]
    ).mean()


class AimTSVariant(AimTSTransformer):
    """:class:`~skcontrast.AimTSTransformer` with ``use_prototypes``.

    use_prototypes : bool, default=True
        ``False`` (ablation): contrast each augmentation with its counterpart in the other
        view instead of the prototypes.
    """

    __init__ = _with_options(AimTSTransformer, {"use_prototypes": True})
    _param_constraints = {**AimTSTransformer._param_constraints, "use_prototypes": [Bool()]}

    def _training_loss(self, network, batch, step):
        if self.use_prototypes:
            return super()._training_loss(network, batch, step)
        return aimts_loss(
            self, network, batch, step, step.fit.images, inter=_per_augmentation_contrast
        )
