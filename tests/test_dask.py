"""Model selection over a dask.distributed cluster: GridSearchCV and sktime benchmarking."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from skcontrast import BTSFTransformer

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.slow  # a local dask cluster and grid searches on it


def tiny(**kw):
    params = dict(
        hidden_channels=4,
        repr_dims=4,
        rank=2,
        n_loops=1,
        batch_size=8,
        n_iters=2,
        device="cpu",
        random_state=0,
        options=dict(temporal_depth=1, spectral_depth=1, temporal_size=3, spectral_size=3),
    )
    return BTSFTransformer(**{**params, **kw})


@pytest.fixture(scope="module")
def client():
    # two workers as threads of this process: starts fast, and checks that concurrent fits
    # stay seeded (with threads_per_worker > 1 sktime's nested joblib calls fail in joblib 1.6)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:  # fmt: skip
        yield c


def data():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 8)
    t = np.linspace(0, 6, 20)
    X = np.sin((1 + y[:, None]) * t) + 0.2 * rng.standard_normal((16, 20))
    return X[:, None, :].astype(np.float32), y


def test_grid_search_over_dask_matches_sequential(client):
    X, y = data()
    grid = {"btsftransformer__rank": [1, 2], "btsftransformer__lr": [1e-3, 3e-3]}
    search = lambda n_jobs: GridSearchCV(make_pipeline(tiny(), LogisticRegression()), grid,  # noqa: E731
                                         cv=KFold(2, shuffle=True, random_state=0),
                                         n_jobs=n_jobs)  # fmt: skip
    with joblib.parallel_backend("dask"), distributed.get_task_stream() as tasks:
        on_dask = search(-1).fit(X, y)
    assert tasks.data  # the fits ran on the cluster (joblib batches them into tasks)
    sequential = search(1).fit(X, y)
    # seeded fits: the cluster gives the very same scores as one process
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    assert on_dask.best_params_ == sequential.best_params_


def test_sktime_benchmark_over_dask(client):
    # sktime's own backend="dask" needs pyarrow (dask dataframes); its "joblib" layer does
    # not, but joblib 1.6 mis-builds a backend named "dask" by string when tasks run on two
    # or more workers (TypeError: Batch.__call__() got an unexpected keyword argument
    # 'nesting_level'): pass joblib's dask backend object instead
    from joblib._dask import DaskDistributedBackend
    from sklearn.metrics import accuracy_score
    from sktime.benchmarking.classification import ClassificationBenchmark
    from sktime.datasets import load_unit_test

    bench = ClassificationBenchmark(
        backend="joblib", backend_params={"backend": DaskDistributedBackend(), "n_jobs": -1}
    )
    bench.add_estimator(tiny() * LogisticRegression(), estimator_id="BTSF-LR")
    bench.add_estimator(tiny(rank=1) * LogisticRegression(), estimator_id="BTSF-r1-LR")
    bench.add_task(
        load_unit_test, KFold(n_splits=2, shuffle=True, random_state=0), [accuracy_score]
    )
    with distributed.get_task_stream() as tasks:
        results = bench.run()
    assert tasks.data
    acc = results.filter(like="accuracy_score_fold").select_dtypes("number").to_numpy()
    assert acc.shape == (2, 2) and ((acc >= 0) & (acc <= 1)).all()
