"""Command line: fit and apply an MDNRegressor on CSV files, or run a demo.

Run ``python -m sklearn_mdn --help`` (or ``sklearn-mdn --help``) for usage.
CSV files are read with the standard library's :mod:`csv` module, so pandas
is not needed.
"""

import argparse
import csv
import math
import sys
import time

import numpy as np

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


def _is_numeric(rows, j):
    return all(_parse_float(row[j]) is not None for row in rows)


def _write_csv(path, header, columns):
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in zip(*columns, strict=True):
                writer.writerow([repr(float(v)) for v in row])
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
    samples = None
    if n_samples:
        samples = sample(estimator, X, n_samples=n_samples, random_state=random_state)
        samples = samples.reshape(n, n_samples, -1)
    return point, interval, samples


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


def _cmd_fit(args):
    from sklearn.compose import TransformedTargetRegressor

    from . import __version__
    from ._regressor import MDNRegressor

    header, rows = _read_csv(args.data)
    targets = list(dict.fromkeys(args.target))
    for name in targets + list(args.features or ()):
        if name not in header:
            raise CLIError(
                f"{args.data}: no column named {name!r} (columns: {', '.join(header)})"
            )
    if args.features:
        features = list(dict.fromkeys(args.features))
        overlap = [name for name in features if name in targets]
        if overlap:
            raise CLIError(f"column {overlap[0]!r} is both a feature and a target")
    else:
        features = [
            name
            for j, name in enumerate(header)
            if name not in targets and _is_numeric(rows, j)
        ]
        if not features:
            raise CLIError(
                f"{args.data}: no numeric column is left to use as a feature"
            )
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

    mdn = MDNRegressor(
        n_components=args.n_components,
        covariance_type=args.covariance_type,
        hidden_layer_sizes=args.hidden_layer_sizes,
        alpha=args.alpha,
        max_iter=args.max_iter,
        early_stopping=not args.no_early_stopping,
        point_estimate=args.point_estimate,
        random_state=args.random_state,
        verbose=int(args.verbose),
    )
    estimator = (
        TransformedTargetRegressor(regressor=mdn, func=np.log, inverse_func=np.exp)
        if args.log_target
        else mdn
    )
    start = time.perf_counter()
    try:
        estimator.fit(X, y)
    except (ValueError, FloatingPointError) as exc:
        raise CLIError(f"fitting failed: {exc}") from None
    elapsed = time.perf_counter() - start
    fitted = estimator.regressor_ if args.log_target else estimator
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
        f"Fitted on {len(X)} rows: {', '.join(features)} -> {', '.join(targets)}"
        f"{' (log scale)' if args.log_target else ''}; {fitted.n_iter_} epochs "
        f"in {elapsed:.1f} s. Saved to {args.model}."
    )
    return 0


