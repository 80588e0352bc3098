"""Do quick fits rank a grid search's candidates as default fits do?

``GridSearchCV`` over ``MDNRegressor``'s ``n_components`` (1, 3, 5) and
``alpha`` (1e-4, 1e-2), three folds, scored by the mean log-likelihood
(``neg_nll_scorer``), on the training rows of UCI split 0 of each data
set, twice: with the default fit, and with the quick fit of
``docs/fit_plan.rst`` ("What each part costs": one network, no refit, no
choice of the encoding or the features, no weight average). Reported per
data set: each candidate's mean cross-validated NLL under both, the rank
correlation of the two orders (Spearman), whether both pick the same best
candidate, the default's NLL of the quick search's pick against that of its
own, and the CPU seconds of each search (``time.process_time``, one torch
thread, folds one after another).

Usage::

    python benchmarks/bench_quick_search.py DATA_DIR [--datasets boston,concrete]
        [--out benchmarks/results/quick_search.md]
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_uci import load_dataset
from scipy.stats import spearmanr
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mdn import MDNRegressor
from sklearn_mdn.metrics import neg_nll_scorer

GRID = {"n_components": [1, 3, 5], "alpha": [1e-4, 1e-2]}
QUICK = {
    "n_networks": 1,
    "refit": False,
    "input_encoding": "none",
    "select_features": False,
    "weight_averaging": "none",
}


def search(X, y, params):
    """The search's mean test NLL per candidate (in ``GRID``'s order) and
    its CPU seconds."""
    grid = GridSearchCV(
        MDNRegressor(random_state=0, **params),
        GRID,
        scoring=neg_nll_scorer,
        cv=KFold(3, shuffle=True, random_state=0),
        refit=False,
    )
    start = time.process_time()
    grid.fit(X, y)
    cpu = time.process_time() - start
    return -grid.cv_results_["mean_test_score"], grid.cv_results_["params"], cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--datasets", default="boston,concrete,energy,yacht")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows, records = [], []
    for name in args.datasets.split(","):
        X, y, splits = load_dataset(args.data_dir, name)
        train = splits[0][0]
        full, params, cpu_full = search(X[train], y[train], {})
        quick, _, cpu_quick = search(X[train], y[train], QUICK)
        rho = spearmanr(full, quick).statistic
        best_full, best_quick = int(np.argmin(full)), int(np.argmin(quick))
        lost = full[best_quick] - full[best_full]
        records.append(
            {
                "dataset": name,
                "params": [dict(p) for p in params],
                "default": full.tolist(),
                "quick": quick.tolist(),
                "cpu_default": cpu_full,
                "cpu_quick": cpu_quick,
            }
        )
        cells = " / ".join(f"{a:.3f} ({b:.3f})" for a, b in zip(full, quick))
        rows.append(
            f"| {name} | {cells} | {rho:+.2f} | "
            f"{'yes' if best_full == best_quick else 'no'} | {lost:+.3f} | "
            f"{cpu_full:.0f} | {cpu_quick:.0f} |"
        )
        print(rows[-1], flush=True)
    labels = " / ".join(
        f"K={p['n_components']}, a={p['alpha']:g}" for p in records[0]["params"]
    )
    text = "\n".join(
        [
            "# Quick fits in a grid search (bench_quick_search.py)",
            "",
            f"Command: `python benchmarks/bench_quick_search.py DATA_DIR "
            f"--datasets {args.datasets}`. Quick fit: `{json.dumps(QUICK)}`.",
            "",
            f"Candidates, in order: {labels}. Cells: mean cross-validated test "
            "NLL of the default fit (of the quick fit). *Same best*: both "
            "searches pick the same candidate; *default NLL lost*: the default "
            "fit's NLL of the quick search's pick minus that of its own pick.",
            "",
            "| data set | NLL by candidate: default (quick) | Spearman | same best "
            "| default NLL lost | CPU s default | CPU s quick |",
            "|---|---|---:|---|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    if args.out:
        Path(args.out).write_text(text)
        raw = Path(args.out).with_name(Path(args.out).stem + "_raw.jsonl")
        raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    print(text)


if __name__ == "__main__":
    main()
