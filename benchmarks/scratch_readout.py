"""Readouts of an AimTS encoder trained from scratch by ``fit``: "blocks" against "multi".

    python benchmarks/scratch_readout.py              # resumable CSV
    python benchmarks/scratch_readout.py --continued  # the base trained on further
    python benchmarks/scratch_readout.py --report     # the tables

``readout="blocks"`` (every block but the last) reads the shipped base, frozen, as well as
``"multi"`` (the last block and three intermediate ones) for a third of the time. Does that
hold for an encoder trained on the user's own series? Per dev set (the 24 smallest of the
dev suite that the base never held out, by series x channels x length), one
``AimTSTransformer(random_state=0)`` fit with the defaults (30 steps; ``max_channels=4``
above four channels, as ``aimts.py``), then the same network read both ways
(``pretrained=`` the fitted encoder, ``n_iters=0``: no further training), and
``LogisticRegression()`` on all training labels, official split. One thread.
``--continued``: the same for the shipped base trained further on each set's own
series (``pretrained="base"``, the default 30 steps), on the transfer-validation group
(sets the base never saw).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, dev_suite, load, md_table, stamp, wilcoxon_p, wtl

CSV = RESULTS / "scratch_readout.csv"
CONTINUED_CSV = RESULTS / "scratch_readout_continued.csv"
N_SETS = 24


def sets(data_dir):
    from pretrain_base import HELD_OUT

    sizes = {}
    for name in dev_suite(data_dir):
        if name in HELD_OUT:
            continue
        (X, _), _ = load(name, Path(data_dir))
        if hasattr(X, "shape"):  # equal-length sets (a list holds unequal lengths)
            sizes[name] = int(np.prod(X.shape))
    return sorted(sizes, key=sizes.get)[:N_SETS]


def run(data_dir, continued=False):
    import torch
    from sklearn.linear_model import LogisticRegression

    from skcontrast import AimTSTransformer

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    csv = CONTINUED_CSV if continued else CSV
    done = set(pd.read_csv(csv).dataset) if csv.exists() else set()
    if continued:
        from pretrain_base import TRANSFER_VALIDATION as names
    else:
        names = sets(data_dir)
    for name in names:
        if name in done:
            continue
        (X, y), (X_test, y_test) = load(name, Path(data_dir))
        X, X_test = np.asarray(X, np.float32), np.asarray(X_test, np.float32)
        start = time.perf_counter()
        kw = dict(max_channels=4) if X.shape[1] > 4 else {}
        start_from = {"pretrained": "base"} if continued else {}
        trained = AimTSTransformer(random_state=0, **start_from, **kw).fit(X)
        row = {"dataset": name}
        for readout in ("blocks", "multi"):
            rep = AimTSTransformer(pretrained=trained, n_iters=0, readout=readout, **kw).fit(X)
            probe = LogisticRegression().fit(np.asarray(rep.transform(X)), y)
            row[readout] = float(probe.score(np.asarray(rep.transform(X_test)), y_test))
        row["seconds"] = time.perf_counter() - start
        pd.DataFrame([row]).to_csv(csv, mode="a", header=not csv.exists(), index=False)
        print(row, flush=True)


def report():
    df = pd.read_csv(CSV).set_index("dataset")
    a, b = df["blocks"], df["multi"]
    lines = ["# Readouts of an encoder trained from scratch", "", stamp(),
             "Its data: `python benchmarks/scratch_readout.py` (resumable CSV "
             "`scratch_readout.csv`).", "",
             f"{len(df)} dev sets, default `AimTSTransformer(random_state=0)` (30 steps) read "
             "two ways, `LogisticRegression()`, official split, one seed. "
             f"`\"blocks\"` {a.mean():.3f} against `\"multi\"` {b.mean():.3f} "
             f"({100 * (a.mean() - b.mean()):+.1f} points; blocks better/tied/worse "
             f"{wtl(a, b)}, Wilcoxon p = {wilcoxon_p(a, b):.2f}): no gain from dropping the last "
             "block here, nor for the base trained further (below), so `readout=\"auto\"` keeps "
             "`\"multi\"`, the previous default, for an encoder that `fit` trains and reads "
             "`\"blocks\"` for a pretrained one used as is.",
             ""]  # fmt: skip
    lines += md_table(df[["blocks", "multi"]]) + [""]
    if CONTINUED_CSV.exists():
        df = pd.read_csv(CONTINUED_CSV).set_index("dataset")
        a, b = df["blocks"], df["multi"]
        lines += ["## The base trained further on each set", "",
                  f"{len(df)} sets of the transfer-validation group, "
                  "`AimTSTransformer(pretrained=\"base\", random_state=0)` (30 more steps on "
                  f"the set's own series): `\"blocks\"` {a.mean():.3f} against `\"multi\"` "
                  f"{b.mean():.3f} ({100 * (a.mean() - b.mean()):+.1f} points; {wtl(a, b)}, "
                  f"p = {wilcoxon_p(a, b):.2f}).", ""]  # fmt: skip
        lines += md_table(df[["blocks", "multi"]]) + [""]
    (RESULTS / "scratch_readout.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--continued", action="store_true", help="the base trained further")
    args = parser.parse_args()
    if args.report:
        report()
    else:
        print(stamp(), flush=True)
        run(args.data, continued=args.continued)
