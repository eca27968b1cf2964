"""
Forecasting ETTh1 from learned representations
==============================================

:class:`~skcontrast.RepresentationForecaster` follows the TS2Vec/BTSF protocol: the
series is z-normalised with training statistics, a transformer learns (without labels)
from windows of the training series, every time point ``t`` gets a causal
representation ``r_t`` (it reads ``x[..t]`` only), and a Ridge regressor, its ``alpha``
chosen on the last 20 % of the training samples, maps ``r_t`` to the next ``H`` values
of every variable at once.

It is an sktime forecaster: ``fit(y, fh=...)``, ``predict()``, ``update`` and sktime's
``evaluate`` work as with any other. Here we compare it with the same Ridge on the raw
lag window (``transformer="passthrough"``), the strong linear baseline, on ETTh1
(7 variables, hourly).

**Data.** The example reads ``forecasting/ETTh1.csv`` under the folder named by the
environment variable ``SKCONTRAST_DATA`` (default: ``../shared/data`` next to the
repository), e.g. ``SKCONTRAST_DATA=/path/to/data python plot_forecasting_etth1.py``.
Any copy of ``ETTh1.csv`` from the ETDataset repository works. Without it, the example
falls back to the airline series that ships with sktime, so it always runs.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skcontrast import BTSFTransformer, RepresentationForecaster

# %%
# Data and settings
# -----------------
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
default_dir = here.parent.parent / "shared" / "data"
data_dir = Path(os.environ.get("SKCONTRAST_DATA", default_dir))
path = data_dir / "forecasting" / "ETTh1.csv"

if path.exists():
    y = pd.read_csv(path, index_col="date", parse_dates=True)
    # TS2Vec's split: 12 months train (+4 validation), then the test months
    y = y.iloc[:14400]
    split, horizon, window = 11520, 168, 201
    name = "ETTh1"
else:
    from sktime.datasets import load_airline

    print(f"{path} not found: using sktime's airline series instead")
    y = load_airline().to_frame().astype(float)
    y.index = y.index.to_timestamp()
    split, horizon, window, name = 108, 12, 36, "airline"

btsf = BTSFTransformer(n_iters=200, random_state=0)
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: a small
# network, a few steps, a shorter ETTh1 stretch, and a note in the output that its
# numbers are a smoke run.
if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    btsf.set_params(hidden_channels=16, repr_dims=32, n_iters=30,
                    options__temporal_depth=4)
    if name == "ETTh1":
        y = y.iloc[:4000]
        split, horizon, window = 3000, 24, 96
    print("[docs build with SKCONTRAST_DOCS_FAST=1: a small network trained for a few "
          "steps; the numbers below are a smoke run, not those of the code shown]")
# sphinx_gallery_end_ignore
y_train, y_test = y.iloc[:split], y.iloc[split:]
print(f"{name}: {y.shape[1]} variable(s), train {len(y_train)} points, "
      f"test {len(y_test)}")

# %%
# Fit the learned-representation forecaster and the raw-lag baseline
# -------------------------------------------------------------------
# ``fh`` is needed at fit: the regressor predicts all steps ``1..H`` directly.
fh = np.arange(1, horizon + 1)
learned = RepresentationForecaster(btsf, window_length=window).fit(y_train, fh=fh)
raw = RepresentationForecaster("passthrough", window_length=window).fit(y_train, fh=fh)
trained = learned.transformer_
print(f"BTSF trained {trained.n_iters_} steps in {trained.fit_time_:.1f} s; "
      f"{trained.timestep_context()} past points per representation")

# %%
# Score every test cutoff at once
# -------------------------------
# ``rolling_predict`` gives the forecast made at each cutoff from the data up to it only
# (the same as ``update`` + ``predict`` at each cutoff, without re-encoding the
# history). Errors are on the z-normalised scale of the training data, as in the papers.


def scaled_mse(forecaster):
    forecasts = forecaster.rolling_predict(y.iloc[: len(y) - 1], start=split - 1)
    forecasts = forecasts[: len(y) - horizon - split + 1]
    future = y.to_numpy()[split:]
    truth = np.lib.stride_tricks.sliding_window_view(future, horizon, axis=0)
    truth = truth.transpose(0, 2, 1)[: len(forecasts)]
    return np.mean(((forecasts - truth) / forecaster.scale_) ** 2), forecasts


mse_learned, forecasts_learned = scaled_mse(learned)
mse_raw, forecasts_raw = scaled_mse(raw)
print(f"test MSE over {len(forecasts_learned)} cutoffs, horizon {horizon}: "
      f"BTSF + Ridge {mse_learned:.3f}, Ridge on raw lags {mse_raw:.3f}")

# %%
# Forecast versus truth from one cutoff
# -------------------------------------
# ``predict`` after ``update`` gives the same forecast as the matching
# ``rolling_predict`` row.
k = min(500, len(forecasts_learned) - 1)
column = "OT" if "OT" in y.columns else y.columns[0]
j = list(y.columns).index(column)
time = y.index[split + k : split + k + horizon]
shown = slice(split + k - 2 * horizon, split + k + horizon)
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(y.index[shown], y[column].iloc[shown], color="black", label="truth")
ax.plot(time, forecasts_learned[k, :, j], label=f"BTSF + Ridge (MSE {mse_learned:.3f})")
ax.plot(time, forecasts_raw[k, :, j], label=f"Ridge on raw lags (MSE {mse_raw:.3f})")
ax.axvline(y.index[split + k - 1], color="grey", ls="--", lw=1)
ax.set(title=f"{name}: {horizon}-step forecast of {column} from one test cutoff",
       ylabel=column)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# The benchmark ``benchmarks/forecasting.py`` runs the full protocol (BTSF and AimTS
# representations, horizons 24 to 720, published numbers side by side); its results are
# on the benchmark pages.
