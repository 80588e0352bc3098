"""Predictions over Dask arrays and image cubes, chunk by chunk.

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

This module needs the ``dask`` extra: ``pip install "sklearn-mdn[dask]"``
(``dask[array]``, ``distributed`` for clusters, ``xarray`` for labelled
cubes).

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

import numbers
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

import sklearn_mdn

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "sklearn_mdn.dask needs dask: pip install 'sklearn-mdn[dask]'."
    ) from exc

__all__ = [
    "SkippedPixelsWarning",
    "chunk_random_state",
    "log_prob",
    "predict",
    "predict_image",
    "predict_interval",
    "predict_quantiles",
    "sample",
]


class SkippedPixelsWarning(UserWarning):
    """Pixels with a non-finite band were not predicted and came out as NaN."""


# ---------------------------------------------------------------- helpers
def _innermost(estimator, *, transformed=False):
    """The innermost regressor with ``predict_dist`` (checked fitted), and,
    if ``transformed``, whether a target transform lies on the way."""
    has_transform = False
    while True:
        if all(hasattr(estimator, a) for a in ("estimator", "cv", "refit")):
            check_is_fitted(estimator, "best_estimator_")
            estimator = estimator.best_estimator_
        elif isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
        elif isinstance(estimator, TransformedTargetRegressor):
            check_is_fitted(estimator, "regressor_")
            estimator = estimator.regressor_
            has_transform = True
        elif hasattr(estimator, "predict_dist"):
            check_is_fitted(estimator)
            return (estimator, has_transform) if transformed else estimator
        else:
            raise TypeError(
                f"{type(estimator).__name__} is neither an MDNRegressor nor a "
                "Pipeline, TransformedTargetRegressor or search wrapping one."
            )


def _target_shape(estimator) -> tuple:
    """``()`` for a model fitted on a 1-D target, ``(n_outputs,)`` otherwise.

    Told by predicting one row of zeros in the innermost model's input space
    (a few microseconds on the client): the shapes of the lazy outputs must be
    known before any chunk is computed.
    """
    mdn = _innermost(estimator)
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


def _model_ref(estimator):
    """The fitted model as one object of the graph.

    With an active ``distributed`` client, one future scattered to every
    worker (``broadcast=True``); otherwise one ``dask.delayed`` key. Either way
    the model is serialised once, not once per chunk.
    """
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        client = None
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
        return sklearn_mdn.predict_interval(model, block, *args)
    if method == "quantiles":
        return sklearn_mdn.predict_quantiles(model, block, *args)
    if method == "sample":
        n_samples, seed = args
        rng = chunk_random_state(seed, block_id[0])
        return sklearn_mdn.sample(model, block, n_samples, random_state=rng)
    if method == "log_prob":
        return sklearn_mdn.predict_dist(model, block).log_prob(np.asarray(extra[0]))
    raise ValueError(f"unknown method {method!r}")  # pragma: no cover


def _levels(quantiles):
    levels = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    if levels.ndim != 1:
        raise ValueError(f"quantiles must be a scalar or 1-D, got shape {levels.shape}")
    if not ((levels >= 0) & (levels <= 1)).all():
        raise ValueError(f"quantiles must lie in [0, 1], got {levels.tolist()}.")
    return levels


def _check_coverage(coverage):
    if not isinstance(coverage, numbers.Real) or not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage!r}.")


def _check_seed(random_state):
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            "random_state must be an int seed, from which each chunk's "
            f"generator is derived; got {random_state!r}."
        )
    if random_state < 0:
        raise ValueError(f"random_state must be non-negative, got {random_state}.")
    return int(random_state)


def _check_n_samples(n_samples):
    if (
        isinstance(n_samples, bool)
        or not isinstance(n_samples, numbers.Integral)
        or n_samples < 1
    ):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    return int(n_samples)


# ---------------------------------------------------------------- public
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
    levels = _levels(quantiles)
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
    if _innermost(estimator, transformed=True)[1]:
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
    return sklearn_mdn.predict_dist(model, np.asarray(block)).log_prob(y_block)


# ------------------------------------------------------------ image cubes
_METHODS = ("predict", "interval", "quantiles", "sample")


def _image_block(block, *, model, args, method, n_out, block_id=None):
    """Predict the finite rows of one block; NaN for the others."""
    block = np.asarray(block)
    finite = np.isfinite(block).all(axis=1)
    out = np.full((len(block), *n_out), np.nan)
    if finite.any():
        out[finite] = _apply(
            block[finite],
            model=model,
            args=args,
            method=method,
            block_id=block_id,
        )
    return out


def predict_image(
    estimator,
    cube,
    *,
    band_dim="band",
    method="predict",
    coverage=0.9,
    quantiles=(0.05, 0.5, 0.95),
    n_samples=1,
    random_state=None,
    chunks="auto",
):
    """Maps of predictions from a cube of bands, pixel by pixel.

    Every pixel's band values form one row of inputs. Pixels with any
    non-finite band (clouds, land, no data) are not predicted: they come out
    as NaN, and a :class:`SkippedPixelsWarning` counts them.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`~sklearn_mdn.MDNRegressor`
        and takes as many features as the cube has bands.

    cube : xarray.DataArray, dask.array.Array or ndarray
        The bands. A ``DataArray`` names its band dimension ``band_dim``; an
        array has its bands on axis ``band_dim`` (an int). Any number of other
        (spatial) dimensions.

    band_dim : str or int, default="band"
        The band dimension's name (``DataArray``) or axis (arrays; give an
        int, e.g. ``-1`` or ``0``).

    method : {"predict", "interval", "quantiles", "sample"}, default="predict"
        What to map: the point estimate, the equal-tailed interval of
        ``coverage``, the ``quantiles``, or ``n_samples`` draws.

    coverage : float, default=0.9
        Coverage of the intervals (``method="interval"``).

    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        Levels (``method="quantiles"``).

    n_samples : int, default=1
        Draws per pixel (``method="sample"``).

    random_state : int, default=None
        Seed of the draws (required for ``method="sample"``), as in
        :func:`sample`.

    chunks : str, int or tuple, default="auto"
        Chunks of the flattened pixels (rows) when the cube is not already a
        Dask array, passed to ``dask.array.from_array``.

    Returns
    -------
    maps : same type as ``cube``
        The cube's dimensions without the band one, in their order, plus
        ``"target"`` for a multi-output model and ``"bound"`` (``"lower"``,
        ``"upper"``), ``"quantile"`` (the levels) or ``"draw"``, last. A
        ``DataArray`` keeps the coordinates that do not involve the bands, and
        is lazy when its data are; a numpy cube gives a numpy array (computed
        with the current Dask scheduler), a Dask cube a lazy Dask array.

    Warns
    -----
    SkippedPixelsWarning
        When some pixels have a non-finite band; the message counts them. For
        lazy cubes, counting reads the bands once (a reduction to one number).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import MDNRegressor
    >>> from sklearn_mdn.dask import predict_image
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(300, 3))
    >>> model = MDNRegressor(hidden_layer_sizes=(8,), max_iter=5,
    ...                      random_state=0).fit(X, X.sum(axis=1))
    >>> cube = rng.uniform(size=(4, 5, 3))   # rows, columns, bands
    >>> cube[0, 0, 1] = np.nan
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     maps = predict_image(model, cube, band_dim=-1, method="interval")
    >>> maps.shape, bool(np.isnan(maps[0, 0]).all()), str(caught[0].message)
    ((4, 5, 2), True, '1 of 20 pixels have a non-finite band: NaN in the output.')
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    args = ()
    if method == "interval":
        _check_coverage(coverage)
        args = (coverage,)
    elif method == "quantiles":
        levels = _levels(quantiles)
        args = (levels,)
    elif method == "sample":
        args = (_check_n_samples(n_samples), _check_seed(random_state))

    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        xr = None
    is_xarray = xr is not None and isinstance(cube, xr.DataArray)

    if is_xarray:
        if band_dim not in cube.dims:
            raise ValueError(
                f"band_dim {band_dim!r} is not a dimension of the cube, whose "
                f"dimensions are {cube.dims}."
            )
        spatial_dims = [d for d in cube.dims if d != band_dim]
        data = cube.transpose(*spatial_dims, band_dim).data
        was_lazy = isinstance(data, da.Array)
    else:
        if not isinstance(band_dim, numbers.Integral) or isinstance(band_dim, bool):
            raise TypeError(
                "For an array cube, band_dim must be the int axis of the bands, "
                f"got {band_dim!r}."
            )
        if not isinstance(cube, da.Array):
            cube = np.asarray(cube)
        axis = int(band_dim)
        if not -cube.ndim <= axis < cube.ndim:
            raise ValueError(
                f"band_dim {axis} is out of range for a {cube.ndim}-D cube."
            )
        was_lazy = isinstance(cube, da.Array)
        data = (da if was_lazy else np).moveaxis(cube, axis, -1)

    if data.ndim < 2:
        raise ValueError(
            "The cube needs a band axis and at least one other, got shape "
            f"{data.shape}."
        )
    spatial_shape = data.shape[:-1]
    n_bands = data.shape[-1]
    mdn = _innermost(estimator)
    n_features = getattr(estimator, "n_features_in_", mdn.n_features_in_)
    if n_bands != n_features:
        raise ValueError(
            f"The cube has {n_bands} bands but the estimator takes {n_features} "
            "features."
        )

    n_pixels = int(np.prod(spatial_shape))
    if isinstance(data, da.Array):
        rows = data.rechunk({data.ndim - 1: -1}).reshape(n_pixels, n_bands)
        rows = rows.rechunk({1: -1})
    else:
        rows = da.from_array(
            np.ascontiguousarray(data).reshape(n_pixels, n_bands),
            chunks=(chunks, -1),
        )

    bad = da.logical_not(da.isfinite(rows).all(axis=1)).sum()
    n_bad = int(bad.compute())
    if n_bad:
        warnings.warn(
            f"{n_bad} of {n_pixels} pixels have a non-finite band: NaN in the output.",
            SkippedPixelsWarning,
            stacklevel=2,
        )

    target = _target_shape(estimator)
    if method == "predict":
        trailing = target
    elif method == "interval":
        trailing = (*target, 2)
    elif method == "quantiles":
        trailing = (*target, len(levels))
    else:
        trailing = (n_samples, *target)
    flat = _map_rows(
        _image_block, rows, estimator, trailing, *args, method=method, n_out=trailing
    )
    maps = flat.reshape(*spatial_shape, *trailing)
    if method == "sample" and target:
        # draws last, after the targets, like the other methods' extra axis
        maps = da.moveaxis(maps, len(spatial_shape), -1)

    if not is_xarray:
        return maps if was_lazy else maps.compute()

    extra_dims = ["target"] if target else []
    coords = {}
    if method == "interval":
        extra_dims.append("bound")
        coords["bound"] = ["lower", "upper"]
    elif method == "quantiles":
        extra_dims.append("quantile")
        coords["quantile"] = levels
    elif method == "sample":
        extra_dims.append("draw")
    for name, coord in cube.coords.items():
        if band_dim not in coord.dims:
            coords[name] = coord
    name = cube.name if method == "predict" else None
    return xr.DataArray(
        maps if was_lazy else maps.compute(),
        dims=(*spatial_dims, *extra_dims),
        coords=coords,
        name=name,
        attrs={"method": method},
    )
