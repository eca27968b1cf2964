"""Self-supervised representation transformers: a panel of series in, a feature table out."""

from __future__ import annotations

from torch.nn import functional as F

from skcontrast._base import BaseContrastiveTransformer
from skcontrast.nn.btsf import FUSIONS, SPECTRA, BTSFNetwork
from skcontrast.nn.losses import info_nce

__all__ = ["BTSFTransformer"]


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
    convention; sktime itself would read a 2-D array as one series). Series must be of
    equal length, finite, and of the fitted length and channel count at ``transform``.

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
        Training length in passes over the data instead of steps.
    max_time : float or None, default=None
        Stop training after this many seconds.
    early_stopping : bool, default=False
        Stop when a moving average of the loss improves by less than ``tol`` (relative)
        for ``n_iter_no_change`` steps.
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
        ``"budget"``, ``"max_time"``, ``"early_stopping"`` or ``"interrupted"``.
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

    def _training_loss(self, network, batch):
        x = self._instances(batch)
        # two independent dropout masks over the whole series; one pass over both views
        views = F.dropout(x.repeat(2, 1, 1), p=self.dropout, training=True)
        z_anchor, z_positive = network(views).chunk(2)
        return info_nce(z_anchor, z_positive, self.temperature)

    def _encode(self, network, batch):
        return network(self._instances(batch)).reshape(batch.shape[0], -1)

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
