"""Predictions over Dask arrays and image cubes, chunk by chunk; training
over the blocks of a Dask array.

The functions here take a fitted :class:`~sklearn_mdn.MDNRegressor` (or a
``Pipeline``, ``TransformedTargetRegressor`` or fitted search wrapping one, as
:func:`sklearn_mdn.predict_quantiles` does) and a ``dask.array`` of rows of
shape ``(n, p)``, and return lazy Dask arrays: nothing is read or computed
until the result is. Rows are rechunked so that every chunk spans all
columns, each chunk is predicted by ``da.map_blocks``, and the fitted model
enters the graph once: as one scattered future (broadcast to every worker)
when a ``distributed`` client is active, otherwise as one ``dask.delayed``
key that the tasks share. A row's prediction does not depend on the other
rows of its chunk, so the results equal the in-memory predictions of the
same rows exactly.

:func:`predict_image` maps a cube of bands (an ``xarray.DataArray``, or a
numpy or Dask array with a band axis) to maps of estimates with the same
spatial dimensions and coordinates. Pixels with any non-finite band are not
predicted: they come out as NaN, and a :class:`SkippedPixelsWarning` counts
them.

This module also trains: :func:`fit_incremental` calls ``partial_fit`` over
the row blocks of a Dask array, one block at a time, for data larger than
memory.

This module needs the ``dask`` extra: ``pip install ".[dask]"`` in a clone
of the repository (``dask[array]``, ``distributed`` for clusters, ``xarray``
for labelled cubes).

Examples
--------
>>> import dask.array as da
>>> import numpy as np
>>> from sklearn_mdn import MDNRegressor
>>> from sklearn_mdn.dask import predict, predict_interval
>>> rng = np.random.RandomState(0)
>>> X = rng.uniform(-1, 1, size=(300, 2))
>>> y = X[:, 0] + 0.1 * rng.normal(size=300)
>>> model = MDNRegressor(hidden_layer_sizes=(8,), max_iter=5,
...                      random_state=0).fit(X, y)
>>> X_big = da.from_array(X, chunks=(100, 2))
>>> lazy = predict_interval(model, X_big, coverage=0.9)
>>> lazy.shape, lazy.chunks[0]
((300, 2), (100, 100, 100))
>>> bool((lazy.compute() == model.predict_interval(X, coverage=0.9)).all())
True
>>> bool((predict(model, X_big).compute() == model.predict(X)).all())
True
"""

import numpy as np

try:
    import dask  # noqa: F401 - the extra this module needs
    import dask.array as da
except ImportError as exc:  # tests/test_extras.py blocks the extra
    raise ImportError(
        "sklearn_mdn.dask needs dask, which is not installed. Install the dask "
        'extra with `pip install ".[dask]"` in a clone of the repository (or '
        '`pip install "dask[array]" distributed xarray`).'
    ) from exc

from .._estimators._compose import _unwrap, predict_dist
from ..distribution._checks import _check_coverage, _check_levels, _check_n_samples
from ._chunks import (
    _apply,
    _check_rows,
    _check_seed,
    _map_rows,
    _target_shape,
    chunk_random_state,
)
from ._raster import SkippedPixelsWarning, predict_image
from ._training import fit_incremental

__all__ = [
    "SkippedPixelsWarning",
    "chunk_random_state",
    "fit_incremental",
    "log_prob",
    "predict",
    "predict_image",
    "predict_interval",
    "predict_quantiles",
    "sample",
]


def __dir__():
    # dir() and tab completion show the public names only, not the imports
    # (np, erf, ...) and private helpers, as scikit-learn's modules do.
    return list(__all__)


def predict(estimator, X):
    """Lazy point predictions over the rows of a Dask array.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`~sklearn_mdn.MDNRegressor`
        (or :class:`~sklearn_mdn.MDNEnsembleRegressor`).

    X : dask.array.Array of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them. Chunks along the
        columns are merged.

    Returns
    -------
    y_pred : dask.array.Array of shape (n_samples,) or (n_samples, n_outputs)
        ``estimator.predict`` of each chunk, float64, chunked like the rows of
        ``X``.
    """
    X = _check_rows(X)
    trailing = _target_shape(estimator)
    return _map_rows(_apply, X, estimator, trailing, method="predict")


