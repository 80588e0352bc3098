"""Option types of the command line, and the estimator defaults its help shows."""

import argparse
import ast
import math
import re
from pathlib import Path


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


# ------------------------------------------------------------ option types
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


def _positive_int_or_auto(text):
    if text == "auto":
        return "auto"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'auto', got {text!r}"
        ) from None


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


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value < math.inf:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative number, got {text!r}"
        )
    return value


# A printf conversion: flags, width, precision and its type letter.
_CONVERSION = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?([a-zA-Z%])")


def _float_format(text):
    """A printf-style format that turns a float into a number, such as %.6g:
    one conversion of type e, f or g (``%d`` would truncate)."""
    conversions = [c for c in _CONVERSION.findall(text) if c != "%"]
    try:
        ok = len(conversions) == 1 and conversions[0] in "eEfFgG"
        ok = ok and math.isfinite(float(text % 1.5))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(
            "expected a printf-style float format such as %.6g (one conversion "
            f"of type e, f or g), got {text!r}"
        )
    return text


# Delimiters by name, for those that are awkward to type in a shell.
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "space": " "}


def _delimiter(text):
    """One character that separates the fields of a CSV file: ``;``, ``tab``
    (or ``\\t``), ``|``, ... Not a character of a number or a quote."""
    value = _DELIMITER_NAMES.get(text, text)
    if len(value) != 1 or value.isalnum() or value in "+-.\"'\r\n":
        raise argparse.ArgumentTypeError(
            "expected one character that is not part of a number or a quote, "
            f"such as ';' or tab, got {text!r}"
        )
    return value
