"""BTSF recipe ablation: which training views, objective and readout make training help.

Each variant is fitted once per dataset and seed; every readout is probed from the same
fit (the readout does not change training): features standardised with training
statistics, then a default ``LogisticRegression``, as the main benchmark does. Rows are
appended to ``results/btsf_recipe.csv`` as they finish, and a rerun skips the rows already
there (it resumes after an interruption). ``--report`` writes ``results/btsf_recipe.md``.
``--suite dev`` runs every set of the dev suite instead of the quick subset, into
``results/btsf_recipe_dev.csv`` / ``.md``.

    python benchmarks/btsf_recipe.py --variants paper "crops b16" --seeds 0 1 2
    python benchmarks/btsf_recipe.py --suite dev --variants untrained "crops b16 swa" \
        --readouts "multiscale bf16" "scales 2,1"
    python benchmarks/btsf_recipe.py --variants "fusion: sum" "fusion: concat"
    python benchmarks/btsf_recipe.py --report
"""

from __future__ import annotations

import argparse
import time

import _runner
import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, dev_suite, load, stamp, wilcoxon_p, wtl

QUICK = ["GunPoint", "ArrowHead", "ItalyPowerDemand", "ECG200", "CBF", "SyntheticControl",
         "DistalPhalanxTW", "Fungi", "BasicMotions", "InsectEPGSmallTrain", "DodgerLoopDay",
         "FreezerRegularTrain"]  # fmt: skip
# name -> BTSFTransformer parameters (with variants.BTSFVariant's fusion, lr_schedule and
# ema_decay, options the package no longer has), pinned to the values the rows were recorded with
# (the defaults have moved since: 100 steps of 32 with either recipe, SWA on with crops;
# then the crops recipe trained 200 steps and the paper's 100, 16 series each)
B16 = dict(batch_size=16, n_iters=200)  # the crops recipe's budget when the rows were run
LAST = dict(B16, swa=False)  # ... with the last weights (before SWA was the default)
B32 = dict(batch_size=32, swa=True, n_iters=100)  # the current default's budget
TS2VEC = dict(fusion="temporal", hidden_channels=64, repr_dims=320, temporal_depth=10,
              crop_length=512)  # fmt: skip
