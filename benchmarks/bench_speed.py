"""Speed of MDNRegressor against the floor: a bare torch MSE loop on the same trunk.

One command measures, in one run on this machine:

1. time per gradient step of ``MDNRegressor`` (its default 5x100 trunk, K=5,
   batch 200, no early stopping) against the same trunk trained with MSE by
   a bare torch loop over pre-made tensor batches (the floor; torch's default
   ``Adam`` and ``Adam(fused=True)``) and by skorch's ``NeuralNetRegressor``,
   for one target and for full covariance over three targets;
2. ``predict`` and ``predict_interval`` throughput in rows per second;
3. peak memory growth when predicting 1,000,000 rows, each measured in a
   fresh subprocess so that its peak is its own;
4. fit time for 10^3, 10^4 and 10^5 rows, with a fixed number of epochs and
   with the defaults, and the exponent of its growth in the rows;
5. contention: wall time of a fit on torch's default threads, on one thread
   and with ``n_threads="auto"``, each beside one busy process that spins on
   a core (``--only contention`` runs this section alone); ``idle``: the
   same three with nothing else started, meaningful on an otherwise idle
   machine;
6. large: a default fit of 1,000,000 rows x 10 features in its own process
   (``bench_large.py``'s fit): CPU time, peak memory, held-out NLL against
   the truth's.

Usage::

    python benchmarks/bench_speed.py [--quick] [--device cpu|cuda]
        [--out benchmarks/results/speed.md]

``--device cuda`` runs the training steps and predictions on the GPU (CPU time
then measures the host's share only: read the wall times); it stops with a
message when CUDA is not available. ``benchmarks/bench_large.py`` also
compares the 1,000,000-row fit with one given three times its budget.

Timings of the training step are CPU time of the process (``time.process_time``)
by default, with torch limited to one thread: on a machine shared with other
work, wall time mostly measures the other work, while CPU time of a
single-threaded process is what the step itself costs. Wall times are reported
alongside. Every contender is measured in turn within each repeat (the order
rotates), and the table gives medians over repeats.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import skorch
import torch
from torch import nn

import sklearn_mdn
from sklearn_mdn import MDNRegressor
from sklearn_mdn._nn._module import ACTIVATIONS

N_FEATURES = 20
HIDDEN = (100, 100, 100, 100, 100)
# The default activation of the trunk, shared by the floor.
ACTIVATION = MDNRegressor().activation
BATCH = 200
DEVICE = "cpu"  # set by --device
SECTIONS = ("steps", "predict", "memory", "scaling", "contention", "idle", "large")
# Torch's own thread count, read before main() sets --threads.
TORCH_DEFAULT_THREADS = torch.get_num_threads()


def check_device(name):
    """``name`` if this machine has that torch device, else exit with a message."""
    if name not in ("cpu", "cuda"):
        sys.exit(f"--device {name!r}: use 'cpu' or 'cuda'")
    if name == "cuda" and not torch.cuda.is_available():
        sys.exit(
            "--device cuda: CUDA is not available on this machine (torch "
            f"{torch.__version__}, built "
            + ("with" if torch.backends.cuda.is_built() else "without")
            + " CUDA); run with --device cpu"
        )
    return name


def sync():
    """Wait for the device's queued work, so that the clocks read it."""
    if DEVICE == "cuda":
        torch.cuda.synchronize()


