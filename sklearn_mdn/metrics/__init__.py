"""Scores of predictive distributions: NLL, CRPS, interval coverage, PIT; scorers."""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from ..distribution._checks import (
    _CRPS_CHUNK_ELEMENTS,
    _check_interval,
    _check_mixture_weights,
    _check_observed,
    _check_targets,
    _check_weights,
)
from ..distribution._density import _INV_SQRT_2PI, _marginal_scales
from ..distribution._mixture import NormalMixture, _check_dist
from ._likelihood import _weighted_mean, mean_negative_log_likelihood
from ._scorers import make_dist_scorer

__all__ = [
    "crps",
    "gaussian_mixture_crps",
    "interval_coverage",
    "make_dist_scorer",
    "mean_interval_width",
    "mean_negative_log_likelihood",
    "neg_crps_scorer",
    "neg_nll_scorer",
    "pit",
]


def __dir__():
    # dir() and tab completion show the public names only, not the imports
    # (np, erf, ...) and private helpers, as scikit-learn's modules do.
    return list(__all__)


_INV_SQRT_2 = float(1.0 / np.sqrt(2.0))


# ----------------------------------------------------------------------
# Averages
# ----------------------------------------------------------------------
def _average_targets(values: np.ndarray, multioutput):
    """Combine per-target scores as scikit-learn's regression metrics do."""
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return values
        if multioutput == "uniform_average":
            return float(values.mean())
        raise ValueError(
            "multioutput must be 'raw_values', 'uniform_average' or an array of "
            f"weights, got {multioutput!r}."
        )
    weights = np.asarray(multioutput, dtype=np.float64)
    if weights.shape != values.shape:
        raise ValueError(
            f"multioutput weights have shape {weights.shape}; expected "
            f"{values.shape} (one weight per target)."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum():
        raise ValueError(
            "multioutput weights must be non-negative with a positive sum."
        )
    return float(np.average(values, weights=weights))


def _per_target_means(values, observed, sample_weight, multioutput):
    """Weighted mean of ``values`` (n, d) over the observed rows of each target."""
    d = values.shape[1]
    means = np.array(
        [
            _weighted_mean(
                values[observed[:, j], j],
                sample_weight[observed[:, j]],
                f"target {j}",
            )
            for j in range(d)
        ]
    )
    return _average_targets(means, multioutput)


# ----------------------------------------------------------------------
# CRPS
# ----------------------------------------------------------------------
def _expected_abs(m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``E|X|`` for ``X ~ N(m, s^2)``: ``m (2 Phi(m/s) - 1) + 2 s phi(m/s)``."""
    z = m / s
    return m * erf(z * _INV_SQRT_2) + 2.0 * s * _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def gaussian_mixture_crps(y, weights, means, scales):
    """Continuous ranked probability score of univariate Gaussian mixtures.

    Closed form (Grimit et al., 2006) for ``F = sum_k w_k N(mu_k, s_k^2)``::

        CRPS(F, y) = sum_k w_k A(y - mu_k, s_k^2)
                     - 1/2 sum_{k, l} w_k w_l A(mu_k - mu_l, s_k^2 + s_l^2)

    with ``A(m, v) = E|X|`` for ``X ~ N(m, v)``, that is
    ``2 sqrt(v) phi(m / sqrt(v)) + m (2 Phi(m / sqrt(v)) - 1)``. This equals
    ``E|Y - y| - 1/2 E|Y - Y'|`` and the integral of ``(F(x) - 1{x >= y})^2``
    over ``x``. It is in the units of ``y``; lower is better.

    Parameters
    ----------
    y : array-like of shape (...)
        Observed values. NaN gives NaN.
    weights : array-like of shape (..., K)
        Mixture weights: non-negative, summing to one over the last axis
        (within 1e-5).
    means : array-like of shape (..., K)
        Component means.
    scales : array-like of shape (..., K)
        Component standard deviations, strictly positive.

    Returns
    -------
    crps : ndarray
        One score per value, with the broadcast shape of ``y`` and of the
        leading axes of the parameters.

    See Also
    --------
    crps : Mean CRPS of ``NormalMixture`` predictions.

    References
    ----------
    E. P. Grimit, T. Gneiting, V. J. Berrocal and N. A. Johnson, "The
    continuous ranked probability score for circular variables and its
    application to mesoscale forecast ensemble verification", Quarterly
    Journal of the Royal Meteorological Society 132, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn.metrics import gaussian_mixture_crps
    >>> print(np.round(gaussian_mixture_crps(0.0, [1.0], [0.0], [1.0]), 4))
    0.2337
    >>> print(np.round(gaussian_mixture_crps([0.0, 2.0], [0.5, 0.5],
    ...                                      [-1.0, 1.0], [0.5, 0.5]), 4))
    [0.3672 1.363 ]
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    mu = np.asarray(means, dtype=np.float64)
    s = np.asarray(scales, dtype=np.float64)
    if min(w.ndim, mu.ndim, s.ndim) < 1:
        raise ValueError("weights, means and scales need a last (component) axis.")
    try:
        K = np.broadcast_shapes(w.shape[-1:], mu.shape[-1:], s.shape[-1:])[0]
        shape = np.broadcast_shapes(y.shape, w.shape[:-1], mu.shape[:-1], s.shape[:-1])
    except ValueError:
        raise ValueError(
            f"shapes do not broadcast: y {y.shape}, weights {w.shape}, means "
            f"{mu.shape}, scales {s.shape}."
        ) from None
    _check_mixture_weights(w)
    if not np.all(np.isfinite(mu)):
        raise ValueError("means must be finite.")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("scales must be finite and strictly positive.")

    y = np.broadcast_to(y, shape).reshape(-1)
    w = np.broadcast_to(w, (*shape, K)).reshape(-1, K)
    mu = np.broadcast_to(mu, (*shape, K)).reshape(-1, K)
    s = np.broadcast_to(s, (*shape, K)).reshape(-1, K)
    out = np.empty(y.shape)
    chunk = max(1, _CRPS_CHUNK_ELEMENTS // (K * K))
    for start in range(0, y.size, chunk):
        sl = slice(start, start + chunk)
        wc, muc, sc = w[sl], mu[sl], s[sl]
        spread = (wc * _expected_abs(y[sl, None] - muc, sc)).sum(axis=1)
        pair = _expected_abs(
            muc[:, :, None] - muc[:, None, :],
            np.sqrt(sc[:, :, None] ** 2 + sc[:, None, :] ** 2),
        )
        out[sl] = spread - 0.5 * np.einsum("pk,pl,pkl->p", wc, wc, pair)
    return out.reshape(shape)


def _marginal_crps(dist: NormalMixture, y: np.ndarray) -> np.ndarray:
    """CRPS of each target's marginal, shape (n, d); NaN where ``y`` is NaN."""
    scales = _marginal_scales(dist.scale_tril)  # (n, K, d)
    return gaussian_mixture_crps(
        y,
        dist.weights[:, None, :],
        np.swapaxes(dist.means, 1, 2),
        np.swapaxes(scales, 1, 2),
    )


def crps(
    y_true,
    dist,
    *,
    sample_weight=None,
    multioutput="uniform_average",
    missing_targets="error",
):
    """Mean continuous ranked probability score of predicted mixtures.

    The CRPS of a predictive cdf ``F`` at ``y`` is the integral of
    ``(F(x) - 1{x >= y})^2`` over ``x``: a proper score in the units of
    ``y`` that rewards both calibration and sharpness (lower is better; it
    reduces to the absolute error for a point forecast). It is computed in
    closed form for each row's Gaussian mixture (see
    :func:`gaussian_mixture_crps`), with a cost of ``K^2`` per value for
    ``K`` components. With several targets, each target is scored under its
    marginal distribution.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
        Observed targets, shaped like ``(n_samples, *dist.event_shape)``.
    dist : NormalMixture
        Predictive distributions, one row per sample.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_targets,), default="uniform_average"
        How to combine targets: ``"raw_values"`` returns the mean CRPS of
        each target, ``"uniform_average"`` their mean, an array their
        weighted mean.
    missing_targets : {"error", "marginalize"}, default="error"
        What a NaN in ``y_true`` means. ``"error"`` raises a ``ValueError``;
        ``"marginalize"`` averages each target's CRPS over the rows where it
        is observed.

    Returns
    -------
    crps : float or ndarray of shape (n_targets,)
        Mean CRPS (per target with ``multioutput="raw_values"``; a single
        target gives shape (1,) then).

    See Also
    --------
    gaussian_mixture_crps : The elementwise closed form.
    neg_crps_scorer : The matching scorer, for model selection.

    References
    ----------
    T. Gneiting and A. E. Raftery, "Strictly proper scoring rules,
    prediction, and estimation", Journal of the American Statistical
    Association 102, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import NormalMixture
    >>> from sklearn_mdn.metrics import crps
    >>> dist = NormalMixture(np.ones((2, 1)), np.zeros((2, 1, 1)),
    ...                      np.ones((2, 1, 1, 1)))
    >>> round(crps([0.0, 1.0], dist), 4)
    0.4181
    """
    y, observed = _check_targets(y_true, _check_dist(dist), missing_targets)
    sample_weight = _check_weights(sample_weight, len(y))
    values = _marginal_crps(dist, np.where(observed, y, 0.0))
    return _per_target_means(values, observed, sample_weight, multioutput)


# ----------------------------------------------------------------------
# Intervals and calibration
# ----------------------------------------------------------------------
def interval_coverage(
    y_true,
    interval,
    *,
    sample_weight=None,
    multioutput="uniform_average",
    missing_targets="error",
):
    """Fraction of targets inside their prediction intervals.

    A value counts as covered when ``lower <= y <= upper``. For calibrated
    intervals of nominal coverage ``c`` the result is close to ``c``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
        Observed targets.
    interval : array-like of shape (n_samples, 2) or (n_samples, n_targets, 2)
        Lower and upper bounds, as returned by ``predict_interval``: shape
        ``(*y_true.shape, 2)`` (for one target, ``y_true`` of shape
        ``(n_samples,)`` or ``(n_samples, 1)`` goes with either shape).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_targets,), default="uniform_average"
        How to combine targets, as in :func:`crps`.
    missing_targets : {"error", "marginalize"}, default="error"
        What a NaN in ``y_true`` means: an error, or a missing value left out
        of its target's average.

    Returns
    -------
    coverage : float or ndarray of shape (n_targets,)
        Weighted fraction of covered values.

    Examples
    --------
    >>> from sklearn_mdn.metrics import interval_coverage
    >>> interval_coverage([0.0, 1.5, 3.0], [[-1, 1], [0, 2], [0, 2]])
    0.6666666666666666
    """
    interval = _check_interval(interval)
    y = np.asarray(y_true, dtype=np.float64)
    n = len(interval)
    # One target: (n,) or (n, 1) against (n, 2) or (n, 1, 2), as in crps.
    single = interval.size == 2 * n and y.shape in ((n,), (n, 1))
    if y.shape != interval.shape[:-1] and not single:
        raise ValueError(
            f"y_true has shape {y.shape} but interval has shape {interval.shape}; "
            "interval must have shape (*y_true.shape, 2)."
        )
    y = y.reshape(len(y), -1)
    interval = interval.reshape(len(y), -1, 2)
    observed = _check_observed(y, missing_targets)
    sample_weight = _check_weights(sample_weight, len(y))
    inside = (interval[..., 0] <= y) & (y <= interval[..., 1])
    return _per_target_means(
        inside.astype(np.float64), observed, sample_weight, multioutput
    )


def mean_interval_width(interval, *, sample_weight=None, multioutput="uniform_average"):
    """Mean width ``upper - lower`` of prediction intervals.

    Parameters
    ----------
    interval : array-like of shape (n_samples, 2) or (n_samples, n_targets, 2)
        Lower and upper bounds, as returned by ``predict_interval``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_targets,), default="uniform_average"
        How to combine targets, as in :func:`crps`.

    Returns
    -------
    width : float or ndarray of shape (n_targets,)
        Weighted mean width, in the units of the targets.

    Examples
    --------
    >>> from sklearn_mdn.metrics import mean_interval_width
    >>> mean_interval_width([[-1, 1], [0, 3]])
    2.5
    """
    interval = _check_interval(interval)
    interval = interval.reshape(len(interval), -1, 2)
    sample_weight = _check_weights(sample_weight, len(interval))
    width = interval[..., 1] - interval[..., 0]
    observed = np.ones(width.shape, dtype=bool)
    return _per_target_means(width, observed, sample_weight, multioutput)


def pit(y_true, dist, *, missing_targets="error"):
    """Probability integral transform: the predictive cdf at the observations.

    For a calibrated model the PIT values are uniform on [0, 1]; a U-shaped
    histogram means over-confident predictions, a hump under-confident ones.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
        Observed targets, shaped like ``(n_samples, *dist.event_shape)``.
    dist : NormalMixture
        Predictive distributions, one row per sample.
    missing_targets : {"error", "marginalize"}, default="error"
        What a NaN in ``y_true`` means: an error, or a missing value whose
        PIT value is NaN.

    Returns
    -------
    pit : ndarray of shape (n_samples, \\*dist.event_shape)
        ``F_i(y_i)``; for several targets, each target's marginal cdf
        ``P(Y_ij <= y_ij)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import NormalMixture
    >>> from sklearn_mdn.metrics import pit
    >>> dist = NormalMixture(np.ones((2, 1)), np.zeros((2, 1, 1)),
    ...                      np.ones((2, 1, 1, 1)))
    >>> print(np.round(pit([0.0, 1.0], dist), 4))
    [0.5    0.8413]
    """
    y, observed = _check_targets(y_true, _check_dist(dist), missing_targets)
    values = dist.cdf(np.where(observed, y, 0.0).reshape(len(y), *dist.event_shape))
    values = values.reshape(y.shape)
    values[~observed] = np.nan
    return values.reshape(len(y), *dist.event_shape)


neg_nll_scorer = make_dist_scorer(mean_negative_log_likelihood)
neg_nll_scorer.__doc__ = """Scorer returning minus the mean negative log-likelihood.

``neg_nll_scorer(estimator, X, y)`` is
``-mean_negative_log_likelihood(y, estimator.predict_dist(X))``: the mean
log-likelihood of held-out data, greater is better, as scikit-learn's model
selection expects. NaN targets are marginalised when the fitted estimator has
``missing_targets="marginalize"``. Through a ``TransformedTargetRegressor``
it scores the density of ``y`` in its original units, by the change of
variables (see :func:`make_dist_scorer`). To request ``sample_weight`` under
metadata routing, build a fresh scorer with
``make_dist_scorer(mean_negative_log_likelihood)`` rather than changing this
shared object.
"""

neg_crps_scorer = make_dist_scorer(crps)
neg_crps_scorer.__doc__ = """Scorer returning minus the mean CRPS.

``neg_crps_scorer(estimator, X, y)`` is ``-crps(y, estimator.predict_dist(X))``
(averaged uniformly over targets): always negative, greater is better.
"""
