"""Calibration of the predicted spread on held-out rows."""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from ..distribution._density import _LOG_2PI, _mahalanobis

# Range searched for the spread factor.
SPREAD_BOUNDS = (0.1, 10.0)


def fit_spread_factor(dist, y, sample_weight=None):
    """Factor on every component's scale that best fits held-out targets.

    Multiplying each component's scale (its Cholesky factor) by ``s``, means
    and weights kept, changes the component's log density at ``y`` to
    ``-m / (2 s**2) - d log(s) - log|L| - d/2 log(2 pi)``, where ``m`` is the
    squared Mahalanobis distance at ``s = 1``. One pass over the rows gives
    ``m``; the search for the ``s`` of least mean negative log-likelihood then
    costs a few array operations per trial.

    Parameters
    ----------
    dist : NormalMixture
        Predicted mixtures of the held-out rows, ``n`` rows.
    y : ndarray of shape (n, d)
        Held-out targets. Rows with a missing (NaN) target are left out.
    sample_weight : ndarray of shape (n,) or None, default=None
        Weights of the rows in the mean negative log-likelihood.

    Returns
    -------
    factor : float
        The factor, within ``SPREAD_BOUNDS``; 1.0 when no row is usable.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(dist), -1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    with np.errstate(all="ignore"):
        mahalanobis = _mahalanobis(dist.scale_tril, y[:, None, :] - dist.means)
        log_det = dist._half_log_det()
        log_weights = np.log(dist.weights)
    usable = np.isfinite(mahalanobis).all(axis=1) & (w > 0)
    if not usable.any():
        return 1.0
    mahalanobis, log_det = mahalanobis[usable], log_det[usable]
    log_weights, w = log_weights[usable], w[usable]
    d = y.shape[1]

    # The log density of _solvers._gaussian_log_density, as a function of
    # log(s). Its terms are added in this order, not in that function's:
    # the other order moves the factor found by about 2e-13 relative, and
    # the fitted models with it (tests/test_pinned.py).
    base = log_weights - log_det - 0.5 * d * _LOG_2PI

    def mean_nll(log_s):
        log_density = base - 0.5 * mahalanobis * np.exp(-2.0 * log_s) - d * log_s
        return -np.average(logsumexp(log_density, axis=1), weights=w)

    result = minimize_scalar(
        mean_nll,
        bounds=np.log(SPREAD_BOUNDS),
        method="bounded",
        options={"xatol": 1e-4},
    )
    # Keep 1.0 unless the factor found improves on it.
    if not result.fun < mean_nll(0.0):
        return 1.0
    return float(np.exp(result.x))


def conformal_quantile(scores, coverage) -> float:
    """Split-conformal quantile of calibration ``scores`` for ``coverage``.

    The ``k``-th smallest of the ``n`` finite scores, ``k = ceil((n + 1) *
    coverage)``: for a new score exchangeable with them, ``P(score <= q) >=
    k / (n + 1) >= coverage``. With ``k > n`` (fewer than about
    ``coverage / (1 - coverage)`` scores) no finite score guarantees it, and
    1.0, the largest possible score, is returned: the whole line.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    scores = scores[~np.isnan(scores)]
    n = scores.size
    # The small slack keeps (n + 1) * coverage = 9.000000000000002 at 9.
    k = int(np.ceil((n + 1) * coverage - 1e-9))
    return 1.0 if k > n else float(scores[max(k, 1) - 1])


class ConformalCalibration:
    """Split-conformal calibration scores of the held-out rows.

    Scores are small where the target is typical of its predictive
    distribution, in [0, 1]:

    - ``interval_scores``, for equal-tailed intervals, ``|2 F_j(y_j) - 1|``
      of each target ``j`` (``F_j`` its predictive marginal cdf): the
      interval between the ``(1 - q) / 2`` and ``(1 + q) / 2`` quantiles
      holds ``y_j`` exactly when the score is at most ``q``.
    - ``region_scores``, for highest-density regions, ``P(p(Y) >= p(y))``:
      the highest-density region of coverage ``q`` holds ``y`` exactly when
      the score is at most ``q`` (exact for one target; for several, both
      are estimated from 10,000 draws per row with a fixed seed).

    :meth:`level` turns a requested coverage into the nominal coverage
    ``q`` to ask of the predictive distribution (:func:`conformal_quantile`).
    Scores and levels do not depend on the units of the target, so the
    standardised distributions give them.

    Parameters
    ----------
    interval_scores : ndarray of shape (n_calibration, n_outputs)
        NaN where the target is missing.
    region_scores : ndarray of shape (n_calibration,)
        NaN where a target of the row is missing.
    """

    def __init__(self, interval_scores, region_scores):
        self.interval_scores = np.asarray(interval_scores, dtype=np.float64)
        self.region_scores = np.asarray(region_scores, dtype=np.float64)

    @property
    def n_calibration(self) -> int:
        """Number of calibration rows."""
        return len(self.region_scores)

    def level(self, coverage, kind):
        """Nominal coverage that guarantees ``coverage``.

        ``kind="interval"`` gives one level per target, shape (n_outputs,);
        ``kind="region"`` one float. A level of 1.0 means the whole line.
        """
        if kind == "interval":
            return np.array(
                [conformal_quantile(s, coverage) for s in self.interval_scores.T]
            )
        return conformal_quantile(self.region_scores, coverage)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_calibration={self.n_calibration})"


def fit_conformal(dist, y, sample_weight=None) -> ConformalCalibration:
    """Conformal scores of held-out rows (see :class:`ConformalCalibration`).

    Parameters
    ----------
    dist : NormalMixture
        Predicted mixtures of the held-out rows, ``n`` rows.
    y : ndarray of shape (n, d)
        Held-out targets; NaN entries are missing.
    sample_weight : ndarray of shape (n,) or None, default=None
        Rows of weight zero are left out. Other weights are not used: the
        guarantee is for rows drawn like the calibration rows.

    Returns
    -------
    calibration : ConformalCalibration
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(dist), -1)
    if sample_weight is not None:
        keep = np.asarray(sample_weight) > 0
        dist, y = dist[keep], y[keep]
    observed = ~np.isnan(y)
    filled = np.where(observed, y, 0.0)
    cdf = dist.cdf(filled if dist.event_shape else filled[:, 0]).reshape(y.shape)
    interval = np.where(observed, np.abs(2.0 * cdf - 1.0), np.nan)
    complete = observed.all(axis=1)
    region = np.full(len(y), np.nan)
    if complete.any():
        inner = dist[complete]
        if inner.n_targets == 1:
            inner, values = inner.marginal(0), filled[complete, 0]
        else:
            values = filled[complete]
        region[complete] = inner._hdr_mass(values)
    return ConformalCalibration(interval.reshape(len(y), -1), region)
