"""What :class:`PredictiveDensityDisplay` shows, computed from an estimator:
the grid of one input feature, the predictive density over it and the
layers (interval, highest-density region, point estimates, modes, samples)."""

from __future__ import annotations

import numbers

import numpy as np

from .._estimators._compose import _unwrap
from ._common import (
    _column_index,
    _density_on_grid,
    _grid_inputs,
    _outer_padded,
    _select_target,
    _to_outer,
)

_POINT_ESTIMATES = ("mean", "top", "mode")


def _check_point_estimates(point_estimate) -> tuple:
    names = (point_estimate,) if isinstance(point_estimate, str) else point_estimate
    names = tuple(names or ())
    for name in names:
        if name not in _POINT_ESTIMATES:
            raise ValueError(
                f"point_estimate must be among {_POINT_ESTIMATES}, got {name!r}."
            )
    return names


def _display_fields(
    estimator,
    X,
    y,
    *,
    feature,
    target,
    grid,
    n_points,
    y_grid,
    coverage,
    hdr,
    modes,
    point_estimate,
    n_samples,
    random_state,
) -> dict:
    """The data of a :class:`PredictiveDensityDisplay` of ``estimator`` along
    ``feature`` (the arguments of its ``from_estimator``): the grid, the
    density and every layer asked for, in the display's parameters."""
    names = _check_point_estimates(point_estimate)
    if not isinstance(n_samples, numbers.Integral) or n_samples < 0:
        raise ValueError(
            f"n_samples must be a non-negative integer, got {n_samples!r}."
        )
    if not hasattr(X, "iloc"):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got an array of shape {X.shape}.")
    feature_names = getattr(X, "columns", None)
    j = _column_index(X, feature, feature_names)
    x_column = np.asarray(X.iloc[:, j] if hasattr(X, "iloc") else X[:, j], float)
    if grid is None:
        grid = np.linspace(x_column.min(), x_column.max(), n_points)
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or len(grid) < 2:
        raise ValueError("grid must be 1-D with at least 2 values.")

    mdn, rows, transformers = _unwrap(
        estimator,
        _grid_inputs(X, j, grid),
        "PredictiveDensityDisplay.from_estimator",
    )
    dist = mdn.predict_dist(rows)
    if transformers and dist.n_targets > 1:
        raise ValueError(
            "PredictiveDensityDisplay maps the density through a target "
            f"transform for a single target only; this one has {dist.n_targets}."
        )
    # The estimator's own intervals and regions (calibrate="conformal"
    # applies) for a 1-D target; the selected marginal's otherwise.
    own = not dist.event_shape
    dist = _select_target(dist, target)

    def outer(values):
        # Inner target values in the outer units (identity without transform).
        return _to_outer(transformers, values, None)

    y_data = None
    if y is not None:
        y_data = np.asarray(y, dtype=np.float64)
        if y_data.ndim == 2:
            y_data = y_data[:, 0 if target is None else target]
    if isinstance(y_grid, numbers.Integral):
        bounds = np.sort(outer(dist.ppf(np.array([0.001, 0.999]))), axis=1)
        lo, hi = bounds[:, 0].min(), bounds[:, 1].max()
        if y_data is not None:
            lo, hi = min(lo, y_data.min()), max(hi, y_data.max())
        y_grid = np.linspace(lo, hi, y_grid)
    y_grid = np.asarray(y_grid, dtype=np.float64)
    density = _density_on_grid(dist, y_grid, transformers)

    point_estimates = {name: outer(getattr(dist, name)()) for name in names}
    interval = None
    if coverage is not None:
        inner = dist.interval(coverage)
        if own:
            inner = mdn.predict_interval(rows, coverage)
        interval = np.sort(outer(inner), axis=1)
    hdr_intervals = None
    if hdr is not None:
        inner = mdn.predict_hdr(rows, hdr) if own else dist.hdr(hdr)
        hdr_intervals = np.sort(_outer_padded(outer, inner[0]), axis=-1)
    mode_values = masses = None
    if modes:
        mode_values, masses, _ = dist.modes()
        mode_values = _outer_padded(outer, mode_values)
    samples = outer(dist.sample(n_samples, random_state)) if n_samples else None

    if feature_names is not None:
        feature_name = str(feature_names[j])
    else:
        names_in = getattr(estimator, "feature_names_in_", None)
        feature_name = str(names_in[j]) if names_in is not None else f"x{j}"
    target_name = "y" if target is None else f"y{target}"
    if y is not None and hasattr(y, "name"):
        target_name = str(y.name)
    elif y is not None and hasattr(y, "columns") and target is not None:
        target_name = str(y.columns[target])

    return {
        "x_grid": grid,
        "y_grid": y_grid,
        "density": density,
        "interval": interval,
        "coverage": coverage,
        "point_estimates": point_estimates,
        "samples": samples,
        "hdr": hdr_intervals,
        "hdr_coverage": hdr,
        "modes": mode_values,
        "mode_masses": masses,
        "x_data": x_column if y_data is not None else None,
        "y_data": y_data,
        "feature_name": feature_name,
        "target_name": target_name,
    }
