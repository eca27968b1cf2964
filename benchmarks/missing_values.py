"""Missing values: accuracy of the BTSF pipeline with scattered NaN in train and test.

For each dataset of the quick subset (equal-length sets), seed and rate, the same fraction of
points (5, 10, 20 %) is set to NaN at random in the training and the test series;
``Pipeline([BTSFTransformer(random_state=seed, normalize="zscore", batch_size=16,
n_iters=200), LogisticRegression()])`` (missing values interpolated) is compared with
``missing="mask"`` (TS2Vec's masking) and with the complete data. ``normalize="zscore"``
and 200 steps of 16 series were the defaults when the rows were measured; they stay
pinned (``PINNED``) so that a resumed run pairs with them. Rows go to
``results/missing_values.csv`` as they finish (a rerun resumes);
``results/missing_values.md`` holds the table.

``--suite dev`` runs the equal-length sets of the whole dev suite, at 10 % unless
``--runs`` names other rates (into
``results/missing_values_dev.csv`` / ``.md``); its complete-data accuracy is the same
fit's, read from ``results/btsf_recipe_dev.csv`` (variant "crops b16 swa", the defaults,
readout "multiscale bf16", the default encoding on this CPU, ``normalize="zscore"``), not
refitted. The run ``MiniRocket:0.1`` fits ``MiniRocket * RidgeClassifierCV`` on the same
series with their gaps interpolated (after every BTSF run: numba's threads slow torch),
against its complete-data rows of ``results/classification.csv``.

    python benchmarks/missing_values.py [--seeds 0 1 2] [--report]
    python benchmarks/missing_values.py --runs interpolate:0 interpolate:0.1
    python benchmarks/missing_values.py --suite dev --seeds 0
    python benchmarks/missing_values.py --suite dev --seeds 0 --runs interpolate:0.2
    python benchmarks/missing_values.py --suite dev --seeds 0 --runs MiniRocket:0.1
"""

from __future__ import annotations

import argparse
import time

import _runner
import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, dev_suite, load, make, stamp
from btsf_recipe import DEV_CSV, QUICK

CSV = RESULTS / "missing_values.csv"
SUITE_CSV = RESULTS / "missing_values_dev.csv"  # --suite dev
CURRENT_CSV = RESULTS / "missing_values_current.csv"  # --current: today's defaults
# (variant, rate): rate 0 is the complete data
RUNS = [("interpolate", 0.0), ("interpolate", 0.05), ("interpolate", 0.1),
        ("interpolate", 0.2), ("mask", 0.1)]  # fmt: skip


# the defaults when the rows were recorded; pinned so that a resumed run pairs with them
PINNED = {"normalize": "zscore", "batch_size": 16, "n_iters": 200}