def _cmd_predict(args):
    model = _load_model(args.model)
    header, rows = _read_csv(args.data)
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
    try:
        point, interval, samples = _predict_arrays(
            model, X, args.coverage, args.samples, args.random_state
        )
    except (ValueError, FloatingPointError) as exc:
        raise CLIError(f"prediction failed: {exc}") from None
    names, columns = [], []
    for j, target in enumerate(model["targets"]):
        names += [f"{target}_pred", f"{target}_lower", f"{target}_upper"]
        columns += [point[:, j], interval[:, j, 0], interval[:, j, 1]]
        for s in range(args.samples):
            names.append(f"{target}_sample{s + 1}")
            columns.append(samples[:, s, j])
    _write_csv(args.out, names, columns)
    print(
        f"Wrote {len(X)} rows to {args.out}: point estimates and "
        f"{args.coverage:.0%} intervals"
        + (f" and {args.samples} samples" if args.samples else "")
        + f" of {', '.join(model['targets'])}."
    )
    return 0


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

    print("sklearn-mdn demo: an inverse problem with several answers per input.")
    print("  y ~ U(-1, 1),  x = y + 0.3 sin(2 pi y) + noise;  predict y from x.")
    reg = MDNRegressor(
        n_components=3,
        hidden_layer_sizes=(32, 32),
        learning_rate_init=3e-3,
        max_iter=args.max_iter,
        random_state=args.random_state,
        verbose=int(args.verbose),
    )
    print(f"  fitting {reg!r} on {n_train} rows ...", flush=True)
    start = time.perf_counter()
    reg.fit(X_train, y_train)
    print(f"  done: {reg.n_iter_} epochs in {time.perf_counter() - start:.1f} s.\n")

    grid = np.array([[-0.9], [-0.3], [0.0], [0.3], [0.9]])
    dist = reg.predict_dist(grid)
    interval = dist.interval(0.9)
    print("       x     mean     mode      90% interval")
    for x0, mean, mode, (lo, hi) in zip(
        grid[:, 0], dist.mean(), dist.mode(), interval, strict=True
    ):
        print(f"  {x0:+6.2f}  {mean:+7.3f}  {mode:+7.3f}  [{lo:+6.3f}, {hi:+6.3f}]")

    nll = -np.mean(reg.predict_dist(X_test).log_prob(y_test))
    # Baseline: a linear fit with one homoscedastic Gaussian around it.
    A = np.column_stack([np.ones(n_train), X_train[:, 0]])
    coef = np.linalg.lstsq(A, y_train, rcond=None)[0]
    sigma = np.std(y_train - A @ coef)
    resid = y_test - (coef[0] + coef[1] * X_test[:, 0])
    nll_lin = np.mean(0.5 * (resid / sigma) ** 2 + np.log(sigma * np.sqrt(2 * np.pi)))
    print(
        f"\nHeld-out negative log-likelihood on {n_test} rows (lower is better):"
        f"\n  MDNRegressor {nll:+.3f} nats/row;  linear fit + Gaussian noise "
        f"{nll_lin:+.3f}."
    )
    print(
        "Where x has several answers the mean falls between them; the mode\n"
        "and the interval show the branches. Try: python -m sklearn_mdn --help"
    )
    return 0


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-mdn",
        description=(
            "Mixture density networks on CSV files. Without a command, runs a "
            "short demo on generated data."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="fit a small model on generated data")
    demo.add_argument("--max-iter", type=_positive_int, default=150)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--verbose", action="store_true", help="show training")
    demo.set_defaults(func=_cmd_demo)

    fit = sub.add_parser(
        "fit",
        help="fit an MDNRegressor on a CSV file and save it",
        description=(
            "Fit an MDNRegressor on the numeric columns of a CSV file (a header "
            "line, then one row per sample) and save it with joblib."
        ),
    )
    fit.add_argument("data", metavar="DATA.csv")
    fit.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="COL",
        help="target column (repeat for a joint multi-output mixture)",
    )
    fit.add_argument(
        "--features",
        nargs="+",
        metavar="COL",
        help="feature columns (default: every other numeric column)",
    )
    fit.add_argument(
        "--log-target",
        action="store_true",
        help="fit on log(target) (positive targets); predictions are mapped back",
    )
    fit.add_argument("--model", required=True, metavar="M.joblib")
    fit.add_argument("--n-components", type=_positive_int, default=5)
    fit.add_argument(
        "--covariance-type", choices=["full", "diag", "spherical"], default="full"
    )
    fit.add_argument(
        "--hidden-layer-sizes",
        type=_hidden_sizes,
        default=(100, 100, 100, 100, 100),
        metavar="N,N,...",
    )
    fit.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    fit.add_argument(
        "--max-iter",
        type=_max_iter,
        default="auto",
        help="maximum epochs, or auto (the default)",
    )
    fit.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train for --max-iter epochs without a validation hold-out",
    )
    fit.add_argument(
        "--point-estimate", choices=["mean", "top", "mode"], default="mean"
    )
    fit.add_argument("--random-state", type=int, default=None)
    fit.add_argument(
        "--verbose",
        action="store_true",
        help="print the loss per epoch, with a progress bar when tqdm is installed",
    )
    fit.set_defaults(func=_cmd_fit)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description=(
            "Write, for every row of DATA.csv, the point estimate, the interval "
            "bounds and optionally samples of each target (columns TARGET_pred, "
            "TARGET_lower, TARGET_upper, TARGET_sample1, ...). Model files are "
            "pickles: load only files you trust."
        ),
    )
    predict.add_argument("model", metavar="M.joblib")
    predict.add_argument("data", metavar="DATA.csv")
    predict.add_argument("--out", required=True, metavar="OUT.csv")
    predict.add_argument(
        "--coverage",
        type=_probability,
        default=0.9,
        help="probability inside the equal-tailed interval (default 0.9)",
    )
    predict.add_argument(
        "--samples", type=_nonnegative_int, default=0, metavar="N", help="draws per row"
    )
    predict.add_argument("--random-state", type=int, default=None)
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
        0 on success, 2 on a usage or data error (reported on stderr).
    """
    parser = _build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv or ["demo"])
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
