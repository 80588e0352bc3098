"""Command line: fit and apply an MDNRegressor on CSV files, or run a demo.

Run ``python -m sklearn_mdn --help`` (or ``sklearn-mdn --help``) for usage.
CSV files are read with the standard library's :mod:`csv` module, so pandas
is not needed.
"""

import argparse
import ast
import csv
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import __version__

# The dictionary saved by ``fit`` carries this marker, so that ``predict``
# recognises our files and rejects any other joblib or pickle file.
_FORMAT = "sklearn-mdn/model"
_FORMAT_VERSION = 1
# Cells read as a missing value.
_MISSING = {"", "na", "nan", "null", "none"}


class CLIError(Exception):
    """An error reported to the user as one line, with exit status 2."""


# ----------------------------------------------------------------- CSV files
def _read_csv(path):
    """Header and rows (lists of str) of a CSV file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f) if row]
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"{path}: is a directory, not a CSV file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CLIError(f"{path}: cannot read it as a CSV file ({exc})") from None
    if not rows:
        raise CLIError(f"{path}: the file is empty")
    header = [name.strip() for name in rows[0]]
    seen = set()
    for name in header:
        if name in seen:
            raise CLIError(f"{path}: the column name {name!r} appears twice")
        seen.add(name)
    body = rows[1:]
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise CLIError(
                f"{path}: line {i + 2} has {len(row)} fields, the header has "
                f"{len(header)}"
            )
    if not body:
        raise CLIError(f"{path}: the file has a header but no rows")
    return header, body


def _parse_float(cell):
    """Float value of a cell, NaN for a missing value, None if not a number."""
    text = cell.strip()
    if text.lower() in _MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _column(path, header, rows, name, *, allow_missing=False):
    """Column ``name`` of a CSV file as a float64 array, with clear errors."""
    if name not in header:
        raise CLIError(
            f"{path}: no column named {name!r} (columns: {', '.join(header)})"
        )
    j = header.index(name)
    values = np.empty(len(rows))
    for i, row in enumerate(rows):
        value = _parse_float(row[j])
        if value is None:
            raise CLIError(
                f"{path}: column {name!r} is not numeric: line {i + 2} holds "
                f"{row[j].strip()!r}"
            )
        if math.isnan(value) and not allow_missing:
            raise CLIError(
                f"{path}: column {name!r} has a missing value on line {i + 2}"
            )
        if math.isinf(value):
            raise CLIError(
                f"{path}: column {name!r} has an infinite value on line {i + 2}"
            )
        values[i] = value
    return values


def _first_text_cell(rows, j):
    """(line number, cell) of the first non-numeric cell of column j, or None."""
    for i, row in enumerate(rows):
        if _parse_float(row[j]) is None:
            return i + 2, row[j].strip()
    return None


def _is_text(rows, j):
    """Whether column j holds no number at all (an identifier, a label)."""
    values = [_parse_float(row[j]) for row in rows]
    return all(v is None or math.isnan(v) for v in values)


def _warn(message):
    print(f"sklearn-mdn: warning: {message}", file=sys.stderr)


def _write_csv(path, header, columns, float_format, blank_rows=()):
    """Write the columns; the rows in ``blank_rows`` get empty cells."""
    blank = set(blank_rows)

    def write(f):
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for i, row in enumerate(zip(*columns, strict=True)):
            if i in blank:
                writer.writerow([""] * len(row))
            else:
                writer.writerow([float_format % v for v in row])

    if path is None or path == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            write(f)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write the output ({exc.strerror})") from None


# ------------------------------------------------------------------- models
def _save_model(path, model):
    import joblib

    try:
        joblib.dump(model, path)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write the model ({exc.strerror})") from None


def _load_model(path):
    import joblib

    try:
        model = joblib.load(path)
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"{path}: is a directory, not a model file") from None
    except Exception:  # noqa: BLE001 - any unpickling failure means "not ours"
        model = None
    if not (isinstance(model, dict) and model.get("format") == _FORMAT):
        raise CLIError(
            f"{path}: not a model file saved by 'sklearn-mdn fit' "
            "(a joblib file of its model dictionary)"
        )
    if model.get("format_version", 0) > _FORMAT_VERSION:
        raise CLIError(
            f"{path}: saved by a newer sklearn-mdn (model format "
            f"{model['format_version']}); upgrade sklearn-mdn to read it"
        )
    return model


def _predict_arrays(model, X, coverage, n_samples, random_state):
    """Point estimates, intervals and samples of shape (n, d), (n, d, 2), (n, N, d).

    With ``--log-target`` the quantiles (so the interval bounds) and samples
    are mapped back through ``exp`` exactly.
    """
    from ._compose import predict_interval, sample

    estimator = model["estimator"]
    n = len(X)
    point = estimator.predict(X).reshape(n, -1)
    interval = predict_interval(estimator, X, coverage=coverage).reshape(n, -1, 2)
    samples = np.empty((n, 0, point.shape[1]))
    if n_samples:
        samples = sample(estimator, X, n_samples=n_samples, random_state=random_state)
        samples = samples.reshape(n, n_samples, -1)
    return point, interval, samples


def _predict_finite(model, X, coverage, n_samples, random_state):
    """Like :func:`_predict_arrays`, plus the indices of rows without a finite result.

    Inputs far outside the training data can drive the network's output, or
    ``exp`` of a log-scale target, past the float range. numpy's overflow
    warnings are silenced here (the caller reports the rows in one line), and
    when the estimator refuses a whole block because of such rows, the block
    is halved until the rows at fault are found, so the others are predicted.
    """
    n_targets = len(model["targets"])

    def predict(rows):
        try:
            return _predict_arrays(model, X[rows], coverage, n_samples, random_state)
        except (ValueError, FloatingPointError):
            if len(rows) == 1:
                shapes = [(n_targets,), (n_targets, 2), (n_samples, n_targets)]
                return tuple(np.full((1, *shape), np.nan) for shape in shapes)
            half = len(rows) // 2
            first, second = predict(rows[:half]), predict(rows[half:])
            return tuple(
                np.concatenate(pair) for pair in zip(first, second, strict=True)
            )

    from ._warnings import OutOfDomainWarning

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("always", OutOfDomainWarning)
            point, interval, samples = predict(np.arange(len(X)))
    # The first warning counts the rows of the whole file (halved blocks
    # warn again about their own rows).
    far = [w for w in caught if issubclass(w.category, OutOfDomainWarning)]
    if far:
        _warn(str(far[0].message))
    finite = (
        np.isfinite(point).all(axis=1)
        & np.isfinite(interval).all(axis=(1, 2))
        & np.isfinite(samples).all(axis=(1, 2))
    )
    return point, interval, samples, np.flatnonzero(~finite)


# ------------------------------------------------------- estimator defaults
def _estimator_defaults():
    """Defaults of ``MDNRegressor.__init__``, read from its source.

    The command line leaves every estimator option it is not given to the
    estimator (its argparse default is None), so it cannot disagree with it;
    this only lets ``fit --help`` show those defaults without importing torch
    (seconds). An empty dict if the source cannot be read (then the help says
    "the estimator's default").
    """
    try:
        source = Path(__file__).with_name("_regressor.py").read_text("utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == "MDNRegressor"):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                args = item.args
                positional = args.args[1:]
                pairs = list(
                    zip(
                        positional[len(positional) - len(args.defaults) :],
                        args.defaults,
                        strict=True,
                    )
                ) + [
                    (a, d)
                    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                    if d is not None
                ]
                defaults = {}
                for arg, default in pairs:
                    try:
                        defaults[arg.arg] = ast.literal_eval(default)
                    except ValueError:
                        pass
                return defaults
    return {}


def _show(value):
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


# ----------------------------------------------------------------- commands
def _hidden_sizes(text):
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 64,64, got {text!r}"
        )
    return sizes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _max_iter(text):
    return "auto" if text == "auto" else _positive_int(text)


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {text!r}"
        )
    return value


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def _float_format(text):
    """A printf-style format that turns a float into a number, such as %.6g."""
    try:
        float(text % 1.5)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected a printf-style float format such as %.6g, got {text!r}"
        ) from None
    return text


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _and_list(items):
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _lines(indices):
    """Data line numbers (the header is line 1) of 0-based row indices."""
    lines = [str(i + 2) for i in indices]
    if len(lines) > 10:
        lines = lines[:10] + [f"... ({len(indices)} rows in all)"]
    return ", ".join(lines)


# Up to this many training rows, fit on one torch thread: the networks the
# command line trains on small files spend their time in small matrix
# products, which more threads only slow down (synchronisation, and
# contention with other work on the machine).
_ONE_THREAD_ROWS = 20_000


def _select_features(args, header, rows, targets):
    """The feature columns: ``--features``, or every other numeric column."""
    if args.features:
        features = list(dict.fromkeys(args.features))
        overlap = [name for name in features if name in targets]
        if overlap:
            raise CLIError(f"column {overlap[0]!r} is both a feature and a target")
        return features
    features = []
    for j, name in enumerate(header):
        if name in targets:
            continue
        bad = _first_text_cell(rows, j)
        if bad is None:
            features.append(name)
        elif _is_text(rows, j):
            continue  # an identifier or a label: no number in it at all
        elif args.drop_non_numeric:
            _warn(
                f"{args.data}: left out column {name!r}, which is not numeric "
                f"on line {bad[0]} ({bad[1]!r})"
            )
        else:
            raise CLIError(
                f"{args.data}: column {name!r} holds numbers, but line {bad[0]} "
                f"holds {bad[1]!r}; correct the cell, or pass --drop-non-numeric "
                "to leave the column out"
            )
    if not features:
        raise CLIError(f"{args.data}: no numeric column is left to use as a feature")
    return features


# fit's options passed on to MDNRegressor when given (None: the estimator's
# default), as (option destination, estimator parameter).
_ESTIMATOR_OPTIONS = [
    ("n_components", "n_components"),
    ("covariance_type", "covariance_type"),
    ("hidden_layer_sizes", "hidden_layer_sizes"),
    ("alpha", "alpha"),
    ("max_iter", "max_iter"),
    ("point_estimate", "point_estimate"),
]


def _cmd_fit(args):
    # Everything about the file is checked before torch is imported (seconds).
    header, rows = _read_csv(args.data)
    targets = list(dict.fromkeys(args.target))
    for name in targets + list(args.features or ()):
        if name not in header:
            raise CLIError(
                f"{args.data}: no column named {name!r} (columns: {', '.join(header)})"
            )
    features = _select_features(args, header, rows, targets)
    X = np.column_stack([_column(args.data, header, rows, c) for c in features])
    y = np.column_stack([_column(args.data, header, rows, c) for c in targets])
    if args.log_target:
        for j, name in enumerate(targets):
            if np.any(y[:, j] <= 0):
                raise CLIError(
                    f"--log-target needs positive targets, but column {name!r} "
                    "holds a value <= 0"
                )
    if len(targets) == 1:
        y = y[:, 0]
    model_dir = Path(args.model).resolve().parent
    if not model_dir.is_dir():
        raise CLIError(f"{args.model}: the folder {model_dir} does not exist")

    import torch
    from sklearn.compose import TransformedTargetRegressor

    from ._regressor import MDNRegressor

    live = _live_output(args.verbose)
    params = {
        param: getattr(args, dest)
        for dest, param in _ESTIMATOR_OPTIONS
        if getattr(args, dest) is not None
    }
    mdn = MDNRegressor(
        **params,
        early_stopping=not args.no_early_stopping,
        random_state=args.random_state,
        verbose=int(live),
    )
    estimator = (
        TransformedTargetRegressor(regressor=mdn, func=np.log, inverse_func=np.exp)
        if args.log_target
        else mdn
    )
    n_threads = torch.get_num_threads()
    if len(X) <= _ONE_THREAD_ROWS:
        torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        estimator.fit(X, y)
    except (ValueError, FloatingPointError) as exc:
        raise CLIError(f"fitting failed: {exc}") from None
    finally:
        torch.set_num_threads(n_threads)  # for callers of main() in Python
    elapsed = time.perf_counter() - start
    fitted = estimator.regressor_ if args.log_target else estimator
    if args.verbose and not live:
        _print_history(fitted.net_.history)
    _save_model(
        args.model,
        {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "sklearn_mdn_version": __version__,
            "estimator": estimator,
            "features": features,
            "targets": targets,
            "log_target": bool(args.log_target),
        },
    )
    print(
        f"Fitted on {_plural(len(X), 'row')}: {', '.join(features)} -> "
        f"{', '.join(targets)}{' (log scale)' if args.log_target else ''}; "
        f"{_plural(fitted.n_iter_, 'epoch')} in {elapsed:.1f} s. "
        f"Saved to {args.model}."
    )
    return 0


def _live_output(verbose):
    """Whether to print the training live: with ``verbose``, on a terminal.

    The live output is skorch's per-epoch table (with colour codes) under a
    tqdm progress bar (carriage returns); into a file or a pipe they make a
    mess, so there the table is printed after the fit by
    :func:`_print_history` instead.
    """
    return bool(verbose) and sys.stdout.isatty() and sys.stderr.isatty()


def _print_history(history):
    """The per-epoch losses as a plain table (no colour codes)."""
    keys = [k for k in ("epoch", "train_loss", "valid_loss", "dur") if k in history[0]]
    print("  ".join(f"{k:>10}" for k in keys))
    for row in history:
        cells = []
        for k in keys:
            value = row.get(k)
            if value is None:
                cells.append(" " * 10)
            elif k == "epoch":
                cells.append(f"{value:>10d}")
            else:
                marker = "*" if row.get(f"{k}_best") else " "
                cells.append(f"{value:>9.4f}{marker}")
        print("  ".join(cells).rstrip())
    print("(* marks a new best loss)")


def _check_writable(path):
    """Fail before predicting if ``path`` (None or "-": stdout) cannot be written."""
    if path is None or path == "-":
        return
    if os.path.isdir(path):
        raise CLIError(f"{path}: cannot write the output (Is a directory)")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"{path}: cannot write the output (No such directory)")


def _cmd_predict(args):
    # The data first: loading the model imports torch (seconds).
    header, rows = _read_csv(args.data)
    _check_writable(args.out)
    model = _load_model(args.model)
    missing = [name for name in model["features"] if name not in header]
    if missing:
        raise CLIError(
            f"{args.data}: the model needs the feature column(s) "
            f"{', '.join(map(repr, missing))}, which the file lacks "
            f"(it was fitted on: {', '.join(model['features'])})"
        )
    X = np.column_stack(
        [_column(args.data, header, rows, c) for c in model["features"]]
    )
    point, interval, samples, bad = _predict_finite(
        model, X, args.coverage, args.samples, args.random_state
    )
    names, columns = [], []
    for j, target in enumerate(model["targets"]):
        names += [f"{target}_pred", f"{target}_lower", f"{target}_upper"]
        columns += [point[:, j], interval[:, j, 0], interval[:, j, 1]]
        for s in range(args.samples):
            names.append(f"{target}_sample{s + 1}")
            columns.append(samples[:, s, j])
    _write_csv(args.out, names, columns, args.float_format, blank_rows=bad)
    to_stdout = args.out is None or args.out == "-"
    what = ["point estimates", f"{args.coverage:.0%} intervals"]
    if args.samples:
        what.append(_plural(args.samples, "sample"))
    print(
        f"Wrote {_plural(len(X), 'row')} to "
        f"{'standard output' if to_stdout else args.out}: {_and_list(what)} "
        f"of {', '.join(model['targets'])}.",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    if len(bad):
        _warn(
            f"{args.data}: no finite prediction for the "
            f"{'row' if len(bad) == 1 else 'rows'} on line"
            f"{'' if len(bad) == 1 else 's'} {_lines(bad)}, whose inputs lie far "
            "outside the training data; wrote empty cells there"
            + ("" if args.allow_non_finite else " (exit status 3)")
        )
        return 0 if args.allow_non_finite else 3
    return 0


def _branches(weights, means, scales, *, merge=1.0, min_weight=0.05):
    """The distinct peaks of a 1-d mixture as (location, weight) pairs.

    Components whose means are closer than ``merge`` times the larger of
    their two standard deviations form one branch (located at their
    weighted mean, weighing their summed weight); branches lighter than
    ``min_weight`` are left out.
    """
    order = np.argsort(means)
    groups = []
    for k in order:
        if groups and means[k] - groups[-1][-1][1] < merge * max(
            scales[k], groups[-1][-1][2]
        ):
            groups[-1].append((weights[k], means[k], scales[k]))
        else:
            groups.append([(weights[k], means[k], scales[k])])
    branches = []
    for group in groups:
        w = sum(g[0] for g in group)
        if w >= min_weight:
            branches.append((sum(g[0] * g[1] for g in group) / w, w))
    return branches


def _true_branches(x0, *, amplitude=0.3):
    """Every y in [-1, 1] with y + amplitude sin(2 pi y) = x0."""
    # An even number of points: no grid point falls on a root such as 0.
    y = np.linspace(-1.0, 1.0, 20_000)
    f = y + amplitude * np.sin(2 * np.pi * y) - x0
    i = np.flatnonzero(np.signbit(f[:-1]) != np.signbit(f[1:]))
    return y[i] - f[i] * (y[i + 1] - y[i]) / (f[i + 1] - f[i])


def _cmd_demo(args):
    import torch

    from ._regressor import MDNRegressor

    # A network this small trains fastest on one thread (several threads only
    # add synchronisation, and contend with anything else running).
    torch.set_num_threads(1)

    rng = np.random.RandomState(args.random_state)
    n_train, n_test = 1000, 1000
    y = rng.uniform(-1.0, 1.0, n_train + n_test)
    x = y + 0.3 * np.sin(2.0 * np.pi * y) + 0.05 * rng.normal(size=y.shape)
    X_train, X_test = x[:n_train, None], x[n_train:, None]
    y_train, y_test = y[:n_train], y[n_train:]

    print(
        "sklearn-mdn demo. MDNRegressor predicts, for each input, a whole\n"
        "distribution of the target: a mixture of Gaussians, i.e. a few bell\n"
        "curves, each with a location, a spread and a weight (the weights sum\n"
        "to 1).\n\n"
        "Data: y uniform in [-1, 1], x = y + 0.3 sin(2 pi y) + noise; predict y\n"
        "from x. For x between about 0.41 and 0.59, three different y give the\n"
        "same x: the answer branches, and a single number cannot say so."
    )
    reg = MDNRegressor(
        n_components=3,
        hidden_layer_sizes=(32, 32),
        learning_rate_init=3e-3,
        max_iter=args.max_iter,
        random_state=args.random_state,
        verbose=int(_live_output(args.verbose)),
    )
    print(f"\nFitting {reg!r} on {n_train} rows ...", flush=True)
    start = time.perf_counter()
    reg.fit(X_train, y_train)
    if args.verbose and not _live_output(args.verbose):
        _print_history(reg.net_.history)
    print(
        f"done: {_plural(reg.n_iter_, 'epoch')} in "
        f"{time.perf_counter() - start:.1f} s.\n"
    )

    grid = np.array([[-0.9], [0.0], [0.5], [0.9]])
    dist = reg.predict_dist(grid)
    scales = dist.scale_tril[..., 0, 0]
    print(
        "Predicted branches (location: weight) per x, from the mixture's\n"
        "components (components closer than one standard deviation merged,\n"
        "branches under 5% left out), next to the true branches:\n"
    )
    print("      x    mean | predicted branches                     | true y")
    for i, x0 in enumerate(grid[:, 0]):
        branches = _branches(dist.weights[i], dist.means[i, :, 0], scales[i])
        cells = "  ".join(f"{loc:+.2f}: {w:.2f}" for loc, w in branches)
        truth = ", ".join(f"{t:+.2f}" for t in _true_branches(x0))
        print(f"  {x0:+.2f}  {dist.mean()[i]:+.2f} | {cells:<38} | {truth}")

    nll = -np.mean(reg.predict_dist(X_test).log_prob(y_test))
    # Baseline: a linear fit with one homoscedastic Gaussian around it.
    A = np.column_stack([np.ones(n_train), X_train[:, 0]])
    coef = np.linalg.lstsq(A, y_train, rcond=None)[0]
    sigma = np.std(y_train - A @ coef)
    resid = y_test - (coef[0] + coef[1] * X_test[:, 0])
    nll_lin = np.mean(0.5 * (resid / sigma) ** 2 + np.log(sigma * np.sqrt(2 * np.pi)))
    print(
        f"\nScore: the negative log-likelihood of {n_test} held-out rows, in nats\n"
        f"per row; lower is better (more probability where the answers fell):\n"
        f"  MDNRegressor {nll:+.3f},  one Gaussian around a linear fit "
        f"{nll_lin:+.3f}.\n"
        "\nA single number, such as the mean (second column), cannot say that\n"
        "x = 0.5 has three answers. Next: python -m sklearn_mdn fit --help"
    )
    return 0


def _build_parser():
    defaults = _estimator_defaults()

    def estimator_default(param):
        if param in defaults:
            return f"(default: the estimator's, {_show(defaults[param])})"
        return "(default: the estimator's)"

    parser = argparse.ArgumentParser(
        prog="sklearn-mdn",
        description=(
            "Mixture density networks on CSV files. Without a command, runs a "
            "short demo on generated data."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="fit a small model on generated data (the default command)",
        description="Fit a small model on an inverse problem and show its branches.",
    )
    demo.add_argument(
        "--max-iter",
        type=_positive_int,
        default=150,
        metavar="N",
        help="epochs of training (default: %(default)s)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the data and the network (default: %(default)s)",
    )
    demo.add_argument("--verbose", action="store_true", help="show training")
    demo.set_defaults(func=_cmd_demo)

    fit = sub.add_parser(
        "fit",
        help="fit an MDNRegressor on a CSV file and save it",
        description=(
            "Fit an MDNRegressor on the numeric columns of a CSV file (a header "
            "line, then one row per sample) and save it with joblib. Options "
            'marked "the estimator\'s" default are passed to MDNRegressor only '
            "when given; files of up to 20000 rows are fitted on one torch "
            "thread, the fastest for small networks."
        ),
    )
    fit.add_argument("data", metavar="DATA.csv", help="the training data")
    fit.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="COL",
        help="target column (required; repeat for a joint multi-output mixture)",
    )
    fit.add_argument(
        "--features",
        nargs="+",
        metavar="COL",
        help="feature columns (default: every other numeric column; columns "
        "without any number, such as identifiers, are left out)",
    )
    fit.add_argument(
        "--drop-non-numeric",
        action="store_true",
        help="leave out, with a warning, a column of numbers that has a text "
        "cell (default: such a column is an error naming the line)",
    )
    fit.add_argument(
        "--log-target",
        action="store_true",
        help="fit on log(target) (positive targets); predictions are mapped "
        "back (default: off)",
    )
    fit.add_argument(
        "--model",
        required=True,
        metavar="M.joblib",
        help="where to save the fitted model (required)",
    )
    fit.add_argument(
        "--n-components",
        type=_positive_int,
        metavar="N",
        help="Gaussian components of the mixture " + estimator_default("n_components"),
    )
    fit.add_argument(
        "--covariance-type",
        choices=["full", "diag", "spherical"],
        help="covariance of each component, for several targets "
        + estimator_default("covariance_type"),
    )
    fit.add_argument(
        "--hidden-layer-sizes",
        type=_hidden_sizes,
        metavar="N,N,...",
        help="units per hidden layer " + estimator_default("hidden_layer_sizes"),
    )
    fit.add_argument(
        "--alpha",
        type=float,
        help="L2 penalty on the weights " + estimator_default("alpha"),
    )
    fit.add_argument(
        "--max-iter",
        type=_max_iter,
        metavar="N|auto",
        help="maximum epochs " + estimator_default("max_iter"),
    )
    fit.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train for all the epochs (of --max-iter) without a validation hold-out "
        "(default: stop early on 20%% of the rows held out)",
    )
    fit.add_argument(
        "--point-estimate",
        choices=["mean", "top", "mode"],
        help="what the T_pred column of predict holds "
        + estimator_default("point_estimate"),
    )
    fit.add_argument(
        "--random-state",
        type=int,
        metavar="N",
        help="seed, for a repeatable fit (default: none, a different fit each run)",
    )
    fit.add_argument(
        "--verbose",
        action="store_true",
        help="print the loss per epoch; on a terminal live, under a progress "
        "bar when tqdm is installed, else as a plain table after the fit "
        "(default: off)",
    )
    fit.set_defaults(func=_cmd_fit)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description=(
            "Write, for every row of DATA.csv, the point estimate, the interval "
            "bounds and optionally samples of each target (columns T_pred, "
            "T_lower, T_upper, T_sample1, ...). A row without a finite "
            "prediction (inputs far outside the training data) gets empty "
            "cells and a warning, and the exit status is 3 unless "
            "--allow-non-finite is given. Model files are pickles: load only "
            "files you trust."
        ),
    )
    predict.add_argument("model", metavar="M.joblib", help="a model saved by fit")
    predict.add_argument("data", metavar="DATA.csv", help="rows to predict")
    predict.add_argument(
        "--out",
        metavar="OUT.csv",
        help="output file; - is standard output (default: standard output, "
        "with the summary line on standard error)",
    )
    predict.add_argument(
        "--coverage",
        type=_probability,
        default=0.9,
        help="probability inside the equal-tailed interval (default: %(default)s)",
    )
    predict.add_argument(
        "--samples",
        type=_nonnegative_int,
        default=0,
        metavar="N",
        help="draws per row from the predicted distribution (default: %(default)s)",
    )
    predict.add_argument(
        "--random-state",
        type=int,
        metavar="N",
        help="seed of the samples (default: none, different draws each run)",
    )
    predict.add_argument(
        "--float-format",
        type=_float_format,
        default="%.7g",
        metavar="FMT",
        help="printf-style format of the numbers; 7 significant digits are "
        "about the precision of the network's float32 arithmetic "
        "(default: %(default)s)",
    )
    predict.add_argument(
        "--allow-non-finite",
        action="store_true",
        help="exit with status 0 even when some rows get empty cells "
        "(default: exit status 3)",
    )
    predict.set_defaults(func=_cmd_predict)
    return parser


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments, without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on a usage or data error (reported on stderr), 3 when
        ``predict`` wrote empty cells for rows without a finite prediction
        (unless ``--allow-non-finite``).
    """
    parser = _build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv or ["demo"])
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
