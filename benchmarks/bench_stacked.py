"""CPU time of k networks trained together (_nn/_stacked.py) or one after another.

Default architecture, 300 rows of a 10-feature table, a fixed budget of
epochs (early stopping's patience beyond it), one thread; each contender's
fits run in this process, so the one-time import cost of the first fit is
paid before the timings (a warm-up fit).

Usage::

    python benchmarks/bench_stacked.py [--epochs 60] [--networks 1,2,3,5]
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

import sklearn_mdn._estimators._networks as regressor
from sklearn_mdn import MDNRegressor


def fit_seconds(k, epochs, stacked, X, y):
    supported = regressor.stacked_supported
    if not stacked:
        regressor.stacked_supported = lambda est, plan: False
    try:
        est = MDNRegressor(
            n_networks=k,
            select_features=False,
            n_components=5,
            max_iter=epochs,
            n_iter_no_change=10 * epochs,
            random_state=0,
            n_threads=1,
            refit=False,
        )
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        return time.process_time() - start, est.n_steps_
    finally:
        regressor.stacked_supported = supported


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--networks", default="1,2,3,5")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 10))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * rng.normal(size=300)
    fit_seconds(2, 2, True, X, y)  # warm-up: imports, thread pools
    print("| networks | one after another: CPU s | stacked: CPU s | ratio | steps |")
    print("|---|---|---|---|---|")
    for k in map(int, args.networks.split(",")):
        alone, steps = fit_seconds(k, args.epochs, False, X, y)
        together, steps_s = fit_seconds(k, args.epochs, True, X, y)
        assert steps == steps_s
        print(
            f"| {k} | {alone:.2f} | {together:.2f} | {together / alone:.2f} | {steps} |"
        )


if __name__ == "__main__":
    main()
