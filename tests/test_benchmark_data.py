"""The benchmark's loaders read the shared data the way the benchmark needs it."""

from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """The benchmark scripts' modules, imported from ``benchmarks/`` as the scripts do."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common
    import classification

    return _common, classification


@pytest.mark.parametrize("name, shape", [("ECG200", (100, 1, 96)), ("NATOPS", (180, 24, 51))])
def test_shared_datasets_load_as_numpy3d(shared_data, bench, name, shape):
    common, _ = bench
    (X_train, y_train), (X_test, y_test) = common.load(name, shared_data)
    assert X_train.shape == shape and len(y_train) == shape[0]
    assert X_test.shape[1:] == shape[1:] and len(y_test) == len(X_test)
    assert np.isfinite(X_train).all() and len(np.unique(y_train)) >= 2


def test_unequal_lengths_and_missing_values_load_as_the_archive_means(shared_data, bench):
    common, classification = bench
    # trailing NaN pads unequal lengths: each series comes back at its own length
    (X_train, _), (X_test, _) = common.load("AllGestureWiimoteX", shared_data)
    lengths = [len(f) for f in X_train]
    assert isinstance(X_train, list) and len(set(lengths)) > 50
    assert all(np.isfinite(f.to_numpy()).all() for f in X_train)
    # MiniRocket gets one length (edge-padded) and no NaN, train and test alike
    length = max(len(f) for f in [*X_train, *X_test])
    A = classification.for_minirocket(X_train, length)
    B = classification.for_minirocket(X_test, length)
    assert A.shape == (len(X_train), 1, length) and B.shape[-1] == length
    assert np.isfinite(A).all() and np.isfinite(B).all()
    np.testing.assert_array_equal(A[0, 0, : lengths[0]], X_train[0].to_numpy()[:, 0])
    # in the sets with missing values every NaN (trailing ones too) stays a missing value:
    # one length, as the archive gives it
    for name in ("DodgerLoopDay", "MelbournePedestrian"):
        (X_train, _), (X_test, _) = common.load(name, shared_data)
        assert isinstance(X_train, np.ndarray) and isinstance(X_test, np.ndarray)
        assert np.isnan(X_train).any() or np.isnan(X_test).any()
        assert X_train.shape[-1] == X_test.shape[-1]
        assert np.isfinite(classification.for_minirocket(X_test)).all()


def test_dev_suite_lists_every_shared_set(shared_data, bench):
    _, classification = bench
    suite = classification.dev_suite(shared_data)
    ucr = sorted(p.name for p in (shared_data / "classification" / "ucr").iterdir())
    assert set(ucr) <= set(suite) and "GunPoint" in suite and "NATOPS" in suite
    assert len(suite) == len(set(suite))


def test_classification_report_pairs_methods_on_the_same_seeds(bench, tmp_path, monkeypatch):
    """A run cut short: a set whose second seed only MiniRocket finished is compared on its
    first seed alone, and the spread over seeds uses the sets that have every seed."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    _, classification = bench
    monkeypatch.setattr(classification, "RESULTS", tmp_path)
    monkeypatch.setattr(classification, "CSV", tmp_path / "classification.csv")
    accuracy = {  # (dataset, method, seed) -> accuracy
        ("A", "BTSF", 0): 0.8, ("A", "BTSF untrained", 0): 0.7, ("A", "MiniRocket", 0): 0.9,
        ("A", "BTSF", 1): 0.6, ("A", "BTSF untrained", 1): 0.5, ("A", "MiniRocket", 1): 0.7,
        ("B", "BTSF", 0): 0.4, ("B", "BTSF untrained", 0): 0.3, ("B", "MiniRocket", 0): 0.5,
        ("B", "MiniRocket", 1): 0.0,  # its BTSF rows for seed 1 never ran
    }  # fmt: skip
    rows = [
        dict(dataset=d, method=m, seed=s, shape="10, 1x20", n_test=10, accuracy=a, fit_s=1.0,
             predict_s=0.1, fit_peak_mb=1.0, steps=0, threads=1)
        for (d, m, s), a in accuracy.items()
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "classification.csv", index=False)
    classification.report()
    table = (tmp_path / "classification.md").read_text()
    # A: means over seeds 0 and 1; B: seed 0 only (MiniRocket's seed 1 is left out)
    assert "| mean accuracy | **0.550** | 0.450 | 0.650 |" in table
    assert "on the other 1 (B)" in table
    # the spread over seeds: set A alone, BTSF 0.8 and 0.6
    assert "| std over seeds of the mean over the 1 sets run with every seed | 0.1414 |" in table
    assert (tmp_path / "classification.png").exists()


