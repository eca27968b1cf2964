"""Anomaly detection on SMD machine-2-1, UCR anomaly series 135/136 and NAB series.

Ours: ``RepresentationAnomalyDetector`` (the BTSF paper's recipe: a Ridge decoder on each
point's causal representation, threshold mean + 4 std of the training scores) with BTSF
and AimTS representations, each with the paper's target (``reconstruction``: decode x_t
from r_t) and the one-step alternative (``next``: x_t from r_{t-1}). Baselines in the same
run: the same decoder on the raw lag window (``transformer="passthrough"``, target
``next``; with target ``reconstruction`` a window holding x_t would reproduce it
trivially), and sktime's ``SubLOF`` (windowed local outlier factor) on the univariate
NAB series (on multivariate SMD it fails: sktime 1.2.0's SubLOF predicts from the first
column only).

- SMD machine-2-1 (38 metrics): fit on the train half, score train+test joined (the test
  part keeps its context), report precision/recall/F1 on the test part both raw (point
  by point) and point-adjusted (a labelled segment counts as found, all of it, when any
  point in it is flagged: the usual protocol, which inflates scores).
- UCR 135/136 (univariate; the file name gives the training end and the anomaly): fit on
  the training part; a hit when the highest test score lies in the labelled region +-100.
- NAB (6 real series with labelled windows): fit on the first 15 % (NAB's probationary
  period); per series, labelled windows found (any flagged point inside), flagged events
  (runs) outside every window, and point-adjusted F1 with in-window points as positives.

    python benchmarks/anomaly.py [--device cuda] [--methods BTSF raw] [--n-iters N]
    python benchmarks/anomaly.py --data-dir /path/to/shared/data   # or SKCONTRAST_DATA

Writes results/anomaly.{md,csv} and results/anomaly_scores.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = Path(os.environ.get("SKCONTRAST_DATA", HERE.parent.parent / "shared" / "data"))
NAB_SERIES = [
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realKnownCause/nyc_taxi.csv",
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
    "realTraffic/speed_7578.csv",
]
WINDOW = 201


def detectors(methods, n_iters, device, n_channels, inference_batch_size=256):
    """name -> unfitted detector (a fresh one per series)."""
    from _common import make

    from skcontrast import AimTSTransformer, BTSFTransformer, RepresentationAnomalyDetector
    from skcontrast._series_features import STEP_DEFAULTS

    common = dict(n_iters=n_iters, device=device, random_state=0,
                  inference_batch_size=inference_batch_size)  # fmt: skip
    out = {}
    for method in methods:
        if method == "raw":
            out["raw lags + Ridge (next)"] = dict(transformer="passthrough", target="next")
            continue
        if method == "BTSF":  # the detector's default budget unless --n-iters says otherwise
            given = {k: v for k, v in common.items() if v is not None}
            transformer = make(BTSFTransformer, **{**STEP_DEFAULTS, **given})
        else:
            # one 512-wide row per step: concatenating 38 channels would give 19,456 columns
            pooling = "concat" if n_channels <= 8 else "mean"
            transformer = make(AimTSTransformer, **common, channel_pooling=pooling)
        for target in ("reconstruction", "next"):
            out[f"{method} + Ridge ({target})"] = dict(transformer=transformer, target=target)
    return {
        name: (lambda window, kw=kw: RepresentationAnomalyDetector(window_length=window, **kw))
        for name, kw in out.items()
    }


def sublof(n_points):
    from sktime.detection.lof import SubLOF

    # novelty=True: sktime's SubLOF predicts with each window's fitted LOF model
    return SubLOF(n_neighbors=20, window_size=min(1000, n_points), novelty=True)


def run_detector(make, train, full, window):
    """Fit on ``train``; scores and flags over ``full`` (train joined with what follows)."""
    start = time.perf_counter()
    detector = make(window).fit(train)
    scores = detector.transform_scores(full)["score"].to_numpy()
    return scores, scores > detector.threshold_, time.perf_counter() - start


def point_adjust(flags, labels):
    """Flag all of a labelled segment when any point in it is flagged."""
    flags = flags.copy()
    edges = np.diff(np.concatenate([[0], labels.astype(np.int8), [0]]))
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if flags[s:e].any():
            flags[s:e] = True
    return flags


def prf(flags, labels):
    tp = np.sum(flags & labels)
    precision = tp / max(flags.sum(), 1)
    recall = tp / max(labels.sum(), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def smd(data_dir, methods, n_iters, device, batch, plots):
    root = data_dir / "anomaly" / "SMD" / "machine-2-1"
    train = pd.read_csv(root / "train.csv", header=None)
    test = pd.read_csv(root / "test.csv", header=None)
    labels = pd.read_csv(root / "test_label.csv", header=None)[0].to_numpy().astype(bool)
    full = pd.concat([train, test], ignore_index=True)
    rows = []
    for name, make in detectors(methods, n_iters, device, train.shape[1], batch).items():
        scores, flags, seconds = run_detector(make, train, full, WINDOW)
        scores, flags = scores[len(train) :], flags[len(train) :]
        rows.append(_smd_row(name, flags, labels, seconds))
        print(rows[-1], flush=True)
        if name.startswith(("BTSF + Ridge (next", "raw")):
            plots.append(("SMD machine-2-1 (test part)", name, scores, labels))
    # no sktime baseline here: SubLOF (sktime 1.2.0) predicts from the first column only
    # (lof.py: model.predict(X_subset.iloc[:, [0]])) and fails on multivariate input
    return rows


def _smd_row(name, flags, labels, seconds):
    p, r, f = prf(flags, labels)
    pa_p, pa_r, pa_f = prf(point_adjust(flags, labels), labels)
    return dict(dataset="SMD machine-2-1", method=name, precision=p, recall=r, f1=f,
                pa_precision=pa_p, pa_recall=pa_r, pa_f1=pa_f, seconds=seconds)  # fmt: skip


def ucr(data_dir, methods, n_iters, device, batch, plots):
    rows = []
    for path in sorted((data_dir / "anomaly" / "UCR_Anomaly_2021").glob("*.txt")):
        parts = path.stem.split("_")
        train_end, a_start, a_end = (int(v) for v in parts[-3:])  # 1-based positions
        series = pd.DataFrame({"value": np.loadtxt(path)})
        train = series.iloc[:train_end]
        lo, hi = a_start - 1 - 100, a_end - 1 + 100
        for name, make in detectors(methods, n_iters, device, 1, batch).items():
            scores, _, seconds = run_detector(make, train, series, WINDOW)
            top = train_end + int(np.argmax(scores[train_end:]))
            rows.append(dict(dataset=f"UCR {parts[0]}", method=name, hit=bool(lo <= top <= hi),
                             top_score_at=top, anomaly=f"{a_start - 1}-{a_end - 1}",
                             seconds=seconds))  # fmt: skip
            print(rows[-1], flush=True)
            if parts[0] == "135" and name.startswith(("BTSF + Ridge (next", "raw")):
                labels = np.zeros(len(series), bool)
                labels[a_start - 1 : a_end] = True
                plots.append((f"UCR {parts[0]} (whole series)", name, scores, labels))
    return rows


def nab(data_dir, methods, n_iters, device, batch):
    windows = json.loads(
        (data_dir / "anomaly" / "NAB" / "labels" / "combined_windows.json").read_text()
    )
    rows = []
    for key in NAB_SERIES:
        frame = pd.read_csv(data_dir / "anomaly" / "NAB" / "data" / key, parse_dates=["timestamp"])
        series = frame[["value"]].astype(float)
        labels = np.zeros(len(frame), bool)
        for lo, hi in windows[key]:
            labels |= (
                (frame.timestamp >= pd.Timestamp(lo)) & (frame.timestamp <= pd.Timestamp(hi))
            ).to_numpy()
        n_train = int(0.15 * len(frame))
        window = min(WINDOW, n_train // 4)
        candidates = dict(detectors(methods, n_iters, device, 1, batch))
        for name, make in candidates.items():
            _, flags, seconds = run_detector(make, series.iloc[:n_train], series, window)
            rows.append(_nab_row(key, name, flags, labels, n_train, windows[key], seconds))
            print(rows[-1], flush=True)
        start = time.perf_counter()
        flags = np.zeros(len(series), bool)
        flags[sublof(len(series)).fit(series).predict(series)["ilocs"].to_numpy(dtype=int)] = True
        rows.append(_nab_row(key, "sktime SubLOF", flags, labels, n_train, windows[key],
                             time.perf_counter() - start))  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def _nab_row(key, name, flags, labels, n_train, windows, seconds):
    flags, labels = flags[n_train:], labels[n_train:]
    segments = np.diff(np.concatenate([[0], labels.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(segments == 1), np.flatnonzero(segments == -1)
    found = sum(flags[s:e].any() for s, e in zip(starts, ends, strict=True))
    outside = flags & ~labels
    events = int(np.sum(np.diff(np.concatenate([[0], outside.astype(np.int8)])) == 1))
    _, _, pa_f = prf(point_adjust(flags, labels), labels)
    return dict(dataset=f"NAB {key.split('/')[1][:-4]}", method=name,
                windows_found=f"{found}/{len(starts)}", false_events=events, pa_f1=pa_f,
                seconds=seconds)  # fmt: skip


def write(smd_rows, ucr_rows, nab_rows, machine, plots, tag=""):
    RESULTS.mkdir(exist_ok=True)
    pd.concat([pd.DataFrame(r) for r in (smd_rows, ucr_rows, nab_rows) if r]).to_csv(
        RESULTS / f"anomaly{tag}.csv", index=False
    )
    lines = ["# Anomaly detection", "", f"Machine: {machine}. One run, seed 0.", ""]
    if smd_rows:
        lines += ["## SMD machine-2-1 (test half, 4.9 % anomalous points)", "",
                  pd.DataFrame(smd_rows).drop(columns="dataset").pipe(markdown), ""]  # fmt: skip
    if ucr_rows:
        lines += ["## UCR anomaly archive 135 / 136 (hit: top test score in the region +-100)", "",
                  pd.DataFrame(ucr_rows).pipe(markdown), ""]  # fmt: skip
    if nab_rows:
        table = pd.DataFrame(nab_rows)
        means = table.groupby("method").pa_f1.mean().items()
        lines += ["## NAB (after the 15 % probationary period)", "",
                  table.pipe(markdown), "",
                  "Mean point-adjusted F1 per method: "
                  + ", ".join(f"{m} {v:.3f}" for m, v in means),
                  ""]  # fmt: skip
    (RESULTS / f"anomaly{tag}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    if plots:
        plot(plots, tag)


def markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (floats to 3 decimals, seconds to 1)."""

    def cell(column, value):
        if isinstance(value, float):
            return f"{value:.1f}" if column == "seconds" else f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|---" * len(table.columns) + "|"]
    lines += ["| " + " | ".join(cell(c, v) for c, v in zip(table.columns, row, strict=True)) + " |"
              for row in table.itertuples(index=False)]  # fmt: skip
    return "\n".join(lines)


