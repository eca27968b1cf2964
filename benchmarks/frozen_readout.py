"""Readouts for the frozen shipped encoder, measured without retraining.

    python benchmarks/frozen_readout.py            # every set, resumable CSV
    python benchmarks/frozen_readout.py --report   # tables from the CSV

The shipped ``"base"`` file is read once; every series (z-normalised per channel, as
``AimTSTransformer`` does) goes through its series encoder with the activations of
several residual blocks kept, and of its first-difference series (a second input view),
and, for the self-ensembling rows, of copies resampled to 2x and 0.5x the length. From one
pass per set, feature blocks are pooled over time:

- ``max`` / ``mean``: per feature map (``max`` of the last block is the package's readout
  up to this round);
- ``ppv``: MiniRocket's pooling, the proportion of time steps above a bias, with biases
  at the 25/50/75 % quantiles of each feature map over a sample of the training series.

(The 10/50/90 % quantiles of each map over time were measured on the first seven sets,
level with ``max`` at 0.963, and dropped: selecting them costs as much as the encoding.)

A readout is a concatenation of blocks (``READOUTS``), probed by ``StandardScaler`` +
``LogisticRegression()`` (the package standardises its rows with training statistics, so
this is the default pipeline's probe) on the official split and, for sets with at most
1,500 series in all, on two more stratified resamples of the same train size. A split of
more than 1,000 series is a seeded subsample of 1,000 (a CPU budget; the same series for
every method). MiniRocket
(+ RidgeClassifierCV, sktime's recipe) on the same splits is the reference.

Sets: the 25 the shipped file never saw, of equal length: the transfer-validation group
and the ten equal-length sets added to ``../shared/data`` after it was made. The
quantile biases come from the official training split's series (no labels are read).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import _runner
import numpy as np
import pandas as pd
import torch
from _common import DEFAULT_DATA, RESULTS, load, md_table, stamp, wilcoxon_p, wtl
from pretrain_base import NEW_HELD_OUT as NEW_SETS
from pretrain_base import TRANSFER_VALIDATION

SETS = TRANSFER_VALIDATION + NEW_SETS
CSV = RESULTS / "frozen_readout.csv"
MID = (2, 5, 8)  # intermediate blocks tapped (64 maps each); 9 is the last (512 maps)
LAST = 9
PPV_Q = (0.25, 0.5, 0.75)
SEGMENTS = 4  # "seg": the mean over each quarter of time (where a pattern lies)
SMALL, N_RESAMPLES = 1500, 2
MAX_SPLIT = 1000  # larger splits: a seeded subsample of 1,000 series (CPU budget)

# name -> blocks (view, scale, layer, pooling); "mid" expands to MID
READOUTS = {
    "last max (old default)": [("x", 1, "last", "max")],
    "last mean+max": [("x", 1, "last", "max"), ("x", 1, "last", "mean")],
    "last ppv": [("x", 1, "last", "ppv")],
    "mid mean+max": [("x", 1, "mid", "max"), ("x", 1, "mid", "mean")],
    "last+mid mean+max": [("x", 1, "last", "max"), ("x", 1, "last", "mean"),
                          ("x", 1, "mid", "max"), ("x", 1, "mid", "mean")],
    "last+mid mean+max+ppv": [("x", 1, "last", "max"), ("x", 1, "last", "mean"),
                              ("x", 1, "mid", "max"), ("x", 1, "mid", "mean"),
                              ("x", 1, "last", "ppv"), ("x", 1, "mid", "ppv")],
    "last+mid mean+max, +diff": [(v, 1, layer, p) for v in ("x", "dx")
                                 for layer in ("last", "mid") for p in ("max", "mean")],
    "last+mid mean+max+ppv, +diff": [(v, 1, layer, p) for v in ("x", "dx")
                                     for layer in ("last", "mid")
                                     for p in ("max", "mean", "ppv")],
    "last max, scales 2,1,0.5": [("x", s, "last", "max") for s in (2, 1, 0.5)],
    "last+mid mean+max, scales 2,1,0.5": [("x", s, layer, p) for s in (2, 1, 0.5)
                                          for layer in ("last", "mid") for p in ("max", "mean")],
}  # fmt: skip
DEFAULT = READOUTS["last+mid mean+max, +diff"]  # the package's readout="multi"
# more views and poolings beside the default (``--views``; their own CSV and table)
VIEWS = {
    "default + mid seg": DEFAULT + [(v, 1, "mid", "seg") for v in ("x", "dx")],
    "default + last+mid seg": DEFAULT + [(v, 1, layer, "seg") for v in ("x", "dx")
                                         for layer in ("last", "mid")],
    "default + mid std": DEFAULT + [(v, 1, "mid", "std") for v in ("x", "dx")],
    "default + spectrum view": DEFAULT + [("fx", 1, layer, p) for layer in ("last", "mid")
                                          for p in ("max", "mean")],
    "default + 2nd-difference view": DEFAULT + [("d2x", 1, layer, p) for layer in ("last", "mid")
                                                for p in ("max", "mean")],
    # cheaper: the last block (64 -> 512 maps) is two thirds of an encoding's time
    "difference view without the last block": [(v, 1, layer, p) for v, layer in
                                               (("x", "last"), ("x", "mid"), ("dx", "mid"))
                                               for p in ("max", "mean")],
    "blocks 1-9 (all but the last), +diff": [(v, 1, layer, p) for v in ("x", "dx")
                                              for layer in ("mid", "early")
                                              for p in ("max", "mean")],
    "last block, blocks 1-9, +diff blocks 1-9": [(v, 1, layer, p) for v, layer in
                                                 (("x", "last"), ("x", "mid"), ("x", "early"),
                                                  ("dx", "mid"), ("dx", "early"))
                                                 for p in ("max", "mean")],
}  # fmt: skip
VIEW_ROWS = ["last+mid mean+max, +diff", *list(VIEWS)[:5]]  # --views: the transfer group
BLOCK_ROWS = ["last+mid mean+max, +diff", *list(VIEWS)[5:]]  # --blocks: all 22 sets
INTROS = {
    "views": 'Added to the default readout of the time (`readout="multi"`): `seg`, the mean '
    "over each quarter of time (where a pattern lies: TiRex's patch statistics); `std` over "
    "time; the z-normalised magnitude spectrum as a third input view (Hydra's and QUANT's FFT "
    "view, through the encoder); the second difference as a third view (QUANT).",
    "blocks": "Cheaper readouts: the last block (64 to 512 maps) is two thirds of an "
    "encoding's time. `blocks 1-9 (all but the last), +diff` (the mean and max of every "
    "block but the last, for the series and its first difference) is the package's "
    '`readout="blocks"`, what the default `readout="auto"` reads for a pretrained encoder '
    'since this round; `last+mid mean+max, +diff` is `readout="multi"`, the default before '
    "it. The later sets' MiniRocket rows cover the three of them the main CSV has.",
}
MINIROCKET = "MiniRocket + RidgeCV"
# self-ensembling costs 3.5 encodings: measured on the first eleven sets only (CPU budget)
SCALED = [r for r in READOUTS if "scales" in r]
FIRST_ELEVEN = SETS[:11]


def _views(X):
    """z-normalised series and z-normalised first differences, ``(n, C, T)`` float32."""
    from skcontrast._data import normalize_panel

    X = np.asarray(X, np.float32)
    x = normalize_panel(X, "zscore")
    spectrum = np.abs(np.fft.rfft(np.nan_to_num(x), axis=-1)).astype(np.float32)
    return {"x": x, "dx": normalize_panel(np.diff(X, axis=-1), "zscore"),
            "d2x": normalize_panel(np.diff(X, n=2, axis=-1), "zscore"),
            "fx": normalize_panel(spectrum, "zscore")}  # fmt: skip


def _taps(encoder, x, layers=None):
    """Activations ``{layer: (N, D, T)}`` of ``x (N, 1, T)`` at every block up to the last
    one ``layers`` names (``None``: every block)."""
    observed = ~torch.isnan(x)
    h = encoder.input_fc(torch.nan_to_num(x)) * observed
    out = {}
    for i, block in enumerate(encoder.blocks[: LAST + 1 if layers is None else max(layers) + 1]):
        h = block(h)
        out[i] = h
    return out


def _layers(layer):
    """The block indices a readout's layer name stands for."""
    if layer == "mid":
        return list(MID)
    if layer == "early":  # the other blocks before the last
        return [i for i in range(LAST) if i not in MID]
    return [LAST]


