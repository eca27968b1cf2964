"""AimTS benchmark: representations, transfer from a corpus, few-shot, ablation.

    python benchmarks/aimts.py --part main       # AimTS + LogisticRegression on the ten sets
    python benchmarks/aimts.py --part transfer   # pretrain on a corpus, reuse on held-out sets
    python benchmarks/aimts.py --part ablation   # without image / intra / prototypes
    python benchmarks/aimts.py --replot          # tables and plots from the saved CSVs

Parts:

1. ``main``: default ``Pipeline([AimTSTransformer(), LogisticRegression()])`` on the ten
   datasets of ``classification.py``, beside BTSF and MiniRocket from that benchmark's CSV
   (same machine). Sets with more than 4 channels use ``max_channels=4`` (see the table).
2. ``transfer``: ONE corpus of six training sets (ArrowHead, OSULeaf, Trace, BasicMotions,
   Epilepsy, NATOPS; mixed lengths and channel counts) pretrains an ``AimTSTransformer``;
   four held-out sets never seen in pretraining (GunPoint, ItalyPowerDemand, ECG200, CBF)
   then get: a linear probe on the pretrained encoder (``n_iters=0``), ``AimTSClassifier``
   fine-tuned from it, and ``AimTSClassifier`` from scratch, with 100 %, 25 % and 10 % of
   their training labels (stratified; the probe's encoder sees no labels at all).
3. ``ablation``: the full objective vs no image branch, no intra loss, no prototypes.

Every fit runs in a fresh process, one at a time; times are for this machine, quiet.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _runner
import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, load, make, md_table, peak_rss_mb, stamp

# the ten sets of the earlier classification table (its published AimTS numbers)
DATASETS = ["GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "BasicMotions",
            "ECG200", "CBF", "Trace", "Epilepsy", "NATOPS"]  # fmt: skip

CORPUS = ["ArrowHead", "OSULeaf", "Trace", "BasicMotions", "Epilepsy", "NATOPS"]
HELD_OUT = ["GunPoint", "ItalyPowerDemand", "ECG200", "CBF"]
FRACTIONS = [1.0, 0.25, 0.1]
ABLATION_DATASETS = ["GunPoint", "ItalyPowerDemand", "ECG200"]
ABLATIONS = {
    "full": {},
    "no image branch": {"image": None},
    "no intra loss": {"intra_weight": 0.0},
    "no prototypes": {"use_prototypes": False},
}
PRETRAIN = {"n_iters": 300, "max_channels": 4, "random_state": 0}


def budget_params(X) -> dict:
    return {"max_channels": 4} if X.shape[1] > 4 else {}


def probe_job(job):
    """AimTSTransformer (+ params) -> LogisticRegression on one dataset."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from variants import AimTSVariant  # use_prototypes, an ablation

    from skcontrast import AimTSTransformer

    name, variant, params, data_dir = job
    (X, y), (X_test, y_test) = load(name, Path(data_dir))
    params = {**budget_params(X), **params}
    cls = AimTSVariant if "use_prototypes" in params else AimTSTransformer
    pipe = Pipeline([("rep", make(cls, random_state=0, **params)), ("clf", LogisticRegression())])
    start = time.perf_counter()
    pipe.fit(X, y)
    fit = time.perf_counter() - start
    return [{
        "dataset": name, "variant": variant, "shape": "x".join(map(str, X.shape)),
        "params": str(params), "accuracy": float(np.mean(pipe.predict(X_test) == y_test)),
        "fit_s": fit, "train_steps": pipe.named_steps["rep"].n_iters_, "peak_rss_mb": peak_rss_mb(),
    }]  # fmt: skip


def subset(y, fraction, seed=0):
    """Stratified indices of ``fraction`` of the labels, at least one per class."""
    if fraction >= 1:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        keep.extend(rng.choice(idx, max(1, round(fraction * len(idx))), replace=False))
    return np.sort(keep)


