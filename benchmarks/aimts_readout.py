"""Readouts of the frozen base encoder, chosen on dev sets outside its transfer group.

    python benchmarks/aimts_readout.py

One forward pass of ``pretrained="base"`` per set gives the per-channel, per-step
features ``(n, C, 512, T)``; each readout pools them into a row, standardised with the
training statistics, then ``LogisticRegression()`` on all training labels. Sets: those of
``aimts_speed.QUALITY_SETS`` (never the transfer-validation group, so that the choice does
not peek at the numbers it is judged by).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, load, machine, md_table
from aimts_speed import QUALITY_SETS
from torch.nn import functional as F

from skcontrast import AimTSTransformer, pretrained
from skcontrast._data import normalize_panel

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
        for readout in READOUTS:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            clf.fit(train[readout], y)
            rows.append(
                {"dataset": name, "readout": readout, "accuracy": clf.score(test[readout], y_test)}
            )
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(RESULTS / "aimts_readout.csv", index=False)
    table = df.pivot(index="dataset", columns="readout", values="accuracy")[list(READOUTS)]
    table.loc["**mean**"] = table.mean()
    lines = [
        "# Readouts of the frozen base encoder (dev sets outside its transfer group)",
        "",
        f"Machine: {machine()}. StandardScaler + LogisticRegression(max_iter=1000), all "
        "training labels.",
        "",
        *md_table(table),
    ]
    (RESULTS / "aimts_readout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
