"""Which refits fail: the refit check of ``MDNRegressor`` measured on default fits.

A refit (``refit="auto"``: the network trained again on every row) has no
held-out rows to stop on. The fit drops one whose NLL on the rows its network
held out, on which the refit trained, is above the network's by more than
``REFIT_FAILED_Z`` standard errors of the rows' paired differences
(``_networks._keep_refits``). This script fits the defaults with the check
off, and records for every refit that t statistic and the test scores of the
prediction with the refit (the default before the check) and without it
(the network alone): test NLL, and on ``bench_synthetic``'s branching truths
the phantom mass and the share of rows whose mode count is right
(``predict_modes``' defaults).

Usage::

    python benchmarks/bench_refit_check.py --uci DATA_DIR --datasets concrete,energy \\
        --splits 5
    python benchmarks/bench_refit_check.py --truths part-branch,fold --draws 5 \\
        --seeds 2 --scale 0.4 --out benchmarks/results/refit_check.md

Per-fit records go to ``<out stem>_raw.jsonl``; a rerun adds to them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_synthetic as bs  # noqa: E402

N_TEST = 1500


def _members(dist, n_members):
    """Each member's mixture of a pooled ``NormalMixture`` (equal weights,
    components in member blocks)."""
    from sklearn_mdn.distribution import NormalMixture

    w, mu, L = dist.weights, dist.means, dist.scale_tril
    k = w.shape[1] // n_members
    return [
        NormalMixture(
            w[:, m * k : (m + 1) * k] * n_members,
            mu[:, m * k : (m + 1) * k],
            L[:, m * k : (m + 1) * k],
        )
        for m in range(n_members)
    ]


def fit_one(X, y, X_test, y_test, seed, truth=None):
    """Fit the default with the check off; the refits' t statistics and the
    test scores with and without the first refit."""
    import torch

    from sklearn_mdn import MDNRegressor
    from sklearn_mdn._estimators import _networks, _plan
    from sklearn_mdn._nn._held_out import held_out_rows, paired_t

    torch.set_num_threads(1)
    ts, data = [], {}
    keep, threshold = _networks._keep_refits, _plan.REFIT_FAILED_Z

    def record(estimator, plan, nets, refits, dataset):
        for net, refit in zip(nets, refits):
            ts.append(paired_t(refit, net, held_out_rows(net, dataset)))
        return keep(estimator, plan, nets, refits, dataset)

    _networks._keep_refits = record
    _plan.REFIT_FAILED_Z = math.inf
    try:
        est = MDNRegressor(random_state=seed).fit(X, y)
    finally:
        _networks._keep_refits = keep
        _plan.REFIT_FAILED_Z = threshold
    if not ts:
        return None
    pooled = est.predict_dist(X_test)
    alone = _members(pooled, len(est.net_.module_.members))[0]
    for name, dist in (("with", pooled), ("without", alone)):
        rec = {"nll": float(-np.mean(dist.log_prob(y_test)))}
        if truth is not None and hasattr(truth, "solutions"):
            rec["phantom"] = float(np.mean(bs.phantom_mass(truth, dist, X_test)))
            measures = bs.mode_measures(truth, dist, X_test)
            rec["count_right"] = measures["modes_count_ok"]["0.02"]
        data[name] = rec
    return {"t": ts, **data}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uci", default=None, help="UCI data folder")
    parser.add_argument("--datasets", default="concrete,energy,kin8nm,power")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--truths", default="")
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--first-draw", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--scale", type=float, default=0.4)
    parser.add_argument("--out", default="benchmarks/results/refit_check.md")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    raw = Path(args.out).with_name(Path(args.out).stem + "_raw.jsonl")
    tasks = []
    if args.uci:
        from bench_uci import load_dataset

        for name in args.datasets.split(","):
            X, y, splits = load_dataset(args.uci, name)
            for i, (train, test) in enumerate(splits[: args.splits]):
                tasks.append(
                    (
                        {"data": name, "split": i, "seed": 0},
                        X[train],
                        y[train],
                        X[test],
                        y[test],
                        None,
                    )
                )
    for name in filter(None, args.truths.split(",")):
        truth = bs.TRUTHS[name]
        for draw in range(args.first_draw, args.draws):
            (X, y), (X_test, y_test) = bs.truth_data(truth, draw, args.scale)
            y_test = y_test if truth.n_targets > 1 else y_test.ravel()
            for seed in range(args.seeds):
                tasks.append(
                    (
                        {"data": name, "draw": draw, "seed": seed},
                        X,
                        y,
                        X_test[:N_TEST],
                        y_test[:N_TEST],
                        truth,
                    )
                )
    with raw.open("a") as f:
        for tag, X, y, X_test, y_test, truth in tasks:
            rec = fit_one(X, y, X_test, y_test, tag["seed"], truth)
            if rec is None:
                print(tag, "no refit", flush=True)
                continue
            f.write(json.dumps({**tag, **rec}) + "\n")
            f.flush()
            print(tag, rec, flush=True)
    markdown(raw, Path(args.out))


def markdown(raw, out):
    from sklearn_mdn._estimators._plan import REFIT_FAILED_Z as z

    recs = [json.loads(line) for line in raw.read_text().splitlines()]
    lines = [
        "# The refit check: refits that fail",
        "",
        f"Records in `{raw.name}` (`python benchmarks/bench_refit_check.py ...`, "
        "see its docstring). *t*: the refit's NLL minus the network's on the "
        "rows the network held out (which the refit trained on), in standard "
        f"errors of the paired differences; the check drops a refit above {z:g}. "
        "Test scores of the prediction with the refit (the default before the "
        "check) and without it (the network alone).",
        "",
        "| data | draw or split | seed | t | dropped | NLL with | NLL without "
        "| phantom with | without | count right with | without |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in recs:
        t = max(r["t"])
        w, wo = r["with"], r["without"]
        cells = [
            r["data"],
            str(r.get("draw", r.get("split"))),
            str(r["seed"]),
            f"{t:+.1f}",
            "yes" if t > z else "",
            f"{w['nll']:.3f}",
            f"{wo['nll']:.3f}",
        ]
        for key in ("phantom", "count_right"):
            cells += [f"{w[key]:.4f}", f"{wo[key]:.4f}"] if key in w else ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
