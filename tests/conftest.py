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
