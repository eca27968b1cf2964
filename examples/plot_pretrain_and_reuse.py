"""
Pretrain once, save the encoder, reuse it on a new dataset
==========================================================

:class:`~skcontrast.AimTSTransformer` is pretrained once on a corpus that mixes lengths
and channel counts (ArrowHead: 1 x 251, BasicMotions: 6 x 100, ItalyPowerDemand:
1 x 24); GunPoint is never seen in pretraining. The encoder is saved with
``save_weights``: the file holds weights only (no pickle), so it loads safely anywhere,
also on a machine without a GPU. It is then reused in two ways: frozen, under a linear
probe, and fine-tuned end to end by :class:`~skcontrast.AimTSClassifier`. All data ship
with sktime, so this runs offline (a few minutes on 2 CPU cores).
"""

import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import AimTSClassifier, AimTSTransformer

size = {}  # the architecture: the defaults here; the reusing estimators must match it
n_iters = {"pretrain": 60, "fine-tune": None}  # None: the classifier's default budget
# sphinx_gallery_start_ignore
# The docs build sets SKCONTRAST_DOCS_FAST=1 to run every example in seconds: a tiny
# network, a few steps, and a note in the output that its numbers are a smoke run.
import os  # noqa: E402

if os.environ.get("SKCONTRAST_DOCS_FAST") == "1":
    size = dict(hidden_channels=8, repr_dims=16, depth=2, image_size=16, batch_size=8,
                options={"projection_dims": 8, "image_width": 4})
    n_iters = {"pretrain": 4, "fine-tune": 5}
    print("[docs build with SKCONTRAST_DOCS_FAST=1: a tiny network trained for a few "
          "steps; the numbers below are a smoke run, not those of the code shown]")
# sphinx_gallery_end_ignore


def load(name, split):
    return load_UCR_UEA_dataset(name, split=split, return_X_y=True,
                                return_type="numpy3D")


# %%
# Pretrain on the corpus (a list of panels of any shapes) and save the weights
# ------------------------------------------------------------------------------
names = ("ArrowHead", "BasicMotions", "ItalyPowerDemand")
corpus = [load(name, "train")[0] for name in names]
start = time.perf_counter()
encoder = AimTSTransformer(**size, n_iters=n_iters["pretrain"], max_channels=4,
                           random_state=0).fit(corpus)
print(f"pretrained on {sum(len(X) for X in corpus)} series "
      f"in {time.perf_counter() - start:.0f} s")
path = Path(tempfile.mkdtemp()) / "aimts_encoder.pt"
encoder.save_weights(path)

# %%
# Reuse it: a frozen encoder under a linear probe, and end-to-end fine-tuning
# ----------------------------------------------------------------------------
# ``pretrained=`` takes the file path (a path survives ``clone``, so it also works
# inside ``GridSearchCV``); the architecture parameters must match the saved encoder's.
X, y = load("GunPoint", "train")
X_test, y_test = load("GunPoint", "test")
probe = Pipeline([
    # frozen: the pretrained encoder used as is
    ("rep", AimTSTransformer(**size, pretrained=str(path), n_iters=0)),
    ("clf", LogisticRegression()),
]).fit(X, y)
shared = ("hidden_channels", "repr_dims", "depth")  # the classifier's architecture
clf_size = {k: v for k, v in size.items() if k in shared}
tuned = AimTSClassifier(**clf_size, pretrained=str(path), n_iters=n_iters["fine-tune"],
                        random_state=0).fit(X, y)
scores = {"linear probe (frozen)": probe.score(X_test, y_test),
          "fine-tuned": tuned.score(X_test, y_test)}
for name, score in scores.items():
    print(f"GunPoint, pretrained encoder, {name}: {score:.3f}")

# %%
# The pretraining loss of the saved encoder
# -----------------------------------------
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(encoder.loss_history_)
ax.set(xlabel="training step", ylabel="loss", title="AimTS pretraining on the corpus")
fig.tight_layout()
plt.show()

# %%
# Or skip pretraining: the encoder shipped with the package
# ----------------------------------------------------------
# ``pretrained="base"`` names an encoder pretrained on 38 public datasets (GunPoint is
# not one of them) that ships inside skcontrast: no download, no training, any length
# and channel count. Its model card is the docs page "Pretrained encoders".
from skcontrast import pretrained  # noqa: E402

print("shipped encoders:", pretrained.available())
start = time.perf_counter()
base_probe = Pipeline([("rep", AimTSTransformer(pretrained="base", n_iters=0)),
                       ("clf", LogisticRegression())]).fit(X, y)
seconds = time.perf_counter() - start
print(f"GunPoint, shipped base encoder, linear probe (frozen): "
      f"{base_probe.score(X_test, y_test):.3f} (fit in {seconds:.1f} s)")