def plot(plots, tag=""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(plots), 1, figsize=(10, 2.2 * len(plots)))
    for ax, (title, name, scores, labels) in zip(np.atleast_1d(axes), plots, strict=True):
        ax.plot(scores, lw=0.7)
        edges = np.diff(np.concatenate([[0], labels.astype(np.int8), [0]]))
        for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            ax.axvspan(s, max(e, s + 5), color="red", alpha=0.25, lw=0)
        ax.set_yscale("log")
        ax.set_title(f"{title}: {name}", fontsize=9)
    fig.supxlabel("time point (labelled anomalies shaded)")
    fig.supylabel("score (log)")
    fig.tight_layout()
    fig.savefig(RESULTS / f"anomaly_scores{tag}.png", dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--methods", nargs="+", default=["BTSF", "AimTS", "raw"])
    parser.add_argument("--parts", nargs="+", default=["smd", "ucr", "nab"])
    # None: the detector's default (BTSF 200 steps of 16: STEP_DEFAULTS), AimTS's own
    parser.add_argument("--n-iters", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--inference-batch-size",
        type=int,
        default=256,
        help="windows encoded at a time (e.g. 2048 on a large GPU)",
    )
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--machine", default=f"{platform.machine()} {os.cpu_count()} CPU cores")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    if not (args.data_dir / "anomaly").is_dir():
        raise SystemExit(
            f"no anomaly data under {args.data_dir}; pass --data-dir or set SKCONTRAST_DATA."
        )
    plots = []
    common = (args.data_dir, args.methods, args.n_iters, args.device, args.inference_batch_size)
    smd_rows, ucr_rows, nab_rows = [], [], []
    # results are written after each part, so a long run keeps what it finished
    if "smd" in args.parts:
        smd_rows = smd(*common, plots)
        write(smd_rows, ucr_rows, nab_rows, args.machine, plots, args.tag)
    if "ucr" in args.parts:
        ucr_rows = ucr(*common, plots)
        write(smd_rows, ucr_rows, nab_rows, args.machine, plots, args.tag)
    if "nab" in args.parts:
        nab_rows = nab(*common)
        write(smd_rows, ucr_rows, nab_rows, args.machine, plots, args.tag)


if __name__ == "__main__":
    main()
