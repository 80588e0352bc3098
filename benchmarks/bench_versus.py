"""Cost and quality of default fits side by side: checkouts, candidates, peers.

Every fit runs in a fresh subprocess on one thread (torch, OpenMP and
CatBoost's ``thread_count=1``), all of them from one pool of ``--jobs``
workers, the contenders of a split queued next to each other, so that all
see the same state of a shared machine. Contenders:

- ``this``: ``MDNRegressor()`` of this checkout;
- ``baseline`` (``--baseline PATH``): ``MDNRegressor()`` of another checkout;
- candidates (``--candidates '{"name": {params}}'``): ``MDNRegressor(**params)``
  of this checkout, to measure a rule with constructor parameters first; the
  key ``"plan"`` of ``params`` sets constants of ``sklearn_mdn._estimators._plan`` (a
  threshold of an ``"auto"`` rule, e.g. ``{"plan": {"PATIENCE_STEPS": 150}}``);
- peers (``--peers catboost,skpro``, the ``bench`` extra): CatBoost with
  ``loss_function="RMSEWithUncertainty"`` and skpro's ``MDNRegressor``, each
  with its defaults (a Gaussian per row; a mixture of 5 Gaussians per row).

Reported per data set and contender: the mean CPU seconds of a fit
(``time.process_time`` in the child), the test NLL, RMSE and 90% interval
coverage (``bench_uci.score``), and the ratio of CPU time to CatBoost's.

Usage::

    git worktree add /tmp/mdn-base <commit>   # the baseline to compare with
    python benchmarks/bench_versus.py /path/to/uci --baseline /tmp/mdn-base \\
        --peers catboost,skpro [--datasets boston,yacht] [--splits 3] \\
        [--jobs 2] [--out benchmarks/results/versus.md]

Protein is fitted on its first split only (``--protein-splits``). Per-fit
records go to ``<out stem>_raw.jsonl``; a rerun skips the fits already there.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from _raw import read_raw

HERE = Path(__file__).resolve().parent
DATASETS = "boston,concrete,energy,kin8nm,power,protein,yacht"
PEERS = ("catboost", "skpro")

CHILD = """
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(1)
warnings.filterwarnings("ignore")
sys.path.insert(0, {bench!r})
from bench_uci import load_dataset, score
kind, params, split = {kind!r}, {params!r}, {split}
X, y, splits = load_dataset({data!r}, {dataset!r})
train, test = splits[split]
steps = None
if kind == "catboost":
    from catboost import CatBoostRegressor
    from bench_uci import _gaussian
    reg = CatBoostRegressor(loss_function="RMSEWithUncertainty", thread_count=1,
                            verbose=0, allow_writing_files=False, random_seed=split)
    start = time.process_time()
    reg.fit(X[train], y[train])
    cpu = time.process_time() - start
    pred = reg.predict(X[test], prediction_type="RMSEWithUncertainty")
    dist = _gaussian(pred[:, 0], pred[:, 1])
    package = "catboost"
elif kind == "skpro":
    import pandas as pd
    from skpro.regression.mdn import MDNRegressor
    from sklearn_mdn.distribution import NormalMixture
    cols = [f"x{{i}}" for i in range(X.shape[1])]
    frame = lambda rows: pd.DataFrame(X[rows], columns=cols)
    reg = MDNRegressor(random_state=split)
    start = time.process_time()
    reg.fit(frame(train), pd.DataFrame({{"y": y[train]}}))
    cpu = time.process_time() - start
    p = reg.predict_proba(frame(test)).get_params()
    pi, mu, sigma = (np.asarray(p[k], dtype=float) for k in ("pi", "mu", "sigma"))
    n, k = pi.shape
    dist = NormalMixture(pi, mu.reshape(n, k, 1), sigma.reshape(n, k, 1, 1),
                         event_shape=())
    package = "skpro"
else:
    import sklearn_mdn
    import sklearn_mdn._estimators._plan
    from sklearn_mdn import MDNRegressor
    params = dict(params)
    for name, value in params.pop("plan", {{}}).items():
        if not hasattr(sklearn_mdn._estimators._plan, name):
            raise SystemExit(f"sklearn_mdn._estimators._plan has no constant {{name}}")
        setattr(sklearn_mdn._estimators._plan, name, value)
    reg = MDNRegressor(**params, random_state=split)
    start = time.process_time()
    reg.fit(X[train], y[train])
    cpu = time.process_time() - start
    dist = reg.predict_dist(X[test])
    steps = int(reg.n_steps_)
    package = sklearn_mdn.__file__
