"""n_threads: torch's thread count during fit and predict, restored after."""

import threading

import numpy as np
import pytest
import torch
from _helpers import sine_data, tiny_mdn
from numpy.testing import assert_array_equal

from sklearn_mdn._nn import _threads
from sklearn_mdn._nn._stacked import StackedRun
from sklearn_mdn._nn._threads import WORK_PER_THREAD
from sklearn_mdn._nn._training import MixtureNet

X, Y = sine_data(200)


def _record_threads(monkeypatch, probe=torch.get_num_threads):
    """Record ``probe()`` (torch's thread count) inside every training run."""
    seen = []
    partial_fit = MixtureNet.partial_fit

    def recording(self, *args, **kwargs):
        seen.append(probe())
        return partial_fit(self, *args, **kwargs)

    monkeypatch.setattr(MixtureNet, "partial_fit", recording)
    # Networks trained together (_stacked.py): one entry per network.
    train = StackedRun._train

    def recording_stacked(self, *args, **kwargs):
        seen.extend([probe()] * len(self.nets))
        return train(self, *args, **kwargs)

    monkeypatch.setattr(StackedRun, "_train", recording_stacked)
    return seen


@pytest.mark.parametrize("n_threads", [1, 2])
def test_fit_runs_on_the_threads_asked_for_and_restores(monkeypatch, n_threads):
    seen = _record_threads(monkeypatch)
    before = torch.get_num_threads()
    reg = tiny_mdn(n_threads=n_threads).fit(X, Y)
    # Every training run (select_features may add some) on those threads.
    assert len(seen) >= reg.n_networks_
    assert set(seen) == {n_threads}
    assert torch.get_num_threads() == before


def test_none_leaves_torch_alone(monkeypatch):
    seen = _record_threads(monkeypatch)
    before = torch.get_num_threads()
    reg = tiny_mdn(n_threads=None).fit(X, Y)
    assert len(seen) >= reg.n_networks_
    assert set(seen) == {before}


def test_thread_count_does_not_change_results():
    one = tiny_mdn(n_threads=1, max_iter=5).fit(X, Y)
    two = tiny_mdn(n_threads=2, max_iter=5).fit(X, Y)
    assert_array_equal(one.predict_interval(X), two.predict_interval(X))


def test_restored_when_fit_raises():
    before = torch.get_num_threads()
    with pytest.raises(FloatingPointError):
        tiny_mdn(n_threads=2, learning_rate_init=1e30, max_iter=5).fit(X, Y * 1e3)
    assert torch.get_num_threads() == before


def test_auto_uses_one_thread_for_small_steps(monkeypatch):
    monkeypatch.setattr(_threads, "_others_running", lambda: 0.0)
    assert _threads.auto_threads(0.5 * WORK_PER_THREAD) == 1


def test_auto_scales_with_work_within_idle_cores_and_setting(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 8)
    with _threads.torch_threads(4):
        monkeypatch.setattr(_threads, "_others_running", lambda: 0.0)
        assert _threads.auto_threads(3 * WORK_PER_THREAD) == 3
        # Never more than the process's own setting.
        assert _threads.auto_threads(100 * WORK_PER_THREAD) == 4
        # Only the cores other processes leave idle.
        monkeypatch.setattr(_threads, "_others_running", lambda: 6.0)
        assert _threads.auto_threads(100 * WORK_PER_THREAD) == 2
        monkeypatch.setattr(_threads, "_others_running", lambda: 9.0)
        assert _threads.auto_threads(100 * WORK_PER_THREAD) == 1


def test_negative_counts_follow_n_jobs(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 8)
    assert _threads.resolve_threads(-1, 0) == 8
    assert _threads.resolve_threads(-2, 0) == 7
    assert _threads.resolve_threads(-20, 0) == 1


def test_concurrent_blocks_share_one_setting_and_restore_it():
    before = torch.get_num_threads()
    inside, release = threading.Barrier(3), threading.Event()
    counts = []

    def work():
        with _threads.torch_threads(3):
            inside.wait()
            counts.append(torch.get_num_threads())
            release.wait()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    inside.wait()
    release.set()
    for w in workers:
        w.join()
    assert counts == [3, 3]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, 1.5, "all"])
def test_invalid_n_threads_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="n_threads"):
        tiny_mdn(n_threads=bad).fit(X, Y)


def test_prediction_restores_threads():
    reg = tiny_mdn(n_threads=2).fit(X, Y)
    before = torch.get_num_threads()
    reg.predict(np.repeat(X, 100, axis=0))
    assert torch.get_num_threads() == before


def test_load_reading_is_reused_for_a_second(monkeypatch):
    """Large predictions ask per chunk; the machine's load is read once."""
    calls = []
    monkeypatch.setattr(
        _threads, "_read_others_running", lambda: calls.append(1) or 0.0
    )
    monkeypatch.setattr(_threads, "_probe", {"time": float("-inf"), "value": 0.0})
    for _ in range(5):
        _threads._others_running()
    assert len(calls) == 1


def test_training_flushes_denormals_and_restores(monkeypatch):
    flushing = _record_threads(monkeypatch, _threads._flushing_denormals)
    assert not _threads._flushing_denormals()
    reg = tiny_mdn(n_threads=None, max_iter=5).fit(X, Y)
    assert flushing and all(flushing)
    assert not _threads._flushing_denormals()  # this thread's setting is back
    assert np.isfinite(reg.predict(X)).all()
    # A caller that flushes already keeps flushing after the block.
    torch.set_flush_denormal(True)
    try:
        with _threads.torch_threads(1):
            pass
        assert _threads._flushing_denormals()
    finally:
        torch.set_flush_denormal(False)