# ---------------------------------------------------------------------- data
def make_data(n, d, seed=0):
    """Inputs of ``N_FEATURES`` columns and ``d`` noisy, correlated targets."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, N_FEATURES))
    W = rng.normal(size=(N_FEATURES, d)) / np.sqrt(N_FEATURES)
    y = np.tanh(X @ W) + 0.3 * rng.normal(size=(n, d)) * (1 + np.abs(X[:, :1]))
    return X, (y[:, 0] if d == 1 else y)


def trunk(d):
    """The MLP trunk of the default MDNRegressor, with a linear layer to ``d``."""
    layers, width = [], N_FEATURES
    for size in HIDDEN:
        layers += [nn.Linear(width, size), ACTIVATIONS[ACTIVATION]()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, d))


class Trunk(nn.Module):
    """:func:`trunk` as a module class, for skorch to instantiate."""

    def __init__(self, d=1):
        super().__init__()
        self.net = trunk(d)

    def forward(self, X):
        return self.net(X)


class Clock:
    """CPU time of the process and wall time, read together."""

    def __init__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def since(self):
        sync()
        return time.process_time() - self.cpu, time.perf_counter() - self.wall


# ------------------------------------------------------------ step contenders
class TransposedTrunk(nn.Module):
    """:func:`trunk` evaluated as ``W @ h + b``, the batch as the last dimension.

    The layout of MDNRegressor's training pass, for a reference MSE loop
    that shares it.
    """

    def __init__(self, d=1):
        super().__init__()
        self.net = trunk(d)

    def forward(self, X):
        h, layers = X.t(), iter(self.net)
        for linear, activation in zip(layers, layers):
            h = activation(torch.addmm(linear.bias.unsqueeze(1), linear.weight, h))
        last = self.net[-1]
        return torch.addmm(last.bias.unsqueeze(1), last.weight, h).t()


class BareLoop:
    """The floor: MSE on the trunk, a bare loop over pre-made tensor batches."""

    def __init__(self, X, y, fused, transposed=False, batch=BATCH):
        y = y.reshape(len(y), -1)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.model = (TransposedTrunk if transposed else trunk)(y.shape[1])
        self.model.to(DEVICE)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, fused=fused)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=DEVICE)
        yt = torch.as_tensor(y, dtype=torch.float32, device=DEVICE)
        self.batches = [
            (Xt[i : i + batch], yt[i : i + batch]) for i in range(0, len(Xt), batch)
        ]
        self.epoch()  # warm-up: the first step initialises Adam's state

    def epoch(self):
        model, opt, loss_fn = self.model, self.opt, nn.functional.mse_loss
        for xb, yb in self.batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    def time_steps(self, epochs):
        clock = Clock()
        for _ in range(epochs):
            self.epoch()
        return (*clock.since(), epochs * len(self.batches))


class FitDifference:
    """Steps timed as the difference of a ``1 + epochs`` and a 1-epoch fit.

    Subtracting the 1-epoch fit removes what a fit costs besides its steps
    (validation, standardisation, building the net, the first epoch's
    allocations), so only the training loop is timed.
    """

    def __init__(self, make, X, y):
        self.make, self.X, self.y = make, X, y
        self.fit(1)  # warm-up: imports done by the first fit and optimizer

    def fit(self, epochs):
        est = self.make(epochs)
        clock = Clock()
        est.fit(self.X, self.y)
        cpu, wall = clock.since()
        return cpu, wall, self.n_steps(est)

    def time_steps(self, epochs):
        cpu0, wall0, steps0 = self.fit(1)
        cpu1, wall1, steps1 = self.fit(1 + epochs)
        return cpu1 - cpu0, wall1 - wall0, steps1 - steps0

    @staticmethod
    def n_steps(est):
        if hasattr(est, "n_steps_"):
            return est.n_steps_
        return int(sum(est.history[:, "train_batch_count"]))


def make_mdn(batch=BATCH):
    def make(epochs):
        return MDNRegressor(
            batch_size=batch,
            early_stopping=False,
            max_iter=epochs,
            random_state=0,
            device=DEVICE,
        )

    return make


def make_skorch(d, batch=BATCH):
    from skorch import NeuralNetRegressor

    def make(epochs):
        return NeuralNetRegressor(
            Trunk,
            module__d=d,
            criterion=nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            batch_size=batch,
            max_epochs=epochs,
            iterator_train__shuffle=True,
            train_split=None,
            verbose=0,
            device=DEVICE,
        )

    return make


class SkorchFit(FitDifference):
    """skorch wants float32 arrays and a 2-D target."""

    def __init__(self, make, X, y):
        y = y.reshape(len(y), -1)
        super().__init__(make, X.astype(np.float32), y.astype(np.float32))


def bench_steps(n_rows, epochs, repeats, batch=BATCH):
    rows = []
    # About as many steps per contender and repeat whatever the batch size.
    epochs = max(1, round(epochs * batch / BATCH))
    for d in (1, 3):
        X, y = make_data(n_rows, d)
        contenders = {
            "floor: bare torch loop, MSE, Adam()": BareLoop(
                X, y, fused=False, batch=batch
            ),
            "bare torch loop, MSE, Adam(fused=True)": BareLoop(
                X, y, fused=True, batch=batch
            ),
            "bare torch loop, MSE, Adam(fused=True), transposed layout": BareLoop(
                X, y, fused=True, transposed=True, batch=batch
            ),
            "skorch NeuralNetRegressor, MSE": SkorchFit(make_skorch(d, batch), X, y),
            "MDNRegressor": FitDifference(make_mdn(batch), X, y),
        }
        names = list(contenders)
        times = {name: [] for name in names}
        for r in range(repeats):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                cpu, wall, steps = contenders[name].time_steps(epochs)
                times[name].append((cpu / steps, wall / steps))
        floor = np.median([t[0] for t in times[names[0]]])
        floor_wall = np.median([t[1] for t in times[names[0]]])
        for name in names:
            cpu = np.median([t[0] for t in times[name]])
            wall = np.median([t[1] for t in times[name]])
            spread = np.percentile([t[0] for t in times[name]], [25, 75])
            rows.append(
                {
                    "batch": batch,
                    "targets": "1" if d == 1 else "3, full covariance",
                    "contender": name,
                    "cpu_us": 1e6 * cpu,
                    "iqr_us": 1e6 * (spread[1] - spread[0]),
                    "ratio": cpu / floor,
                    "wall_us": 1e6 * wall,
                    "wall_ratio": wall / floor_wall,
                }
            )
            print(
                f"  batch {batch} d={d} {name}: {1e6 * cpu:.0f} us/step "
                f"({cpu / floor:.2f}x)"
            )
    return rows


# ---------------------------------------------------------------- prediction
def fit_small(d, n=2000, epochs=2):
    X, y = make_data(n, d)
    return MDNRegressor(
        early_stopping=False, max_iter=epochs, random_state=0, device=DEVICE
    ).fit(X, y)


def bench_predict(n_rows, repeats):
    rows = []
    for d in (1, 3):
        est = fit_small(d)
        X, _ = make_data(n_rows, d, seed=1)
        est.predict(X[:1000])
        methods = ("predict", "predict_interval")
        cpus, walls = {m: [] for m in methods}, {m: [] for m in methods}
        for i in range(repeats):  # the methods alternate, in rotating order
            for method in methods[i % 2 :] + methods[: i % 2]:
                clock = Clock()
                getattr(est, method)(X)
                cpu, wall = clock.since()
                cpus[method].append(cpu)
                walls[method].append(wall)
        for method in methods:
            rows.append(
                {
                    "targets": "1" if d == 1 else "3, full covariance",
                    "method": method,
                    "rows": n_rows,
                    "repeats": repeats,
                    "rows_per_s_cpu": n_rows / np.median(cpus[method]),
                    "rows_per_s_wall": n_rows / np.median(walls[method]),
                }
            )
            print(f"  d={d} {method}: {rows[-1]['rows_per_s_cpu']:,.0f} rows/s (CPU)")
    return rows


_MEMORY_CHILD = """
import json, re, resource, sys, time, tracemalloc
import joblib, numpy as np, torch
torch.set_num_threads({threads})


