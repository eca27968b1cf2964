"""Pretrain AimTS once on several datasets, save the encoder, reuse it on a new one.

The corpus mixes lengths and channel counts (ArrowHead: 1 x 251, BasicMotions: 6 x 100,
ItalyPowerDemand: 1 x 24); GunPoint is never seen in pretraining. The saved file holds
weights only (no pickle), so it loads safely anywhere, also on a machine without a GPU.
All data ship with sktime, so this runs offline (a few minutes on 2 CPU cores).
"""

import tempfile
import time
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import AimTSClassifier, AimTSTransformer


def load(name, split):
    return load_UCR_UEA_dataset(name, split=split, return_X_y=True, return_type="numpy3D")


corpus = [load(name, "train")[0] for name in ("ArrowHead", "BasicMotions", "ItalyPowerDemand")]
start = time.perf_counter()
encoder = AimTSTransformer(n_iters=60, max_channels=4, random_state=0, verbose=True).fit(corpus)
print(f"pretrained on {sum(len(X) for X in corpus)} series in {time.perf_counter() - start:.0f} s")
path = Path(tempfile.mkdtemp()) / "aimts_encoder.pt"
encoder.save_weights(path)

X, y = load("GunPoint", "train")
X_test, y_test = load("GunPoint", "test")
probe = Pipeline([
    ("rep", AimTSTransformer(pretrained=str(path), n_iters=0)),  # frozen, used as is
    ("clf", LogisticRegression()),
]).fit(X, y)
print(f"GunPoint, linear probe on the pretrained encoder: {probe.score(X_test, y_test):.3f}")
tuned = AimTSClassifier(pretrained=str(path), random_state=0).fit(X, y)
print(f"GunPoint, pretrained encoder fine-tuned:          {tuned.score(X_test, y_test):.3f}")
