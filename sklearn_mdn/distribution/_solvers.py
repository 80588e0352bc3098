"""Numerical kernels of ``NormalMixture``: quantiles and draws.

Plain functions of the mixture parameters (weights, means, Cholesky factors),
vectorised over rows; ``NormalMixture`` validates its inputs and calls them.
The log-density is in ``_density.py``, modes and branches in ``_modes.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from ._density import _INV_SQRT_2PI

_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_2 = float(np.sqrt(2.0))

# Iterations stop when the step is below XTOL * (smallest component scale) plus
# a few units in the last place of x.
_ULPS = 4.0 * np.finfo(np.float64).eps
_PPF_XTOL = 1e-12
_PPF_MAX_ITER = 100
# A Halley step shorter than this many scales ends the iteration: the error
# left is then of the order of its cube (see _iterate_quantiles); measured,
# |cdf(ppf(q)) - q| stays below 4e-12 * q on random mixtures, against 3e-12
# when iterating until the step is below _PPF_XTOL.
_PPF_LAST_STEP = 1e-4
# Rows times components per chunk of the quantile solver: its arrays then
# stay in the processor's cache (a third faster than chunks of
# _SOLVER_CHUNK_ELEMENTS; with the unsolved problems pooled, 2**16 beat 2**15
# by a tenth and 2**17 by a few percent on 100,000 rows).
_PPF_CHUNK_ELEMENTS = 2**16
# Iterations of each chunk; problems still unsolved then (about one in seven)
# are pooled across chunks and levels for the rest of their iterations.
_PPF_FIRST_ITER = 2
_PPF_REST_ITER = _PPF_MAX_ITER - _PPF_FIRST_ITER


def _component_terms(w: np.ndarray, mu: np.ndarray, sig: np.ndarray) -> dict:
    """What the quantile solver needs of P univariate mixtures, at any level.

    ``w``, ``mu``, ``sig`` of shape ``(K, P)`` (components transposed). The
    terms do not depend on the level, so that the quantiles of several levels
    (the two bounds of an interval) share them; see :func:`_start_lanes`.
    """
    positive = w > 0.0
    m = _sum_rows(w * mu)
    return {
        "mu": mu,
        "sig": sig,
        # None when every weight is positive: no component to ignore.
        "positive": None if positive.all() else positive,
        "scale": np.where(positive, sig, np.inf).min(axis=0),
        # Mean and standard deviation of the moment-matched normal.
        "m": m,
        "s": np.sqrt(_sum_rows(w * (sig**2 + (mu - m) ** 2))),
        "half_w": 0.5 * w,
        # u = (x - mu) * neg_c is -z / sqrt(2), with z = (x - mu) / sig.
        "neg_c": -_SQRT_HALF / sig,
        "sqrt2_inv_sig": _SQRT_2 / sig,
        "dens": w * _INV_SQRT_2PI / sig,
    }


def _start_lanes(terms: dict, q: float, z_p: float, index: np.ndarray, out):
    """Lanes of the quantile solver for level ``q`` of the mixtures of ``terms``.

    ``terms`` is :func:`_component_terms` of P mixtures, ``q`` a level in
    ``[0, 1]``, ``z_p`` the standard normal quantile ``ndtri(min(q, 1 - q))``
    and ``index`` (shape ``(P,)``) where each quantile goes in ``out``.
    Returns the ``(rows, comps)`` state that :func:`_iterate_quantiles`
    advances, or None after writing ``out`` where ``q`` is 0 or 1.

    A level above 1/2 is solved as the lower-tail problem of the reflected
    mixtures (``-Y``), so that tail probabilities are never formed as
    ``1 - F``. Each problem is bracketed by its smallest and largest component
    quantile (zero weights ignored) and started from the quantile of the
    moment-matched normal.
    """
    upper = q > 0.5
    p = 1.0 - q if upper else q
    sign = -1.0 if upper else 1.0
    if p <= 0.0:
        out[index] = -sign * np.inf
        return None
    mu = -terms["mu"] if upper else terms["mu"]
    comp_q = mu + terms["sig"] * z_p
    positive = terms["positive"]
    if positive is None:
        lo, hi = comp_q.min(axis=0), comp_q.max(axis=0)
    else:
        lo = np.where(positive, comp_q, np.inf).min(axis=0)
        hi = np.where(positive, comp_q, -np.inf).max(axis=0)
    rows = {
        "index": index,
        "sign": np.full(index.shape, sign),
        "p": np.full(index.shape, p),
        "log_p": np.full(index.shape, np.log(p)),
        "scale": terms["scale"],
        "lo": lo,
        "hi": hi,
        "x": np.clip(sign * terms["m"] + terms["s"] * z_p, lo, hi),
        # Last step and the one before it, for the rtsafe-style safeguard.
        "step": hi - lo,
        "step_old": hi - lo,
        "finished": np.zeros(index.shape, dtype=bool),
    }
    comps = {"mu": mu, **{k: terms[k] for k in _LEVEL_FREE_TERMS}}
    return rows, comps


def _iterate_quantiles(rows: dict, comps: dict, n_iter: int, out: np.ndarray):
    """Advance the lanes of :func:`_start_lanes` by up to ``n_iter`` iterations.

    Writes each finished quantile to ``out`` and returns the ``(rows, comps)``
    of the lanes still unfinished, which can be joined with others
    and advanced further (:func:`_finish_lanes`): every lane's iterations are
    its own.

    Halley's method on ``log F(x) - log p``, falling back to bisection
    whenever a step leaves the current bracket or is not half as long as the
    step before last (as in Numerical Recipes' ``rtsafe``). The components are
    held transposed, ``(K, P)``: the sums over components are then ``K - 1``
    additions of contiguous rows, in the order of ``sum(axis=1)``, at a fifth
    of the cost of numpy's reduction over a short last axis; the normal cdf
    is torch's ``erfc`` (:func:`_erfc`), and a Halley step shorter than
    ``_PPF_LAST_STEP`` scales is the last.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n_iter):
            if rows["x"].size == 0:
                break
            c, k = rows, comps
            x, lo, hi, p, finished = c["x"], c["lo"], c["hi"], c["p"], c["finished"]
            u = x - k["mu"]
            u *= k["neg_c"]
            F = _sum_rows(k["half_w"] * _erfc(u))
            t = u * u
            np.negative(t, out=t)
            pdf = np.multiply(k["dens"], np.exp(t, out=t), out=t)
            f = _sum_rows(pdf)
            # f' = -sum(pdf z / sig) = sum(pdf u sqrt(2) / sig)
            u *= pdf
            u *= k["sqrt2_inv_sig"]
            f_prime = _sum_rows(u)
            lo = np.where(F < p, x, lo)
            hi = np.where(F > p, x, hi)
            # Halley step on g = log F - log p (g' = f / F, g'' = f' / F - g'^2):
            # the Newton step dx = g / g', divided by 1 - dx g'' / (2 g') where
            # that lies in [1/2, 2], else the Newton step. Bisect instead when
            # it leaves the bracket or is not at least twice as short as the
            # step before last (this stops ping-pong across a gap).
            g1 = f / F
            newton = (np.log(F) - c["log_p"]) / g1
            halley = 1.0 - newton * (f_prime / F - g1 * g1) / (2.0 * g1)
            newton = np.where(
                (halley >= 0.5) & (halley <= 2.0), newton / halley, newton
            )
            x_new = x - newton
            bisect = ~((x_new >= lo) & (x_new <= hi)) | ~(
                np.abs(newton) <= 0.5 * np.abs(c["step_old"])
            )
            x_new = np.where(bisect, 0.5 * (lo + hi), x_new)
            exact = F == p
            x_new = np.where(exact | finished, x, x_new)
            step = x_new - x
            tol = _PPF_XTOL * c["scale"] + _ULPS * np.abs(x_new)
            # Halley converges cubically: after a step of at most
            # _PPF_LAST_STEP scales the error is far below the tolerance,
            # and the iteration that would confirm it is spared.
            done = ~bisect & (np.abs(newton) <= _PPF_LAST_STEP * c["scale"])
            finished = finished | exact | done | (np.abs(step) <= tol)
            finished |= hi - lo <= tol
            c.update(x=x_new, lo=lo, hi=hi, step_old=c["step"], step=step)
            c["finished"] = finished
            # Retire finished problems once they are a quarter of the lanes
            # (and all of them on leaving), so that the arrays are not copied
            # at every iteration.
            n_finished = np.count_nonzero(finished)
            if n_finished and (4 * n_finished >= finished.size or i == n_iter - 1):
                out[c["index"][finished]] = (c["sign"] * x_new)[finished]
                keep = np.flatnonzero(~finished)
                rows = {name: value[keep] for name, value in rows.items()}
                comps = {name: value[:, keep] for name, value in comps.items()}
    return rows, comps


