"""Normalisation of BTSF's input: per-series z-score, dataset-level statistics, or both.

The readouts compared come from ``btsf_recipe.py --suite dev`` (rows of
``results/btsf_recipe_dev.csv``), so that a comparison of readouts shares its fit:

- ``zscore``: the previous default, variant "crops b16 swa" (the default training) or
  "untrained", readout "multiscale bf16";
- ``zscore+global`` (the default since this run): the same fits, readout "zscore+global
  bf16" (the readout of the z-scored series and of the series normalised with the training
  set's per-channel statistics, concatenated; training reads the z-scored series);
- ``global``: variants "crops b16 swa global" / "untrained global" (trained and read with
  the training set's statistics only; seed 0).

Sets are split into those whose series the archive already z-normalised (every series'
per-channel mean within 0.01 of 0 and standard deviation within 1 % of 1) and the raw ones.
``python benchmarks/normalization.py`` writes ``results/normalization.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, dev_suite, load, stamp, wtl
from btsf_recipe import DEV_CSV
from scipy.stats import wilcoxon

ROWS = {
    "zscore": ("crops b16 swa", "multiscale bf16"),
    "zscore+global": ("crops b16 swa", "zscore+global bf16"),
    "global": ("crops b16 swa global", "multiscale bf16"),
    "untrained zscore": ("untrained", "multiscale bf16"),
    "untrained zscore+global": ("untrained", "zscore+global bf16"),
    "untrained global": ("untrained global", "multiscale bf16"),
}


def is_z_normalised(X) -> bool:
    rows = [np.asarray(X, float)] if isinstance(X, np.ndarray) else [
        np.asarray(f, float).T[None] for f in X]  # fmt: skip
    mean = np.concatenate([np.nanmean(r, -1).ravel() for r in rows])
    std = np.concatenate([np.nanstd(r, -1).ravel() for r in rows])
    return bool(np.abs(mean).max() < 0.01 and np.abs(std - 1).max() < 0.01)


def _p(d) -> str:
    d = d[d.abs() > 1e-12]
    return f"{wilcoxon(d).pvalue:.3g}" if len(d) else "-"


def report():
    df = pd.read_csv(DEV_CSV)
    names = dev_suite(DEFAULT_DATA)
    raw = [n for n in names if not is_z_normalised(load(n)[0][0])]
    lines = [
        "# BTSF: per-series z-score, dataset-level statistics, or both",
        "",
        f"{stamp()} From `btsf_recipe_dev.csv` (default LogisticRegression on "
        "standardised features; rows compared within a seed share their fit). "
        f"{len(raw)} of the {len(names)} dev sets hold series the archive did not "
        "z-normalise; on the others the normalisations feed the encoder the same series "
        "(to 1 % in scale).",
        "",
    ]
    for seed in sorted(df.seed.unique()):
        sub = df[df.seed == seed]
        table = pd.DataFrame({
            name: sub[(sub.variant == v) & (sub.readout == r)].set_index("dataset").accuracy
            for name, (v, r) in ROWS.items()
        })  # fmt: skip
        table = table.dropna(axis=1, how="all")
        for group, sets in (("raw sets", raw), ("z-normalised sets", None)):
            part = table.loc[[n for n in (sets or names) if n in table.index and
                              (sets is not None or n not in raw)]]  # fmt: skip
            part = part.dropna(axis=1)
            if part.empty or "zscore" not in part and "untrained zscore" not in part:
                continue
            lines += [f"## Seed {seed}, {group} ({len(part)})", ""]
            lines += ["| readout | mean | W/T/L vs zscore | Wilcoxon p |", "|---|---|---|---|"]
            for col in part:
                base = "untrained zscore" if col.startswith("untrained") else "zscore"
                vs = "-" if col == base or base not in part else wtl(part[col], part[base])
                p = "-" if col == base or base not in part else _p(part[col] - part[base])
                lines.append(f"| {col} | {part[col].mean():.3f} | {vs} | {p} |")
            lines.append("")
            if sets is not None:
                lines += ["| dataset | " + " | ".join(part.columns) + " |",
                          "|---|" + "---|" * part.shape[1]]  # fmt: skip
                for name, row in part.iterrows():
                    lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
                lines.append("")
        full = table.reindex(names)
        if {"zscore", "zscore+global"} <= set(full) and full[
            ["zscore", "zscore+global"]
        ].notna().all().all():
            lines += [
                f"Seed {seed}, all {len(names)} sets: zscore {full['zscore'].mean():.3f}, "
                f"zscore+global {full['zscore+global'].mean():.3f} "
                f"({wtl(full['zscore+global'], full['zscore'])}, p = "
                f"{_p(full['zscore+global'] - full['zscore'])})"
                + (
                    f"; untrained {full['untrained zscore'].mean():.3f} and "
                    f"{full['untrained zscore+global'].mean():.3f}"
                    if {"untrained zscore", "untrained zscore+global"} <= set(full)
                    and full[["untrained zscore", "untrained zscore+global"]].notna().all().all()
                    else ""
                )
                + ".",
                "",
            ]
    (RESULTS / "normalization.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    report()
