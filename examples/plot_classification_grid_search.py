"""
Classification pipeline with a grid search
==========================================

A :class:`~skcontrast.BTSFTransformer` is an ordinary scikit-learn step: put it in a
``Pipeline`` with a classifier and tune both in one ``GridSearchCV``: here the number of
training steps, with ``n_iters=0`` (the untrained, seeded encoder) as a baseline, and
the regularisation of the logistic regression. ItalyPowerDemand ships with sktime.

The encoder learns inside ``fit``, so every grid point would retrain it.
``Pipeline(memory=...)`` caches each fitted step by its parameters and training data:
the grid points that differ only in the classifier's parameters reuse the fitted
encoder (here 10 encoder fits instead of 37: 3 budgets x 3 folds, plus the refit of the
best).
"""

import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import BTSFTransformer


def load(split):
    return load_UCR_UEA_dataset(
        "ItalyPowerDemand", split=split, return_X_y=True, return_type="numpy3D"
    )


X, y = load("train")
X_test, y_test = load("test")

cache = tempfile.mkdtemp()  # fitted encoders, keyed by their parameters and the data
pipe = Pipeline([
    ("rep", BTSFTransformer(random_state=0)),
    ("clf", LogisticRegression(max_iter=1000)),
], memory=cache)
param_grid = {"rep__n_iters": [0, 30, 100], "clf__C": [0.01, 0.1, 1.0, 10.0]}
cv = StratifiedKFold(3, shuffle=True, random_state=0)
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: a tiny
# network, a smaller grid, 2 folds, and a note in the output that its numbers are a
# smoke run.
import os  # noqa: E402

if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    pipe.set_params(rep__hidden_channels=16, rep__repr_dims=16, rep__rank=4,
                    rep__options={"temporal_depth": 3, "spectral_depth": 1,
                                  "temporal_size": 8, "spectral_size": 8})
    param_grid = {"rep__n_iters": [0, 5], "clf__C": [0.1, 1.0, 10.0]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    print("[docs build with SKCONTRAST_DOCS_FAST=1: a tiny network, a smaller grid and "
          "2 folds; the numbers below are a smoke run, not those of the code shown]")
# sphinx_gallery_end_ignore
search = GridSearchCV(pipe, param_grid, cv=cv)
search.fit(X, y)
print(f"best parameters: {search.best_params_}, "
      f"cross-validated accuracy {search.best_score_:.3f}")
test_accuracy = search.score(X_test, y_test)
print(f"test accuracy of the refitted best pipeline: {test_accuracy:.3f}")

# %%
# Cross-validated accuracy over the grid
# --------------------------------------
results = pd.DataFrame(search.cv_results_)
table = results.pivot(index="param_rep__n_iters", columns="param_clf__C",
                      values="mean_test_score")
fig, ax = plt.subplots(figsize=(5.5, 3.2))
image = ax.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
ax.set_xticks(np.arange(table.shape[1]), [f"{c:g}" for c in table.columns])
ax.set_yticks(np.arange(table.shape[0]), [str(n) for n in table.index])
ax.set(xlabel="LogisticRegression C", ylabel="BTSF training steps",
       title=f"{cv.n_splits}-fold CV accuracy, ItalyPowerDemand")
for (i, j), value in np.ndenumerate(table.to_numpy()):
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white",
            fontsize=8)
fig.colorbar(image, ax=ax)
fig.tight_layout()
plt.show()

shutil.rmtree(cache, ignore_errors=True)

# %%
# ``GridSearchCV(n_jobs=...)`` runs grid points in parallel worker processes; joblib
# caps torch's threads in each, so use at most as many jobs as cores.
