"""The recipe of the shipped encoder ``AimTSTransformer(pretrained="base")``.

    python benchmarks/pretrain_base.py                  # build the corpus, pretrain, write the file
    python benchmarks/pretrain_base.py --corpus-only    # list the corpus and its checksums
    python benchmarks/pretrain_base.py --n-iters 20 --out /tmp/b.pt   # a short check run

Corpus: ``../shared/data`` only (plus the classification sets bundled with sktime), never
the labels, and never the TRANSFER-VALIDATION group below, on which the encoder is judged
(``benchmarks/pretrained_transfer.py``). Every classification set's train and test series;
windows of 512 steps (stride 256) of ETTh1, of each NAB series, of SMD machine-2-1 (train
and test) and of the UCR anomaly series' training parts. Per dataset:

- missing values are filled by linear interpolation along time (edges: nearest value);
- a set of unequal lengths keeps the series at least as long as its 20th length
  percentile, cut to that length;
- at most 1,000 series, a seeded random subset (so that no one source dominates).

Each dataset is one panel of ``AimTSTransformer.fit``'s corpus (batches from one panel at a
time, panels drawn in proportion to their size). Training: the package's default AimTS
(architecture and objective) with the recipe parameters in ``RECIPE``; checkpoints every
100 steps, so a rerun of the same command resumes an interrupted one exactly. The file is
written with ``save_weights`` to ``skcontrast/pretrained/aimts_base.pt`` beside its card
``aimts_base.json`` (sources with SHA-256, held-out sets, recipe, loss curve, wall time,
machine, and the SHA-256 of the weights: on the same CPU, torch build and thread count, a
rerun reproduces the weights bitwise; the file's other bytes hold the fit time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
from _common import BUNDLED, DEFAULT_DATA, UEA, UNEQUAL_LENGTH, load, machine, ucr_names

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "skcontrast" / "pretrained"
OUT = PACKAGE_DIR / "aimts_base.pt"
RESULTS = Path(__file__).resolve().parent / "results"
# checkpoints and sitting logs live outside the work tree: a later session resumes them
CACHE = Path(os.environ.get("SKCONTRAST_CACHE", Path.home() / ".cache" / "skcontrast"))

# judged on, never pretrained on: lengths 24-720, 1-6 channels, ECG, motion, sensors,
# power, image outlines, simulated shapes, audio, seismic
TRANSFER_VALIDATION = [
    "GunPoint",
    "ItalyPowerDemand",
    "ECG200",
    "CBF",
    "Trace",
    "DistalPhalanxOutlineCorrect",
    "Earthquakes",
    "Computers",
    "FreezerRegularTrain",
    "InsectWingbeatSound",
    "BasicMotions",
    "RacketSports",
]
# the equal-length sets added to ../shared/data after the first base was made: kept out of
# pretraining too, so that 22 sets stay unseen (``frozen_readout.py`` measures on them)
NEW_HELD_OUT = ["CricketY", "DodgerLoopGame", "EOGVerticalSignal", "EthanolLevel", "InlineSkate",
                "MixedShapesRegularTrain", "NonInvasiveFetalECGThorax1", "Phoneme",
                "PigArtPressure", "PigCVP"]  # fmt: skip
HELD_OUT = TRANSFER_VALIDATION + NEW_HELD_OUT
# synthetic panels (skcontrast.synthetic): 500 series each, lengths and channels drawn
SYNTHETIC_PANEL, SYNTHETIC_LENGTHS, SYNTHETIC_CHANNELS = 500, (64, 128, 256, 512), (1, 1, 1, 2, 3)
# classification sets bundled with sktime beyond the dev suite's (unequal lengths included)
EXTRA_BUNDLED = ["ACSF1", "PLAID", "JapaneseVowels"]
SEED, MAX_SERIES, WINDOW, STRIDE = 0, 1000, 512, 256
RECIPE = {
    "n_iters": 4000,
    "batch_size": 16,
    "max_channels": 4,  # a CPU budget: multivariate panels train on 4 random channels a step
    "warmup_epochs": 0,  # an epoch of this corpus is ~1,500 steps; no image-only warm-up
    "swa": False,  # an equal-weight average over thousands of steps would keep early weights
    "random_state": SEED,
    "device": "cpu",
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fill_missing(X: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN along time, per series and channel (edges: nearest)."""
    X = X.copy()
    steps = np.arange(X.shape[-1])
    for row in X.reshape(-1, X.shape[-1]):
        seen = ~np.isnan(row)
        if not seen.all():
            row[:] = np.interp(steps, steps[seen], row[seen]) if seen.any() else 0.0
    return X


