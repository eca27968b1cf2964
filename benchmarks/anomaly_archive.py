"""Top-1 anomaly detection on the UCR anomaly archive series in ``../shared/data``.

    python benchmarks/anomaly_archive.py                    # every series, resumable CSV
    python benchmarks/anomaly_archive.py --methods discord  # some methods only
    python benchmarks/anomaly_archive.py --speed            # a 100,000-point series, timed
    python benchmarks/anomaly_archive.py --report           # tables from the CSV

The archive (Wu & Keogh 2021) holds univariate series with one anomaly each after a
normal training prefix; the file name gives the prefix's end and the labelled region
(1-based). Its rule is top-1: a detector finds the anomaly when the single highest score
after the training prefix lies in the labelled region, widened by 100 points each side.

Per series, every method is fitted on the training prefix and scores the whole series
(the test part keeps its context); the highest score after the prefix is its answer:

- ``default``: ``RepresentationAnomalyDetector()`` as a user gets it (since this round:
  the raw lag window's one-step error smoothed over the period, plus the discord, each
  divided by its training standard deviation);
- ``package discord``: ``RepresentationAnomalyDetector(scoring="discord")``, the
  package's own discord (subsequences of the training prefix's dominant period compared
  with the training series' and the series' own);
- ``BTSF`` (``scoring="error", smoothing=None``, ``transformer=None``: BTSF 200 steps of
  16 windows of 201 points, Ridge reconstruction of x_t from r_t, each point's own error;
  ``smoothing="period"`` is the rule "BTSF, smoothed over the period" below; the
  detector's default before this round);
- ``BTSF next`` (``target="next"``: x_t from r_{t-1});
- ``AimTS base next``: the shipped AimTS encoder, frozen, per-step features, target next;
- ``passthrough next``: the same Ridge on the raw 201-point lag window, its error alone
  (the detector's own baseline);
- ``BTSF knn`` / ``passthrough knn`` (from the same fits): a discord in representation
  space, each point's distance to the nearest of 2,000 training representations;
- ``discord``: the matrix-profile discord (stumpy, a benchmark dependency), subsequences of
  the training prefix's dominant period (the first autocorrelation peak after its first
  zero crossing, 8 to 1,000 points; 100 without one); a subsequence's score sits at its
  centre.

Each method's score vector is kept under ``~/.cache/skcontrast/anomaly_archive`` (not in
git), so that scoring rules on top of the scores (smoothing, local normalisation, a mix of
two methods' ranks) are measured by ``--report`` without refitting. Fit + score time is
recorded per series; the CSV resumes an interrupted run.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

import _runner
import numpy as np
import pandas as pd
from _common import DEFAULT_DATA, RESULTS, machine, peak_rss_mb, stamp, wilcoxon_p

from skcontrast.detection import dominant_period, smooth_scores  # the detector's own

CSV = RESULTS / "anomaly_archive.csv"
CACHE = Path.home() / ".cache" / "skcontrast" / "anomaly_archive"
METHODS = ("default", "package discord", "passthrough next", "discord", "BTSF", "BTSF next",
           "AimTS base next")
# methods whose fit also gives a nearest-neighbour score of their features (no refit)
KNN_OF = {"BTSF": "BTSF knn", "passthrough next": "passthrough knn"}
ALL_METHODS = (*METHODS, *KNN_OF.values())
MARGIN = 100  # the archive's tolerance, points each side of the labelled region
NAME = re.compile(r"(\d+)_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)\.txt$")


def series_list(data_dir: Path) -> list[dict]:
    folder = Path(data_dir) / "anomaly" / "UCR_Anomaly_2021"
    out = []
    for path in sorted(folder.glob("*.txt")):
        match = NAME.match(path.name)
        if match is None:
            continue
        sid, name, train_end, start, end = match.groups()
        out.append(dict(id=int(sid), name=name, family=family_of(name), path=path,
                        train_end=int(train_end), start=int(start), end=int(end)))  # fmt: skip
    return out


def family_of(name: str) -> str:
    """The source family of an archive name (``DISTORTEDsddb40`` and ``sddb49``: sddb)."""
    name = re.sub(r"^(DISTORTED|NOISE)?\d*", "", name)
    for family in ("sddb", "CIMIS", "Fantasia", "InternalBleeding", "Mesoplodon", "tkeep",
                   "WalkingAceleration", "gait", "insectEPG", "park3m", "qtdb",
                   "sel840mECG", "weallwalk"):  # fmt: skip
        if name.lower().startswith(family.lower()):
            return family
    return re.sub(r"\d+$", "", name)


def read_series(path: Path) -> np.ndarray:
    text = path.read_text().split()
    return np.asarray(text, dtype=np.float64)


def top1(scores: np.ndarray, item: dict) -> tuple[int, bool]:
    """The position (0-based) of the highest score after the training prefix and whether
    it lies in the labelled region +-100 (the archive's rule; its positions are 1-based)."""
    after = scores[item["train_end"] :].astype(np.float64)
    after = np.where(np.isfinite(after), after, -np.inf)
    position = item["train_end"] + int(np.argmax(after))
    low, high = item["start"] - 1 - MARGIN, item["end"] - 1 + MARGIN
    return position, bool(low <= position <= high)


def discord_scores(x: np.ndarray, m: int) -> np.ndarray:
    """Matrix-profile distance of each subsequence of length ``m``, placed at its centre."""
    import stumpy

    profile = stumpy.stump(x.astype(np.float64), m)[:, 0].astype(np.float64)
    scores = np.full(len(x), -np.inf)
    scores[m // 2 : m // 2 + len(profile)] = np.where(np.isfinite(profile), profile, -np.inf)
    return scores


def detector_for(method: str):
    from skcontrast import AimTSTransformer, RepresentationAnomalyDetector

    if method == "default":  # the package's defaults, as a user gets them
        return RepresentationAnomalyDetector()
    if method == "package discord":
        return RepresentationAnomalyDetector(scoring="discord")
    # the decoder's error alone, each point's own (smoothing=None): the scoring rules are
    # applied afterwards ("smoothed over the period" is the detector's smoothing="period")
    error = {"scoring": "error", "smoothing": None}
    if method == "BTSF":
        return RepresentationAnomalyDetector(None, target="reconstruction", **error)
    if method == "BTSF next":
        return RepresentationAnomalyDetector(None, **error)
    if method == "passthrough next":
        return RepresentationAnomalyDetector("passthrough", **error)
    if method == "AimTS base next":
        encoder = AimTSTransformer(pretrained="base", n_iters=0)
        return RepresentationAnomalyDetector(encoder, **error)
    raise ValueError(method)


def knn_scores(features: np.ndarray, train_end: int, window: int, max_train=2000):
    """A discord in representation space: each point's distance to the nearest training
    representation (at most ``max_train`` of them, evenly spaced; features standardised
    with training statistics); 0 before a full window."""
    from sklearn.neighbors import NearestNeighbors

    train = features[window - 1 : train_end]
    train = train[np.isfinite(train).all(axis=1)]
    train = train[np.linspace(0, len(train) - 1, min(max_train, len(train))).astype(int)]
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-8
    index = NearestNeighbors(n_neighbors=1).fit(((train - mean) / std).astype(np.float32))
    scores = np.zeros(len(features))
    usable = np.flatnonzero(np.isfinite(features).all(axis=1))
    usable = usable[usable >= window - 1]
    for chunk in np.array_split(usable, max(1, len(usable) // 4096)):
        query = ((features[chunk] - mean) / std).astype(np.float32)
        scores[chunk] = index.kneighbors(query)[0][:, 0]
    return scores


def run_one(method: str, x: np.ndarray, train_end: int) -> tuple[dict, dict]:
    """{method: scores of the whole series}, fitted on its training prefix (the default
    detector's fit also gives the nearest-neighbour distance of its representations)."""
    info = {}
    start = time.perf_counter()
    if method == "discord":
        m = dominant_period(x[:train_end])
        out = {method: discord_scores(x, m)}
        info["window"] = m
    else:
        detector = detector_for(method).fit(pd.Series(x[:train_end]))
        out = {method: detector.transform_scores(pd.Series(x))["score"].to_numpy()}
        info["seconds"] = time.perf_counter() - start
        if method in KNN_OF:
            featurizer = detector._featurizer  # the benchmark reads the detector's features
            features = featurizer.features(featurizer.scale(x[:, None]))
            out[KNN_OF[method]] = knn_scores(features, train_end, detector.window_length)
            info["knn_seconds"] = time.perf_counter() - start - info["seconds"]
    info.setdefault("seconds", time.perf_counter() - start)
    return out, info


def per_family(items, n):
    """The first ``n`` series (by archive number) of each family: the subset the
    representation methods run on when the CPU budget does not allow all."""
    seen = {}
    for item in items:
        seen.setdefault(item["family"], []).append(item)
    return sorted((i for group in seen.values() for i in group[:n]), key=lambda i: i["id"])


def run_all(data_dir, methods, per_family_n=None):
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    done = set()
    if CSV.exists():
        old = pd.read_csv(CSV)
        done = set(zip(old["id"], old["method"], strict=True))
    items = series_list(data_dir)
    if per_family_n:
        items = per_family(items, per_family_n)
    print(f"{len(items)} series", flush=True)
    for method in methods:
        for item in items:
            if (item["id"], method) in done:
                continue
            x = read_series(item["path"])
            try:
                outputs, info = run_one(method, x, item["train_end"])
            except Exception as err:  # noqa: BLE001 (the run goes on with the next series)
                print(f"{item['id']} {method}: FAILED ({type(err).__name__}: {err})", flush=True)
                continue
            for name, scores in outputs.items():
                folder = CACHE / name.replace(" ", "_")
                folder.mkdir(parents=True, exist_ok=True)
                np.save(folder / f"{item['id']:03d}.npy", scores.astype(np.float32))
                position, hit = top1(scores, item)
                seconds = info["seconds"] + (info.get("knn_seconds", 0) if name != method else 0)
                row = dict(id=item["id"], family=item["family"], name=item["name"], method=name,
                           length=len(x), train_end=item["train_end"], start=item["start"],
                           end=item["end"], position=position, hit=hit,
                           seconds=round(seconds, 2), window=info.get("window"))  # fmt: skip
                _runner.append_rows(CSV, [row])
                print(f"{item['id']:03d} {item['family']:>18} {name:>17}: "
                      f"{'hit ' if hit else 'miss'} {seconds:6.1f} s", flush=True)  # fmt: skip


# -- scoring rules on top of the kept scores (no refit) ------------------------------
def smoothed(scores, w):
    """The detector's own smoothing (``smoothing=w``) of kept scores (-inf read as 0)."""
    return smooth_scores(np.where(np.isfinite(scores), scores, 0.0), w)


def ranks_after(scores, train_end):
    """Scores after the prefix as ranks in [0, 1] (prefix: 0)."""
    out = np.zeros(len(scores))
    after = np.where(np.isfinite(scores[train_end:]), scores[train_end:], -np.inf)
    out[train_end:] = pd.Series(after).rank(pct=True).to_numpy()
    return out


SCALES = ("std", "mean", "max", "99th percentile", "IQR")


def _train_stat(scores, item, stat):
    """A statistic of a kept score over the training prefix's scored points (1 if 0)."""
    train = scores[: item["train_end"]]
    train = train[np.isfinite(train) & (train > 0)]
    if len(train) == 0:
        return 1.0
    value = {"std": np.std, "mean": np.mean, "max": np.max,
             "99th percentile": lambda a: np.quantile(a, 0.99),
             "IQR": lambda a: np.subtract(*np.quantile(a, [0.75, 0.25]))}[stat](train)  # fmt: skip
    return float(value) if value > 0 else 1.0


def rules_table(data_dir) -> pd.DataFrame:
    """Top-1 of scoring rules computed from the kept scores of each series."""
    rows = []
    items = {item["id"]: item for item in series_list(data_dir)}
    table = pd.read_csv(CSV)
    windows = table[table.method == "discord"].set_index("id")["window"]

    def load(method, sid):
        path = CACHE / method.replace(" ", "_") / f"{sid:03d}.npy"
        return np.load(path).astype(np.float64) if path.exists() else None

    for sid, item in items.items():
        w = int(windows.get(sid, 100)) if sid in windows.index else 100
        kept = {m: load(m, sid) for m in ALL_METHODS}
        rules = {}
        for m in ("BTSF", "BTSF next", "BTSF knn", "passthrough next", "AimTS base next"):
            s = kept[m]
            if s is None:
                continue
            rules[f"{m}, smoothed over the period"] = smoothed(s, w)
        if kept["discord"] is not None:
            for m in ("BTSF", "BTSF next", "BTSF knn", "passthrough next"):
                if kept[m] is not None:
                    mix = ranks_after(smoothed(kept[m], w), item["train_end"]) + ranks_after(
                        kept["discord"], item["train_end"]
                    )
                    rules[f"mix: ranks of {m} (smoothed) + discord"] = mix
        if kept["discord"] is not None:
            # each score over a statistic of its training-prefix scores, added: the ways
            # of putting two scores on one scale that a detector can use (it has no
            # ranks of the test part); the detector divides by the standard deviation
            # (its own discord's training part is a self-join of the prefix; the kept
            # package-discord scores of the prefix are ~0, each prefix subsequence having
            # found itself, so the stumpy self-join of the whole series stands in here)
            for m in ("BTSF", "BTSF next", "BTSF knn", "passthrough next"):
                if kept[m] is None:
                    continue
                error = smoothed(kept[m], w)
                for stat in SCALES:
                    mix = sum(s / _train_stat(s, item, stat) for s in (error, kept["discord"]))
                    rules[f"sum: {m} (smoothed) + discord, each over its training {stat}"] = mix
        for rule, s in rules.items():
            rows.append(dict(id=sid, family=item["family"], method=rule, hit=top1(s, item)[1]))
    return pd.DataFrame(rows)


def report(data_dir=DEFAULT_DATA):
    table = pd.read_csv(CSV)
    rules = rules_table(data_dir)
    both = pd.concat([table[["id", "family", "method", "hit"]], rules], ignore_index=True)
    ids = set(table.id)
    complete = [m for m in both.method.unique() if set(both[both.method == m].id) >= ids]
    hits = both.pivot_table(index="family", columns="method", values="hit", aggfunc="mean")
    counts = both[both.method == complete[0]].groupby("family").size() if complete else None
    lines = [
        "# UCR anomaly archive: top-1 accuracy",
        "",
        stamp(),
        "",
        f"Every series in `../shared/data/anomaly/UCR_Anomaly_2021` ({len(ids)} of the "
        "archive's 250, 13 source families). A method finds the anomaly when its highest "
        "score after the training prefix lies in the labelled region +-100 points (the "
        "archive's rule). Fitted on the training prefix, scoring the whole series. Rules "
        "below the line are computed from the kept scores of the methods above it "
        "(smoothing: a moving average over the training prefix's dominant period, the "
        "discord's window; mix: the sum of the two methods' ranks after the prefix).",
        "",
        "| method | series | top-1 accuracy | found | families' mean | median s | max s |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in [m for m in ALL_METHODS if m in set(table.method)] + sorted(set(rules.method)):
        part = both[both.method == method]
        seconds = table[table.method == method]["seconds"]
        family_mean = part.groupby("family")["hit"].mean().mean()
        timing = (f"{seconds.median():.1f} | {seconds.max():.1f}" if len(seconds) else "- | -")
        lines.append(f"| {method} | {len(part)} | {part.hit.mean():.3f} | {int(part.hit.sum())} "
                     f"| {family_mean:.3f} | {timing} |")  # fmt: skip
    counts_by_method = both.groupby("method").id.nunique()
    # methods run on a subset (a CPU budget); one stopped after a series or two is left out
    partial = [m for m, n in counts_by_method.items() if 10 <= n < len(ids)]
    if partial:
        subset = set.intersection(*(set(both[both.method == m].id) for m in partial))
        lines += ["", f"On the {len(subset)} series every method ran (the representation "
                  "methods ran on the first two series of each family, `--per-family 2`, a "
                  "CPU budget; and on any series an earlier start reached):", "",
                  "| method | top-1 accuracy | found |", "|---|---|---|"]  # fmt: skip
        shown = [m for m in ALL_METHODS if m in set(both.method)] + sorted(set(rules.method))
        for method in shown:
            part = both[(both.method == method) & both.id.isin(subset)]
            if len(part) == len(subset):
                lines.append(f"| {method} | {part.hit.mean():.3f} | {int(part.hit.sum())} |")
    if "discord" in set(table.method):
        ref = both[both.method == "discord"].set_index("id")["hit"].astype(float)
        lines += ["", "Against the discord, on the series both ran (found by one method only; "
                  "Wilcoxon p of the per-series hits):", "",
                  "| method | only this | only discord | p |", "|---|---|---|---|"]  # fmt: skip
        for method in sorted(set(both.method) - {"discord"}):
            own = both[both.method == method].set_index("id")["hit"].astype(float)
            common = own.index.intersection(ref.index)
            if len(common) < 5:
                continue
            a, b = own[common], ref[common]
            only_this, only_ref = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
            lines.append(f"| {method} | {only_this} | {only_ref} | {wilcoxon_p(a, b):.3f} |")
    lines += ["", "Per family (top-1 accuracy; series per family in the first column):", ""]
    shown = [m for m in ALL_METHODS if m in hits.columns]
    lines.append("| family | series | " + " | ".join(shown) + " |")
    lines.append("|---" * (len(shown) + 2) + "|")
    for family in hits.index:
        n = int(counts.get(family, 0)) if counts is not None else 0
        cells = [f"{hits.loc[family, m]:.2f}" if pd.notna(hits.loc[family, m]) else "-"
                 for m in shown]  # fmt: skip
        lines.append(f"| {family} | {n} | " + " | ".join(cells) + " |")
    (RESULTS / "anomaly_archive.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


SPEED_METHODS = ("default", "package discord", "passthrough next", "BTSF")


def speed_one(job):
    """Fit on the first half of an n-point series (sine of period 150, noise, one spike)
    and score all of it, in this (fresh) process: seconds and peak RSS."""
    import torch

    method, n, threads = job
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 150) + 0.1 * rng.standard_normal(n)
    x[int(0.8 * n)] += 5
    _, info = run_one(method, x, n // 2)
    return dict(method=method, points=n, threads=threads, seconds=round(info["seconds"], 1),
                peak_rss_mb=round(peak_rss_mb()))  # fmt: skip


def speed(n=100_000, threads=2, methods=SPEED_METHODS, long=900_000):
    """Fit + score time and peak memory of each method on an n-point series, and of the
    default on a ``long`` one (the archive's longest are ~900,000 points), a fresh process
    each; writes ``results/anomaly_speed.md``."""
    jobs = [(m, n, threads) for m in methods] + ([("default", long, threads)] if long else [])
    rows = _runner.run(speed_one, jobs, show=lambda job, r: print(r, flush=True))
    lines = ["# Anomaly detectors: fit + score time of long series", "", stamp(), "",
             "A sine of period 150 with noise (sd 0.1) and one spike: fit on the first half, "
             "then every point scored (`transform_scores`), each run in a fresh process "
             f"with torch's {threads} threads; peak RSS is the whole process's (Python, "
             "torch and the data included). Target of issue 37: a 100,000-point series in "
             "<= 60 s and <= 2 GB.", "",
             "| method | points | seconds | peak RSS (MB) |", "|---|---|---|---|"]  # fmt: skip
    for row in rows:
        lines.append(f"| {row['method']} | {row['points']:,} | {row['seconds']:.1f} | "
                     f"{row['peak_rss_mb']:,} |")  # fmt: skip
    (RESULTS / "anomaly_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--per-family", type=int, default=None,
                        help="only the first N series of each family (CPU budget)")  # fmt: skip
    args = parser.parse_args()
    if args.report:
        report(Path(args.data))
    elif args.speed:
        print(f"{machine()}", flush=True)
        speed()
    else:
        print(stamp(" ".join(sys.argv)), flush=True)
        run_all(Path(args.data), args.methods, args.per_family)
