"""Data-parallel training throughput: 1 vs W processes, launched by ``torchrun``.

    python benchmarks/distributed.py [--world-sizes 1 2] [--device cpu|cuda] [--n-iters 20]

For each method (BTSF, AimTS without the image branch) and each world size, ``torchrun
--standalone --nproc-per-node=W`` runs one fit of ``--n-iters`` steps on the same global
batch of ``--batch-size`` series (split over the W processes; gloo on the CPU with one torch
thread per process, NCCL on GPUs). Throughput is training series per second: steps x global
batch / training time, where the training time is the fit time minus that of a 0-step fit
(which only encodes the panel once). Each configuration is run ``--repeats`` times and the
best is kept. Writes ``results/distributed.md`` and ``.csv``.

On a CPU machine, 1 process uses 1 thread and 2 processes use 2: the comparison is 1 vs 2
cores, minus the cost of the all-gather and the gradient all-reduce.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CONFIGS = {
    "btsf": dict(hidden_channels=32, repr_dims=32, temporal_depth=3, spectral_depth=1,
                 temporal_size=8, spectral_size=8, rank=4, n_loops=1),
    "aimts": dict(hidden_channels=32, repr_dims=64, depth=3, projection_dims=32, image=None,
                  swa=False),
}  # fmt: skip


def worker(args):
    """One rank (run by torchrun): fit, time, and rank 0 writes a json line."""
    import torch
    from _common import make

    from skcontrast import AimTSTransformer, BTSFTransformer, _distributed

    torch.set_num_threads(1) if args.device == "cpu" else None
    _distributed.init_from_env()
    rng = np.random.default_rng(0)
    t = np.linspace(0, 8 * np.pi, args.length)
    n = args.n_series
    X = (np.sin(rng.uniform(0.5, 3, (n, 1, 1)) * t)
         + 0.3 * rng.standard_normal((n, 1, args.length))).astype(np.float32)  # fmt: skip
    cls = BTSFTransformer if args.method == "btsf" else AimTSTransformer
    common = dict(
        batch_size=args.batch_size, device=args.device, random_state=0, **CONFIGS[args.method]
    )
    make(cls, n_iters=1, **common).fit(X)  # warm-up: allocator, kernels, process group
    times = {}
    for n_iters in (0, args.n_iters):
        if _distributed.is_distributed():
            torch.distributed.barrier()
        start = time.perf_counter()
        est = make(cls, n_iters=n_iters, **common).fit(X)
        times[n_iters] = time.perf_counter() - start
    train_s = max(times[args.n_iters] - times[0], 1e-9)
    if _distributed.is_main():
        with open(args.out, "a") as f:
            f.write(json.dumps({
                "method": args.method, "processes": _distributed.world_size(),
                "device": args.device,
                "n_iters": args.n_iters, "global_batch": args.batch_size, "length": args.length,
                "train_s": train_s, "series_per_s": args.n_iters * args.batch_size / train_s,
                "final_loss": est.loss_history_[-1],
            }) + "\n")  # fmt: skip
    if _distributed.is_distributed():
        torch.distributed.destroy_process_group()


def launch(args, method, world, out):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={world}",
           str(Path(__file__).resolve()), "--worker", "--method", method, "--out", out,
           "--device", args.device, "--n-iters", str(args.n_iters),
           "--batch-size", str(args.batch_size),
           "--length", str(args.length), "--n-series", str(args.n_series)]  # fmt: skip
    path = os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    subprocess.run(cmd, env=env, check=True, timeout=1800)


def machine(device):
    import platform

    import torch

    where = (
        torch.cuda.get_device_name(0)
        if device == "cuda"
        else (platform.processor() or platform.machine())
    )
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.1f}/{:.1f}/{:.1f} at the start".format(*os.getloadavg())
    day = time.strftime("%Y-%m-%d")
    return f"{where}, {os.cpu_count()} cores, torch {torch.__version__}, {day}{load}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--method", default="btsf")
    p.add_argument("--out", default=None)
    p.add_argument("--methods", nargs="+", default=list(CONFIGS))
    p.add_argument("--world-sizes", nargs="+", type=int, default=[1, 2])
    p.add_argument("--device", default="cpu")
    p.add_argument("--n-iters", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--n-series", type=int, default=64)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--tag", default="", help="suffix of the result files, e.g. _h100")
    args = p.parse_args()
    if args.worker:
        return worker(args)

    import pandas as pd

    where = machine(args.device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "runs.jsonl")
        for _ in range(args.repeats):
            for method in args.methods:
                for world in args.world_sizes:
                    launch(args, method, world, out)
        rows = [json.loads(line) for line in Path(out).read_text().splitlines()]
    df = pd.DataFrame(rows).sort_values("series_per_s").groupby(["method", "processes"]).tail(1)
    df = df.sort_values(["method", "processes"]).reset_index(drop=True)
    base = df[df.processes == 1].set_index("method").series_per_s
    df["speedup"] = [r.series_per_s / base.get(r.method, np.nan) for r in df.itertuples()]
    RESULTS.mkdir(exist_ok=True)
    df.to_csv(RESULTS / f"distributed{args.tag}.csv", index=False)
    table = ["| method | processes | train s | series/s | speedup vs 1 |", "|---|---|---|---|---|"]
    table += [f"| {r.method} | {r.processes} | {r.train_s:.2f} | {r.series_per_s:.0f} | "
              f"{r.speedup:.2f}x |" for r in df.itertuples()]  # fmt: skip
    text = [
        "# Data-parallel training throughput (torchrun, 1 vs several processes)",
        "",
        f"Machine: {where}. Device {args.device}; {args.n_iters} steps of a global batch of "
        f"{args.batch_size} series of length {args.length} (univariate), split over the "
        "processes; one torch thread per process on the CPU; best of "
        f"{args.repeats} runs; training time = fit minus a 0-step fit. Configurations: {CONFIGS}.",
        "",
        *table,
        "",
    ]
    (RESULTS / f"distributed{args.tag}.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
