"""Readouts of the frozen base encoder, chosen on dev sets outside its transfer group.

    python benchmarks/aimts_readout.py

One forward pass of ``pretrained="base"`` per set gives the per-channel, per-step
features ``(n, C, 512, T)``; each readout pools them into a row, standardised with the
training statistics, then ``LogisticRegression()`` on all training labels. Sets: those of
``aimts_speed.QUALITY_SETS`` (never the transfer-validation group, so that the choice does
not peek at the numbers it is judged by). The "scales" readouts are the package's own
self-ensembling (``input_scales``: the default max readout of the series and of its copies
resampled to each scale, concatenated), through ``transform`` in float32 like the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, load, md_table, stamp
from aimts_speed import QUALITY_SETS
from torch.nn import functional as F

from skcontrast import AimTSTransformer, pretrained
from skcontrast._data import normalize_panel

# self-ensembling readouts: input_scales of the package's transform
SCALES = {"max, scales 2,1": (2.0, 1.0), "max, scales 2,1,0.5": (2.0, 1.0, 0.5)}

READOUTS = {
    "max (default)": lambda h: h.amax(-1),
    "mean": lambda h: h.mean(-1),
    "max + mean": lambda h: torch.cat([h.amax(-1), h.mean(-1)], -1),
    "max at 1/2/4 positions": lambda h: torch.cat(
        [
            F.adaptive_max_pool1d(h.flatten(0, 1), k).flatten(1).view(*h.shape[:2], -1)
            for k in (1, 2, 4)
        ],
        -1,
    ),
}


@torch.no_grad()
def pooled(network, X, chunk=64):
    out = {name: [] for name in READOUTS}
    for i in range(0, len(X), chunk):
        x = torch.from_numpy(normalize_panel(X[i : i + chunk], "zscore"))
        h = network.timestep_features(x)  # (B, C, D, T)
        for name, fn in READOUTS.items():
            out[name].append(fn(h).flatten(1))
    return {k: torch.cat(v).numpy() for k, v in out.items()}


def self_ensembled(X):
    """The package's ``transform`` of the base with each ``SCALES`` setting (float32)."""
    est = AimTSTransformer.load_weights(pretrained.weights_path("base"))
    # attribute writes: set_params would reset the fitted state; the standardisation
    # statistics are the base's (one scale): the probe standardises on its own
    est.standardize, est.options = False, {**(est.options or {}), "mixed_precision": False}
    out = {}
    for name, scales in SCALES.items():
        est.input_scales = scales
        out[name] = est.transform(X).to_numpy()
    return out


def main():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    torch.set_num_threads(2)
    network = AimTSTransformer.load_weights(pretrained.weights_path("base")).network_.eval()
    rows = []
    for name in QUALITY_SETS:
        (X, y), (X_test, y_test) = load(name)
        X, X_test = np.asarray(X, np.float32), np.asarray(X_test, np.float32)
        train, test = pooled(network, X), pooled(network, X_test)
        train.update(self_ensembled(X))
        test.update(self_ensembled(X_test))
        for readout in [*READOUTS, *SCALES]:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            clf.fit(train[readout], y)
            rows.append(
                {"dataset": name, "readout": readout, "accuracy": clf.score(test[readout], y_test)}
            )
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(RESULTS / "aimts_readout.csv", index=False)
    table = df.pivot(index="dataset", columns="readout", values="accuracy")
    table = table[[*READOUTS, *SCALES]]
    table.loc["**mean**"] = table.mean()
    lines = [
        "# Readouts of the frozen base encoder (dev sets outside its transfer group)",
        "",
        f"{stamp()} StandardScaler + LogisticRegression(max_iter=1000), all "
        "training labels.",
        "",
        *md_table(table),
    ]
    (RESULTS / "aimts_readout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