def test_minirocket_input_interpolates_each_channel_of_each_series(bench):
    """Gaps are filled along time within their own channel, and the shape is kept."""
    _, classification = bench
    X = np.arange(2 * 3 * 10, dtype=float).reshape(2, 3, 10) ** 2
    holes = X.copy()
    holes[0, 1, 4] = holes[1, 2, 0] = holes[1, 0, 9] = np.nan
    filled = classification.for_minirocket(holes)
    assert filled.shape == X.shape
    expected = X.copy()
    expected[0, 1, 4] = (X[0, 1, 3] + X[0, 1, 5]) / 2  # between its neighbours in time
    expected[1, 2, 0], expected[1, 0, 9] = X[1, 2, 1], X[1, 0, 8]  # ends: nearest value
    np.testing.assert_allclose(filled, expected)


def missing_values_table(bench, tmp_path, monkeypatch, rows, minirocket_complete):
    """``missing_values.report`` of ``rows`` (dataset, variant, rate, accuracy) at seed 0,
    with MiniRocket's complete data (dataset, seed, accuracy) as the main run's rows."""
    pd = pytest.importorskip("pandas")
    _, classification = bench
    import missing_values

    csv = tmp_path / "missing_values.csv"
    monkeypatch.setattr(classification, "CSV", tmp_path / "classification.csv")
    pd.DataFrame(
        [dict(dataset=d, seed=0, variant=v, rate=r, accuracy=a, fit_s=1.0) for d, v, r, a in rows]
    ).to_csv(csv, index=False)
    pd.DataFrame(
        [dict(dataset=d, method="MiniRocket", seed=s, accuracy=a, fit_s=1.0)
         for d, s, a in minirocket_complete]
    ).to_csv(tmp_path / "classification.csv", index=False)  # fmt: skip
    missing_values.report(csv)
    return csv.with_suffix(".md").read_text()


def test_missing_values_report_costs_each_method_against_its_own_complete_data(
    bench, tmp_path, monkeypatch
):
    rows = [  # BTSF's complete data run here
        ("A", "interpolate", 0.0, 0.9), ("A", "interpolate", 0.1, 0.8),
        ("B", "interpolate", 0.0, 0.7), ("B", "interpolate", 0.1, 0.7),
        ("A", "MiniRocket", 0.1, 0.5), ("B", "MiniRocket", 0.1, 0.9),
    ]  # fmt: skip
    # MiniRocket's complete data: the main run's rows (its seed 1 is not paired)
    complete = [("A", 0, 1.0), ("B", 0, 0.9), ("A", 1, 0.0)]
    table = missing_values_table(bench, tmp_path, monkeypatch, rows, complete)
    assert (
        "| dataset | interpolate 0 % | interpolate 10 % | MiniRocket 0 % | MiniRocket 10 % |"
        in table
    )
    assert "| **mean** | **0.800** | **0.750** | **0.950** | **0.700** |" in table
    assert "| cost vs complete (points) | 0.0 | 5.0 | 0.0 | 25.0 |" in table


def test_missing_values_report_keeps_sets_the_reference_did_not_run(bench, tmp_path, monkeypatch):
    rows = [("A", "interpolate", 0.0, 0.9), ("A", "interpolate", 0.1, 0.8),
            ("B", "interpolate", 0.0, 0.7), ("B", "interpolate", 0.1, 0.7),
            ("A", "MiniRocket", 0.1, 0.5)]  # fmt: skip
    complete = [("A", 0, 1.0), ("B", 0, 1.0)]
    table = missing_values_table(bench, tmp_path, monkeypatch, rows, complete)
    assert "| B | 0.700 | 0.700 | 1.000 | - |" in table
    assert "| **mean** (2 sets) | **0.800** | **0.750** | **1.000** |  |" in table
    assert (
        "| cost vs complete (points) (1 sets with every run) | 0.0 | 10.0 | 0.0 | 50.0 |" in table
    )


def test_aimts_dev_pairs_the_default_readout_with_the_two_normalisation_one(bench):
    """aimts_dev.py scores the default pipeline on the z-normalised columns of one fit."""
    import aimts_dev
    from _helpers import tiny_aimts

    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 3, 30)).cumsum(-1) * rng.uniform(1, 9, (10, 1, 1))
    both = np.asarray(tiny_aimts(normalize=("zscore", "global")).fit(X).transform(X))
    default = np.asarray(tiny_aimts().fit(X).transform(X))
    np.testing.assert_array_equal(aimts_dev.first_normalisation(both, 3), default)
    assert aimts_dev.first_normalisation(both, 3).shape[1] * 2 == both.shape[1]


