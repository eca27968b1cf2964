"""
Training-loss curves
====================

Every estimator records its training loss at each step in ``loss_history_``, and why it
stopped in ``stop_reason_`` (``"budget"``, ``"max_time"``, ``"early_stopping"``,
``"interrupted"``, or ``"single_series"`` when a transformer got one series and did not
train). Plotting it is the first check of a training budget: here BTSF with a fixed
budget and with the option ``early_stopping=True`` (stops once a moving average of the
loss improves by less than ``tol`` for ``n_iter_no_change`` steps), and AimTS, whose
loss starts with its warm-up epoch of the series-image loss alone. ``verbose=True``
shows the same loss live in a progress bar.

The step-to-step loss is noisy (each step sees another batch and other random views):
early stopping judges a moving average, and a loose ``tol`` or a short
``n_iter_no_change`` stops on noise.
"""

import matplotlib.pyplot as plt
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import AimTSTransformer, BTSFTransformer

X, _ = load_UCR_UEA_dataset("ItalyPowerDemand", split="train", return_X_y=True,
                            return_type="numpy3D")
estimators = {
    "BTSF, fixed budget": BTSFTransformer(n_iters=200, random_state=0),
    "BTSF, early stopping": BTSFTransformer(n_iters=200, random_state=0,
                                            options={"early_stopping": True}),
    "AimTS": AimTSTransformer(n_iters=200, random_state=0),
}
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: tiny
# networks, 20 steps and a loose early-stopping rule (it stops on noise, on purpose),
# and a note in the output that its numbers are a smoke run.
import os  # noqa: E402

if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    for label, est in estimators.items():
        est.set_params(n_iters=20)
        if label == "AimTS":
            est.set_params(hidden_channels=8, repr_dims=16, depth=2, image_size=16,
                           batch_size=8, options__projection_dims=8,
                           options__image_width=4)
        else:
            est.set_params(hidden_channels=16, repr_dims=16, rank=4,
                           options__temporal_depth=3, options__spectral_depth=1,
                           options__temporal_size=8, options__spectral_size=8)
    estimators["BTSF, early stopping"].set_params(options__n_iter_no_change=4,
                                                  options__tol=0.01)
    print("[docs build with SKCONTRAST_DOCS_FAST=1: tiny networks trained for 20 steps "
          "at most; the numbers below are a smoke run, not those of the code shown]")
# sphinx_gallery_end_ignore
for name, est in estimators.items():
    est.fit(X)
    print(f"{name}: {est.n_iters_} steps, stop reason {est.stop_reason_!r}, "
          f"{est.fit_time_:.1f} s, loss {est.loss_history_[0]:.3f} -> "
          f"{est.loss_history_[-1]:.3f}")

# %%
# The loss per step
# -----------------
# AimTS trains its first epoch (``warmup_epochs=1``) on the series-image loss alone; the
# prototype losses join after it, hence the step in its curve.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, est in estimators.items():
    ax = axes[1] if name == "AimTS" else axes[0]
    style = {"lw": 3, "alpha": 0.6} if "early" in name else {}
    label = f"{name} ({est.n_iters_} steps, {est.stop_reason_})"
    ax.plot(est.loss_history_, label=label, **style)
aimts = estimators["AimTS"]
warmup_steps = -(-len(X) // min(aimts.batch_size, len(X))) * aimts.warmup_epochs
axes[1].axvline(warmup_steps - 0.5, color="grey", ls="--", lw=1,
                label="end of the warm-up epoch")
titles = ["BTSF (InfoNCE)", "AimTS (image + prototype losses)"]
for ax, title in zip(axes, titles, strict=True):
    ax.set(xlabel="training step", ylabel="loss", title=title)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
