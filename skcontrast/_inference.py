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


def apply_in_batches(est, fn, X: np.ndarray, device, prepare=None) -> np.ndarray:
    """``fn`` over chunks of ``est._chunk_rows(X.shape, device)`` rows (bounded memory; on a
    CPU also bounded in time steps, cache-sized), as numpy.

    ``prepare`` (e.g. normalisation) is applied to each numpy chunk, so no transformed copy
    of the whole panel is ever made. On CUDA out-of-memory the chunk is halved and retried,
    with a warning.
    """
    name, out, start = type(est).__name__, None, 0
    chunk = min(est._chunk_rows(X.shape, device), max(len(X), 1))
    with torch.inference_mode():
        while start < len(X):
            rows = X[start : start + chunk]
            batch = torch.from_numpy(rows if prepare is None else prepare(rows)).to(device)
            try:
                with autocast(device, est.mixed_precision, cpu=est._bf16_cpu_inference):
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