def status(key):
    with open("/proc/self/status") as f:
        return 1024 * int(re.search(key + r":\\s+(\\d+)", f.read()).group(1))


est = joblib.load({path!r})
rng = np.random.RandomState(2)
X = rng.normal(size=({n_rows}, est.n_features_in_))
getattr(est, {method!r})(X[:100])  # warm-up: lazy imports, first allocations
rss0 = status("VmRSS")
try:  # reset the high-water mark (VmHWM) to the current RSS (Linux)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    hwm0, how = status("VmHWM"), "VmHWM"
except OSError:
    hwm0, how = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "maxrss"
tracemalloc.start()
start = time.perf_counter()
out = getattr(est, {method!r})(X)
wall = time.perf_counter() - start
numpy_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
hwm1 = (
    status("VmHWM")
    if how == "VmHWM"
    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
)
print(json.dumps({{"rss_growth": hwm1 - max(hwm0, rss0), "numpy_peak": numpy_peak,
                   "output": out.nbytes, "input": X.nbytes, "wall": wall,
                   "how": how}}))
"""


def bench_memory(n_rows, threads):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in (1, 3):
            import joblib

            path = os.path.join(tmp, f"mdn{d}.joblib")
            joblib.dump(fit_small(d), path)
            for method in ("predict", "predict_interval"):
                code = _MEMORY_CHILD.format(
                    threads=threads, path=path, n_rows=n_rows, method=method
                )
                proc = subprocess.run(
                    [sys.executable, "-c", code],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                result.update(
                    targets="1" if d == 1 else "3, full covariance",
                    method=method,
                    rows=n_rows,
                )
                rows.append(result)
                print(
                    f"  d={d} {method}: peak RSS growth "
                    f"{result['rss_growth'] / 2**20:.0f} MiB"
                )
    return rows


# ------------------------------------------------------------------- scaling
def bench_scaling(sizes, epochs):
    rows = []
    for n in sizes:
        X, y = make_data(n, 1, seed=3)
        for setting, est in (
            (
                f"{epochs} epochs",
                MDNRegressor(early_stopping=False, max_iter=epochs, random_state=0),
            ),
            ("defaults", MDNRegressor(random_state=0)),
        ):
            clock = Clock()
            est.fit(X, y)
            cpu, wall = clock.since()
            rows.append(
                {
                    "setting": setting,
                    "rows": n,
                    "cpu_s": cpu,
                    "wall_s": wall,
                    "epochs": est.n_iter_,
                    "steps": est.n_steps_,
                }
            )
            print(f"  n={n} {setting}: {cpu:.2f} s CPU, {est.n_steps_} steps")
    return rows


def growth_exponent(rows, setting, key="cpu_s"):
    """Least-squares slope of log(time) on log(rows)."""
    pts = [(r["rows"], r[key]) for r in rows if r["setting"] == setting]
    x, t = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, t, 1)[0])


# ---------------------------------------------------------------- contention
def _spin():
    """A busy process: pure Python, one core, until terminated."""
    x = 0
    while True:
        x += 1


CONTENTION_SETTINGS = {
    "torch's default threads (n_threads=None)": None,
    "one thread (n_threads=1)": 1,
    'n_threads="auto"': "auto",
}


def bench_contention(n_rows, epochs, repeats, batches=(BATCH, 2000), busy=True):
    """Wall time of fits beside one process that keeps a core busy (``busy``),
    or on the machine as it is (``busy=False``: the idle case when nothing
    else runs).

    Torch runs on its own default thread count (``TORCH_DEFAULT_THREADS``)
    in this section, so that ``n_threads=None`` means what it means for a
    user who has not called ``torch.set_num_threads``.
    """
    import multiprocessing

    X, y = make_data(n_rows, 1, seed=4)
    spinner = None
    if busy:
        methods = multiprocessing.get_all_start_methods()
        start = "fork" if "fork" in methods else "spawn"
        spinner = multiprocessing.get_context(start).Process(target=_spin, daemon=True)
    saved = torch.get_num_threads()
    torch.set_num_threads(TORCH_DEFAULT_THREADS)
    if spinner:
        spinner.start()
    rows = []
    try:
        if spinner:
            time.sleep(0.5)  # let the spinner reach the run queue
        for batch in batches:
            names = list(CONTENTION_SETTINGS)
            walls = {name: [] for name in names}
            for r in range(repeats):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    est = MDNRegressor(
                        batch_size=batch,
                        early_stopping=False,
                        max_iter=epochs,
                        random_state=0,
                        n_threads=CONTENTION_SETTINGS[name],
                        device=DEVICE,
                    )
                    clock = Clock()
                    est.fit(X, y)
                    walls[name].append(clock.since()[1] / est.n_steps_)
            one = np.median(walls["one thread (n_threads=1)"])
            for name in names:
                wall = np.median(walls[name])
                rows.append(
                    {
                        "batch": batch,
                        "setting": name,
                        "wall_us": 1e6 * wall,
                        "ratio": wall / one,
                        "busy": busy,
                    }
                )
                print(
                    f"  batch {batch} {name}: {1e6 * wall:.0f} us/step wall "
                    f"({wall / one:.2f}x one thread)"
                )
    finally:
        if spinner:
            spinner.terminate()
            spinner.join()
        torch.set_num_threads(saved)
    return rows


def contention_report(rows, n_rows):
    out = []
    busy = [r for r in rows if r["busy"]]
    idle = [r for r in rows if not r["busy"]]
    if busy:
        out += _threads_table(busy, n_rows, busy=True)
    if idle:
        out += _threads_table(idle, n_rows, busy=False)
        out += [
            "Target of issue 12 (idle): the default no more than 5% slower than "
            "the better of one thread and torch's default threads:",
            "",
        ]
        for batch in dict.fromkeys(r["batch"] for r in idle):
            wall = {r["setting"]: r["wall_us"] for r in idle if r["batch"] == batch}
            best = min(wall[name] for name in wall if name != 'n_threads="auto"')
            ratio = wall['n_threads="auto"'] / best
            met = "met" if ratio <= 1.05 else "**not met**"
            out.append(f"- batch {batch}: {ratio:.2f}x the better of the two: {met}.")
        out.append("")
    return out


def _threads_table(rows, n_rows, busy):
    out = [
        "## Fits beside a busy process" if busy else "## Fits on an idle machine",
        "",
        f"{n_rows:,} rows, one target, MDNRegressor with `early_stopping=False` "
        "and a fixed number of epochs, "
        + (
            "while another process spins on one core (a pure-Python loop). "
            if busy
            else "with nothing else started (see the load average above). "
        )
        + "Torch's default thread count here: "
        f"{TORCH_DEFAULT_THREADS} on {os.cpu_count()} cores. Wall time per "
        "gradient step (median over repeats, settings in rotating order), and "
        "its ratio to the one-thread fit.",
        "",
        "| batch | n_threads | wall us/step | x one thread |",
        "|---:|---|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['batch']} | {r['setting']} | {r['wall_us']:.0f} | "
            f"**{r['ratio']:.2f}** |"
        )
    out.append("")
    return out


# --------------------------------------------------------------------- large
def bench_large(rows):
    """The default fit of ``rows`` rows of ``bench_large.py``, in its own process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_large import run_fit

    run = run_fit(rows, {})
    print(
        f"  {rows:,} rows: {run['cpu_s']:.0f} s CPU, peak RSS "
        f"{run['maxrss_bytes'] / 2**20:.0f} MiB, NLL {run['nll']:.4f}"
    )
    return {"rows": rows, **run}


