"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Train on one torch thread for the whole test session.

    The networks of these tests are tiny: more threads only add
    synchronisation, which on a busy machine costs more than the work (a
    tenfold slowdown has been seen). Loky workers run one thread too (joblib
    limits them), so parallel and sequential fits give identical results.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="module")
def client():
    """A Dask client of a ``LocalCluster`` of two one-thread worker processes.

    One cluster per test module (starting one takes seconds); each worker
    trains on one torch thread, as the tests do. Skipped without the
    'distributed' extra.
    """
    distributed = pytest.importorskip(
        "distributed", reason="the cluster tests need the 'distributed' extra"
    )
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never a clash
        silence_logs=50,
    )
    client = distributed.Client(cluster, set_as_default=False)
    client.run(torch.set_num_threads, 1)
    yield client
    client.close()
    cluster.close()
