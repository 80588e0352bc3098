"""The mean negative log-likelihood of targets under predicted mixtures.

Public as :func:`sklearn_mdn.metrics.mean_negative_log_likelihood`; here, so
that the scorers (:mod:`sklearn_mdn.metrics._scorers`), which score it through target
transforms, and the metrics both import it from below.
"""

from __future__ import annotations

import numpy as np

from ..distribution._checks import _check_targets, _check_weights
from ..distribution._density import _observed_log_prob
from ..distribution._mixture import _check_dist


def _weighted_mean(values: np.ndarray, weights: np.ndarray, what: str) -> float:
    total = weights.sum()
    if not total > 0:
        raise ValueError(f"no observed value with positive weight for {what}.")
    return float(np.dot(weights, values) / total)


def mean_negative_log_likelihood(
    y_true, dist, *, sample_weight=None, missing_targets="error"
):
    """Mean negative log-likelihood of the targets under predicted mixtures.

    The average over rows of ``-log p_i(y_i)``, in nats per row, with ``p_i``
    the predictive density of row ``i`` (joint over the targets when there are
    several). Lower is better. Densities are in the units of ``y``: rescaling
    the targets by ``c`` shifts the score by ``d * log(c)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
        Observed targets, shaped like ``(n_samples, *dist.event_shape)``.
    dist : NormalMixture
        Predictive distributions, one row per sample, as returned by
        ``MDNRegressor.predict_dist``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.
    missing_targets : {"error", "marginalize"}, default="error"
        What a NaN in ``y_true`` means. ``"error"`` raises a ``ValueError``.
        ``"marginalize"`` scores each row on its observed targets only, with
        the exact marginal density of those targets (a Gaussian mixture with
        the same weights, the observed means and the observed covariance
        block); rows with no observed target are left out of the average.

    Returns
    -------
    nll : float
        Weighted mean negative log-likelihood.

    See Also
    --------
    neg_nll_scorer : The matching scorer, for model selection.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import NormalMixture
    >>> from sklearn_mdn.metrics import mean_negative_log_likelihood
    >>> dist = NormalMixture(np.ones((2, 1)), np.zeros((2, 1, 1)),
    ...                      np.ones((2, 1, 1, 1)))
    >>> round(mean_negative_log_likelihood([0.0, 1.0], dist), 4)
    1.1689
    """
    y, observed = _check_targets(y_true, _check_dist(dist), missing_targets)
    sample_weight = _check_weights(sample_weight, len(y))
    log_prob = _observed_log_prob(
        dist.weights, dist.means, dist.scale_tril, y, observed
    )
    rows = observed.any(axis=1)
    return -_weighted_mean(log_prob[rows], sample_weight[rows], "any row")
