"""Maps of predictions from image cubes (bands per pixel), over Dask.

:func:`predict_image` is public as :func:`sklearn_mdn.dask.predict_image`.
"""

import numbers
import warnings

import dask.array as da
import numpy as np

from .._estimators._compose import _unwrap
from .._utils._warnings import find_stack_level
from ..distribution._checks import _check_coverage, _check_levels, _check_n_samples
from ._chunks import (
    _apply,
    _check_seed,
    _map_rows,
    _target_shape,
)


class SkippedPixelsWarning(UserWarning):
    """Pixels with a non-finite band were not predicted and came out as NaN."""


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
        levels = np.atleast_1d(_check_levels(quantiles, "quantiles"))
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
    mdn = _unwrap(estimator, None, "sklearn_mdn.dask")[0]
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
            stacklevel=find_stack_level(),
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
