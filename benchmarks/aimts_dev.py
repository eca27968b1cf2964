"""AimTS on the dev suite: its default readout against the two-normalisation one.

BTSF's default reads each series both z-normalised and globally normalised
(``normalize=("zscore", "global")``; +1.7 points on the dev suite). This measures whether
that carries over to AimTS, on every set of the dev suite (as ``classification.py``).

Per dataset and seed, ONE ``AimTSTransformer(normalize=("zscore", "global"),
random_state=seed)`` fit (``max_channels=4`` above four channels, as ``aimts.py``).
Training reads the series normalised by the first entry, so the z-normalised half of every
output row (each channel's first block, :func:`first_normalisation`) is exactly the row
of the default ``normalize="zscore"`` (checked in ``tests/test_benchmark_data.py``): a
default ``LogisticRegression()`` on that half is the current default pipeline, on the
whole row the two-normalisation readout; the two arms are paired (the same network). The
same for the untrained encoder (``n_iters=0``). BTSF and MiniRocket come from
``results/classification.csv`` (same seeds, same machine). ``--n-iters N`` runs instead
the trained encoder with ``N`` steps (the default is 30), both readouts, compared with the
default budget on the sets it reached.

Each dataset runs in its own process, one after another; rows are appended to
``results/aimts_dev.csv`` as they finish and a rerun skips those there.

    python benchmarks/aimts_dev.py --seeds 0
    python benchmarks/aimts_dev.py --seeds 0 --n-iters 100
    python benchmarks/aimts_dev.py --report
"""

from __future__ import annotations

import argparse
import time

import _runner
import numpy as np
import pandas as pd
from _common import (
    DEFAULT_DATA,
    RESULTS,
    dev_suite,
    load,
    make,
    shape_of,
    stamp,
    wilcoxon_p,
    wtl,
)

CSV = RESULTS / "aimts_dev.csv"
ARMS = ("AimTS", "AimTS zscore+global", "AimTS untrained", "AimTS untrained zscore+global")
# (arm reading the z-normalised half of the row, arm reading all of it, encoder parameters)
ENCODERS = ((ARMS[0], ARMS[1], {}), (ARMS[2], ARMS[3], {"n_iters": 0}))


def budget_encoders(n_iters: int):
    """``--n-iters``: the trained encoder alone, with ``n_iters`` steps, both readouts."""
    return ((f"AimTS {n_iters} steps", f"AimTS {n_iters} steps zscore+global",
             {"n_iters": n_iters}),)  # fmt: skip


def first_normalisation(F: np.ndarray, n_channels: int) -> np.ndarray:
    """The columns of the first of two normalisations in AimTS rows: with
    ``channel_pooling="concat"`` each channel's block holds its readout of each
    normalisation in turn, ``(N, C * 2 * D)``."""
    return F.reshape(len(F), n_channels, 2, -1)[:, :, 0].reshape(len(F), -1)


probe = _runner.probe  # default LogisticRegression(), as a user would


def run_dataset(job):
    """Both encoders, both readouts, on one dataset and seed (in its own process)."""
    from skcontrast import AimTSTransformer

    name, seed, encoders = job
    (X_train, y_train), (X_test, y_test) = load(name)
    n_channels = X_train.shape[1] if isinstance(X_train, np.ndarray) else X_train[0].shape[1]
    budget = {"max_channels": 4} if n_channels > 4 else {}
    rows = []
    for half_arm, whole_arm, params in encoders:
        rep = make(
            AimTSTransformer, normalize=("zscore", "global"), random_state=seed, **budget, **params
        )
        start = time.perf_counter()
        F_train = np.asarray(rep.fit_transform(X_train), dtype=float)
        fit_s = time.perf_counter() - start
        F_test = np.asarray(rep.transform(X_test), dtype=float)
        pairs = (
            (half_arm, first_normalisation(F_train, n_channels),
             first_normalisation(F_test, n_channels)),
            (whole_arm, F_train, F_test),
        )  # fmt: skip
        for arm, A, B in pairs:
            rows.append(dict(
                dataset=name, arm=arm, seed=seed, shape=shape_of(X_train),
                accuracy=probe(A, y_train, B, y_test), encoder_fit_s=fit_s, width=A.shape[1],
                steps=rep.n_iters_,
            ))  # fmt: skip
            print(f"{name:>30} {arm:>30} seed {seed}: acc {rows[-1]['accuracy']:.3f} "
                  f"fit {fit_s:6.1f} s", flush=True)  # fmt: skip
    return rows


def run(datasets, seeds, encoders=ENCODERS):
    # seed-major: a run cut short leaves whole seeds, not a few sets with every seed
    wanted = [(name, seed, encoders[0][0]) for seed in seeds for name in datasets]
    todo = _runner.pending(CSV, ["dataset", "seed", "arm"], wanted)
    _runner.run(run_dataset, [(name, seed, encoders) for name, seed, _ in todo], CSV)


