"""Messages of the command line: the error, warnings, counts and training tables."""

import sys


class CLIError(Exception):
    """An error reported to the user as one line, with exit status 2."""


def _warn(message):
    print(f"sklearn-mdn: warning: {message}", file=sys.stderr)


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
