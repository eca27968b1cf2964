"""
Quickstart: BTSF representations + logistic regression
======================================================

:class:`~skcontrast.BTSFTransformer` learns from the training series alone (no labels)
inside ``fit``; the logistic regression is the only part that sees labels. GunPoint
ships with sktime, so this runs offline. This is the README's demo
(``python examples/quickstart.py``).
"""

import time

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import BTSFTransformer


def load(split):
    return load_UCR_UEA_dataset(
        "GunPoint", split=split, return_X_y=True, return_type="numpy3D"
    )


X_train, y_train = load("train")
X_test, y_test = load("test")
print(f"GunPoint: train {X_train.shape}, test {X_test.shape} "
      "(series, channels, time points)")

pipe = Pipeline([
    ("rep", BTSFTransformer(random_state=0)),
    ("clf", LogisticRegression()),
])
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: a tiny
# network and a few steps, and a note in the output that its numbers are a smoke run.
import os  # noqa: E402

if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    pipe.set_params(
        rep__hidden_channels=16, rep__repr_dims=16, rep__rank=4, rep__n_iters=10,
        rep__options={"temporal_depth": 3, "spectral_depth": 1, "temporal_size": 8,
                      "spectral_size": 8},
    )  # fmt: skip
    print("[docs build with SKCONTRAST_DOCS_FAST=1: a tiny network trained for a few "
          "steps; the numbers below are a smoke run, not those of the code shown]")
# sphinx_gallery_end_ignore
start = time.perf_counter()
pipe.fit(X_train, y_train)
fit_time = time.perf_counter() - start

rep = pipe.named_steps["rep"]
print(f"fit time: {fit_time:.1f} s ({rep.n_iters_} training steps, "
      f"loss {rep.loss_history_[0]:.3f} -> {rep.loss_history_[-1]:.3f})")
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")
