"""Throughput of sklearn_mdn.dask on a LocalCluster: 1 against 2 workers.

One command fits a small MDNRegressor and measures, on this machine, the rows
per second of :func:`sklearn_mdn.dask.predict` and
:func:`sklearn_mdn.dask.predict_interval` over a lazy Dask array of a few
million rows, on a ``LocalCluster`` of one and then two worker processes of
one thread each, and of the estimator's own methods in this process (one
thread) for reference. The rows are generated on the workers, chunk by
chunk, and each output chunk is reduced to its sum there, so what is timed is
the prediction, not the transfer of inputs or results. Each figure is the
best of ``--repeats`` runs after a warm-up that ships the model.

Usage::

    python benchmarks/bench_dask.py [--rows 4000000] [--interval-rows 1000000]
        [--chunks 32] [--repeats 2] [--out benchmarks/results/dask.md]
"""

import argparse
import contextlib
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

N_FEATURES = 10


def _rows_block(block_id=None, *, n_rows, seed=0):
    rng = np.random.RandomState([seed, block_id[0]])
    return rng.uniform(-1, 1, size=(n_rows, N_FEATURES))


def lazy_rows(n, n_chunks):
    import dask.array as da

    size = n // n_chunks
    return da.map_blocks(
        _rows_block,
        chunks=((size,) * n_chunks, (N_FEATURES,)),
        dtype=np.float64,
        n_rows=size,
    )


def fit_model():
    from sklearn_mdn import MDNRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(5000, N_FEATURES))
    y = np.sin(3 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.2 * rng.normal(size=5000)
    return MDNRegressor(
        n_components=3, hidden_layer_sizes=(64, 64), max_iter=5, random_state=0
    ).fit(X, y)


def chunk_sums(array):
    """Per-chunk sums, computed where the chunks are."""
    import dask.array as da

    axes = tuple(range(1, array.ndim))
    return da.map_blocks(
        lambda b: np.atleast_1d(b.sum()),
        array,
        chunks=((1,) * array.numblocks[0],),
        drop_axis=list(axes),
        dtype=np.float64,
    )


@contextlib.contextmanager
def one_thread_cluster(n_workers):
    """A client of a LocalCluster of ``n_workers`` worker processes, each on
    one thread and one torch thread."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)
        yield client


def time_cluster(model, n_workers, rows, interval_rows, n_chunks, repeats):
    from sklearn_mdn import dask as mdask

    results = {}
    with one_thread_cluster(n_workers) as client:
        with client.as_current():
            warm = chunk_sums(mdask.predict(model, lazy_rows(n_chunks * 100, n_chunks)))
            client.compute(warm, sync=True)
            for name, fn, n in [
                ("predict", mdask.predict, rows),
                ("predict_interval", mdask.predict_interval, interval_rows),
            ]:
                best, best_cpu = np.inf, np.inf
                for _ in range(repeats):
                    lazy = chunk_sums(fn(model, lazy_rows(n, n_chunks)))
                    cpu = client.run(time.process_time)
                    start = time.perf_counter()
                    client.compute(lazy, sync=True)
                    wall = time.perf_counter() - start
                    cpu_after = client.run(time.process_time)
                    cpu = sum(cpu_after[w] - cpu[w] for w in cpu)
                    if wall < best:
                        best, best_cpu = wall, cpu
                results[name] = (n / best, n / best_cpu)
    return results


def time_in_process(model, rows, interval_rows, n_chunks):
    """The estimator's own methods on the same chunks, in this process."""
    results = {}
    for name, n in [("predict", rows), ("predict_interval", interval_rows)]:
        X = lazy_rows(n, n_chunks)
        size = n // n_chunks
        blocks = [_rows_block((i, 0), n_rows=size) for i in range(min(4, n_chunks))]
        method = getattr(model, name)
        start = time.perf_counter()
        for block in blocks:
            method(block)
        results[name] = len(blocks) * size / (time.perf_counter() - start)
        del X
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--interval-rows", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "dask.md",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    import dask
    import distributed

    import sklearn_mdn

    model = fit_model()
    started = time.perf_counter()
    load_before = os.getloadavg()
    local = time_in_process(model, args.rows, args.interval_rows, args.chunks)
    on = {
        k: time_cluster(
            model, k, args.rows, args.interval_rows, args.chunks, args.repeats
        )
        for k in (1, 2)
    }
    load_after = os.getloadavg()
    elapsed = time.perf_counter() - started

    rows = {"predict": args.rows, "predict_interval": args.interval_rows}
    lines = [
        "# sklearn_mdn.dask throughput: 1 against 2 workers",
        "",
        "Command: `python benchmarks/bench_dask.py "
        f"--rows {args.rows} --interval-rows {args.interval_rows} "
        f"--chunks {args.chunks} --repeats {args.repeats}`",
        "",
        f"Model: `MDNRegressor(n_components=3, hidden_layer_sizes=(64, 64))`, "
        f"{N_FEATURES} features, one target. Rows generated on the workers in "
        f"{args.chunks} chunks, each output chunk reduced to its sum there. "
        "Workers are processes of one thread (torch too). Rows per second, "
        f"best of {args.repeats}.",
        "",
        "| method | rows | in process, 1 thread | 1 worker | 2 workers "
        "| 2 / 1 workers | rows per worker CPU second, 1 / 2 workers |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("predict", "predict_interval"):
        (one, one_cpu), (two, two_cpu) = on[1][name], on[2][name]
        lines.append(
            f"| `{name}` | {rows[name]:,} | {local[name]:,.0f} | {one:,.0f} "
            f"| {two:,.0f} | {two / one:.2f}x | {one_cpu:,.0f} / {two_cpu:,.0f} |"
        )
    lines += [
        "",
        "Rows per second of wall time; the last column divides the rows by the "
        "CPU seconds the workers spent instead (all workers together), which "
        "the other work on a shared machine does not inflate: with equal "
        "figures there, a speedup below 2x comes from cores taken by other "
        "processes, not from the chunked prediction.",
    ]
    lines += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs visible, "
        f"load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
        f"(shared with other work); Python {platform.python_version()}, "
        f"torch {torch.__version__}, dask {dask.__version__}, distributed "
        f"{distributed.__version__}, sklearn-mdn {sklearn_mdn.__version__}. "
        f"Total {elapsed:.0f} s.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
