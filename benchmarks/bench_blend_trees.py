"""The tree blend's trees and shares, replayed on the networks of default fits.

``tree_blend="auto"`` decides after training: boosted trees are fitted beside
each network on its training rows, the held-out rows choose the share, and
trees fitted on every row make the prediction. So that variants of the
trees' settings (``_plan.BLEND_TREES``) and of the shares
(``_plan.BLEND_SHARES``) can be compared on the same networks, this script
fits ``MDNRegressor(tree_blend="none")`` once per UCI split, keeps what the
choice reads (each network's held-out mixtures and rows, the standardised
inputs and targets, the test mixtures before the blend), and replays the
choice and the test scores for every variant with the package's own
functions. The variant ``"package"`` (the constants as they are) reproduces
the default fit's test scores exactly; ``"none"`` is the network alone.

Reported per data set and variant: test CRPS, RMSE, NLL and 90% coverage,
the CRPS paired against ``"package"`` (mean and standard error over the
splits, in %), the splits where a share was kept and the mean share, and the
CPU seconds of the trees (every fit of them, held-out and final).

Usage::

    python benchmarks/bench_blend_trees.py DATA_DIR --splits 20 --jobs 2 \\
        --variants '{"hgb defaults": {"trees": {}, "shares": [0.25, 0.5, 0.75, 1]}}' \\
        --out benchmarks/results/blend_trees.md

A variant gives ``"trees"`` (``HistGradientBoostingRegressor`` parameters)
and/or ``"shares"``; what it leaves out is the package's. Protein is fitted
on its first ``--protein-splits`` splits. Per-split records go to
``<out stem>_raw.jsonl``; a rerun skips the splits already there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _raw import read_raw, run_and_append  # noqa: E402
from bench_uci import load_dataset, score  # noqa: E402

DATASETS = "boston,concrete,energy,kin8nm,power,protein,yacht"


@contextmanager
def _recorded(record):
    """Record, in ``record``, what the blend's choice reads while a fit
    chooses its calibration."""
    from sklearn_mdn._estimators import _networks

    calibrate = _networks._calibrate

    def recording(estimator, nets, dataset, plan, X):
        rows = _networks._BlendData(estimator, dataset, X)
        record.update(rows=rows, calibrate=plan.calibrate, nets=[])
        for net in nets:
            if net.train_split is None:
                continue
            held_out = _networks._held_out_mixtures(estimator, net, dataset)
            record["nets"].append((net.train_split, held_out))
        return calibrate(estimator, nets, dataset, plan, X)

    _networks._calibrate = recording
    try:
        yield
    finally:
        _networks._calibrate = calibrate


@contextmanager
def _constants(variant):
    """``_plan``'s blend constants set as ``variant`` gives them."""
    from sklearn_mdn._estimators import _plan

    old = _plan.BLEND_TREES, _plan.BLEND_SHARES
    _plan.BLEND_TREES = variant.get("trees", old[0])
    _plan.BLEND_SHARES = tuple(variant.get("shares", old[1]))
    try:
        yield
    finally:
        _plan.BLEND_TREES, _plan.BLEND_SHARES = old


def replay(record, variant):
    """The share ``variant`` keeps and the test scores of its prediction, as
    ``_networks._calibrate`` chooses and fits them."""
    from sklearn_mdn._estimators._blend import choose_share
    from sklearn_mdn._estimators._calibration import fit_spread_factor
    from sklearn_mdn._estimators._networks import _joined
    from sklearn_mdn._nn._trees import blend, predict_trees
    from sklearn_mdn.distribution import NormalMixture

    rows, nets = record["rows"], record["nets"]  # a _BlendData; (split, held out)
    spread = record["calibrate"] == "spread"
    with _constants(variant):
        start = time.process_time()
        means = [rows.held_out_mean(split) for split, _ in nets]
        cpu = time.process_time() - start
        dist, y, w = _joined([held_out for _, held_out in nets])
        share, _ = choose_share(dist, np.concatenate(means), y, w, spread)
        factor = record["factor"]
        if spread:
            first, y, w = nets[0][1]
            factor = fit_spread_factor(blend(first, means[0], share), y, w)
        test = record["test"]
        if share:
            start = time.process_time()
            trees = rows.all_rows()
            cpu += time.process_time() - start
            test = blend(test, predict_trees(trees, record["X_test"]), share)
    mean, scale = record["y_mean"], record["y_scale"]
    test = NormalMixture(
        test.weights, test.means * scale + mean, test.scale_tril * scale * factor
    )
    return {**score(test, record["y_test"]), "share": share, "trees_cpu": cpu}


