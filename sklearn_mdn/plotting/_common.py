"""Helpers shared by the displays: matplotlib, targets and the estimator path."""

from __future__ import annotations

import numbers

import numpy as np

from .._estimators._compose import _inverse, _unwrap
from ..distribution._mixture import NormalMixture, _check_dist
from ..metrics import pit


def _pyplot(caller: str):
    """``matplotlib.pyplot``, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with "
            '`pip install ".[plot]"` from a clone of the repository (or '
            "`pip install matplotlib`)."
        ) from None
    return plt


def _get_ax(ax, caller: str):
    plt = _pyplot(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _select_target(dist: NormalMixture, target) -> NormalMixture:
    """The univariate marginal of target ``target`` (None for one target)."""
    if not dist.event_shape:
        if target not in (None, 0):
            raise ValueError(f"target={target!r}, but the distribution has 1 target.")
        return dist
    if target is None:
        if dist.n_targets != 1:
            raise ValueError(
                f"The distribution has {dist.n_targets} targets; choose one with "
                "target=j."
            )
        target = 0
    return dist.marginal(target)


def _column_index(X, feature, feature_names) -> int:
    n_features = X.shape[1]
    if isinstance(feature, str):
        if feature_names is None or feature not in list(feature_names):
            raise ValueError(
                f"feature={feature!r} is not a column name of X"
                + (
                    f" (columns: {list(feature_names)})"
                    if feature_names is not None
                    else ""
                )
            )
        return list(feature_names).index(feature)
    if (
        not isinstance(feature, numbers.Integral)
        or not -n_features <= feature < n_features
    ):
        raise ValueError(
            f"feature must be a column index in [0, {n_features}) or a column "
            f"name, got {feature!r}."
        )
    return int(feature) % n_features


def _grid_inputs(X, j: int, grid: np.ndarray):
    """Rows equal to a typical row of ``X`` except column ``j``, set to ``grid``.

    The other columns hold their median (numeric columns) or their most
    frequent value. A pandas DataFrame gives a DataFrame with the same columns.
    """
    if hasattr(X, "iloc"):
        base = {}
        for name in X.columns:
            column = X[name]
            if np.issubdtype(column.dtype, np.number):
                base[name] = column.median()
            else:
                base[name] = column.mode(dropna=True).iloc[0]
        rows = X.iloc[np.zeros(len(grid), dtype=int)].copy()
        for name, value in base.items():
            rows[name] = value
        rows[X.columns[j]] = grid
        rows.index = range(len(grid))
        return rows
    X = np.asarray(X, dtype=np.float64)
    rows = np.repeat(np.median(X, axis=0, keepdims=True), len(grid), axis=0)
    rows[:, j] = grid
    return rows


def _pit_values(y, dist, target) -> np.ndarray:
    """PIT values of the observed entries of ``y``, of one target or pooled."""
    dist = _check_dist(dist)
    values = pit(y, dist, missing_targets="marginalize")
    if values.ndim == 2 and target is not None:
        values = values[:, target]
    values = values.ravel()
    return values[~np.isnan(values)]


# ----------------------------------------------------------------------
# Target transforms (TransformedTargetRegressor)
# ----------------------------------------------------------------------
def _to_inner(transformers: list, y: np.ndarray) -> np.ndarray:
    """Map targets ``y`` (shape (m,) or (m, d)) from the outer units into the
    space of the innermost regressor: ``transform`` outermost first."""
    values = np.asarray(y, dtype=np.float64)
    for transformer in reversed(transformers):
        out = transformer.transform(values.reshape(len(values), -1))
        values = np.asarray(out, dtype=np.float64).reshape(values.shape)
    return values


def _to_outer(transformers: list, values: np.ndarray, target_axis) -> np.ndarray:
    """Map inner target values back to the outer units (innermost first)."""
    for transformer in transformers:
        values = _inverse(transformer, values, target_axis)
    return values


def _directions(dist: NormalMixture, transformers: list) -> np.ndarray:
    """``+1`` or ``-1`` per target: whether the target transform increases.

    Told, as in :func:`sklearn_mdn.predict_quantiles`, by mapping every row's
    inner quartiles back to the outer units; a transform that increases for
    some rows and decreases for others is not monotone and is refused.
    """
    if len(dist) == 0:
        return np.ones(dist.n_targets)
    quartiles = dist.ppf([0.25, 0.75])
    outer = _to_outer(transformers, quartiles, None if quartiles.ndim == 2 else 1)
    increasing = (outer[..., 1] >= outer[..., 0]).reshape(len(dist), -1)
    if not np.all(increasing.all(axis=0) | ~increasing.any(axis=0)):
        raise ValueError(
            "The target transform is not monotone on the predictive distributions "
            "(it increases for some rows and decreases for others); PIT values "
            "and coverage are only defined through a monotone transform."
        )
    return np.where(increasing[0], 1.0, -1.0)


def _reflect(dist: NormalMixture, signs: np.ndarray) -> NormalMixture:
    """The distribution of ``S Y`` for ``S = diag(signs)`` with signs +-1.

    ``S L S`` is lower triangular with the diagonal of ``L``: a valid Cholesky
    factor of ``S Sigma S``.
    """
    return NormalMixture(
        dist.weights,
        dist.means * signs,
        dist.scale_tril * signs[:, None] * signs[None, :],
        event_shape=dist.event_shape,
    )


def _density_on_grid(
    dist: NormalMixture, y_grid: np.ndarray, transformers: list
) -> np.ndarray:
    """Density of every row of ``dist`` at every ``y_grid`` value, (n_y, n).

    ``y_grid`` is in the outer units: with target transforms ``T`` the density
    of the inner mixture at ``T(y)`` is multiplied by ``|T'(y)|``.
    """
    n_y, n = len(y_grid), len(dist)
    if not transformers:
        return dist.pdf(np.broadcast_to(y_grid[:, None], (n_y, n)))
    spacing = np.diff(y_grid)
    if not np.all(spacing > 0):
        raise ValueError("With a target transform, y_grid must be increasing.")
    h = 1e-5 * spacing.min()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inner = _to_inner(transformers, y_grid)
        upper = _to_inner(transformers, y_grid + h)
        slope = (upper - _to_inner(transformers, y_grid - h)) / (2 * h)
    span = f"[{y_grid[0]:.4g}, {y_grid[-1]:.4g}]"
    if not (np.all(np.isfinite(inner)) and np.all(np.isfinite(slope))):
        raise ValueError(
            f"The target transform is not finite over the plotted y grid {span}; "
            "pass a y_grid inside its domain."
        )
    if not (np.all(slope > 0) or np.all(slope < 0)):
        raise ValueError(
            f"The target transform is not monotone over the plotted y grid {span}: "
            "the density cannot be mapped through it."
        )
    return dist.pdf(np.broadcast_to(inner[:, None], (n_y, n))) * np.abs(slope)[:, None]


def _outer_padded(outer, values: np.ndarray) -> np.ndarray:
    """``outer`` of NaN-padded inner values (the padding kept as NaN)."""
    found = ~np.isnan(values)
    flat = outer(np.where(found, values, 0.0).reshape(-1)).reshape(values.shape)
    return np.where(found, flat, np.nan)


def _calibration_inputs(estimator, X, y, estimator_name, caller):
    """Observations and predictive mixtures in the space of the inner regressor.

    The one path of the calibration displays' ``from_estimator``: unwraps
    ``Pipeline``, searches and ``TransformedTargetRegressor`` (see
    ``sklearn_mdn._estimators._compose``), predicts the inner mixtures and maps ``y``
    through the target transforms. PIT values and coverage do not change under
    a monotone increasing transform; a decreasing one is undone by reflecting
    the transformed target. Returns ``(y_inner, dist, estimator_name)``;
    ``caller`` names the display's method in the errors.
    """
    mdn, X_inner, transformers = _unwrap(estimator, X, caller)
    dist = mdn.predict_dist(X_inner)
    if estimator_name is None:
        estimator_name = type(estimator).__name__
    if not transformers:
        return y, dist, estimator_name
    signs = _directions(dist, transformers)
    y_inner = _to_inner(transformers, y) * (signs if dist.event_shape else signs[0])
    return y_inner, _reflect(dist, signs), estimator_name