def _finish_lanes(lanes: list, out: np.ndarray) -> None:
    """Solve the lanes of several :func:`_iterate_quantiles` states together.

    Each lane runs until it is finished or has had ``_PPF_MAX_ITER``
    iterations in all; then its last iterate is written to ``out``.
    """
    rows, comps = zip(*lanes)
    rows, _ = _iterate_quantiles(
        {name: np.concatenate([r[name] for r in rows]) for name in rows[0]},
        {name: np.concatenate([c[name] for c in comps], axis=1) for name in comps[0]},
        _PPF_REST_ITER,
        out,
    )
    out[rows["index"]] = rows["sign"] * rows["x"]


# The terms of _component_terms that the iterations of _iterate_quantiles
# read, besides the (reflected) means.
_LEVEL_FREE_TERMS = ("half_w", "neg_c", "sqrt2_inv_sig", "dens")


def _erfc(u: np.ndarray) -> np.ndarray:
    """``erfc(u)`` through torch's vectorised ``erfc``.

    With ``u = -z / sqrt(2)``, half of it is the standard normal cdf at ``z``,
    computed as ``scipy.special.ndtr`` does, several times faster: within
    2e-15 relative of ``ndtr`` where ``|z| < 5``, 2e-13 in the far lower tail.
    """
    # Loaded on first use: ``import sklearn_mdn`` does not load torch.
    from .._nn._erfc import erfc

    return erfc(u)


