"""Batched inference: a function over a panel in chunks of bounded memory, as numpy."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from skcontrast._torch_utils import autocast


def release_device_memory(device):
    """Return the cached blocks of a CUDA device to the driver (no-op elsewhere)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def apply_in_batches(est, fn, X: np.ndarray, device, prepare=None) -> np.ndarray:
    """``fn`` over chunks of ``est.inference_batch_size`` rows (bounded memory), as numpy.

    ``prepare`` (e.g. normalisation) is applied to each numpy chunk, so no transformed copy
    of the whole panel is ever made. On CUDA out-of-memory the chunk is halved and retried,
    with a warning.
    """
    name, out, start = type(est).__name__, None, 0
    chunk = min(est.inference_batch_size, max(len(X), 1))
    with torch.inference_mode():
        while start < len(X):
            rows = X[start : start + chunk]
            batch = torch.from_numpy(rows if prepare is None else prepare(rows)).to(device)
            try:
                with autocast(device, est.mixed_precision):
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
