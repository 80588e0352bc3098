"""Feature selection with few noise features: the ``irrelevant`` truth cut
to its first P features.

The ``irrelevant`` truth of ``bench_synthetic.py`` reads 3 of its 40
features (x1, x2 set the mean, x3 the noise level). Cut to its first P
features it has P - 3 noise features, as a table of 8 or 12 columns with a
few useless ones might. Each fit is the default ``MDNRegressor`` with
``select_features="auto"`` and ``False`` on the same rows and seed; the
measure is the test NLL minus the truth's (10,000 test rows), and the
features kept. One torch thread; prints a markdown table.

Usage::

    python benchmarks/bench_selection_features.py --features 8,12 \\
        --rows 1000,4000 --seeds 3 [--jobs 2]
"""

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def fit(task):
    import bench_synthetic as bs
    import torch

    from sklearn_mdn import MDNRegressor

    torch.set_num_threads(1)
    n_features, n_rows, seed, select = task
    truth = bs.TRUTHS["irrelevant"]
    (X, y), _ = bs.truth_data(truth, seed, scale=n_rows / truth.n_train)
    _, (X_test, y_test) = bs.truth_data(truth, seed)  # the 10,000 test rows
    start = time.process_time()
    model = MDNRegressor(random_state=seed, select_features=select)
    model.fit(X[:, :n_features], y)
    cpu = time.process_time() - start
    dist = model.predict_dist(X_test[:, :n_features])
    gap = float(np.mean(truth.logpdf(X_test, y_test)) - np.mean(dist.log_prob(y_test)))
    support = model.fit_plan_.support
    kept = "".join("1" if s else "0" for s in support) if support is not None else ""
    return task, gap, cpu, kept


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default="8,12")
    parser.add_argument("--rows", default="1000,4000")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    tasks = [
        (p, n, seed, select)
        for p in map(int, args.features.split(","))
        for n in map(int, args.rows.split(","))
        for seed in range(args.seeds)
        for select in ("auto", False)
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = {r[0]: r[1:] for r in pool.map(fit, tasks)}
    print(
        "| features | rows | seed | gap, selection | gap, none | CPU s, selection "
        "| CPU s, none | kept (x1 ... xP) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for p, n, seed, select in tasks:
        if select is False:
            continue
        gap, cpu, kept = results[(p, n, seed, "auto")]
        gap_off, cpu_off, _ = results[(p, n, seed, False)]
        print(
            f"| {p} | {n} | {seed} | {gap:.3f} | {gap_off:.3f} | {cpu:.1f} "
            f"| {cpu_off:.1f} | {kept} |"
        )


if __name__ == "__main__":
    main()
