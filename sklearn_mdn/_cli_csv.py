"""CSV files of the command line: reading, cell parsing, columns and writing.

CSV files are read with the standard library's :mod:`csv` module, so pandas
is not needed.
"""

import csv
import math
import os
import sys

import numpy as np

from ._atomic import atomic_write
from ._cli_output import CLIError

# Cells read as a missing value.
_MISSING = {"", "na", "nan", "null", "none"}


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


def _write_csv(path, header, columns, float_format, blank_rows=()):
    """Write the columns; the rows in ``blank_rows`` get empty cells.

    A file appears under ``path`` only once complete (:func:`atomic_write`):
    an interrupted or failed run leaves the previous file, or none. Standard
    output (None or "-") streams.
    """
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
        with atomic_write(path, "w", newline="", encoding="utf-8") as f:
            write(f)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write the output ({exc.strerror})") from None


def _check_writable(path):
    """Fail before predicting if ``path`` (None or "-": stdout) cannot be written."""
    if path is None or path == "-":
        return
    if os.path.isdir(path):
        raise CLIError(f"{path}: cannot write the output (Is a directory)")
    parent = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"{path}: cannot write the output (No such directory)")
    # The output is written next to it first, then renamed (atomic_write).
    if os.path.isfile(path) or not os.path.exists(path):
        if not os.access(parent, os.W_OK):
            raise CLIError(
                f"{path}: cannot write the output (the folder {parent} is not writable)"
            )