VARIANTS = {
    "untrained": dict(n_iters=0),
    "paper": dict(recipe="paper", batch_size=16, n_iters=100),
    "crops b16": LAST,
    "crops b16 no temporal": dict(LAST, temporal_weight=0.0),
    "crops b16 no mask": dict(LAST, mask_ratio=0.0),
    "crops b16 tau0.2": dict(LAST, temperature=0.2),
    "crops b16 100 steps": dict(LAST, n_iters=100),
    "crops b16 crop128": dict(LAST, crop_length=128),
    "crops b16 swa": dict(B16, swa=True),
    "crops b16 cosine": dict(LAST, lr_schedule="cosine"),
    "crops b16 100 steps swa": dict(B16, n_iters=100, swa=True),
    "crops b16 swa tw4": dict(B16, swa=True, temporal_weight=4.0),
    # an exponential instead of an equal-weight average of the weights
    "crops b16 ema 0.99": dict(B16, ema_decay=0.99),
    # as many series seen in half the steps: a step on short series is overhead-bound
    # (the current default)
    "crops b32 swa 100 steps": B32,
    # TS2Vec's budget for larger data: 600 steps when the training set holds > 100,000 values
    "crops b16 swa 600 steps": dict(B16, swa=True, n_iters=600),
    # dataset-level instead of per-series normalisation (levels and spreads kept)
    "untrained global": dict(n_iters=0, normalize="global"),
    "crops b16 swa global": dict(B16, swa=True, normalize="global"),
    # the paper's HAR ablation of the fusion, with the current defaults (no rows yet)
    "fusion: temporal only": dict(fusion="temporal"),
    "fusion: spectral only": dict(fusion="spectral"),
    "fusion: sum": dict(fusion="sum"),
    "fusion: concat": dict(fusion="concat"),
    "fusion: bilinear, 1 pass": dict(n_loops=0),
    # cheaper steps and encoding (the fit-time target): a narrower convolution width,
    # shorter crops, and the untrained encoder of that width
    "crops b32 swa 100 steps hidden32": dict(B32, hidden_channels=32),
    "crops b32 swa 100 steps crop128": dict(B32, crop_length=128),
    "crops b32 swa 100 steps hidden32 crop128": dict(B32, hidden_channels=32, crop_length=128),
    "untrained hidden32": dict(n_iters=0, hidden_channels=32),
    # TS2Vec's 1e-3 is for batches of 8; ours are 32 (square-root scaling: 2e-3)
    "crops b32 swa 100 steps lr2e-3": dict(B32, lr=2e-3),
    # stronger input augmentations on each crop (benchmark-only, see augmented()):
    # AimTS's magnitudes (jitter sigma 0.3, scaling ~ N(1, 0.5)) and a weak setting
    "crops b32 swa 100 steps jitter0.3 scale0.5": dict(B32, augment=(0.3, 0.5)),
    "crops b32 swa 100 steps jitter0.1 scale0.1": dict(B32, augment=(0.1, 0.1)),
    # the dev-suite ablation of the current default: the paper's recipe at today's budget
    # (whole-series dropout views, instance contrast only) and no temporal contrast
    "paper b32": dict(recipe="paper", batch_size=32, n_iters=100),
    "crops b32 swa 100 steps no temporal": dict(B32, temporal_weight=0.0),
    # a TS2Vec-style reference: BTSF's temporal branch alone (causal convolutions) at
    # TS2Vec's sizes (hidden 64, output 320, 10 blocks) and budget (200 steps of 8, lr
    # 1e-3, SWA), trained on the hierarchical contrast alone (see hierarchical_only());
    # crops of at most 512 points instead of TS2Vec's 3,000 (CPU time: 2.5 s a step at
    # 2,000 points); and its untrained encoder
    "ts2vec-style": dict(TS2VEC, batch_size=8, n_iters=200, swa=True, instance=False),
    "ts2vec-style untrained": dict(TS2VEC, n_iters=0),
}
# every variant trains on (and its "multiscale" readouts read) per-series z-scored series,
# the package default when these rows were first recorded; "zscore+global" adds the other
VARIANTS = {name: {"normalize": "zscore", **params} for name, params in VARIANTS.items()}
READOUTS = (
    "fused",
    "multiscale",
    "temporal only",
    "multiscale+mean",
    "multiscale+layers",
    "multiscale bf16",
    # self-ensembling over input resolutions (Mantis): the default readout with
    # BTSFTransformer(input_scales=...), the series resampled to each scale x its length
    "scales 1,0.5",
    "scales 1,0.5,0.25",
    "scales 2,1",
    "scales 2,1,0.5",
    # an ensemble of normalisations: the default readout of the per-series z-scored
    # series and of the series normalised with the training set's per-channel statistics
    "zscore+global bf16",
    # TS2Vec's instance representation: the temporal encoder's output max-pooled over the
    # whole series (no halves or quarters, no fused logits)
    "series max",
)
CSV = RESULTS / "btsf_recipe.csv"
DEV_CSV = RESULTS / "btsf_recipe_dev.csv"  # --suite dev: every set of the dev suite


