"""Batched inference: a function over a panel in chunks of bounded memory, as numpy."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from skcontrast._torch_utils import autocast

# channel-independent encoders: a chunk holds at most inference_batch_size x this many
# channel-steps (256 univariate series of 256 steps: about 0.13 GB per 512-wide activation)
CHUNK_STEPS = 256


def channel_independent_rows(batch_size: int, shape) -> int:
    """Series per chunk for an encoder that runs every channel as its own series: at most
    ``batch_size`` series and ``batch_size * CHUNK_STEPS`` channel-steps (at least one)."""
    _, n_channels, n_timepoints = shape
    return max(1, min(batch_size, batch_size * CHUNK_STEPS // max(1, n_channels * n_timepoints)))


def release_device_memory(device):
    """Return the cached blocks of a CUDA device to the driver (no-op elsewhere)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def apply_in_batches(
    fn, X: np.ndarray, device, *, rows: int, mixed_precision=False, cpu_bf16=False,
    name="skcontrast", prepare=None,
) -> np.ndarray:  # fmt: skip
    """``fn`` over chunks of ``rows`` series of ``X`` (bounded memory), as numpy.

    ``mixed_precision`` runs ``fn`` under bf16 autocast on CUDA, and also on a CPU with
    native bf16 when ``cpu_bf16``; ``name`` names the warning. An estimator gives these
    values with ``_inference_settings(X.shape, device)``. ``prepare`` (e.g. normalisation)
    is applied to each numpy chunk, so no transformed copy of the whole panel is ever made.
    On CUDA out-of-memory the chunk is halved and retried, with a warning.
    """
    out, start = None, 0
    chunk = min(rows, max(len(X), 1))
    with torch.inference_mode():
        while start < len(X):
            part = X[start : start + chunk]
            batch = torch.from_numpy(part if prepare is None else prepare(part)).to(device)
            try:
                with autocast(device, mixed_precision, cpu=cpu_bf16):
                    values = fn(batch).float().cpu().numpy()
            except torch.cuda.OutOfMemoryError:
                if chunk == 1:
                    raise
                del batch
                release_device_memory(device)
                chunk = max(1, chunk // 2)
                warnings.warn(f"{name}: out of GPU memory while encoding; retrying with "
                              f"{chunk} series at a time.", UserWarning, stacklevel=3)  # fmt: skip
                continue
            if out is None:  # one allocation for the result, filled chunk by chunk
                out = np.empty((len(X), *values.shape[1:]), dtype=values.dtype)
            out[start : start + len(values)] = values
            start += len(values)
    return out