def large_report(run):
    cpu, rss = run["cpu_s"], run["maxrss_bytes"]
    return [
        f"## A default fit of {run['rows']:,} rows",
        "",
        f"`MDNRegressor()` on {run['rows']:,} rows of 10 features "
        "(`bench_large.py`'s smooth heteroscedastic truth), in its own process: "
        "CPU time of all its threads, peak RSS of the process (data included), "
        "NLL on 100,000 fresh rows. `bench_large.py --factor 3` compares it "
        "with a fit given three times the budget.",
        "",
        "| epochs | steps | CPU (s) | wall (s) | peak RSS (MiB) | NLL | truth's NLL |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {run.get('n_iter_', '?')} | {run.get('n_steps_', '?')} | {cpu:.0f} | "
        f"{run['wall_s']:.0f} | {rss / 2**20:.0f} | {run['nll']:.4f} | "
        f"{run['true_nll']:.4f} |",
        "",
    ] + (
        [
            f"Targets of issue 12: CPU {cpu:.0f} s (<= 180 s): "
            + ("met" if cpu <= 180 else "**not met**")
            + f"; peak RSS {rss / 1e9:.2f} GB (< 2 GB): "
            + ("met" if rss < 2e9 else "**not met**")
            + ".",
            "",
        ]
        if run["rows"] == 1_000_000
        else []
    )