def fit_split(data_dir, dataset, split, variants):
    """Fit the network once and replay every variant on it."""
    import torch

    from sklearn_mdn import MDNRegressor
    from sklearn_mdn.distribution import NormalMixture

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    X, y, splits = load_dataset(data_dir, dataset)
    train, test = splits[split]
    record = {}
    start = time.process_time()
    with _recorded(record):
        reg = MDNRegressor(random_state=split, tree_blend="none").fit(
            X[train], y[train]
        )
    cpu = time.process_time() - start
    dist = reg.predict_dist(X[test])
    factor = getattr(reg, "spread_factor_", None) or 1.0
    mean, scale = reg.y_mean_[0], reg.y_scale_[0]
    record.update(
        test=NormalMixture(
            dist.weights, (dist.means - mean) / scale, dist.scale_tril / scale / factor
        ),
        X_test=(X[test] - reg.x_mean_) / reg.x_scale_,
        factor=factor,
        y_mean=mean,
        y_scale=scale,
        y_test=y[test],
    )
    scores = {"none": score(dist, y[test])}
    scores["none"].update(share=0.0, trees_cpu=0.0)
    for name, variant in {"package": {}, **variants}.items():
        scores[name] = replay(record, variant)
    return {"dataset": dataset, "split": split, "fit_cpu": cpu, "scores": scores}


def summarise(records, names) -> str:
    """A Markdown table per data set: each variant's means over the splits."""
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in records):
        rs = sorted(
            (r for r in records if r["dataset"] == dataset), key=lambda r: r["split"]
        )
        fit = np.mean([r["fit_cpu"] for r in rs])
        lines += [
            f"\n### {dataset} ({len(rs)} splits; the network's fit {fit:.2f} s CPU)\n",
            "| variant | CRPS | vs package (paired) | RMSE | NLL | coverage "
            "| share kept | mean share | trees CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        base = np.array([r["scores"]["package"]["crps"] for r in rs])
        for name in names:
            s = [r["scores"][name] for r in rs if name in r["scores"]]
            if len(s) < len(rs):
                continue
            crps = np.array([x["crps"] for x in s])
            rel = 100 * (crps / base - 1)
            se = rel.std(ddof=1) / np.sqrt(len(rel)) if len(rel) > 1 else 0.0
            kept = sum(x["share"] > 0 for x in s)
            lines.append(
                f"| {name} | {crps.mean():.4f} | {rel.mean():+.2f}% ± {se:.2f} "
                f"| {np.mean([x['rmse'] for x in s]):.4f} "
                f"| {np.mean([x['nll'] for x in s]):.4f} "
                f"| {np.mean([x['coverage'] for x in s]):.3f} | {kept}/{len(s)} "
                f"| {np.mean([x['share'] for x in s]):.2f} "
                f"| {np.mean([x['trees_cpu'] for x in s]):.2f} |"
            )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir")
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--protein-splits", type=int, default=5)
    parser.add_argument("--variants", default="{}", help='JSON {"name": {...}}')
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/blend_trees.md")
    args = parser.parse_args()
    variants = json.loads(args.variants)
    for name, variant in variants.items():
        unknown = set(variant) - {"trees", "shares"}
        if unknown or name in ("none", "package"):
            parser.error(f"variant {name!r}: a new name, with 'trees' and/or 'shares'")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_name(out.stem + "_raw.jsonl")
    done = {(r["dataset"], r["split"]) for r in read_raw(raw)}
    tasks = [
        (args.data_dir, dataset, split, variants)
        for dataset in args.datasets.split(",")
        for split in range(args.protein_splits if dataset == "protein" else args.splits)
        if (dataset, split) not in done
    ]

    def report(rec):
        s = rec["scores"]
        print(
            f"{rec['dataset']:>9} {rec['split']:2d}  "
            + "  ".join(f"{k} {v['crps']:.4f} ({v['share']:g})" for k, v in s.items()),
            flush=True,
        )

    run_and_append(raw, fit_split, tasks, args.jobs, report)
    records = [r for r in read_raw(raw) if r["dataset"] in args.datasets.split(",")]
    names = ["none", "package", *variants]
    text = (
        f"# Tree blend variants replayed on default fits\n\n"
        f"`python benchmarks/bench_blend_trees.py DATA_DIR --splits {args.splits} "
        f"--protein-splits {args.protein_splits} "
        f"--variants '{json.dumps(variants)}'`\n\n"
        "The variants' settings (`trees`: `HistGradientBoostingRegressor`'s; "
        "`shares`: those tried) replace the package's where given; `package` "
        "is the default fit, `none` the network alone. Paired: each split's "
        "CRPS against `package`'s, mean and standard error over the splits.\n"
        + summarise(records, names)
    )
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
