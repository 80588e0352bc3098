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
- peers (``--peers catboost,skpro,qrf,treeffuser``, the ``bench`` extra):
  CatBoost with ``loss_function="RMSEWithUncertainty"`` and skpro's
  ``MDNRegressor``, each with its defaults (a Gaussian per row; a mixture of
  5 Gaussians per row); quantile-forest's ``RandomForestQuantileRegressor``
  (``qrf``: 199 quantiles per row) and treeffuser's ``Treeffuser`` (200
  draws per row; skipped above 2,000 training rows, where a fit takes
  minutes), both with their defaults.

A candidate's key ``"transform"`` puts a transformer of the training data in
front of the estimator in a ``Pipeline`` (:func:`input_transform`).

Reported per data set and contender: the mean CPU seconds of a fit
(``time.process_time`` in the child), the test NLL, CRPS, RMSE and 90%
interval coverage (``bench_uci.score`` for the mixtures; from quantiles or
draws for the two peers without a density, which have no NLL), the ratio of
CPU time to CatBoost's, and every contender's paired difference to ``this``.

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
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from _raw import read_raw
from bench_uci import load_dataset

HERE = Path(__file__).resolve().parent
DATASETS = "boston,concrete,energy,kin8nm,power,protein,yacht"
PEERS = ("catboost", "skpro", "qrf", "treeffuser")
# The package each peer imports.
PEER_PACKAGES = {
    "catboost": "catboost",
    "skpro": "skpro",
    "qrf": "quantile_forest",
    "treeffuser": "treeffuser",
}
# treeffuser's fit takes minutes above this many training rows.
TREEFFUSER_MAX_ROWS = 2000
# Quantile levels of the quantile forest, draws of treeffuser.
LEVELS = tuple(np.arange(1, 200) / 200)
N_DRAWS = 200
TRANSFORMS = ("quantile", "power", "ple", "ple8", "ple32")


def input_transform(name, n_rows):
    """The transformer ``name`` of the ``"transform"`` key of a candidate."""
    from sklearn.preprocessing import PowerTransformer, QuantileTransformer

    from sklearn_mdn import PiecewiseLinearEncoder

    if name == "quantile":
        n_quantiles = min(1000, n_rows)
        return QuantileTransformer(
            n_quantiles=n_quantiles, output_distribution="normal", random_state=0
        )
    if name == "power":
        return PowerTransformer()
    if name.startswith("ple"):
        return PiecewiseLinearEncoder(n_bins=int(name[3:] or 16))
    raise SystemExit(f"unknown transform {name!r}; known: {', '.join(TRANSFORMS)}")


def _interval_scores(lower, upper, mean, y):
    return {
        "nll": None,
        "rmse": float(np.sqrt(np.mean((y - mean) ** 2))),
        "coverage": float(np.mean((lower <= y) & (y <= upper))),
        "width": float(np.mean(upper - lower)),
    }


def quantile_scores(quantiles, mean, y):
    """Scores of predicted quantiles at :data:`LEVELS` (shape ``(n, 199)``).

    The CRPS is twice the mean pinball loss over the levels, the Riemann sum
    of ``CRPS = 2 * int_0^1 pinball_tau d tau``; the 90% interval is that of
    the levels 0.05 and 0.95. No density, so no NLL.
    """
    levels = np.asarray(LEVELS)
    q = np.asarray(quantiles, dtype=float)
    diff = y[:, None] - q
    pinball = np.maximum(levels * diff, (levels - 1) * diff)
    out = _interval_scores(q[:, 9], q[:, 189], np.asarray(mean, dtype=float), y)
    return {**out, "crps": float(2 * pinball.mean())}


def sample_scores(draws, y):
    """Scores of ``draws`` (shape ``(m, n)``) from each row's distribution.

    The CRPS is the unbiased ("fair") estimate from ``m`` draws,
    ``mean|X - y| - sum_ij |X_i - X_j| / (2 m (m - 1))``; the 90% interval
    is that of the draws' 5% and 95% quantiles. No density, so no NLL.
    """
    m = len(draws)
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    rank = 2 * np.arange(1, m + 1) - m - 1
    spread = 2 * (rank[:, None] * x).sum(0) / (2 * m * (m - 1))
    crps = np.abs(x - y).mean(0) - spread
    lower, upper = np.quantile(x, [0.05, 0.95], axis=0)
    out = _interval_scores(lower, upper, x.mean(0), y)
    return {**out, "crps": float(crps.mean())}


