"""Vectorised Gaussian-mixture predictive distributions, one mixture per row."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri
from sklearn.utils import check_random_state

__all__ = ["NormalMixture"]

_LOG_2PI = float(np.log(2.0 * np.pi))
_INV_SQRT_2PI = float(1.0 / np.sqrt(2.0 * np.pi))

# Rows of ``weights`` must sum to one within this absolute tolerance (leaves room
# for weights computed by a float32 softmax).
_WEIGHT_ATOL = 1e-5

# Iterations stop when the step is below XTOL * (smallest component scale) plus
# a few units in the last place of x.
_ULPS = 4.0 * np.finfo(np.float64).eps
_PPF_XTOL = 1e-12
_PPF_MAX_ITER = 100

_MODE_XTOL = 1e-10
_MODE_MAX_ITER = 500

# Largest number of float64 elements in one temporary array of the iterative
# solvers; bigger problems are processed in chunks to bound memory.
_CHUNK_ELEMENTS = 2**20


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


def _gaussian_log_density(
    diff: np.ndarray, L: np.ndarray, half_log_det: np.ndarray
) -> np.ndarray:
    """Log density of ``N(0, L L^T)`` at ``diff`` (shape ``(..., d)``)."""
    d = L.shape[-1]
    z = _solve_lower(L, diff)
    return -0.5 * np.einsum("...i,...i->...", z, z) - half_log_det - 0.5 * d * _LOG_2PI


def _log_weights(weights: np.ndarray) -> np.ndarray:
    """Elementwise log of the weights, with ``log(0) = -inf`` and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(weights)


def _mixture_quantiles(
    w: np.ndarray, mu: np.ndarray, sig: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """Quantiles of independent univariate normal mixtures.

    Parameters are ``w``, ``mu``, ``sig`` of shape ``(P, K)`` and levels ``q`` of
    shape ``(P,)`` in ``[0, 1]``; returns ``x`` of shape ``(P,)`` with
    ``F_p(x_p) = q_p``.

    Levels above 1/2 are solved as lower-tail problems of the reflected mixture
    (``-Y``), so that tail probabilities are never formed as ``1 - F``. Each
    problem is bracketed by its smallest and largest component quantile (zero
    weights ignored) and solved by Newton's method on ``log F(x) - log p``,
    falling back to bisection whenever a step leaves the current bracket or is
    not half as long as the step before last (as in Numerical Recipes'
    ``rtsafe``).
    """
    upper = q > 0.5
    p = np.where(upper, 1.0 - q, q)
    sign = np.where(upper, -1.0, 1.0)
    result = np.full(q.shape, -np.inf)

    idx = np.flatnonzero(p > 0.0)
    w, p = w[idx], p[idx]
    mu = mu[idx] * sign[idx, None]
    sig = sig[idx]
    positive = w > 0.0
    comp_q = mu + sig * ndtri(p)[:, None]
    lo = np.where(positive, comp_q, np.inf).min(axis=1)
    hi = np.where(positive, comp_q, -np.inf).max(axis=1)
    # Start from the quantile of the moment-matched normal, inside the bracket.
    m = (w * mu).sum(axis=1)
    s = np.sqrt((w * (sig**2 + (mu - m[:, None]) ** 2)).sum(axis=1))
    x = np.clip(m + s * ndtri(p), lo, hi)
    lanes = {
        "w": w,
        "mu": mu,
        "sig": sig,
        "dens": w * _INV_SQRT_2PI / sig,
        "p": p,
        "log_p": np.log(p),
        "scale": np.where(positive, sig, np.inf).min(axis=1),
        "lo": lo,
        "hi": hi,
        "x": x,
        # Last step and the one before it, for the rtsafe-style safeguard.
        "step": hi - lo,
        "step_old": hi - lo,
    }
    finished = np.zeros(idx.size, dtype=bool)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_PPF_MAX_ITER):
            if idx.size == 0:
                break
            c = lanes
            x, lo, hi, p = c["x"], c["lo"], c["hi"], c["p"]
            z = (x[:, None] - c["mu"]) / c["sig"]
            F = (c["w"] * ndtr(z)).sum(axis=1)
            f = (c["dens"] * np.exp(-0.5 * z * z)).sum(axis=1)
            lo = np.where(F < p, x, lo)
            hi = np.where(F > p, x, hi)
            # Newton step on log F: dx = (log F - log p) * F / f. Bisect instead
            # when it leaves the bracket or is not at least twice as short as
            # the step before last (this stops Newton ping-pong across a gap).
            newton = (np.log(F) - c["log_p"]) * F / f
            x_new = x - newton
            bisect = ~((x_new >= lo) & (x_new <= hi)) | ~(
                np.abs(newton) <= 0.5 * np.abs(c["step_old"])
            )
            x_new = np.where(bisect, 0.5 * (lo + hi), x_new)
            exact = F == p
            x_new = np.where(exact | finished, x, x_new)
            step = x_new - x
            tol = _PPF_XTOL * c["scale"] + _ULPS * np.abs(x_new)
            finished |= exact | (np.abs(step) <= tol) | (hi - lo <= tol)
            c.update(x=x_new, lo=lo, hi=hi, step_old=c["step"], step=step)
            idx, lanes, finished = _retire(idx, lanes, finished, "x", result)
    result[idx] = lanes["x"]
    return sign * result


