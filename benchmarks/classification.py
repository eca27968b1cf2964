"""Classification benchmark: BTSF (trained and untrained) + LogisticRegression vs MiniRocket.

The dev suite: every classification set of ``../shared/data`` (33 UCR, 5 UEA) and the five
bundled with sktime, official train/test splits, several seeds. Per dataset and seed: the
default ``Pipeline([BTSFTransformer(random_state=seed), LogisticRegression()])``, the same
encoder untrained (``n_iters=0``, its seeded initialisation) and ``MiniRocket *
RidgeClassifierCV``; accuracy, fit time (encoder and classifier) and the peak resident
memory the fit added. Unequal lengths go to BTSF as they are and are NaN-padded at the end
for MiniRocket, which needs one length; missing values are linearly interpolated for
MiniRocket only (BTSF takes NaN).

Each dataset runs in its own process, one after another; rows are appended to
``results/classification.csv`` as they finish and a rerun skips those already there (so a
killed run resumes). ``--report`` (also run at the end) writes ``classification.md`` (per
dataset, mean, wins/ties/losses, Wilcoxon signed-rank p-values) and ``classification.png``.
When the BTSF defaults change, the previous default's BTSF rows move to
``results/classification_b16.csv`` (``PREVIOUS``) and the report pairs them with the new.

    python benchmarks/classification.py                 # the whole suite, seeds 0 1 2
    python benchmarks/classification.py --quick         # a 12-set subset for iteration
    python benchmarks/classification.py --datasets CBF ECG200 --seeds 0
    python benchmarks/classification.py --report

Time it on a quiet machine: a concurrent job on the same cores slows fits several-fold.
"""

from __future__ import annotations

import argparse
import threading
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
from btsf_recipe import QUICK

METHODS = ("BTSF", "BTSF untrained", "MiniRocket")
CSV = RESULTS / "classification.csv"
# the previous default's BTSF rows, for the paired comparison in the report
PREVIOUS = RESULTS / "classification_b16.csv"
PREVIOUS_LABEL = "`batch_size=16`, 200 steps"


class PeakMemory:
    """Peak resident memory (MB) above the level at entry, sampled every 5 ms."""

    def __enter__(self):
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _rss() -> float:
        with open("/proc/self/statm") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.added = self.peak - self.base


def for_minirocket(X, length=None):
    """One length, no NaN: pad unequal series (to ``length``) with their last value,
    interpolate gaps."""
    if not isinstance(X, np.ndarray):
        length = length or max(len(f) for f in X)
        X = np.stack(
            [np.pad(f.to_numpy().T, ((0, 0), (0, length - len(f))), mode="edge") for f in X]
        )
    X = np.asarray(X, dtype=np.float64)
    if np.isnan(X).any():  # each channel of each series along time
        filled = pd.DataFrame(X.reshape(-1, X.shape[-1]).T).interpolate(limit_direction="both")
        X = filled.fillna(0).to_numpy().T.reshape(X.shape)
    if X.shape[-1] < 9:  # MiniRocket's kernels need 9 points
        X = np.pad(X, ((0, 0), (0, 0), (0, 9 - X.shape[-1])), mode="edge")
    return X


def make_model(method: str, seed: int, n_channels: int):
    from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
    from sklearn.pipeline import Pipeline

    if method == "MiniRocket":
        from sktime.transformations.panel.rocket import MiniRocket, MiniRocketMultivariate

        rocket = MiniRocket if n_channels == 1 else MiniRocketMultivariate
        # sktime's own composition: other sktime transformers break inside a scikit-learn
        # 1.9 Pipeline (sktime issues #10725, #11173)
        return rocket(random_state=seed) * RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
    from skcontrast import BTSFTransformer

    params = {"n_iters": 0} if method == "BTSF untrained" else {}
    return Pipeline([
        ("rep", make(BTSFTransformer, random_state=seed, **params)),
        ("clf", LogisticRegression()),  # default, as a user would
    ])  # fmt: skip


