"""Device resolution, isolated seeding and mixed precision."""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np
import torch


def resolve_device(device) -> torch.device:
    """Turn the ``device`` parameter into a ``torch.device``, checking it exists.

    ``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit device that is not
    available raises ``ValueError`` instead of failing deep inside torch.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device={device!r} is not a device torch knows; use 'auto', 'cpu', 'cuda', "
            "'cuda:<index>' or 'mps'."
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available here "
                "(torch.cuda.is_available() is False); use device='auto' or 'cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist."
            )
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} was requested but MPS is not available here; use "
                "device='auto' or 'cpu'."
            )
    elif dev.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or 'mps'.")
    return dev


# torch's default generators are process-wide: seeded fits running in threads of one
# process (dask's threaded workers, joblib's threading backend) take turns, so that each
# restores the global state it found (see isolated_seed)
_SEED_LOCK = threading.RLock()


@contextlib.contextmanager
def isolated_seed(seed: int, device: torch.device):
    """Seed torch's generators for ``device`` and restore the caller's state on exit.

    What a fit's result depends on is drawn from generators of its own
    (:func:`torch_generator`): the initial weights (``_init_weights``), dropout views,
    crops, masks, augmentations and batch order, in BTSF, AimTS and AimTSClassifier alike,
    so torch code drawing from the global generator in other threads cannot change it.
    The global generator is still drawn from: building the network (``_build_network``)
    runs torch's default initialisations (``nn.Linear``, ``nn.Conv1d``, BTSF's
    ``torch.randn`` factors) before ``_init_weights`` redraws every parameter. Those
    draws are discarded, but they advance the global state, hence the fork: only the CPU
    generator and, when training on CUDA, the generators of the CUDA devices are touched,
    and restored on exit, so the caller's global RNG state is unchanged. Fits in other
    threads of the process wait (a re-entrant lock), so that each restores the state it
    found rather than one saved in the middle of another fit. The seed given to the global
    generator keeps those discarded draws the same from fit to fit; no result reads them.
    """
    cuda = device.type == "cuda"
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with _SEED_LOCK, torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed_all(seed)
        yield


# independent streams drawn from one seed: initial weights, training randomness
STREAM_INIT, STREAM_TRAINING = 0, 1


def torch_generator(seed: int, device="cpu", stream: int = 0) -> torch.Generator:
    """A ``torch.Generator`` of its own on ``device``, seeded from ``(seed, stream)``.

    Random draws that take ``generator=`` (``rand``, ``randn``, ``randint``, ``randperm``,
    ``bernoulli``, ``nn.init``) do not touch torch's process-wide generator, so torch code
    running in other threads cannot change them, and they cannot change it. Different
    ``stream`` values give independent sequences from the same ``seed``.
    """
    generator = torch.Generator(device=device)
    state = np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)
    generator.manual_seed(int(state[0]))
    return generator


def autocast(device: torch.device, enabled: bool, cpu: bool = False):
    """bf16 autocast on CUDA when ``enabled``; with ``cpu`` also on a CPU with native bf16
    (AVX512-BF16 or AMX, as oneDNN reports); a no-op context elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    if enabled and cpu and device.type == "cpu" and cpu_has_bf16():
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@functools.cache  # asked once per chunk of every transform; the answer never changes
def cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 convolutions natively (else bf16 is emulated, and slower)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):  # a torch build without the probe
        return False


@contextlib.contextmanager
def weight_average(module: torch.nn.Module, enabled: bool, ema_decay: float | None = None):
    """A running average of ``module``'s weights, or ``None``: equal-weight (SWA), or
    exponential with ``ema_decay`` (EMA: ``avg = decay * avg + (1 - decay) * weights``,
    starting from the first step's weights).

    Yields the ``AveragedModel`` (update it after each step; it is checkpointed as extra
    state); on a normal exit the module takes the averaged weights, if any step was
    averaged. An exception (e.g. a bad loss) leaves the module as it was.
    """
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    averaged = None
    if enabled:
        ema = None if ema_decay is None else get_ema_multi_avg_fn(ema_decay)
        averaged = AveragedModel(module, multi_avg_fn=ema)
    yield averaged
    if averaged is not None and int(averaged.n_averaged) > 0:
        module.load_state_dict(averaged.module.state_dict())