def _retire(
    idx: np.ndarray,
    lanes: dict[str, np.ndarray],
    finished: np.ndarray,
    key: str,
    out: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Write finished lanes of an iterative solver to ``out`` and drop them.

    Finished lanes are kept (frozen by the caller) until they are at least a
    quarter of the lanes, so that the arrays are not copied at every iteration.
    """
    n_finished = np.count_nonzero(finished)
    if n_finished == 0 or 4 * n_finished < finished.size:
        return idx, lanes, finished
    out[idx[finished]] = lanes[key][finished]
    keep = ~finished
    lanes = {name: value[keep] for name, value in lanes.items()}
    return idx[keep], lanes, np.zeros(keep.sum(), dtype=bool)


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


class NormalMixture:
    """Gaussian mixtures, one per row of data, as a vectorised distribution.

    Row ``i`` holds the mixture ``sum_k weights[i, k] N(means[i, k],
    scale_tril[i, k] @ scale_tril[i, k].T)`` over ``d`` targets. All methods
    work on every row at once in float64.

    Parameters
    ----------
    weights : array-like of shape (n, K)
        Mixture weights: non-negative, each row summing to one (within 1e-5).
        Zero weights are allowed.
    means : array-like of shape (n, K, d)
        Component means.
    scale_tril : array-like of shape (n, K, d, d)
        Lower-triangular Cholesky factors of the component covariances, with a
        positive diagonal. The upper triangle is assumed to be zero; this is not
        checked.
    event_shape : tuple, default=None
        ``()`` for a univariate distribution (only when ``d == 1``): values ``y``
        then have shape ``(n,)`` and outputs have no target axis. ``(d,)`` for
        ``d`` targets: values have shape ``(n, d)``. ``None`` means ``()`` when
        ``d == 1`` and ``(d,)`` otherwise.

    Attributes
    ----------
    weights : ndarray of shape (n, K)
        Mixture weights.
    means : ndarray of shape (n, K, d)
        Component means.
    scale_tril : ndarray of shape (n, K, d, d)
        Cholesky factors of the component covariances.
    event_shape : tuple
        ``()`` or ``(d,)``.
    n_components : int
        Number of components ``K``.
    n_targets : int
        Number of targets ``d``.
    shape : tuple
        ``(n,)``, the batch shape.
    covariances : ndarray of shape (n, K, d, d)
        Component covariances ``L @ L.T``.

    Notes
    -----
    Densities are computed in log space (triangular solves, log-determinants
    from the Cholesky diagonals, ``logsumexp`` over components). Quantiles are
    found by safeguarded Newton iterations inside a bracket given by the
    component quantiles; see :meth:`ppf` for the tolerance. The mode is found
    by mean-shift (and Newton) iterations started from every component mean;
    see :meth:`mode`. Multi-output ``cdf``, ``ppf`` and ``interval`` are
    per-target marginals.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn.distribution import NormalMixture
    >>> weights = np.array([[0.3, 0.7], [0.9, 0.1]])
    >>> means = np.array([[[-1.0], [1.0]], [[1.0], [5.0]]])
    >>> scale_tril = np.full((2, 2, 1, 1), 0.5)
    >>> dist = NormalMixture(weights, means, scale_tril)
    >>> dist
    NormalMixture(n_rows=2, n_components=2, n_targets=1, event_shape=())
    >>> print(np.round(dist.mean(), 3))
    [0.4 1.4]
    >>> print(np.round(dist.std(), 3))
    [1.044 1.3  ]
    >>> print(np.round(dist.ppf(0.5), 3))
    [0.717 1.07 ]
    >>> print(np.round(dist.interval(0.9), 3))
    [[-1.484  1.733]
     [ 0.203  5.   ]]
    >>> print(np.round(dist.cdf(np.array([0.0, 0.0])), 3))
    [0.309 0.02 ]
    >>> print(np.round(dist.log_prob(np.array([0.0, 1.0])), 3))
    [-2.226 -0.331]
    >>> dist.sample(3, random_state=0).shape
    (2, 3)
    """

    def __init__(self, weights, means, scale_tril, *, event_shape=None):
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        scale_tril = np.asarray(scale_tril, dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] < 1:
            raise ValueError(
                "weights must be a 2-D array of shape (n, K) with K >= 1, "
                f"got shape {weights.shape}."
            )
        n, K = weights.shape
        if means.ndim != 3 or means.shape[:2] != (n, K) or means.shape[2] < 1:
            raise ValueError(
                f"means must have shape (n, K, d) = ({n}, {K}, d) with d >= 1, "
                f"got {means.shape}."
            )
        d = means.shape[2]
        if scale_tril.shape != (n, K, d, d):
            raise ValueError(
                f"scale_tril must have shape (n, K, d, d) = {(n, K, d, d)}, "
                f"got {scale_tril.shape}."
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights must be finite and non-negative.")
        sums = weights.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > _WEIGHT_ATOL):
            worst = sums[np.argmax(np.abs(sums - 1.0))]
            raise ValueError(
                f"each row of weights must sum to 1 (within {_WEIGHT_ATOL}), "
                f"found a row summing to {worst!r}."
            )
        if not np.all(np.isfinite(means)):
            raise ValueError("means must be finite.")
        if not np.all(np.isfinite(scale_tril)):
            raise ValueError("scale_tril must be finite.")
        if not np.all(np.diagonal(scale_tril, axis1=-2, axis2=-1) > 0):
            raise ValueError("scale_tril must have a strictly positive diagonal.")

        if event_shape is None:
            event_shape = () if d == 1 else (d,)
        try:
            event_shape = tuple(int(s) for s in event_shape)
        except TypeError:
            raise ValueError(
                f"event_shape must be a tuple, () or (d,), got {event_shape!r}."
            ) from None
        if event_shape not in ((), (d,)) or (event_shape == () and d != 1):
            allowed = f"() or ({d},)" if d == 1 else f"({d},)"
            raise ValueError(
                f"event_shape must be {allowed} for d = {d} targets, got {event_shape}."
            )

        self._weights = weights
        self._means = means
        self._scale_tril = scale_tril
        self._event_shape = event_shape

    # ------------------------------------------------------------------
    # Attributes
    # ------------------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """Mixture weights, shape (n, K)."""
        return self._weights

    @property
    def means(self) -> np.ndarray:
        """Component means, shape (n, K, d)."""
        return self._means

    @property
    def scale_tril(self) -> np.ndarray:
        """Cholesky factors of the component covariances, shape (n, K, d, d)."""
        return self._scale_tril

    @property
    def event_shape(self) -> tuple:
        """``()`` for a univariate distribution, else ``(d,)``."""
        return self._event_shape

    @property
    def n_components(self) -> int:
        """Number of mixture components ``K``."""
        return self._weights.shape[1]

    @property
    def n_targets(self) -> int:
        """Number of targets ``d``."""
        return self._means.shape[2]

    @property
    def shape(self) -> tuple:
        """Batch shape ``(n,)``."""
        return (self._weights.shape[0],)

    @property
    def covariances(self) -> np.ndarray:
        """Component covariances ``L @ L.T``, shape (n, K, d, d)."""
        L = self._scale_tril
        return L @ np.swapaxes(L, -1, -2)

    def __len__(self) -> int:
        return self._weights.shape[0]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_rows={len(self)}, "
            f"n_components={self.n_components}, n_targets={self.n_targets}, "
            f"event_shape={self.event_shape})"
        )

    # ------------------------------------------------------------------
    # Private helpers
    # ------------------------------------------------------------------
    def _new(self, weights, means, scale_tril, event_shape=None) -> NormalMixture:
        if event_shape is None:
            event_shape = self._event_shape
        return type(self)(weights, means, scale_tril, event_shape=event_shape)

    def _half_log_det(self) -> np.ndarray:
        """``log det L`` per component, shape (n, K)."""
        return np.log(np.diagonal(self._scale_tril, axis1=-2, axis2=-1)).sum(axis=-1)

    def _marginal_scales(self) -> np.ndarray:
        """Per-target component standard deviations, shape (n, K, d)."""
        L = self._scale_tril
        return np.sqrt(np.einsum("nkij,nkij->nki", L, L))

    def _check_values(self, y) -> np.ndarray:
        """Validate ``y`` of shape ``(*S, n, *event_shape)``; return ``(*S, n, d)``."""
        y = np.asarray(y, dtype=np.float64)
        expected = (len(self), *self._event_shape)
        m = len(expected)
        if y.ndim < m or y.shape[y.ndim - m :] != expected:
            raise ValueError(
                f"y must have shape (..., n, *event_shape) = (..., "
                f"{', '.join(map(str, expected))}), got {y.shape}."
            )
        if np.any(np.isnan(y)):
            raise ValueError("y must not contain NaN.")
        return y if self._event_shape else y[..., None]

    def _to_event(self, a: np.ndarray, axis: int = -1) -> np.ndarray:
        """Drop the target axis ``axis`` (of length 1) when univariate."""
        return a if self._event_shape else np.squeeze(a, axis=axis)

    def _precisions(self) -> tuple[np.ndarray, np.ndarray]:
        """Component precision matrices (n, K, d, d) and ``P mu`` (n, K, d)."""
        d = self.n_targets
        # Row c of R is L^{-1} e_c, so R = L^{-T} and P = L^{-T} L^{-1} = R R^T.
        R = _solve_lower(self._scale_tril[:, :, None, :, :], np.eye(d))
        prec = R @ np.swapaxes(R, -1, -2)
        prec_mu = np.einsum("nkij,nkj->nki", prec, self._means)
        return prec, prec_mu

    # ------------------------------------------------------------------
    # Densities and distribution functions
    # ------------------------------------------------------------------
    def log_prob(self, y) -> np.ndarray:
        """Log density of the mixture of each row.

        Parameters
        ----------
        y : array-like of shape (\\*S, n, \\*event_shape)
            Values, with any leading batch shape ``S`` (for instance a grid of
            values for every row: shape ``(n_grid, n)`` when univariate).

        Returns
        -------
        log_prob : ndarray of shape (\\*S, n)
            Log densities, computed in log space (finite far in the tails).
        """
        y = self._check_values(y)
        finite = np.isfinite(y).all(axis=-1)
        all_finite = finite.all()
        if not all_finite:  # infinite values have density 0
            y = np.where(finite[..., None], y, 0.0)
        diff = y[..., None, :] - self._means
        comp = _gaussian_log_density(diff, self._scale_tril, self._half_log_det())
        out = logsumexp(_log_weights(self._weights) + comp, axis=-1)
        return out if all_finite else np.where(finite, out, -np.inf)

    def pdf(self, y) -> np.ndarray:
        """Density of the mixture of each row, ``exp(log_prob(y))``.

        Parameters
        ----------
        y : array-like of shape (\\*S, n, \\*event_shape)
            Values.

        Returns
        -------
        pdf : ndarray of shape (\\*S, n)
            Densities.
        """
        return np.exp(self.log_prob(y))

    def cdf(self, y) -> np.ndarray:
        """Cumulative distribution function (per-target marginals if multi-output).

        Parameters
        ----------
        y : array-like of shape (\\*S, n, \\*event_shape)
            Values.

        Returns
        -------
        cdf : ndarray of shape (\\*S, n, \\*event_shape)
            ``P(Y <= y)`` when univariate; for ``d`` targets, the marginal
            ``P(Y_j <= y_j)`` of each target ``j``.
        """
        y = self._check_values(y)
        z = (y[..., None, :] - self._means) / self._marginal_scales()
        cdf = np.einsum("nk,...nkd->...nd", self._weights, ndtr(z))
        return self._to_event(cdf)

    def ppf(self, q) -> np.ndarray:
        """Quantile function (per-target marginal quantiles if multi-output).

        Solves ``cdf(x) = q`` for every row (and target) by bracketed root
        finding, all rows at once: the smallest and largest quantiles of the
        components with positive weight bracket the mixture quantile, and a
        safeguarded Newton iteration on ``log F(x) = log q`` refines it,
        bisecting whenever a Newton step leaves the bracket or fails to halve.
        Levels above 1/2 are solved on the upper tail, so extreme levels such
        as ``1 - 1e-9`` keep full relative accuracy.

        Accuracy: iterations stop when the step is below
        ``1e-12 * sigma_min + 4 * eps * |x|`` (``sigma_min`` the smallest scale
        of a component with positive weight, ``eps`` the float64 machine
        epsilon; at most 100 iterations), so ``x`` is the exact quantile to
        that tolerance, up to rounding in the cdf itself. Whenever
        ``|x| <= 1e4 * sigma_min`` this gives
        ``|cdf(ppf(q)) - q| <= 1e-10 * min(q, 1 - q)``; further out the float64
        spacing of ``x`` is the limit. Where the cdf is flat to machine
        precision (a gap between far-apart components) a point of the flat
        region is returned.

        Parameters
        ----------
        q : float or array-like of shape (m,)
            Levels in ``[0, 1]``. Levels 0 and 1 give ``-inf`` and ``inf``.

        Returns
        -------
        x : ndarray
            Univariate: shape (n,) for a scalar ``q``, (n, m) for an array.
            Multi-output: shape (n, d) for a scalar ``q``, (n, d, m) for an
            array.
        """
        q = np.asarray(q, dtype=np.float64)
        if q.ndim > 1:
            raise ValueError(f"q must be a scalar or a 1-D array, got shape {q.shape}.")
        if not np.all(np.isfinite(q)) or np.any((q < 0) | (q > 1)):
            raise ValueError("q must be finite and in [0, 1].")
        scalar = q.ndim == 0
        q = np.atleast_1d(q)
        n, K, d = self._means.shape
        m = q.shape[0]
        w = self._weights
        mu_t = np.swapaxes(self._means, 1, 2)  # (n, d, K)
        sig_t = np.swapaxes(self._marginal_scales(), 1, 2)
        # Problems are flattened in (row, target, level) order and solved in chunks.
        n_problems = n * d * m
        out = np.empty(n_problems)
        chunk = max(1, _CHUNK_ELEMENTS // K)
        for start in range(0, n_problems, chunk):
            flat = np.arange(start, min(start + chunk, n_problems))
            row, rest = np.divmod(flat, d * m)
            target, level = np.divmod(rest, m)
            out[flat] = _mixture_quantiles(
                w[row], mu_t[row, target], sig_t[row, target], q[level]
            )
        out = out.reshape(n, d, m)
        if scalar:
            out = out[..., 0]
        return self._to_event(out, axis=1)

    def interval(self, coverage=0.9) -> np.ndarray:
        """Equal-tailed prediction interval (per target if multi-output).

        Parameters
        ----------
        coverage : float, default=0.9
            Probability in (0, 1) between the bounds.

        Returns
        -------
        interval : ndarray
            The ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` quantiles
            (see :meth:`ppf` for their accuracy): shape (n, 2) when univariate,
            (n, d, 2) for ``d`` targets.
        """
        if (
            not isinstance(coverage, numbers.Real)
            or isinstance(coverage, bool)
            or not 0.0 < coverage < 1.0
        ):
            raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
        coverage = float(coverage)
        return self.ppf([(1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0])

    # ------------------------------------------------------------------
    # Moments and point estimates
    # ------------------------------------------------------------------
    def mean(self) -> np.ndarray:
        """Mean of each row's mixture, ``sum_k w_k mu_k``.

        Returns
        -------
        mean : ndarray of shape (n, \\*event_shape)
            Means.
        """
        return self._to_event(np.einsum("nk,nkd->nd", self._weights, self._means))

    def covariance(self) -> np.ndarray:
        """Covariance matrix of each row's mixture (law of total variance).

        ``sum_k w_k (Sigma_k + (mu_k - m)(mu_k - m)^T)`` with ``m`` the mean.

        Returns
        -------
        covariance : ndarray of shape (n, d, d)
            Covariance matrices (``d = 1`` gives shape (n, 1, 1)).
        """
        w = self._weights
        centred = self._means - np.einsum("nk,nkd->nd", w, self._means)[:, None, :]
        within = np.einsum("nk,nkij->nij", w, self.covariances)
        between = np.einsum("nk,nki,nkj->nij", w, centred, centred)
        return within + between

    def var(self) -> np.ndarray:
        """Marginal variance of each target (law of total variance).

        Returns
        -------
        var : ndarray of shape (n, \\*event_shape)
            Variances.
        """
        w = self._weights
        centred = self._means - np.einsum("nk,nkd->nd", w, self._means)[:, None, :]
        second = self._marginal_scales() ** 2 + centred**2
        return self._to_event(np.einsum("nk,nkd->nd", w, second))

    def std(self) -> np.ndarray:
        """Marginal standard deviation of each target.

        Returns
        -------
        std : ndarray of shape (n, \\*event_shape)
            Standard deviations, ``sqrt(var())``.
        """
        return np.sqrt(self.var())

    def top(self) -> np.ndarray:
        """Mean of the heaviest component of each row.

        Returns
        -------
        top : ndarray of shape (n, \\*event_shape)
            The mean of the component with the largest weight (the first one
            on ties).
        """
        k = np.argmax(self._weights, axis=1)
        return self._to_event(self._means[np.arange(len(self)), k])

    def mode(self) -> np.ndarray:
        """Highest-density point of each row's mixture.

        Hill-climbs the density from every component mean and returns, per
        row, the end point with the highest density. The climb uses the
        Gaussian-mixture mean-shift fixed-point iteration (Carreira-Perpinan,
        2000), ``x <- (sum_k r_k(x) P_k)^{-1} sum_k r_k(x) P_k mu_k`` with
        ``P_k`` the component precisions and ``r_k`` the posterior
        responsibilities, which never lowers the density; where the log
        density is concave, a Newton step is taken instead to speed up
        convergence, and undone if it lowers the density. Iterations stop when
        the step is below ``1e-10 * sigma_min + 4 * eps * |x|`` (at most 500
        iterations).

        The result is a local maximum reached from the component means, which
        is the global maximum in all practical cases. Unlike :meth:`top`, it
        accounts for the component scales: a light narrow component can hold
        the mode.

        Returns
        -------
        mode : ndarray of shape (n, \\*event_shape)
            Modes.

        References
        ----------
        M. A. Carreira-Perpinan, "Mode-finding for mixtures of Gaussian
        distributions", IEEE Trans. PAMI 22(11), 2000.
        """
        n, K, d = self._means.shape
        log_w = _log_weights(self._weights)
        L = self._scale_tril
        half_log_det = self._half_log_det()
        prec, prec_mu = self._precisions()
        n_problems = n * K
        ends = np.empty((n_problems, d))
        chunk = max(1, _CHUNK_ELEMENTS // (K * d * d))
        for start in range(0, n_problems, chunk):
            flat = np.arange(start, min(start + chunk, n_problems))
            row, comp = np.divmod(flat, K)
            ends[flat] = _find_modes(
                log_w[row],
                self._means[row],
                L[row],
                half_log_det[row],
                prec[row],
                prec_mu[row],
                self._means[row, comp],
            )
        candidates = np.swapaxes(ends.reshape(n, K, d), 0, 1)  # (K, n, d)
        diff = candidates[:, :, None, :] - self._means
        log_dens = logsumexp(
            log_w + _gaussian_log_density(diff, L, half_log_det), axis=-1
        )
        best = np.argmax(log_dens, axis=0)
        return self._to_event(candidates[best, np.arange(n)])

    # ------------------------------------------------------------------
    # Sampling
    # ------------------------------------------------------------------
    def sample(self, n_samples=1, random_state=None) -> np.ndarray:
        """Draw joint samples from each row's mixture.

        Each draw picks a component with probability equal to its weight
        (inverse cdf of the cumulative weights), then returns ``mu + L z``
        with ``z`` standard normal. Numpy's global random state is neither used
        nor advanced.

        Parameters
        ----------
        n_samples : int, default=1
            Number of draws per row.
        random_state : int, RandomState instance or None, default=None
            Seed or generator, passed to
            :func:`sklearn.utils.check_random_state`. ``None`` uses a fresh
            generator seeded from the operating system (not numpy's global
            generator, which is never used).

        Returns
        -------
        samples : ndarray
            Shape (n, n_samples) when univariate, (n, n_samples, d) otherwise.
        """
        if (
            not isinstance(n_samples, numbers.Integral)
            or isinstance(n_samples, bool)
            or n_samples < 1
        ):
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        # None gets a fresh generator seeded from OS entropy instead of numpy's
        # global singleton, whose state must not be touched.
        if random_state is None:
            rng = np.random.RandomState()
        else:
            rng = check_random_state(random_state)
        n, K, d = self._means.shape
        u = rng.random_sample((n, n_samples))
        z = rng.standard_normal((n, n_samples, d))
        cum = np.cumsum(self._weights, axis=1)
        cum = cum / cum[:, -1:]
        cum[:, -1] = 1.0
        # Component index = number of cumulative weights <= u (zero weights are
        # never chosen); u < 1 keeps it below K.
        comp = np.zeros((n, n_samples), dtype=np.intp)
        for k in range(K - 1):
            comp += cum[:, k, None] <= u
        rows = np.arange(n)[:, None]
        draws = self._means[rows, comp] + np.einsum(
            "nsij,nsj->nsi", self._scale_tril[rows, comp], z
        )
        return self._to_event(draws)

    # ------------------------------------------------------------------
    # Transformations
    # ------------------------------------------------------------------
    def marginal(self, j) -> NormalMixture:
        """Univariate marginal mixture of target ``j``.

        Parameters
        ----------
        j : int
            Target index, ``-d <= j < d``.

        Returns
        -------
        marginal : NormalMixture
            Same weights, means ``means[..., j]`` and scales
            ``sqrt(Sigma_k[j, j])``, with ``event_shape=()``.
        """
        if not isinstance(j, numbers.Integral) or isinstance(j, bool):
            raise ValueError(f"j must be an integer, got {j!r}.")
        d = self.n_targets
        if not -d <= j < d:
            raise IndexError(f"target index {j} is out of range for d = {d} targets.")
        j = int(j) % d
        scales = self._marginal_scales()[:, :, j, None, None]
        return self._new(
            self._weights, self._means[:, :, j : j + 1], scales, event_shape=()
        )

    def __getitem__(self, index) -> NormalMixture:
        """Select rows.

        Parameters
        ----------
        index : int, slice, boolean mask or integer array
            Rows to keep. An integer keeps a row axis of length 1, so the
            result is always a ``NormalMixture`` of rows.

        Returns
        -------
        selected : NormalMixture
            The selected rows, with the same ``event_shape``.
        """
        if isinstance(index, numbers.Integral) and not isinstance(index, bool):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"row index {index} is out of range for {n} rows.")
            index = np.array([int(index) % n])
        elif not isinstance(index, slice):
            index = np.asarray(index)
            if index.size == 0:
                index = index.astype(np.intp)
            if index.ndim != 1 or not (
                index.dtype == bool or np.issubdtype(index.dtype, np.integer)
            ):
                raise IndexError(
                    "rows must be selected with an int, a slice, a 1-D boolean mask "
                    f"or a 1-D integer array, got {index!r}."
                )
        return self._new(
            self._weights[index], self._means[index], self._scale_tril[index]
        )

    def affine(self, loc, scale) -> NormalMixture:
        """Distribution of ``loc + scale * Y`` (elementwise per target).

        Parameters
        ----------
        loc : float or array-like of shape (d,)
            Shift of each target.
        scale : float or array-like of shape (d,)
            Positive scale of each target.

        Returns
        -------
        transformed : NormalMixture
            Means ``means * scale + loc``, Cholesky factors
            ``diag(scale) @ scale_tril``; densities change by
            ``-sum(log(scale))``.
        """
        d = self.n_targets
        try:
            loc = np.broadcast_to(np.asarray(loc, dtype=np.float64), (d,))
            scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (d,))
        except ValueError:
            raise ValueError(
                f"loc and scale must be scalars or broadcastable to shape ({d},)."
            ) from None
        if not np.all(np.isfinite(loc)):
            raise ValueError("loc must be finite.")
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError("scale must be finite and strictly positive.")
        return self._new(
            self._weights,
            self._means * scale + loc,
            self._scale_tril * scale[:, None],
        )

    @classmethod
    def concatenate(cls, distributions) -> NormalMixture:
        """Stack mixtures along rows.

        Parameters
        ----------
        distributions : sequence of NormalMixture
            Mixtures with the same number of components, targets and
            ``event_shape``.

        Returns
        -------
        concatenated : NormalMixture
            All rows, in order.
        """
        distributions = list(distributions)
        if not distributions:
            raise ValueError("need at least one distribution to concatenate.")
        if not all(isinstance(dist, NormalMixture) for dist in distributions):
            raise TypeError("can only concatenate NormalMixture objects.")
        first = distributions[0]
        key = (first.n_components, first.n_targets, first.event_shape)
        for dist in distributions[1:]:
            other = (dist.n_components, dist.n_targets, dist.event_shape)
            if other != key:
                raise ValueError(
                    "all distributions must have the same (n_components, n_targets, "
                    f"event_shape): got {key} and {other}."
                )
        return cls(
            np.concatenate([dist.weights for dist in distributions]),
            np.concatenate([dist.means for dist in distributions]),
            np.concatenate([dist.scale_tril for dist in distributions]),
            event_shape=first.event_shape,
        )
