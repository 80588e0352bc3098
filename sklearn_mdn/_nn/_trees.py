"""Predictions of the boosted trees of ``tree_blend`` (their arrays, from
:func:`~sklearn_mdn._estimators._blend.tree_arrays`), and the blend of a
mixture's mean with them."""

import numpy as np

from ..distribution import NormalMixture


def predict_trees(trees, X) -> np.ndarray:
    """Predictions (n, d) of :func:`fit_trees`' trees at standardised ``X``,
    as ``HistGradientBoostingRegressor.predict`` makes them: each row goes
    left where its feature is at most the node's threshold (a missing value
    where the node sends it), every tree at once, level by level."""
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((len(X), len(trees)))
    rows = np.arange(len(X))[:, None]
    for j, t in enumerate(trees):
        node = np.broadcast_to(t["roots"], (len(X), len(t["roots"]))).copy()
        while True:
            inner = ~t["leaf"][node]
            if not inner.any():
                break
            value = X[rows, t["feature"][node]]
            left = np.where(
                np.isnan(value), t["missing_left"][node], value <= t["threshold"][node]
            )
            step = np.where(left, t["left"][node], t["right"][node])
            node = np.where(inner, step, node)
        out[:, j] = t["baseline"] + t["value"][node].sum(axis=1)
    return out


def blend(dist, trees_mean, share) -> NormalMixture:
    """``dist`` with every component moved by ``share * (trees_mean -
    dist.mean())``, row by row (standardised units)."""
    if share == 0:
        return dist
    mean = dist.mean().reshape(len(dist), -1)
    shift = share * (np.asarray(trees_mean).reshape(mean.shape) - mean)
    means = dist.means + shift[:, None, :]
    return NormalMixture(
        dist.weights, means, dist.scale_tril, event_shape=dist.event_shape
    )
