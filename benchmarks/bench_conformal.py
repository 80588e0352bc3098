"""Coverage of split-conformal calibration (``calibrate="conformal"``).

::

    python benchmarks/bench_conformal.py [--quick] [--out FILE.md]

The guarantee is about random splits: over the draw of ``n`` calibration rows
and a new row, exchangeable, ``P(covered) >= coverage``. It holds for any
predictive distribution, however wrong, so the benchmark takes a fixed and
deliberately miscalibrated one instead of training a network per split (200
splits times 7 sizes would mean 1,400 fits, hours of CPU, and the network
would only change which predictive is calibrated, not the mechanism that is
tested):

- truth: ``x ~ U(0, 2)``, ``y = s(x) Z`` with ``s(x) = 0.5 + x`` and ``Z`` the
  bimodal ``0.5 N(-1, 0.35^2) + 0.5 N(1, 0.35^2)``;
- prediction: the same shape at ``0.8 s(x)``, overconfident like a network
  fitted to few rows (its nominal 90% intervals cover 68% of the targets,
  its 90% highest-density regions 75%).

Scores of a pool of 40,000 rows are computed once by ``fit_conformal`` (the
function ``MDNRegressor`` calls on its held-out rows); each split draws
``n`` calibration rows and 1,000 test rows from the pool without
replacement, asks ``ConformalCalibration.level`` for the level, and counts
the test rows covered. A row is covered by the equal-tailed interval (by the
highest-density region) of level ``q`` exactly when its interval (region)
score is at most ``q``; the script checks this on 300 rows per size with
``predict_interval``-style quantiles and ``hdr``. Mean coverage over 200
splits, with its Monte Carlo standard error, must be at least nominal minus
two standard errors; the theory gives ``E = ceil((n + 1) c) / (n + 1)`` (and
1 with too few rows, where the set is the whole line).

A last table fits one small ``MDNRegressor`` per ``calibrate`` option on a
heteroscedastic problem and reports test coverage and mean width.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_mdn import MDNRegressor, NormalMixture
from sklearn_mdn._estimators._calibration import ConformalCalibration, fit_conformal

COVERAGES = (0.8, 0.9, 0.95)


def predictive(x, factor):
    """The bimodal shape at scale ``factor * s(x)``, one row per ``x``."""
    n = len(x)
    s = factor * (0.5 + x)
    means = np.stack([-s, s], axis=1)[:, :, None]
    scales = np.broadcast_to((0.35 * s)[:, None, None, None], (n, 2, 1, 1))
    return NormalMixture(np.full((n, 2), 0.5), means, scales)


def draw(n, rng):
    x = rng.uniform(0, 2, n)
    return x, predictive(x, 1.0).sample(1, random_state=rng)[:, 0]


def covered_by_sets(dist, y, q_interval, q_region):
    """Coverage of the actual interval and region of levels ``q``."""
    lo, hi = (1 - q_interval) / 2, (1 + q_interval) / 2
    iv = dist.ppf([lo, hi])
    in_interval = (y >= iv[:, 0]) & (y <= iv[:, 1])
    if q_region >= 1.0:
        return in_interval, np.ones(len(y), dtype=bool)
    intervals, _ = dist.hdr(q_region)
    in_region = np.any(
        (y[:, None] >= intervals[..., 0]) & (y[:, None] <= intervals[..., 1]), 1
    )
    return in_interval, in_region


def conformal_table(sizes, n_splits, n_pool, n_test, seed=0):
    rng = np.random.RandomState(seed)
    x, y = draw(n_pool, rng)
    dist = predictive(x, 0.8)
    t0 = time.perf_counter()
    scores = fit_conformal(dist, y[:, None])
    score_time = time.perf_counter() - t0
    s_int, s_reg = scores.interval_scores[:, 0], scores.region_scores
    rows, checks = [], []
    naive = {c: (np.mean(s_int <= c), np.mean(s_reg <= c)) for c in COVERAGES}
    for n in sizes:
        cover = {(c, k): [] for c in COVERAGES for k in ("interval", "region")}
        infinite = dict.fromkeys(COVERAGES, 0)
        for split in range(n_splits):
            perm = rng.permutation(n_pool)
            cal, test = perm[:n], perm[n : n + n_test]
            calibration = ConformalCalibration(scores.interval_scores[cal], s_reg[cal])
            for c in COVERAGES:
                q_int = calibration.level(c, "interval")[0]
                q_reg = calibration.level(c, "region")
                infinite[c] += q_int >= 1.0
                cover[c, "interval"].append(np.mean(s_int[test] <= q_int))
                cover[c, "region"].append(np.mean(s_reg[test] <= q_reg))
                if split == 0 and c == 0.9:
                    sub = test[:300]
                    a, b = covered_by_sets(dist[sub], y[sub], q_int, q_reg)
                    checks.append(
                        bool(np.all(a == (s_int[sub] <= q_int)))
                        and bool(np.all(b == (s_reg[sub] <= q_reg)))
                    )
        for c in COVERAGES:
            k = int(np.ceil((n + 1) * c - 1e-9))
            theory = 1.0 if k > n else k / (n + 1)
            for kind in ("interval", "region"):
                values = np.array(cover[c, kind])
                mean, se = values.mean(), values.std(ddof=1) / np.sqrt(n_splits)
                rows.append(
                    (
                        n,
                        c,
                        kind,
                        naive[c][kind == "region"],
                        mean,
                        se,
                        theory,
                        infinite[c] / n_splits,
                        mean >= c - 2 * se,
                    )
                )
    return rows, all(checks), score_time


def mdn_table(seed=0):
    rng = np.random.RandomState(seed)
    n = 3000
    X = rng.uniform(0, 2, (n, 1))
    y = predictive(X[:, 0], 1.0).sample(1, random_state=rng)[:, 0]
    train, test = slice(0, 1500), slice(1500, None)
    out = []
    for calibrate in (False, True, "conformal"):
        model = MDNRegressor(
            n_components=2,
            hidden_layer_sizes=(16,),
            max_iter=60,
            random_state=seed,
            calibrate=calibrate,
        ).fit(X[train], y[train])
        iv = model.predict_interval(X[test], 0.9)
        intervals, _ = model.predict_hdr(X[test], 0.9)
        yt = y[test]
        in_iv = np.mean((yt >= iv[:, 0]) & (yt <= iv[:, 1]))
        inside = (yt[:, None] >= intervals[..., 0]) & (yt[:, None] <= intervals[..., 1])
        length = np.nansum(intervals[..., 1] - intervals[..., 0], axis=1)
        out.append(
            (
                repr(calibrate),
                in_iv,
                np.mean(iv[:, 1] - iv[:, 0]),
                np.mean(np.any(inside, 1)),
                np.mean(length),
            )
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/conformal.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        sizes, n_splits, n_pool = (10, 50, 200), 50, 5000
    else:
        sizes, n_splits, n_pool = (10, 50, 100, 200, 500, 1000, 2000), 200, 40_000
    t0 = time.perf_counter()
    rows, agree, score_time = conformal_table(sizes, n_splits, n_pool, 1000)
    mdn_rows = mdn_table()
    lines = [
        "# Split-conformal coverage",
        "",
        f"`python benchmarks/bench_conformal.py{' --quick' if args.quick else ''}`"
        f" ({time.perf_counter() - t0:.0f} s; scores of {n_pool:,} pool rows in "
        f"{score_time:.1f} s). Truth `y = (0.5 + x) Z`, `x ~ U(0, 2)`, `Z` "
        "bimodal; the predictive distribution is the same shape at 0.8 times "
        f"the true scale (overconfident). {n_splits} random splits per row, "
        "1,000 test rows each. *uncalibrated*: coverage of the nominal "
        "sets; *conformal*: mean coverage over the splits (± Monte Carlo "
        "standard error); *theory*: `ceil((n+1)c)/(n+1)`; *infinite*: fraction "
        "of splits where the set is the whole line (too few rows).",
        "",
        "| n_calibration | coverage | set | uncalibrated | conformal | theory "
        "| infinite | ≥ nominal − 2 SE |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for n, c, kind, naive, mean, se, theory, inf, ok in rows:
        lines.append(
            f"| {n} | {c} | {kind} | {naive:.3f} | {mean:.4f} ± {se:.4f} "
            f"| {theory:.4f} | {inf:.2f} | {'yes' if ok else '**no**'} |"
        )
    lines += [
        "",
        "Membership in the actual interval and region of the conformal level "
        "equals `score <= level` on every checked row: "
        f"{'yes' if agree else '**no**'}.",
        "",
        "## A fitted MDNRegressor",
        "",
        "3,000 rows of the same truth, 1,500 to fit (300 of them held out), "
        "1,500 to test; 2 components, one hidden layer of 16, 60 epochs; "
        "nominal coverage 0.9.",
        "",
        "| calibrate | interval coverage | mean width | HDR coverage | mean length |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, cov_iv, width, cov_hdr, length in mdn_rows:
        lines.append(
            f"| {name} | {cov_iv:.3f} | {width:.3f} | {cov_hdr:.3f} | {length:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    if not all(row[-1] for row in rows) or not agree:
        raise SystemExit("coverage below nominal minus two standard errors")


if __name__ == "__main__":
    main()
