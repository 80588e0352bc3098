"""Training over the row blocks of Dask arrays, one block at a time.

:func:`fit_incremental` (public in :mod:`sklearn_mdn.dask`) calls the
estimator's ``partial_fit`` on each block in turn. Only one block is
computed at a time: with a ``distributed`` client the step is a task that
takes the model (a future, on a worker) and the block, and the next step is
submitted once it has finished; without one the block is computed by the
local scheduler and the model trains in the calling thread.
"""

import dask
import dask.array as da

from ..distribution._checks import _check_positive_int
from ._chunks import _active_client, _check_rows


def _rows_like(a, X, name):
    """``a`` as a Dask array chunked along its rows as ``X``."""
    a = da.asarray(a)
    if a.ndim not in (1, 2) or a.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name} must have {X.shape[0]} rows, as X, and 1 or 2 dimensions; "
            f"got shape {a.shape}."
        )
    return a.rechunk((X.chunks[0], *((n,) for n in a.shape[1:])))


def _step(model, X, y, sample_weight):
    """One ``partial_fit`` on one block; the model trained."""
    model.partial_fit(X, y, sample_weight=sample_weight)
    return model


def fit_incremental(estimator, X, y, sample_weight=None, *, epochs=1):
    """Train an estimator over the row blocks of Dask arrays, block by block.

    Calls ``estimator.partial_fit`` on each block of rows of ``X`` (and the
    matching rows of ``y``), in the order of the blocks, ``epochs`` times
    over. Only one block is computed and held at a time, so the memory
    needed is that of one block and the model, however many rows ``X``
    has. With a ``distributed`` client each step runs on a worker (the
    model moves to the block or the block to the model); otherwise blocks
    are computed by the local scheduler and the model trains here. The
    result is the same either way, bit for bit, given an int
    ``random_state``: the model's first call fixes its standardisation, so
    the first block should be a fair sample of the rows.

    Parameters
    ----------
    estimator : MDNRegressor
        The estimator to train (or any with ``partial_fit``), trained in
        place: unfitted, or fitted (training continues).

    X : dask.array.Array of shape (n_samples, n_features)
        Inputs. Chunks along the columns are merged.

    y : dask.array.Array or ndarray of shape (n_samples,) or \
            (n_samples, n_outputs)
        Targets; rechunked to the row blocks of ``X``.

    sample_weight : dask.array.Array or ndarray of shape (n_samples,), \
            default=None
        Weights of the rows; rechunked to the row blocks of ``X``.

    epochs : int, default=1
        Passes over all the blocks.

    Returns
    -------
    estimator : MDNRegressor
        The estimator, trained.

    See Also
    --------
    MDNRegressor.partial_fit : One epoch over rows in memory.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from sklearn_mdn import MDNRegressor
    >>> from sklearn_mdn.dask import fit_incremental
    >>> rng = np.random.RandomState(0)
    >>> X = da.from_array(rng.uniform(-1, 1, size=(600, 2)), chunks=(200, 2))
    >>> y = X[:, 0] + 0.1 * da.from_array(rng.normal(size=600), chunks=200)
    >>> model = MDNRegressor(hidden_layer_sizes=(8,), random_state=0)
    >>> model = fit_incremental(model, X, y, epochs=2)
    >>> model.n_iter_  # one partial_fit call per block and epoch
    6
    """
    if not hasattr(estimator, "partial_fit"):
        raise TypeError(
            f"{type(estimator).__name__} has no partial_fit; fit_incremental "
            "trains an MDNRegressor (or any estimator with partial_fit)."
        )
    _check_positive_int(epochs, "epochs")
    X = _check_rows(X)
    y = _rows_like(y, X, "y")
    if sample_weight is not None:
        sample_weight = _rows_like(sample_weight, X, "sample_weight")
        if sample_weight.ndim != 1:
            raise ValueError("sample_weight must be 1-D.")
    blocks = [
        (
            X.blocks[i],
            y.blocks[i],
            None if sample_weight is None else sample_weight.blocks[i],
        )
        for i in range(X.numblocks[0])
    ]
    client = _active_client()
    if client is None:
        for _ in range(epochs):
            for block in blocks:
                _step(estimator, *dask.compute(*block))
        return estimator
    from distributed import wait

    model = estimator
    for _ in range(epochs):
        for block in blocks:
            model = client.compute(dask.delayed(_step, pure=False)(model, *block))
            wait(model)
            if model.status == "error":
                model.result()  # raises the step's exception
    trained = model.result()
    vars(estimator).update(vars(trained))
    return estimator
