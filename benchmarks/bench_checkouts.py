"""Default fits of synthetic truths under several checkouts, side by side.

Each fit is ``MDNRegressor(random_state=SEED).fit`` on a truth of
``bench_synthetic.py`` (draw ``DRAW`` of its data, from this checkout's
script), in a fresh subprocess on one thread that imports ``sklearn_mdn``
from the checkout named; the checkouts of a fit are queued next to each
other, so that all see the same state of a shared machine. Reported: the
CPU seconds of each fit (``time.process_time`` in the child), its gradient
steps (``n_steps_``; none before that attribute existed) and its test NLL::

    git worktree add --detach /tmp/mdn-r26 65db0fd
    python benchmarks/bench_checkouts.py r26=/tmp/mdn-r26 this=. \\
        --fits arm-limits:0:0,fold:1:0 [--jobs 2] \\
        [--out benchmarks/results/checkouts.md]

Each fit is ``TRUTH:DRAW:SEED``. Records go to ``<out stem>_raw.jsonl``; a
rerun skips the fits already there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _raw import read_raw, run_and_append

HERE = Path(__file__).resolve().parent

CHILD = """
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(1)
sys.path.append(sys.argv[2])
from bench_synthetic import TRUTHS, truth_data
from sklearn_mdn import MDNRegressor
name, draw, seed = sys.argv[1].split(":")
(X, y), (X_test, y_test) = truth_data(TRUTHS[name], int(draw))
start = time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    reg = MDNRegressor(random_state=int(seed)).fit(X, y)
cpu = time.process_time() - start
nll = float(-np.mean(reg.predict_dist(X_test).log_prob(y_test)))
steps = getattr(reg, "n_steps_", None)
print(json.dumps({"cpu": cpu, "nll": nll, "steps": steps}))
"""


def fit(name, path, spec) -> dict:
    """One default fit ``spec`` under the checkout at ``path``."""
    env = {**os.environ, "PYTHONPATH": str(Path(path).resolve())}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, spec, str(HERE)],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(path).resolve(),
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{name} {spec} failed:\n{done.stderr[-2000:]}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return {"checkout": name, "path": str(path), "fit": spec, **record}


def table(records, names, fits) -> list[str]:
    """One row a fit: each checkout's CPU seconds, steps and test NLL."""
    by = {(r["checkout"], r["fit"]): r for r in records}
    head = " | ".join(f"{n}: CPU s | {n}: steps | {n}: NLL" for n in names)
    rows = [f"| fit | {head} |", "|---" * (1 + 3 * len(names)) + "|"]
    sums = dict.fromkeys(names, 0.0)
    for spec in fits:
        cells = []
        for n in names:
            r = by.get((n, spec))
            if r is None:
                cells += ["", "", ""]
                continue
            sums[n] += r["cpu"]
            steps = "" if r["steps"] is None else f"{r['steps']:,}"
            cells += [f"{r['cpu']:.1f}", steps, f"{r['nll']:.3f}"]
        rows.append(f"| {spec} | " + " | ".join(cells) + " |")
    total = " | ".join(f"**{sums[n]:.1f}** | |" for n in names)
    rows.append(f"| **sum** | {total} |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", help="NAME=PATH")
    parser.add_argument("--fits", required=True, help="TRUTH:DRAW:SEED,...")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/checkouts.md")
    args = parser.parse_args(argv)
    checkouts = dict(c.split("=", 1) for c in args.checkouts)
    fits = args.fits.split(",")
    raw = Path(args.out).with_name(Path(args.out).stem + "_raw.jsonl")
    done = {(r["checkout"], r["fit"]) for r in read_raw(raw)}
    tasks = [
        (name, path, spec)
        for spec in fits
        for name, path in checkouts.items()
        if (name, spec) not in done
    ]
    run_and_append(
        raw,
        fit,
        tasks,
        args.jobs,
        lambda r: print(
            f"{r['fit']:>24} {r['checkout']:>8}: {r['cpu']:7.1f} s CPU, "
            f"NLL {r['nll']:.3f}",
            flush=True,
        ),
    )
    command = " ".join(["python benchmarks/bench_checkouts.py", *sys.argv[1:]])
    text = [
        f"# Default fits under several checkouts: {Path(args.out).stem}",
        "",
        f"Command: `{command}`. One thread a fit, each in its own process, "
        f"from one pool of {args.jobs} worker(s); CPU seconds of the fit, "
        "its gradient steps and its test NLL.",
        "",
        *table(read_raw(raw), list(checkouts), fits),
    ]
    Path(args.out).write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
