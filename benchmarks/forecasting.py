"""ETTh1 forecasting with TS2Vec's protocol: BTSF and AimTS representations vs raw lags.

ETTh1 (7 variables, hourly) is split 12/4/4 months (train 0-8640, validation 8640-11520,
test 11520-14400) and z-normalised with the training statistics. Per method, a
``RepresentationForecaster`` is fitted on train+validation (the transformer learns from
windows of 201 points without labels); every point gets its causal representation once
(``transform_timesteps``); then, for each horizon H, a ``HoldoutRidge`` whose alpha is
chosen on the validation months (the last 25 % of the training samples) maps ``r_t`` to
the next H values of all 7 variables (multivariate, direct), exactly what the forecaster
does (checked against its ``rolling_predict`` for the first horizon). MSE and MAE over
all test samples, horizons and variables, on the scale of the training months'
statistics, as in the papers.

"Ridge on raw lags" is the same forecaster with ``transformer="passthrough"``: the 201
past values of all variables, a strong linear baseline on the same context.

    python benchmarks/forecasting.py [--device cuda] [--methods BTSF raw] [--n-iters N]
        [--batch-size B] [--seed S]
    python benchmarks/forecasting.py --data-dir /path/to/shared/data   # or SKCONTRAST_DATA

Writes results/forecasting_etth1.{md,csv,png}.
"""

from __future__ import annotations

import argparse
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
HORIZONS = (24, 48, 168, 336, 720)
TRAIN, VALID, TEST = 8640, 11520, 14400  # split ends (12/4/4 months of 30 days)
WINDOW = 201  # TS2Vec's causal context: 200 past points and t
# published multivariate ETTh1 MSE (GUIDE section 3 / shared data README)
PUBLISHED = {
    "TS2Vec (paper)": (0.599, 0.629, 0.755, 0.907, 1.048),
    "BTSF (paper)": (0.541, 0.613, 0.640, 0.864, 0.993),
}


def load_etth1(data_dir: Path) -> pd.DataFrame:
    path = data_dir / "forecasting" / "ETTh1.csv"
    if not path.exists():
        raise SystemExit(f"ETTh1.csv not found at {path}; pass --data-dir or set SKCONTRAST_DATA.")
    return pd.read_csv(path, index_col="date", parse_dates=True).iloc[:TEST]


def make_transformer(method, n_iters, device, seed=0, batch_size=None):
    from _common import make

    from skcontrast import AimTSTransformer, BTSFTransformer

    if method == "raw":
        return "passthrough"
    from skcontrast._series_features import STEP_DEFAULTS

    method = method.removesuffix("+lags")

    given = {k: v for k, v in dict(n_iters=n_iters, batch_size=batch_size).items() if v is not None}
    if method == "BTSF":  # the forecaster's default budget unless given
        return make(
            BTSFTransformer,
            **{**STEP_DEFAULTS, **given},
            device=device,
            random_state=seed,
            verbose=False,
        )
    return make(AimTSTransformer, **given, device=device, random_state=seed, verbose=False)


def run_method(method, y, n_iters, device, seed=0, batch_size=None):
    from skcontrast import HoldoutRidge, RepresentationForecaster

    start = time.perf_counter()
    lags = method.endswith("+lags")  # the forecaster's default: r_t and lags, or lags alone
    forecaster = RepresentationForecaster(
        make_transformer(method, n_iters, device, seed, batch_size),
        None if lags else HoldoutRidge(validation_size=0.25),
        window_length=WINDOW,
        lags=lags,
    ).fit(y.iloc[:VALID], fh=np.arange(1, HORIZONS[0] + 1))
    fit_time = time.perf_counter() - start
    scaled = ((y.to_numpy() - forecaster.mean_) / forecaster.scale_).astype(np.float32)
    start = time.perf_counter()
    features = forecaster._featurizer.features(scaled)  # the forecaster's own step features
    encode_time = time.perf_counter() - start
    # errors on the scale of the training months' statistics (the papers' normalisation;
    # the forecaster itself standardises with train+validation, what it was given)
    to_train_scale = forecaster.scale_ / y.iloc[:TRAIN].to_numpy().std(axis=0)
    own = forecaster.rolling_predict(y, start=VALID)  # the forecaster's own path, first horizon
    rows, examples = [], {}
    for H in HORIZONS:
        train_t = np.arange(WINDOW - 1, VALID - H)
        test_t = np.arange(VALID, TEST - H)
        if lags:  # what the forecaster's fit does for horizon H (HoldoutRidge's 20 % tail)
            forecaster.horizon_ = H
            ridge, inputs = forecaster._fit_regressor(
                forecaster._featurizer, features[train_t], _targets(scaled, train_t, H)
            )
            forecaster.regressor_, forecaster.inputs_ = ridge, inputs
            pred = forecaster._forecast_from(features[test_t])
            pred = ((pred - forecaster.mean_) / forecaster.scale_).astype(np.float32)
        else:
            inputs = "representation" if forecaster.transformer_ is not None else "lags"
            ridge = HoldoutRidge(validation_size=0.25).fit(
                features[train_t], _targets(scaled, train_t, H)
            )
            pred = ridge.predict(features[test_t]).reshape(len(test_t), H, -1)
        truth = _targets(scaled, test_t, H).reshape(len(test_t), H, -1)
        if H == HORIZONS[0]:  # the benchmark path is the forecaster's own path
            np.testing.assert_allclose(
                (own[: len(test_t)] - forecaster.mean_) / forecaster.scale_,
                pred,
                rtol=1e-3,
                atol=1e-3,
            )
        error = (pred - truth) * to_train_scale
        rows.append(dict(method=method, horizon=H, mse=float(np.mean(error**2)),
                         mae=float(np.mean(np.abs(error))), alpha=getattr(ridge, "alpha_", np.nan),
                         inputs=inputs,
                         fit_s=fit_time, encode_s=encode_time,
                         n_features=features.shape[1]))  # fmt: skip
        examples[H] = (pred, truth)
    return rows, examples