def readout_features(rep, X, readout):
    """Features of one readout from the fitted network (candidates not in the package yet
    are computed here from the network's parts, as the package's own readout reads them)."""
    import torch

    from skcontrast.nn.btsf import fill_missing, multiscale_max_pool

    rep.input_scales = (1.0,)
    if readout == "zscore+global bf16":
        rep.readout, rep.options = "multiscale", {**(rep.options or {}), "mixed_precision": True}
        own = rep.normalize, rep.input_mean_, rep.input_scale_
        parts = []
        for how in ("zscore", "global"):
            rep.normalize = how
            rep.input_mean_, rep.input_scale_ = own[1:] if own[1] is not None else rep.stats
            parts.append(rep.transform(X).to_numpy())
        rep.normalize, rep.input_mean_, rep.input_scale_ = own
        return np.hstack(parts)
    if readout.startswith("scales "):
        rep.readout, rep.options = "multiscale", {**(rep.options or {}), "mixed_precision": True}
        rep.input_scales = tuple(float(s) for s in readout.split()[1].split(","))
        return rep.transform(X).to_numpy()
    if readout in ("fused", "multiscale", "multiscale bf16"):
        # attribute writes: set_params would reset the fitted state. "fused" and
        # "multiscale" encode in float32 (as recorded before bf16 became BTSF's CPU
        # default); "multiscale bf16" is the default, bf16 on a CPU with native bf16
        rep.readout = "fused" if readout == "fused" else "multiscale"
        rep.options = {**(rep.options or {}), "mixed_precision": readout == "multiscale bf16"}
        return rep.transform(X).to_numpy()
    net = rep.network_

    def encode(batch):
        x = rep._instances(batch)
        if net.missing == "interpolate":
            x = fill_missing(x)
        if readout == "series max":  # TS2Vec's representation: no layer outputs needed
            return net.temporal_encoder(x).amax(-1)
        enc = net.temporal_encoder
        observed = ~torch.isnan(x).any(dim=1, keepdim=True)
        h = enc.input_fc(torch.nan_to_num(x)) * observed
        layers = []
        for block in enc.blocks:
            h = block(h)
            layers.append(h.amax(-1))
        h_t = enc.output_fc(h)
        parts = [multiscale_max_pool(h_t)]
        if readout != "temporal only":
            parts.insert(0, net.fuse(net.encode(x)[1]))
        if readout == "multiscale+mean":
            parts.append(h_t.mean(-1))
        if readout == "multiscale+layers":
            parts += layers[:-1]
        return torch.cat(parts, 1).reshape(batch.shape[0], -1)

    return _grouped(rep, X, encode)


def _grouped(rep, X, encode):
    import torch

    from skcontrast._data import check_panel, normalize_panel

    out = []
    for index, panel in rep_groups(X):
        panel = normalize_panel(check_panel(panel, "x"), rep.normalize)
        with torch.inference_mode():
            out.append((index, encode(torch.from_numpy(panel)).numpy()))
    rows = np.empty((sum(len(i) for i, _ in out), out[0][1].shape[1]), dtype=np.float32)
    for index, values in out:
        rows[index] = values
    return rows


def rep_groups(X):
    from skcontrast._data import groups_by_length

    if isinstance(X, np.ndarray):
        return [(np.arange(len(X)), X)]
    return groups_by_length([f for f in X])


def probe(rep, X_train, y_train, X_test, y_test, readout):
    from sklearn.linear_model import LogisticRegression

    F_train = readout_features(rep, X_train, readout)
    F_test = readout_features(rep, X_test, readout)
    mean, scale = F_train.mean(0), F_train.std(0)
    scale[scale < 1e-8] = 1
    clf = LogisticRegression().fit((F_train - mean) / scale, y_train)
    return float(clf.score((F_test - mean) / scale, y_test))


def augmented(rep, jitter, scaling):
    """``rep`` training on crops that are also jittered (Gaussian noise of standard
    deviation ``jitter``; the series are z-scored) and scaled (one factor ~ N(1, scaling)
    per series and channel), drawn independently for each view after its dropout, from the
    step's generator. A measurement, not a package option: the views' dropout is wrapped
    for the duration of each training step."""
    import torch

    from skcontrast import _btsf_loss

    dropout = _btsf_loss.dropout

    def augment(x, rate, generator):
        x = dropout(x, rate, generator)
        scale = torch.randn(x.shape[:2] + (1,), generator=generator, device=x.device)
        noise = torch.randn(x.shape, generator=generator, device=x.device)
        return x * (1 + scaling * scale) + jitter * noise

    return _patched(rep, dropout=augment)


