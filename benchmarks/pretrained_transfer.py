"""The shipped encoder ``pretrained="base"`` on its transfer-validation group.

    python benchmarks/pretrained_transfer.py            # every set, resumable CSV
    python benchmarks/pretrained_transfer.py --speed    # zero-shot fit + transform time only
    python benchmarks/pretrained_transfer.py --scales   # zero-shot, self-ensembled readout
    python benchmarks/pretrained_transfer.py --report   # tables and plot from the CSVs
    python benchmarks/pretrained_transfer.py --beyond   # frozen / continued / fine-tuned

The twelve sets of ``pretrain_base.TRANSFER_VALIDATION`` were never pretrained on. Per
set, in a fresh process, one set at a time:

- **zero-shot**: ``AimTSTransformer(pretrained="base", n_iters=0)`` (no training);
- **from scratch**: the default ``AimTSTransformer(random_state=seed)``, trained on the set;
- **MiniRocket**: sktime's ``MiniRocket`` (``MiniRocketMultivariate`` for several channels);
- **fine-tuned**: ``AimTSClassifier(pretrained="base", random_state=seed)`` on all labels.

The three transformers see every training series, without labels (as a user with few
labels would fit them); then ``LogisticRegression()`` (zero-shot, from scratch) or
``RidgeClassifierCV(alphas=logspace(-3, 3, 10))`` (MiniRocket) is trained on 100 %, 25 % or
10 % of the training labels (stratified, at least one per class; seeds 0-2 draw the
subsets and seed the encoders). Accuracy on the whole test split.

``--scales`` adds the zero-shot base with the self-ensembling readout chosen on the readout
benchmark's sets (``input_scales=SCALES``, ``aimts_readout.py``), probed the same way (its
own CSV, ``pretrained_scales.csv``): a check on sets that played no part in the choice.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _runner
import numpy as np
import pandas as pd
from _common import (
    DEFAULT_DATA,
    RESULTS,
    load,
    make,
    md_table,
    peak_rss_mb,
    stamp,
    wilcoxon_p,
    wtl,
)
from aimts import plot_bars, subset
from pretrain_base import TRANSFER_VALIDATION

SEEDS, FRACTIONS = [0, 1, 2], [1.0, 0.25, 0.1]
CSV = RESULTS / "pretrained_transfer.csv"
SPEED_CSV = RESULTS / "pretrained_speed.csv"
SCALES_CSV = RESULTS / "pretrained_scales.csv"
SCALES = (2.0, 1.0, 0.5)
SCALED = "zero-shot base, scales 2,1,0.5 + LR"
ZERO_SHOT, FINE_TUNED, SCRATCH = "zero-shot base + LR", "fine-tuned base", "from scratch + LR"
ROCKET = "MiniRocket + Ridge"
METHODS = [ZERO_SHOT, SCALED, FINE_TUNED, SCRATCH, ROCKET]
# --beyond: the base used as is, trained on on the set's own series, or fine-tuned
BEYOND_CSV = RESULTS / "pretrained_beyond.csv"
CONTINUED = "continued base (30 steps) + LR"
BEYOND = [ZERO_SHOT, CONTINUED, FINE_TUNED]
BEYOND_FRACTIONS = [1.0, 0.1]


def _probe(rows, name, method, seed, features, y, y_test, make_classifier, encode_s):
    F_train, F_test = features
    for fraction in FRACTIONS:
        idx = subset(y, fraction, seed)
        clf = make_classifier().fit(F_train[idx], y[idx])
        rows.append(
            {
                "dataset": name,
                "method": method,
                "seed": seed,
                "fraction": fraction,
                "n_labels": len(idx),
                "accuracy": float(np.mean(clf.predict(F_test) == y_test)),
                "fit_s": encode_s,
                "peak_rss_mb": peak_rss_mb(),
            }
        )


def _encode(make, X, X_test):
    start = time.perf_counter()
    rep = make().fit(X)
    F_train, F_test = np.asarray(rep.transform(X)), np.asarray(rep.transform(X_test))
    return (F_train, F_test), time.perf_counter() - start


def run_dataset(job):
    import torch
    from sklearn.linear_model import LogisticRegression, RidgeClassifierCV

    from skcontrast import AimTSClassifier, AimTSTransformer

    torch.set_num_threads(2)
    name, data_dir = job
    (X, y), (X_test, y_test) = load(name, Path(data_dir))
    X, X_test = np.asarray(X, np.float32), np.asarray(X_test, np.float32)
    rows = []
    budget = {"max_channels": 4} if X.shape[1] > 4 else {}
    features, seconds = _encode(lambda: AimTSTransformer(pretrained="base", n_iters=0), X, X_test)
    for seed in SEEDS:  # one encoding: no randomness without training
        _probe(rows, name, ZERO_SHOT, seed, features, y, y_test, LogisticRegression, seconds)
    for seed in SEEDS:
        start = time.perf_counter()
        clf = AimTSClassifier(pretrained="base", random_state=seed).fit(X, y)
        rows.append(
            {
                "dataset": name,
                "method": FINE_TUNED,
                "seed": seed,
                "fraction": 1.0,
                "n_labels": len(y),
                "accuracy": float(np.mean(clf.predict(X_test) == y_test)),
                "fit_s": time.perf_counter() - start,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
        features, seconds = _encode(
            lambda s=seed: make(AimTSTransformer, random_state=s, **budget), X, X_test
        )
        _probe(rows, name, SCRATCH, seed, features, y, y_test, LogisticRegression, seconds)
    # MiniRocket last: numba's thread pool slows torch in the same process
    from sktime.transformations.panel.rocket import MiniRocket, MiniRocketMultivariate

    rocket = MiniRocket if X.shape[1] == 1 else MiniRocketMultivariate
    for seed in SEEDS:
        features, seconds = _encode(lambda s=seed: rocket(random_state=s), X, X_test)
        _probe(
            rows,
            name,
            ROCKET,
            seed,
            features,
            y,
            y_test,
            lambda: RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
            seconds,
        )
    return rows


def beyond_dataset(job):
    """The base frozen, trained further on the set's unlabelled series (the default 30
    steps), and fine-tuned on the labels, with 100 % and 10 % of the labels."""
    import torch

    from skcontrast import AimTSClassifier, AimTSTransformer

    torch.set_num_threads(int(job[2]))
    name, data_dir = job[:2]
    (X, y), (X_test, y_test) = load(name, Path(data_dir))
    X, X_test = np.asarray(X, np.float32), np.asarray(X_test, np.float32)
    rows = []

    def probe(method, seed, features, seconds):
        for fraction in BEYOND_FRACTIONS:
            idx = subset(y, fraction, seed)
            accuracy = _runner.probe(features[0][idx], y[idx], features[1], y_test)
            rows.append(dict(dataset=name, method=method, seed=seed, fraction=fraction,
                             n_labels=len(idx), accuracy=accuracy, fit_s=seconds))  # fmt: skip

    frozen = _encode(lambda: AimTSTransformer(pretrained="base", n_iters=0), X, X_test)
    for seed in SEEDS:
        probe(ZERO_SHOT, seed, *frozen)
        continued = lambda s=seed: AimTSTransformer(pretrained="base", random_state=s)  # noqa: E731
        probe(CONTINUED, seed, *_encode(continued, X, X_test))
        for fraction in BEYOND_FRACTIONS:
            idx = subset(y, fraction, seed)
            start = time.perf_counter()
            clf = AimTSClassifier(pretrained="base", random_state=seed).fit(X[idx], y[idx])
            accuracy = float(np.mean(clf.predict(X_test) == y_test))
            rows.append(dict(dataset=name, method=FINE_TUNED, seed=seed, fraction=fraction,
                             n_labels=len(idx), accuracy=accuracy,
                             fit_s=time.perf_counter() - start))  # fmt: skip
    return rows


def run_beyond(data_dir, threads):
    def show(job, rows):
        table = pd.DataFrame(rows).groupby(["method", "fraction"], sort=False).accuracy.mean()
        print(job[0], table.round(3).to_dict(), flush=True)

    todo = _runner.pending(BEYOND_CSV, "dataset", TRANSFER_VALIDATION)
    _runner.run(beyond_dataset, [(n, str(data_dir), threads) for n in todo], BEYOND_CSV, show)


def report_beyond():
    """``results/pretrained_beyond.md``: per-set accuracy of each use of the base."""
    df = pd.read_csv(BEYOND_CSV)
    lines = ["# The shipped base beyond frozen features", "", stamp() + " Sets never "
             f"pretrained on: {', '.join(sorted(df.dataset.unique()))}. Mean accuracy over "
             "seeds 0-2 (label subsets and the seeds of the trained encoders). Rows: "
             "`pretrained_beyond.csv`, from `python benchmarks/pretrained_transfer.py --beyond` "
             "(one process per set).", "",
             "- **frozen**: `AimTSTransformer(pretrained=\"base\", n_iters=0)` + "
             "`LogisticRegression()`;",
             "- **continued**: `AimTSTransformer(pretrained=\"base\")`, the default 30 steps "
             "on the set's training series (no labels) + `LogisticRegression()`;",
             "- **fine-tuned**: `AimTSClassifier(pretrained=\"base\")` on the labelled "
             "series (default 100 steps).", ""]  # fmt: skip
    for fraction in BEYOND_FRACTIONS:
        part = df[df.fraction == fraction]
        table = part.pivot_table(index="dataset", columns="method", values="accuracy")[BEYOND]
        table.index.name = "dataset"
        mean = table.mean().to_frame("**mean**").T
        both = pd.concat([table, mean]).rename_axis("dataset")
        lines += [f"## {fraction:.0%} of the training labels", "", *md_table(both), ""]
        for other in BEYOND[1:]:
            lines.append(f"- {other} against frozen: {wtl(table[other], table[ZERO_SHOT])} "
                         f"(wins/ties/losses, ±0.005), Wilcoxon p = "
                         f"{wilcoxon_p(table[other], table[ZERO_SHOT]):.2g}.")  # fmt: skip
        lines.append("")
    seconds = df[df.fraction == 1.0].groupby("method", sort=False).fit_s.median()
    lines.append("Median seconds per set (fit and both transforms; fine-tuning: fit and no "
                 "probe): " + ", ".join(f"{m} {seconds[m]:.1f}" for m in BEYOND) + ".")  # fmt: skip
    (RESULTS / "pretrained_beyond.md").write_text("\n".join(lines) + "\n")


def run_all(data_dir):
    def show(job, rows):
        full = pd.DataFrame(rows).query("fraction == 1.0").groupby("method").accuracy.mean()
        print(job[0], full.round(3).to_dict(), flush=True)

    todo = _runner.pending(CSV, "dataset", TRANSFER_VALIDATION)
    _runner.run(run_dataset, [(name, str(data_dir)) for name in todo], CSV, show)


def run_scales(data_dir):
    """Zero-shot base with ``input_scales=SCALES`` on every transfer set (resumable)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from skcontrast import AimTSTransformer

    torch.set_num_threads(2)
    for name in _runner.pending(SCALES_CSV, "dataset", TRANSFER_VALIDATION):
        (X, y), (X_test, y_test) = load(name, Path(data_dir))
        X, X_test = np.asarray(X, np.float32), np.asarray(X_test, np.float32)
        make = lambda: AimTSTransformer(pretrained="base", n_iters=0, input_scales=SCALES)  # noqa: E731
        features, seconds = _encode(make, X, X_test)
        rows = []
        for seed in SEEDS:
            _probe(rows, name, SCALED, seed, features, y, y_test, LogisticRegression, seconds)
        _runner.append_rows(SCALES_CSV, rows)
        print(name, round(np.mean([r["accuracy"] for r in rows[:1]]), 3), flush=True)


