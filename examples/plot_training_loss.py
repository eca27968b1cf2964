"""
Training-loss curves
====================

Every estimator records its training loss at each step in ``loss_history_``, and why it
stopped in ``stop_reason_`` (``"budget"``, ``"max_time"``, ``"early_stopping"`` or
``"interrupted"``). Plotting it is the first check of a training budget: here BTSF with a
fixed budget and with ``early_stopping=True`` (stops once a moving average of the loss
improves by less than ``tol`` for ``n_iter_no_change`` steps), and AimTS, whose loss starts
with its warm-up epoch of the series-image loss alone. ``verbose=True`` shows the same
loss live in a progress bar.

The step-to-step loss is noisy (each step sees another batch and other random views):
early stopping judges a moving average, and a loose ``tol`` or a short ``n_iter_no_change``
stops on noise, as the docs build's fast settings here do on purpose.
"""

import os

import matplotlib.pyplot as plt
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import AimTSTransformer, BTSFTransformer

# ``SKCONTRAST_DOCS_FAST=1`` (the docs build): small networks and few steps
FAST = os.environ.get("SKCONTRAST_DOCS_FAST") == "1"
btsf = dict(hidden_channels=16, repr_dims=16, temporal_depth=3, spectral_depth=1,
            temporal_size=8, spectral_size=8, rank=4) if FAST else {}
aimts = dict(hidden_channels=8, repr_dims=16, depth=2, projection_dims=8, image_size=16,
             image_width=4, batch_size=8) if FAST else {}
steps = 20 if FAST else 200

X, _ = load_UCR_UEA_dataset("ItalyPowerDemand", split="train", return_X_y=True,
                            return_type="numpy3D")
fitted = {
    "BTSF, fixed budget": BTSFTransformer(**btsf, n_iters=steps, random_state=0).fit(X),
    "BTSF, early stopping": BTSFTransformer(**btsf, n_iters=steps, early_stopping=True,
                                            n_iter_no_change=4 if FAST else 20,
                                            tol=0.01 if FAST else 1e-3,
                                            random_state=0).fit(X),
    "AimTS": AimTSTransformer(**aimts, n_iters=steps, random_state=0).fit(X),
}
for name, est in fitted.items():
    print(f"{name}: {est.n_iters_} steps, stop reason {est.stop_reason_!r}, "
          f"{est.fit_time_:.1f} s, loss {est.loss_history_[0]:.3f} -> {est.loss_history_[-1]:.3f}")

# %%
# The loss per step
# -----------------
# AimTS trains its first epoch (``warmup_epochs=1``) on the series-image loss alone; the
# prototype losses join after it, hence the step in its curve.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, est in fitted.items():
    ax = axes[1] if name == "AimTS" else axes[0]
    style = {"lw": 3, "alpha": 0.6} if "early" in name else {}
    ax.plot(est.loss_history_, label=f"{name} ({est.n_iters_} steps, {est.stop_reason_})", **style)
aimts_est = fitted["AimTS"]
warmup_steps = -(-len(X) // min(aimts_est.batch_size, len(X))) * aimts_est.warmup_epochs
axes[1].axvline(warmup_steps - 0.5, color="grey", ls="--", lw=1, label="end of the warm-up epoch")
for ax, title in zip(axes, ["BTSF (InfoNCE)", "AimTS (image + prototype losses)"]):
    ax.set(xlabel="training step", ylabel="loss", title=title)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