def _sum_rows(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a ``(K, P)`` array, added row by row in order."""
    total = a[0].copy()
    for row in a[1:]:
        total += row
    return total


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


def _marginal_quantiles(
    weights: np.ndarray, means: np.ndarray, scales: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """Quantiles of every target's marginal mixture at every level.

    ``weights`` (n, K), ``means`` and marginal ``scales`` (n, K, d), levels
    ``q`` (m,), or (d, m) for levels of each target; returns shape (n, d, m).
    Each target's rows are solved in chunks, every level of a chunk from the
    same :func:`_component_terms`.
    """
    n, K, d = means.shape
    q = np.broadcast_to(q, (d, q.shape[-1]))
    m = q.shape[1]
    # Components first and rows last: a chunk of rows is a slice of the
    # (K, rows) layout of the solver.
    w_t = np.ascontiguousarray(weights.T)  # (K, n)
    mu_t = np.ascontiguousarray(means.transpose(2, 1, 0))  # (d, K, n)
    sig_t = np.ascontiguousarray(scales.transpose(2, 1, 0))
    out = np.empty(n * d * m)
    from .._nn._threads import torch_threads  # imports torch (see _erfc)

    with np.errstate(divide="ignore"):
        z_q = ndtri(np.where(q > 0.5, 1.0 - q, q))
    chunk = max(1, _PPF_CHUNK_ELEMENTS // K)
    # Output index of each row's first quantile.
    first = np.arange(n) * (d * m)
    # Chunks of equal size: a small last chunk costs as many iterations as a
    # full one.
    n_chunks = -(-n // chunk)
    bounds = np.arange(n_chunks + 1) * n // max(n_chunks, 1)
    pending, n_pending = [], 0
    # One torch thread for erfc (_erfc): the chunks are too small to share.
    with torch_threads(1):
        for j in range(d):
            for start, stop in zip(bounds[:-1], bounds[1:]):
                part = slice(start, stop)
                terms = _component_terms(
                    w_t[:, part], mu_t[j, :, part], sig_t[j, :, part]
                )
                for level in range(m):
                    index = first[part] + (j * m + level)
                    lanes = _start_lanes(terms, q[j, level], z_q[j, level], index, out)
                    if lanes is None:
                        continue
                    # The first iterations solve most problems; the rest are
                    # pooled, so that their iterations run on many lanes at once.
                    rest = _iterate_quantiles(*lanes, _PPF_FIRST_ITER, out)
                    pending.append(rest)
                    n_pending += rest[0]["x"].size
                    if n_pending >= chunk:
                        _finish_lanes(pending, out)
                        pending, n_pending = [], 0
        if pending:
            _finish_lanes(pending, out)
    return out.reshape(n, d, m)


def _sample_mixture(
    weights: np.ndarray,
    means: np.ndarray,
    L: np.ndarray,
    n_samples: int,
    rng: np.random.RandomState,
) -> np.ndarray:
    """``n_samples`` joint draws from each row's mixture, shape (n, n_samples, d).

    A draw picks a component by the inverse cdf of the cumulative weights, then
    returns ``mu + L z`` with ``z`` standard normal.
    """
    n, K, d = means.shape
    u = rng.random_sample((n, n_samples))
    z = rng.standard_normal((n, n_samples, d))
    cum = np.cumsum(weights, axis=1)
    cum = cum / cum[:, -1:]
    cum[:, -1] = 1.0
    # Component index = number of cumulative weights <= u (zero weights are
    # never chosen); u < 1 keeps it below K.
    comp = np.zeros((n, n_samples), dtype=np.intp)
    for k in range(K - 1):
        comp += cum[:, k, None] <= u
    rows = np.arange(n)[:, None]
    return means[rows, comp] + np.einsum("nsij,nsj->nsi", L[rows, comp], z)
