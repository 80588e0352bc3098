"""Each MDN contender against the best peer of bench_versus.py raw records.

``python benchmarks/versus_best_peer.py RAW.jsonl [RAW.jsonl ...]`` prints, per
data set and contender (``this`` and the candidates), its mean CRPS and RMSE,
the peer with the lowest mean of each (catboost, qrf, treeffuser), and the
paired difference to that peer over the splits both ran, in % of the peer's
mean (mean ± standard error; negative: the contender is better).
"""

import json
import sys

import numpy as np

PEERS = ("catboost", "qrf", "treeffuser", "skpro")


def main(paths):
    by = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                by[(r["dataset"], r["contender"], r["split"])] = r
    print(
        "| data set | contender | splits | CRPS | best peer (CRPS) | CRPS % to it "
        "| RMSE | best peer (RMSE) | RMSE % to it |"
    )
    print("|---|---|---:|---:|---|---:|---:|---|---:|")
    datasets = sorted({d for d, _, _ in by})
    contenders = sorted({c for _, c, _ in by if c not in PEERS})
    contenders.sort(key=lambda c: c != "this")
    for d in datasets:

        def splits(c, d=d):
            return {s for dd, cc, s in by if dd == d and cc == c}

        for c in contenders:
            if not splits(c):
                continue
            cells = []
            for m in ("crps", "rmse"):
                means = {
                    p: np.mean([by[(d, p, s)][m] for s in splits(p) & splits(c)])
                    for p in PEERS
                    if splits(p) & splits(c)
                }
                best = min(means, key=means.get)
                common = sorted(splits(best) & splits(c))
                a = np.array([by[(d, c, s)][m] for s in common])
                b = np.array([by[(d, best, s)][m] for s in common])
                rel = 100 * (a - b) / b.mean()
                se = rel.std(ddof=1) / np.sqrt(len(rel)) if len(rel) > 1 else np.nan
                cells += [
                    f"{a.mean():.4g}",
                    f"{best} {b.mean():.4g}",
                    f"{rel.mean():+.1f} ± {se:.1f}",
                ]
            print(f"| {d} | {c} | {len(common)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
