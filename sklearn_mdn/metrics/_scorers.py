"""Scorers of predictive distributions, for scikit-learn's model selection.

Re-exported by :mod:`sklearn_mdn.metrics`, where ``neg_nll_scorer`` and
``neg_crps_scorer`` are built.
"""

from __future__ import annotations

import numbers
from inspect import signature

import numpy as np

from .._estimators._compose import _unwrap, change_of_variables
from .._utils._compat import _BaseScorer
from ..distribution._checks import _check_weights
from ._likelihood import mean_negative_log_likelihood


def _nll_through(nll, transformers, dist, y_true, params):
    """Mean negative log-likelihood of ``y_true`` in the units outside the
    target ``transformers``: ``nll`` (the metric) of ``z = T(y)`` under
    ``dist`` minus the mean log-Jacobian of ``T`` (the change of variables).
    """
    y = np.asarray(y_true, dtype=np.float64).reshape(len(dist), -1)
    if np.isnan(y).any():
        raise ValueError(
            "Missing (NaN) targets cannot be scored through a target transform."
        )
    z, log_det = change_of_variables(transformers, y)
    weight = _check_weights(params.get("sample_weight"), len(y))
    return nll(z, dist, **params) - np.average(log_det, weights=weight)


class _DistributionScorer(_BaseScorer):
    """Scorer calling ``score_func(y_true, estimator.predict_dist(X))``.

    It reaches ``predict_dist`` through ``Pipeline`` steps and searches
    (:func:`~sklearn_mdn._estimators._compose._unwrap`), scores the negative
    log-likelihood through target transforms (:func:`_nll_through`), and
    passes the fitted estimator's ``missing_targets`` setting to score
    functions that accept one.
    """

    def __init__(self, score_func, sign, kwargs):
        # scikit-learn's multimetric scoring looks these method names up on the
        # estimator itself (to decide on caching); a Pipeline has "predict"
        # but not "predict_dist". The distribution is predicted in ``_score``.
        super().__init__(score_func, sign, kwargs, ("predict_dist", "predict"))

    def __repr__(self):
        kwargs = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return (
            f"make_dist_scorer({self._score_func.__name__}, "
            f"greater_is_better={self._sign > 0}{kwargs})"
        )

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        final, X, transformers = _unwrap(
            estimator, X, "A distribution scorer (make_dist_scorer)"
        )
        params = {**self._kwargs, **kwargs}
        if (
            getattr(final, "missing_targets", None) == "marginalize"
            and "missing_targets" not in params
            and "missing_targets" in signature(self._score_func).parameters
        ):
            params["missing_targets"] = "marginalize"
        if not transformers:
            score = self._score_func(y_true, final.predict_dist(X), **params)
        elif self._score_func is mean_negative_log_likelihood:
            dist = final.predict_dist(X)
            score = _nll_through(self._score_func, transformers, dist, y_true, params)
        else:
            raise TypeError(
                f"{self._score_func.__name__} cannot score a "
                "TransformedTargetRegressor: its predictive distribution is "
                "not a Gaussian mixture. Its negative log-likelihood can be "
                "scored (metrics.neg_nll_scorer), through the change of "
                "variables."
            )
        if not isinstance(score, numbers.Real):
            raise ValueError(
                f"{self._score_func.__name__} returned {score!r}; a scorer needs a "
                "single number (use multioutput='uniform_average')."
            )
        return self._sign * float(score)


def make_dist_scorer(score_func, *, greater_is_better=False, **kwargs):
    """Make a scorer from a metric of predictive distributions.

    The scorer is called as ``scorer(estimator, X, y, sample_weight=None)``,
    like scikit-learn's scorers, and returns
    ``sign * score_func(y, estimator.predict_dist(X), **kwargs)`` with
    ``sign = -1`` for losses (``greater_is_better=False``), so that greater is
    always better. ``estimator`` may also be a ``Pipeline`` whose last step
    has ``predict_dist`` (``X`` is transformed by the other steps first) or a
    fitted search wrapping one. Through a ``TransformedTargetRegressor``,
    whose predictive distribution is not a Gaussian mixture, only
    :func:`~sklearn_mdn.metrics.mean_negative_log_likelihood` is scored, in
    the original units of ``y``, by the change of variables: the NLL of
    ``z = T(y)`` minus the mean ``log |det dT/dy|`` (the Jacobian of the
    fitted transform ``T``, from central differences); another metric
    raises a ``TypeError``.

    Parameters
    ----------
    score_func : callable
        Metric ``score_func(y_true, dist, **kwargs)`` returning a number,
        such as :func:`mean_negative_log_likelihood` or :func:`crps`.
    greater_is_better : bool, default=False
        Whether ``score_func`` is a score (greater is better) rather than a
        loss.
    **kwargs
        Extra arguments of ``score_func``.

    Returns
    -------
    scorer : callable
        A scorer for ``GridSearchCV(scoring=...)``, ``cross_validate`` and
        the like. With metadata routing enabled, request ``sample_weight``
        with ``scorer.set_score_request(sample_weight=True)``.

    Examples
    --------
    >>> from sklearn_mdn.metrics import crps, make_dist_scorer
    >>> make_dist_scorer(crps, multioutput=[0.5, 0.5])
    make_dist_scorer(crps, greater_is_better=False, multioutput=[0.5, 0.5])
    """
    if not callable(score_func):
        raise TypeError(f"score_func must be callable, got {score_func!r}.")
    return _DistributionScorer(score_func, 1 if greater_is_better else -1, kwargs)
