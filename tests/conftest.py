"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Train on one torch thread for the duration of a module.

    The networks of these tests are tiny: more threads only add
    synchronisation, which on a busy machine costs more than the work.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