def run_dataset(job):
    """Every method and seed on one dataset (in its own process); rows as dicts."""
    import torch

    name, seeds, todo = job
    (X_train, y_train), (X_test, y_test) = load(name)
    n_channels = X_train.shape[1] if isinstance(X_train, np.ndarray) else X_train[0].shape[1]
    rows = []
    # MiniRocket last: once numba's thread pool exists in a process, torch runs several
    # times slower in it (GunPoint: 38 s -> 492 s for the same fit)
    for method in METHODS:
        for seed in seeds:
            if (method, seed) not in todo:
                continue
            Xa, Xb = X_train, X_test
            if method == "MiniRocket":
                length = (
                    max(len(f) for f in [*X_train, *X_test]) if isinstance(X_train, list) else None
                )
                Xa, Xb = for_minirocket(X_train, length), for_minirocket(X_test, length)
            model = make_model(method, seed, n_channels)
            with PeakMemory() as memory:
                start = time.perf_counter()
                model.fit(Xa, y_train)
                fit_s = time.perf_counter() - start
            start = time.perf_counter()
            accuracy = float(np.mean(np.asarray(model.predict(Xb)) == y_test))
            rep = model.named_steps["rep"] if hasattr(model, "named_steps") else None
            rows.append(dict(
                dataset=name, method=method, seed=seed, shape=shape_of(X_train),
                n_test=len(y_test), accuracy=accuracy, fit_s=fit_s,
                predict_s=time.perf_counter() - start, fit_peak_mb=memory.added,
                steps=getattr(rep, "n_iters_", np.nan), threads=torch.get_num_threads(),
            ))  # fmt: skip
            print(f"{name:>30} {method:>15} seed {seed}: acc {accuracy:.3f} fit {fit_s:6.1f} s "
                  f"+{memory.added:5.0f} MB", flush=True)  # fmt: skip
    return rows


def run(datasets, seeds):
    wanted = [(name, m, s) for name in datasets for m in METHODS for s in seeds]
    todo = _runner.pending(CSV, ["dataset", "method", "seed"], wanted)
    jobs = []
    for name in dict.fromkeys(n for n, _, _ in todo):  # one job per set, its runs to do
        jobs.append((name, seeds, {(m, s) for n, m, s in todo if n == name}))
    _runner.run(run_dataset, jobs, CSV)


def previous_default_lines(df) -> list[str]:
    """The default's BTSF rows paired with the previous default's (PREVIOUS) on the same
    (dataset, seed): what the last change of defaults did, as Markdown lines."""
    if not PREVIOUS.exists():
        return []
    prev = pd.read_csv(PREVIOUS)
    pairs = df[df.method == "BTSF"].merge(
        prev[prev.method == "BTSF"], on=["dataset", "seed"], suffixes=("", "_prev")
    )
    if pairs.empty:
        return []
    per_set = pairs.groupby("dataset")[["accuracy", "accuracy_prev", "fit_s", "fit_s_prev"]].mean()
    new, old = per_set.accuracy, per_set.accuracy_prev
    return [
        "",
        f"## Against the previous default ({PREVIOUS_LABEL})",
        "",
        f"Its BTSF rows are in `{PREVIOUS.name}`; paired on the (dataset, seed) runs both have.",
        "",
        "| sets | runs | default | previous | change (points) | W/T/L | Wilcoxon p "
        "| mean fit s | previous mean fit s | slowest fit s | previous slowest fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {len(per_set)} | {len(pairs)} | {new.mean():.3f} | {old.mean():.3f} | "
        f"{100 * (new.mean() - old.mean()):+.1f} | {wtl(new, old)} | {wilcoxon_p(new, old):.2g} "
        f"| {per_set.fit_s.mean():.1f} | {per_set.fit_s_prev.mean():.1f} "
        f"| {pairs.fit_s.max():.1f} | {pairs.fit_s_prev.max():.1f} |",
    ]


