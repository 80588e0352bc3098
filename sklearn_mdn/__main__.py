"""``python -m sklearn_mdn``: the command line (see :mod:`sklearn_mdn._cli`)."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