def hierarchical_only(rep):
    """``rep`` trained on the hierarchical contrast of its temporal branch alone (TS2Vec's
    objective): the instance contrast of the fused representation is replaced by a zero
    (kept in the graph) for the duration of each training step. A measurement, not a
    package option."""

    def no_instance(z_anchor, z_positive, temperature):
        return (z_anchor * 0).sum()

    return _patched(rep, info_nce=no_instance)


def _patched(rep, **parts):
    """``rep`` whose training steps run with these parts of ``skcontrast._btsf_loss``
    replaced (restored after each step; an instance attribute, so a clone is plain)."""
    from unittest import mock

    from skcontrast import _btsf_loss

    def training_loss(network, batch, step):
        with mock.patch.multiple(_btsf_loss, **parts):
            return type(rep)._training_loss(rep, network, batch, step)

    rep._training_loss = training_loss
    return rep


def run(datasets, variants, seeds, readouts=READOUTS, csv=CSV):
    import torch
    from variants import BTSFVariant  # BTSFTransformer with fusion, lr_schedule, ema_decay

    from skcontrast._data import check_panel, global_statistics

    done = (
        pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["dataset", "variant", "seed"])
    )
    if "readout" not in done:
        done["readout"] = []
    keys = set(zip(done.dataset, done.variant, done.seed, done.readout, strict=True))
    for name in datasets:
        (X_train, y_train), (X_test, y_test) = load(name)
        for variant in variants:
            for seed in seeds:
                todo = [r for r in readouts if (name, variant, seed, r) not in keys]
                if not todo:
                    continue
                params = dict(VARIANTS[variant])
                augment = params.pop("augment", None)
                instance = params.pop("instance", True)
                rep = BTSFVariant(random_state=seed, standardize=False, **params)
                if augment is not None:
                    rep = augmented(rep, *augment)
                if not instance:
                    rep = hierarchical_only(rep)
                start = time.perf_counter()
                rep.fit(X_train)
                fit_s = time.perf_counter() - start
                # the training set's per-channel statistics (for "zscore+global" readouts)
                rep.stats = global_statistics(
                    [check_panel(p, "X") for _, p in rep_groups(X_train)], "X"
                )
                final_loss = rep.loss_history_[-1] if rep.loss_history_ else np.nan
                base = dict(dataset=name, variant=variant, seed=seed, fit_s=fit_s,
                            steps=rep.n_iters_, threads=torch.get_num_threads(),
                            final_loss=final_loss)  # fmt: skip
                test = (X_train, y_train, X_test, y_test)
                rows = [{**base, "readout": r, "accuracy": probe(rep, *test, r)}
                        for r in todo]  # fmt: skip
                accuracies = {r["readout"]: round(r["accuracy"], 3) for r in rows}
                print(name, variant, seed, f"fit {fit_s:.1f} s", accuracies, flush=True)
                _runner.append_rows(csv, rows)


# what the paired table compares with: the default recipe when most variants were run (the
# default is now "crops b32 swa 100 steps", one of the variants paired with it)
REFERENCE = "crops b16 swa"


