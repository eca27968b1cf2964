"""Helpers shared by the benchmark scripts: data loading, the machine line, Markdown tables."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
# bundled with sktime (no data folder needed)
BUNDLED = ["GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "BasicMotions"]
UEA = ["Epilepsy", "NATOPS", "RacketSports", "UWaveGestureLibrary", "PenDigits"]


def ucr_names(data_dir: Path) -> list[str]:
    folder = Path(data_dir) / "classification" / "ucr"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def dev_suite(data_dir) -> list[str]:
    """The dev suite's classification sets: sktime's bundled ones, then the shared data's."""
    uea = [d for d in UEA if (Path(data_dir) / "classification" / "uea" / d).is_dir()]
    return BUNDLED + ucr_names(data_dir) + uea


def wtl(a, b, tie=0.005) -> str:
    """Wins/ties/losses of ``a`` against ``b`` (per-dataset Series), ties within ``tie``."""
    d = a - b
    return f"{int((d > tie).sum())}/{int((d.abs() <= tie).sum())}/{int((d < -tie).sum())}"


# the UCR sets whose trailing NaN pads unequal lengths (the archive's README); in the other
# sets with NaN (DodgerLoopDay, MelbournePedestrian) every NaN is a missing value
UNEQUAL_LENGTH = {"AllGestureWiimoteX", "AllGestureWiimoteY", "GestureMidAirD1", "GestureMidAirD2",
                  "GesturePebbleZ1", "PickupGestureWiimoteZ"}  # fmt: skip


def _read_ucr_tsv(path: Path, unequal: bool):
    """A UCR ``.tsv`` split: numpy3D, or a list of (T_i, 1) frames for unequal lengths.

    In an unequal-length set each series is cut after its last observed value (the
    trailing NaN is padding); elsewhere NaN is a missing value and stays NaN.
    """
    import pandas as pd

    table = np.loadtxt(path, delimiter="\t")
    y = table[:, 0].astype(int).astype(str)
    X = table[:, 1:]
    if not unequal:
        return X[:, None, :], y
    observed = ~np.isnan(X)
    last = X.shape[1] - np.argmax(observed[:, ::-1], axis=1)
    return [pd.DataFrame(row[:n]) for row, n in zip(X, last, strict=True)], y


def load(name: str, data_dir: Path = DEFAULT_DATA):
    """``[(X_train, y_train), (X_test, y_test)]`` of a dev-suite classification set."""
    data_dir = Path(data_dir)
    if name in BUNDLED:
        from sktime.datasets import load_UCR_UEA_dataset

        return [
            load_UCR_UEA_dataset(name, split=s, return_X_y=True, return_type="numpy3D")
            for s in ("train", "test")
        ]
    if name in UEA:
        from sktime.datasets import load_from_tsfile

        folder = data_dir / "classification" / "uea" / name
        return [
            load_from_tsfile(str(folder / f"{name}_{s}.ts"), return_data_type="numpy3D")
            for s in ("TRAIN", "TEST")
        ]
    folder = data_dir / "classification" / "ucr" / name
    unequal = name in UNEQUAL_LENGTH
    return [_read_ucr_tsv(folder / f"{name}_{s}.tsv", unequal) for s in ("TRAIN", "TEST")]


def shape_of(X) -> str:
    """``"n, channels x length"`` (length range for unequal lengths)."""
    if isinstance(X, np.ndarray):
        return f"{X.shape[0]}, {X.shape[1]}x{X.shape[2]}"
    lengths = [len(f) for f in X]
    return f"{len(X)}, {X[0].shape[1]}x{min(lengths)}-{max(lengths)}"


def machine() -> str:
    import torch

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")  # fmt: skip


def git_revision() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                             capture_output=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=HERE, text=True, capture_output=True).stdout.strip()  # fmt: skip
        return out + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def stamp(command: str | None = None) -> str:
    """What wrote a result: the command, the git revision, the machine and the date."""
    import sys

    command = command or "python " + " ".join(sys.argv)
    return f"Written by `{command}` at git {git_revision()}; machine: {machine()}."


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def md_table(table, fmt="{:.3f}") -> list[str]:
    """A Markdown table of the DataFrame ``table``: its index (named by ``index.name``) and columns;
    numbers as ``fmt``, missing values as "-"."""
    import pandas as pd

    lines = ["| " + " | ".join([table.index.name or ""] + list(map(str, table.columns))) + " |",
             "|---" * (len(table.columns) + 1) + "|"]  # fmt: skip
    for idx, row in table.iterrows():
        lines.append(
            f"| {idx} | " + " | ".join("-" if pd.isna(v) else fmt.format(v) for v in row) + " |"
        )
    return lines


def wilcoxon_p(a, b) -> float:
    """Wilcoxon signed-rank p-value of the paired differences ``a - b`` (1 if all zero)."""
    from scipy.stats import wilcoxon

    d = np.asarray(a - b)
    return float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0


def make(cls, **params):
    """``cls(**params)``, options given by name (as the benchmarks' tables write them)."""
    return cls(**cls._split_options(params))
