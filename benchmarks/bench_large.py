"""A default fit of 1,000,000 rows: CPU time, peak memory and held-out NLL.

Targets of issue 12: a default ``MDNRegressor()`` fit of 10^6 rows x 10
features takes at most 3 minutes of CPU time, its peak resident set size stays
below 2 GB, and its held-out negative log-likelihood is within 0.01 nats of a
fit given three times the budget (three times the epochs the default fit ran,
and three times its patience, so that early stopping does not end it at the
same place).

Each fit runs in a fresh subprocess, so that its peak RSS (``ru_maxrss``) and
CPU time (``ru_utime + ru_stime``, all threads) are its own. The estimator is
``MDNRegressor()`` with only ``random_state`` set: the script measures
whatever the defaults of the installed package are.

Usage::

    python benchmarks/bench_large.py [--rows 1000000] [--only-default]
        [--out benchmarks/results/large.md]

Run it from outside a source tree to measure the installed package, or with
``PYTHONPATH=<tree>`` to measure a tree.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

N_FEATURES = 10
N_TEST = 100_000

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    import numpy as np
    sys.path.insert(0, {here!r})
    from bench_large import make_data, true_nll
    import sklearn_mdn
    from sklearn_mdn import MDNRegressor

    warnings.filterwarnings("ignore")
    X, y = make_data({rows}, seed=0)
    X_test, y_test = make_data({n_test}, seed=1)
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    est = MDNRegressor(random_state=0, **{params!r}).fit(X, y)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    nll = -float(np.mean(est.predict_dist(X_test).log_prob(y_test)))
    schedule = {{}}
    for key in ("n_iter_", "n_steps_", "batch_size_"):
        if hasattr(est, key):
            schedule[key] = int(getattr(est, key))
    print(json.dumps(dict(
        cpu_s=cpu, wall_s=wall, maxrss_bytes=after.ru_maxrss * 1024,
        nll=nll, true_nll=true_nll(X_test, y_test), params={params!r},
        package=sklearn_mdn.__file__, version=sklearn_mdn.__version__,
        **schedule,
    )))
    """
)


def truth(X):
    """Mean and standard deviation of the smooth heteroscedastic truth."""
    import numpy as np

    mean = np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.3 * X[:, 3]
    sd = 0.1 + 0.4 / (1.0 + np.exp(-2.0 * X[:, 4])) * (1.0 + 0.5 * np.abs(X[:, 5]))
    return mean, sd


def make_data(n, seed=0):
    """``n`` rows of ``N_FEATURES`` uniform inputs and a normal target."""
    import numpy as np

    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, N_FEATURES))
    mean, sd = truth(X)
    return X, mean + sd * rng.normal(size=n)


def true_nll(X, y):
    """Mean negative log-likelihood of ``y`` under the truth: the floor."""
    import numpy as np

    mean, sd = truth(X)
    return float(np.mean(0.5 * ((y - mean) / sd) ** 2 + np.log(sd))) + 0.5 * float(
        np.log(2.0 * np.pi)
    )


def run_fit(rows, params):
    code = _CHILD.format(
        here=str(Path(__file__).resolve().parent),
        rows=rows,
        n_test=N_TEST,
        params=params,
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        sys.exit(f"the fit failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(args, runs, load):
    default = runs[0]
    out = [
        f"# A default fit of {args.rows:,} rows",
        "",
        f"Command: `{' '.join(['python', *sys.argv])}`; package "
        f"`{default['package']}` ({default['version']}). Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average (1 min) at start "
        f"{load[0]:.1f}, at end {load[1]:.1f}.",
        "",
        f"{args.rows:,} training rows x {N_FEATURES} uniform features; target "
        "`sin(2 x0) + 0.5 x1 x2 + 0.3 x3` plus normal noise of standard "
        "deviation `0.1 + 0.4 sigmoid(2 x4) (1 + 0.5 |x5|)`. NLL on "
        f"{N_TEST:,} fresh rows (nats; the truth scores "
        f"{default['true_nll']:.4f}). Each fit in its own process: CPU time of "
        "all its threads, peak RSS of the whole process (data included).",
        "",
        "| fit | parameters | epochs | steps | CPU (s) | wall (s) | peak RSS (MiB) "
        "| held-out NLL |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in zip(("default", f"{args.factor}x budget"), runs):
        out.append(
            f"| {name} | `{run['params'] or 'defaults'}` | {run.get('n_iter_', '?')} | "
            f"{run.get('n_steps_', '?')} | {run['cpu_s']:.0f} | {run['wall_s']:.0f} | "
            f"{run['maxrss_bytes'] / 2**20:.0f} | {run['nll']:.4f} |"
        )
    out += ["", "Targets of issue 12:", ""]
    ok = default["cpu_s"] <= 180
    out.append(
        f"- CPU time {default['cpu_s']:.0f} s (target <= 180 s): "
        + ("met" if ok else "**not met**")
    )
    ok = default["maxrss_bytes"] < 2e9
    out.append(
        f"- peak RSS {default['maxrss_bytes'] / 1e9:.2f} GB (target < 2 GB): "
        + ("met" if ok else "**not met**")
    )
    if len(runs) > 1:
        gap = default["nll"] - runs[1]["nll"]
        out.append(
            f"- held-out NLL {gap:+.4f} nats from the {args.factor}x fit "
            "(target <= 0.01): " + ("met" if gap <= 0.01 else "**not met**")
        )
    out.append("")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--factor", type=int, default=3, help="budget of the long fit")
    parser.add_argument("--only-default", action="store_true", help="skip the long fit")
    parser.add_argument("--out", default=None, help="Markdown output")
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    runs = [run_fit(args.rows, {})]
    print(json.dumps(runs[0]))
    if not args.only_default:
        # Three times the epochs the default fit ran and three times the
        # patience of its schedule (in epochs), so that the longer fit is not
        # stopped where the default one was.
        from sklearn_mdn import MDNRegressor
        from sklearn_mdn._estimators._plan import make_plan

        plan = make_plan(MDNRegressor(), args.rows)
        params = {
            "max_iter": args.factor * runs[0]["n_iter_"],
            "n_iter_no_change": args.factor * plan.n_iter_no_change,
        }
        runs.append(run_fit(args.rows, params))
        print(json.dumps(runs[1]))
    text = report(args, runs, (load0, os.getloadavg()[0]))
    print(text)
    print(f"(total {time.perf_counter() - start:.0f} s)")
    if args.out:
        Path(args.out).write_text(text)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
