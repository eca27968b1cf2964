"""Self-supervised representation transformers: a panel of series in, a feature table out."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from skcontrast import _aimts
from skcontrast._base import BaseContrastiveTransformer
from skcontrast import _distributed
from skcontrast._training import run_training
from skcontrast.nn.btsf import FUSIONS, SPECTRA, BTSFNetwork
from skcontrast.nn.losses import info_nce

__all__ = ["AimTSTransformer", "BTSFTransformer"]

CHANNEL_POOLINGS = ("concat", "mean", "max")


class BTSFTransformer(BaseContrastiveTransformer):
    """Bilinear Temporal-Spectral Fusion (BTSF) representations, learned in ``fit``.

    Self-supervised: ``fit`` learns an encoder from unlabelled series (``y`` is ignored)
    by instance-level contrast between two dropout views of each whole series; ``transform``
    returns one fixed-size feature row per series, to feed a linear model. Implements
    Yang & Hong, "Unsupervised Time-Series Representation Learning with Iterative Bilinear
    Temporal-Spectral Fusion", ICML 2022: a temporal encoder (dilated causal convolutions)
    and a spectral encoder (convolutions over the FFT), each max-pooled to a fixed number of
    positions, fused by low-rank bilinear pooling and refined by ``n_loops`` rounds of
    spectrum-to-time (S2T) and time-to-spectrum (T2S) aggregation; the output is
    ``sigmoid(W_t^T F_t + W_s^T F_s + F_bilinear)``. Choices the paper leaves open are
    listed in the docs page "BTSF: method notes".

    Input: a 3-D array ``(n_series, n_channels, n_timepoints)``, any sktime panel container,
    or a 2-D array ``(n_series, n_timepoints)`` read as univariate series (the scikit-learn
    convention; sktime itself would read a 2-D array as one series). Unequal lengths are
    accepted in sktime containers (series are grouped by length, never padded). NaN marks a
    missing value (masked in the encoders, as TS2Vec does); infinite values are an error.
    ``transform`` needs the fitted channel count, and the fitted length when all training
    series had one length.

    Parameters
    ----------
    dropout : float, default=0.1
        Rate ``p`` of the dropout masks that make the two views of each series.
    temperature : float, default=0.05
        InfoNCE temperature ``tau``.
    hidden_channels : int, default=64
        Width of the convolutional encoders.
    repr_dims : int, default=128
        ``d``, the feature width of ``F_t`` and ``F_s``.
    temporal_depth : int, default=6
        Residual blocks (dilation ``2**i``) of the temporal encoder.
    spectral_depth : int, default=3
        Residual blocks of the spectral encoder.
    temporal_size, spectral_size : int, default=32
        ``m`` and ``n``, the positions the temporal and spectral features are max-pooled to.
    rank : int, default=8
        ``l``, the rank of the low-rank bilinear interaction; features are ``l * d`` wide.
    n_loops : int, default=3
        Rounds of bilinear fusion + S2T + T2S (0: one non-iterative bilinear fusion).
    fusion : {"bilinear", "sum", "concat", "temporal", "spectral"}, default="bilinear"
        ``"bilinear"`` is the method; the others are the paper's ablations: the sum or the
        concatenation of both branches without interaction, or one branch alone.
    spectrum : {"complex", "magnitude"}, default="complex"
        Spectral input: real and imaginary parts of the FFT (keeps phase) or its
        log-magnitude.
    channel_independent : bool, default=False
        Encode each variable of a multivariate series as its own univariate series, so the
        other variables serve as negatives (the paper's option for multivariate data);
        features are then concatenated over channels (``n_channels * l * d`` wide).
    normalize : {"zscore", None}, default="zscore"
        Per-series, per-channel z-normalisation before encoding (constant channels map to 0).
    batch_size : int, default=32
        Series per training step (the paper uses 256 on a GPU; 32 suits a CPU). Clipped to
        the number of series.
    n_iters : int or None, default=None
        Training steps. ``None`` (with ``n_epochs=None``) means 100 steps, a CPU-sized
        budget (the paper does not state one). ``0`` skips training: the encoder keeps its
        seeded random initialisation, a useful baseline for what training adds.
    n_epochs : int or None, default=None
        Training length in passes over the data instead of steps (``0``: no training).
    max_time : float or None, default=None
        Stop training after this many seconds.
    early_stopping : bool, default=False
        Stop when a moving average of the loss improves by less than ``tol`` (relative)
        for ``n_iter_no_change`` steps.
    checkpoint_path : str, path or None, default=None
        Save a training checkpoint here every ``checkpoint_every`` steps; a later ``fit`` with
        the same data and parameters resumes from it and, on the CPU, ends with exactly the
        weights of an uninterrupted fit. A checkpoint from another fit is a clear error.
    checkpoint_every : int, default=50
    n_iter_no_change : int, default=20
    tol : float, default=1e-3
    lr : float, default=3e-4
        Adam learning rate.
    weight_decay : float, default=1e-4
        Adam weight decay.
    standardize : bool, default=True
        Standardise each output feature with its mean and standard deviation over the
        training series, so that linear models with default regularisation work well.
    inference_batch_size : int, default=256
        Series encoded at a time by ``transform`` (bounds memory).
    device : str, default="auto"
        ``"auto"`` (CUDA, else MPS, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
    mixed_precision : bool, default=True
        bf16 autocast on CUDA (no effect on other devices).
    verbose : bool, default=False
        Show a progress bar with the loss during ``fit``.
    random_state : int, RandomState or None, default=None
        Seed for weights, dropout and batch order. With an int, refits and transforms on
        the CPU are bitwise identical; the global RNG state is never changed.

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network, on the CPU.
    loss_history_ : list of float
        Training loss at each step.
    n_iters_ : int
        Training steps done.
    stop_reason_ : str
        ``"budget"``, ``"max_time"``, ``"early_stopping"`` or ``"interrupted"``; or
        ``"single_series"`` when ``fit`` got a single series (e.g. a 2-D DataFrame, which
        sktime reads as one series) and training did not happen (with a warning).
    n_channels_in_, n_timepoints_in_ : int
        Shape of the training series.
    n_features_in_ : int
        ``n_channels_in_ * n_timepoints_in_`` (scikit-learn's count of input values).
    feature_mean_, feature_scale_ : ndarray
        Output standardisation statistics over the training series.
    fit_time_ : float
        Seconds spent in ``fit``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from sktime.datasets import load_unit_test
    >>> from skcontrast import BTSFTransformer
    >>> X, y = load_unit_test(return_X_y=True, return_type="numpy3D")
    >>> X.shape
    (42, 1, 24)
    >>> pipe = Pipeline([("rep", BTSFTransformer(n_iters=5, random_state=0)),
    ...                  ("clf", LogisticRegression())])
    >>> pipe = pipe.fit(X, y)
    >>> pipe.named_steps["rep"].transform(X[:3]).shape
    (3, 1024)
    """

    def __init__(
        self,
        dropout=0.1,
        temperature=0.05,
        hidden_channels=64,
        repr_dims=128,
        temporal_depth=6,
        spectral_depth=3,
        temporal_size=32,
        spectral_size=32,
        rank=8,
        n_loops=3,
        fusion="bilinear",
        spectrum="complex",
        channel_independent=False,
        normalize="zscore",
        batch_size=32,
        n_iters=None,
        n_epochs=None,
        max_time=None,
        early_stopping=False,
        checkpoint_path=None,
        checkpoint_every=50,
        n_iter_no_change=20,
        tol=1e-3,
        lr=3e-4,
        weight_decay=1e-4,
        standardize=True,
        inference_batch_size=256,
        device="auto",
        mixed_precision=True,
        verbose=False,
        random_state=None,
    ):
        self.dropout = dropout
        self.temperature = temperature
        self.hidden_channels = hidden_channels
        self.repr_dims = repr_dims
        self.temporal_depth = temporal_depth
        self.spectral_depth = spectral_depth
        self.temporal_size = temporal_size
        self.spectral_size = spectral_size
        self.rank = rank
        self.n_loops = n_loops
        self.fusion = fusion
        self.spectrum = spectrum
        self.channel_independent = channel_independent
        self.normalize = normalize
        self.batch_size = batch_size
        self.n_iters = n_iters
        self.n_epochs = n_epochs
        self.max_time = max_time
        self.early_stopping = early_stopping
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr = lr
        self.weight_decay = weight_decay
        self.standardize = standardize
        self.inference_batch_size = inference_batch_size
        self.device = device
        self.mixed_precision = mixed_precision
        self.verbose = verbose
        self.random_state = random_state
        super().__init__()

    def _check_method_params(self):
        name = type(self).__name__
        if not 0 <= self.dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {self.dropout!r}.")
        if not self.temperature > 0:
            raise ValueError(f"{name}: temperature must be > 0, got {self.temperature!r}.")
        for p in ("hidden_channels", "repr_dims", "temporal_size", "spectral_size", "rank"):
            self._require_int(p, minimum=1)
        for p in ("temporal_depth", "spectral_depth", "n_loops"):
            self._require_int(p, minimum=0)
        if self.fusion not in FUSIONS:
            raise ValueError(f"{name}: fusion must be one of {FUSIONS}, got {self.fusion!r}.")
        if self.spectrum not in SPECTRA:
            raise ValueError(f"{name}: spectrum must be one of {SPECTRA}, got {self.spectrum!r}.")

    def _build_network(self, n_channels, n_timepoints):
        return BTSFNetwork(
            in_channels=1 if self.channel_independent else n_channels,
            hidden_channels=self.hidden_channels,
            repr_dims=self.repr_dims,
            temporal_depth=self.temporal_depth,
            spectral_depth=self.spectral_depth,
            temporal_size=self.temporal_size,
            spectral_size=self.spectral_size,
            rank=self.rank,
            n_loops=self.n_loops,
            fusion=self.fusion,
            spectrum=self.spectrum,
        )

    def _instances(self, batch):
        """(B, C, T) -> the instances the network sees: per channel if channel-independent."""
        return batch.reshape(-1, 1, batch.shape[-1]) if self.channel_independent else batch

    def _training_loss(self, network, batch, step):
        x = self._instances(batch)
        # two independent dropout masks over the whole series; one pass over both views
        views = F.dropout(x.repeat(2, 1, 1), p=self.dropout, training=True)
        # data-parallel: this rank encodes its shard, the loss sees the whole global batch
        z = _distributed.gather(network(_distributed.shard(views)), len(views))
        z_anchor, z_positive = z.chunk(2)
        return info_nce(z_anchor, z_positive, self.temperature)

    def _encode(self, network, batch):
        return network(self._instances(batch)).reshape(batch.shape[0], -1)

    def _encode_timesteps(self, network, batch):
        # the causal temporal branch before pooling: the spectral branch and the fusion
        # need the whole series (pooled=True in transform_timesteps gives those)
        if not network.uses_temporal:
            raise ValueError(
                f"{type(self).__name__}(fusion={self.fusion!r}) has no temporal encoder, so no "
                "per-timestep features; use transform_timesteps(X, window=..., pooled=True)."
            )
        B, C, T = batch.shape
        h = network.temporal_encoder(self._instances(batch))  # (B or B*C, d, T)
        return h.reshape(B, -1, T).transpose(1, 2)

    def _causal_receptive_field(self, network):
        return network.temporal_encoder.receptive_field if network.uses_temporal else None

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's and the package's own tests."""
        tiny = dict(
            hidden_channels=4, repr_dims=4, temporal_depth=1, spectral_depth=1,
            temporal_size=3, spectral_size=3, rank=2, n_loops=1, batch_size=4, n_iters=2,
            device="cpu", random_state=0,
        )  # fmt: skip
        return [
            tiny,
            {**tiny, "fusion": "concat", "spectrum": "magnitude", "channel_independent": True},
        ]


class AimTSTransformer(BaseContrastiveTransformer):
    """AimTS representations: prototype and series-image contrastive pretraining.

    Implements Chen, Huang et al., "AimTS: Augmented Series and Image Contrastive Learning
    for Time Series Classification" (2025). A channel-independent dilated-convolution
    encoder is trained on two views, each made of five augmentations (jitter, scaling,
    window slicing, time warping, window warping) of every series, with a two-level
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
    projection_dims : int, default=128
        Output of the projection MLPs (``repr_dims -> 256 -> projection_dims``).
    image : {"line", "gasf", "gadf", "mtf", "recurrence"} or None, default="line"
        Images for the series-image contrast; ``None`` drops the image branch.
    image_size : int, default=64
        Pixels per channel cell; C channels fill a ``ceil(sqrt(C))`` square grid.
    image_encoder : "scratch" or path, default="scratch"
        ``"scratch"``: a ResNet-18 trained jointly. A path: a local torchvision-format
        ResNet-18 state dict (e.g. ImageNet weights), loaded and frozen; each series' image
        embedding is then computed once per fit.
    image_width : int, default=64
        ResNet-18 base width (64 is the standard network; smaller is faster).
    image_temperature : float, default=0.1
        Temperature of the series-image loss (not published).
    intra_temperature : float, default=0.1
        Temperature of the intra-prototype loss (cosine similarity; not published).
    mixup_weight : float, default=0.5
        Weight of the geodesic-mixup hard-negative term (not published).
    mixup_alpha : float, default=0.1
        Mixing weights ``lambda ~ Beta(alpha, alpha)``.
    inter_weight, intra_weight : float, default=0.9, 0.1
        Weights of the inter- and intra-prototype losses.
    use_prototypes : bool, default=True
        ``False`` (ablation): contrast each augmentation with its counterpart in the other
        view instead of the prototypes.
    warmup_epochs : int, default=1
        Epochs of the image loss alone before the full objective.
    swa : bool, default=True
        Use the running average of the encoder weights (after the warm-up).
    max_channels : int or None, default=None
        Pretrain each batch on a random subset of at most this many channels (a CPU budget
        knob: a step costs in proportion to channels x length x 10 augmented copies; the
        channel-independent encoder makes a subset an unbiased stand-in). ``None``: all
        channels, as the paper. ``transform`` always encodes every channel.
    channel_pooling : {"concat", "mean", "max"}, default="concat"
        How channel embeddings form a row: concatenated (``C * D`` wide, the paper's
        downstream choice) or averaged / maxed over channels (``D`` wide for any C).
    pretrained : AimTSTransformer, path or None, default=None
        Start from this fitted encoder (the architecture parameters must match);
        ``n_iters=0`` or ``n_epochs=0`` uses it as is, more continues training on this data.
    normalize, batch_size, n_iters, n_epochs, max_time, early_stopping, checkpoint_path, \
checkpoint_every, n_iter_no_change, tol, standardize, inference_batch_size, device, mixed_precision, verbose, random_state
        As in :class:`BTSFTransformer`; ``batch_size=16`` as the paper, ``n_iters=None``
        means 30 steps (a CPU budget: one step encodes 10 augmented copies of each series).
    lr : float, default=7e-4
        AdamW learning rate.
    weight_decay : float, default=0.01
        AdamW weight decay.

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (SWA-averaged series encoder), on the CPU.
    loss_history_, n_iters_, stop_reason_, fit_time_, feature_mean_, feature_scale_
        As in :class:`BTSFTransformer`.
    n_channels_in_, n_timepoints_in_ : int or None
        Shape of the training series; ``None`` where a corpus mixes them.

    Examples
    --------
    >>> import numpy as np
    >>> from skcontrast import AimTSTransformer
    >>> rng = np.random.default_rng(0)
    >>> corpus = [rng.standard_normal((8, 1, 40)), rng.standard_normal((6, 3, 25))]
    >>> small = dict(hidden_channels=8, repr_dims=16, depth=2, image_width=4, image_size=16,
    ...              n_iters=3, random_state=0)
    >>> encoder = AimTSTransformer(**small).fit(corpus)
    >>> encoder.transform(rng.standard_normal((5, 2, 30))).shape
    (5, 32)
    """

    _accepts_corpus = True

    def __init__(
        self,
        hidden_channels=64,
        repr_dims=512,
        depth=10,
        projection_dims=128,
        image="line",
        image_size=64,
        image_encoder="scratch",
        image_width=64,
        image_temperature=0.1,
        intra_temperature=0.1,
        mixup_weight=0.5,
        mixup_alpha=0.1,
        inter_weight=0.9,
        intra_weight=0.1,
        use_prototypes=True,
        warmup_epochs=1,
        swa=True,
        max_channels=None,
        channel_pooling="concat",
        pretrained=None,
        normalize="zscore",
        batch_size=16,
        n_iters=None,
        n_epochs=None,
        max_time=None,
        early_stopping=False,
        checkpoint_path=None,
        checkpoint_every=50,
        n_iter_no_change=20,
        tol=1e-3,
        lr=7e-4,
        weight_decay=0.01,
        standardize=True,
        inference_batch_size=256,
        device="auto",
        mixed_precision=True,
        verbose=False,
        random_state=None,
    ):
        self.hidden_channels = hidden_channels
        self.repr_dims = repr_dims
        self.depth = depth
        self.projection_dims = projection_dims
        self.image = image
        self.image_size = image_size
        self.image_encoder = image_encoder
        self.image_width = image_width
        self.image_temperature = image_temperature
        self.intra_temperature = intra_temperature
        self.mixup_weight = mixup_weight
        self.mixup_alpha = mixup_alpha
        self.inter_weight = inter_weight
        self.intra_weight = intra_weight
        self.use_prototypes = use_prototypes
        self.warmup_epochs = warmup_epochs
        self.swa = swa
        self.max_channels = max_channels
        self.channel_pooling = channel_pooling
        self.pretrained = pretrained
        self.normalize = normalize
        self.batch_size = batch_size
        self.n_iters = n_iters
        self.n_epochs = n_epochs
        self.max_time = max_time
        self.early_stopping = early_stopping
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr = lr
        self.weight_decay = weight_decay
        self.standardize = standardize
        self.inference_batch_size = inference_batch_size
        self.device = device
        self.mixed_precision = mixed_precision
        self.verbose = verbose
        self.random_state = random_state
        super().__init__()

    def _check_method_params(self):
        _aimts.check_params(self)
        if self.channel_pooling not in CHANNEL_POOLINGS:
            raise ValueError(
                f"{type(self).__name__}: channel_pooling must be one of {CHANNEL_POOLINGS}, "
                f"got {self.channel_pooling!r}."
            )

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
        return _aimts.build_network(self)

    def _train(self, network, panels, device, seed):
        loss = lambda net, x, step, images: _aimts.aimts_loss(self, net, x, step, images)  # noqa: E731
        return _aimts.train_aimts(self, network, panels, device, seed, loss, run_training)

    def _encode(self, network, batch):
        return network.channel_embeddings(batch)  # (B, C, D)

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
            hidden_channels=4, repr_dims=8, depth=1, projection_dims=4, image_size=8,
            image_width=2, batch_size=4, n_iters=2, device="cpu", random_state=0,
        )  # fmt: skip
        return [
            tiny,
            {**tiny, "image": None, "channel_pooling": "mean", "use_prototypes": False},
        ]
