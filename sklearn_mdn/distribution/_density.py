"""The log-density of Gaussian mixtures, the one numpy version (with the marginal
over observed targets), and the triangular algebra it rests on.

Plain functions of the mixture parameters (weights, means, Cholesky factors),
vectorised over rows.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

_LOG_2PI = float(np.log(2.0 * np.pi))

_INV_SQRT_2PI = float(1.0 / np.sqrt(2.0 * np.pi))


def _solve_lower(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``L z = b`` by forward substitution.

    ``L`` has shape ``(..., d, d)`` and ``b`` shape ``(..., d)``; their leading
    axes broadcast. Only the lower triangle of ``L`` is read. The loop runs over
    the ``d`` target dimensions only.
    """
    d = L.shape[-1]
    shape = np.broadcast_shapes(L.shape[:-1], b.shape)
    z = np.empty(shape)
    for j in range(d):
        acc = b[..., j]
        if j:
            acc = acc - (L[..., j, :j] * z[..., :j]).sum(axis=-1)
        z[..., j] = acc / L[..., j, j]
    return z


def _half_log_det(L: np.ndarray) -> np.ndarray:
    """``log det L`` of triangular factors ``L`` (..., d, d), shape (...)."""
    return np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)


def _marginal_scales(L: np.ndarray) -> np.ndarray:
    """Per-target standard deviations ``sqrt(diag(L L^T))``, shape (..., d)."""
    return np.sqrt(np.einsum("...ij,...ij->...i", L, L))


def _mahalanobis(L: np.ndarray, diff: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis lengths ``|L^-1 diff|^2`` of ``diff`` (..., d)."""
    z = _solve_lower(L, diff)
    return np.einsum("...i,...i->...", z, z)


def _gaussian_log_density(
    diff: np.ndarray, L: np.ndarray, half_log_det: np.ndarray
) -> np.ndarray:
    """Log density of ``N(0, L L^T)`` at ``diff`` (shape ``(..., d)``)."""
    d = L.shape[-1]
    return -0.5 * _mahalanobis(L, diff) - half_log_det - 0.5 * d * _LOG_2PI


def _log_weights(weights: np.ndarray) -> np.ndarray:
    """Elementwise log of the weights, with ``log(0) = -inf`` and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(weights)


def _mixture_log_prob(
    weights: np.ndarray, means: np.ndarray, L: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Log density of each row's mixture at ``y`` (shape ``(*S, n, d)``).

    Returns shape ``(*S, n)``; infinite values have density 0 (log -inf).
    """
    finite = np.isfinite(y).all(axis=-1)
    all_finite = finite.all()
    if not all_finite:
        y = np.where(finite[..., None], y, 0.0)
    comp = _gaussian_log_density(y[..., None, :] - means, L, _half_log_det(L))
    out = logsumexp(_log_weights(weights) + comp, axis=-1)
    return out if all_finite else np.where(finite, out, -np.inf)


def _observed_log_prob(
    weights: np.ndarray,
    means: np.ndarray,
    L: np.ndarray,
    y: np.ndarray,
    observed: np.ndarray,
) -> np.ndarray:
    """Log density of the observed entries of each row of ``y`` (n, d).

    ``observed`` (n, d) marks them; rows with none get NaN. A Gaussian's
    marginal over some targets keeps their means and their block of the
    covariance, and the weights do not change: rows are solved in groups of
    one pattern of observed targets.
    """
    if observed.all():
        return _mixture_log_prob(weights, means, L, y)
    n = len(y)
    log_prob = np.full(n, np.nan)
    rows_any = np.flatnonzero(observed.any(axis=1))
    patterns, inverse = np.unique(observed[rows_any], axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    covariances = None
    for p, pattern in enumerate(patterns):
        rows = rows_any[inverse == p]
        if pattern.all():
            log_prob[rows] = _mixture_log_prob(
                weights[rows], means[rows], L[rows], y[rows]
            )
            continue
        if covariances is None:
            covariances = L @ np.swapaxes(L, -1, -2)
        cols = np.flatnonzero(pattern)
        block = covariances[rows][:, :, cols][:, :, :, cols]
        log_prob[rows] = _mixture_log_prob(
            weights[rows],
            means[rows][:, :, cols],
            np.linalg.cholesky(block),
            y[rows][:, cols],
        )
    return log_prob


def _precisions(L: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision matrices ``P`` (n, K, d, d) and ``P mu`` (n, K, d) of components
    with Cholesky factors ``L`` (n, K, d, d) and means ``mu`` (n, K, d)."""
    d = L.shape[-1]
    # Row c of R is L^{-1} e_c, so R = L^{-T} and P = L^{-T} L^{-1} = R R^T.
    R = _solve_lower(L[:, :, None, :, :], np.eye(d))
    prec = R @ np.swapaxes(R, -1, -2)
    prec_mu = np.einsum("nkij,nkj->nki", prec, means)
    return prec, prec_mu