def paired_table(df: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per dataset (mean over seeds) of every arm and of the reference methods, on
    the (dataset, seed) runs that every arm and reference method finished."""
    wide = df.pivot_table(index=["dataset", "seed"], columns="arm", values="accuracy")
    ref = reference.pivot_table(index=["dataset", "seed"], columns="method", values="accuracy")
    both = wide.join(ref[["BTSF", "MiniRocket"]], how="inner")
    both = both.dropna(subset=[*ARMS, "BTSF", "MiniRocket"])  # --n-iters arms: where run
    return both.groupby(level="dataset").mean()


def comparison_table(rows) -> list[str]:
    """Markdown rows of paired comparisons ``(label, a, b)`` (per-dataset Series)."""
    return [
        "| comparison | mean difference (points) | wins/ties/losses (±0.005) | Wilcoxon p |",
        "|---|---|---|---|",
        *[
            f"| {label} | {100 * (a - b).mean():+.1f} | {wtl(a, b)} | {wilcoxon_p(a, b):.2g} |"
            for label, a, b in rows
        ],
    ]


def longer_training(df: pd.DataFrame, acc: pd.DataFrame) -> list[str]:
    """Sections for the ``--n-iters`` arms, against the default budget on the same sets."""
    lines = []
    for steps in sorted(df.steps[~df.arm.isin(ARMS)].unique()):
        half, whole = budget_encoders(int(steps))[0][:2]
        part = acc.dropna(subset=[half, whole])
        fit = df[df.arm == half].groupby("dataset").encoder_fit_s.mean()[part.index]
        default_fit = df[df.arm == ARMS[0]].groupby("dataset").encoder_fit_s.mean()[part.index]
        rows = [
            (f"{steps} steps vs the default's 30, default readout", part[half], part[ARMS[0]]),
            (f"{steps} steps vs 30, zscore+global readout", part[whole], part[ARMS[1]]),
            (f"{steps} steps vs untrained, default readout", part[half], part[ARMS[2]]),
            (f"{steps} steps vs untrained, zscore+global", part[whole], part[ARMS[3]]),
        ]
        lines += [
            "",
            f"## Longer training: {steps} steps ({len(part)} sets)",
            "",
            f"Mean accuracy {part[half].mean():.3f} (default readout) and "
            f"{part[whole].mean():.3f} (zscore+global) against {part[ARMS[0]].mean():.3f} "
            f"and {part[ARMS[1]].mean():.3f} with 30 steps on the same sets; mean encoder "
            f"fit {fit.mean():.1f} s against {default_fit.mean():.1f} s.",
            "",
            *comparison_table(rows),
        ]
    return lines


def report():
    df = pd.read_csv(CSV)
    acc = paired_table(df, pd.read_csv(RESULTS / "classification.csv"))
    acc = acc.loc[[d for d in dev_suite(DEFAULT_DATA) if d in acc.index]]
    seeds = sorted(df.seed.unique())
    fit = df[df.arm == ARMS[0]].groupby("dataset").encoder_fit_s.mean()
    a, g = acc[ARMS[0]], acc[ARMS[1]]
    comparisons = [
        ("zscore+global readout vs default readout", g, a),
        ("default readout: trained vs untrained", a, acc[ARMS[2]]),
        ("zscore+global readout: trained vs untrained", g, acc[ARMS[3]]),
        ("AimTS (default) vs BTSF (default)", a, acc["BTSF"]),
        ("AimTS zscore+global vs BTSF (default)", g, acc["BTSF"]),
        ("AimTS (default) vs MiniRocket", a, acc["MiniRocket"]),
        ("AimTS zscore+global vs MiniRocket", g, acc["MiniRocket"]),
    ]
    from normalization import is_z_normalised

    raw = [n for n in acc.index if not is_z_normalised(load(n)[0][0])]
    znorm = [n for n in acc.index if n not in raw]
    split = [
        (f"{label}, {len(sets)} {kind} sets", x[sets], y[sets])
        for kind, sets in (("raw", raw), ("z-normalised", znorm))
        for label, x, y in comparisons[:2]
    ]
    # the --n-iters arms (where run) after the default's
    columns = [*ARMS, *(c for c in acc if c not in (*ARMS, "BTSF", "MiniRocket")), "BTSF",
               "MiniRocket"]  # fmt: skip
    lines = [
        "# AimTS on the dev suite: default readout vs the two-normalisation readout",
        "",
        f"{stamp()} Official train/test splits of {len(acc)} datasets, seeds "
        f"{', '.join(map(str, seeds))}; accuracy is the mean over the seeds. One "
        "`AimTSTransformer(normalize=('zscore', 'global'), random_state=seed)` fit per set "
        "and seed (`max_channels=4` above four channels); 'AimTS' is the default "
        "`LogisticRegression()` on the z-normalised half of its rows (exactly the default "
        "`normalize='zscore'` rows), 'zscore+global' on the whole rows; 'untrained' the "
        "same with `n_iters=0`. BTSF (default) and MiniRocket * RidgeClassifierCV from "
        "`classification.csv`, same sets and seeds. 'Raw' sets hold series the archive "
        "did not z-normalise (`normalization.py`'s test); on the others both normalisations "
        "feed the encoder the same series to 1 % in scale.",
        "",
        "| | mean accuracy |",
        "|---|---|",
        *[f"| {c} | {acc[c].mean():.3f} |" for c in (*ARMS, "BTSF", "MiniRocket")],
        f"| AimTS mean encoder fit s (both readouts' encoding passes) | {fit.mean():.1f} |",
        "",
        *comparison_table(comparisons + split),
        *longer_training(df, acc),
        "",
        "## Per dataset",
        "",
        "| dataset | " + " | ".join(columns) + " | AimTS fit s |",
        "|---" * (len(columns) + 2) + "|",
        *[
            f"| {name} | "
            + " | ".join("-" if np.isnan(v) else f"{v:.3f}" for v in row)
            + f" | {fit[name]:.1f} |"
            for name, row in acc[columns].iterrows()
        ],
    ]
    (RESULTS / "aimts_dev.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:24]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument(
        "--n-iters", type=int, help="instead: the trained encoder with this many steps"
    )
    parser.add_argument("--report", action="store_true", help="only rewrite the table")
    args = parser.parse_args()
    if not args.report:
        encoders = budget_encoders(args.n_iters) if args.n_iters else ENCODERS
        run(args.datasets or dev_suite(DEFAULT_DATA), args.seeds, encoders)
    report()


if __name__ == "__main__":
    main()
