"""Helpers of :mod:`sklearn_mdn.dask`: the fitted model in the graph, row chunks.

The model enters the graph once (:func:`_model_ref`), :func:`_map_rows` maps a
function over the row chunks, and :func:`_apply` predicts one chunk; the
per-chunk generators of the draws come from :func:`chunk_random_state`.
"""

import numbers
import warnings

import dask
import dask.array as da
import numpy as np

from .._estimators._compose import (
    _unwrap,
    predict_dist,
    predict_interval,
    predict_quantiles,
    sample,
)


def _target_shape(estimator) -> tuple:
    """``()`` for a model fitted on a 1-D target, ``(n_outputs,)`` otherwise.

    Told by predicting one row of zeros in the innermost model's input space
    (a few microseconds on the client): the shapes of the lazy outputs must be
    known before any chunk is computed.
    """
    mdn = _unwrap(estimator, None, "sklearn_mdn.dask")[0]
    probe = np.zeros((1, mdn.n_features_in_))
    try:
        with warnings.catch_warnings():
            # e.g. "X does not have valid feature names" for a model fitted on
            # a DataFrame: the probe is not the user's data.
            warnings.simplefilter("ignore")
            return np.shape(mdn.predict(probe))[1:]
    except ValueError:  # zeros far outside the training range
        return () if mdn.n_outputs_ == 1 else (mdn.n_outputs_,)


def _check_rows(X, name="X"):
    """``X`` as a 2-D Dask array whose chunks span all columns."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"{name} must be a dask.array.Array, got {type(X).__name__}; wrap "
            "an in-memory array with dask.array.from_array(X, chunks=...), or "
            "call the estimator's own methods."
        )
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {X.ndim}-D.")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X


def _active_client():
    """The active ``distributed`` client, or None."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _model_ref(estimator):
    """The fitted model as one object of the graph.

    With an active ``distributed`` client, one future scattered to every
    worker (``broadcast=True``); otherwise one ``dask.delayed`` key. Either way
    the model is serialised once, not once per chunk.
    """
    client = _active_client()
    if client is not None:
        return client.scatter(estimator, broadcast=True, hash=True)
    return dask.delayed(estimator, pure=True, traverse=False)


def _map_rows(func, X, model, trailing, *args, extra=(), **kwargs):
    """``func(block, *extra_blocks, model=, args=, **kwargs)`` over the row
    chunks of ``X``, giving float64 blocks of shape ``(rows, *trailing)``."""
    chunks = (X.chunks[0], *((n,) for n in trailing))
    new_axis = list(range(2, 1 + len(trailing))) if len(trailing) > 1 else None
    drop_axis = [] if trailing else [1]
    return da.map_blocks(
        func,
        X,
        *extra,
        model=_model_ref(model),
        args=args,
        chunks=chunks,
        drop_axis=drop_axis,
        new_axis=new_axis,
        dtype=np.float64,
        meta=np.empty((0,) * (1 + len(trailing)), dtype=np.float64),
        **kwargs,
    )


def _apply(block, *extra, model, args, method, block_id=None):
    block = np.asarray(block)
    if method == "predict":
        return np.asarray(model.predict(block), dtype=np.float64)
    if method == "interval":
        return predict_interval(model, block, *args)
    if method == "quantiles":
        return predict_quantiles(model, block, *args)
    if method == "sample":
        n_samples, seed = args
        rng = chunk_random_state(seed, block_id[0])
        return sample(model, block, n_samples, random_state=rng)
    if method == "log_prob":
        return predict_dist(model, block).log_prob(np.asarray(extra[0]))
    raise ValueError(f"unknown method {method!r}")  # pragma: no cover


def _check_seed(random_state):
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            "random_state must be an int seed, from which each chunk's "
            f"generator is derived; got {random_state!r}."
        )
    if random_state < 0:
        raise ValueError(f"random_state must be non-negative, got {random_state}.")
    return int(random_state)


def chunk_random_state(random_state, block_index):
    """The generator that :func:`sample` uses for one chunk of rows.

    Parameters
    ----------
    random_state : int
        The seed passed to :func:`sample`.

    block_index : int
        Index of the chunk along the rows (0 for the first chunk).

    Returns
    -------
    rng : numpy.random.RandomState
        A Mersenne Twister seeded by ``SeedSequence([random_state,
        block_index])``: independent streams for different chunks, the same
        stream whichever worker computes the chunk and when.

    Examples
    --------
    >>> from sklearn_mdn.dask import chunk_random_state
    >>> a = chunk_random_state(0, 3).random_sample()
    >>> b = chunk_random_state(0, 3).random_sample()
    >>> a == b, a == chunk_random_state(0, 4).random_sample()
    (True, False)
    """
    seed = np.random.SeedSequence([int(random_state), int(block_index)])
    return np.random.RandomState(np.random.MT19937(seed))
