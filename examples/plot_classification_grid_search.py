"""
Classification pipeline with a grid search
==========================================

A :class:`~skcontrast.BTSFTransformer` is an ordinary scikit-learn step: put it in a
``Pipeline`` with a classifier and tune both in one ``GridSearchCV``: here the number of
training steps, with ``n_iters=0`` (the untrained, seeded encoder) as a baseline, and the
regularisation of the logistic regression. ItalyPowerDemand ships with sktime.

The encoder learns inside ``fit``, so every grid point would retrain it. ``Pipeline(memory=...)``
caches each fitted step by its parameters and training data: the grid points that differ
only in the classifier's parameters reuse the fitted encoder (here 5 encoder fits instead of
13 with the fast settings).
"""

import os
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

# ``SKCONTRAST_DOCS_FAST=1`` (the docs build): a small network, few steps, fewer points
FAST = os.environ.get("SKCONTRAST_DOCS_FAST") == "1"
small = dict(hidden_channels=16, repr_dims=16, temporal_depth=3, spectral_depth=1,
             temporal_size=8, spectral_size=8, rank=4)

X, y = load_UCR_UEA_dataset("ItalyPowerDemand", split="train", return_X_y=True,
                            return_type="numpy3D")
X_test, y_test = load_UCR_UEA_dataset("ItalyPowerDemand", split="test", return_X_y=True,
                                      return_type="numpy3D")

cache = tempfile.mkdtemp()  # fitted encoders, keyed by their parameters and the data
pipe = Pipeline([
    ("rep", BTSFTransformer(**(small if FAST else {}), random_state=0)),
    ("clf", LogisticRegression(max_iter=1000)),
], memory=cache)
param_grid = {
    "rep__n_iters": [0, 5] if FAST else [0, 30, 100],
    "clf__C": [0.1, 1.0, 10.0] if FAST else [0.01, 0.1, 1.0, 10.0],
}
cv = StratifiedKFold(2 if FAST else 3, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv)
search.fit(X, y)
print(f"best parameters: {search.best_params_}, cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# Cross-validated accuracy over the grid
# --------------------------------------
results = pd.DataFrame(search.cv_results_)
table = results.pivot(index="param_rep__n_iters", columns="param_clf__C", values="mean_test_score")
fig, ax = plt.subplots(figsize=(5.5, 3.2))
image = ax.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
ax.set_xticks(np.arange(table.shape[1]), [f"{c:g}" for c in table.columns])
ax.set_yticks(np.arange(table.shape[0]), [str(n) for n in table.index])
ax.set(xlabel="LogisticRegression C", ylabel="BTSF training steps",
       title=f"{cv.n_splits}-fold CV accuracy, ItalyPowerDemand")
for (i, j), value in np.ndenumerate(table.to_numpy()):
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white", fontsize=8)
fig.colorbar(image, ax=ax)
fig.tight_layout()
plt.show()

shutil.rmtree(cache, ignore_errors=True)

# %%
# ``GridSearchCV(n_jobs=...)`` runs grid points in parallel worker processes; joblib caps
# torch's threads in each, so use at most as many jobs as cores.
