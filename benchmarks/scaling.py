"""Scaling: fit and transform cost at 1x, 4x and 16x the data (the training set replicated).

    python benchmarks/scaling.py [--data-dir PATH] [--estimator btsf|aimts]

PenDigits (7,494 x 2 x 8), ElectricDevices (8,926 x 1 x 96) and FordA (3,601 x 1 x 500) from
``../shared/data``. Fit and transform run in separate fresh processes, so each peak RSS is that
call's own: transform streams the series in ``inference_batch_size`` chunks, so its peak minus
the input and output arrays (which a caller holds anyway) should stay flat as the data grows.
A small model configuration keeps the 16x runs within minutes on 2 cores: this measures how
cost grows, not accuracy. Writes ``results/scaling.md``, ``.csv`` and ``.png``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _runner
import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, peak_rss_mb, stamp

DATASETS = {"PenDigits": "uea", "ElectricDevices": "ucr", "FordA": "ucr"}
FACTORS = [1, 4, 16]
SMALL = {
    "btsf": dict(hidden_channels=16, repr_dims=16, temporal_depth=3, spectral_depth=1,
                 temporal_size=8, spectral_size=8, rank=4, n_iters=30, random_state=0),
    "aimts": dict(hidden_channels=16, repr_dims=32, depth=3, image_width=8, image_size=16,
                  n_iters=30, random_state=0),
}  # fmt: skip


def load_train(name, data_dir: Path) -> np.ndarray:
    if DATASETS[name] == "ucr":
        table = np.loadtxt(data_dir / "classification" / "ucr" / name / f"{name}_TRAIN.tsv")
        return table[:, None, 1:].astype(np.float32)
    from sktime.datasets import load_from_tsfile

    X, _ = load_from_tsfile(str(data_dir / "classification" / "uea" / name / f"{name}_TRAIN.ts"),
                            return_data_type="numpy3D")  # fmt: skip
    return X.astype(np.float32)


def estimator_class(kind):
    from skcontrast import AimTSTransformer, BTSFTransformer

    return {"btsf": BTSFTransformer, "aimts": AimTSTransformer}[kind]


def job(args):
    """One fit or one transform, in its own process."""
    kind, name, factor, step, data_dir, weights = args
    X = np.concatenate([load_train(name, Path(data_dir))] * factor)
    before = peak_rss_mb()
    start = time.perf_counter()
    if step == "fit":
        cls = estimator_class(kind)
        est = cls(**cls._split_options(SMALL[kind])).fit(X)  # options by name
        est.save_weights(weights)
        out_mb = 0.0
    else:
        est = estimator_class(kind).load_weights(weights)
        out_mb = est.transform(X).to_numpy().nbytes / 2**20
    seconds = time.perf_counter() - start
    return {
        "estimator": kind, "dataset": name, "factor": factor, "step": step, "n_series": len(X),
        "seconds": seconds, "series_per_s": len(X) / seconds, "input_mb": X.nbytes / 2**20,
        "output_mb": out_mb, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": before,
    }  # fmt: skip


def write(df, kind):
    df.to_csv(RESULTS / f"scaling_{kind}.csv", index=False)
    df = df.assign(overhead_mb=df.peak_rss_mb - df.input_mb - df.output_mb)
    lines = [f"# Scaling of {kind.upper()} fit and transform with the data size", "",
             f"{stamp()} Training sets replicated 1x/4x/16x; small model config "
             f"{SMALL[kind]}; fit and transform each in a fresh process. 'overhead' = peak RSS "
             "minus the input and output arrays.", "",
             "| dataset | factor | series | fit s | fit series/s | fit peak MB | transform s | "
             "transform series/s | transform peak MB | input MB | transform overhead MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (name, factor), g in df.groupby(["dataset", "factor"], sort=False):
        fit, tr = g[g.step == "fit"].iloc[0], g[g.step == "transform"].iloc[0]
        lines.append(f"| {name} | {factor}x | {fit.n_series} | {fit.seconds:.1f} | "
                     f"{fit.series_per_s:.0f} | {fit.peak_rss_mb:.0f} | {tr.seconds:.1f} | "
                     f"{tr.series_per_s:.0f} | {tr.peak_rss_mb:.0f} | {tr.input_mb:.0f} | "
                     f"{tr.overhead_mb:.0f} |")  # fmt: skip
    (RESULTS / f"scaling_{kind}.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, g in df.groupby("dataset", sort=False):
        for step, style in (("fit", "--"), ("transform", "-")):
            s = g[g.step == step]
            axes[0].plot(s.n_series, s.seconds, style, marker="o", label=f"{name} {step}")
        t = g[g.step == "transform"]
        axes[1].plot(t.n_series, t.overhead_mb, marker="o", label=name)
    for ax, title, ylabel in ((axes[0], "time vs series", "seconds"),
                              (axes[1], "transform memory beyond input/output", "MB")):  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("series")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=7)
    axes[0].set_yscale("log")
    fig.tight_layout()
    fig.savefig(RESULTS / f"scaling_{kind}.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--estimator", choices=list(SMALL), default="btsf")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"{args.data_dir} not found: pass --data-dir")
    tmp = Path(tempfile.mkdtemp())
    jobs = []
    for name in DATASETS:
        for factor in FACTORS:
            weights = str(tmp / f"{name}_{factor}.pt")
            jobs += [
                (args.estimator, name, factor, step, str(args.data_dir), weights)
                for step in ("fit", "transform")
            ]
    def show(_, rows):
        for row in rows:
            print(f"{row['dataset']:>16} {row['factor']:>2}x {row['step']:>9}: "
                  f"{row['seconds']:6.1f} s {row['series_per_s']:7.0f} series/s "
                  f"peak {row['peak_rss_mb']:6.0f} MB", flush=True)  # fmt: skip

    write(pd.DataFrame(_runner.run(job, jobs, show=show)), args.estimator)


if __name__ == "__main__":
    main()
