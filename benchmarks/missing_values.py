"""Missing values: accuracy of the default BTSF pipeline with scattered NaN in train and test.

For each dataset of the quick subset (equal-length sets), seed and rate, the same fraction of
points (5, 10, 20 %) is set to NaN at random in the training and the test series; the default
``Pipeline([BTSFTransformer(random_state=seed), LogisticRegression()])`` (missing values
interpolated) is compared with ``missing="mask"`` (TS2Vec's masking) and with the complete
data. Rows go to ``results/missing_values.csv`` as they finish (a rerun resumes);
``results/missing_values.md`` holds the table.

``--suite dev`` runs the equal-length sets of the whole dev suite at 10 % (into
``results/missing_values_dev.csv`` / ``.md``); its complete-data accuracy is the same
default fit's, read from ``results/btsf_recipe_dev.csv`` (variant "crops b16 swa", the
defaults, readout "multiscale bf16", the default encoding on this CPU; both with
``normalize="zscore"``, the default when they ran), not refitted.

    python benchmarks/missing_values.py [--seeds 0 1 2] [--report]
    python benchmarks/missing_values.py --runs interpolate:0 interpolate:0.1
    python benchmarks/missing_values.py --suite dev --seeds 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, dev_suite, load, machine
from btsf_recipe import DEV_CSV, QUICK

CSV = RESULTS / "missing_values.csv"
SUITE_CSV = RESULTS / "missing_values_dev.csv"  # --suite dev
# (variant, rate): rate 0 is the complete data
RUNS = [("interpolate", 0.0), ("interpolate", 0.05), ("interpolate", 0.1),
        ("interpolate", 0.2), ("mask", 0.1)]  # fmt: skip


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
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from skcontrast import BTSFTransformer

    done = pd.read_csv(csv) if csv.exists() else None
    keys = set() if done is None else set(
        zip(done.dataset, done.seed, done.variant, done.rate, strict=True)
    )  # fmt: skip
    for name in datasets:
        (X_train, y_train), (X_test, y_test) = load(name)
        if not isinstance(X_train, np.ndarray) or np.isnan(X_train).any():
            continue  # unequal lengths or missing values of its own
        for seed in seeds:
            for variant, rate in runs:
                if (name, seed, variant, rate) in keys:
                    continue
                rep = BTSFTransformer(random_state=seed, missing=variant, **(params or {}))
                pipe = Pipeline([("rep", rep),
                                 ("clf", LogisticRegression())])  # fmt: skip
                start = time.perf_counter()
                pipe.fit(with_holes(X_train, rate, seed), y_train)
                fit_s = time.perf_counter() - start
                acc = float(pipe.score(with_holes(X_test, rate, seed + 1000), y_test))
                row = dict(
                    dataset=name, seed=seed, variant=variant, rate=rate, accuracy=acc, fit_s=fit_s
                )
                print(row, flush=True)
                pd.DataFrame([row]).to_csv(csv, mode="a", header=not csv.exists(), index=False)


def complete_from_recipe_run(seeds) -> pd.DataFrame:
    """The default fit's complete-data accuracy from the dev-suite recipe run, as rows."""
    dev = pd.read_csv(DEV_CSV)
    dev = dev[(dev.variant == "crops b16 swa") & (dev.readout == "multiscale bf16")]
    dev = dev[dev.seed.isin(seeds)]
    return dev.assign(variant="interpolate", rate=0.0)[
        ["dataset", "seed", "variant", "rate", "accuracy", "fit_s"]
    ]


def report(csv=CSV):
    df = pd.read_csv(csv)
    suite = csv == SUITE_CSV
    if suite:
        df = pd.concat([df, complete_from_recipe_run(df.seed.unique())])
    table = df.pivot_table(index="dataset", columns=["variant", "rate"], values="accuracy")
    table = table.dropna()
    cols = [c for c in [(v, r) for v, r in RUNS] if c in table.columns]
    base = table[("interpolate", 0.0)]
    lines = [
        "# BTSF with scattered missing values (NaN in train and test)",
        "",
        f"Machine: {machine()}. Default `Pipeline([BTSFTransformer(random_state=seed), "
        f"LogisticRegression()])`; {table.shape[0]} equal-length datasets of the "
        f"{'dev suite (those without missing values of their own)' if suite else 'quick subset'}; "
        f"seeds {sorted(int(s) for s in df.seed.unique())}; a fraction of the points set to NaN "
        "at random."
        + (
            ' With `normalize="zscore"` (the default before `("zscore", "global")`); complete '
            "data: the same fit, from `btsf_recipe_dev.csv`."
            if suite
            else ""
        ),
        "",
        "| dataset | " + " | ".join(f"{v} {int(r * 100)} %" for v, r in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{table[c].mean():.3f}**" for c in cols) + " |")
    lines.append("| cost vs complete (points) | " + " | ".join(
        f"{100 * (base.mean() - table[c].mean()):.1f}" for c in cols) + " |")  # fmt: skip
    csv.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: the quick subset")
    parser.add_argument("--suite", choices=["quick", "dev"], default="quick")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument(
        "--runs", nargs="*", default=None,
        help="variant:rate pairs, e.g. interpolate:0 interpolate:0.1",
    )  # fmt: skip
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    dev = args.suite == "dev"
    csv = SUITE_CSV if dev else CSV
    if not args.report:
        datasets = args.datasets or (dev_suite(DEFAULT_DATA) if dev else QUICK)
        pairs = args.runs or (["interpolate:0.1"] if dev else [f"{v}:{r}" for v, r in RUNS])
        runs = [(p.split(":")[0], float(p.split(":")[1])) for p in pairs]
        # the dev-suite baseline is the recipe run's fit, read with normalize="zscore"
        run(datasets, args.seeds, runs, csv, {"normalize": "zscore"} if dev else None)
    report(csv)


if __name__ == "__main__":
    main()
