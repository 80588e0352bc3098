"""What the overfit stop would change: recorded held-out curves, replayed.

Default fits are run with the overfit stop switched off, and every
early-stopped network's held-out NLL is recorded, epoch by epoch (the first
networks, the candidates of the held-out choices). The stop
(``sklearn_mdn._nn._schedule.overfitting``) is then replayed on each curve:
where it ends a network at its first cut, the epochs after are saved, and
the fit is unchanged unless the cut would have found a better epoch. The
table gives, per data set, the networks stopped, the share of epochs saved
and every network stopped whose cut would have helped (the held-out NLL it
would have gained). One torch thread.

Usage::

    python benchmarks/bench_overfit_stop.py DATA_DIR --uci boston,yacht \\
        --splits 0:3 --truths small,hetero --scale 0.075 --seeds 3 \\
        [--diabetes] [--out results/overfit_stop.md]
"""

import argparse
import math
import warnings
from collections import Counter
from pathlib import Path

import torch
from bench_synthetic import TRUTHS, truth_data
from bench_uci import load_dataset

from sklearn_mdn import MDNRegressor
from sklearn_mdn._nn import _schedule


def record(fits):
    """The held-out curves of the networks of each fit, the stop off:
    (label, lr_patience, [(score, improved)]) per network."""
    curves, runs = [], []
    init, end_epoch = _schedule.PlateauStop.__init__, _schedule.PlateauStop.end_epoch

    def patched_init(self, *args, **kwargs):
        init(self, *args, **{**kwargs, "overfit_patience": None})
        self.curve = []
        runs.append(self)

    def patched_end(self, epoch, score):
        improved, stop = end_epoch(self, epoch, score)
        self.curve.append((score, improved))
        return improved, stop

    _schedule.PlateauStop.__init__ = patched_init
    _schedule.PlateauStop.end_epoch = patched_end
    try:
        for label, X, y, seed in fits:
            MDNRegressor(random_state=seed).fit(X, y)
            curves += [(label, run.patience, run.curve) for run in runs]
            runs.clear()
            print(f"  {label}: recorded", flush=True)
    finally:
        _schedule.PlateauStop.__init__ = init
        _schedule.PlateauStop.end_epoch = end_epoch
    return curves


def replay(patience, curve):
    """Where the stop ends this network (epoch, or None) and the held-out NLL
    the cut would have gained."""
    scores, best_epoch, best, misses = [], 0, math.inf, 0
    for epoch, (score, improved) in enumerate(curve, 1):
        scores.append(score)
        if improved:
            best_epoch, best, misses = epoch, score, 0
        else:
            misses += 1
        if misses == patience and _schedule.overfitting(scores, best_epoch, patience):
            final = min(s for s, imp in curve if imp)
            return epoch, best - final
    return None, 0.0


def fits(args):
    if args.uci:
        start, stop = map(int, args.splits.split(":"))
        for name in args.uci.split(","):
            X, y, splits = load_dataset(args.data_dir, name)
            for s in range(start, stop):
                train, _ = splits[s]
                yield f"{name} (split {s})", X[train], y[train], 0
    for name in args.truths.split(",") if args.truths else []:
        for seed in range(args.seeds):
            (X, y), _ = truth_data(TRUTHS[name], seed, args.scale)
            yield f"{name} x{args.scale} (seed {seed})", X, y, seed
    if args.diabetes:
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        for seed in range(5):  # 331 rows, as bench_diabetes_time.py
            yield f"diabetes (seed {seed})", X[:331], y[:331], seed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data/uci")
    parser.add_argument("--uci", default="")
    parser.add_argument("--splits", default="0:3")
    parser.add_argument("--truths", default="")
    parser.add_argument("--scale", type=float, default=0.075)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--diabetes", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    curves = record(fits(args))
    networks, stopped, epochs, saved = Counter(), Counter(), Counter(), Counter()
    lost = []
    for label, patience, curve in curves:
        name = label.split(" (")[0]
        networks[name] += 1
        epochs[name] += len(curve)
        at, gain = replay(patience, curve)
        if at is not None:
            stopped[name] += 1
            saved[name] += len(curve) - at
            if gain > 0:
                lost.append(f"{label}: {gain:.4f}")
    lines = [
        "| data | networks | stopped at the first cut | epochs saved |",
        "|---|---|---|---|",
    ]
    for name in networks:
        lines.append(
            f"| {name} | {networks[name]} | {stopped[name]} | "
            f"{saved[name] / epochs[name]:.0%} |"
        )
    total = sum(networks.values())
    lines.append(
        f"| **all** | {total} | {sum(stopped.values())} | "
        f"{sum(saved.values()) / sum(epochs.values()):.0%} |"
    )
    lines.append("")
    lines.append(
        "Stopped where the cut would have found a better epoch (held-out NLL "
        "it would have gained): " + ("; ".join(lost) if lost else "none") + "."
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