def report():
    df = pd.read_csv(CSV)
    # only the (dataset, seed) runs every method finished: the methods are compared on the
    # same seeds of each set (a run cut short leaves some sets with fewer seeds)
    complete = df.groupby(["dataset", "seed"]).method.transform("nunique") == len(METHODS)
    df = df[complete]
    acc = df.pivot_table(index="dataset", columns="method", values="accuracy", aggfunc="mean")
    std = df.pivot_table(index="dataset", columns="method", values="accuracy", aggfunc="std")
    std = std.reindex(index=acc.index, columns=list(METHODS))  # NaN where one seed ran
    fit = df.pivot_table(index="dataset", columns="method", values="fit_s", aggfunc="mean")
    mem = df.pivot_table(index="dataset", columns="method", values="fit_peak_mb", aggfunc="max")
    acc = acc.dropna()
    order = [d for d in dev_suite(DEFAULT_DATA) if d in acc.index] + [
        d for d in acc.index if d not in dev_suite(DEFAULT_DATA)
    ]
    acc = acc.loc[order]
    shapes = df.groupby("dataset")["shape"].first()
    seeds = sorted(df.seed.unique())
    # the spread over seeds of the mean over the datasets run with every seed
    n_seeds = df.groupby("dataset").seed.nunique()
    all_seeds = [d for d in order if n_seeds[d] == len(seeds)]
    per_seed = df[df.dataset.isin(all_seeds)].pivot_table(
        index=["seed", "dataset"], columns="method", values="accuracy"
    )
    seed_means = per_seed.groupby("seed").mean()
    b, u, m = acc["BTSF"], acc["BTSF untrained"], acc["MiniRocket"]
    listed = ", ".join(map(str, seeds))
    if len(seeds) == 1:
        seeds_run = f"seed {seeds[0]}"
    elif len(all_seeds) == len(order):
        seeds_run = f"seeds {listed} on every one"
    else:
        fewer = [d for d in order if d not in all_seeds]
        seeds_run = (
            f"seeds {listed} on {len(all_seeds)} of them; on the other {len(fewer)} "
            f"({', '.join(fewer)}) the seeds that every method finished"
        )
    lines = [
        "# Classification: BTSF + LogisticRegression vs its untrained encoder and MiniRocket",
        "",
        f"{stamp()} Official train/test splits of {len(order)} datasets; "
        f"{seeds_run}; accuracy is the mean over the seeds run (± its standard deviation); "
        "fit time includes the classifier; 'peak MB' is the most resident memory a fit added "
        "to its process. BTSF: `Pipeline([BTSFTransformer(random_state=seed), "
        "LogisticRegression()])`; untrained: the same with `n_iters=0`; MiniRocket: "
        "`MiniRocket(random_state=seed) * RidgeClassifierCV` (sktime).",
        "",
        "## Summary",
        "",
        "| | BTSF | BTSF untrained | MiniRocket |",
        "|---|---|---|---|",
        f"| mean accuracy | **{b.mean():.3f}** | {u.mean():.3f} | {m.mean():.3f} |",
        f"| std over seeds of the mean over the {len(all_seeds)} sets run with every seed | "
        + (
            " | ".join(f"{seed_means[c].std():.4f}" for c in METHODS)
            if len(seeds) > 1
            else "one seed | | "
        )
        + " |",
        f"| BTSF wins/ties/losses (±0.005) | | {wtl(b, u)} | {wtl(b, m)} |",
        f"| Wilcoxon signed-rank p, BTSF vs | | {wilcoxon_p(b, u):.2g} | {wilcoxon_p(b, m):.2g} |",
        f"| mean fit s | {fit['BTSF'].mean():.1f} | {fit['BTSF untrained'].mean():.1f} | "
        f"{fit['MiniRocket'].mean():.1f} |",
        "| slowest single fit s | "
        + " | ".join(f"{df.fit_s[df.method == c].max():.1f}" for c in METHODS)
        + " |",
        *previous_default_lines(df),
        "",
        "## Per dataset",
        "",
        "| dataset | train (n, channels x length) | BTSF | untrained | MiniRocket | BTSF fit s | "
        "MiniRocket fit s | BTSF peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in order:
        cells = [
            f"{acc.loc[name, c]:.3f} ± {0 if np.isnan(std.loc[name, c]) else std.loc[name, c]:.3f}"
            for c in METHODS
        ]
        lines.append(
            f"| {name} | {shapes[name]} | "
            + " | ".join(cells)
            + f" | {fit.loc[name, 'BTSF']:.1f} | {fit.loc[name, 'MiniRocket']:.1f} | "
            f"{mem.loc[name, 'BTSF']:.0f} |"
        )
    (RESULTS / "classification.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:20]))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    for ax, other, label in ((axes[0], u, "untrained encoder"), (axes[1], m, "MiniRocket")):
        ax.scatter(other, b, s=18)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax.set_xlabel(f"{label} accuracy")
        ax.set_ylabel("BTSF (trained) accuracy")
        ax.set_title(f"BTSF vs {label}: {wtl(b, other)} (W/T/L)", fontsize=10)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
    fig.suptitle(f"Dev suite ({len(order)} datasets; mean over the seeds run on each)")
    fig.tight_layout()
    fig.savefig(RESULTS / "classification.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*")
    parser.add_argument("--quick", action="store_true", help=f"the {len(QUICK)}-set subset")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--report", action="store_true", help="only rewrite table and plot")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.report:
        datasets = args.datasets or (QUICK if args.quick else dev_suite(DEFAULT_DATA))
        run(datasets, args.seeds)
    report()


if __name__ == "__main__":
    main()
