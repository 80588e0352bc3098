"""CPU time of a training step: the stacked loop against skorch's, one network.

One early-stopped network of the default architecture (5 components, 8
features), trained for 15 epochs (patience longer than that) on
``_nn/_stacked.py``'s loop and, with it switched off, on skorch's epoch loop
(``MixtureNet``), alternately, at several batch sizes. One torch thread.

Usage::

    python benchmarks/bench_loops.py [--repeats 3]
"""

import argparse
import time
import warnings

import numpy as np
import torch

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _networks

CASES = [(700, 32), (8000, 83), (8000, 181)]


def step_ms(X, y, batch_size, stacked):
    original = _networks.stacked_supported
    if not stacked:
        _networks.stacked_supported = lambda est, plan: False
    try:
        reg = MDNRegressor(
            random_state=0,
            n_networks=1,
            batch_size=batch_size,
            max_iter=15,
            n_iter_no_change=1000,
            select_features=False,
            refit=False,
            n_components=5,
            calibrate=False,
        )
        tic = time.process_time()
        reg.fit(X, y)
        return 1e3 * (time.process_time() - tic) / reg.n_steps_
    finally:
        _networks.stacked_supported = original


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    print("| rows | rows a step | skorch loop: ms a step | stacked loop | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for n, batch_size in CASES:
        X = rng.normal(size=(n, 8))
        y = X[:, 0] + rng.normal(size=n)
        step_ms(X, y, batch_size, True)  # warm up
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for stacked in (False, True):
                times[stacked].append(step_ms(X, y, batch_size, stacked))
        skorch, stacked = np.median(times[False]), np.median(times[True])
        print(
            f"| {n:,} | {batch_size} | {skorch:.3f} | {stacked:.3f} | "
            f"{stacked / skorch:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
