"""Does weighting the blocks of BTSF's readout widen what training adds? (dev suite)

The default readout concatenates, per normalisation, the fused representation's logits
(``l * d = 1,024`` features) and the temporal encoder's multi-scale max pools (``7 d = 896``),
each feature standardised over the training series. A default ``LogisticRegression``
penalises every standardised feature alike, so scaling a block sets how much the probe
leans on it. This script caches the default features of the trained encoder
(``BTSFTransformer(random_state=seed)``) and of the same encoder untrained (``n_iters=0``)
for every dev set, then probes them with each block weighting:

- ``default``: as ``transform`` returns them;
- ``x0.5``: every feature halved (a weaker penalty overall);
- ``fused x0.5``: the fused blocks halved, the temporal pools as they are;
- ``pools only``: the fused blocks dropped.

The features are exactly those of the classification benchmark's pipelines (the same
seeds and data: ``default`` reproduces ``classification.csv``'s accuracies). Writes
``results/readout_weights.csv`` and ``.md``. The cache (several GB for the largest sets)
goes to ``--cache``; a rerun reuses it.

    python benchmarks/readout_weights.py --seeds 0 --cache /tmp/btsf_features
    python benchmarks/readout_weights.py --report
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, dev_suite, load, stamp, wilcoxon_p, wtl

CSV = RESULTS / "readout_weights.csv"


@functools.cache
def default_blocks() -> tuple[int, int]:
    """The default readout's fused width (``rank * repr_dims``) and its normalisations."""
    from skcontrast import BTSFTransformer

    params = BTSFTransformer().get_params()
    return params["rank"] * params["repr_dims"], len(params["normalize"])


def weighted(F, fused, pools=1.0):
    """``F`` with each normalisation's fused block scaled by ``fused``, pools by ``pools``."""
    fused_width, n_normalizations = default_blocks()
    F, width = F.copy(), F.shape[1] // n_normalizations  # [fused, pools] per normalisation
    for start in range(0, F.shape[1], width):
        F[:, start : start + fused_width] *= fused
        F[:, start + fused_width : start + width] *= pools
    return F


VARIANTS = {
    "default": lambda F: F,
    "x0.5": lambda F: F * 0.5,
    "fused x0.5": lambda F: weighted(F, 0.5),
    "pools only": lambda F: weighted(F, 0.0),
}
ENCODERS = {"trained": {}, "untrained": {"n_iters": 0}}


def cache_features(names, seeds, cache: Path):
    from skcontrast import BTSFTransformer

    for name in names:
        for seed in seeds:
            for encoder, params in ENCODERS.items():
                path = cache / f"{name}_{encoder}_{seed}.npz"
                if path.exists():
                    continue
                (X_train, y_train), (X_test, y_test) = load(name)
                rep = BTSFTransformer(random_state=seed, **params)
                start = time.perf_counter()
                F_train = rep.fit_transform(X_train)  # the pipeline's features
                fit_s = time.perf_counter() - start
                np.savez(path, Fa=F_train, Fb=rep.transform(X_test), ya=np.asarray(y_train),
                         yb=np.asarray(y_test))  # fmt: skip
                print(f"{name} {encoder} seed {seed}: {fit_s:.1f} s", flush=True)


def probe(names, seeds, cache: Path):
    from sklearn.linear_model import LogisticRegression

    rows = []
    for name in names:
        for seed in seeds:
            for encoder in ENCODERS:
                data = np.load(cache / f"{name}_{encoder}_{seed}.npz")
                for variant, scale in VARIANTS.items():
                    with warnings.catch_warnings():  # convergence warnings, as a user sees
                        warnings.simplefilter("ignore")
                        clf = LogisticRegression().fit(scale(data["Fa"]), data["ya"])
                    accuracy = float(np.mean(clf.predict(scale(data["Fb"])) == data["yb"]))
                    rows.append(dict(dataset=name, seed=seed, encoder=encoder,
                                     variant=variant, accuracy=accuracy))  # fmt: skip
            print(name, seed, flush=True)
    pd.DataFrame(rows).to_csv(CSV, index=False)


def report():
    df = pd.read_csv(CSV)
    acc = df.pivot_table(index=["dataset", "seed"], columns=["encoder", "variant"],
                         values="accuracy")  # fmt: skip
    n_sets, seeds = df.dataset.nunique(), sorted(df.seed.unique())
    lines = [
        "# BTSF readout block weights (dev suite)",
        "",
        f"{stamp()} Default `LogisticRegression` on the default features of "
        f"`BTSFTransformer(random_state=seed)` and of the same encoder untrained "
        f"(`n_iters=0`), {n_sets} datasets, seeds {', '.join(map(str, seeds))}, each block "
        "of the standardised readout scaled as named (`benchmarks/readout_weights.py`). "
        "'gain' is trained minus untrained with the same weighting; W/T/L within 0.005.",
        "",
        "| weighting | untrained | trained | gain (points) | W/T/L trained vs untrained | "
        "trained vs default (points) | W/T/L | Wilcoxon p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = acc[("trained", "default")]
    for variant in VARIANTS:
        t, u = acc[("trained", variant)], acc[("untrained", variant)]
        lines.append(
            f"| {variant} | {u.mean():.3f} | {t.mean():.3f} | {100 * (t - u).mean():+.1f} | "
            f"{wtl(t, u)} | {100 * (t - base).mean():+.2f} | {wtl(t, base)} | "
            f"{wilcoxon_p(t, base):.2g} |"
        )
    (RESULTS / "readout_weights.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/btsf_features"))
    parser.add_argument("--report", action="store_true", help="only rewrite the table")
    args = parser.parse_args()
    if not args.report:
        names = dev_suite(DEFAULT_DATA)
        args.cache.mkdir(parents=True, exist_ok=True)
        cache_features(names, args.seeds, args.cache)
        probe(names, args.seeds, args.cache)
    report()


if __name__ == "__main__":
    main()