def _targets(scaled, t, H):
    """(n, H * C): the next H values of every variable after each t, step-major."""
    windows = np.lib.stride_tricks.sliding_window_view(scaled[t[0] + 1 :], H, axis=0)[: len(t)]
    return windows.transpose(0, 2, 1).reshape(len(t), -1)


def write_results(table: pd.DataFrame, machine: str, examples, columns, tag=""):
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / f"forecasting_etth1{tag}.csv", index=False)
    mse = table.pivot(index="method", columns="horizon", values="mse")
    mae = table.pivot(index="method", columns="horizon", values="mae")
    times = table.groupby("method")[["fit_s", "encode_s", "n_features"]].first()
    lines = [
        "# ETTh1 multivariate forecasting (TS2Vec protocol)",
        "",
        f"Machine: {machine}. MSE / MAE on the z-normalised test months (2,880 points, 7",
        "variables), horizons in hours. Lower is better. Published rows are the papers' own",
        "numbers, not rerun here.",
        "",
        "| method | "
        + " | ".join(f"MSE {h}" for h in HORIZONS)
        + " | "
        + " | ".join(f"MAE {h}" for h in HORIZONS)
        + " | fit s | encode s | features |",
        "|---" * (2 * len(HORIZONS) + 4) + "|",
    ]
    for method in mse.index:
        lines.append(
            f"| {method} | "
            + " | ".join(f"{v:.3f}" for v in mse.loc[method])
            + " | "
            + " | ".join(f"{v:.3f}" for v in mae.loc[method])
            + f" | {times.loc[method, 'fit_s']:.1f} | {times.loc[method, 'encode_s']:.1f}"
            f" | {int(times.loc[method, 'n_features'])} |"
        )
    for name, values in PUBLISHED.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values)
                     + " |" + " - |" * (len(HORIZONS) + 3))  # fmt: skip
    (RESULTS / f"forecasting_etth1{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(examples, columns, tag)


def plot(examples, columns, tag="", horizon=168, sample=1000):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = list(columns).index("OT")
    fig, ax = plt.subplots(figsize=(9, 3.5))
    truth = None
    for method, per_h in examples.items():
        pred, truth = per_h[horizon]
        ax.plot(pred[sample, :, target], label=method, lw=1.2)
    ax.plot(truth[sample, :, target], color="black", lw=1.6, label="truth")
    ax.set(xlabel="hours after the cutoff", ylabel="OT (z-normalised)",
           title=f"ETTh1: {horizon}-hour forecast of oil temperature from one test "
                 "cutoff")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / f"forecasting_etth1{tag}.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--methods", nargs="+", default=["BTSF", "AimTS", "raw"])
    # None: the forecaster's default (BTSF 200 steps of 16: STEP_DEFAULTS), AimTS's own
    parser.add_argument("--n-iters", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default: as --n-iters")
    parser.add_argument("--seed", type=int, default=0, help="the transformer's random_state")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--machine", default=f"{platform.machine()} {os.cpu_count()} CPU cores")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="The default of config ``remember_data``")
    y = load_etth1(args.data_dir)
    rows, examples = [], {}
    for method in args.methods:
        print(f"{method} ...", flush=True)
        method_rows, examples[method] = run_method(
            method, y, args.n_iters, args.device, args.seed, args.batch_size
        )
        rows += method_rows
        print(pd.DataFrame(method_rows).to_string(index=False), flush=True)
    names = {"raw": "Ridge on raw lags (201 x 7)", "BTSF": "BTSF + Ridge", "AimTS": "AimTS + Ridge",
             "BTSF+lags": "BTSF, lags=True (default)"}  # fmt: skip
    table = pd.DataFrame(rows).replace({"method": names})
    write_results(table, args.machine, {names[k]: v for k, v in examples.items()}, y.columns,
                  args.tag)  # fmt: skip


if __name__ == "__main__":
    main()
