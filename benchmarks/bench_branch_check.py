"""The first network's share of held-out rows with several branches at
the branch check (``GATE_CHECK_STEPS`` steps), on UCI sets and on the
truths of ``bench_synthetic.py``.

Each default fit (``MDNRegressor(random_state=SEED)``, one torch thread) is
stopped at the check, where the share the check reads is printed; a fit
whose first network ends before the check says so. The check's band
(``GATE_CHECK_BRANCHING``) must keep the ungated data (UCI) out and let the
branching truths in::

    python benchmarks/bench_branch_check.py --uci DATA_DIR \\
        --datasets protein,power --splits 5 \\
        --truths arm-limits,fold,part-branch --draws 5 --seeds 1 \\
        [--out benchmarks/results/branch_check.md]
"""

import argparse
import sys
import warnings
from pathlib import Path

import torch
from bench_synthetic import TRUTHS, truth_data
from bench_uci import load_dataset

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _networks, _plan


class _AtCheck(Exception):
    """Raised at the check, with the share it read."""


def _looking(estimator, dataset):
    def stop(net, module):
        share = _networks.branching_share(estimator, net, dataset, module)
        raise _AtCheck(share)

    return stop


def share_at_check(X, y, seed):
    """The share the check reads in a default fit, or None where the first
    network ends before it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MDNRegressor(random_state=seed).fit(X, y)
    except _AtCheck as at:
        return at.args[0]
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uci", default=None, help="UCI data folder")
    parser.add_argument("--datasets", default="protein,power")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--truths", default="")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    _networks._branches_end_in = _looking
    rows = []

    def report(what, share):
        text = "ends before the check" if share is None else f"{share:.1%}"
        rows.append(f"| {what} | {text} |")
        print(rows[-1], flush=True)

    if args.uci:
        for name in args.datasets.split(","):
            X, y, splits = load_dataset(args.uci, name)
            for split in range(min(args.splits, len(splits))):
                train, _ = splits[split]
                report(
                    f"{name} split {split}", share_at_check(X[train], y[train], split)
                )
    for name in filter(None, args.truths.split(",")):
        for draw in range(args.draws):
            (X, y), _ = truth_data(TRUTHS[name], draw)
            for seed in range(args.seeds):
                report(f"{name} draw {draw} seed {seed}", share_at_check(X, y, seed))
    if args.out:
        command = " ".join(["python benchmarks/bench_branch_check.py", *sys.argv[1:]])
        lo, hi = _plan.GATE_CHECK_BRANCHING
        text = [
            "# The share of held-out rows with several branches at the branch check",
            "",
            f"Command: `{command}` (one torch thread). The check, after "
            f"{_plan.GATE_CHECK_STEPS:,} steps of the first network, stops it "
            f"where the share is {lo:.0%} to {hi:.0%}.",
            "",
            "| fit | share at the check |",
            "|---|---|",
            *rows,
        ]
        Path(args.out).write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
