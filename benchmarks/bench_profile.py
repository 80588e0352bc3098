"""Where the time of a training step goes: MDNRegressor's step against the floor's.

The training step of ``bench_speed.py`` (default trunk, batch 200, one
thread), taken apart:

1. each part of MDNRegressor's step timed on its own, over the same
   batches: the forward pass, the mixture likelihood with its closed-form
   gradient, the backward pass by hand, Adam, and the rest of a fit's step
   (the epoch loop, batching, callbacks: a fit's step time minus the parts);
2. the same parts of the floor (bare torch loop, MSE, torch's default Adam);
3. the torch profiler's operators over a fit, by self CPU time.

Usage::

    python benchmarks/bench_profile.py [--targets 1,3]
        [--out benchmarks/results/profile.md]

CPU time of the process (``time.process_time``), medians over repeats.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import (  # noqa: E402
    ACTIVATION,
    BATCH,
    BareLoop,
    FitDifference,
    _revision,
    make_data,
    make_mdn,
)

from sklearn_mdn import MDNRegressor  # noqa: E402
from sklearn_mdn._nn._fused_loss import (  # noqa: E402
    _nll_and_grad,
    adam_step,
    fused_step,
)


def per_step(fn, batches, repeats):
    """Median CPU microseconds of ``fn(X, y)`` over one pass of ``batches``."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        for xb, yb in batches:
            fn(xb, yb)
        times.append((time.process_time() - start) / len(batches) * 1e6)
    return float(np.median(times))


def mdn_parts(X, y, repeats):
    """MDNRegressor's step, part by part (microseconds per step)."""
    est = MDNRegressor(
        batch_size=BATCH, early_stopping=False, max_iter=1, random_state=0
    ).fit(X, y)
    net = est.net_
    module, optimizer = net.module_, net.optimizer_
    Xs = torch.as_tensor((X - est.x_mean_) / est.x_scale_, dtype=torch.float32)
    ys = (y.reshape(len(y), -1) - est.y_mean_) / est.y_scale_
    ys = torch.as_tensor(ys, dtype=torch.float32)
    batches = [(Xs[i : i + BATCH], ys[i : i + BATCH]) for i in range(0, len(Xs), BATCH)]
    with torch.no_grad():
        heads = [module.forward_t(xb) for xb, _ in batches]
    head_of = {id(xb): h for (xb, _), h in zip(batches, heads)}

    def forward(xb, yb):
        with torch.no_grad():
            module.forward_t(xb)

    def likelihood(xb, yb):
        blocks = module.split_head(head_of[id(xb)], dim=0)
        _nll_and_grad(blocks, yb, None, module.min_scale, module.full, True)

    parts = {
        "forward pass (5 linear layers + activations, head)": per_step(
            forward, batches, repeats
        ),
        "mixture likelihood and its gradient": per_step(likelihood, batches, repeats),
    }
    gradient = per_step(lambda xb, yb: fused_step(module, xb, yb), batches, repeats)
    parts["backward pass by hand"] = (
        gradient - parts["forward pass (5 linear layers + activations, head)"]
    ) - parts["mixture likelihood and its gradient"]
    parts["Adam (fused kernel)"] = per_step(
        lambda xb, yb: adam_step(optimizer), batches, repeats
    )
    return parts


def floor_parts(X, y, repeats):
    """The floor's step, part by part (microseconds per step)."""
    loop = BareLoop(X, y, fused=False)
    model, opt = loop.model, loop.opt
    loss_fn = nn.functional.mse_loss

    def forward(xb, yb):
        return loss_fn(model(xb), yb)

    def forward_backward(xb, yb):
        opt.zero_grad()
        forward(xb, yb).backward()

    parts = {"forward pass and MSE": per_step(forward, loop.batches, repeats)}
    both = per_step(forward_backward, loop.batches, repeats)
    parts["zero_grad, backward pass (autograd)"] = both - parts["forward pass and MSE"]
    parts["Adam (torch default, foreach)"] = per_step(
        lambda xb, yb: opt.step(), loop.batches, repeats
    )
    return parts


def step_totals(X, y, repeats):
    """Whole steps of a fit and of the floor, alternating (microseconds)."""
    fit, loop = FitDifference(make_mdn(), X, y), BareLoop(X, y, fused=False)
    mdn, floor = [], []
    for _ in range(repeats):
        cpu, _, n = fit.time_steps(3)
        mdn.append(cpu / n * 1e6)
        cpu, _, n = loop.time_steps(3)
        floor.append(cpu / n * 1e6)
    return float(np.median(mdn)), float(np.median(floor))


def top_operators(X, y, rows):
    """The torch profiler's operators over a 2-epoch fit, by self CPU time."""
    make = make_mdn()
    make(1).fit(X, y)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        make(2).fit(X, y)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [
        (e.key, e.count, e.self_cpu_time_total / 1e3, e.self_cpu_time_total / total)
        for e in events[:rows]
    ]


def parts_table(title, parts, total, rest):
    parts = {**parts, rest: total - sum(parts.values())}
    lines = [
        f"**{title}**: {total:.0f} us per step.",
        "",
        "| part | CPU us/step | share |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {v:.0f} | {v / total:.0%} |" for k, v in parts.items()]
    return lines


def section(targets, repeats):
    X, y = make_data(20_000, targets)
    mdn, floor = mdn_parts(X, y, repeats), floor_parts(X, y, repeats)
    mdn_total, floor_total = step_totals(X, y, repeats)
    rest = "the rest: {}, and what the parts cost together beyond their sum"
    return [
        f"## {targets} target(s)" + (", full covariance" if targets > 1 else ""),
        "",
        *parts_table(
            "MDNRegressor",
            mdn,
            mdn_total,
            rest.format("the epoch loop, batching, callbacks"),
        ),
        "",
        *parts_table(
            "Floor: bare torch loop, MSE, Adam()",
            floor,
            floor_total,
            rest.format("the loop"),
        ),
        "",
        f"MDNRegressor's step is **{mdn_total / floor_total:.2f}x** the floor's "
        "(the two timed alternately, as whole steps).",
        "",
        "Operators of a 2-epoch fit (torch profiler, self CPU time; the "
        "profiler's own overhead inflates the small ones):",
        "",
        "| operator | calls | self CPU ms | share |",
        "|---|---:|---:|---:|",
        *(
            f"| `{k}` | {n} | {ms:.1f} | {s:.1%} |"
            for k, n, ms, s in top_operators(X, y, 12)
        ),
        "",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--targets",
        type=lambda text: [int(t) for t in text.split(",")],
        default=[1, 3],
        help="numbers of targets, comma-separated (default 1,3; full covariance)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/profile.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    lines = [
        "# Where the time of a training step goes",
        "",
        f"Command: `python {' '.join(sys.argv)}`, at {_revision()}; torch "
        f"{torch.__version__}, one thread, CPU time. 20,000 rows, 20 features, "
        f"the default {ACTIVATION} trunk, batch {BATCH}. Each part is timed on "
        f"its own over the same batches (medians of {args.repeats} passes); "
        "*the rest* is a whole step, timed in a fit, minus the parts.",
        "",
    ]
    for targets in args.targets:
        lines += section(targets, args.repeats)
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
