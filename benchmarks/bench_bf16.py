"""Would bfloat16 products make a training step cheaper? (issue #28)

An upper bound on what bfloat16 could save: the trunk's products alone, the
part of a step that a bfloat16 product would speed up, forward and backward,
in float32 and in bfloat16, for the default trunk (5 x 100 units, ReLU) at
the batch sizes that ``batch_size="auto"`` picks. Stacked networks (small
data trains several at once) run one batched product per layer. A real step
would also convert between the two types and keep the mixture's likelihood
in float32, so it can only gain less than this.

Usage::

    python benchmarks/bench_bf16.py [--repeats 5] [--out benchmarks/results/bf16.md]

CPU time of one thread, median over repeats, the two types in turn within
each repeat.
"""

import argparse
import platform
import time

import numpy as np
import torch

# (networks, batch): yacht (3 networks of 32 rows), boston and concrete (2 and
# 1 networks of 32), protein (1 of 191), and the large-data batches of 1,024.
CASES = ((3, 32), (2, 32), (1, 32), (1, 64), (1, 191), (1, 256), (1, 1024))
WIDTH, DEPTH, STEPS = 100, 5, 300


def step_time(networks, batch, dtype, steps=STEPS):
    """CPU seconds per forward and backward pass of the trunk's products."""
    gen = torch.Generator().manual_seed(0)
    weights = [
        (torch.randn(networks, WIDTH, WIDTH, generator=gen) / WIDTH**0.5)
        .to(dtype)
        .requires_grad_()
        for _ in range(DEPTH)
    ]
    x = torch.randn(networks, batch, WIDTH, generator=gen).to(dtype)

    def one():
        h = x
        for w in weights:
            h = torch.relu(torch.bmm(h, w))
        h.sum().backward()

    for _ in range(20):
        one()
    start = time.process_time()
    for _ in range(steps):
        one()
    return (time.process_time() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for networks, batch in CASES:
        times = {torch.float32: [], torch.bfloat16: []}
        for r in range(args.repeats):
            order = (torch.float32, torch.bfloat16)[:: 1 if r % 2 == 0 else -1]
            for dtype in order:
                times[dtype].append(step_time(networks, batch, dtype))
        f32, bf16 = (np.median(times[t]) * 1e6 for t in times)
        rows.append(
            f"| {networks} | {batch:,} | {f32:.0f} | {bf16:.0f} | {f32 / bf16:.2f} |"
        )
    lines = [
        "# bfloat16 products against float32: the trunk's step",
        "",
        "Command: `python benchmarks/bench_bf16.py"
        + f" --repeats {args.repeats}`. torch {torch.__version__},"
        + f" {platform.processor() or platform.machine()}, one thread; CPU"
        + " microseconds per forward and backward pass of the 5 x 100 trunk's"
        + " products (ReLU), median over repeats.",
        "",
        "| networks | batch | float32 us | bfloat16 us | speed-up |",
        "|---:|---:|---:|---:|---:|",
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