def transfer_job(job):
    """Pretrain once on the corpus, then probe / fine-tune / train from scratch per held-out set."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from skcontrast import AimTSClassifier, AimTSTransformer

    data_dir = Path(job)
    corpus = [load(name, data_dir)[0][0] for name in CORPUS]
    start = time.perf_counter()
    encoder = make(AimTSTransformer, **PRETRAIN).fit(corpus)
    pretrain_s = time.perf_counter() - start
    path = Path(tempfile.mkdtemp()) / "aimts_corpus.pt"
    encoder.save_weights(path)
    rows = [{"dataset": "corpus", "method": "pretrain", "fraction": np.nan, "accuracy": np.nan,
             "fit_s": pretrain_s, "n_series": sum(len(p) for p in corpus)}]  # fmt: skip
    print(f"pretrained on {rows[0]['n_series']} series in {pretrain_s:.0f} s", flush=True)
    for name in HELD_OUT:
        (X, y), (X_test, y_test) = load(name, data_dir)
        for fraction in FRACTIONS:
            idx = subset(y, fraction)
            models = {
                "pretrained + linear probe": Pipeline([
                    ("rep", AimTSTransformer(pretrained=str(path), n_iters=0, random_state=0)),
                    ("clf", LogisticRegression()),
                ]),
                "pretrained + fine-tuned": AimTSClassifier(pretrained=str(path), random_state=0),
                "from scratch (fine-tuned net)": AimTSClassifier(random_state=0),
            }  # fmt: skip
            for method, model in models.items():
                start = time.perf_counter()
                model.fit(X[idx], y[idx])
                rows.append({
                    "dataset": name, "method": method, "fraction": fraction, "n_labels": len(idx),
                    "accuracy": float(np.mean(model.predict(X_test) == y_test)),
                    "fit_s": time.perf_counter() - start,
                })  # fmt: skip
                r = rows[-1]
                print(f"{name:>18} {fraction:5.2f} {method:>30}: acc {r['accuracy']:.3f} "
                      f"fit {r['fit_s']:5.1f} s", flush=True)  # fmt: skip
    return rows


def _show(job, rows):
    for r in rows:
        if "variant" in r:
            print(f"{r['dataset']:>18} {r['variant']:>16}: acc {r['accuracy']:.3f} fit "
                  f"{r['fit_s']:6.1f} s peak {r['peak_rss_mb']:6.0f} MB", flush=True)  # fmt: skip


def run(worker, jobs):
    return pd.DataFrame(_runner.run(worker, jobs, show=_show))


def plot_bars(table: pd.DataFrame, path: Path, title: str, ylabel="test accuracy"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(table.index))
    width = 0.8 / len(table.columns)
    for i, col in enumerate(table.columns):
        ax.bar(x + (i - (len(table.columns) - 1) / 2) * width, table[col], width, label=col)
    ax.set_xticks(x, table.index, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.02), ncol=min(4, len(table.columns)),
              fontsize=8, frameon=False)  # fmt: skip
    fig.suptitle(title, y=0.99)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_main(df):
    df.to_csv(RESULTS / "aimts_classification.csv", index=False)
    # the classification benchmark's seed 0, as AimTS's random_state=0 here
    others = pd.read_csv(RESULTS / "classification.csv").query("seed == 0")
    others = others.pivot(index="dataset", columns="method", values="accuracy")
    order = [d for d in DATASETS if d in set(df.dataset)]
    table = pd.DataFrame({
        "AimTS": df.set_index("dataset").loc[order, "accuracy"],
        "BTSF": others.reindex(order)["BTSF"],
        "MiniRocket": others.reindex(order)["MiniRocket"],
    })  # fmt: skip
    table.index.name = "dataset"
    info = df.set_index("dataset").loc[order]
    lines = [
        "# AimTS + LogisticRegression beside BTSF and MiniRocket",
        "",
        f"{stamp()} Default AimTSTransformer (30 steps, batch 16, full "
        "architecture) + default LogisticRegression; BTSF and MiniRocket from "
        "classification.csv (same machine). Official splits, random_state=0.",
        "",
    ]
    lines += md_table(table)
    lines += [f"| **mean** | **{table['AimTS'].mean():.3f}** | {table['BTSF'].mean():.3f} | "
              f"{table['MiniRocket'].mean():.3f} |", "", "| dataset | train shape | AimTS fit s | "
              "peak MB | non-default |", "|---|---|---|---|---|"]  # fmt: skip
    for name, r in info.iterrows():
        lines.append(
            f"| {name} | {r['shape']} | {r.fit_s:.1f} | {r.peak_rss_mb:.0f} | {r['params']} |"
        )
    (RESULTS / "aimts_classification.md").write_text("\n".join(lines) + "\n")
    plot_bars(
        table, RESULTS / "aimts_classification.png", "AimTS vs BTSF vs MiniRocket (official splits)"
    )


def write_transfer(df):
    df.to_csv(RESULTS / "aimts_transfer.csv", index=False)
    pre = df[df.method == "pretrain"].iloc[0]
    runs = df[df.method != "pretrain"]
    lines = ["# AimTS: pretrain on a corpus, reuse on held-out datasets", "",
             f"{stamp()} Corpus: {', '.join(CORPUS)} ({int(pre.n_series)} training "
             f"series of mixed length and channel count), AimTSTransformer({PRETRAIN}), "
             f"{pre.fit_s:.0f} s. Held-out sets never seen in pretraining; fine-tuning with "
             "AimTSClassifier defaults (100 steps, AdamW lr 1e-4 encoder, 1e-3 head); label "
             "fractions stratified.", ""]  # fmt: skip
    for fraction in FRACTIONS:
        t = runs[runs.fraction == fraction].pivot(
            index="dataset", columns="method", values="accuracy"
        )
        t = t.reindex(HELD_OUT)
        t.loc["**mean**"] = t.mean()
        lines += [f"## {int(fraction * 100)} % of the training labels", ""] + md_table(t) + [""]
    (RESULTS / "aimts_transfer.md").write_text("\n".join(lines) + "\n")
    means = runs.pivot_table(index="fraction", columns="method", values="accuracy", aggfunc="mean")
    means.index = [f"{int(f * 100)} % labels" for f in means.index]
    plot_bars(means.iloc[::-1], RESULTS / "aimts_transfer.png",
              "Held-out sets (mean of 4): pretrained on a corpus vs from scratch")  # fmt: skip


def write_ablation(df):
    df.to_csv(RESULTS / "aimts_ablation.csv", index=False)
    t = df.pivot(index="variant", columns="dataset", values="accuracy").reindex(list(ABLATIONS))
    t["mean"] = t.mean(axis=1)
    t["mean fit s"] = df.pivot(index="variant", columns="dataset", values="fit_s").mean(axis=1)
    t.index.name = "variant"
    lines = ["# AimTS ablation", "", f"{stamp()} Default AimTSTransformer + "
             "LogisticRegression, one component removed at a time.", ""]  # fmt: skip
    lines += md_table(t, "{:.3f}")
    (RESULTS / "aimts_ablation.md").write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["main", "transfer", "ablation"], nargs="*", default=[])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--replot", action="store_true")
    args = parser.parse_args()
    if args.replot:
        for name, writer in [("aimts_classification", write_main),
                             ("aimts_transfer", write_transfer),
                             ("aimts_ablation", write_ablation)]:  # fmt: skip
            if (RESULTS / f"{name}.csv").exists():
                writer(pd.read_csv(RESULTS / f"{name}.csv"))
        return
    if not args.data_dir.is_dir():
        raise SystemExit(
            f"{args.data_dir} not found: pass --data-dir (see ../shared/data/README.md)"
        )
    if "main" in args.part:
        write_main(run(probe_job, [(d, "default", {}, str(args.data_dir)) for d in DATASETS]))
    if "transfer" in args.part:
        write_transfer(run(transfer_job, [str(args.data_dir)]))
    if "ablation" in args.part:
        jobs = [
            (d, v, p, str(args.data_dir)) for d in ABLATION_DATASETS for v, p in ABLATIONS.items()
        ]
        write_ablation(run(probe_job, jobs))


if __name__ == "__main__":
    main()
