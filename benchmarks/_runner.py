"""The benchmarks' one runner: a fresh process per dataset, CSV resume, the probe.

Every benchmark script is a configuration of it: a function that measures one job (a
dataset, with its seeds and arms) and returns rows, the jobs still to run (``pending``
reads what the CSV already holds), and a report that reads the CSV and writes a Markdown
file stamped with the command, git revision, machine and date (``_common.stamp``).

- ``run(measure, jobs, csv)``: each job in a fresh spawned process (no memory, threads or
  torch state carried from one dataset to the next; one process at a time, so timings
  are not shared with a sibling), its rows appended to ``csv`` as soon as it finishes,
  so an interrupted run loses at most the job in progress and a rerun resumes.
- ``pending(csv, keys, wanted)``: the keys of ``wanted`` that ``csv`` does not hold yet.
- ``probe(F_train, y_train, F_test, y_test)``: accuracy of the default
  ``LogisticRegression()`` on features, as a user of the package would fit it.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np


def append_rows(csv: Path, rows) -> None:
    """Append ``rows`` (dicts) to ``csv``, with the header when the file is new."""
    import pandas as pd

    if rows:
        pd.DataFrame(rows).to_csv(csv, mode="a", header=not Path(csv).exists(), index=False)


def pending(csv: Path, keys, wanted) -> list:
    """The items of ``wanted`` (tuples of the ``keys`` columns' values, or single values
    with one key) that ``csv`` holds no row of yet, in order."""
    import pandas as pd

    keys = [keys] if isinstance(keys, str) else list(keys)
    if not Path(csv).exists():
        return list(wanted)
    table = pd.read_csv(csv)
    if not set(keys) <= set(table.columns):
        return list(wanted)
    have = set(zip(*(table[k] for k in keys), strict=True))
    have = {h[0] for h in have} if len(keys) == 1 else have
    return [w for w in wanted if w not in have]


def _safely(measure, job):
    """``measure(job)``; a failure is reported and the run goes on (no rows)."""
    try:
        return measure(job)
    except Exception as err:  # noqa: BLE001 (a benchmark run goes on with the next job)
        label = job[0] if isinstance(job, tuple) else job
        print(f"{label}: FAILED ({type(err).__name__}: {err})", flush=True)
        return []


def fresh_processes(measure, jobs):
    """``(job, rows)`` for each job, ``measure(job)`` run in a fresh spawned process each
    (``measure`` must be a module-level function); a failing job gives no rows."""
    jobs = list(jobs)
    if not jobs:
        return
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
        yield from zip(jobs, pool.map(partial(_safely, measure), jobs), strict=True)


def run(measure, jobs, csv: Path | None = None, show=None) -> list:
    """Run every job in a fresh process; each job's rows (a dict or a list of dicts) are
    appended to ``csv`` (if given) as soon as it finishes and passed to ``show``; returns
    every row."""
    out = []
    for job, rows in fresh_processes(measure, jobs):
        rows = [rows] if isinstance(rows, dict) else list(rows or [])
        if csv is not None:
            append_rows(csv, rows)
        if show is not None:
            show(job, rows)
        out.extend(rows)
    return out


def probe(F_train, y_train, F_test, y_test, classifier=None) -> float:
    """Test accuracy of ``classifier`` (default: ``LogisticRegression()``, as a user would
    fit it) trained on the features of the training series."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression() if classifier is None else clone(classifier)
    model.fit(F_train, y_train)
    return float(np.mean(np.asarray(model.predict(F_test)) == np.asarray(y_test)))
