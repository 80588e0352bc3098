"""The mixture's mean moved toward gradient-boosted trees' (``tree_blend``).

Tree ensembles fit the conditional mean of some tabular data better than a
network does (the UCI sets boston, concrete and power), and the two make
different errors. With ``tree_blend`` the fit also trains scikit-learn's
:class:`~sklearn.ensemble.HistGradientBoostingRegressor` on the
standardised inputs, one per target, and moves every component of each
predicted mixture by ``share * (trees - mixture mean)``: the mean moves that
share of the way toward the trees' prediction, the shape and spread stay.
``"auto"`` lets the held-out rows choose the share (:func:`choose_share`):
each network's, beside trees trained on that network's other rows.

The trees are kept as plain arrays (:func:`tree_arrays`), which a model
file can hold, and predicted from by
:func:`~sklearn_mdn._nn._trees.predict_trees`.
"""

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from .._nn._held_out import t_statistic
from .._nn._trees import blend
from .._utils._compat import boosted_trees
from ..distribution import NormalMixture
from . import _plan
from ._calibration import fit_spread_factor


def fit_trees(X, y, sample_weight, seed, n_threads) -> list:
    """Boosted trees of each target on the rows where it is observed, as
    :func:`tree_arrays`; ``X`` and ``y`` standardised, (n, p) and (n, d)."""
    trees = []
    for j in range(y.shape[1]):
        rows = ~np.isnan(y[:, j])
        if sample_weight is not None:
            rows &= sample_weight > 0
        model = HistGradientBoostingRegressor(**_plan.BLEND_TREES, random_state=seed)
        w = None if sample_weight is None else sample_weight[rows]
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            model.fit(X[rows], y[rows, j], sample_weight=w)
        trees.append(tree_arrays(model))
    return trees


def tree_arrays(model) -> dict:
    """The fitted ``HistGradientBoostingRegressor`` ``model`` as arrays: its
    nodes (every tree's, one after another; children as indices into them),
    each tree's root and the baseline prediction."""
    nodes, baseline = boosted_trees(model)
    sizes = np.array([len(n) for n in nodes])
    roots = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    all_nodes = np.concatenate(nodes)
    offset = np.repeat(roots, sizes)
    leaf = all_nodes["is_leaf"].astype(bool)
    return {
        "feature": all_nodes["feature_idx"].astype(np.int64),
        "threshold": all_nodes["num_threshold"].astype(np.float64),
        "missing_left": all_nodes["missing_go_to_left"].astype(bool),
        "left": np.where(leaf, -1, all_nodes["left"].astype(np.int64) + offset),
        "right": np.where(leaf, -1, all_nodes["right"].astype(np.int64) + offset),
        "value": all_nodes["value"].astype(np.float64),
        "leaf": leaf,
        "roots": roots.astype(np.int64),
        "baseline": baseline,
    }


def choose_share(dist, trees_mean, y, sample_weight, spread):
    """The share of ``tree_blend="auto"`` on held-out rows, and the rule in
    words.

    Each share of ``_plan.BLEND_SHARES`` is tried on the held-out mixtures
    ``dist`` (standardised units), with its own spread factor where
    ``spread``; the share of least held-out NLL among those whose paired t
    statistic against no blend, row by row, is below ``_plan.BLEND_Z`` is
    kept, else 0.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(dist), -1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    rows = ~np.isnan(y).any(axis=1) & (w > 0)
    dist, y, w = dist[rows], y[rows], w[rows]
    trees_mean = np.asarray(trees_mean)[rows]

    def scored(share):
        moved = blend(dist, trees_mean, share)
        factor = fit_spread_factor(moved, y, w) if spread else 1.0
        if factor != 1.0:
            moved = NormalMixture(
                moved.weights,
                moved.means,
                factor * moved.scale_tril,
                event_shape=moved.event_shape,
            )
        return factor, -w * moved.log_prob(y)

    factor0, base = scored(0.0)
    best = (0.0, factor0, float(np.mean(base)), 0.0)
    n = len(y)
    for share in _plan.BLEND_SHARES:
        factor, nll = scored(share)
        t = t_statistic(nll - base)
        if t < _plan.BLEND_Z and nll.mean() < best[2]:
            best = (share, factor, float(nll.mean()), t)
    share, _, nll, t = best
    if share:
        rule = (
            f"held-out NLL {float(np.mean(base)) - nll:.3f} lower than without "
            f"the trees (paired t {t:+.1f} over the {n:,} held-out rows; kept "
            f"below {_plan.BLEND_Z:g}), the least of shares "
            + ", ".join(f"{s:g}" for s in _plan.BLEND_SHARES)
        )
    else:
        rule = (
            f"no share of {', '.join(f'{s:g}' for s in _plan.BLEND_SHARES)} "
            f"lowered the held-out NLL by more than {-_plan.BLEND_Z:g} standard "
            f"error (over the {n:,} held-out rows)"
        )
    return share, rule