# -------------------------------------------------------------------- report
def report(
    args, meta, steps, predict, memory, scaling, contention, large=None, plot=None
):
    out = [
        "# Speed of sklearn-mdn",
        "",
        f"Command: `{meta['command']}`, at {meta['revision']}.",
        "",
        f"Machine: {meta['machine']}. {meta['versions']}. Torch threads: "
        f"{args.threads}. Load average (1 min) at start {meta['load0']:.1f}, at end "
        f"{meta['load1']:.1f}, on {os.cpu_count()} cores"
        + (
            ": **the machine was shared with other work during this run**"
            if max(meta["load0"], meta["load1"]) > 1.5
            else ""
        )
        + ". Times "
        "are CPU time of this process (`time.process_time`, single-threaded "
        "torch), which other work inflates far less than wall time; wall times "
        "are given alongside. Medians over repeats; every contender runs once per "
        "repeat, in rotating order.",
        "",
    ]
    if steps:
        out += _steps_report(args, meta, steps)
    if predict:
        out += _predict_report(predict)
    if memory:
        out += _memory_report(memory)
    if scaling:
        out += _scaling_report(scaling)
    if contention:
        out += contention_report(contention, meta["contention_rows"])
    if large:
        out += large_report(large)
    if plot is not None:
        out += [f"![speed]({plot})", ""]
    return "\n".join(out)