def speed():
    """Zero-shot fit + transform of 1,000 series of length 500, fresh process, 2 threads."""
    import torch

    from skcontrast import AimTSTransformer

    torch.set_num_threads(2)
    X = np.random.default_rng(0).standard_normal((1000, 1, 500)).astype(np.float32)
    rows = []
    for attempt in range(3):  # the first includes reading the weights file and warm-up
        start = time.perf_counter()
        AimTSTransformer(pretrained="base", n_iters=0).fit_transform(X)
        rows.append(
            {
                "attempt": attempt,
                "series": 1000,
                "length": 500,
                "fit_transform_s": time.perf_counter() - start,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
        print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(SPEED_CSV, index=False)


def report():
    df = pd.read_csv(CSV)
    if SCALES_CSV.exists():
        df = pd.concat([df, pd.read_csv(SCALES_CSV)])
    lines = [
        '# The shipped encoder `pretrained="base"` on its transfer-validation group',
        "",
        f"{stamp()} Sets never pretrained on: {', '.join(TRANSFER_VALIDATION)}. "
        "Mean accuracy over seeds 0-2 (label subsets and encoder seeds); the zero-shot "
        "encoder has no randomness, so its seeds differ only in the label subsets.",
        "",
    ]
    for fraction in FRACTIONS:
        sub = df[df.fraction == fraction]
        table = sub.pivot_table(
            index="dataset", columns="method", values="accuracy", aggfunc="mean"
        )
        table = table[[m for m in METHODS if m in table]]
        table.loc["**mean**"] = table.mean()
        table.index.name = "dataset"
        lines += [f"## {fraction:.0%} of the training labels", "", *md_table(table), ""]
        if fraction == 1.0:
            plot_bars(
                table.drop(index="**mean**"),
                RESULTS / "pretrained_transfer.png",
                "pretrained base vs MiniRocket and AimTS from scratch (all labels)",
            )
        if SCALED in table:
            d = table[SCALED] - table[METHODS[0]]
            d = d.drop(index="**mean**")
            lines += [
                f"{SCALED} against the default zero-shot readout: better on "
                f"{int((d > 0.005).sum())}, within 0.005 on {int((d.abs() <= 0.005).sum())}, "
                f"worse on {int((d < -0.005).sum())} sets.",
                "",
            ]
        per_seed = sub.groupby(["method", "seed"]).accuracy.mean().groupby("method").std()
        lines += [
            "Std of the mean over seeds: "
            + ", ".join(f"{m} {per_seed.get(m, np.nan) * 100:.1f} points" for m in table.columns),
            "",
        ]
    times = df.groupby("method").fit_s.median()
    lines += [
        "Median fit (+ transform of train and test for the transformers) per set (s): "
        + ", ".join(f"{m} {t:.1f}" for m, t in times.items()),
        "",
    ]
    if SPEED_CSV.exists():
        s = pd.read_csv(SPEED_CSV)
        lines += [
            'Zero-shot `AimTSTransformer(pretrained="base", n_iters=0).fit_transform` of '
            "1,000 series of length 500 (fresh process, 2 threads): "
            + ", ".join(f"{v:.2f} s" for v in s.fit_transform_s)
            + f" (first call includes reading the file); peak RSS {s.peak_rss_mb.max():.0f} MB.",
            "",
        ]
    (RESULTS / "pretrained_transfer.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--scales", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--beyond", action="store_true",
                        help="frozen vs continued pretraining vs fine-tuning (its own CSV)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (--beyond)")
    args = parser.parse_args()
    if args.beyond:  # its own CSV and report only
        if not args.report:
            run_beyond(args.data, args.threads)
        report_beyond()
    else:
        if args.speed:
            speed()
        elif args.scales:
            run_scales(args.data)
        elif not args.report:
            run_all(args.data)
        report()
