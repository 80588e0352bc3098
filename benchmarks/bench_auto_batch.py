"""Large-data fits: ``batch_size="auto"`` against a fixed batch of 32.

The UCI benchmark has at most 33,000 training rows, where ``"auto"`` is 32
rows per step. Beyond, it grows to ``n_train // 1024`` rows. This script
fits both on a synthetic problem (8 features; a bimodal, heteroscedastic
target) of 100,000 and 300,000 rows and scores 20,000 held-out rows, so that
the larger batch's fit time and held-out likelihood can be compared.

    python benchmarks/bench_auto_batch.py [--sizes 100000,300000] [--jobs 2]
"""

import argparse
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

HERE = Path(__file__).resolve().parent


def make_data(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 8))
    upper = rng.rand(n) < 0.5 + 0.4 * X[:, 1]
    mean = np.sin(3 * X[:, 0]) + X[:, 2] * X[:, 3]
    mean += np.where(upper, 1.0, -1.0) * (0.5 + 0.5 * X[:, 4] ** 2)
    return X, mean + (0.05 + 0.3 * (X[:, 5] + 1)) * rng.normal(size=n)


def fit_one(n, batch_size):
    """Fit on ``n`` rows (one torch thread); CPU seconds and held-out NLL."""
    import torch

    from sklearn_mdn import MDNRegressor

    torch.set_num_threads(1)
    X, y = make_data(n, seed=0)
    X_test, y_test = make_data(20_000, seed=1)
    start = time.process_time()
    reg = MDNRegressor(batch_size=batch_size, random_state=0).fit(X, y)
    seconds = time.process_time() - start
    nll = -reg.predict_dist(X_test).log_prob(y_test).mean()
    return {
        "rows": n,
        "batch": batch_size,
        "epochs": reg.n_iter_,
        "steps": reg.n_steps_,
        "cpu": seconds,
        "nll": float(nll),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results" / "auto_batch.md"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    tasks = [(n, b) for n in sizes for b in (32, "auto")]
    rows = Parallel(n_jobs=args.jobs)(delayed(fit_one)(n, b) for n, b in tasks)
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=HERE,
    ).stdout.strip()
    out = [
        '# `batch_size="auto"` on large data',
        "",
        f"Command: `python benchmarks/bench_auto_batch.py --sizes {args.sizes}`, "
        f"at commit {revision or 'unknown'}. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, one torch thread per fit. Other parameters "
        "are the defaults; NLL on 20,000 held-out rows (nats per row).",
        "",
        "| rows | batch | epochs | steps | CPU (s) | held-out NLL |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['rows']:,} | {r['batch']} | {r['epochs']} | {r['steps']:,} | "
            f"{r['cpu']:.0f} | {r['nll']:.4f} |"
        )
    for n in sizes:
        fixed, auto = (r for r in rows if r["rows"] == n)
        out.append("")
        out.append(
            f'- {n:,} rows: `"auto"` takes {auto["cpu"] / fixed["cpu"]:.2f}x the '
            f"CPU time of batch 32; NLL difference "
            f"{auto['nll'] - fixed['nll']:+.4f} nats."
        )
    Path(args.out).write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
