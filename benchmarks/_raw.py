"""Per-fit benchmark results as JSON lines: read back, appended as they come.

Shared by ``bench_uci.py`` and ``bench_synthetic.py``: every finished fit is
written at once, so that an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path


def read_raw(path) -> list[dict]:
    """The records of a JSON-lines file; none if it does not exist."""
    if not Path(path).exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_and_append(raw, run, tasks, jobs, report) -> list[dict]:
    """``run(*task)`` for every task on ``jobs`` processes, in any order.

    Each record is appended to ``raw`` as soon as it comes and passed to
    ``report``. Returns the new records.
    """
    from joblib import Parallel, delayed

    print(f"{len(tasks)} fits to run, results to {raw}", flush=True)
    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
    records = []
    with open(raw, "a") as f:
        for rec in parallel(delayed(run)(*task) for task in tasks):
            f.write(json.dumps(rec) + "\n")
            f.flush()
            records.append(rec)
            report(rec)
    return records
