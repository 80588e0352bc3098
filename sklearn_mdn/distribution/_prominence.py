"""Shallow modes of Gaussian mixtures: merging modes not separated by a dip.

A mode of a fitted mixture is listed as a branch only if the density falls
between it and every higher mode: its *prominence* ``log p(mode) - log
p(key saddle)`` must reach ``-log(1 - min_dip)``, where the key saddle is the
highest point of the lowest-dipping path to a higher mode (topographic
prominence, measured on the log density so that it does not depend on the
units of the targets). A mode below it is a shoulder of a higher mode, or the
same branch placed twice, at nearly the same place, by networks that are
pooled: its mass joins that of the higher mode across its key saddle.

With one target the saddles are the exact local minima between neighbouring
modes. With several, the saddle between two modes is approximated by the
lowest density on the straight segment joining them (``_SEGMENT_POINTS``
points), then by the best path through other modes (a bottleneck closure); a
curved ridge between two modes is seen as a deeper dip than it is, so modes
are merged less, never more, than by the exact rule.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._checks import _SOLVER_CHUNK_ELEMENTS
from ._density import _LOG_2PI, _log_weights, _precisions
from ._hdr import _basin_masses, _chunks, _critical_points, _Mixtures, _pad_concat

# Points (ends included) at which the segment between two modes is searched
# for its lowest density, several targets only.
_SEGMENT_POINTS = 33


def univariate_modes_and_saddles(w, mu, sig):
    """Modes (n, M), their basin masses (n, M), the log density at each mode
    (n, M) and the log density of the lowest point between each pair of modes
    (n, M, M), ascending in location, NaN (masses, modes) or -inf padded."""
    modes, masses, peaks, minima = [], [], [], []
    for rows in _chunks(len(w), w.shape[1]):
        mix = _Mixtures(w[rows], mu[rows], sig[rows])
        crit = _critical_points(mix)
        m, p = _basin_masses(mix, crit)
        lp, _, _ = mix.derivatives(np.nan_to_num(crit))
        lp = np.where(np.isnan(crit), -np.inf, lp)
        modes.append(m)
        masses.append(p)
        peaks.append(lp[:, 0::2])
        minima.append(lp[:, 1::2])
    modes, masses = _pad_concat(modes), _pad_concat(masses)
    peaks = np.nan_to_num(_pad_concat(peaks), nan=-np.inf)
    minima = np.nan_to_num(_pad_concat(minima), nan=-np.inf)
    n, M = masses.shape
    saddles = np.full((n, M, M), -np.inf)
    for i in range(M):
        low = np.full(n, np.inf)
        for j in range(i + 1, M):
            # the lowest point between modes i and j: the lowest minimum
            low = np.minimum(low, minima[:, j - 1])
            saddles[:, i, j] = saddles[:, j, i] = low
    return modes, masses, peaks, saddles


def segment_saddles(weights, means, L, half_log_det, modes, min_dip):
    """Log density at each of ``modes`` (n, M) and the lowest log density on
    the segment between each pair (n, M, M), closed over paths through other
    modes; ``modes`` (n, M, d) is NaN padded and gives -inf.

    A pair whose midpoint is already lower than ``1 - min_dip`` times the
    density of the lower mode is given -inf without searching the segment:
    it joins no mode to another, directly or on a path (the merges and the
    higher modes they join are the same as with the exact lowest point).
    """
    n, M, d = modes.shape
    K = means.shape[1]
    prec, _ = _precisions(L, means)
    # log w_k + log N(0; 0, Sigma_k): the component's log density at its mean
    log_top = _log_weights(weights) - half_log_det - 0.5 * d * _LOG_2PI
    present = ~np.isnan(modes).any(axis=2)
    x = np.nan_to_num(modes)

    def log_p(rows, y):  # y (r, G, d) -> (r, G)
        diff = y[:, :, None, :] - means[rows][:, None]
        quad = np.einsum("rgki,rkij,rgkj->rgk", diff, prec[rows], diff)
        return logsumexp(log_top[rows][:, None] - 0.5 * quad, axis=-1)

    peaks = np.full((n, M), -np.inf)
    saddles = np.full((n, M, M), -np.inf)
    t = np.linspace(0.0, 1.0, _SEGMENT_POINTS)[:, None]
    step = max(1, _SOLVER_CHUNK_ELEMENTS // (_SEGMENT_POINTS * K * d * d))
    row, i, j = np.nonzero(present[:, :, None] & present[:, None, :])
    upper = i < j
    row, i, j = row[upper], i[upper], j[upper]
    for start in range(0, n, step):
        rows = slice(start, start + step)
        peaks[rows] = np.where(present[rows], log_p(rows, x[rows]), -np.inf)
    mid = np.empty(row.size)
    for start in range(0, row.size, step):
        r, a, b = (v[start : start + step] for v in (row, i, j))
        mid[start : start + step] = log_p(r, 0.5 * (x[r, a] + x[r, b])[:, None])[:, 0]
    lower = np.minimum(peaks[row, i], peaks[row, j])
    search = mid >= lower + np.log1p(-min_dip)
    row, i, j = row[search], i[search], j[search]
    for start in range(0, row.size, step):
        r, a, b = (v[start : start + step] for v in (row, i, j))
        seg = x[r, a][:, None] + t * (x[r, b] - x[r, a])[:, None]
        low = log_p(r, seg).min(axis=1)
        saddles[r, a, b] = saddles[r, b, a] = low
    for k in range(M):  # best path through other modes (bottleneck closure)
        via = np.minimum(saddles[:, :, k, None], saddles[:, None, k, :])
        saddles = np.maximum(saddles, via)
    return peaks, saddles


def merge_shallow_modes(modes, masses, peaks, saddles, min_dip, close=None):
    """Drop the modes of prominence below ``-log(1 - min_dip)`` (or, with
    ``close`` (n, M, M) given, closer than a threshold to a higher mode),
    their mass joining the higher mode across their key saddle.

    ``modes`` (n, M, d) and ``masses`` (n, M) are NaN padded, ``peaks`` (n, M)
    and ``saddles`` (n, M, M) are log densities. Returns new ``modes`` and
    ``masses`` in the same places, NaN where a mode was merged.
    """
    if min_dip <= 0.0 and close is None:
        return modes, masses
    n, M = masses.shape
    valid = ~np.isnan(masses)
    lp = np.where(valid, peaks, -np.inf)
    order = np.argsort(-lp, axis=1, kind="stable")  # highest first
    rank = np.argsort(order, axis=1)
    higher = (rank[:, None, :] < rank[:, :, None]) & valid[:, None, :]
    key = np.where(higher, saddles, -np.inf)
    top = key.max(axis=2)
    with np.errstate(invalid="ignore"):  # -inf - -inf on the padding
        prominence = np.where(valid & np.isfinite(top), lp - top, np.inf)
    drop = valid & (prominence < -np.log1p(-min_dip))
    if close is not None:
        near = higher & close
        drop |= valid & near.any(axis=2)
        # the parent: the higher mode across the key saddle, or if that is not
        # near, the near one of highest saddle
        shallow = valid & (prominence < -np.log1p(-min_dip))
        key = np.where(shallow[:, :, None], key, np.where(near, saddles, -np.inf))
    parent = key.argmax(axis=2)
    masses = masses.copy()
    rows = np.arange(n)
    for pos in range(M - 1, 0, -1):  # lowest first, so that mass flows upwards
        i = order[:, pos]
        moving = drop[rows, i]
        r = rows[moving]
        masses[r, parent[r, i[moving]]] += masses[r, i[moving]]
    masses[drop] = np.nan
    modes = np.where(drop[:, :, None], np.nan, modes)
    return modes, masses


def univariate_merged_modes(w, mu, sig, min_dip):
    """:func:`univariate_modes` with shallow modes merged (``min_dip``)."""
    modes, masses, peaks, saddles = univariate_modes_and_saddles(w, mu, sig)
    modes, masses = merge_shallow_modes(
        modes[..., None], masses, peaks, saddles, min_dip
    )
    return modes[..., 0], masses
