"""Parallel and distributed search: loky workers and a Dask LocalCluster.

Threads policy under test: ``MDNRegressor.fit`` never changes torch's thread
settings; it uses what the process has. joblib's loky workers start with
``OMP_NUM_THREADS = max(cpu_count // n_jobs, 1)``, and Dask's nanny starts
workers with ``OMP_NUM_THREADS=1``; torch reads that variable when it is
imported, so ``n_jobs`` fits never run more torch threads than there are
cores.
"""

import logging
import os

import joblib
import numpy as np
import pytest
import torch
from _helpers import sine_data
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mdn import MDNRegressor

GRID = {"learning_rate_init": [3e-3, 3e-2]}


def _estimator():
    return MDNRegressor(hidden_layer_sizes=(8,), max_iter=8, random_state=0)


def _torch_threads(estimator, X, y):
    """A 'scorer' reporting the torch threads of the process that ran the fit."""
    return float(torch.get_num_threads())


def _search(n_jobs):
    return GridSearchCV(
        _estimator(),
        GRID,
        cv=KFold(2),
        n_jobs=n_jobs,
        scoring={"r2": "r2", "threads": _torch_threads},
        refit="r2",
    )


@pytest.fixture(scope="module")
def serial_search():
    X, y = sine_data(60)
    # One thread: faster for a tiny net on a busy machine, and restored.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _search(n_jobs=1).fit(X, y)
    finally:
        torch.set_num_threads(n_threads)


def _assert_same_search(search, reference):
    # Same candidates, same folds and seeds: the same scores. Worker
    # processes may run torch with fewer threads than the main one, which
    # may reorder float32 sums, hence a tolerance instead of equality.
    assert_allclose(
        search.cv_results_["mean_test_r2"],
        reference.cv_results_["mean_test_r2"],
        rtol=1e-4,
    )
    assert search.best_params_ == reference.best_params_


def _expected_loky_threads(n_jobs):
    # joblib respects a value the user set; otherwise it divides the cores.
    if "OMP_NUM_THREADS" in os.environ:
        return int(os.environ["OMP_NUM_THREADS"])
    return max(joblib.cpu_count() // n_jobs, 1)


def test_grid_search_loky_no_oversubscription(serial_search):
    X, y = sine_data(60)
    main_threads = torch.get_num_threads()
    search = _search(n_jobs=2)
    with joblib.parallel_backend("loky"):
        search.fit(X, y)
    threads = search.cv_results_["split0_test_threads"]
    assert set(threads) == {_expected_loky_threads(2)}
    # Two workers never run more torch threads than there are cores.
    assert 2 * threads[0] <= max(joblib.cpu_count(), 2)
    # The user's own process keeps its setting.
    assert torch.get_num_threads() == main_threads
    _assert_same_search(search, serial_search)
    assert np.all(np.isfinite(search.predict(X)))


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip(
        "distributed", reason="the Dask path needs the 'distributed' extra"
    )
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never a clash
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_grid_search_on_dask_cluster(dask_client, serial_search):
    """The documented path for searches beyond one machine."""
    X, y = sine_data(60)
    search = _search(n_jobs=2)
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    # The fits ran on the cluster's worker processes, one torch thread each.
    assert set(search.cv_results_["split0_test_threads"]) == {1}
    worker_pids = set(dask_client.run(os.getpid).values())
    assert os.getpid() not in worker_pids
    _assert_same_search(search, serial_search)
    assert np.all(np.isfinite(search.predict(X)))


def test_fitted_model_travels_through_dask(dask_client):
    """A model fitted on the cluster comes back and predicts identically."""
    X, y = sine_data(60)
    future = dask_client.submit(lambda est: est.fit(X, y), _estimator(), pure=False)
    remote = future.result()
    local = _estimator().fit(X, y)
    assert_allclose(remote.predict(X), local.predict(X), rtol=1e-4)
    pred = dask_client.submit(lambda est: est.predict(X), remote).result()
    np.testing.assert_array_equal(pred, remote.predict(X))
