"""Critical points, branches and highest-density regions of univariate mixtures.

Plain functions of the parameters of univariate Gaussian mixtures, one per
row: weights ``w``, means ``mu`` and scales ``sig``, each of shape (n, K).

All of them start from the critical points of each row's density (its modes
and the local minima between them). They lie between the smallest and the
largest component mean (left of every mean the density rises, right of every
mean it falls), so the sign changes of the score ``d log p / dy`` on a grid
of that range bracket them: the grid has 129 evenly spaced points plus, around
every component, points ``mu_k + t sig_k`` for ``t`` from -4 to 4 in steps of
1/8, so narrow components are resolved at their own scale. A safeguarded
Newton iteration then refines every bracket. Between consecutive critical
points the density is monotone, which makes the level sets
``{y: p(y) >= lambda}`` unions of intervals whose ends are found the same way.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from ._checks import _SOLVER_CHUNK_ELEMENTS
from ._density import _LOG_2PI, _log_weights
from ._solvers import _ULPS

_GRID_EVEN = 129
_GRID_LOCAL = np.linspace(-4.0, 4.0, 65)
# Roots stop when the step is below XTOL * (smallest component scale) plus a
# few units in the last place; coverage levels stop within COVERAGE_TOL.
_XTOL = 1e-12
_COVERAGE_TOL = 1e-10
_MAX_ITER = 100


class _Mixtures:
    """Univariate mixtures in the form the kernels use: log weights, means,
    precisions and log normalising constants, each (n, K)."""

    def __init__(self, w: np.ndarray, mu: np.ndarray, sig: np.ndarray):
        self.w, self.mu, self.sig = w, mu, sig
        self.log_w = _log_weights(w)
        self.prec = sig**-2.0
        self.log_norm = -np.log(sig) - 0.5 * _LOG_2PI
        positive = w > 0
        self.lo = np.where(positive, mu, np.inf).min(axis=1)
        self.hi = np.where(positive, mu, -np.inf).max(axis=1)
        self.scale = np.where(positive, sig, np.inf).min(axis=1)

    def derivatives(self, y: np.ndarray, rows=slice(None)):
        """``log p``, its first and second derivatives at ``y`` (n', m) for the
        mixtures ``rows`` (n' of them)."""
        diff = y[..., None] - self.mu[rows, None, :]
        prec = self.prec[rows, None, :]
        comp = self.log_w[rows, None, :] + self.log_norm[rows, None, :]
        comp = comp - 0.5 * diff * diff * prec
        top = comp.max(axis=-1, keepdims=True)
        resp = np.exp(comp - top)
        total = resp.sum(axis=-1, keepdims=True)
        resp /= total
        v = -diff * prec
        g = (resp * v).sum(axis=-1)
        h = (resp * (v * v - prec)).sum(axis=-1) - g * g
        return (top + np.log(total))[..., 0], g, h

    def rising(self, y: np.ndarray) -> np.ndarray:
        """Whether the density increases at ``y`` (n, m): the sign of the
        score, without its normalisation or the second derivative."""
        diff = y[..., None] - self.mu[:, None, :]
        prec = self.prec[:, None, :]
        comp = self.log_w[:, None, :] + self.log_norm[:, None, :]
        comp = comp - 0.5 * diff * diff * prec
        comp -= comp.max(axis=-1, keepdims=True)
        return np.einsum("nmk,nmk->nm", np.exp(comp), diff * prec) < 0

    def cdf(self, y: np.ndarray, rows=slice(None)) -> np.ndarray:
        """Mixture cdf at ``y`` (n', m); infinite values allowed."""
        z = (y[..., None] - self.mu[rows, None, :]) / self.sig[rows, None, :]
        return (self.w[rows, None, :] * ndtr(z)).sum(axis=-1)


def _newton_bisect(evaluate, lo, hi, x, rising, tol) -> np.ndarray:
    """Solve ``f(x) = 0`` for independent problems bracketed by ``[lo, hi]``.

    ``evaluate(active, x)`` returns ``f`` and ``f'`` of problems ``active`` at
    ``x``; ``f`` is increasing (``rising``) or decreasing in its bracket.
    Newton steps fall back to bisection when they leave the bracket or are not
    half as long as the step before last (Numerical Recipes' ``rtsafe``).
    Stops when a step or the bracket is below ``tol``.
    """
    x, lo, hi = x.copy(), lo.copy(), hi.copy()
    old = np.abs(hi - lo)
    older = old.copy()
    active = np.flatnonzero(np.isfinite(x))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_MAX_ITER):
            if active.size == 0:
                break
            xa = x[active]
            f, df = evaluate(active, xa)
            right = np.where(rising[active], f < 0, f > 0)
            la = np.where(right, xa, lo[active])
            ha = np.where(right, hi[active], xa)
            step = f / df
            xn = xa - step
            bisect = ~((xn >= la) & (xn <= ha)) | ~(np.abs(step) <= 0.5 * older[active])
            xn = np.where(bisect, 0.5 * (la + ha), xn)
            xn = np.where(f == 0, xa, xn)
            moved = np.abs(xn - xa)
            done = (f == 0) | (moved <= tol[active]) | (ha - la <= tol[active])
            lo[active], hi[active], x[active] = la, ha, xn
            older[active], old[active] = old[active], moved
            active = active[~done]
    return x


def _critical_points(mix: _Mixtures) -> np.ndarray:
    """Critical points of each row's density, shape (n, C), ascending and NaN
    padded: maxima at even positions, the minima between them at odd ones."""
    n, K = mix.mu.shape
    pad = 0.5 * mix.scale
    even = np.linspace(0.0, 1.0, _GRID_EVEN)
    grid = np.concatenate(
        [
            (mix.lo - pad)[:, None] + (mix.hi - mix.lo + 2 * pad)[:, None] * even,
            (mix.mu[:, :, None] + mix.sig[:, :, None] * _GRID_LOCAL).reshape(n, -1),
        ],
        axis=1,
    )
    grid = np.sort(np.clip(grid, (mix.lo - pad)[:, None], (mix.hi + pad)[:, None]))
    # The score is positive left of every mean and negative right of them; a
    # zero counts as negative, so that the sign changes alternate.
    up = mix.rising(grid)
    change = up[:, :-1] != up[:, 1:]
    counts = change.sum(axis=1)
    C = int(counts.max())
    row, pos = np.nonzero(change)
    slot = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    is_max = up[row, pos]
    lo, hi = grid[row, pos], grid[row, pos + 1]
    tol = _XTOL * mix.scale[row] + _ULPS * np.abs(hi)

    def evaluate(active, x):
        _, g, h = mix.derivatives(x[:, None], row[active])
        return g[:, 0], h[:, 0]

    roots = _newton_bisect(evaluate, lo, hi, 0.5 * (lo + hi), ~is_max, tol)
    out = np.full((n, C), np.nan)
    out[row, slot] = roots
    return out


def _basin_masses(mix: _Mixtures, crit: np.ndarray):
    """Modes (n, M) and the mass between the minima on either side of each."""
    maxima, minima = crit[:, 0::2], crit[:, 1::2]
    n = len(crit)
    bounds = np.concatenate(
        [np.full((n, 1), -np.inf), np.where(np.isnan(minima), np.inf, minima)],
        axis=1,
    )
    F = np.concatenate([mix.cdf(bounds), np.ones((n, 1))], axis=1)
    masses = np.where(np.isnan(maxima), np.nan, np.diff(F, axis=1))
    return maxima, masses


def _level_roots(mix: _Mixtures, crit: np.ndarray, log_level: np.ndarray, x0=None):
    """Ends of ``{y: log p(y) >= log_level}``, per row and monotone piece.

    Pieces run between ``-inf``, the critical points and ``inf``; returns the
    root of each piece (NaN where it has none), shape (n, C + 1), and whether
    the piece rises.
    """
    last = np.take_along_axis(crit, (np.sum(~np.isnan(crit), 1) - 1)[:, None], 1)
    crit = np.where(np.isnan(crit), last, crit)
    # Outside [y_left, y_right] every component density, hence p, is below the
    # level (strictly, with the small margin): those bracket the tails.
    with np.errstate(invalid="ignore"):
        reach = np.sqrt(np.maximum(2.0 * (mix.log_norm - log_level[:, None]), 0.0))
    reach = 1.001 * reach + 1e-3
    positive = mix.w > 0
    y_left = np.where(positive, mix.mu - mix.sig * reach, np.inf).min(axis=1)
    y_right = np.where(positive, mix.mu + mix.sig * reach, -np.inf).max(axis=1)
    ends = np.concatenate(
        [np.minimum(y_left, crit[:, 0])[:, None], crit],
        axis=1,
    )
    ends = np.concatenate([ends, np.maximum(y_right, crit[:, -1])[:, None]], axis=1)
    lp_ends, _, _ = mix.derivatives(ends)
    a, b = lp_ends[:, :-1], lp_ends[:, 1:]
    rising = b > a
    level = log_level[:, None]
    has_root = (np.minimum(a, b) < level) & (level <= np.maximum(a, b))
    row, piece = np.nonzero(has_root)
    lo, hi = ends[row, piece], ends[row, piece + 1]
    start = 0.5 * (lo + hi)
    if x0 is not None:
        start = np.where(np.isfinite(x0[row, piece]), x0[row, piece], start)
        start = np.clip(start, lo, hi)

    def evaluate(active, x):
        lp, g, _ = mix.derivatives(x[:, None], row[active])
        return lp[:, 0] - log_level[row[active]], g[:, 0]

    tol = _XTOL * mix.scale[row] + _ULPS * np.abs(start)
    roots = np.full(a.shape, np.nan)
    roots[row, piece] = _newton_bisect(evaluate, lo, hi, start, rising[row, piece], tol)
    return roots, rising


def _coverage(mix: _Mixtures, roots: np.ndarray, rising: np.ndarray):
    """``P(p(Y) >= level)`` and its derivative in ``log level``."""
    found = ~np.isnan(roots)
    x = np.where(found, roots, 0.0)
    F = mix.cdf(x)
    signed = np.where(rising, -1.0, 1.0)
    cover = np.where(found, signed * F, 0.0).sum(axis=1)
    lp, g, _ = mix.derivatives(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = -np.where(found, np.exp(lp) / np.abs(g), 0.0).sum(axis=1)
    return cover, slope


def _level_for_coverage(mix: _Mixtures, crit: np.ndarray, coverage: np.ndarray):
    """Log density level whose superlevel set holds ``coverage``, and its roots.

    Bracketed Newton iteration on ``P(p(Y) >= e^l) = coverage`` in ``l``: the
    highest critical level has coverage 0, and the lowest density over
    ``[min_k mu_k - z sig_k, max_k mu_k + z sig_k]`` (``z`` leaves a quarter of
    the missing mass in each tail of every component) coverage above target.
    """
    lp_crit, _, _ = mix.derivatives(np.where(np.isnan(crit), mix.lo[:, None], crit))
    hi = lp_crit.max(axis=1)
    z = ndtri(1.0 - 0.25 * (1.0 - coverage))[:, None]
    positive = mix.w > 0
    outer = np.stack(
        [
            np.where(positive, mix.mu - z * mix.sig, np.inf).min(axis=1),
            np.where(positive, mix.mu + z * mix.sig, -np.inf).max(axis=1),
        ],
        axis=1,
    )
    lp_outer, _, _ = mix.derivatives(outer)
    lo = np.minimum(lp_outer.min(axis=1), lp_crit.min(axis=1))
    # Start where a single Gaussian's region of this coverage would end.
    level = np.clip(hi - 0.5 * ndtri(0.5 + 0.5 * coverage) ** 2, lo, hi)
    n = len(crit)
    out_level = level.copy()
    out_roots = np.full((n, crit.shape[1] + 1), np.nan)
    out_rising = np.zeros(out_roots.shape, dtype=bool)
    active = np.arange(n)
    sub, sub_crit, target, roots = mix, crit, coverage, None
    older = np.abs(hi - lo)
    old = older.copy()
    for iteration in range(_MAX_ITER):
        roots, rising = _level_roots(sub, sub_crit, level, roots)
        cover, slope = _coverage(sub, roots, rising)
        err = cover - target
        lo = np.where(err > 0, level, lo)
        hi = np.where(err < 0, level, hi)
        done = (np.abs(err) <= _COVERAGE_TOL) | (hi - lo <= 1e-14 * (1 + np.abs(level)))
        if iteration == _MAX_ITER - 1:
            done[:] = True
        out_level[active[done]] = level[done]
        out_roots[active[done]] = roots[done]
        out_rising[active[done]] = rising[done]
        if done.all():
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = -err / slope
        new = level + step
        bisect = ~((new > lo) & (new < hi)) | ~(np.abs(step) <= 0.5 * older)
        new = np.where(bisect, 0.5 * (lo + hi), new)
        older, old = old, np.abs(new - level)
        # Continue with the rows not done.
        keep = ~done
        active, level, lo, hi = active[keep], new[keep], lo[keep], hi[keep]
        older, old, target = older[keep], old[keep], target[keep]
        roots, sub_crit = roots[keep], sub_crit[keep]
        sub = _Mixtures(sub.w[keep], sub.mu[keep], sub.sig[keep])
    return out_level, out_roots, out_rising


def _pack_intervals(roots: np.ndarray, rising: np.ndarray):
    """Intervals (n, M, 2) from the roots of the pieces, NaN padded, and their
    number per row. Touching intervals (a level equal to a local minimum's)
    are merged."""
    lower = np.sort(np.where(rising, roots, np.nan), axis=1)
    upper = np.sort(np.where(rising, np.nan, roots), axis=1)
    # Merge an interval into the next when they touch.
    touch = upper[:, :-1] >= lower[:, 1:]
    upper[:, :-1] = np.where(touch, np.nan, upper[:, :-1])
    lower[:, 1:] = np.where(touch, np.nan, lower[:, 1:])
    lower, upper = np.sort(lower, axis=1), np.sort(upper, axis=1)
    counts = np.sum(~np.isnan(lower), axis=1)
    width = max(int(counts.max()), 1)
    return np.stack([lower[:, :width], upper[:, :width]], axis=-1), counts


def _chunks(n: int, K: int):
    size = max(1, _SOLVER_CHUNK_ELEMENTS // (K * (_GRID_EVEN + K * _GRID_LOCAL.size)))
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _pad_concat(parts: list, axis: int = 1) -> np.ndarray:
    """Concatenate arrays along rows after NaN padding ``axis`` to one width."""
    width = max(p.shape[axis] for p in parts)
    padded = []
    for p in parts:
        pad = [(0, 0)] * p.ndim
        pad[axis] = (0, width - p.shape[axis])
        padded.append(np.pad(p, pad, constant_values=np.nan))
    return np.concatenate(padded, axis=0)


def univariate_modes(w, mu, sig):
    """Modes of each row's density and the mass of their basins, both (n, M),
    ascending in location, NaN padded."""
    modes, masses = [], []
    for rows in _chunks(len(w), w.shape[1]):
        mix = _Mixtures(w[rows], mu[rows], sig[rows])
        m, p = _basin_masses(mix, _critical_points(mix))
        modes.append(m)
        masses.append(p)
    return _pad_concat(modes), _pad_concat(masses)


def univariate_hdr(w, mu, sig, coverage: np.ndarray):
    """Highest-density regions holding ``coverage`` (n,) of each row.

    Returns the intervals (n, M, 2), NaN padded, their number (n,) and the
    log density level (n,). A coverage of 1 gives the whole line.
    """
    parts, counts, levels = [], [], []
    for rows in _chunks(len(w), w.shape[1]):
        mix = _Mixtures(w[rows], mu[rows], sig[rows])
        cov = coverage[rows]
        whole = cov >= 1.0
        level, roots, rising = _level_for_coverage(
            mix, _critical_points(mix), np.where(whole, 0.5, cov)
        )
        intervals, count = _pack_intervals(roots, rising)
        intervals[whole] = np.nan
        intervals[whole, 0] = (-np.inf, np.inf)
        parts.append(intervals)
        counts.append(np.where(whole, 1, count))
        levels.append(np.where(whole, -np.inf, level))
    return _pad_concat(parts), np.concatenate(counts), np.concatenate(levels)


def univariate_hpd_mass(w, mu, sig, y: np.ndarray) -> np.ndarray:
    """``P(p(Y) >= p(y))`` for each row's value ``y`` (n,): the coverage of the
    smallest highest-density region that contains ``y``."""
    out = []
    for rows in _chunks(len(w), w.shape[1]):
        mix = _Mixtures(w[rows], mu[rows], sig[rows])
        lp, _, _ = mix.derivatives(y[rows, None])
        roots, rising = _level_roots(mix, _critical_points(mix), lp[:, 0])
        cover, _ = _coverage(mix, roots, rising)
        out.append(np.clip(cover, 0.0, 1.0))
    return np.concatenate(out)


def _draw_chunks(dist, n_samples: int, rng):
    """Rows of ``dist`` in chunks, each with ``n_samples`` draws per row and
    their log densities, shape (n_samples, rows)."""
    step = max(1, _SOLVER_CHUNK_ELEMENTS // (n_samples * dist.n_components))
    for start in range(0, len(dist), step):
        part = dist[start : start + step]
        draws = np.swapaxes(part.sample(n_samples, rng), 0, 1)
        yield slice(start, start + len(part)), part.log_prob(draws)


def monte_carlo_log_level(dist, coverage: np.ndarray, n_samples: int, rng):
    """Log density level of the highest-density region of each row of a
    ``NormalMixture`` holding ``coverage`` (n,), from ``n_samples`` draws: the
    ``floor((1 - c) m)``-th smallest log density of ``m`` draws leaves at
    least a fraction ``c`` of them at or above it. A coverage of 1 gives
    ``-inf``."""
    out = np.empty(len(dist))
    for rows, log_p in _draw_chunks(dist, n_samples, rng):
        index = np.floor((1.0 - coverage[rows]) * n_samples).astype(np.intp)
        index = np.clip(index, 0, n_samples - 1)
        level = np.take_along_axis(np.sort(log_p, axis=0), index[None], axis=0)[0]
        out[rows] = np.where(coverage[rows] >= 1.0, -np.inf, level)
    return out


def monte_carlo_hpd_mass(dist, log_p_y: np.ndarray, n_samples: int, rng):
    """``P(p(Y) >= p(y))`` per row from ``n_samples`` draws, given the log
    densities ``log_p_y`` (n,) of the values."""
    out = np.empty(len(dist))
    for rows, log_p in _draw_chunks(dist, n_samples, rng):
        out[rows] = np.mean(log_p >= log_p_y[rows], axis=0)
    return out
