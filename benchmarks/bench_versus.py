"""Default fits of two checkouts of sklearn-mdn, side by side on UCI splits.

Each fit runs in a fresh subprocess on one torch thread with the package of
one checkout on ``PYTHONPATH``; the two checkouts alternate fit by fit, so
that both see the same state of a shared machine. Reported per data set:
the CPU seconds of the fit (``time.process_time`` in the child), gradient
steps, and the test NLL, for the baseline and for this checkout, with the
ratio of the summed CPU time.

Usage::

    git worktree add /tmp/mdn-0.1 90e5162   # the baseline to compare with
    python benchmarks/bench_versus.py ../shared/data/uci --baseline /tmp/mdn-0.1 \\
        [--datasets boston,concrete] [--splits 3] [--out benchmarks/results/versus.md]

Protein is fitted on its first split only (``--protein-splits``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = "boston,concrete,energy,kin8nm,power,protein,yacht"

CHILD = """
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(1)
warnings.filterwarnings("ignore")
sys.path.insert(0, {bench!r})
from bench_uci import load_dataset, score
import sklearn_mdn
from sklearn_mdn import MDNRegressor
X, y, splits = load_dataset({data!r}, {dataset!r})
train, test = splits[{split}]
start = time.process_time()
reg = MDNRegressor(random_state={split}).fit(X[train], y[train])
cpu = time.process_time() - start
nll = score(reg.predict_dist(X[test]), y[test])["nll"]
print(json.dumps(dict(cpu=cpu, nll=nll, steps=int(reg.n_steps_),
                      package=sklearn_mdn.__file__)))
"""


def fit(checkout, data_dir, dataset, split):
    """One default fit with the package of ``checkout``; its JSON record."""
    code = CHILD.format(bench=str(HERE), data=data_dir, dataset=dataset, split=split)
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"{checkout} {dataset} {split}:\n{out.stderr}")
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    if not rec["package"].startswith(str(Path(checkout).resolve())):
        raise RuntimeError(f"imported {rec['package']}, not from {checkout}")
    return rec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--baseline", required=True, help="checkout to compare")
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--protein-splits", type=int, default=1)
    parser.add_argument("--out", default=None, help="Markdown output")
    args = parser.parse_args(argv)
    checkouts = {"baseline": Path(args.baseline).resolve(), "this": HERE.parent}
    rows, totals = [], dict.fromkeys(checkouts, 0.0)
    for dataset in args.datasets.split(","):
        n = args.protein_splits if dataset == "protein" else args.splits
        recs = {name: [] for name in checkouts}
        for split in range(n):
            for name, checkout in checkouts.items():
                rec = fit(checkout, args.data_dir, dataset, split)
                recs[name].append(rec)
                print(
                    f"{dataset:>9} {split} {name:>8}: {rec['cpu']:6.1f} s CPU, "
                    f"{rec['steps']:6d} steps, NLL {rec['nll']:.3f}",
                    flush=True,
                )
        row = [dataset, str(n)]
        for name in checkouts:
            cpu = sum(r["cpu"] for r in recs[name])
            totals[name] += cpu
            steps = sum(r["steps"] for r in recs[name]) / n
            nll = sum(r["nll"] for r in recs[name]) / n
            row += [f"{cpu:.1f}", f"{steps:.0f}", f"{nll:.3f}"]
        rows.append(row)
    ratio = totals["this"] / totals["baseline"]
    lines = [
        "# Default fits side by side: this checkout against a baseline",
        "",
        f"Command: `python benchmarks/bench_versus.py {' '.join(sys.argv[1:])}`. "
        f"Baseline: `{checkouts['baseline']}`; this checkout: "
        f"`{checkouts['this']}`. One torch thread, each fit in its own "
        "process, the two alternating; CPU seconds summed over the splits, "
        "steps and test NLL averaged.",
        "",
        "| data set | splits | CPU s baseline | steps baseline | NLL baseline "
        "| CPU s this | steps this | NLL this |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Total CPU: baseline {totals['baseline']:.1f} s, this "
        f"{totals['this']:.1f} s: **{ratio:.2f}x**.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