def test_aimts_dev_compares_a_longer_budget_on_the_sets_it_ran(bench):
    import aimts_dev
    import pandas as pd

    longer = aimts_dev.budget_encoders(100)[0][:2]
    rows = [
        dict(dataset=d, seed=0, arm=arm, accuracy=acc, encoder_fit_s=fit, steps=steps)
        for d in ("A", "B", "C")
        for arm, acc, fit, steps in zip(
            (*aimts_dev.ARMS, *longer),
            (0.5, 0.6, 0.4, 0.45, 0.7, 0.8),
            (10, 10, 1, 1, 30, 30),
            (30, 30, 0, 0, 100, 100),
            strict=True,
        )
        if d != "C" or arm not in longer  # the longer run did not reach C
    ]
    df = pd.DataFrame(rows)
    methods = ("BTSF", "MiniRocket")
    reference = pd.DataFrame(
        [dict(dataset=d, seed=0, method=m, accuracy=0.9) for d in "ABC" for m in methods]
    )
    acc = aimts_dev.paired_table(df, reference)
    assert list(acc.index) == ["A", "B", "C"]  # C stays in the main comparison
    lines = "\n".join(aimts_dev.longer_training(df, acc))
    assert "Longer training: 100 steps (2 sets)" in lines
    assert "| 100 steps vs the default's 30, default readout | +20.0 | 2/0/0 |" in lines
    assert "| 100 steps vs untrained, zscore+global | +35.0 | 2/0/0 |" in lines
    assert "fit 30.0 s against 10.0 s" in lines


def test_recipe_report_pairs_a_variant_run_on_some_sets_with_the_reference(
    bench, tmp_path, monkeypatch
):
    """A variant run on a few sets is compared with the default recipe's fits of the same
    sets and seeds, and does not shrink the main table to those sets."""
    pd = pytest.importorskip("pandas")
    import btsf_recipe

    monkeypatch.setattr(btsf_recipe, "stamp", lambda: "Written by a test.")
    sets = [f"S{i}" for i in range(6)]
    rows = []
    for i, name in enumerate(sets):
        for variant, accuracy in (("untrained", 0.5), ("crops b16 swa", 0.6 + i / 100)):
            rows.append(dict(dataset=name, variant=variant, seed=0, readout="multiscale bf16",
                             accuracy=accuracy, fit_s=10.0))  # fmt: skip
    for name, accuracy in (("S0", 0.7), ("S1", 0.6)):  # S0 +10 points, S1 -1 point
        rows.append(dict(dataset=name, variant="longer", seed=0, readout="multiscale bf16",
                         accuracy=accuracy, fit_s=30.0))  # fmt: skip
    csv = tmp_path / "btsf_recipe.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    btsf_recipe.report(csv)
    table = csv.with_suffix(".md").read_text()
    assert "mean test accuracy over 6 datasets" in table  # the main table keeps all six
    assert "| crops b16 swa | multiscale bf16 | 0.625 | 6/0/0 |" in table
    # the pair: S0 and S1 only, reference mean (0.60 + 0.61) / 2, change +4.5 points
    assert "| longer | multiscale bf16 | 2 | 0.650 | 0.605 | +4.5 | 1/0/1 |" in table
    assert "| 1 | 30.0 | 10.0 |" in table


@pytest.mark.research
def test_recipe_wrappers_change_only_their_own_fit(bench):
    """``hierarchical_only`` zeroes the instance term of every step and ``augmented``
    changes what the views see; neither leaks into other fits (the patched loss parts are
    restored after each step, and a clone is a plain estimator)."""
    import btsf_recipe
    from sklearn.base import clone
    from variants import BTSFVariant

    from skcontrast import BTSFTransformer, _btsf_loss
    from skcontrast.nn.losses import info_nce

    def tiny_btsf(**params):  # the benchmark's class: fusion="temporal" is an ablation
        return BTSFVariant(**{**BTSFTransformer.get_test_params()[0], **params})

    dropout = _btsf_loss.dropout
    X = np.random.default_rng(0).standard_normal((12, 1, 40)).astype(np.float32)
    params = dict(fusion="temporal", n_iters=4, crop_length=16)
    plain = tiny_btsf(**params).fit(X)
    assert min(plain.loss_terms_["instance"]) > 0
    wrapped = btsf_recipe.hierarchical_only(tiny_btsf(**params))
    wrapped.fit(X)
    assert wrapped.loss_terms_["instance"] == [0.0] * 4
    assert all(t > 0 for t in wrapped.loss_terms_["temporal"])
    assert _btsf_loss.info_nce is info_nce  # restored after each step
    assert clone(wrapped).fit(X).loss_terms_["instance"] == plain.loss_terms_["instance"]
    jittered = btsf_recipe.augmented(tiny_btsf(**params), 0.3, 0.5).fit(X)
    assert jittered.loss_history_ != plain.loss_history_
    assert _btsf_loss.dropout is dropout
    assert tiny_btsf(**params).fit(X).loss_history_ == plain.loss_history_


