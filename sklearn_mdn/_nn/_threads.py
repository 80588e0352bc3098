"""How many torch threads a fit or a prediction runs on (``n_threads``).

Torch's CPU kernels run on a process-wide pool of OpenMP threads, by default
one per core. For the small matrix products of a mixture density network's
training step, extra threads add synchronisation and gain nothing; worse,
when another process keeps a core busy, OpenMP threads spin while they wait
for it, and a fit on all threads runs several times slower than on one (on
a 2-core machine beside one busy process, 2.5x to 3.4x; beside two, 18x to
25x). ``n_threads="auto"`` therefore runs one thread unless the work of a
step is large enough for more to pay off, and then no more than the cores
that no other process is using at that moment, and never more than the
process's own setting (which joblib and Dask lower in their workers).

The count changes only how products are split between threads, not their
results: fits are bit-identical whatever the count
(``tests/test_threads.py``).
"""

import os
import threading
import time
from contextlib import contextmanager

import torch

# The threads a step's work keeps busy: a rule of the fit plan (at
# WORK_PER_THREAD = 1e7 multiply-adds a thread, the default 5x100 network
# trains on one thread up to about 230 rows per step).

_lock = threading.Lock()
_active = 0
_saved = None


# n_threads="auto": multiply-adds of a forward pass (per step, or per
# predicted chunk) that keep one more thread busy enough to pay off.
WORK_PER_THREAD = 1e7


def threads_by_work(work: float) -> int:
    """Threads that a forward pass of ``work`` multiply-adds keeps busy."""
    return max(1, int(work // WORK_PER_THREAD))


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Seconds a reading of the machine's load is reused: predicting a large
# input asks once per chunk, and three readings cost 3 ms of waiting.
_PROBE_TTL = 1.0
_probe = {"time": float("-inf"), "value": 0.0}


def _others_running() -> float:
    """Processes other than this one that are running right now.

    On Linux, the smallest of three readings, a millisecond apart, of the
    kernel's count of runnable tasks (``/proc/loadavg``), less this thread;
    elsewhere the one-minute load average less one. A reading is reused for
    ``_PROBE_TTL`` seconds.
    """
    now = time.monotonic()
    if now - _probe["time"] < _PROBE_TTL:
        return _probe["value"]
    value = _read_others_running()
    _probe.update(time=now, value=value)
    return value


def _read_others_running() -> float:
    try:
        readings = []
        for _ in range(3):
            with open("/proc/loadavg") as f:
                readings.append(int(f.read().split()[3].split("/")[0]))
            time.sleep(0.001)
        return max(min(readings) - 1, 0)
    except (OSError, ValueError, IndexError):
        try:
            return max(os.getloadavg()[0] - 1.0, 0.0)
        except (AttributeError, OSError):
            return 0.0


def auto_threads(work: float) -> int:
    """Threads for a forward pass of ``work`` multiply-adds (see module doc)."""
    by_work = threads_by_work(work)
    if by_work <= 1:
        return 1
    free = int(available_cpus() - _others_running())
    return max(1, min(by_work, free, torch.get_num_threads()))


def resolve_threads(n_threads, work: float):
    """The thread count ``n_threads`` asks for, or None to leave torch's."""
    if n_threads is None:
        return None
    if n_threads == "auto":
        return auto_threads(work)
    if n_threads < 0:
        return max(available_cpus() + 1 + n_threads, 1)
    return int(n_threads)


def _flushing_denormals() -> bool:
    """Whether this thread flushes denormal floats to zero: 1e-30 x 1e-10
    (1e-40, a denormal float32) comes out as zero."""
    tiny = torch.tensor(1e-30, dtype=torch.float32)
    return bool(tiny * 1e-10 == 0)


@contextmanager
def flush_denormals():
    """Flush denormal floats to zero on this thread inside the block, then
    restore its setting (:func:`torch.set_flush_denormal`; a CPU without
    the flags changes nothing).

    A mixture's gradients are full of denormals: the posterior weight of a
    component far from a row, ``exp(-90)``, say, is below float32's smallest
    normal number (1.2e-38), and products with it run many times slower on
    x86 CPUs. They are worth nothing beside the other terms of a gradient.
    Measured (round 28): a default fit on a branching truth in 0.69x the
    CPU time, the same test NLL to every printed digit. The setting is the
    calling thread's: torch's other threads keep theirs.
    """
    before = _flushing_denormals()
    if before:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@contextmanager
def torch_threads(n):
    """Run torch on ``n`` threads, flushing denormals to zero on this one
    (:func:`flush_denormals`), inside the block, then restore the settings.

    Torch's thread count is process-wide: when blocks run concurrently (fits
    in threads), the first sets the count, the others keep it, and the last
    to leave restores the count found by the first. ``n=None`` leaves the
    count.
    """
    with flush_denormals():
        with _threads(n):
            yield


@contextmanager
def _threads(n):
    """:func:`torch_threads`' thread count."""
    global _active, _saved
    if n is None:
        yield
        return
    with _lock:
        if _active == 0:
            _saved = torch.get_num_threads()
            if n != _saved:
                torch.set_num_threads(n)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and torch.get_num_threads() != _saved:
                torch.set_num_threads(_saved)


def forward_work(module) -> int:
    """Multiply-adds of ``module``'s linear layers for one row."""
    return sum(
        m.in_features * m.out_features
        for m in module.modules()
        if isinstance(m, torch.nn.Linear)
    )
