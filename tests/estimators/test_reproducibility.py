"""Seeded fits are reproducible under threads and processes, and leave the
global random states alone.

Weights, shuffling and the validation split are drawn from private
generators, so concurrent fits cannot interleave their draws: a seeded fit
gives bit-identical predictions whether it runs alone, in a thread beside
others, in a loky process or on a Dask worker thread.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from _helpers import sine_data
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mdn import MDNEnsembleRegressor, MDNRegressor

X, Y = sine_data(80)
SEEDS = [0, 1, 2, 3]


def _fit_predict(seed):
    reg = MDNRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=seed)
    return reg.fit(X, Y).predict_interval(X)


@pytest.fixture(scope="module")
def sequential():
    return [_fit_predict(seed) for seed in SEEDS]


def test_threaded_fits_match_sequential_ones(sequential):
    """Four fits in four threads, twenty times over: always bit-identical."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(20):
            for got, expected in zip(pool.map(_fit_predict, SEEDS), sequential):
                assert_array_equal(got, expected)


def test_grid_search_in_threads_matches_serial():
    search = GridSearchCV(
        MDNRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0),
        {"learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2]},
        cv=KFold(2),
    )
    serial = clone(search).fit(X, Y)
    for _ in range(3):
        with joblib.parallel_backend("threading", n_jobs=2):
            threaded = clone(search).set_params(n_jobs=2).fit(X, Y)
        assert_array_equal(
            threaded.cv_results_["mean_test_score"],
            serial.cv_results_["mean_test_score"],
        )
        assert_array_equal(threaded.predict(X), serial.predict(X))


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_ensemble_members_in_parallel_match_serial(backend):
    member = MDNRegressor(hidden_layer_sizes=(8,), max_iter=4)
    ensemble = MDNEnsembleRegressor(member, n_estimators=4, random_state=0)
    serial = clone(ensemble).fit(X, Y).predict_interval(X)
    with joblib.parallel_backend(backend, n_jobs=2):
        parallel = clone(ensemble).set_params(n_jobs=2).fit(X, Y)
    assert_array_equal(parallel.predict_interval(X), serial)


def test_fits_on_dask_worker_threads_match_sequential(sequential):
    distributed = pytest.importorskip(
        "distributed", reason="the Dask path needs the 'distributed' extra"
    )
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=4,
            processes=False,
            dashboard_address=":0",  # any free port: never a clash
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for _ in range(3):
            futures = client.map(_fit_predict, SEEDS, pure=False)
            for got, expected in zip(client.gather(futures), sequential):
                assert_array_equal(got, expected)


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_and_sample_leave_global_random_states_alone(random_state):
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()
    reg = MDNRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=random_state)
    reg.fit(X, Y).sample(X, n_samples=2, random_state=random_state)
    MDNEnsembleRegressor(reg, n_estimators=2, random_state=random_state).fit(X, Y)
    assert torch.equal(torch_state, torch.get_rng_state())
    after = np.random.get_state()
    assert_array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


def test_unseeded_fits_differ():
    """None draws fresh seeds: two unseeded fits are different networks."""
    first, second = (
        MDNRegressor(hidden_layer_sizes=(8,), max_iter=2).fit(X, Y).predict(X)
        for _ in range(2)
    )
    assert not np.array_equal(first, second)
