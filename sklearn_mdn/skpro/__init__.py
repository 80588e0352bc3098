"""skpro interoperability: an MDNRegressor as an skpro probabilistic regressor.

:class:`MDNSkproRegressor` is an skpro ``BaseProbaRegressor``: skpro's
pipelines, metrics (CRPS, log loss) and model selection take it, and its
``predict_proba`` returns skpro's per-row ``NormalMixture``. It passes skpro's
``check_estimator``. Needs the ``skpro`` extra: ``pip install ".[skpro]"`` in
a clone of the repository.
"""

try:
    from ._adapter import MDNSkproRegressor
except ImportError as exc:  # tests/test_extras.py blocks the extra
    if exc.name is None or not exc.name.startswith("skpro"):
        raise
    raise ImportError(
        "sklearn_mdn.skpro needs skpro, which is not installed. Install the skpro "
        'extra with `pip install ".[skpro]"` in a clone of the repository (or '
        "`pip install skpro pandas`)."
    ) from exc

__all__ = ["MDNSkproRegressor"]


def __dir__():
    # dir() and tab completion show the public names only, as in the other
    # public modules.
    return list(__all__)