def common_length(series: list[np.ndarray]) -> np.ndarray:
    """Unequal lengths ``(C, T_i)``: those at least the 20th-percentile length, cut to it."""
    length = int(np.percentile([s.shape[-1] for s in series], 20))
    return np.stack([s[:, :length] for s in series if s.shape[-1] >= length])


def windows(stream: np.ndarray) -> np.ndarray:
    """``(C, T)`` -> ``(n, C, WINDOW)`` windows every ``STRIDE`` steps."""
    starts = range(0, stream.shape[-1] - WINDOW + 1, STRIDE)
    return np.stack([stream[:, s : s + WINDOW] for s in starts])


def _as_series(X) -> list[np.ndarray]:
    """numpy3D, a list of frames (unequal lengths) or a nested DataFrame -> ``(C, T_i)``s."""
    import pandas as pd

    if isinstance(X, np.ndarray):
        return list(X)
    if isinstance(X, pd.DataFrame):  # nested_univ: a cell per channel
        return [np.stack([np.asarray(cell, float) for cell in row]) for row in X.to_numpy()]
    return [np.asarray(f, float).T for f in X]


def _classification_files(name, data_dir):
    if name in BUNDLED or name in EXTRA_BUNDLED:
        import sktime

        folder = Path(sktime.__file__).parent / "datasets" / "data" / name
        return sorted(folder.glob(f"{name}_*.ts"))
    sub = "uea" if name in UEA else "ucr"
    return sorted((data_dir / "classification" / sub / name).glob(f"{name}_*"))


def _load_classification(name, data_dir):
    if name in EXTRA_BUNDLED:
        from sktime.datasets import load_UCR_UEA_dataset

        splits = [
            load_UCR_UEA_dataset(name, split=s, return_X_y=True)[0] for s in ("train", "test")
        ]
    else:
        splits = [X for X, _ in load(name, data_dir)]
    series = [s for X in splits for s in _as_series(X)]
    if len({s.shape[-1] for s in series}) > 1 or name in UNEQUAL_LENGTH:
        return common_length(series)
    return np.stack(series)


def _streams(data_dir):
    """(name, files, panel) of the forecasting and anomaly data, cut into windows."""
    import pandas as pd

    ett = data_dir / "forecasting" / "ETTh1.csv"
    yield "ETTh1", [ett], windows(pd.read_csv(ett).drop(columns="date").to_numpy().T)
    nab = sorted((data_dir / "anomaly" / "NAB" / "data").rglob("*.csv"))
    parts = [windows(pd.read_csv(f)["value"].to_numpy()[None]) for f in nab]
    yield "NAB", nab, np.concatenate([p for p in parts if len(p)])
    smd = [data_dir / "anomaly" / "SMD" / "machine-2-1" / f for f in ("train.csv", "test.csv")]
    yield "SMD", smd, np.concatenate([windows(np.loadtxt(f, delimiter=",").T) for f in smd])
    ucr = sorted((data_dir / "anomaly" / "UCR_Anomaly_2021").glob("*.txt"))
    # file name <id>_UCR_Anomaly_<name>_<train_end>_...: the training part only
    yield (
        "UCR_Anomaly_train",
        ucr,
        np.concatenate([windows(np.loadtxt(f)[None, : int(f.stem.split("_")[4])]) for f in ucr]),
    )


