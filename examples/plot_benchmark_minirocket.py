"""
Benchmarking against MiniRocket with sktime
===========================================

MiniRocket is the practical bar for time-series classification: fast and accurate. This
example compares it with BTSF and AimTS representations under a logistic regression, on
datasets that ship with sktime, with the official train/test splits.

The pipelines are composed with sktime's ``*`` operator (``transformer * classifier`` is an
sktime classifier), as ``benchmarks/classification.py`` does: sktime's MiniRocket does not
compose inside a scikit-learn 1.9 ``Pipeline`` (sktime issues #10725 and #11173), whereas the
skcontrast estimators work in both. ``sktime.benchmarking`` takes the same composed
estimators for larger studies. The full results, on ten datasets and a quiet machine, are on
the benchmark pages.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sktime.datasets import load_UCR_UEA_dataset
from sktime.transformations.rocket import MiniRocket

from skcontrast import AimTSTransformer, BTSFTransformer

# ``SKCONTRAST_DOCS_FAST=1`` (the docs build): small networks, few steps, one dataset
FAST = os.environ.get("SKCONTRAST_DOCS_FAST") == "1"
datasets = ["ItalyPowerDemand"] if FAST else ["GunPoint", "ArrowHead", "ItalyPowerDemand"]
btsf = dict(hidden_channels=16, repr_dims=16, temporal_depth=3, spectral_depth=1,
            temporal_size=8, spectral_size=8, rank=4, n_iters=5) if FAST else {}
aimts = dict(hidden_channels=8, repr_dims=16, depth=2, projection_dims=8, image_size=16,
             image_width=4, batch_size=8, n_iters=3) if FAST else {}


def methods():
    """Fresh sktime classifiers, composed with ``*``."""
    return {
        "BTSF + LogisticRegression": BTSFTransformer(**btsf, random_state=0)
        * LogisticRegression(max_iter=1000),
        "AimTS + LogisticRegression": AimTSTransformer(**aimts, random_state=0)
        * LogisticRegression(max_iter=1000),
        "MiniRocket + RidgeClassifierCV": MiniRocket(random_state=0)
        * RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
    }


rows = []
for name in datasets:
    X, y = load_UCR_UEA_dataset(name, split="train", return_X_y=True, return_type="numpy3D")
    X_test, y_test = load_UCR_UEA_dataset(name, split="test", return_X_y=True,
                                          return_type="numpy3D")
    for method, clf in methods().items():
        start = time.perf_counter()
        clf.fit(X, y)
        fit_s = time.perf_counter() - start
        accuracy = float(np.mean(clf.predict(X_test) == y_test))
        rows.append({"dataset": name, "method": method, "accuracy": accuracy, "fit s": fit_s})
results = pd.DataFrame(rows)
print(results.to_string(index=False, float_format="%.3f"))

# %%
# Accuracy and fit time
# ---------------------
acc = results.pivot(index="dataset", columns="method", values="accuracy")
fit = results.pivot(index="dataset", columns="method", values="fit s")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
acc.plot.bar(ax=axes[0], rot=0, ylim=(0, 1.05), legend=False, title="test accuracy")
fit.plot.bar(ax=axes[1], rot=0, logy=True, title="fit time (s, log scale)")
axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()
