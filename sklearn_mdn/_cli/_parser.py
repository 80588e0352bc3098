"""The argument parser of the command line: its commands, options and help."""

import argparse

from .._version import __version__
from ._commands import _cmd_fit, _cmd_predict
from ._demo import _cmd_demo, _cmd_demo_data
from ._options import (
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
