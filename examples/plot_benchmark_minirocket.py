"""
Benchmarking against MiniRocket with sktime
===========================================

MiniRocket is the practical bar for time-series classification: fast and accurate.
This example compares it with BTSF and AimTS representations under a logistic
regression, with sktime's
:class:`~sktime.benchmarking.classification.ClassificationBenchmark`: every estimator on
every dataset, the same cross-validation folds, accuracy and fit time per fold. The
datasets ship with sktime.

The pipelines are composed with sktime's ``*`` operator (``transformer * classifier`` is
an sktime classifier), as ``benchmarks/classification.py`` does: sktime's benchmarking
takes sktime estimators, and sktime's MiniRocket does not compose inside a scikit-learn
1.9 ``Pipeline`` (sktime issues #10725 and #11173), whereas the skcontrast estimators
work in both. The full results, with the official train/test splits of ten datasets on a
quiet machine, are on the benchmark pages.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold
from sktime.benchmarking.classification import ClassificationBenchmark
from sktime.datasets import load_UCR_UEA_dataset
from sktime.transformations.rocket import MiniRocket

from skcontrast import AimTSTransformer, BTSFTransformer

datasets = ["GunPoint", "ArrowHead", "ItalyPowerDemand"]
btsf = BTSFTransformer(random_state=0)
aimts = AimTSTransformer(random_state=0)
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: tiny
# networks, a few steps, one dataset, and a note in the output that its numbers are a
# smoke run.
import os  # noqa: E402

if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    datasets = ["ItalyPowerDemand"]
    btsf.set_params(hidden_channels=16, repr_dims=16, rank=4, n_iters=5,
                    options={"temporal_depth": 3, "spectral_depth": 1,
                             "temporal_size": 8, "spectral_size": 8})
    aimts.set_params(hidden_channels=8, repr_dims=16, depth=2, image_size=16,
                     batch_size=8, n_iters=3,
                     options={"projection_dims": 8, "image_width": 4})
    print("[docs build with SKCONTRAST_DOCS_FAST=1: tiny networks trained for a few "
          "steps on one dataset; the numbers below are a smoke run, not those of the "
          "code shown]")
# sphinx_gallery_end_ignore


def loader(name):
    """A loader for the benchmark: train and test parts together, as 3-D arrays."""

    def load():
        return load_UCR_UEA_dataset(name, return_X_y=True, return_type="numpy3D")

    return load


bench = ClassificationBenchmark()
bench.add_estimator({
    "BTSF + LogisticRegression": btsf * LogisticRegression(max_iter=1000),
    "AimTS + LogisticRegression": aimts * LogisticRegression(max_iter=1000),
    "MiniRocket + RidgeClassifierCV": MiniRocket(random_state=0)
    * RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
})
for name in datasets:
    folds = KFold(3, shuffle=True, random_state=0)
    bench.add_task(loader(name), folds, [accuracy_score], task_id=name)
results = bench.run()
results["dataset"] = results["validation_id"].str.extract(r"(\w+)", expand=False)
columns = ["dataset", "model_id", "accuracy_score_mean", "accuracy_score_std",
           "fit_time_mean"]
print(results[columns].to_string(index=False, float_format="%.3f"))

# %%
# Accuracy and fit time (mean over the folds)
# -------------------------------------------
acc = results.pivot(index="dataset", columns="model_id", values="accuracy_score_mean")
err = results.pivot(index="dataset", columns="model_id", values="accuracy_score_std")
fit = results.pivot(index="dataset", columns="model_id", values="fit_time_mean")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
acc.plot.bar(ax=axes[0], yerr=err, rot=0, ylim=(0, 1.05), legend=False,
             title="accuracy (3-fold CV)")
fit.plot.bar(ax=axes[1], rot=0, title="fit time per fold (s)")
axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()