def synthetic_panels(n_series: int):
    """``(panels, sources)`` of ``n_series`` synthetic series in panels of SYNTHETIC_PANEL."""
    from skcontrast.synthetic import make_synthetic_corpus

    n_panels = -(-n_series // SYNTHETIC_PANEL)
    panels = make_synthetic_corpus(n_panels, SYNTHETIC_PANEL, SYNTHETIC_LENGTHS,
                                   SYNTHETIC_CHANNELS, random_state=SEED)  # fmt: skip
    sources = [{"name": f"synthetic-{i}", "series_available": len(p), "series_used": len(p),
                "channels": p.shape[1], "length": p.shape[2], "files": {}}
               for i, p in enumerate(panels)]  # fmt: skip
    return panels, sources


def build_corpus(data_dir: Path, real=True, synthetic=0, held_out=HELD_OUT):
    """``(panels, sources)``: float32 ``(n, C, T)`` arrays and what each was made from:
    the real data (without ``held_out``) if ``real``, and ``synthetic`` synthetic series."""
    data_dir = Path(data_dir)
    panels, sources = synthetic_panels(synthetic) if synthetic else ([], [])
    if not real:
        return panels, sources
    names = [n for n in [*BUNDLED, *EXTRA_BUNDLED, *UEA, *ucr_names(data_dir)] if n not in held_out]
    items = [
        (n, _classification_files(n, data_dir), _load_classification(n, data_dir))
        for n in sorted(set(names))
    ]
    items += list(_streams(data_dir))
    rng = np.random.default_rng(SEED)
    for name, files, X in items:
        X = fill_missing(np.asarray(X, dtype=np.float64))
        available = len(X)
        if len(X) > MAX_SERIES:
            X = X[np.sort(rng.choice(len(X), MAX_SERIES, replace=False))]
        panels.append(X.astype(np.float32))
        sources.append(
            {
                "name": name,
                "series_available": available,
                "series_used": len(X),
                "channels": X.shape[1],
                "length": X.shape[2],
                "files": {str(f.relative_to(f.parents[2])): sha256(f) for f in files},
            }
        )
    return panels, sources


def weights_sha256(estimator) -> str:
    """SHA-256 of the network's tensors in key order: equal iff the weights are bitwise equal."""
    digest = hashlib.sha256()
    for key, value in estimator.network_.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def snapshot_path(tag: str, step: int) -> Path:
    return CACHE / f"pretrain_{tag}.step{step}.pt"


def with_snapshots(tag: str, steps, progress=None):
    """An ``AimTSTransformer`` subclass that saves the series encoder's weights (a state
    dict) after each of ``steps``: transfer against series seen, from one run; and calls
    ``progress(steps_done)`` every 100 steps (the sitting log survives a kill)."""
    import torch

    from skcontrast import AimTSTransformer

    class SnapshotAimTS(AimTSTransformer):
        def _after_step(self, network, step):
            super()._after_step(network, step)
            if step.index + 1 in steps:
                state = {k: v.detach().cpu().clone()
                         for k, v in network.series_encoder.state_dict().items()}  # fmt: skip
                torch.save(state, snapshot_path(tag, step.index + 1))
            if progress is not None and (step.index + 1) % 100 == 0:
                progress(step.index + 1)

    SnapshotAimTS.__name__ = SnapshotAimTS.__qualname__ = "AimTSTransformer"
    return SnapshotAimTS


def pretrain(panels, params, checkpoint, threads, tag="base", snapshots=()):
    """Fit (or resume) the recipe; SIGTERM (the end of a sitting) stops like Ctrl-C, after
    which a rerun resumes from the last checkpoint."""
    import torch

    torch.set_num_threads(threads)
    params = {**params, "checkpoint_path": str(checkpoint), "checkpoint_every": 100,
              "verbose": True}  # fmt: skip
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    log = CACHE / f"pretrain_{tag}.sittings.json"
    opened = len(json.loads(log.read_text())) if log.exists() else 0

    def progress(steps):  # this sitting's entry, rewritten as it goes
        write_sitting(log, opened, time.perf_counter() - start, steps, threads, "running")

    cls = with_snapshots(tag, set(snapshots), progress)
    encoder = cls(**cls._split_options(params))  # options by name
    try:
        encoder.fit(panels)
    except KeyboardInterrupt:  # the fit kept its checkpoint; nothing to write yet
        encoder.stop_reason_ = "interrupted"
    seconds = time.perf_counter() - start
    steps = len(getattr(encoder, "loss_history_", [])) or None
    sittings = write_sitting(log, opened, seconds, steps, threads, encoder.stop_reason_)
    return encoder, seconds, sittings


def write_sitting(log: Path, index, seconds, steps, threads, stop):
    """Write entry ``index`` of ``log`` (wall time, steps reached, threads, how it stopped,
    machine); a sitting killed before its end keeps its last entry (``stop="running"``)."""
    sittings = json.loads(log.read_text()) if log.exists() else []
    entry = {"wall_s": round(seconds, 1), "steps_reached": steps, "threads": threads,
             "stop": stop, "machine": machine()}  # fmt: skip
    sittings[index : index + 1] = [entry]
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps(sittings, indent=1))
    return sittings


