"""Command line: fit and apply an MDNRegressor on CSV files, or run a demo.

Run ``python -m sklearn_mdn --help`` (or ``sklearn-mdn --help``) for usage.
CSV files are read with the standard library's :mod:`csv` module, so pandas
is not needed.
"""

import argparse
import sys
import time
import warnings

import numpy as np

# The helpers live in private modules; they are imported here so that
# ``sklearn_mdn._cli`` keeps offering every name it always had.
from ._cli_csv import (  # noqa: F401
    _MISSING,
    _check_kept_names,
    _check_writable,
    _column,
    _first_text_cell,
    _is_text,
    _kept_columns,
    _parse_float,
    _read_csv,
    _write_csv,
)
from ._cli_demo import _cmd_demo, _cmd_demo_data
from ._cli_model import (  # noqa: F401
    _FORMAT,
    _FORMAT_VERSION,
    _load_model,
    _predict_arrays,
    _predict_finite,
    _save_model,
)
from ._cli_options import (  # noqa: F401
    _delimiter,
    _estimator_defaults,
    _float_format,
    _hidden_sizes,
    _nonnegative_float,
    _nonnegative_int,
    _positive_int,
    _positive_int_or_auto,
    _probability,
    _show,
)
from ._cli_output import (  # noqa: F401
    CLIError,
    _and_list,
    _lines,
    _live_output,
    _plural,
    _print_history,
    _warn,
)
from ._version import __version__


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
    header, rows = _read_csv(args.data, args.delimiter)
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
    _check_writable(args.model, "the model")

    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning

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
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            estimator.fit(X, y)
    except (ValueError, FloatingPointError) as exc:
        raise CLIError(f"fitting failed: {exc}") from None
    elapsed = time.perf_counter() - start
    # The command's own line for a budget that ran out (with the option that
    # raises it); other warnings as Python shows them.
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            _warn(str(w.message).replace("max_iter", "--max-iter"))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fitted = estimator.regressor_ if args.log_target else estimator
    if args.verbose and not live:
        _print_history(fitted.net_.history)
    _save_model(
        args.model,
        {
            "estimator": estimator,
            "features": features,
            "targets": targets,
            "log_target": bool(args.log_target),
        },
    )
    unused = [name for name, kept in zip(features, fitted.support_) if not kept]
    print(
        f"Fitted on {_plural(len(X), 'row')}: {', '.join(features)} -> "
        f"{', '.join(targets)}{' (log scale)' if args.log_target else ''}; "
        f"{_plural(fitted.n_iter_, 'epoch')} in {elapsed:.1f} s. "
        + (
            f"Not used (no clear effect on the held-out rows): {', '.join(unused)}. "
            if unused
            else ""
        )
        + (
            "One Gaussian component: it fitted the held-out rows better than "
            "a mixture. "
            if fitted.n_components_ == 1 and fitted.n_components == "auto"
            else ""
        )
        + f"Saved to {args.model}."
    )
    return 0


def _cmd_predict(args):
    # The data first: loading the model imports torch (seconds).
    header, rows = _read_csv(args.data, args.delimiter)
    kept = _kept_columns(args.data, header, rows, args.keep or ())
    _check_writable(args.out)
    model = _load_model(args.model, allow_pickle=args.allow_pickle)
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
    _check_kept_names(kept, model["targets"], args.samples)
    point, interval, samples, bad = _predict_finite(
        model, X, args.coverage, args.samples, args.random_state
    )
    names, columns = list(kept), list(kept.values())
    for j, target in enumerate(model["targets"]):
        names += [f"{target}_pred", f"{target}_lower", f"{target}_upper"]
        columns += [point[:, j], interval[:, j, 0], interval[:, j, 1]]
        for s in range(args.samples):
            names.append(f"{target}_sample{s + 1}")
            columns.append(samples[:, s, j])
    _write_csv(
        args.out, names, columns, args.float_format, bad, delimiter=args.delimiter
    )
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


def _add_delimiter(parser, files):
    parser.add_argument(
        "--delimiter",
        type=_delimiter,
        default=",",
        metavar="CHAR",
        help=f"the character that separates the fields of {files}, such as ';' "
        "or tab (default: ',')",
    )


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
        default=None,
        metavar="N",
        help="most epochs of training (default: the estimator's, max_iter='auto')",
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

    data = sub.add_parser(
        "demo-data",
        help="write generated CSV files to try fit and predict on",
        description=(
            "Write TRAIN.csv (an id, the water's reflectance in four bands and "
            "the target chl, chlorophyll-a in mg/m3, spanning three orders of "
            "magnitude) and NEW.csv (five more rows without chl), generated."
        ),
    )
    data.add_argument("train", metavar="TRAIN.csv", help="the training rows")
    data.add_argument("new", metavar="NEW.csv", help="the rows to predict")
    data.add_argument(
        "--rows",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="training rows (default: %(default)s)",
    )
    data.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the data (default: %(default)s)",
    )
    data.set_defaults(func=_cmd_demo_data)

    fit = sub.add_parser(
        "fit",
        help="fit an MDNRegressor on a CSV file and save it",
        description=(
            "Fit an MDNRegressor on the numeric columns of a CSV file (a header "
            "line, then one row per sample) and save it in sklearn-mdn's safe "
            "format (arrays and plain data, which cannot run code when loaded; "
            "sklearn_mdn.load_model reads it). Options "
            'marked "the estimator\'s" default are passed to MDNRegressor only '
            "when given; the estimator picks its torch threads "
            '(n_threads="auto"), one for the networks of small files.'
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
        metavar="M.mdn",
        help="where to save the fitted model (required); written whole or not "
        "at all, so a failed fit keeps the previous file",
    )
    fit.add_argument(
        "--n-components",
        type=_positive_int_or_auto,
        metavar="N|auto",
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
        type=_nonnegative_float,
        help="L2 penalty on the weights " + estimator_default("alpha"),
    )
    fit.add_argument(
        "--max-iter",
        type=_positive_int_or_auto,
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
    _add_delimiter(fit, "DATA.csv")
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
            "--allow-non-finite is given. The output file appears only once "
            "complete."
        ),
    )
    predict.add_argument("model", metavar="M.mdn", help="a model saved by fit")
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
    predict.add_argument(
        "--allow-pickle",
        action="store_true",
        help="also load a pickle (the joblib model files of sklearn-mdn before "
        "the safe format), with a warning: unpickling runs any code the file "
        "holds, so only for files you trust (default: off, pickles are "
        "refused)",
    )
    predict.add_argument(
        "--keep",
        nargs="+",
        action="extend",
        metavar="COL",
        help="columns of DATA.csv to copy to the output, in this order, before "
        "the predictions, such as an identifier to join them back on "
        "(default: none)",
    )
    _add_delimiter(predict, "DATA.csv and the output")
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
