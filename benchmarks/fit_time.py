"""Default BTSF fit time against the number and the length of the training series.

The target: every default fit (``BTSFTransformer(random_state=0)``, crops recipe) within
30 s for up to 1,000 training series of length up to 2,000 on a 2-core CPU. The series are
random walks (what they hold does not change the cost). Each fit runs in its own fresh
process, one after another, with torch's default threads; the fit includes the encoding
pass over the training series (output standardisation). Writes ``results/fit_time.md``.

    python benchmarks/fit_time.py            # run it on a quiet machine
    python benchmarks/fit_time.py --report   # only rewrite the table
    # a candidate setting, into results/fit_time_hidden32.csv / .md
    python benchmarks/fit_time.py --params '{"hidden_channels": 32}' --tag _hidden32
"""

from __future__ import annotations

import argparse
import json
import time

import _runner
import numpy as np
import pandas as pd
from _common import RESULTS, make, stamp

SHAPES = [(100, 100), (100, 500), (100, 2000), (1000, 100), (1000, 500), (1000, 2000)]


def job(task):
    import torch

    from skcontrast import BTSFTransformer

    (n, length), params = task
    X = np.random.default_rng(0).standard_normal((n, 1, length)).cumsum(-1).astype(np.float32)
    est = make(BTSFTransformer, random_state=0, **params)
    start = time.perf_counter()
    est.fit(X)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    est.transform(X)
    return dict(n_series=n, length=length, fit_s=fit_s, transform_s=time.perf_counter() - start,
                steps=est.n_iters_, threads=torch.get_num_threads())  # fmt: skip


def run(params, tag):
    rows = _runner.run(job, [(shape, params) for shape in SHAPES],
                       show=lambda _, rows: print(rows, flush=True))  # fmt: skip
    rows = [{**row, "params": json.dumps(params)} for row in rows]
    pd.DataFrame(rows).to_csv(RESULTS / f"fit_time{tag}.csv", index=False)
    report(tag)


def report(tag=""):
    """Write ``results/fit_time{tag}.md`` from ``results/fit_time{tag}.csv``."""
    df = pd.read_csv(RESULTS / f"fit_time{tag}.csv")
    params = json.loads(df.params.iloc[0]) if "params" in df and df.params.iloc[0] else {}
    call = ", ".join(["random_state=0", *(f"{k}={v!r}" for k, v in params.items())])
    lines = [
        f"# {'Default' if not params else 'Candidate'} BTSF fit time against data size",
        "",
        f"{stamp()} `BTSFTransformer({call}).fit(X)` on random walks, "
        f"{df.steps.iloc[0]} training steps; 'transform s' is `transform` of the same series "
        '(one encoding pass per normalisation of the default `normalize=("zscore", '
        '"global")`), which `fit` also makes (output standardisation); the rest of the fit '
        "is the training steps.",
        "",
        "| series | length | fit s | transform s | fit - transform s | torch threads |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r.n_series} | {r.length} | {r.fit_s:.1f} | {r.transform_s:.1f} | "
              f"{r.fit_s - r.transform_s:.1f} | {r.threads} |"
              for r in df.itertuples()]  # fmt: skip
    (RESULTS / f"fit_time{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="{}", help="BTSFTransformer parameters (JSON)")
    parser.add_argument("--tag", default="", help="suffix of the result files, e.g. _hidden32")
    parser.add_argument("--report", action="store_true", help="only rewrite the table")
    args = parser.parse_args()
    if args.tag and not args.tag.startswith("_"):
        parser.error(f"--tag {args.tag!r} must start with '_' (it is a file-name suffix)")
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as err:
        parser.error(f"--params is not JSON ({err}); e.g. --params '{{\"hidden_channels\": 32}}'")
    if not isinstance(params, dict):
        parser.error(f"--params must be a JSON object of parameters, got {args.params!r}")
    if args.report:
        report(args.tag)
    else:
        run(params, args.tag)


if __name__ == "__main__":
    main()
