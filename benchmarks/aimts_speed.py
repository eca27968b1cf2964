"""AimTS step cost and the quality it buys: the paper's step vs the default bounded step.

    python benchmarks/aimts_speed.py --part steps     # seconds per training step, T = 128/500/1500
    python benchmarks/aimts_speed.py --part quality   # linear-probe accuracy, same sets, per config
    python benchmarks/aimts_speed.py --part memory    # peak memory of default fits, largest sets
    python benchmarks/aimts_speed.py --report         # tables from the saved CSVs

The paper's step augments each series five ways in each view, over its whole length, and
trains a standard ResNet-18 (width 64) on the images. The default step draws two of the
five augmentations per step (the same two in both views), crops the series of the
prototype contrast to a random window of at most 256 steps, and uses a ResNet-18 of width
32 (the image branch still sees the whole series). ``quality`` fits
``Pipeline([AimTSTransformer(**config), LogisticRegression()])`` on dev sets outside the
pretrained encoder's transfer-validation group, one fresh process per fit, one at a time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _runner
import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, load, make, md_table, peak_rss_mb, stamp

PAPER = {"n_augmentations": 5, "crop_length": None, "image_width": 64}
CONFIGS = {
    "paper step, 30 steps": PAPER,
    "default step, 30 steps": {},
    "default step, 100 steps": {"n_iters": 100},
}
# dev sets outside the transfer-validation group of the pretrained base (see pretrain_base.py)
QUALITY_SETS = [
    "ArrowHead",
    "OSULeaf",
    "SyntheticControl",
    "MiddlePhalanxTW",
    "DistalPhalanxTW",
    "CricketX",
    "Epilepsy",
    "NATOPS",
]
SEEDS = [0, 1]
# the dev suite's largest sets: most series, longest series, most channels
MEMORY_SETS = [
    "Crop",
    "ElectricDevices",
    "FordA",
    "PigAirwayPressure",
    "EOGHorizontalSignal",
    "UWaveGestureLibrary",
    "NATOPS",
]


def memory_job(job):
    from skcontrast import AimTSTransformer

    name, data_dir = job
    (X, _), _ = load(name, Path(data_dir))
    start = time.perf_counter()
    AimTSTransformer(random_state=0).fit(X).transform(X)
    return {
        "dataset": name,
        "shape": "x".join(map(str, X.shape)),
        "fit_transform_s": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
    }


def memory_part(data_dir):
    path = RESULTS / "aimts_speed_memory.csv"
    path.unlink(missing_ok=True)  # a new measurement (timings are not resumed)
    jobs = [(name, str(data_dir)) for name in MEMORY_SETS]
    _runner.run(memory_job, jobs, path, show=lambda _, rows: print(rows, flush=True))


def step_seconds(T, params, repeats=3):
    import torch

    from skcontrast import AimTSTransformer, _training
    from skcontrast._aimts_loss import aimts_loss

    X = np.random.default_rng(0).standard_normal((64, 1, T)).astype("float32")
    est = make(AimTSTransformer, device="cpu", random_state=0, **params)
    network = est._build_network(1, T)
    optimizer = est._make_optimizer(network)
    images = est._image_context(network, [X], "cpu")

    # a step after the warm-up: the full objective
    at_step = _training.Step(100, 4, 0, np.arange(16), generator=torch.Generator().manual_seed(0))

    x = torch.from_numpy(X[:16])

    def step():
        optimizer.zero_grad()
        sum(aimts_loss(est, network, x, at_step, images).values()).backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def steps_part():
    import torch

    torch.set_num_threads(2)
    rows = []
    for T in (128, 500, 1500):
        paper, default = step_seconds(T, PAPER), step_seconds(T, {})
        rows.append(
            {
                "length": T,
                "paper_step_s": paper,
                "default_step_s": default,
                "speedup": paper / default,
            }
        )
        print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(RESULTS / "aimts_speed_steps.csv", index=False)


def quality_job(job):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from skcontrast import AimTSTransformer

    name, config, seed, data_dir = job
    (X, y), (X_test, y_test) = load(name, Path(data_dir))
    params = {**({"max_channels": 4} if X.shape[1] > 4 else {}), **CONFIGS[config]}
    rep = make(AimTSTransformer, random_state=seed, device="cpu", **params)
    pipe = Pipeline([("rep", rep), ("clf", LogisticRegression(max_iter=1000))])
    start = time.perf_counter()
    pipe.fit(X, y)
    return {
        "dataset": name,
        "config": config,
        "seed": seed,
        "accuracy": float(np.mean(pipe.predict(X_test) == y_test)),
        "fit_s": time.perf_counter() - start,
        "final_loss": rep.loss_history_[-1],
        "peak_rss_mb": peak_rss_mb(),
    }


def quality_part(data_dir):
    path = RESULTS / "aimts_speed_quality.csv"
    wanted = [(n, c, s) for s in SEEDS for n in QUALITY_SETS for c in CONFIGS]
    todo = _runner.pending(path, ["dataset", "config", "seed"], wanted)
    jobs = [(name, config, seed, str(data_dir)) for name, config, seed in todo]
    _runner.run(quality_job, jobs, path, show=lambda _, rows: print(rows, flush=True))


def report():
    lines = [
        "# AimTS: the cost of a training step and what it buys",
        "",
        f"{stamp()}",
        "",
    ]
    steps = RESULTS / "aimts_speed_steps.csv"
    if steps.exists():
        t = pd.read_csv(steps).set_index("length")
        t = pd.DataFrame({"paper step (s)": t.paper_step_s.map("{:.3f}".format),
                          "default step (s)": t.default_step_s.map("{:.3f}".format),
                          "speed-up": t.speedup.map("{:.1f}x".format)})  # fmt: skip
        lines += ["Seconds per training step after the warm-up (16 univariate series, default "
                  "architecture, 2 threads, quiet machine):", "", *md_table(t, "{}"),
                  ""]  # fmt: skip
    quality = RESULTS / "aimts_speed_quality.csv"
    if quality.exists():
        q = pd.read_csv(quality)
        acc = q.pivot_table(index="dataset", columns="config", values="accuracy", aggfunc="mean")
        acc = acc.reindex(columns=list(CONFIGS))
        acc.loc["**mean**"] = acc.mean()
        table = acc.map("{:.3f}".format)
        table.loc["median fit (s)"] = q.groupby("config").fit_s.median().map("{:.1f}".format)
        lines += [f"Linear-probe accuracy (mean over seeds {sorted(q.seed.unique())}), "
                  "one fresh process per fit:", "", *md_table(table, "{}"), ""]  # fmt: skip
    memory = RESULTS / "aimts_speed_memory.csv"
    if memory.exists():
        m = pd.read_csv(memory).set_index("dataset")
        m = pd.DataFrame({"n x channels x length": m["shape"],
                          "fit + transform (s)": m.fit_transform_s.map("{:.1f}".format),
                          "peak RSS (MB)": m.peak_rss_mb.map("{:.0f}".format)})  # fmt: skip
        lines += ["Peak memory (RSS of a fresh process) of a default `AimTSTransformer("
                  "random_state=0).fit(X_train).transform(X_train)` on the dev suite's largest "
                  "sets:", "", *md_table(m, "{}"), ""]  # fmt: skip
    (RESULTS / "aimts_speed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["steps", "quality", "memory"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.part == "steps":
        steps_part()
    elif args.part == "quality":
        quality_part(args.data)
    elif args.part == "memory":
        memory_part(args.data)
    report()
