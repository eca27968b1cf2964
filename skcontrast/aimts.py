"""AimTS (Chen, Huang et al., 2025): the transformer, its objective and pretrained starts.

The method in one place: :class:`AimTSTransformer` implements the training contract of
``skcontrast._estimator`` (network, initial or pretrained weights, objective, optimiser,
and a training context for the image branch and the weight average) and the encoders used
at transform; :func:`aimts_loss` is its objective. The classifier reuses the pretrained
starts (:func:`resolve_pretrained`, :func:`check_architecture`).
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass

import torch

from skcontrast import pretrained as shipped
from skcontrast._aimts_loss import aimts_loss
from skcontrast._base import BaseContrastiveTransformer
from skcontrast._estimator import (
    INPUT_SCALES_CONSTRAINTS,
    MAX_DEPTH,
    MAX_WIDTH,
    SHARED_OPTIONS,
    TRANSFORMER_CONSTRAINTS,
    width,
)
from skcontrast._images import IMAGE_KINDS, ImageContext
from skcontrast._inference import channel_independent_rows
from skcontrast._torch_utils import weight_average
from skcontrast._training import FitState
from skcontrast._validation import Bool, Const, Interval, Options, Path
from skcontrast.nn.aimts import AimTSNetwork
from skcontrast.nn.augmentations import AUGMENTATIONS
from skcontrast.nn.image_encoder import ResNet18Encoder

__all__ = ["AimTSTransformer"]

# parameters that fix the network's shapes: a pretrained network must match them
ARCHITECTURE = ("hidden_channels", "repr_dims", "depth", "projection_dims", "image", "image_width")
CHANNEL_POOLINGS = ("concat", "mean", "max")
READOUTS = ("auto", "blocks", "multi", "max")

# finite: an infinite temperature or weight fails at the first step
_POSITIVE = [Interval("any", 0, math.inf, closed="neither")]
_NON_NEGATIVE = [Interval("any", 0, math.inf)]
# the training parameters, then the method's, in the order they are checked
CONSTRAINTS = {
    **TRANSFORMER_CONSTRAINTS,
    "hidden_channels": width(),
    **dict.fromkeys(("repr_dims", "projection_dims"), width(high=2 * MAX_WIDTH)),
    # pixels per channel cell (224: ImageNet's images), ResNet-18 base width (64: standard)
    "image_size": width(high=512),
    "image_width": width(high=256),
    "depth": width(0, MAX_DEPTH),
    "n_augmentations": [Interval("int", 2, len(AUGMENTATIONS), closed="both")],
    "crop_length": [Interval("int", 2), None],
    "warmup_epochs": [Interval("int", 0)],
    "max_channels": [Interval("int", 1), None],
    "image": [Options(IMAGE_KINDS), None],
    "image_encoder": [Const("scratch"), Path("the path of a local ResNet-18 weights file")],
    **dict.fromkeys(("image_temperature", "intra_temperature", "mixup_alpha"), _POSITIVE),
    **dict.fromkeys(("mixup_weight", "inter_weight", "intra_weight"), _NON_NEGATIVE),
    "channel_pooling": [Options(CHANNEL_POOLINGS)],
    "readout": [Options(READOUTS)],
    **INPUT_SCALES_CONSTRAINTS,
    "swa": [Bool()],
}


class ChannelIndependentEncoding:
    """Inference settings of AimTS's encoder, which runs every channel as its own series
    (the transformer and the fine-tuned classifier share them)."""

    _bf16_cpu_inference = True  # 2x faster encoding, same probe accuracy (method notes)

    def _instances_per_series(self, n_channels):
        return n_channels  # every channel is encoded as its own series

    # 2,000 points: 8.1 -> 5.0 us a step against 256 x 256-step chunks (method notes)
    _cpu_chunk_steps = 8192

    def _inference_rows(self, shape):
        return channel_independent_rows(self._scaled_rows(self.inference_batch_size), shape)


class AimTSTransformer(ChannelIndependentEncoding, BaseContrastiveTransformer):
    """AimTS representations: prototype and series-image contrastive pretraining.

    Implements Chen, Huang et al., "AimTS: Augmented Series and Image Contrastive Learning
    for Time Series Classification" (2025). A channel-independent dilated-convolution
    encoder is trained on two views, each made of augmentations (drawn per step from
    jitter, scaling, window slicing, time warping, window warping: all five in the paper,
    two by default, on windows of at most ``crop_length`` steps) of every series, with a two-level
    prototype contrast (inter-prototype: hierarchical instance contrast between the views'
    prototypes, the mean of each sample's projected augmentations; intra-prototype: each
    augmentation against the same augmentation of the other view) and a CLIP-style contrast
    between each series and an image of it (a line plot rendered in torch, or a pyts image),
    with geodesic-mixup hard negatives. One warm-up epoch of the image loss, then
    ``L_img + 0.9 L_inter + 0.1 L_intra``; ``transform`` uses the equal-weight running
    average (SWA) of the encoder weights. Choices the paper leaves open are listed in the
    docs page "AimTS: method notes".

    ``fit`` also accepts a corpus: a list of panels with different lengths and channel
    counts (batches come from one panel at a time, panels drawn in proportion to their
    size). A fitted transformer encodes series of any length and channel count; start
    another from it with ``pretrained=`` (a fitted transformer or a ``save_weights`` file;
    ``n_iters=0`` uses it as is).

    Parameters
    ----------
    hidden_channels : int, default=64
    repr_dims : int, default=512
        Width ``D`` of each channel's embedding.
    depth : int, default=10
        Residual blocks of the dilated encoder (dilation ``2**i``).
    image : {"line", "gasf", "gadf", "mtf", "recurrence"} or None, default="line"
        Images for the series-image contrast; ``None`` drops the image branch.
    image_size : int, default=64
        Pixels per channel cell; C channels fill a ``ceil(sqrt(C))`` square grid.
    n_augmentations : int in [2, 5], default=2
        Augmentations per view and step, drawn from the five (the same ones in both views):
        a step costs in proportion. 5 is the paper's setting.
    crop_length : int or None, default=256
        The prototype contrast sees a random window of at most this many steps of each
        series, so a step's cost stops growing with series length (the image branch still
        sees whole series). ``None``: whole series, as the paper.
    max_channels : int or None, default=None
        Pretrain each batch on a random subset of at most this many channels (a CPU budget
        knob: a step costs in proportion to channels x length x 10 augmented copies; the
        channel-independent encoder makes a subset an unbiased stand-in). ``None``: all
        channels, as the paper. ``transform`` always encodes every channel.
    readout : {"auto", "blocks", "multi", "max"}, default="auto"
        What ``transform`` reads from the encoder for each channel. ``"blocks"``: the mean
        and the max over time of every residual block but the last, for the series and for
        its z-normalised first difference (``4 * hidden_channels * (depth - 1)`` features,
        2,304 by default); the last block, two thirds of an encoding's time, is not run.
        ``"multi"``: the mean and max of the last block's output and of three intermediate
        blocks' (at 30, 60 and 90 % of the depth), for the same two views (``4 * (repr_dims
        + 3 * hidden_channels)`` features, 2,816 by default; 3 times the encoding time of
        ``"blocks"``). ``"max"``: the last block max-pooled over time (``repr_dims``
        features), the paper's downstream readout. ``"auto"``: ``"blocks"`` for a
        ``pretrained`` encoder used as is (``n_iters=0`` or ``n_epochs=0``), ``"multi"``
        for one that ``fit`` trains, from scratch or further, as measured: the shipped
        base, frozen, on 22 held-out sets, ``"blocks"`` 0.818 and ``"multi"`` 0.804
        (``benchmarks/results/frozen_readout_blocks.md``); encoders trained from scratch
        (30 steps) on 24 dev sets, 0.818 and 0.822; the base trained 30 more steps on each
        of 12 held-out sets, ``"multi"`` ahead (``scratch_readout.md``). A weights file
        stores the readout in effect.
    channel_pooling : {"concat", "mean", "max"}, default="concat"
        How channel embeddings form a row: concatenated (``C * D`` wide, the paper's
        downstream choice) or averaged / maxed over channels (``D`` wide for any C).
    input_scales : tuple of float, default=(1.0,)
        Self-ensembling over input resolutions, as in :class:`BTSFTransformer`:
        ``transform`` also encodes each series resampled to ``s`` times its length and
        concatenates each channel's embeddings over the scales (``channel_pooling`` then
        pools the wider embeddings). Training is unchanged.
    pretrained : AimTSTransformer, path, name or None, default=None
        Start from this fitted encoder (the architecture parameters must match): a fitted
        transformer, a ``save_weights`` file, or the name of an encoder shipped with the
        package (``"base"``; see ``skcontrast.pretrained.available()``). ``n_iters=0`` or
        ``n_epochs=0`` uses it as is, more continues training on this data.
    normalize, standardize, batch_size, n_iters, max_time, checkpoint_path, device, \
