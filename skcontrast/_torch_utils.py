"""Device resolution, isolated seeding and mixed precision."""

from __future__ import annotations

import contextlib
import threading

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
# process (dask's threaded workers, joblib's threading backend) take turns, or they would
# draw from each other's streams and lose reproducibility
_SEED_LOCK = threading.RLock()


@contextlib.contextmanager
def isolated_seed(seed: int, device: torch.device):
    """Seed torch's generators for ``device`` and restore the caller's state on exit.

    Only the CPU generator and, when training on CUDA, the generators of the CUDA
    devices are touched (and restored): the caller's global RNG state is unchanged. Fits
    in other threads of the process wait (a re-entrant lock), so that each stays
    reproducible.
    """
    cuda = device.type == "cuda"
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with _SEED_LOCK, torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed_all(seed)
        yield


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA when ``enabled``; a no-op context elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
