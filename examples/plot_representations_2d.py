"""
The representations in two dimensions
=====================================

A 2-D view (PCA) of the representations of the test series of a labelled dataset,
coloured by class, before and after training. The encoder never saw the labels:
whatever separation appears comes from the contrastive training alone (or, for the
untrained encoder, from its random dilated convolutions). ``sklearn.manifold.TSNE``
gives a non-linear view of the same features. CBF-like data would do as well; GunPoint
ships with sktime.
"""

import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import BTSFTransformer


def load(split):
    return load_UCR_UEA_dataset(
        "GunPoint", split=split, return_X_y=True, return_type="numpy3D"
    )


X, y = load("train")
X_test, y_test = load("test")

encoders = {
    "untrained encoder (n_iters=0)": BTSFTransformer(n_iters=0, random_state=0),
    "trained encoder": BTSFTransformer(n_iters=100, random_state=0),
}
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: a tiny
# network and a few steps, and a note in the output that its figure is a smoke run.
import os  # noqa: E402

if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    for encoder in encoders.values():
        encoder.set_params(
            hidden_channels=16, repr_dims=16, rank=4,
            options={"temporal_depth": 3, "spectral_depth": 1, "temporal_size": 8,
                     "spectral_size": 8},
            n_iters=min(encoder.n_iters, 10),
        )  # fmt: skip
    print("[docs build with SKCONTRAST_DOCS_FAST=1: tiny networks trained for a few "
          "steps; the figure is a smoke run, not that of the code shown]")
# sphinx_gallery_end_ignore
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (title, encoder) in zip(axes, encoders.items(), strict=True):
    # fit on the training series (no labels), project the test series
    projection = make_pipeline(encoder, PCA(n_components=2, random_state=0)).fit(X)
    points = projection.transform(X_test)
    for label in sorted(set(y_test)):
        mask = y_test == label
        ax.scatter(points[mask, 0], points[mask, 1], s=12, alpha=0.8,
                   label=f"class {label}")
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
axes[0].legend()
fig.suptitle("GunPoint test series, BTSF representations (PCA)")
fig.tight_layout()
plt.show()