verbose, random_state
        As in :class:`BTSFTransformer`, with ``normalize="zscore"``, ``batch_size=16`` (the
        paper's) and ``n_iters=None`` meaning 30 steps (a CPU budget: one step encodes
        ``2 * n_augmentations`` augmented copies of each series). ``normalize="global"``
        fits per-channel statistics, so the corpus and every panel transformed must share
        one channel count; with a tuple and ``channel_pooling="concat"``, each channel's
        block of the row holds its readout of each normalisation in turn; for one dataset,
        ``("zscore", "global")`` measured +1.3 points on the 43-set dev suite, +3.1 on the
        sets the archive leaves raw (method notes).
    lr : float, default=7e-4
        AdamW learning rate.
    options : dict or None, default=None
        Further options by name, as in :class:`BTSFTransformer`: the options every
        estimator takes (user guide, "Options"), here with ``weight_decay=0.01`` (AdamW's)
        and a chunk of ``inference_batch_size`` series also kept under
        ``inference_batch_size * 256`` channel-steps (every channel is encoded as its own
        series) and on a CPU under 8,192 (cache-sized, 1.6x faster at 2,000 points).
        AimTS's own (the loss settings the paper does not publish were chosen by
        measurement: method notes):

        - ``projection_dims`` (int, default 128): output of the projection MLPs
          (``repr_dims -> 256 -> projection_dims``).
        - ``image_encoder`` ("scratch" or a path, default "scratch"): ``"scratch"``, a
          ResNet-18 trained jointly; a path, a local torchvision-format ResNet-18 state
          dict (e.g. ImageNet weights), loaded and frozen (each series' image embedding
          is then computed once per fit).
        - ``image_width`` (int, default 32): the ResNet-18's base width; 64 is the
          standard network (the paper's, and the only width ImageNet weights fit); 32 is
          4x cheaper and keeps a pretrained encoder file under 20 MB.
        - ``image_temperature``, ``intra_temperature`` (float, default 0.1): temperatures
          of the series-image and of the intra-prototype (cosine) losses.
        - ``mixup_weight`` (float, default 0.5), ``mixup_alpha`` (default 0.1): weight of
          the geodesic-mixup hard-negative term, and its mixing weights
          ``lambda ~ Beta(alpha, alpha)``.
        - ``inter_weight``, ``intra_weight`` (float, default 0.9 and 0.1): weights of the
          inter- and intra-prototype losses.
        - ``warmup_epochs`` (int, default 1): epochs of the image loss alone before the
          full objective.
        - ``swa`` (bool, default True): end with the running average of the encoder
          weights (after the warm-up).

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (SWA-averaged series encoder), on the CPU.
    loss_history_, n_iters_, stop_reason_, fit_time_, feature_mean_, feature_scale_, \
input_mean_, input_scale_
        As in :class:`BTSFTransformer`.
    loss_terms_ : dict of str to list of float
        The weighted terms of the loss at each step, which sum to ``loss_history_``:
        ``"image"`` (series-image contrast, with an image branch), ``"inter"`` and
        ``"intra"`` (prototype contrasts; 0 during the warm-up).
    n_channels_in_, n_timepoints_in_ : int or None
        Shape of the training series; ``None`` where a corpus mixes them.

    Examples
    --------
    >>> import numpy as np
    >>> from skcontrast import AimTSTransformer
    >>> rng = np.random.default_rng(0)
    >>> corpus = [rng.standard_normal((8, 1, 40)), rng.standard_normal((6, 3, 25))]
    >>> small = dict(hidden_channels=8, repr_dims=16, depth=2, image_size=16, n_iters=3,
    ...              random_state=0, options={"image_width": 4})
    >>> encoder = AimTSTransformer(**small).fit(corpus)
    >>> encoder.transform(rng.standard_normal((5, 2, 30))).shape  # 2 channels x 96 features
    (5, 192)
    """

    _accepts_corpus = True
    _layer_params = ("depth",)
    _params_added_later = {"readout": "max"}  # older files read out the last block's max
    # left the package (benchmarks/variants.py): files with the value kept still read
    _params_removed = {"use_prototypes": True}
    _param_constraints = CONSTRAINTS
    _option_defaults = {
        **SHARED_OPTIONS, "weight_decay": 0.01, "projection_dims": 128,
        "image_encoder": "scratch", "image_width": 32, "image_temperature": 0.1,
        "intra_temperature": 0.1, "mixup_weight": 0.5, "mixup_alpha": 0.1, "inter_weight": 0.9,
        "intra_weight": 0.1, "warmup_epochs": 1, "swa": True,
    }  # fmt: skip

    # fmt: off
    def __init__(
        self, hidden_channels=64, repr_dims=512, depth=10, image="line", image_size=64,
        n_augmentations=2, crop_length=256, max_channels=None, readout="auto",
        channel_pooling="concat", input_scales=(1.0,), pretrained=None, normalize="zscore",
        standardize=True, batch_size=16, n_iters=None, max_time=None, lr=7e-4,
        checkpoint_path=None, device="auto", verbose=False, random_state=None, options=None,
    ):
        # fmt: on
        self.hidden_channels = hidden_channels
        self.repr_dims = repr_dims
        self.depth = depth
        self.image = image
        self.image_size = image_size
        self.n_augmentations, self.crop_length = n_augmentations, crop_length
        self.max_channels = max_channels
        self.readout = readout
        self.channel_pooling = channel_pooling
        self.input_scales = input_scales
        self.pretrained = pretrained
        self.normalize = normalize
        self.standardize = standardize
        self.batch_size = batch_size
        self.n_iters = n_iters
        self.max_time = max_time
        self.lr = lr
        self.checkpoint_path = checkpoint_path
        self.device = device
        self.verbose = verbose
        self.random_state = random_state
        self.options = options
        super().__init__()

    def _default_n_iters(self, n_series):
        return 30

    def _min_shard_rows(self):
        """Rows each process needs per batch in a process group: the BatchNorm of an image
        encoder trained from scratch cannot train on one row (or none)."""
        return 2 if self.image is not None and self.image_encoder == "scratch" else 0

    def _make_optimizer(self, network):
        params = [p for p in network.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

    def _build_network(self, n_channels, n_timepoints):
        image_encoder = None
        if self.image is not None:
            image_encoder = ResNet18Encoder(in_channels=1, width=self.image_width)
        return AimTSNetwork(
            hidden_channels=self.hidden_channels,
            repr_dims=self.repr_dims,
            depth=self.depth,
            projection_dims=self.projection_dims,
            image_encoder=image_encoder,
            image_dims=8 * self.image_width,
        )

    def _init_weights(self, network, seed):
        super()._init_weights(network, seed)
        if self.pretrained is not None:
            load_pretrained(self, network)

    @contextlib.contextmanager
    def _training_context(self, network, panels, device, seed):
        """The image context and the weight average (SWA, checkpointed) of the fit."""
        has_images = network.image_encoder is not None
        with weight_average(network.series_encoder, self.swa) as averaged:
            yield _AimTSFit(
                checkpointed=averaged,
                images=self._image_context(network, panels, device) if has_images else None,
                warmup_epochs=self.warmup_epochs if has_images else 0,
            )

    def _image_context(self, network, panels, device):
        return ImageContext(
            network, panels, device, kind=self.image, size=self.image_size,
            encoder=self.image_encoder, chunk_rows=self._inference_rows,
        )  # fmt: skip

    def _training_loss(self, network, batch, step):
        return aimts_loss(self, network, batch, step, step.fit.images)

    def _after_step(self, network, step):
        # equal-weight running average of the encoder, from the end of the warm-up on
        averaged = step.fit.checkpointed
        if averaged is not None and step.index >= step.fit.warmup_epochs * step.steps_per_epoch:
            averaged.update_parameters(network.series_encoder)

    def _encode(self, network, batch):
        readout = self._readout_in_effect()
        if readout == "max":
            return network.channel_embeddings(batch)  # (B, C, D)
        if readout == "multi":
            return network.multi_block_embeddings(batch)  # (B, C, F)
        return network.block_embeddings(batch)  # (B, C, F)

    def _readout_in_effect(self) -> str:
        """``readout`` with ``"auto"`` resolved: ``"blocks"`` for a pretrained encoder used
        as is (no training step), ``"multi"`` for one that ``fit`` trains."""
        if self.readout != "auto":
            return self.readout
        frozen = self.n_iters == 0 or self.n_epochs == 0
        return "blocks" if self.pretrained is not None and frozen else "multi"

    def _effective_params(self) -> dict:
        # the readout in effect: a weights file stores it (it does not store `pretrained`,
        # from which "auto" reads, so a loaded file reads its rows as they were written)
        return {**super()._effective_params(), "readout": self._readout_in_effect()}

    def _pool(self, features):
        if self.channel_pooling == "mean":
            return features.mean(axis=1)
        if self.channel_pooling == "max":
            return features.max(axis=1)
        return features.reshape(len(features), -1)

    def _encode_timesteps(self, network, batch):
        # (B, C, D, T) per channel and step, channels pooled as in transform
        h = network.timestep_features(batch).transpose(1, 3)  # (B, T, D, C)
        if self.channel_pooling == "mean":
            return h.mean(dim=-1)
        if self.channel_pooling == "max":
            return h.amax(dim=-1)
        return h.transpose(2, 3).flatten(2)  # (B, T, C * D), channel-major as in _pool

    def _check_input_shape(self, X):
        """Any length and channel count: the encoder is channel-independent and max-pools time."""

    def _check_channels(self, X):
        """Any channel count (with ``channel_pooling="concat"`` the width follows it)."""

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's and the package's own tests."""
        tiny = dict(
            hidden_channels=4, repr_dims=8, depth=1, image_size=8, batch_size=4, n_iters=2,
            device="cpu", random_state=0, options=dict(projection_dims=4, image_width=2),
        )  # fmt: skip
        return [
            tiny,
            {**tiny, "image": None, "channel_pooling": "mean"},
        ]


def resolve_pretrained(est):
    """``est.pretrained`` as a fitted AimTSTransformer (loading a weights file if a path)."""
    source = est.pretrained
    if shipped.is_name(source):
        source = shipped.weights_path(source)
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise FileNotFoundError(
                f"{type(est).__name__}: pretrained={est.pretrained!r} is neither a file nor the "
                f"name of a shipped encoder (skcontrast.pretrained.available(): "
                f"{shipped.available()})"
            )
        source = AimTSTransformer.load_weights(source)
    if not isinstance(source, AimTSTransformer) or not source.is_fitted:
        raise ValueError(
            f"{type(est).__name__}: pretrained must be a fitted AimTSTransformer, the path of "
            "a file written by its save_weights(), or the name of a shipped encoder "
            f"({shipped.available()}); got an unfitted or other object (note that clone() "
            "and GridSearchCV pass unfitted copies of estimator parameters: use a path or a "
            "name there)."
        )
    return source


def check_architecture(est, source, params):
    differ = {
        p: (getattr(est, p), getattr(source, p))
        for p in params
        if getattr(est, p) != getattr(source, p)
    }
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


@dataclass
class _AimTSFit(FitState):
    """What AimTS's objective and step hook read during one fit (``step.fit``);
    ``checkpointed`` is the weight average (SWA), None with ``swa=False``."""

    images: ImageContext | None = None  # None without an image branch
    warmup_epochs: int = 0  # epochs of the image loss alone
