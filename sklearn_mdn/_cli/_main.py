"""Command line: fit and apply an MDNRegressor on CSV files, or run a demo.

Run ``python -m sklearn_mdn --help`` (or ``sklearn-mdn --help``) for usage.
CSV files are read with the standard library's :mod:`csv` module, so pandas
is not needed.
"""

import sys

from ._output import (
    CLIError,
)
from ._parser import _build_parser


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
