"""Branching truths of two ``bench_synthetic.py`` runs side by side.

Reads the raw records of a baseline run and of a new one, keeps the fits of
the seeds both have (paired by training draw and seed), and prints one
markdown table of issue #29's measures per truth and model: samples within
tolerance (mean and worst fit), phantom mass (mean and worst fit), the
heaviest branch's RMS forward error on the worst draw, the share of rows
with the right number of modes at ``predict_modes``' ``min_mass`` (mean and
worst fit; for records that have it, also as listed without ``min_gap``),
the test NLL (its gap to the oracle on the noisy twins), the CPU seconds a
fit, and how many fits the plan gated; then the paired NLL differences::

    python benchmarks/compare_branch_runs.py BASE_RAW NEW_RAW \\
        --base-model mdn --new-model mdn --seeds 0,1
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from _raw import read_raw
from bench_synthetic import TRUTHS as ALL_TRUTHS
from bench_synthetic import BranchTruth, listed_min_mass, worst_draw

TRUTHS = [name for name, t in ALL_TRUTHS.items() if isinstance(t, BranchTruth)]


def _records(path, model, seeds):
    by_truth = defaultdict(list)
    for r in read_raw(path):
        if r["model"] == model and r["seed"] in seeds and r["truth"] in TRUTHS:
            by_truth[r["truth"]].append(r)
    return by_truth


def _key(r):
    return r.get("data_seed"), r["seed"]


def _row(truth, label, recs, count_key="modes_count_ok"):
    top = worst_draw(recs)
    nll = np.array([r["nll"] - r.get("oracle_nll", 0.0) for r in recs])
    count = np.array([r[count_key][listed_min_mass()] for r in recs])
    within = np.array([r["fe_within"] for r in recs])
    phantom = np.array([r["phantom"] for r in recs])
    gated = "-"
    if all("kept" in r for r in recs):
        gated = sum(r["kept"].get("gate kept", ["0"])[0] != "0" for r in recs)
    cpu = np.mean([r["fit_cpu_s"] for r in recs])
    se = nll.std(ddof=1) / np.sqrt(len(nll)) if len(nll) > 1 else float("nan")
    return (
        f"| {truth} | {label} | {len(recs)} | {within.mean():.4f} | "
        f"{within.min():.4f} | {phantom.mean():.4f} | {phantom.max():.4f} | "
        f"{top:.4f} | {count.mean():.3f} | {count.min():.3f} | "
        f"{nll.mean():+.3f} ± {se:.3f} | {cpu:.1f} | {gated} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="raw records of the baseline run")
    parser.add_argument("new", help="raw records of the new run")
    parser.add_argument("--base-model", default="mdn")
    parser.add_argument("--new-model", default="mdn")
    parser.add_argument("--base-label", default="baseline")
    parser.add_argument("--new-label", default="new")
    parser.add_argument("--seeds", default="0,1", help="comma-separated")
    args = parser.parse_args(argv)
    seeds = {int(s) for s in args.seeds.split(",")}
    base = _records(args.base, args.base_model, seeds)
    new = _records(args.new, args.new_model, seeds)
    print(
        "| truth | model | fits | within tol | worst fit | phantom | worst fit "
        "| top RMS, worst draw | count right | worst fit | NLL (gap) | CPU s "
        "| gated |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    pairs = {}
    for truth in TRUTHS:
        keys = {_key(r) for r in base[truth]} & {_key(r) for r in new[truth]}
        if not keys:
            continue
        b = [r for r in base[truth] if _key(r) in keys]
        n = [r for r in new[truth] if _key(r) in keys]
        print(_row(truth, args.base_label, b))
        if all("modes_count_ok_no_gap" in r for r in n):
            label = args.new_label + ", no min_gap"
            print(_row(truth, label, n, "modes_count_ok_no_gap"))
        print(_row(truth, args.new_label, n))
        by_key = {_key(r): r["nll"] for r in b}
        pairs[truth] = [r["nll"] - by_key[_key(r)] for r in n]
    print("\nPaired test NLL, new minus baseline (mean ± standard error):\n")
    for truth, d in pairs.items():
        se = np.std(d, ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(f"- {truth}: {np.mean(d):+.3f} ± {se:.3f} ({len(d)} fits)")


if __name__ == "__main__":
    main()
