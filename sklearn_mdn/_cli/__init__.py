"""The command line (``sklearn-mdn``, ``python -m sklearn_mdn``)."""