def _rows(X, scale):
    """``(N * C, 1, T')``: channels as series (the encoder is channel-independent)."""
    from skcontrast.nn.series import fill_missing, resample

    x = torch.from_numpy(X.reshape(-1, 1, X.shape[-1]))
    return x if scale == 1 else resample(fill_missing(x), scale)


def _biases(encoder, X, scale, rng):
    """Per layer, ``(D, len(PPV_Q))`` quantiles of each map over a training sample."""
    pick = rng.choice(len(X), min(len(X), 64), replace=False)
    with torch.no_grad():
        taps = _taps(encoder, _rows(X[np.sort(pick)], scale))
    out = {}
    for layer, h in taps.items():
        flat = h.transpose(0, 1).reshape(h.shape[1], -1)
        if flat.shape[1] > 20_000:  # a sample of the steps is enough for three quantiles
            keep = torch.randperm(flat.shape[1], generator=torch.Generator().manual_seed(0))
            flat = flat[:, keep[:20_000]]
        out[layer] = _quantiles(flat, PPV_Q)  # (D, len(PPV_Q))
    return out


def _quantiles(h, qs):
    """Quantiles ``qs`` of ``h`` along the last axis (nearest rank, by selection:
    torch.quantile is several times slower)."""
    n = h.shape[-1]
    return torch.stack([h.kthvalue(1 + round(q * (n - 1)), dim=-1).values for q in qs], -1)


