"""CSV files of the command line: reading, cell parsing, columns and writing.

CSV files are read with the standard library's :mod:`csv` module, so pandas
is not needed.
"""

import csv
import math
import os
import sys

import numpy as np

from .._io._atomic import atomic_write
from ._output import CLIError, _lines

# Cells read as a missing value.
_MISSING = {"", "na", "nan", "null", "none"}


def _read_csv(path, delimiter=","):
    """Header and rows (lists of str) of a CSV file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f, delimiter=delimiter) if row]
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"{path}: is a directory, not a CSV file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CLIError(f"{path}: cannot read it as a CSV file ({exc})") from None
    if not rows:
        raise CLIError(f"{path}: the file is empty")
    header = [name.strip() for name in rows[0]]
    if len(header) == 1:
        # One column whose name holds another separator: the wrong delimiter.
        for other in [";", "\t", ",", "|"]:
            if other != delimiter and other in header[0]:
                raise CLIError(
                    f"{path}: the header {header[0]!r} is one column when split "
                    f"at {delimiter!r}; if the file is separated by {other!r}, "
                    f"pass --delimiter {_shown(other)}"
                )
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
            remedy = (
                "it holds no number at all (an identifier or a label?)"
                if _is_text(rows, j)
                else "correct the cell, or drop the row"
            )
            raise CLIError(
                f"{path}: column {name!r} is not numeric: line {i + 2} holds "
                f"{row[j].strip()!r}; {remedy}"
            )
        if math.isnan(value) and not allow_missing:
            missing = [
                k
                for k, other in enumerate(rows)
                if (cell := _parse_float(other[j])) is not None and math.isnan(cell)
            ]
            where = (
                f"a missing value on line {_lines(missing)}"
                if len(missing) == 1
                else f"missing values on lines {_lines(missing)}"
            )
            raise CLIError(
                f"{path}: column {name!r} has {where}; the model cannot use a "
                "row with a missing value: drop these rows, or fill the values "
                "in (impute them, with the column's median, say), and run again"
            )
        if math.isinf(value):
            raise CLIError(
                f"{path}: column {name!r} has an infinite value on line {i + 2}"
            )
        values[i] = value
    return values


def _shown(delimiter):
    """How to type ``delimiter`` on a command line."""
    return {"\t": "tab", " ": "' '"}.get(delimiter, repr(delimiter))


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


def _kept_columns(path, header, rows, names):
    """The columns ``names`` (``--keep``) of a CSV file, by name, as text."""
    kept = {}
    for name in dict.fromkeys(names):
        if name not in header:
            raise CLIError(
                f"{path}: --keep names no column {name!r} (columns: "
                f"{', '.join(header)})"
            )
        j = header.index(name)
        kept[name] = [row[j] for row in rows]
    return kept


def _check_kept_names(kept, targets, n_samples):
    """No ``--keep`` column may share its name with a prediction column."""
    suffixes = ["pred", "lower", "upper"] + [f"sample{s + 1}" for s in range(n_samples)]
    for name in kept:
        if any(
            name == f"{target}_{suffix}" for target in targets for suffix in suffixes
        ):
            raise CLIError(
                f"--keep {name}: the output has a prediction column of that name"
            )


def _write_csv(path, header, columns, float_format, blank_rows=(), delimiter=","):
    """Write the columns; the rows in ``blank_rows`` get empty number cells.

    Cells that are ``str`` (columns copied from the input) are written as they
    are, numbers with ``float_format``. A file appears under ``path`` only once
    complete (:func:`atomic_write`): an interrupted or failed run leaves the
    previous file, or none. Standard output (None or "-") streams.
    """
    blank = set(blank_rows)

    def write(f):
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        for i, row in enumerate(zip(*columns, strict=True)):
            writer.writerow(
                [
                    v if isinstance(v, str) else "" if i in blank else float_format % v
                    for v in row
                ]
            )

    if path is None or path == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        with atomic_write(path, "w", newline="", encoding="utf-8") as f:
            write(f)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write the output ({exc.strerror})") from None


def _check_writable(path, what="the output"):
    """Fail before the work if ``path`` (None or "-": stdout) cannot be written.

    ``what`` names the file in the messages: "the output", "the model".
    """
    if path is None or path == "-":
        return
    if os.path.isdir(path):
        raise CLIError(f"{path}: cannot write {what} (Is a directory)")
    parent = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"{path}: cannot write {what} (No such directory)")
    # The output is written next to it first, then renamed (atomic_write).
    if os.path.isfile(path) or not os.path.exists(path):
        if not os.access(parent, os.W_OK):
            raise CLIError(
                f"{path}: cannot write {what} (the folder {parent} is not writable)"
            )
