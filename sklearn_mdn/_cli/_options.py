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
        path = Path(__file__).parents[1] / "_estimators" / "_regressor.py"
        source = path.read_text("utf-8")
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


def _number(convert, accept, expected):
    """An option type: ``convert(text)`` if it succeeds and ``accept`` holds.

    Anything else (text that is not a number, a value out of range) is an
    ``ArgumentTypeError`` that says what was ``expected``.
    """

    def option_type(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return option_type


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_nonnegative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
_probability = _number(float, lambda v: 0.0 < v < 1.0, "a number in (0, 1)")
_nonnegative_float = _number(
    float, lambda v: 0.0 <= v < math.inf, "a non-negative number"
)


def _positive_int_or_auto(text):
    if text == "auto":
        return "auto"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'auto', got {text!r}"
        ) from None


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
