"""
Grid search over a dask cluster
===============================

Every candidate of a :class:`~sklearn.model_selection.GridSearchCV` is a separate fit,
so model selection spreads over many machines with no change to the estimators:
scikit-learn runs its fits through joblib, and joblib's ``"dask"`` backend sends them to
the workers of a ``dask.distributed`` cluster.

Here the cluster is a :class:`~distributed.LocalCluster` of two workers in this process,
so the example runs anywhere (``pip install "skcontrast[dask]"``). On a real cluster,
connect the client to its scheduler instead: ``Client("tcp://scheduler:8786")``. Ray
offers the same through ``ray.util.joblib.register_ray()`` and
``joblib.parallel_backend("ray")``. Seeded fits give the same scores as a sequential
search, wherever they run.

For data-parallel pretraining of one model over several GPUs or nodes, see
``docs/scaling_out.md``.
"""

import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sktime.datasets import load_gunpoint

from skcontrast import BTSFTransformer

X, y = load_gunpoint(split="train", return_type="numpy3D")

# %%
# A small BTSF encoder and a linear probe; the grid varies the rank of the bilinear
# fusion and the training budget.
pipeline = make_pipeline(
    BTSFTransformer(hidden_channels=8, repr_dims=8, batch_size=16, device="cpu",
                    random_state=0, options={"temporal_depth": 2, "spectral_depth": 1}),
    LogisticRegression(max_iter=1000),
)
grid = {"btsftransformer__rank": [1, 2, 4], "btsftransformer__n_iters": [5, 20]}
cv = StratifiedKFold(3, shuffle=True, random_state=0)
search = GridSearchCV(pipeline, grid, cv=cv, n_jobs=-1)

# %%
# Fit on the cluster: ``n_jobs=-1`` uses every worker. The workers here are threads of
# this process (``processes=False``: quick to start, and no ``__main__`` guard needed),
# so the seeded fits run one at a time; for real parallel training use worker processes
# (``processes=True`` under an ``if __name__ == "__main__":`` guard, or ``dask worker``
# processes with one thread each on other machines).
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=None)
with cluster, Client(cluster), joblib.parallel_backend("dask"):
    search.fit(X, y)
print("best:", search.best_params_, f"accuracy {search.best_score_:.3f}")

# %%
# Mean cross-validated accuracy of every candidate.
n_ranks = len(grid["btsftransformer__rank"])
scores = search.cv_results_["mean_test_score"].reshape(n_ranks, -1)
fig, ax = plt.subplots(figsize=(4.5, 3.5))
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(scores.shape[1]), grid["btsftransformer__n_iters"])
ax.set_yticks(range(scores.shape[0]), grid["btsftransformer__rank"])
ax.set_xlabel("n_iters")
ax.set_ylabel("rank")
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w")
fig.colorbar(image, label="CV accuracy")
ax.set_title("GridSearchCV on dask: GunPoint")
fig.tight_layout()
plt.show()
