"""Per-timestep, causal representations of long series, in bounded memory.

Forecasting and anomaly detection need a representation ``r_t`` of every time point that
reads the past only (``x[..t]``). Two exact ways to get it, both chunked so memory does not
grow with the series length beyond the output itself:

- **streaming** (causal encoders, e.g. BTSF's dilated causal temporal encoder): one pass
  over the whole series, cut into time chunks that overlap by the receptive field minus
  one, so every output step sees exactly the inputs it would see in one long pass;
- **windowed** (any encoder, e.g. AimTS's non-causal TS2Vec-style encoder): ``r_t`` is the
  encoder's output at the last step of the trailing window ``x[t - w + 1 .. t]`` (missing
  history padded with NaN, i.e. masked), TS2Vec's causal sliding inference. With
  ``pooled=True`` the whole window goes through the method's full ``transform`` path
  (its per-window normalisation and e.g. BTSF's temporal-spectral fusion) instead.
"""

from __future__ import annotations

import numpy as np

# time steps per streaming chunk (plus the receptive-field overlap)
STREAM_CHUNK = 4096


def stream_timesteps(encode, X, receptive_field, chunk=STREAM_CHUNK):
    """Causal per-step features ``(N, T, D)`` of panel ``X`` ``(N, C, T)`` in one pass.

    ``encode`` maps a numpy chunk ``(N, C, t)`` to its step features ``(N, t, D)``.
    """
    n, _, length = X.shape
    overlap = receptive_field - 1
    out = None
    for start in range(0, length, chunk):
        stop = min(start + chunk, length)
        lo = max(0, start - overlap)
        values = encode(X[:, :, lo:stop])[:, start - lo :]
        if out is None:
            out = np.empty((n, length, values.shape[-1]), dtype=values.dtype)
        out[:, start:stop] = values
    return out


def trailing_windows(series, window):
    """Read-only view ``(T, C, window)`` of the windows ending at each step of ``(C, T)``.

    The ``window - 1`` steps before the series start are NaN (missing, masked).
    """
    n_channels = series.shape[0]
    padded = np.concatenate(
        [np.full((n_channels, window - 1), np.nan, dtype=np.float32), series], axis=1
    )
    return np.lib.stride_tricks.sliding_window_view(padded, window, axis=1).transpose(1, 0, 2)


def windowed_timesteps(encode, X, window):
    """Per-step features ``(N, T, D)``: each step's trailing window encoded on its own.

    ``encode`` maps the ``(T, C, window)`` read-only windows of one series to one row per
    window, ``(T, D)``.
    """
    return np.stack([encode(trailing_windows(series, window)) for series in X])


def writable_copy(rows):
    """A writable, contiguous float32 copy of a chunk (torch needs writable memory)."""
    return np.array(rows, dtype=np.float32, order="C", copy=True)
