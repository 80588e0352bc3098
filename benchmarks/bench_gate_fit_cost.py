"""The CPU share of the gate's own fit inside default fits.

Fits ``MDNRegressor(random_state=SEED)`` on branching truths of
``bench_synthetic.py`` (one torch thread) and times, in the same process,
the calls of ``_nn._gate_fit.fit_gate`` (each gated network's gate fitted
alone on its frozen components, and its refit's) against the whole fit, so
the ratio does not depend on how busy the machine is::

    python benchmarks/bench_gate_fit_cost.py arm-limits:4:0 fold:1:0 \\
        part-branch:2:0 --out benchmarks/results/timing_gate_fit.md

Each argument is ``TRUTH:DRAW:SEED``.
"""

import argparse
import time
import warnings
from pathlib import Path

import torch
from bench_synthetic import TRUTHS, truth_data

import sklearn_mdn._nn._gate_fit as gate_fit
import sklearn_mdn._nn._training as training
from sklearn_mdn import MDNRegressor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fits", nargs="+", help="TRUTH:DRAW:SEED")
    parser.add_argument("--out", default=None, help="markdown file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    spent = []
    fit_gate = gate_fit.fit_gate

    def timed(*a, **k):
        start = time.process_time()
        steps = fit_gate(*a, **k)
        spent.append((time.process_time() - start, steps))
        return steps

    training.fit_gate = timed  # the name the trainer calls
    rows = [
        "| fit | CPU s | gate's own fits, CPU s | share | steps kept | fit / fit "
        "without them |",
        "|---|---|---|---|---|---|",
    ]
    for spec in args.fits:
        name, draw, seed = spec.split(":")
        (X, y), _ = truth_data(TRUTHS[name], int(draw))
        spent.clear()
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MDNRegressor(random_state=int(seed)).fit(X, y)
        total = time.process_time() - start
        gate = sum(s for s, _ in spent)
        steps = [n for s, n in spent if s > 0.01]
        rows.append(
            f"| {spec} | {total:.1f} | {gate:.1f} | {gate / total:.1%} | {steps} "
            f"| {total / (total - gate):.3f} |"
        )
        print(rows[-1], flush=True)
    if args.out:
        command = " ".join(["python benchmarks/bench_gate_fit_cost.py", *args.fits])
        text = [
            "# The CPU share of the gate's own fit",
            "",
            f"Made by `{command}` (one torch thread). Steps kept: the "
            "gated network's, then its refit's (which runs them); a gate "
            "fit that keeps none still costs its looks.",
            "",
            *rows,
        ]
        Path(args.out).write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