def with_holes(X, rate, seed):
    if rate == 0:
        return X
    X = np.array(X, dtype=np.float32, copy=True)
    X[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
    # a channel with no observed value is an error; keep one point
    empty = np.isnan(X).all(axis=2)
    X[..., 0][empty] = 0.0
    return X


def run(datasets, seeds, runs=RUNS, csv=CSV, params=None):
    done = pd.read_csv(csv) if csv.exists() else None
    keys = set() if done is None else set(
        zip(done.dataset, done.seed, done.variant, done.rate, strict=True)
    )  # fmt: skip
    # MiniRocket after every BTSF run: once numba's threads exist, torch runs slower
    phases = [[r for r in runs if r[0] != "MiniRocket"], [r for r in runs if r[0] == "MiniRocket"]]
    for phase in filter(None, phases):  # an empty phase loads no data
        for name in datasets:
            (X_train, y_train), (X_test, y_test) = load(name)
            if not isinstance(X_train, np.ndarray) or np.isnan(X_train).any():
                continue  # unequal lengths or missing values of its own
            for seed in seeds:
                for variant, rate in phase:
                    if (name, seed, variant, rate) not in keys:
                        data = (X_train, y_train), (X_test, y_test)
                        run_one(name, seed, variant, rate, data, csv, params)


def run_one(name, seed, variant, rate, data, csv, params):
    """One fit on ``data`` with ``rate`` of its points missing; its row goes to ``csv``."""
    (X_train, y_train), (X_test, y_test) = data
    X_train, X_test = with_holes(X_train, rate, seed), with_holes(X_test, rate, seed + 1000)
    if variant == "MiniRocket":  # the gaps linearly interpolated, as in classification.py
        from classification import for_minirocket, make_model

        model = make_model("MiniRocket", seed, X_train.shape[1])
        X_train, X_test = for_minirocket(X_train), for_minirocket(X_test)
    else:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        from skcontrast import BTSFTransformer

        rep = make(BTSFTransformer, random_state=seed, missing=variant, **(params or {}))
        model = Pipeline([("rep", rep), ("clf", LogisticRegression())])
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    accuracy = float(np.mean(np.asarray(model.predict(X_test)) == y_test))
    row = dict(dataset=name, seed=seed, variant=variant, rate=rate, accuracy=accuracy, fit_s=fit_s)
    print(row, flush=True)
    _runner.append_rows(csv, [row])


def complete_from_recipe_run(seeds) -> pd.DataFrame:
    """The default fit's complete-data accuracy from the dev-suite recipe run, as rows."""
    dev = pd.read_csv(DEV_CSV)
    dev = dev[(dev.variant == "crops b16 swa") & (dev.readout == "multiscale bf16")]
    dev = dev[dev.seed.isin(seeds)]
    return dev.assign(variant="interpolate", rate=0.0)[
        ["dataset", "seed", "variant", "rate", "accuracy", "fit_s"]
    ]


def complete_minirocket(seeds) -> pd.DataFrame:
    """MiniRocket's complete-data accuracy from the main classification run, as rows."""
    from classification import CSV as CLASSIFICATION_CSV

    df = pd.read_csv(CLASSIFICATION_CSV)
    df = df[(df.method == "MiniRocket") & df.seed.isin(seeds)]
    return df.assign(variant="MiniRocket", rate=0.0)[
        ["dataset", "seed", "variant", "rate", "accuracy", "fit_s"]
    ]


def report(csv=CSV):
    df = pd.read_csv(csv)
    suite = csv == SUITE_CSV
    seeds = df.seed.unique()
    if suite:
        df = pd.concat([df, complete_from_recipe_run(seeds)])
    if (df.variant == "MiniRocket").any():
        df = pd.concat([df, complete_minirocket(seeds)])
    table = df.pivot_table(index="dataset", columns=["variant", "rate"], values="accuracy")
    minirocket = sorted(c for c in table.columns if c[0] == "MiniRocket")
    btsf = [c for c in RUNS if c in table.columns]
    cols = btsf + minirocket
    table = table.dropna(subset=btsf)  # MiniRocket, a reference, may have run on fewer
    both = table.dropna().index  # the sets with every column
    base = table[("interpolate", 0.0)]
    lines = [
        "# BTSF with scattered missing values (NaN in train and test)",
        "",
        f"{stamp()} "
        + (
            "`Pipeline([BTSFTransformer(random_state=seed), LogisticRegression()])`, the "
            'current defaults (100 steps of 32, `normalize=("zscore", "global")`), with '
            '`missing="interpolate"` (default)'
            if csv == CURRENT_CSV
            else "`Pipeline([BTSFTransformer(random_state=seed, "
            'normalize="zscore", batch_size=16, n_iters=200), LogisticRegression()])`, the '
            'default before `normalize=("zscore", "global")` and 100 steps of 32, with '
            '`missing="interpolate"` (default) or `"mask"`'
        )
        + f"; {table.shape[0]} equal-length datasets of the "
        f"{'dev suite (those without missing values of their own)' if suite else 'quick subset'}; "
        f"seeds {sorted(int(s) for s in seeds)}; a fraction of the points set to NaN at random."
        + (" Complete data: the same fit, from `btsf_recipe_dev.csv`." if suite else "")
        + (
            " MiniRocket: `MiniRocket * RidgeClassifierCV` on the series with their gaps "
            "linearly interpolated; complete data from `classification.csv`."
            if minirocket
            else ""
        ),
        "",
        "| dataset | " + " | ".join(f"{v} {int(r * 100)} %" for v, r in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for name, row in table.iterrows():
        cells = ["-" if np.isnan(row[c]) else f"{row[c]:.3f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    # each method against its own complete data
    complete = {c: table[("MiniRocket", 0.0)] if c in minirocket else base for c in cols}
    sets = [("", table.index)]
    if minirocket and len(both) < len(table):
        sets = [
            (f" ({len(table)} sets)", table.index),
            (f" ({len(both)} sets with every run)", both),
        ]
    for label, rows in sets:
        on = [c for c in cols if table.loc[rows, c].notna().all()]
        mean = [f"**{table.loc[rows, c].mean():.3f}**" if c in on else "" for c in cols]
        cost = [
            f"{100 * (complete[c][rows].mean() - table.loc[rows, c].mean()):.1f}" if c in on else ""
            for c in cols
        ]
        lines.append(f"| **mean**{label} | " + " | ".join(mean) + " |")
        lines.append(f"| cost vs complete (points){label} | " + " | ".join(cost) + " |")
    csv.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: the quick subset")
    parser.add_argument("--suite", choices=["quick", "dev"], default="quick")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument(
        "--runs", nargs="*", default=None,
        help="variant:rate pairs, e.g. interpolate:0 interpolate:0.1 MiniRocket:0.1",
    )  # fmt: skip
    parser.add_argument(
        "--current", action="store_true",
        help="today's defaults (nothing pinned) at 0 and 10 %%, into missing_values_current.*",
    )  # fmt: skip
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    dev = args.suite == "dev"
    if args.current and dev:
        parser.error("--current runs the quick subset only")
    csv = CURRENT_CSV if args.current else SUITE_CSV if dev else CSV
    if not args.report:
        datasets = args.datasets or (dev_suite(DEFAULT_DATA) if dev else QUICK)
        pairs = args.runs or (
            ["interpolate:0.1"] if dev
            else ["interpolate:0", "interpolate:0.1"] if args.current
            else [f"{v}:{r}" for v, r in RUNS]
        )  # fmt: skip
        runs = [(p.split(":")[0], float(p.split(":")[1])) for p in pairs]
        # the dev-suite baseline is the recipe run's fit, recorded with PINNED too
        run(datasets, args.seeds, runs, csv, {} if args.current else PINNED)
    report(csv)


if __name__ == "__main__":
    main()