def _segments(h, k=SEGMENTS):
    """Mean over ``k`` consecutive equal parts of time, ``(N, D * k)`` (map-major)."""
    k = min(k, h.shape[-1])
    return torch.stack([p.mean(-1) for p in torch.tensor_split(h, k, dim=-1)], -1).flatten(1)


def _pooled(h, pooling, bias):
    """``(N, D * k)``: one pooling of activations ``h (N, D, T)`` over time."""
    if pooling == "max":
        return h.amax(-1)
    if pooling == "mean":
        return h.mean(-1)
    if pooling == "std":
        return h.std(-1)
    if pooling == "seg":
        return _segments(h)
    return (h[:, :, None, :] > bias[None, :, :, None]).float().mean(-1).flatten(1)  # ppv


def _pool(encoder, X, scale, biases, chunk=8192, poolings=("max", "mean", "ppv"), layers=None):
    """``{(layer, pooling): (n, C * k)}`` for a normalised view ``X (n, C, T)``."""
    n, C, T = X.shape
    per = max(1, int(chunk // max(1, C * T * scale)))
    parts = {}
    with torch.no_grad():
        for start in range(0, n, per):
            taps = _taps(encoder, _rows(X[start : start + per], scale), layers)
            for layer, h in taps.items():
                if layers is not None and layer not in layers:
                    continue
                m = len(h) // C
                for pooling in poolings:
                    f = _pooled(h, pooling, None if biases is None else biases[layer])
                    parts.setdefault((layer, pooling), []).append(f.reshape(m, -1).numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _blocks(encoder, X_all, n_train, needed):
    """Feature blocks ``{(view, scale, layer, pooling): (n_all, F)}``."""
    views = _views(X_all)
    rng = np.random.default_rng(0)
    out = {}
    for view, scale in sorted({(v, s) for v, s, _, _ in needed}):
        X = views[view]
        poolings = sorted({p for v, s, _, p in needed if (v, s) == (view, scale)})
        layers = sorted({i for v, s, n, _ in needed if (v, s) == (view, scale)
                         for i in _layers(n)})  # fmt: skip
        biases = _biases(encoder, X[:n_train], scale, rng) if "ppv" in poolings else None
        pooled = _pool(encoder, X, scale, biases, poolings=poolings, layers=layers)
        for (layer, pooling), f in pooled.items():
            name = "last" if layer == LAST else layer
            out[(view, scale, name, pooling)] = f
    return out


def _cap(X, y):
    """At most MAX_SPLIT series of a split, a seeded subsample (same for every method)."""
    if len(X) <= MAX_SPLIT:
        return X, y
    keep = np.sort(np.random.default_rng(0).choice(len(X), MAX_SPLIT, replace=False))
    return X[keep], y[keep]


def _readout(blocks, spec):
    cols = []
    for view, scale, layer, pooling in spec:
        layers = ["last"] if layer == "last" else _layers(layer)
        cols += [blocks[(view, scale, layer_, pooling)] for layer_ in layers]
    return np.concatenate(cols, axis=1)


def _splits(y_train, y_test):
    """Official split, then stratified resamples of the same train size (small sets)."""
    n_train, y = len(y_train), np.concatenate([y_train, y_test])
    yield 0, np.arange(n_train), np.arange(n_train, len(y))
    if len(y) > SMALL:
        return
    from sklearn.model_selection import StratifiedShuffleSplit

    counts = pd.Series(y).value_counts()
    if counts.min() < 2:
        return
    sss = StratifiedShuffleSplit(N_RESAMPLES, train_size=n_train, random_state=0)
    for k, (tr, te) in enumerate(sss.split(np.zeros(len(y)), y), start=1):
        yield k, tr, te


def _probe_lr(F, y, tr, te):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(F[tr], y[tr])
    return float(np.mean(clf.predict(F[te]) == y[te]))


def load_encoder(weights=None, params=None):
    """The series encoder of a ``save_weights`` file (default: the shipped base), or of a
    snapshot (a state dict of the series encoder, ``pretrain_base.py --snapshots``; built
    with the ``AimTSTransformer`` parameters ``params``, the defaults by default)."""
    from skcontrast import AimTSTransformer
    from skcontrast.pretrained import weights_path

    if weights is None:
        weights = weights_path("base")
    state = torch.load(weights, weights_only=True)
    if "input_fc.weight" not in state:  # a save_weights file
        return AimTSTransformer.load_weights(weights).network_.series_encoder.eval()
    encoder = AimTSTransformer(**(params or {}))._build_network(1, None).series_encoder
    encoder.load_state_dict(state)
    _tap_blocks_of(encoder)
    return encoder.eval()


def _tap_blocks_of(encoder):
    """Point MID and LAST at the encoder's own blocks (another depth than the default's)."""
    from skcontrast.nn.aimts import intermediate_blocks

    global MID, LAST
    LAST = len(encoder.blocks) - 1
    MID = intermediate_blocks(len(encoder.blocks))


def run_dataset(name, data_dir, weights=None, readouts=None, rocket=True, params=None):
    torch.set_num_threads(1)
    if readouts is None:
        readouts = [r for r in READOUTS if name in FIRST_ELEVEN or r not in SCALED]
    readouts = {r: {**READOUTS, **VIEWS}[r] for r in readouts}
    (X, y), (X_test, y_test) = load(name, Path(data_dir))
    X, y = _cap(np.asarray(X, np.float32), y)
    X_test, y_test = _cap(np.asarray(X_test, np.float32), y_test)
    X_all = np.concatenate([X, X_test])
    y_all = np.concatenate([y, y_test])
    encoder = load_encoder(weights, params)
    needed = [b for spec in readouts.values() for b in spec]
    start = time.perf_counter()
    blocks = _blocks(encoder, X_all, len(y), needed)
    encode_s = time.perf_counter() - start
    rows = []
    for split, tr, te in _splits(y, y_test):
        for readout, spec in readouts.items():
            F = _readout(blocks, spec)
            rows.append(dict(dataset=name, split=split, method=readout, n_features=F.shape[1],
                             accuracy=_probe_lr(F, y_all, tr, te), encode_s=encode_s))  # fmt: skip
    if not rocket:
        return rows
    # MiniRocket last (numba's threads slow torch in the same process)
    from sklearn.linear_model import RidgeClassifierCV
    from sktime.transformations.panel.rocket import MiniRocket, MiniRocketMultivariate

    rocket = MiniRocket if X_all.shape[1] == 1 else MiniRocketMultivariate
    X_rocket = np.nan_to_num(X_all)
    for split, tr, te in _splits(y, y_test):
        t = rocket(random_state=split).fit(X_rocket[tr])
        F_tr, F_te = np.asarray(t.transform(X_rocket[tr])), np.asarray(t.transform(X_rocket[te]))
        clf = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(F_tr, y_all[tr])
        accuracy = float(np.mean(clf.predict(F_te) == y_all[te]))
        rows.append(dict(dataset=name, split=split, method=MINIROCKET, n_features=F_tr.shape[1],
                         accuracy=accuracy, encode_s=np.nan))  # fmt: skip
    return rows


def run_all(data_dir, weights=None, readouts=None, tag=None, sets=None, params=None):
    """Every set, or ``sets`` (resumable); with ``tag``, the ``weights`` file's readouts
    go to their own CSV (no MiniRocket rows: the main CSV has them)."""
    csv = CSV if tag is None else RESULTS / f"frozen_readout_{tag}.csv"
    for name in _runner.pending(csv, "dataset", sets or SETS):
        start = time.perf_counter()
        rows = run_dataset(name, data_dir, weights, readouts, rocket=tag is None, params=params)
        _runner.append_rows(csv, rows)
        acc = pd.DataFrame(rows).groupby("method", sort=False).accuracy.mean().round(3)
        print(f"{name} ({time.perf_counter() - start:.0f} s)", acc.to_dict(), flush=True)


def report():
    df = pd.read_csv(CSV)
    per_set = df.groupby(["dataset", "method"]).accuracy.mean().unstack()
    groups = {"all 22": SETS, "transfer-validation group (12)": TRANSFER_VALIDATION,
              "later held-out sets (10)": NEW_SETS,
              "the first eleven sets, with self-ensembling": FIRST_ELEVEN}  # fmt: skip
    width = df.groupby("method").n_features.median()
    lines = ["# Readouts of the frozen shipped encoder", "", stamp(), "Its data: "
             "`python benchmarks/frozen_readout.py` (the run's log, with its own stamp: "
             "results/frozen_readout.log).", "",
             "Mean accuracy over the splits (official split; two more stratified resamples "
             "for sets of at most 1,500 series; splits of more than 1,000 series subsampled "
             "to 1,000), `StandardScaler` + `LogisticRegression()`; "
             "MiniRocket + `RidgeClassifierCV` on the same splits. Wins/ties/losses (ties "
             "within 0.005) and Wilcoxon p are against MiniRocket, per set.", ""]  # fmt: skip
    for title, names in groups.items():
        t = per_set.loc[per_set.index.intersection(names)]
        shown = [r for r in READOUTS if set(names) <= set(FIRST_ELEVEN) or r not in SCALED]
        t = t[[*shown, MINIROCKET]].dropna()
        ref = t[MINIROCKET]
        summary = pd.DataFrame({
            "mean": t.mean(),
            "minus MiniRocket (points)": 100 * (t.mean() - ref.mean()),
            "w/t/l vs MiniRocket": {m: wtl(t[m], ref) for m in t.columns},
            "p": {m: wilcoxon_p(t[m], ref) for m in t.columns},
            "features (median)": width,
        }).loc[[*shown, MINIROCKET]]  # fmt: skip
        summary.index.name = "readout"
        lines += [f"## {title}", "", f"{len(t)} sets.", ""]
        lines += _md(summary) + [""]
    chosen, old, ppv = ("last+mid mean+max, +diff", "last max (old default)",
                        "last+mid mean+max+ppv, +diff")  # fmt: skip
    a, b, c = per_set[chosen], per_set[old], per_set[ppv]
    lines += ["## The choice", "",
              f"`AimTSTransformer(readout=\"multi\")`, the new default, is `{chosen}`. On the "
              f"{len(a)} sets measured it is {100 * (a - b).mean():+.1f} points over the old "
              f"default (better/tied/worse {wtl(a, b)}, Wilcoxon p = {wilcoxon_p(a, b):.2f}); "
              f"MiniRocket's pooling (ppv) on top adds {100 * (c - a).mean():+.1f} "
              f"({wtl(c, a)}, p = {wilcoxon_p(c, a):.2f}) for 2.5 times the features: not "
              "adopted.", ""]  # fmt: skip
    per_set.index.name = "dataset"
    lines += ["## Per set", ""] + md_table(per_set[[*READOUTS, MINIROCKET]]) + [""]
    (RESULTS / "frozen_readout.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _md(table):
    out = ["| readout | " + " | ".join(table.columns) + " |",
           "|---" * (len(table.columns) + 1) + "|"]  # fmt: skip
    for idx, row in table.iterrows():
        cells = [f"{row['mean']:.3f}", f"{row.iloc[1]:+.1f}", row.iloc[2], f"{row['p']:.3g}",
                 f"{row.iloc[4]:.0f}"]  # fmt: skip
        out.append(f"| {idx} | " + " | ".join(cells) + " |")
    return out


# the corpus at a fixed budget: runs of the same recipe and seed, 500 steps, on one corpus
ARMS = {"real only (23,990 series)": "real500fix_step500",
        "synthetic only (20,000 series)": "synthetic500fix_step500",
        # another encoder, on both: wider and shallower (--param hidden_channels=96
        # --param depth=6; receptive field 253 steps; 1.4x the default's time a step)
        "both, encoder 96 wide x 6 blocks": "wide96d6fix_step500"}  # fmt: skip


def corpus_arms(readout, common, rows, step=500):
    """Lines of the fixed-budget table: real only / synthetic only / both at ``step``."""
    arms = {}
    for label, tag in ARMS.items():
        path = RESULTS / f"frozen_readout_{tag}.csv"
        if path.exists():
            table = pd.read_csv(path)
            arms[label] = table[table.method == readout].groupby("dataset").accuracy.mean()
    if not arms or step not in rows:
        return []
    both = rows[step][common]
    lines = ["", f"The corpus at a fixed budget ({step} steps of 16 series, "
             f"`pretrain_base.py --corpus real|synthetic --n-iters {step}`, the same recipe "
             "and seed; one thread), frozen, on the same sets:", "",
             "| corpus (encoder: the default 64 x 10 unless named) | mean accuracy | "
             "w/t/l vs both | p vs both |", "|---|---|---|---|",
             f"| no pretraining (step 0) | {rows[0][common].mean():.3f} | "
             f"{wtl(rows[0][common], both)} | {wilcoxon_p(rows[0][common], both):.2f} |"
             if 0 in rows else "| no pretraining | - | - | - |"]  # fmt: skip
    for label, r in arms.items():
        lines.append(f"| {label} | {r[common].mean():.3f} | {wtl(r[common], both)} | "
                     f"{wilcoxon_p(r[common], both):.2f} |")  # fmt: skip
    lines.append(f"| both (43,990 series) | {both.mean():.3f} | - | - |")
    return lines


def curve(prefix="both20k_step", readout="last+mid mean+max, +diff"):
    """Transfer accuracy against pretraining steps: the snapshots' CSVs (``--tag
    {prefix}{step}``) beside the shipped base and MiniRocket, on the sets every snapshot
    ran."""
    rows = {}
    for path in sorted(RESULTS.glob(f"frozen_readout_{prefix}*.csv")):
        step = int(path.stem.rsplit(prefix, 1)[1])
        table = pd.read_csv(path)
        rows[step] = table[table.method == readout].groupby("dataset").accuracy.mean()
    base = pd.read_csv(CSV)
    ref = base[base.method == readout].groupby("dataset").accuracy.mean()
    rocket = base[base.method == MINIROCKET].groupby("dataset").accuracy.mean()
    common = sorted(set.intersection(*(set(r.index) for r in rows.values())) & set(ref.index))
    lines = ["# Transfer against pretraining steps (the next base, in progress)", "", stamp(), "",
             f"Frozen readout `{readout}` (the default `readout=\"multi\"`), probed as in "
             f"`frozen_readout.md`, on the {len(common)} held-out sets every snapshot ran. "
             "Snapshots of the run `pretrain_base.py --tag both20k --corpus both --synthetic "
             "20000` (43,990 series: 23,990 real, 20,000 synthetic; 16 series a step), against "
             "the shipped base (4,000 steps on 21,663 real series) and MiniRocket.", "",
             "| encoder | steps | series seen | mean accuracy | w/t/l vs base | p vs base |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for step, r in sorted(rows.items()):
        a, b = r[common], ref[common]
        lines.append(f"| both20k snapshot | {step:,} | {16 * step:,} | {a.mean():.3f} | "
                     f"{wtl(a, b)} | {wilcoxon_p(a, b):.2f} |")  # fmt: skip
    lines.append(f"| shipped base | 4,000 | 64,000 | {ref[common].mean():.3f} | - | - |")
    lines.append(f"| MiniRocket + RidgeCV | - | - | {rocket[common].mean():.3f} | - | - |")
    lines += corpus_arms(readout, common, rows)
    lines += ["", "Per set:", "", "| set | " + " | ".join(f"{k:,}" for k in sorted(rows))
              + " | base | MiniRocket |", "|---" * (len(rows) + 3) + "|"]  # fmt: skip
    for name in common:
        cells = [f"{rows[k][name]:.3f}" for k in sorted(rows)]
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {ref[name]:.3f} | {rocket[name]:.3f} |")  # fmt: skip
    (RESULTS / "frozen_snapshots.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def views_report(tag="views"):
    """``frozen_readout_{tag}.md``: the readouts of ``--views`` (transfer group) or
    ``--blocks`` (22 sets) against the old default and MiniRocket (the main CSV's rows,
    same splits)."""
    rows, sets = (VIEW_ROWS, TRANSFER_VALIDATION) if tag == "views" else (BLOCK_ROWS, SETS)
    views = pd.read_csv(RESULTS / f"frozen_readout_{tag}.csv")
    rocket = pd.read_csv(CSV).query("method == @MINIROCKET")
    per_set = views.groupby(["dataset", "method"]).accuracy.mean().unstack()[rows]
    per_set = per_set.loc[[n for n in sets if n in per_set.index]]
    per_set[MINIROCKET] = rocket.groupby("dataset").accuracy.mean().reindex(per_set.index)
    default, ref = per_set[rows[0]], per_set[MINIROCKET]

    def paired(m, other):  # the sets both have
        both = per_set[[m]].assign(o=other).dropna()
        return both[m], both["o"]

    summary = pd.DataFrame({
        "mean": per_set.mean(),
        "minus multi (points)": {
            m: 100 * (paired(m, default)[0] - paired(m, default)[1]).mean() for m in per_set},
        "w/t/l vs multi": {m: wtl(*paired(m, default)) for m in per_set},
        "p vs multi": {m: wilcoxon_p(*paired(m, default)) for m in per_set},
        "minus MiniRocket (points, its sets)": {
            m: 100 * (paired(m, ref)[0] - paired(m, ref)[1]).mean() for m in per_set},
        "w/t/l vs MiniRocket": {m: wtl(*paired(m, ref)) for m in per_set},
        "features (median)": views.groupby("method").n_features.median(),
    }).loc[list(per_set.columns)]  # fmt: skip
    summary.index.name = "readout"
    per_set.index.name = "dataset"
    title = {"views": "More views and poolings", "blocks": "Readouts without the last block"}
    lines = [f"# {title[tag]} for the frozen base", "", stamp(),
             f"Its data: `python benchmarks/frozen_readout.py --{tag}` (resumable CSV "
             f"`frozen_readout_{tag}.csv`); MiniRocket's rows are the main CSV's, same splits.",
             "", f"{len(per_set)} held-out sets, probes and splits as in `frozen_readout.md`"
             f" ({int(ref.notna().sum())} with a MiniRocket row). "
             f"{INTROS[tag]} Ties within 0.005.", ""]  # fmt: skip
    lines += ["| readout | " + " | ".join(summary.columns) + " |",
              "|---" * (len(summary.columns) + 1) + "|"]  # fmt: skip
    for name, row in summary.iterrows():
        cells = [f"{row.iloc[0]:.3f}", f"{row.iloc[1]:+.2f}", row.iloc[2], f"{row.iloc[3]:.2f}",
                 f"{row.iloc[4]:+.2f}", row.iloc[5],
                 "-" if pd.isna(row.iloc[6]) else f"{row.iloc[6]:.0f}"]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Per set", ""] + md_table(per_set) + [""]
    (RESULTS / f"frozen_readout_{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--curve", action="store_true", help="the snapshots' table")
    parser.add_argument(
        "--views",
        action="store_true",
        help="more views and poolings (VIEWS), transfer-validation group",
    )
    parser.add_argument("--blocks", action="store_true", help="readouts without the last block")
    parser.add_argument("--views-report", choices=["views", "blocks"], help="their table")
    parser.add_argument("--weights", help="another encoder: a save_weights file or a snapshot")
    parser.add_argument("--tag", help="names the CSV of --weights")
    parser.add_argument("--readouts", help="comma-separated names of READOUTS (default: all)")
    parser.add_argument("--transfer-only", action="store_true",
                        help="only the transfer-validation group (12 sets)")  # fmt: skip
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        help="the snapshot's architecture (pretrain_base.py's): depth=6",
    )
    args = parser.parse_args()
    if args.report:
        report()
    elif args.curve:
        curve()
    elif args.views_report:
        views_report(args.views_report)
    elif args.views or args.blocks:
        print(stamp(" ".join(sys.argv)), flush=True)
        if args.views:
            run_all(args.data, readouts=VIEW_ROWS, tag="views", sets=TRANSFER_VALIDATION)
        else:
            run_all(args.data, readouts=BLOCK_ROWS, tag="blocks")
    else:
        if (args.weights is None) != (args.tag is None):
            parser.error("--weights and --tag go together")
        print(stamp(" ".join(sys.argv)), flush=True)
        # comma-separated names; a name may hold a comma itself ("..., +diff")
        given = args.readouts
        readouts = None if not given else [given] if given in READOUTS else given.split(",")
        sets = TRANSFER_VALIDATION if args.transfer_only else None
        import ast

        params = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
        run_all(args.data, args.weights, readouts, args.tag, sets, params)