def report(csv=CSV):
    df = pd.read_csv(csv)
    dev = csv == DEV_CSV
    # mean over seeds per dataset, then over the datasets every full variant has
    per_all = df.groupby(["variant", "readout", "dataset"]).accuracy.mean().unstack("dataset")
    n_sets = per_all.notna().sum(axis=1)
    # run on fewer than half the sets: only in the paired table (a set every variant but
    # one ran, as FreezerRegularTrain on the quick subset, drops out of the main table)
    partial = n_sets < n_sets.max() / 2
    per = per_all[~partial].dropna(axis=1)
    default = "multiscale" if ("untrained", "multiscale") in per.index else "multiscale bf16"
    base = per.loc[("untrained", default)] if ("untrained", default) in per.index else None
    names = f"{per.shape[1]} datasets" if dev else (
        f"{per.shape[1]} datasets ({', '.join(per.columns)})")  # fmt: skip
    lines = [
        f"# BTSF recipe ablation ({'dev suite' if dev else 'quick subset'})",
        "",
        f"{stamp()} Default LogisticRegression on standardised features; mean "
        f"test accuracy over {names} and the seeds run; 'vs untrained' counts datasets "
        f"where the row beats the untrained encoder with the {default} readout, 'vs "
        f"{default}' those where it beats the same fit with the {default} readout (±0.005; "
        "the 'scales' rows, encoded in bf16, against 'multiscale bf16').",
        "",
        f"| variant | readout | mean acc | W/T/L vs untrained | W/T/L vs {default} | seeds "
        "| mean fit s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (variant, readout), row in per.iterrows():
        sub = df[df.variant == variant]
        vs_base = "-" if base is None else wtl(row, base)
        # against the same precision where both ran: "scales ..." rows encode in bf16
        same = "multiscale bf16" if readout.startswith("scales ") else default
        own = per.loc[(variant, same)] if (variant, same) in per.index else None
        vs_own = "-" if own is None or readout == same else wtl(row, own)
        lines.append(f"| {variant} | {readout} | {row.mean():.3f} | {vs_base} | {vs_own} | "
                     f"{sub.seed.nunique()} | {sub.fit_s.mean():.1f} |")  # fmt: skip
    lines += _paired_table(df, per_all.drop(index=REFERENCE, level=0, errors="ignore"))
    csv.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _paired_table(df, per):
    """Every variant against the reference recipe's fits of the same sets and seeds (same
    readout): mean of both, the difference, W/T/L, Wilcoxon p. Variants run on some of the
    sets or seeds are only comparable this way (the main table leaves out the first)."""
    if per.empty:
        return []
    lines = [
        "",
        f"Each variant paired with '{REFERENCE}' (the previous default recipe) on the sets "
        "and seeds both ran, same readout (variants run on some of the sets are only here):",
        "",
        f"| variant | readout | sets | mean acc | {REFERENCE} | change (points) | W/T/L "
        f"| Wilcoxon p | seeds | mean fit s | {REFERENCE} fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = ["dataset", "seed", "readout"]
    ref = df[df.variant == REFERENCE].set_index(keys)[["accuracy", "fit_s"]]
    for variant, readout in per.index:
        own = df[(df.variant == variant) & (df.readout == readout)].set_index(keys)
        both = own[["accuracy", "fit_s"]].join(ref, how="inner", rsuffix="_ref")
        if both.empty:
            continue
        mean = both.groupby(level="dataset")[["accuracy", "accuracy_ref"]].mean()
        a, b = mean.accuracy, mean.accuracy_ref
        lines.append(
            f"| {variant} | {readout} | {len(mean)} | {a.mean():.3f} | {b.mean():.3f} | "
            f"{100 * (a - b).mean():+.1f} | {wtl(a, b)} | {wilcoxon_p(a, b):.2g} | "
            f"{both.index.get_level_values('seed').nunique()} | {both.fit_s.mean():.1f} | "
            f"{both.fit_s_ref.mean():.1f} |"
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", help="default: every set of the suite")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--readouts", nargs="*", default=list(READOUTS))
    parser.add_argument(
        "--suite", choices=("quick", "dev"), default="quick",
        help="dev: the dev suite's sets, into results/btsf_recipe_dev.*",
    )  # fmt: skip
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    csv, datasets = CSV, args.datasets or QUICK
    if args.suite == "dev":
        csv, datasets = DEV_CSV, args.datasets or dev_suite(DEFAULT_DATA)
    if not args.report:
        run(datasets, args.variants, args.seeds, args.readouts, csv)
    report(csv)


if __name__ == "__main__":
    main()