def _steps_report(args, meta, steps):
    out = [
        "## Time per gradient step",
        "",
        f"{meta['step_rows']:,} rows, {N_FEATURES} features, "
        f"trunk {len(HIDDEN)}x{HIDDEN[0]} {ACTIVATION}; about {args.epochs} epochs of "
        f"batch {BATCH} ({args.epochs * meta['step_rows'] // BATCH} steps) per "
        f"contender and repeat, {args.repeats} repeats. Batch {BATCH} is the "
        "measure of issue 4; smaller batches, where per-step overheads weigh "
        "more, follow. The floor is the trunk plus a linear layer "
        "to the targets, trained with MSE by a bare torch loop over pre-made "
        "tensor batches with torch's default `Adam`. skorch's `NeuralNetRegressor` "
        "runs the same trunk with MSE, `Adam(lr=1e-3)`, its own DataLoader "
        "(shuffled) and `train_split=None`. `MDNRegressor` runs its defaults "
        "(K=5 components, full covariance, fused Adam with weight decay) with "
        "the batch size of the row and `early_stopping=False`. skorch and "
        "MDNRegressor steps are timed as the difference between a `1 + epochs` "
        "and a 1-epoch fit, which leaves out what a fit costs besides its steps.",
        "",
        "| batch | targets | contender | CPU us/step | IQR | x floor | wall us/step "
        "| x floor (wall) |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in steps:
        out.append(
            f"| {r['batch']} | {r['targets']} | {r['contender']} | "
            f"{r['cpu_us']:.0f} | {r['iqr_us']:.0f} | **{r['ratio']:.2f}** | "
            f"{r['wall_us']:.0f} | {r['wall_ratio']:.2f} |"
        )
    out += ["", f"Targets of issues 4 and 12 (batch {BATCH}):", ""]
    ratio = {
        (r["targets"], r["contender"]): r["ratio"] for r in steps if r["batch"] == BATCH
    }
    for targets, limit4, limit12 in (
        ("1", 1.0, 0.85),
        ("3, full covariance", 1.3, 0.95),
    ):
        if (targets, "MDNRegressor") not in ratio:
            continue
        mdn = ratio[(targets, "MDNRegressor")]
        skorch_ratio = ratio[(targets, "skorch NeuralNetRegressor, MSE")]
        verdict4 = "met" if mdn <= limit4 and mdn < skorch_ratio else "**not met**"
        verdict12 = "met" if mdn <= limit12 else "**not met**"
        out.append(
            f"- {targets} target(s): MDNRegressor at {mdn:.2f}x the floor "
            f"and {mdn / skorch_ratio:.2f}x skorch's NeuralNetRegressor; issue 4 "
            f"(<= {limit4}x and < 1): {verdict4}; issue 12 (<= {limit12}x): "
            f"{verdict12}."
        )
    out += [
        "",
        "MDNRegressor's training pass carries the activations transposed "
        "(`W @ h + b`, the batch as the last dimension of every product), which "
        "is faster on this CPU; the floor is the plain `nn.Sequential` loop the "
        "issue defines. The row *transposed layout* runs the floor's MSE loop "
        "in MDNRegressor's layout: the gap between it and MDNRegressor is what "
        "the mixture likelihood, weight decay, shuffling and skorch still cost.",
        "",
    ]
    return out


def _predict_report(predict):
    out = [
        "## Prediction throughput",
        "",
        f"Rows per second on {predict[0]['rows']:,} rows (a model fitted for 2 "
        "epochs; the network's cost does not depend on training); medians of "
        f"{predict[0]['repeats']} calls per method, the two methods alternating.",
        "",
        "| targets | method | rows/s (CPU) | rows/s (wall) |",
        "|---|---|---:|---:|",
    ]
    for r in predict:
        out.append(
            f"| {r['targets']} | `{r['method']}` | {r['rows_per_s_cpu']:,.0f} | "
            f"{r['rows_per_s_wall']:,.0f} |"
        )
    speed = {(r["targets"], r["method"]): r["rows_per_s_cpu"] for r in predict}
    out += [
        "",
        "Target of issue 12: `predict_interval` at >= 0.7x the rows/s of "
        "`predict` (CPU):",
        "",
    ]
    for targets in dict.fromkeys(r["targets"] for r in predict):
        share = speed[targets, "predict_interval"] / speed[targets, "predict"]
        verdict = "met" if share >= 0.7 else "**not met**"
        out.append(f"- {targets} target(s): {share:.2f}x: {verdict}.")
    out.append("")
    return out


def _memory_report(memory):
    out = [
        "## Peak memory when predicting",
        "",
        f"{memory[0]['rows']:,} rows ({memory[0]['input'] / 2**20:.0f} MiB of "
        "float64 input, allocated before measuring), each call in a fresh "
        "subprocess: growth of the peak resident set size over the call (the "
        "high-water mark `VmHWM`, reset just before the call through "
        "`/proc/self/clear_refs`), and the peak of numpy's allocations traced by "
        "`tracemalloc`. Both include the returned array; the wall time is taken "
        "with tracing on.",
        "",
        "| targets | method | peak RSS growth (MiB) | numpy peak (MiB) "
        "| output (MiB) | wall (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in memory:
        out.append(
            f"| {r['targets']} | `{r['method']}` | {r['rss_growth'] / 2**20:.0f} | "
            f"{r['numpy_peak'] / 2**20:.0f} | {r['output'] / 2**20:.0f} | "
            f"{r['wall']:.1f} |"
        )
    out.append("")
    return out


def _scaling_report(scaling):
    out = [
        "## Fit time against rows",
        "",
        "One target, 20 features, one fit each (CPU seconds). The growth exponent "
        "is the least-squares slope of log(time) on log(rows); 1 is linear. With "
        "the defaults, training stops when the held-out likelihood has stopped "
        "improving through two learning-rate reductions; `max_iter='auto'` only "
        "caps it at 30,000 steps (20 to 2,000 epochs), and `batch_size='auto'` "
        "grows with the rows, so the steps grow more slowly than the rows.",
        "",
        "| setting | rows | epochs | steps | CPU (s) | wall (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in scaling:
        out.append(
            f"| {r['setting']} | {r['rows']:,} | {r['epochs']} | {r['steps']:,} | "
            f"{r['cpu_s']:.2f} | {r['wall_s']:.2f} |"
        )
    out.append("")
    for setting in dict.fromkeys(r["setting"] for r in scaling):
        out.append(
            f"- growth exponent, {setting}: "
            f"**{growth_exponent(scaling, setting):.2f}** (CPU), "
            f"{growth_exponent(scaling, setting, 'wall_s'):.2f} (wall)"
        )
    out.append("")
    return out


def make_plot(path, steps, scaling):
    """Time per step by contender, and fit time against rows (log-log)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    series = list(dict.fromkeys((r["batch"], r["targets"]) for r in steps))
    names = list(dict.fromkeys(r["contender"] for r in steps))
    width = 0.8 / len(series)
    ratio = {(r["batch"], r["targets"], r["contender"]): r["ratio"] for r in steps}
    for i, (batch, targets) in enumerate(series):
        ax1.barh(
            np.arange(len(names)) + i * width,
            [ratio[batch, targets, name] for name in names],
            width,
            label=f"batch {batch}, {targets} target(s)",
        )
    ax1.axvline(1.0, color="k", lw=0.8)
    labels = [textwrap.fill(name, 30) for name in names]
    ax1.set_yticks(np.arange(len(names)) + 0.4 - width / 2, labels, fontsize=7)
    ax1.invert_yaxis()
    ax1.set_xlabel("time per gradient step / floor at the same batch (CPU time)")
    ax1.legend(fontsize=7, loc="upper right")
    for setting in dict.fromkeys(r["setting"] for r in scaling):
        pts = [(r["rows"], r["cpu_s"]) for r in scaling if r["setting"] == setting]
        ax2.loglog(*zip(*pts), "o-", label=setting)
    ax2.set_xlabel("training rows")
    ax2.set_ylabel("fit time (CPU s)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _revision():
    """The git commit of the package, with the files changed since, if any."""
    root = Path(sklearn_mdn.__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True
        ).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    if not commit:
        return "an unknown revision"
    changed = git("status", "--porcelain", "--untracked-files=no", "sklearn_mdn")
    changed = [line[3:] for line in changed.splitlines()]
    return f"commit {commit}" + (
        f" with uncommitted changes to {', '.join(changed)}" if changed else ""
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, for a smoke test"
    )
    parser.add_argument(
        "--out", default="benchmarks/results/speed.md", help="Markdown output"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1)"
    )
    parser.add_argument(
        "--batches",
        type=lambda text: [int(b) for b in text.split(",")],
        default=[BATCH, 32],
        help="batch sizes of the time-per-step table, comma-separated "
        f"(default {BATCH},32; the first is the measure of issue 4)",
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--device",
        default="cpu",
        help="torch device of the fits and predictions: cpu (default) or cuda",
    )
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        default=list(SECTIONS),
        help=f"sections to run, comma-separated (default all: {','.join(SECTIONS)})",
    )
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = check_device(args.device)
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    quick = args.quick
    args.repeats = args.repeats or (2 if quick else 9)
    args.epochs = args.epochs or (1 if quick else 5)
    step_rows = 2_000 if quick else 20_000
    predict_rows = 10_000 if quick else 100_000
    memory_rows = 100_000 if quick else 1_000_000
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    meta = {
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}",
        "versions": f"torch {torch.__version__}, skorch {skorch.__version__}, "
        f"scikit-learn {sklearn.__version__}, sklearn-mdn {sklearn_mdn.__version__}",
        "load0": os.getloadavg()[0],
        "revision": _revision(),
        "step_rows": step_rows,
    }
    meta["contention_rows"] = contention_rows = step_rows
    steps = predict = memory = scaling = contention = []
    large = None
    if "steps" in args.only:
        print("time per gradient step")
        steps = [
            row
            for batch in args.batches
            for row in bench_steps(step_rows, args.epochs, args.repeats, batch)
        ]
    if "predict" in args.only:
        print("prediction throughput")
        predict = bench_predict(predict_rows, 3 if quick else 9)
    if "memory" in args.only:
        print("peak memory of prediction")
        memory = bench_memory(memory_rows, args.threads)
    if "scaling" in args.only:
        print("fit time against rows")
        scaling = bench_scaling(sizes, 2 if quick else 5)
    if "contention" in args.only:
        print("fits beside a busy process")
        contention = bench_contention(
            contention_rows, 1 if quick else 2, 2 if quick else 3
        )
    if "idle" in args.only:
        print("fits on an idle machine")
        contention = contention + bench_contention(
            contention_rows, 1 if quick else 2, 2 if quick else 3, busy=False
        )
    if "large" in args.only:
        print("a default fit of a million rows")
        large = bench_large(100_000 if quick else 1_000_000)
    meta["load1"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot = None
    if steps and scaling:
        plot = make_plot(out.with_suffix(".png"), steps, scaling)
    text = report(
        args,
        meta,
        steps,
        predict,
        memory,
        scaling,
        contention,
        large,
        plot and Path(plot).name,
    )
    print(text)
    out.write_text(text)
    print(f"written to {out}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"(benchmark process peak RSS {maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
