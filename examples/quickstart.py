"""
Quickstart: BTSF representations + logistic regression
======================================================

:class:`~skcontrast.BTSFTransformer` learns from the training series alone (no labels)
inside ``fit``; the logistic regression is the only part that sees labels. GunPoint ships
with sktime, so this runs offline. This is the README's demo
(``python examples/quickstart.py``).
"""

import os
import time

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import BTSFTransformer

# ``SKCONTRAST_DOCS_FAST=1`` (the docs build): a small network and a few steps
FAST = os.environ.get("SKCONTRAST_DOCS_FAST") == "1"
small = dict(hidden_channels=16, repr_dims=16, temporal_depth=3, spectral_depth=1,
             temporal_size=8, spectral_size=8, rank=4, n_iters=10)

X_train, y_train = load_UCR_UEA_dataset("GunPoint", split="train", return_X_y=True, return_type="numpy3D")
X_test, y_test = load_UCR_UEA_dataset("GunPoint", split="test", return_X_y=True, return_type="numpy3D")
print(f"GunPoint: train {X_train.shape}, test {X_test.shape} (series, channels, time points)")

pipe = Pipeline([
    ("rep", BTSFTransformer(**(small if FAST else {}), random_state=0)),
    ("clf", LogisticRegression()),
])
start = time.perf_counter()
pipe.fit(X_train, y_train)
fit_time = time.perf_counter() - start

rep = pipe.named_steps["rep"]
print(f"fit time: {fit_time:.1f} s ({rep.n_iters_} training steps, "
      f"loss {rep.loss_history_[0]:.3f} -> {rep.loss_history_[-1]:.3f})")
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")
