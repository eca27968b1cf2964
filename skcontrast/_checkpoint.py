"""Resumable training: periodic checkpoints of everything a step depends on.

A checkpoint holds the network and optimiser state, torch's and the batch sampler's RNG
states, the sampler's remaining batches, the loss history, the early-stopping state and any
extra state (AimTS's weight average). Resuming from it continues the very same sequence of
steps, so on the CPU an interrupted-then-resumed fit ends with exactly the weights of an
uninterrupted one. Files are written atomically and read with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

FORMAT = "skcontrast.checkpoint"


def short_error(err) -> str:
    """Type and first line of an error: torch's full text advises weights_only=False."""
    return f"{type(err).__name__}: {str(err).splitlines()[0][:100] if str(err) else ''}"


def fingerprint(est, panels) -> str:
    """What a checkpoint must match: estimator, its parameters and the training data."""
    digest = hashlib.blake2b(digest_size=16)
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in ("verbose", "checkpoint_path", "checkpoint_every", "max_time")}
    digest.update(f"{type(est).__name__}{sorted((k, repr(v)) for k, v in params.items())}".encode())
    for panel in panels:
        digest.update(str(panel.shape).encode())
        digest.update(np.ascontiguousarray(panel).tobytes())
    return digest.hexdigest()


def save(path, state: dict):
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load(path, expected_fingerprint, name) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{name}: the checkpoint {path} cannot be read ({short_error(err)}); delete it to start over."
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{name}: {path} is not a skcontrast training checkpoint; choose another checkpoint_path.")
    if state.get("fingerprint") != expected_fingerprint:
        raise ValueError(
            f"{name}: the checkpoint {path} was written by a fit with other data or parameters; "
            "delete it or choose another checkpoint_path to start a new fit."
        )
    return state