@pytest.fixture
def archive(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import anomaly_archive

    return anomaly_archive


def test_archive_top1_rule_period_and_families(archive):
    """The archive's rule: the highest score after the prefix, inside the labelled region
    (1-based) +-100 points; the discord's window is the training part's period."""
    item = dict(train_end=1000, start=3001, end=3050)  # 0-based 3000..3049
    scores = np.zeros(5000)
    scores[500] = 9.0  # in the training prefix: never the answer
    scores[3149] = 1.0  # 100 points after the region's end
    assert archive.top1(scores, item) == (3149, True)
    scores[3150] = 2.0
    assert archive.top1(scores, item) == (3150, False)
    scores[2900] = 3.0  # 100 points before its start
    assert archive.top1(scores, item) == (2900, True)
    t = np.arange(4000)
    x = np.sin(2 * np.pi * t / 50) + 0.1 * np.random.default_rng(0).standard_normal(len(t))
    assert archive.dominant_period(x) == 50
    assert archive.dominant_period(np.zeros(100)) == 100  # no period: the default
    assert archive.family_of("DISTORTED1sddb40") == "sddb"
    assert archive.family_of("CIMIS44AirTemperature1") == "CIMIS"
    assert archive.family_of("InternalBleeding16") == "InternalBleeding"


def test_archive_files_parse(shared_data, archive):
    items = archive.series_list(shared_data)
    if not items:
        pytest.skip("no UCR anomaly archive series in the data folder")
    assert len({i["family"] for i in items}) == 13
    for item in items[:3]:
        x = archive.read_series(item["path"])
        assert item["train_end"] < item["start"] <= item["end"] <= len(x)


def test_runner_runs_each_job_in_a_fresh_process_and_resumes_from_its_csv(
    bench, tmp_path, capfd, monkeypatch
):
    """benchmarks/_runner.py: rows appended as each job finishes, a failing job reported
    without rows, and a rerun runs only what the CSV does not hold."""
    import json
    import os

    import _runner
    import pandas as pd

    csv = tmp_path / "out.csv"
    jobs = [
        '[{"dataset": "A", "seed": 0, "acc": 0.5}]',
        "not json",
        '[{"dataset": "B", "seed": 0, "acc": 0.25}, {"dataset": "B", "seed": 1, "acc": 1}]',
    ]
    shown = []
    rows = _runner.run(json.loads, jobs, csv, show=lambda job, r: shown.append(len(r)))
    assert [r["dataset"] for r in rows] == ["A", "B", "B"] and shown == [1, 0, 2]
    assert "FAILED (JSONDecodeError" in capfd.readouterr().out
    table = pd.read_csv(csv)
    assert list(table.columns) == ["dataset", "seed", "acc"] and len(table) == 3
    wanted = [("A", 0), ("A", 1), ("B", 1), ("C", 0)]
    assert _runner.pending(csv, ["dataset", "seed"], wanted) == [("A", 1), ("C", 0)]
    assert _runner.pending(csv, "dataset", ["A", "C"]) == ["C"]
    assert _runner.pending(tmp_path / "none.csv", "dataset", ["A"]) == ["A"]
    # each job in a process of its own, none of them this one
    (tmp_path / "pid_job.py").write_text(
        "import os\n\ndef measure(job):\n    return [{'job': job, 'pid': os.getpid()}]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import pid_job

    pids = [r["pid"] for r in _runner.run(pid_job.measure, ["a", "b"])]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert list(_runner.fresh_processes(pid_job.measure, [])) == []


def test_runner_probe_is_the_default_logistic_regression(bench):
    import _runner
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    F, y = rng.standard_normal((40, 3)), np.repeat([0, 1], 20)
    F[y == 1] += 2.0
    expected = np.mean(LogisticRegression().fit(F[::2], y[::2]).predict(F[1::2]) == y[1::2])
    assert _runner.probe(F[::2], y[::2], F[1::2], y[1::2]) == expected > 0.8
