"""Which modes count as branches: rules measured on saved fits, in seconds.

Rules for what ``NormalMixture.modes`` lists change nothing in training, so
this script fits the default ``MDNRegressor`` once per (truth, draw, seed) of
``bench_synthetic.py`` and saves each test-set prediction (``--fit``, joblib,
skipping fits already saved), then scores every rule on the saved mixtures
with ``bench_synthetic``'s own measures (``mode_measures``,
``unimodal_measures``, ``phantom_mass``):

- a rule is ``min_dip`` (``modes``' merging of shallow modes: a mode is listed
  only if the density falls by at least that fraction between it and every
  higher mode), optionally with ``sep`` (also merge modes closer than that
  many standard deviations of the training targets, ``y_scale_``), then the
  ``min_mass`` thresholds of ``bench_synthetic.MIN_MASSES``;
- branch truths: *count right* and *modes right* (as in
  ``synthetic_branches.md``), unimodal truths: rows with a second mode.

Usage::

    python benchmarks/bench_mode_rules.py --fit --scale 0.4 --draws 2 --seeds 2
    python benchmarks/bench_mode_rules.py --rules 0,0.2,0.5,0.9,0.5/0.05 \\
        --out benchmarks/results/mode_dips.md
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_synthetic as bs  # noqa: E402

BRANCH = ["arm-limits", "fold", "part-branch"]
NOISY = ["arm-limits-noisy", "fold-noisy", "part-branch-noisy"]
UNIMODAL = ["hetero", "skew", "heavy", "multi3"]
SHOWN = ("0.01", "0.02", "0.05")


def fit_all(folder, truths, scale, draws, seeds):
    import joblib
    import torch

    from sklearn_mdn import MDNRegressor

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(seeds):
        for draw in range(draws):
            for t in truths:
                path = folder / f"{t}_d{draw}_s{seed}.joblib"
                if path.exists():
                    continue
                (X, y), (X_test, y_test) = bs.truth_data(bs.TRUTHS[t], draw, scale)
                start = time.process_time()
                reg = MDNRegressor(random_state=seed).fit(X, y)
                cpu = time.process_time() - start
                joblib.dump(
                    {
                        "truth": t,
                        "draw": draw,
                        "seed": seed,
                        "X_test": X_test,
                        "y_test": y_test,
                        "dist": reg.predict_dist(X_test),
                        "model": reg,
                        "fit_cpu": cpu,
                    },
                    path,
                )
                print(f"{t} draw {draw} seed {seed}: {cpu:.1f} cpu s", flush=True)


def every_mode(dist, min_dip):
    """Modes (n, M, d), masses, log peaks and log saddles, nothing merged."""
    from sklearn_mdn.distribution._modes import _mixture_branches
    from sklearn_mdn.distribution._prominence import (
        segment_saddles,
        univariate_modes_and_saddles,
    )

    w, mu, L = dist.weights, dist.means, dist.scale_tril
    if mu.shape[2] == 1:
        modes, masses, peaks, saddles = univariate_modes_and_saddles(
            w, mu[:, :, 0], L[:, :, 0, 0]
        )
        return modes[..., None], masses, peaks, saddles
    half_log_det = dist._half_log_det()
    modes, masses = _mixture_branches(w, mu, L, half_log_det)
    return (modes, masses) + segment_saddles(w, mu, L, half_log_det, modes, min_dip)


def apply_rule(raw, y_scale, min_dip, sep):
    from sklearn_mdn.distribution._prominence import merge_shallow_modes

    modes, masses, peaks, saddles = raw
    close = None
    if sep > 0:
        z = modes / y_scale
        close = np.linalg.norm(z[:, :, None] - z[:, None], axis=3) < sep
    modes, masses = merge_shallow_modes(modes, masses, peaks, saddles, min_dip, close)
    order = np.argsort(np.where(np.isnan(masses), np.inf, -masses), axis=1)
    return (
        np.take_along_axis(modes, order[..., None], 1),
        np.take_along_axis(masses, order, 1),
    )


def _oracle_fits(folder):
    """The truth itself (``bench_synthetic.oracle_dist``) on the test rows of
    each branch truth with saved fits, as a pseudo-fit of model ``truth``."""
    seen = {p.name.split("_d")[0] for p in folder.glob("*.joblib")}
    for t in BRANCH + NOISY:
        if t in seen:
            truth = bs.TRUTHS[t]
            X = bs.truth_data(truth, 0, 0.4)[1][0]
            yield {
                "truth": t,
                "draw": 0,
                "seed": 0,
                "X_test": X,
                "oracle": True,
                "dist": bs.oracle_dist(truth, X),
                "y_scale": np.ones(1),
            }


def _fits(folder):
    import joblib

    for path in sorted(folder.glob("*.joblib")):
        fit = joblib.load(path)
        fit["y_scale"] = fit["model"].y_scale_
        yield fit
    yield from _oracle_fits(folder)


def score(folder, rules):
    out = {}
    for fit in _fits(folder):
        truth, X = bs.TRUTHS[fit["truth"]], fit["X_test"]
        # saddles searched as for the largest min_dip: exact for every smaller
        dist = fit["dist"]
        raw = every_mode(dist, max(rule[0] for rule in rules))
        y_scale = np.atleast_1d(fit["y_scale"])
        phantom = None
        if isinstance(truth, bs.BranchTruth):
            phantom = float(bs.phantom_mass(truth, dist, X, fit["seed"]).mean())
        for rule in rules:
            modes, masses = apply_rule(raw, y_scale, *rule)
            bs._all_modes = lambda d, m=modes, p=masses: (m, p)
            if isinstance(truth, bs.BranchTruth):
                rec = bs.mode_measures(truth, dist, X)
                rec = {
                    "count": rec["modes_count_ok"],
                    "match": rec["modes_match"],
                    "phantom": phantom,
                }
            else:
                rec = {"second": bs.unimodal_measures(dist)["second_mode"]}
            rec.update(draw=fit["draw"], seed=fit["seed"])
            name = fit["truth"] + (" (the truth itself)" if "oracle" in fit else "")
            out.setdefault(name, {}).setdefault(rule, []).append(rec)
        print(f"scored {fit['truth']}", file=sys.stderr, flush=True)
    return out


def demo_fold(dips, seeds=4):
    """The command-line demo's fold (``sklearn-mdn demo``: y uniform on
    [-1, 1], x = y + 0.3 sin(2 pi y) + 0.05 N(0, 1), 1,000 rows, default
    fit): real branches with shallow dips, because the noise is on x. Share
    of 41 rows, x in [0.4, 0.6], whose number of modes (``min_mass`` 0.02) is
    that of the true density (modes above 1e-6 of its peak), per seed."""
    import torch

    from sklearn_mdn import MDNRegressor

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    xs = np.linspace(0.4, 0.6, 41)
    g = np.linspace(-1.0, 1.0, 20001)
    true_n = {dip: [] for dip in dips}  # the truth's modes, listed by the rule
    for x0 in xs:
        p = np.exp(-0.5 * ((g + 0.3 * np.sin(2 * np.pi * g) - x0) / 0.05) ** 2)
        peak = np.flatnonzero((p[1:-1] > p[:-2]) & (p[1:-1] > p[2:])) + 1
        peak = peak[p[peak] > 1e-6]
        dip = np.zeros(len(peak))
        for a in range(len(peak)):
            saddles = [
                p[min(peak[a], peak[b]) : max(peak[a], peak[b]) + 1].min()
                for b in range(len(peak))
                if p[peak[b]] > p[peak[a]]
            ]
            dip[a] = 1 - max(saddles) / p[peak[a]] if saddles else 1.0
        for d in dips:
            true_n[d].append(int((dip >= d).sum()) if d else len(peak))
    rows = {dip: [] for dip in dips}
    for seed in range(seeds):
        rng = np.random.RandomState(seed)
        y = rng.uniform(-1.0, 1.0, 1000)
        x = y + 0.3 * np.sin(2.0 * np.pi * y) + 0.05 * rng.normal(size=y.shape)
        reg = MDNRegressor(random_state=seed).fit(x[:, None], y)
        dist = reg.predict_dist(xs[:, None])
        for dip in dips:
            n = dist.modes(min_mass=0.02, min_dip=dip).n_modes
            rows[dip].append(
                (
                    float(np.mean(n == true_n[0.0])),
                    float(np.mean(n == true_n[dip])),
                    int(n[20]),
                    float(np.mean(true_n[dip])),
                )
            )
    return rows


def _label(rule):
    dip, sep = rule
    text = f"min_dip={dip:g}"
    return text + (f", sep={sep:g} sd" if sep else "")


def markdown(results, rules, command, folder):
    lines = [
        "# Which modes are branches: merging shallow modes (`min_dip`)",
        "",
        f"Made by `{command}` on "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, after "
        "`python benchmarks/bench_mode_rules.py --fit --scale 0.4 --draws 2 "
        f"--seeds 2` (default `MDNRegressor`, one torch thread; fits in "
        f"`{folder}`, not committed). Scale 0.4 as in `synthetic_branches.md`: "
        "2,000 training rows for the branch truths, 1,600 for the unimodal "
        "ones, 4,000 test rows.",
        "",
        "`min_dip=0` is the listing before this change (every mode, then "
        "`min_mass`). *Count right* and *modes right*: as in "
        "`synthetic_branches.md` (the share of rows whose number of listed "
        "modes is the truth's; whose listed modes all lie within the radius "
        "of a solution and every solution has one); mean over fits, and in "
        "brackets the worst fit. *Second mode*: the share of rows of a "
        "unimodal truth with a second mode listed. The phantom mass (the "
        "prediction's, not changed by any listing rule) is given per truth. "
        "*The truth itself*: `bench_synthetic.oracle_dist` (scale 1e-4 "
        "noise-free, else the noise's): a rule must not lose its branches.",
        "",
        "### Branching truths",
        "",
        "| truth | fits | phantom mass | rule | "
        + " | ".join(f"count right at min_mass {m}" for m in SHOWN)
        + " | modes right at 0.02 |",
        "|---|---|---|---|" + "---|" * len(SHOWN) + "---|",
    ]
    for t in [x + y for x in BRANCH + NOISY for y in ("", " (the truth itself)")]:
        if t not in results:
            continue
        for rule in rules:
            rs = results[t][rule]
            ph = np.mean([r["phantom"] for r in rs])
            cells = [t, str(len(rs)), f"{ph:.4f}", _label(rule)]
            for m in SHOWN:
                v = [r["count"][m] for r in rs]
                cells.append(f"{np.mean(v):.3f} [{min(v):.3f}]")
            v = [r["match"]["0.02"] for r in rs]
            cells.append(f"{np.mean(v):.3f} [{min(v):.3f}]")
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Unimodal truths: rows with a second mode",
        "",
        "| truth | fits | rule | at min_mass 0 | "
        + " | ".join(f"at {m}" for m in SHOWN)
        + " |",
        "|---|---|---|---|" + "---|" * len(SHOWN),
    ]
    for t in UNIMODAL:
        if t not in results:
            continue
        for rule in rules:
            rs = results[t][rule]
            cells = [t, str(len(rs)), _label(rule)]
            for m in ("0",) + SHOWN:
                v = [r["second"][m] for r in rs]
                cells.append(f"{np.mean(v):.3f} [{max(v):.3f}]")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="fit and save first")
    parser.add_argument("--fits", default="/tmp/wtB/fits", help="saved fits")
    parser.add_argument("--truths", default=",".join(BRANCH + UNIMODAL + NOISY))
    parser.add_argument("--scale", type=float, default=0.4)
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--rules",
        default="0,0.2,0.5,0.9",
        help="comma separated min_dip or min_dip/sep (sep in target sds)",
    )
    parser.add_argument("--out", default=None, help="markdown table to write")
    parser.add_argument(
        "--demo", action="store_true", help="only the demo's fold (fits 4 models)"
    )
    args = parser.parse_args(argv)
    folder = Path(args.fits)
    if args.fit:
        fit_all(folder, args.truths.split(","), args.scale, args.draws, args.seeds)
        return
    rules = [
        (float(r.split("/")[0]), float(r.split("/")[1]) if "/" in r else 0.0)
        for r in args.rules.split(",")
    ]
    if args.demo:
        lines = [
            "| rule | count right (truth: every mode), mean; seeds 0 .. 3 "
            "| count right (truth listed by the same rule), mean; seeds 0 .. 3 "
            "| the truth's modes per row, listed by the rule "
            "| modes at x = 0.5 (truth: 3), seeds 0 .. 3 |",
            "|---|---|---|---|---|",
        ]
        for dip, rs in demo_fold([r[0] for r in rules]).items():
            every, same = [r[0] for r in rs], [r[1] for r in rs]
            lines.append(
                f"| min_dip={dip:g} | {np.mean(every):.3f}; "
                + " / ".join(f"{c:.2f}" for c in every)
                + f" | {np.mean(same):.3f}; "
                + " / ".join(f"{c:.2f}" for c in same)
                + f" | {rs[0][3]:.2f} | "
                + " / ".join(str(r[2]) for r in rs)
                + " |"
            )
        print("\n".join(lines))
        return
    text = markdown(
        score(folder, rules), rules, " ".join(["python"] + sys.argv), folder
    )
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
