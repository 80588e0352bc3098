"""Predictions of the boosted trees of ``tree_blend`` (their arrays, from
:func:`~sklearn_mdn._estimators._blend.tree_arrays`), and the blend of a
mixture's mean with them."""

import numpy as np

from .._utils._compat import tree_predict
from ..distribution import NormalMixture


def tree_inputs(estimator, X) -> np.ndarray:
    """The validated rows ``X`` standardised in float64, as the trees of
    ``tree_blend`` read them, in training and in prediction alike."""
    return (np.asarray(X, dtype=np.float64) - estimator.x_mean_) / estimator.x_scale_


def predict_trees(trees, X) -> np.ndarray:
    """Predictions (n, d) of the trees of ``tree_blend`` (one set per target)
    at standardised ``X``, as ``HistGradientBoostingRegressor.predict``
    makes them: each row goes left where its feature is at most the node's
    threshold (a missing value where the node sends it), and the leaves'
    values are added to the baseline tree by tree.

    scikit-learn's own compiled traversal runs it where its private
    ``TreePredictor`` takes the arrays (``_compat.tree_predict``: the same
    results, bit for bit, about six times faster); :func:`_predict_numpy`
    otherwise.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    try:
        return np.column_stack([_predict_sklearn(t, X) for t in trees])
    except (ImportError, AttributeError, TypeError, ValueError):
        return _predict_numpy(trees, X)


def _predict_sklearn(t, X) -> np.ndarray:
    ends = [*t["roots"][1:], len(t["value"])]
    out = np.full(len(X), t["baseline"])
    for root, end in zip(t["roots"], ends):
        leaf = t["leaf"][root:end]
        fields = {
            "value": t["value"][root:end],
            "feature_idx": t["feature"][root:end],
            "num_threshold": t["threshold"][root:end],
            "missing_go_to_left": t["missing_left"][root:end],
            "is_leaf": leaf,
            "left": np.where(leaf, 0, t["left"][root:end] - root),
            "right": np.where(leaf, 0, t["right"][root:end] - root),
        }
        out += tree_predict(fields, X)
    return out


def _predict_numpy(trees, X) -> np.ndarray:
    """:func:`predict_trees` in numpy: every tree at once, level by level."""
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
        out[:, j] = t["baseline"]
        for k in range(node.shape[1]):  # tree by tree, as the trees add up
            out[:, j] += t["value"][node[:, k]]
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
