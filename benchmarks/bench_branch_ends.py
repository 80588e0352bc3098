"""Where the branch truths' misses lie: phantom mass, mode count and NLL gap
by the distance of a test row to the nearest end of a branch.

The branching truths of ``bench_synthetic.py`` (issue #29) have branches
that end: at a joint limit (``arm-limits``), at a fold (``fold``), at the
ends of a span (``part-branch``). A mixture's weights change smoothly with
the input, so a branch cannot vanish at once; this splits each fit's
measures by how far a test row lies from where a branch ends:

- ``arm-limits``: the smaller distance (rad) of the hand's two elbow
  solutions, admissible or not, to a joint limit;
- ``fold``: the distance in x to a fold (x = g(y) at g'(y) = 0);
- ``part-branch``: the distance in x to an end of the second branch's span.

Per band of that distance: the share of rows, the phantom mass
(``bench_synthetic.phantom_mass``), the share of rows whose count of modes
of mass 0.02 or more is the truth's (``mode_match``) and, on the noisy
twins, the test NLL minus the truth's. Default ``MDNRegressor`` (plus the
parameters of ``--params``, Python literals), the data draws and test rows
of ``bench_synthetic.py``; one torch thread a fit.

Usage::

    python benchmarks/bench_branch_ends.py --truths arm-limits,arm-limits-noisy \\
        --draws 2 --seeds 1 [--jobs 2] [--params gate_size=100]
"""

import argparse
import ast
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

# Upper edges of the distance bands: radians on the arm, x elsewhere.
BANDS = {"arm": (0.05, 0.2), "x": (0.02, 0.1)}
MIN_MASS = 0.02


def branch_end_distance(truth, X):
    """Each row's distance to the nearest end of a branch (see the module's
    docstring) and the band edges that go with it."""
    import bench_synthetic as bs

    if isinstance(truth, bs.ArmLimits):
        sol = truth.elbow_solutions(X)  # (n, 2 solutions, (theta1, theta2))
        t1, t2 = sol[..., 0], sol[..., 1]
        to_t2 = np.min([np.abs(t2 - e) for part in truth.t2_parts for e in part], 0)
        to_t1 = np.minimum(np.abs(t1), np.abs(t1 - math.pi / 2))
        return np.minimum(to_t1, to_t2).min(axis=1), BANDS["arm"]
    x = X[:, 0]
    if isinstance(truth, bs.Fold):
        (_, c), (_, _), (d, _) = truth._pieces()
        ends = (truth.g(c), truth.g(d))
    else:
        ends = truth.span
    return np.min([np.abs(x - e) for e in ends], axis=0), BANDS["x"]


def fit(task):
    import bench_synthetic as bs
    import torch

    from sklearn_mdn import MDNRegressor

    torch.set_num_threads(1)
    name, draw, seed, params = task
    truth = bs.TRUTHS[name]
    (X, y), (X_test, y_test) = bs.truth_data(truth, draw)
    start = time.process_time()
    model = MDNRegressor(random_state=seed, **params).fit(X, y)
    cpu = time.process_time() - start
    dist = model.predict_dist(X_test)
    phantom = bs.phantom_mass(truth, dist, X_test)
    modes, masses = bs._all_modes(dist)
    n_clusters, _, _ = bs.mode_match(truth, X_test, modes, masses)
    _, w = truth.solutions(X_test)
    n_modes = bs.kept_modes(masses, MIN_MASS).sum(axis=1)
    count_ok = bs.count_right(n_modes, n_clusters, (w > 0).sum(axis=1))
    gap = None
    if getattr(truth, "has_density", False):
        gap = truth.logpdf(X_test, y_test) - dist.log_prob(y_test)
    distance, edges = branch_end_distance(truth, X_test)
    rows = []
    for lo, hi in zip((0.0, *edges), (*edges, math.inf)):
        band = (distance >= lo) & (distance < hi)
        rows.append(
            (
                lo,
                hi,
                band.mean(),
                phantom[band].mean(),
                count_ok[band].mean(),
                None if gap is None else gap[band].mean(),
            )
        )
    total = (phantom.mean(), count_ok.mean(), None if gap is None else gap.mean())
    return task, rows, total, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truths", default="arm-limits,arm-limits-noisy")
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--params", default="", help="key=value,... (literals)")
    args = parser.parse_args(argv)
    params = {
        key: ast.literal_eval(value)
        for key, value in (p.split("=", 1) for p in args.params.split(",") if p)
    }
    tasks = [
        (name, draw, seed, params)
        for name in args.truths.split(",")
        for draw in range(args.draws)
        for seed in range(args.seeds)
    ]
    print(
        "| truth | draw | seed | distance to a branch end | rows | phantom mass "
        "| count right | NLL gap |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")

    def fmt(v, digits):
        return "-" if v is None else f"{v:.{digits}f}"

    with ProcessPoolExecutor(args.jobs) as pool:
        for (name, draw, seed, _), rows, total, cpu in pool.map(fit, tasks):
            for lo, hi, share, phantom, count, gap in rows:
                band = f"{lo:g} to {hi:g}" if math.isfinite(hi) else f"{lo:g} or more"
                print(
                    f"| {name} | {draw} | {seed} | {band} | {share:.3f} "
                    f"| {phantom:.4f} | {count:.3f} | {fmt(gap, 3)} |"
                )
            print(
                f"| {name} | {draw} | {seed} | **all** ({cpu:.0f} CPU s) | 1 "
                f"| **{total[0]:.4f}** | **{total[1]:.3f}** | {fmt(total[2], 3)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
