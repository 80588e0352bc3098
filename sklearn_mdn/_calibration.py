"""Calibration of the predicted spread on held-out rows."""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from ._solvers import _LOG_2PI, _solve_lower

# Range searched for the spread factor.
SPREAD_BOUNDS = (0.1, 10.0)


def fit_spread_factor(dist, y, sample_weight=None):
    """Factor on every component's scale that best fits held-out targets.

    Multiplying each component's scale (its Cholesky factor) by ``s``, means
    and weights kept, changes the component's log density at ``y`` to
    ``-m / (2 s**2) - d log(s) - log|L| - d/2 log(2 pi)``, where ``m`` is the
    squared Mahalanobis distance at ``s = 1``. One pass over the rows gives
    ``m``; the search for the ``s`` of least mean negative log-likelihood then
    costs a few array operations per trial.

    Parameters
    ----------
    dist : NormalMixture
        Predicted mixtures of the held-out rows, ``n`` rows.
    y : ndarray of shape (n, d)
        Held-out targets. Rows with a missing (NaN) target are left out.
    sample_weight : ndarray of shape (n,) or None, default=None
        Weights of the rows in the mean negative log-likelihood.

    Returns
    -------
    factor : float
        The factor, within ``SPREAD_BOUNDS``; 1.0 when no row is usable.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(dist), -1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    with np.errstate(all="ignore"):
        z = _solve_lower(dist.scale_tril, y[:, None, :] - dist.means)
        mahalanobis = np.einsum("nki,nki->nk", z, z)
        log_det = dist._half_log_det()
        log_weights = np.log(dist.weights)
    usable = np.isfinite(mahalanobis).all(axis=1) & (w > 0)
    if not usable.any():
        return 1.0
    mahalanobis, log_det = mahalanobis[usable], log_det[usable]
    log_weights, w = log_weights[usable], w[usable]
    d = y.shape[1]
    base = log_weights - log_det - 0.5 * d * _LOG_2PI

    def mean_nll(log_s):
        log_density = base - 0.5 * mahalanobis * np.exp(-2.0 * log_s) - d * log_s
        return -np.average(logsumexp(log_density, axis=1), weights=w)

    result = minimize_scalar(
        mean_nll,
        bounds=np.log(SPREAD_BOUNDS),
        method="bounded",
        options={"xatol": 1e-4},
    )
    # Keep 1.0 unless the factor found improves on it.
    if not result.fun < mean_nll(0.0):
        return 1.0
    return float(np.exp(result.x))
