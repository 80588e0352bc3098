"""The fit and predict commands."""

import sys
import time
import warnings

import numpy as np

from ._csv import (
    _check_kept_names,
    _check_writable,
    _column,
    _first_text_cell,
    _is_text,
    _kept_columns,
    _read_csv,
    _write_csv,
)
from ._model import (
    _load_model,
    _predict_finite,
    _save_model,
)
from ._output import (
    CLIError,
    _and_list,
    _lines,
    _live_output,
    _plural,
    _print_history,
    _warn,
)


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

    from .._estimators._regressor import MDNRegressor

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