print(json.dumps(dict(cpu=cpu, steps=steps, package=package, **score(dist, y[test]))))
"""


def fit(contender, data_dir, dataset, split):
    """One fit of ``contender`` (name, kind, checkout, params); its record."""
    name, kind, checkout, params = contender
    code = CHILD.format(
        bench=str(HERE),
        data=str(data_dir),
        dataset=dataset,
        split=split,
        kind=kind,
        params=params,
    )
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"{name} {dataset} {split}:\n{out.stderr}")
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    if kind == "mdn" and not rec["package"].startswith(str(Path(checkout).resolve())):
        raise RuntimeError(f"imported {rec['package']}, not from {checkout}")
    return dict(contender=name, dataset=dataset, split=split, params=params, **rec)


def contenders(args) -> list[tuple]:
    """(name, kind, checkout, params) of every contender asked for."""
    this = HERE.parent
    out = [("this", "mdn", this, {})]
    if args.baseline:
        out.insert(0, ("baseline", "mdn", Path(args.baseline).resolve(), {}))
    for name, params in json.loads(args.candidates).items():
        out.append((name, "mdn", this, params))
    for peer in filter(None, args.peers.split(",")):
        if peer not in PEERS:
            raise SystemExit(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")
        out.append((peer, peer, this, {}))
    return out


def _mean(recs, key):
    vals = [r[key] for r in recs if r[key] is not None]
    return float(np.mean(vals)) if vals else float("nan")


def tables(records, names, datasets) -> list[str]:
    """Markdown: CPU seconds a fit (and the ratio to CatBoost), then quality."""
    by = {}
    for r in records:
        by.setdefault((r["dataset"], r["contender"]), []).append(r)
    ref = "catboost" if "catboost" in names else None
    cost = [
        "| data set | splits | "
        + " | ".join(f"{n}: CPU s" for n in names)
        + (" | " + " | ".join(f"{n} / catboost" for n in names if n != ref)) * bool(ref)
        + " |",
        "|---|---:|" + "---:|" * (len(names) + (len(names) - 1) * bool(ref)),
    ]
    totals = dict.fromkeys(names, 0.0)
    for d in datasets:
        cpu = {n: _mean(by.get((d, n), []), "cpu") for n in names}
        for n in names:
            totals[n] += cpu[n]
        n_splits = len(by.get((d, names[0]), []))
        row = [d, str(n_splits), *(f"{cpu[n]:.2f}" for n in names)]
        if ref:
            row += [f"{cpu[n] / cpu[ref]:.1f}" for n in names if n != ref]
        cost.append("| " + " | ".join(row) + " |")
    row = ["**sum**", "", *(f"**{totals[n]:.1f}**" for n in names)]
    if ref:
        row += [f"**{totals[n] / totals[ref]:.2f}**" for n in names if n != ref]
    cost.append("| " + " | ".join(row) + " |")
    quality = [
        "| data set | contender | NLL | RMSE | 90% coverage | steps |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for d in datasets:
        for n in names:
            recs = by.get((d, n), [])
            if not recs:
                continue
            steps = _mean(recs, "steps")
            quality.append(
                f"| {d} | {n} | {_mean(recs, 'nll'):.3f} | {_mean(recs, 'rmse'):.3g} "
                f"| {_mean(recs, 'coverage'):.2f} | "
                + ("-" if np.isnan(steps) else f"{steps:.0f}")
                + " |"
            )
    return [*cost, "", *quality]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--baseline", default=None, help="checkout to compare")
    parser.add_argument(
        "--candidates", default="{}", help='JSON {"name": {MDNRegressor params}}'
    )
    parser.add_argument("--peers", default="", help="catboost,skpro")
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--first-split", type=int, default=0)
    parser.add_argument("--protein-splits", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="fits at a time")
    parser.add_argument("--out", default="benchmarks/results/versus.md")
    args = parser.parse_args(argv)
    entries = contenders(args)
    names = [e[0] for e in entries]
    datasets = args.datasets.split(",")
    out = Path(args.out)
    raw = out.with_name(out.stem + "_raw.jsonl")
    records = read_raw(raw)
    done = {(r["contender"], r["dataset"], r["split"]) for r in records}
    tasks = []
    for dataset in datasets:
        n = args.protein_splits if dataset == "protein" else args.splits
        for split in range(args.first_split, args.first_split + n):
            for entry in entries:
                if (entry[0], dataset, split) not in done:
                    tasks.append((entry, args.data_dir, dataset, split))
    print(f"{len(tasks)} fits to run, results to {raw}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool, open(raw, "a") as f:
        futures = [pool.submit(fit, *task) for task in tasks]
        for future in as_completed(futures):
            rec = future.result()
            f.write(json.dumps(rec) + "\n")
            f.flush()
            records.append(rec)
            print(
                f"{rec['dataset']:>9} {rec['split']:>2} {rec['contender']:>10}: "
                f"{rec['cpu']:6.2f} s CPU, NLL {rec['nll']:.3f}, "
                f"coverage {rec['coverage']:.2f}",
                flush=True,
            )
    wanted = {(e[0]) for e in entries}
    records = [r for r in records if r["contender"] in wanted]
    given = argv if argv is not None else sys.argv[1:]
    lines = [
        f"# Default fits side by side: {out.stem}",
        "",
        f"Command: `python benchmarks/bench_versus.py {shlex.join(given)}`. "
        "One thread a fit, each in its own process, from one pool of "
        f"{args.jobs} worker(s); mean CPU seconds of a fit, test metrics "
        "averaged over the splits. Candidates: "
        + (
            "; ".join(f"{e[0]}: `{json.dumps(e[3])}`" for e in entries if e[3])
            or "none"
        )
        + ".",
        "",
        *tables(records, names, datasets),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out.write_text(text)


if __name__ == "__main__":
    main()