CHILD = """
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(1)
warnings.filterwarnings("ignore")
sys.path.insert(0, {bench!r})
from bench_uci import load_dataset, score
from bench_versus import LEVELS, N_DRAWS, input_transform
from bench_versus import quantile_scores, sample_scores
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
elif kind == "qrf":
    from quantile_forest import RandomForestQuantileRegressor
    reg = RandomForestQuantileRegressor(random_state=split, n_jobs=1)
    start = time.process_time()
    reg.fit(X[train], y[train])
    cpu = time.process_time() - start
    quantiles = reg.predict(X[test], quantiles=list(LEVELS))
    mean = reg.predict(X[test], quantiles="mean")
    dist = None
    scores = quantile_scores(quantiles, mean, y[test])
    package = "quantile_forest"
elif kind == "treeffuser":
    from treeffuser import Treeffuser
    reg = Treeffuser(seed=split)
    start = time.process_time()
    reg.fit(X[train], y[train])
    cpu = time.process_time() - start
    draws = np.asarray(reg.sample(X[test], n_samples=N_DRAWS, seed=split))
    dist = None
    scores = sample_scores(draws.reshape(N_DRAWS, len(test)), y[test])
    package = "treeffuser"
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
    import importlib
    import sklearn_mdn
    from sklearn_mdn import MDNRegressor
    params = dict(params)
    transform = params.pop("transform", None)
    constants = params.pop("plan", {{}})
    if constants:
        try:
            plan = importlib.import_module("sklearn_mdn._estimators._plan")
        except ImportError:  # a checkout from before the layered layout
            plan = importlib.import_module("sklearn_mdn._plan")
    for name, value in constants.items():
        if not hasattr(plan, name):
            raise SystemExit(f"{{plan.__name__}} has no constant {{name}}")
        setattr(plan, name, value)
    reg = MDNRegressor(**params, random_state=split)
    if transform is not None:
        from sklearn.pipeline import make_pipeline
        reg = make_pipeline(input_transform(transform, len(train)), reg)
    start = time.process_time()
    reg.fit(X[train], y[train])
    cpu = time.process_time() - start
    if transform is None:
        dist = reg.predict_dist(X[test])
    else:
        dist = reg[-1].predict_dist(reg[:-1].transform(X[test]))
        reg = reg[-1]
    steps = int(reg.n_steps_)
    package = sklearn_mdn.__file__
if dist is not None:
    scores = score(dist, y[test])
print(json.dumps(dict(cpu=cpu, steps=steps, package=package, **scores)))
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
        if importlib.util.find_spec(PEER_PACKAGES[peer]) is None:
            raise SystemExit(
                f"peer {peer!r} needs the package {PEER_PACKAGES[peer]!r}, which "
                "is not installed (benchmarks/README.md says how to install it)"
            )
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
        "| data set | contender | NLL | CRPS | RMSE | 90% coverage | steps |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for d in datasets:
        for n in names:
            recs = by.get((d, n), [])
            if not recs:
                continue
            steps = _mean(recs, "steps")
            quality.append(
                f"| {d} | {n} | {_mean(recs, 'nll'):.3f} | {_mean(recs, 'crps'):.4g} "
                f"| {_mean(recs, 'rmse'):.4g} "
                f"| {_mean(recs, 'coverage'):.2f} | "
                + ("-" if np.isnan(steps) else f"{steps:.0f}")
                + " |"
            )
    return [*cost, "", *quality, "", *paired(by, names, datasets)]


def paired(by, names, datasets, ref="this") -> list[str]:
    """Markdown: each contender minus ``ref`` on the same splits, mean ± s.e.

    The differences of CRPS and RMSE are also given relative to ``ref``'s
    mean (in %); a negative difference is an improvement on every column.
    """
    if ref not in names:
        return []
    lines = [
        f"Paired differences to `{ref}` (contender - {ref}, mean ± standard "
        "error over the splits both ran; negative is better):",
        "",
        "| data set | contender | splits | CRPS | CRPS % | RMSE | RMSE % | NLL "
        "| CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(diffs, digits):
        diffs = np.asarray([d for d in diffs if d is not None and np.isfinite(d)])
        if len(diffs) == 0:
            return "-"
        se = diffs.std(ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else np.nan
        return f"{diffs.mean():+.{digits}f} ± {se:.{digits}f}"

    for d in datasets:
        base = {r["split"]: r for r in by.get((d, ref), [])}
        for n in names:
            if n == ref:
                continue
            pairs = [(r, base[r["split"]]) for r in by.get((d, n), [])]
            pairs = [(r, b) for r, b in pairs if r["split"] in base]
            if not pairs:
                continue
            cols = []
            for key, digits in (("crps", 4), ("rmse", 4)):
                cols.append(fmt([r[key] - b[key] for r, b in pairs], digits))
                scale = np.mean([b[key] for _, b in pairs])
                cols.append(fmt([100 * (r[key] - b[key]) / scale for r, b in pairs], 1))
            nll = [None if r["nll"] is None else r["nll"] - b["nll"] for r, b in pairs]
            cols.append(fmt(nll, 3))
            cols.append(fmt([r["cpu"] - b["cpu"] for r, b in pairs], 2))
            lines.append(f"| {d} | {n} | {len(pairs)} | " + " | ".join(cols) + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--baseline", default=None, help="checkout to compare")
    parser.add_argument(
        "--candidates", default="{}", help='JSON {"name": {MDNRegressor params}}'
    )
    parser.add_argument("--peers", default="", help="catboost,skpro,qrf,treeffuser")
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
        skip = set()
        if "treeffuser" in names:
            n_train = len(load_dataset(args.data_dir, dataset)[2][0][0])
            if n_train > TREEFFUSER_MAX_ROWS:
                skip.add("treeffuser")
                print(
                    f"treeffuser skipped on {dataset}: {n_train} training rows, "
                    f"above {TREEFFUSER_MAX_ROWS} its fit takes minutes",
                    flush=True,
                )
        for split in range(args.first_split, args.first_split + n):
            for entry in entries:
                if entry[0] in skip:
                    continue
                if (entry[0], dataset, split) not in done:
                    tasks.append((entry, args.data_dir, dataset, split))
    print(f"{len(tasks)} fits to run, results to {raw}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool, open(raw, "a") as f:
        futures = [pool.submit(fit, *task) for task in tasks]
        for future in as_completed(futures):
            if future.exception() is not None:  # stop now, not after every fit
                pool.shutdown(wait=False, cancel_futures=True)
            rec = future.result()
            f.write(json.dumps(rec) + "\n")
            f.flush()
            records.append(rec)
            print(
                f"{rec['dataset']:>9} {rec['split']:>2} {rec['contender']:>10}: "
                f"{rec['cpu']:6.2f} s CPU, NLL {rec['nll'] or float('nan'):.3f}, "
                f"CRPS {rec['crps']:.4g}, coverage {rec['coverage']:.2f}",
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