LICENCES = {
    "ETTh1": "CC BY-ND 4.0 (zhouhaoyi/ETDataset)",
    "NAB": "MIT (numenta/NAB)",
    "SMD": "MIT (NetManAIOps/OmniAnomaly)",
    "UCR_Anomaly_train": "UCR anomaly archive (KDD Cup 2021), cite Wu & Keogh",
    "ACSF1": "UCR archive via sktime",
    "PLAID": "UCR archive via sktime",
    "JapaneseVowels": "UEA archive via sktime",
}


def _licence(name):
    if name in LICENCES:
        return LICENCES[name]
    return (
        "UEA archive, cite Bagnall et al. 2018"
        if name in UEA
        else "UCR archive, cite Dau et al. 2019"
    )


def write_card_page(card, results=RESULTS):
    """``results/pretrained_base.md`` (corpus table, recipe) and the loss-curve plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss = np.asarray(card["loss_history"])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(loss, lw=0.4, alpha=0.4, label="loss per step")
    k = max(1, len(loss) // 40)
    ax.plot(
        np.arange(k - 1, len(loss)),
        np.convolve(loss, np.ones(k) / k, "valid"),
        lw=1.5,
        label=f"running mean of {k} steps",
    )
    ax.set_xlabel("step")
    ax.set_ylabel("L_img + 0.9 L_inter + 0.1 L_intra")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(results / "pretrained_base_loss.png", dpi=120)
    plt.close(fig)
    recipe = ", ".join(f"`{k}={v!r}`" for k, v in card["recipe"].items())
    lines = [
        '# The shipped encoder `pretrained="base"`: how it was made',
        "",
        f"Machine: {card['machine']}. {card['steps']} steps in {card['wall_time_s'] / 60:.0f} "
        f"min (the last run of the recipe; the standardisation pass over the corpus "
        f"included); file {card['file_bytes'] / 1e6:.1f} MB; weights SHA-256 "
        f"`{card['weights_sha256'][:16]}...`.",
        "",
        f"Recipe (`AimTSTransformer` defaults otherwise): {recipe}; AdamW at a constant "
        "learning rate (the default 7e-4).",
        "",
        f"Corpus: {len(card['corpus'])} datasets, {card['corpus_series']} series. "
        "Never pretrained on (the transfer-validation group): "
        + ", ".join(card["transfer_validation"])
        + ".",
        "",
        "| dataset | series used / available | channels x length | source (licence) "
        "| SHA-256 of the files (first 12 hex) |",
        "|---|---|---|---|---|",
    ]
    for s in card["corpus"]:
        files = list(s["files"].values())
        shown = ", ".join(h[:12] for h in files[:2]) + (
            f" (+{len(files) - 2} files)" if len(files) > 2 else ""
        )
        lines.append(
            f"| {s['name']} | {s['series_used']} / {s['series_available']} | "
            f"{s['channels']}x{s['length']} | {_licence(s['name'])} | {shown} |"
        )
    lines += [
        "",
        "The card with every file's full checksum ships beside the weights "
        '(`skcontrast.pretrained.card("base")`).',
        "",
    ]
    (results / "pretrained_base.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--n-iters", type=int, default=RECIPE["n_iters"])
    parser.add_argument("--tag", default="base", help="names the checkpoint and sitting log")
    parser.add_argument("--corpus", choices=["real", "synthetic", "both"], default="real")
    parser.add_argument("--synthetic", type=int, default=0, help="synthetic series")
    parser.add_argument("--max-time", type=float, default=None,
                        help="seconds for this sitting; a rerun resumes")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--snapshots", default="", help="steps to save the encoder at: 200,400")
    parser.add_argument("--param", action="append", default=[],
                        help="recipe override NAME=VALUE (python literal)")  # fmt: skip
    parser.add_argument("--corpus-only", action="store_true")
    parser.add_argument("--card-only", action="store_true", help="rewrite the results page")
    args = parser.parse_args()
    if args.card_only:
        write_card_page(json.loads(args.out.with_suffix(".json").read_text()))
        return
    if args.corpus != "real" and not args.synthetic:
        parser.error("--corpus synthetic/both needs --synthetic N (series)")
    synthetic = args.synthetic if args.corpus != "real" else 0
    panels, sources = build_corpus(args.data, real=args.corpus != "synthetic", synthetic=synthetic)
    total = sum(len(p) for p in panels)
    print(f"corpus: {len(panels)} datasets, {total} series", flush=True)
    for s in sources:
        print(f"  {s['name']}: {s['series_used']}/{s['series_available']} series, "
              f"{s['channels']}x{s['length']}", flush=True)  # fmt: skip
    if args.corpus_only:
        return
    import ast

    overrides = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
    params = {**RECIPE, "n_iters": args.n_iters, "max_time": args.max_time, **overrides}
    checkpoint = CACHE / f"pretrain_{args.tag}.ckpt"
    snapshots = [int(v) for v in args.snapshots.split(",") if v]
    encoder, seconds, sittings = pretrain(panels, params, checkpoint, args.threads, args.tag,
                                          snapshots)  # fmt: skip
    if encoder.stop_reason_ in ("interrupted", "max_time"):
        print(f"sitting ended ({encoder.stop_reason_}) after {seconds:.0f} s; rerun the same "
              f"command to resume from {checkpoint}", flush=True)  # fmt: skip
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    encoder.save_weights(args.out)
    card = {
        "name": args.out.stem.removeprefix("aimts_"),
        "estimator": "AimTSTransformer",
        "transfer_validation": TRANSFER_VALIDATION,
        "held_out": HELD_OUT,
        "recipe": params,
        "corpus": sources,
        "corpus_series": total,
        "steps": encoder.n_iters_,
        "wall_time_s": round(sum(s["wall_s"] for s in sittings), 1),
        "sittings": sittings,
        "machine": machine(),
        "loss_history": [round(v, 5) for v in encoder.loss_history_],
        # the tensors' bytes in key order (equal iff the weights are bitwise equal); the
        # file's own bytes also hold the fit time, so its hash differs between runs
        "weights_sha256": weights_sha256(encoder),
        "file_sha256": sha256(args.out),
        "file_bytes": args.out.stat().st_size,
    }
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    if args.out == OUT:
        write_card_page(card)
    print(f"wrote {args.out} ({card['file_bytes'] / 1e6:.1f} MB) after {seconds:.0f} s; "
          f"weights sha256 {card['weights_sha256']}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