def predict_interval(estimator, X, coverage=0.9):
    """Lazy equal-tailed predictive intervals over the rows of a Dask array.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`~sklearn_mdn.MDNRegressor`;
        target transforms are mapped as by :func:`sklearn_mdn.predict_interval`.

    X : dask.array.Array of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    coverage : float, default=0.9
        Probability mass inside the interval, in (0, 1).

    Returns
    -------
    interval : dask.array.Array of shape (n_samples, 2) or \
            (n_samples, n_outputs, 2)
        Lower and upper bounds in the original target units.
    """
    _check_coverage(coverage)
    X = _check_rows(X)
    trailing = (*_target_shape(estimator), 2)
    return _map_rows(_apply, X, estimator, trailing, coverage, method="interval")


def predict_quantiles(estimator, X, quantiles=(0.05, 0.5, 0.95)):
    """Lazy quantiles of the predictive marginals over the rows of a Dask array.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`~sklearn_mdn.MDNRegressor`.

    X : dask.array.Array of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        Levels in [0, 1].

    Returns
    -------
    q : dask.array.Array of shape (n_samples, n_quantiles) or \
            (n_samples, n_outputs, n_quantiles)
        Quantiles in the original target units.
    """
    levels = np.atleast_1d(_check_levels(quantiles, "quantiles"))
    X = _check_rows(X)
    trailing = (*_target_shape(estimator), len(levels))
    return _map_rows(_apply, X, estimator, trailing, levels, method="quantiles")


def sample(estimator, X, n_samples=1, *, random_state):
    """Lazy draws from the predictive distribution of every row.

    Chunk ``i`` of rows draws from :func:`chunk_random_state(random_state, i)
    <chunk_random_state>`, so the draws depend on the seed and on how ``X``
    is chunked along its rows, never on which worker computes a chunk or
    when.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`~sklearn_mdn.MDNRegressor`.

    X : dask.array.Array of shape (n_samples_X, n_features)
        Inputs, as the outermost estimator takes them.

    n_samples : int, default=1
        Draws per row.

    random_state : int
        Seed from which every chunk's generator is derived (required: a lazy
        result recomputed must give the same draws).

    Returns
    -------
    samples : dask.array.Array of shape (n_samples_X, n_samples) or \
            (n_samples_X, n_samples, n_outputs)
        Draws in the original target units.
    """
    n_samples = _check_n_samples(n_samples)
    seed = _check_seed(random_state)
    X = _check_rows(X)
    target = _target_shape(estimator)
    trailing = (n_samples, *target)
    return _map_rows(_apply, X, estimator, trailing, n_samples, seed, method="sample")


def log_prob(estimator, X, y):
    """Lazy log-density of given targets under each row's predicted mixture.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline or search
        A fitted estimator that is, or wraps, an :class:`~sklearn_mdn.MDNRegressor`,
        without a target transform (see :func:`sklearn_mdn.predict_dist`).

    X : dask.array.Array of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    y : dask.array.Array or ndarray of shape (n_samples,) or \
            (n_samples, n_outputs)
        Targets; rechunked to the row chunks of ``X``.

    Returns
    -------
    log_prob : dask.array.Array of shape (n_samples,)
        Log densities in the original target units.
    """
    X = _check_rows(X)
    if _unwrap(estimator, None, "sklearn_mdn.dask")[2]:  # target transforms
        raise TypeError(
            "A TransformedTargetRegressor's predictive distribution is not a "
            "Gaussian mixture, and its density needs the transform's Jacobian: "
            "log_prob takes an MDNRegressor, or a Pipeline or search wrapping one."
        )
    target = _target_shape(estimator)
    y = da.asarray(y)
    if y.shape != (X.shape[0], *target):
        raise ValueError(
            f"y must have shape {(X.shape[0], *target)} to match X and the "
            f"fitted targets, got {y.shape}."
        )
    # A 2-D y whose row chunks are those of X: blocks pair up one to one.
    y = y.rechunk((X.chunks[0], *((n,) for n in target)))
    if not target:
        y = y[:, None]
    return _map_rows(_log_prob_block, X, estimator, (), extra=(y,), squeeze=not target)


def _log_prob_block(block, y_block, *, model, args, squeeze):
    y_block = np.asarray(y_block)
    if squeeze:
        y_block = y_block[:, 0]
    return predict_dist(model, np.asarray(block)).log_prob(y_block)
