"""Modes and branches of Gaussian mixtures: hill climbs from the component means."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._checks import _SOLVER_CHUNK_ELEMENTS
from ._density import _gaussian_log_density, _log_weights, _precisions
from ._solvers import _ULPS, _retire

_MODE_XTOL = 1e-10

_MODE_MAX_ITER = 500


def _find_modes(
    log_w: np.ndarray,
    means: np.ndarray,
    L: np.ndarray,
    half_log_det: np.ndarray,
    prec: np.ndarray,
    prec_mu: np.ndarray,
    x: np.ndarray,
) -> np.ndarray:
    """Hill-climb the log density of P Gaussian mixtures from start points ``x``.

    Shapes: ``log_w`` and ``half_log_det`` (P, K), ``means`` and ``prec_mu``
    (``P_k mu_k``) (P, K, d), ``L`` and ``prec`` (precisions ``P_k``)
    (P, K, d, d), ``x`` (P, d). Returns the end points, shape (P, d).

    The basic step is the Gaussian-mixture mean-shift fixed point
    (Carreira-Perpinan, 2000), ``x <- A^{-1} sum_k r_k P_k mu_k`` with
    ``A = sum_k r_k(x) P_k``; it never lowers the density but converges only
    linearly. Where the Hessian of the log density is negative definite a
    Newton step is taken instead; if that lowers the density, the iterate
    goes back to the mean-shift point from the previous iterate.
    """
    d = x.shape[1]
    out = np.empty_like(x)
    idx = np.arange(x.shape[0])
    std = np.sqrt(np.einsum("pkij,pkij->pki", L, L)).min(axis=2)
    lanes = {
        "log_w": log_w,
        "means": means,
        "L": L,
        "half_log_det": half_log_det,
        "prec": prec,
        "prec_mu": prec_mu,
        "scale": np.where(np.isfinite(log_w), std, np.inf).min(axis=1),
        "x": x,
        "lp_prev": np.full(x.shape[0], -np.inf),
        "fallback": x,
        "newton_prev": np.zeros(x.shape[0], dtype=bool),
    }
    finished = np.zeros(idx.size, dtype=bool)
    for _ in range(_MODE_MAX_ITER):
        if idx.size == 0:
            break
        c = lanes
        x = c["x"]
        comp = c["log_w"] + _gaussian_log_density(
            x[:, None, :] - c["means"], c["L"], c["half_log_det"]
        )
        top = comp.max(axis=1, keepdims=True)
        resp = np.exp(comp - top)
        total = resp.sum(axis=1, keepdims=True)
        resp /= total
        lp = (top + np.log(total))[:, 0]
        # v_k = P_k (mu_k - x); gradient g = sum_k r_k v_k; Hessian
        # H = sum_k r_k v_k v_k^T - A - g g^T with A = sum_k r_k P_k.
        if d == 1:
            prec1 = c["prec"][:, :, 0, 0]
            v = c["prec_mu"][:, :, 0] - prec1 * x
            g = (resp * v).sum(axis=1, keepdims=True)
            A = (resp * prec1).sum(axis=1, keepdims=True)
            H = (resp * v * v).sum(axis=1, keepdims=True) - A - g * g
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                x_ms = x + g / A
                x_nt = x - g / H
            concave = H[:, 0] < 0
        else:
            v = c["prec_mu"] - np.einsum("pkij,pj->pki", c["prec"], x)
            g = np.einsum("pk,pki->pi", resp, v)
            A = np.einsum("pk,pkij->pij", resp, c["prec"])
            H = np.einsum("pk,pki,pkj->pij", resp, v, v) - A
            H -= g[:, :, None] * g[:, None, :]
            x_ms = x + np.linalg.solve(A, g[:, :, None])[:, :, 0]
            concave = np.linalg.eigvalsh(H)[:, -1] < 0
            H = np.where(concave[:, None, None], H, -A)
            x_nt = x - np.linalg.solve(H, g[:, :, None])[:, :, 0]
        use_newton = concave & np.all(np.isfinite(x_nt), axis=1)
        lp_prev = c["lp_prev"]
        worse = c["newton_prev"] & (lp < lp_prev - 1e-12 * (1.0 + np.abs(lp_prev)))
        x_new = np.where(use_newton[:, None], x_nt, x_ms)
        x_new = np.where(worse[:, None], c["fallback"], x_new)
        x_new = np.where(finished[:, None], x, x_new)
        step = np.abs(x_new - x).max(axis=1)
        tol = _MODE_XTOL * c["scale"] + _ULPS * np.abs(x_new).max(axis=1)
        finished |= ~worse & (step <= tol)
        c.update(
            x=x_new,
            fallback=np.where(worse[:, None], c["fallback"], x_ms),
            lp_prev=np.where(worse, lp_prev, lp),
            newton_prev=use_newton & ~worse,
        )
        idx, lanes, finished = _retire(idx, lanes, finished, "x", out)
    out[idx] = lanes["x"]
    return out


def _climb_from_means(
    log_w: np.ndarray,
    means: np.ndarray,
    L: np.ndarray,
    half_log_det: np.ndarray,
) -> np.ndarray:
    """End points of hill climbs from every component mean, shape (n, K, d).

    Runs :func:`_find_modes` on all ``n * K`` start points, in chunks.
    """
    n, K, d = means.shape
    prec, prec_mu = _precisions(L, means)
    n_problems = n * K
    ends = np.empty((n_problems, d))
    chunk = max(1, _SOLVER_CHUNK_ELEMENTS // (K * d * d))
    for start in range(0, n_problems, chunk):
        flat = np.arange(start, min(start + chunk, n_problems))
        row, comp = np.divmod(flat, K)
        ends[flat] = _find_modes(
            log_w[row],
            means[row],
            L[row],
            half_log_det[row],
            prec[row],
            prec_mu[row],
            means[row, comp],
        )
    return ends.reshape(n, K, d)


def _mixture_modes(
    weights: np.ndarray, means: np.ndarray, L: np.ndarray, half_log_det: np.ndarray
) -> np.ndarray:
    """Highest-density point of each row's mixture, shape (n, d).

    Climbs from every component mean with :func:`_find_modes` (in chunks of
    start points) and keeps, per row, the end point of highest density.
    """
    n = means.shape[0]
    log_w = _log_weights(weights)
    candidates = np.swapaxes(_climb_from_means(log_w, means, L, half_log_det), 0, 1)
    diff = candidates[:, :, None, :] - means
    log_dens = logsumexp(log_w + _gaussian_log_density(diff, L, half_log_det), axis=-1)
    best = np.argmax(log_dens, axis=0)
    return candidates[best, np.arange(n)]


# End points of climbs closer than this many smallest component scales are
# one mode (climbs stop within 1e-10 of them).
_MODE_MERGE = 1e-6


def _mixture_branches(
    weights: np.ndarray, means: np.ndarray, L: np.ndarray, half_log_det: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Modes of each row's mixture and the weight of the components that climb
    to each, shapes (n, K, d) and (n, K), NaN padded, in order of first climb.

    End points of the climbs from the component means (:func:`_climb_from_means`)
    within ``_MODE_MERGE`` smallest component scales of each other are one
    mode; modes reached only from components of weight zero are dropped.
    """
    n, K, d = means.shape
    log_w = _log_weights(weights)
    ends = _climb_from_means(log_w, means, L, half_log_det)
    std = np.sqrt(np.einsum("nkij,nkij->nki", L, L)).min(axis=2)
    scale = np.where(weights > 0, std, np.inf).min(axis=1)
    gap = np.abs(ends[:, :, None, :] - ends[:, None, :, :]).max(axis=-1)
    close = gap <= _MODE_MERGE * scale[:, None, None]
    # Each end point joins the first end point close to it.
    label = np.argmax(close, axis=1)
    onehot = label[:, :, None] == np.arange(K)  # (n, end k, mode j)
    masses = np.einsum("nk,nkj->nj", weights, onehot)
    keep = masses > 0
    modes = np.where(keep[:, :, None], ends, np.nan)
    return modes, np.where(keep, masses, np.nan)
