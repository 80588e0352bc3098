"""CPU seconds of one default fit on scikit-learn's diabetes set (331 rows).

One fit in this (fresh) process, so the first fit's one-time costs are
included, as a new user pays them; prints one JSON line. With ``--cv K``,
the CPU seconds of ``cross_validate`` of the default with K folds on 300
rows of the set (issue 28's "5-fold cross_validate on a 300-row table");
with ``--grid``, of a ``GridSearchCV`` of 4 candidates (``n_components`` 1
or 5, ``alpha`` 1e-4 or 1e-3) x 3 folds on the 331 rows.

Usage::

    python benchmarks/bench_diabetes_time.py SEED [--cv 5 | --grid]
"""

import json
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_diabetes

import sklearn_mdn
from sklearn_mdn import MDNRegressor


def main():
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    X, y = load_diabetes(return_X_y=True)
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    perm = np.random.RandomState(seed).permutation(len(y))
    if "--cv" in sys.argv:
        from sklearn.model_selection import KFold, cross_validate

        folds = int(sys.argv[sys.argv.index("--cv") + 1])
        rows = perm[:300]
        start = time.process_time()
        scores = cross_validate(
            MDNRegressor(random_state=seed),
            X[rows],
            y[rows],
            cv=KFold(folds),
            scoring="neg_mean_squared_error",
        )
        record = {
            "package": sklearn_mdn.__file__,
            "seed": seed,
            "cv": folds,
            "cpu": round(time.process_time() - start, 2),
            "rmse": round(float(np.sqrt(-scores["test_score"].mean())), 3),
        }
        print(json.dumps(record))
        return
    train, test = perm[:331], perm[331:]
    if "--grid" in sys.argv:
        from sklearn.model_selection import GridSearchCV, KFold

        grid = {"n_components": [1, 5], "alpha": [1e-4, 1e-3]}
        start = time.process_time()
        search = GridSearchCV(MDNRegressor(random_state=seed), grid, cv=KFold(3))
        search.fit(X[train], y[train])
        record = {
            "package": sklearn_mdn.__file__,
            "seed": seed,
            "grid": "4 x 3",
            "cpu": round(time.process_time() - start, 2),
            "best": search.best_params_,
            "score": round(float(search.best_score_), 4),
        }
        print(json.dumps(record))
        return
    start = time.process_time()
    reg = MDNRegressor(random_state=seed).fit(X[train], y[train])
    cpu = time.process_time() - start
    nll = float(-reg.predict_dist(X[test]).log_prob(y[test]).mean())
    record = {
        "package": sklearn_mdn.__file__,
        "seed": seed,
        "cpu": round(cpu, 2),
        "nll": round(nll, 4),
        "steps": int(reg.n_steps_),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
