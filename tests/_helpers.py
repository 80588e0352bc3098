"""Data, small estimators and a subprocess runner shared by the test modules."""

import os
import subprocess
import sys

import numpy as np

from sklearn_mdn import MDNRegressor

#: The smallest useful network: fits in milliseconds.
TINY = {"n_components": 2, "hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0}
#: A small network that learns a little.
SMALL = {"n_components": 3, "hidden_layer_sizes": (8,), "max_iter": 15}


def tiny_mdn(base=None, /, **params) -> MDNRegressor:
    """``MDNRegressor`` with :data:`TINY` settings, updated by ``base`` and
    ``params`` in that order."""
    return MDNRegressor(**{**TINY, **(base or {}), **params})


def sine_data(n, *, p=2, freq=3.0, noise=0.2, inputs="uniform", seed=0):
    """``y = sin(freq * x0) + noise * N(0, 1)``, ``X`` uniform on [-1, 1] or
    standard normal."""
    rng = np.random.RandomState(seed)
    if inputs == "uniform":
        X = rng.uniform(-1, 1, size=(n, p))
    else:
        X = rng.normal(size=(n, p))
    return X, np.sin(freq * X[:, 0]) + noise * rng.normal(size=n)


def linear_data(n, *, p=2, noise=0.1, seed=0):
    """``y = x0 + noise * N(0, 1)``, ``X`` standard normal."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p))
    return X, X[:, 0] + noise * rng.normal(size=n)


def part_branch_data(n, seed=0):
    """``y = x``, or for ``x`` in [-0.2, 0.6] ``1.2 - 0.5 x`` with
    probability 0.3 (noise 0.01): a second branch on part of the inputs
    only, which ends abruptly at both ends."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, n)
    second = (x >= -0.2) & (x <= 0.6) & (rng.rand(n) < 0.3)
    y = np.where(second, 1.2 - 0.5 * x, x) + 0.01 * rng.normal(size=n)
    return x[:, None], y


def run_without_cuda(code):
    """Run Python ``code`` in a fresh interpreter that sees no CUDA device
    (as on a CPU-only machine); a failure there fails the calling test."""
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
