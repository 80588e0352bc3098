"""Pinned predictions of small fixed-seed fits.

Refactorings of the training or prediction path must leave these fits
unchanged. ``tests/data/pinned.npz`` holds the predictions, intervals and
samples of two small fits, with the torch and numpy versions, CPU capability
and CPU model of the machine that recorded them: there the comparison is exact
(bit for bit); elsewhere float32 kernels may round differently, so it allows
a relative 1e-4. Regenerate the file only for a deliberate change of the trained model
(``python tests/test_pinned.py``), and say why in the commit.
"""

import os
import platform
import sys

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_mdn import MDNRegressor

PINNED = os.path.join(os.path.dirname(__file__), "data", "pinned.npz")
PARAMS = {
    "hidden_layer_sizes": (16, 16),
    "n_components": 3,
    "max_iter": 15,
    "batch_size": 32,
    "random_state": 0,
    "n_networks": 1,
    # The early-stopped network alone: unchanged by the refit's arrival
    # (tests/estimators/test_refit.py covers the refit).
    "refit": False,
}


def _cpu_model() -> str:
    """The CPU's model name: two AVX512 CPUs of other models (an Intel and an
    AMD EPYC) round float32 kernels differently, by about 1e-7."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fingerprint() -> str:
    cpu = torch.backends.cpu.get_cpu_capability()
    return f"{torch.__version__}|{np.__version__}|{cpu}|{_cpu_model()}"


def _results() -> dict:
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    y1 = np.sin(3 * X[:, 0]) + (0.1 + 0.3 * (X[:, 1] > 0)) * rng.normal(size=300)
    y2 = np.column_stack([y1, X[:, 2] * y1 + 0.2 * rng.normal(size=300)])
    out = {}
    for name, y in [("one", y1), ("two", y2)]:
        reg = MDNRegressor(**PARAMS).fit(X[:250], y[:250])
        X_test = X[250:]
        out[f"{name}_mean"] = reg.predict(X_test)
        out[f"{name}_top"] = reg.predict_dist(X_test).top()
        out[f"{name}_interval"] = reg.predict_interval(X_test, coverage=0.8)
        out[f"{name}_sample"] = reg.sample(X_test, n_samples=3, random_state=0)
        out[f"{name}_log_prob"] = reg.predict_dist(X_test).log_prob(y[250:])
    return out


def test_pinned_fits():
    if not os.path.exists(PINNED):
        pytest.fail(f"{PINNED} is missing; run python tests/test_pinned.py")
    pinned = np.load(PINNED)
    results = _results()
    exact = str(pinned["fingerprint"]) == _fingerprint()
    for key, value in results.items():
        if exact:
            assert_array_equal(value, pinned[key], err_msg=key)
        else:
            assert_allclose(value, pinned[key], rtol=1e-4, atol=1e-6, err_msg=key)


if __name__ == "__main__":
    torch.set_num_threads(1)
    np.savez(PINNED, fingerprint=_fingerprint(), **_results())
    print(f"wrote {PINNED} ({_fingerprint()})", file=sys.stderr)
