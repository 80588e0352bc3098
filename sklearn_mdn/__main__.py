"""``python -m sklearn_mdn``: the command line (see :mod:`sklearn_mdn._cli._main`)."""

from ._cli._main import main

if __name__ == "__main__":
    raise SystemExit(main())
