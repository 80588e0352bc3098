"""Predictions that every distributional regressor derives from its mixtures."""

from numbers import Integral

import numpy as np

from ._checks import _check_levels, _random_state
from .distribution import NormalMixture


class DistributionRegressorMixin:
    """Point estimates, intervals, quantiles and samples from ``_iter_dists``.

    A subclass implements ``_fit(X, y, sample_weight)``, called by ``fit``
    through :meth:`_guarded_fit`, and ``_iter_dists(X)``, which validates
    ``X`` and yields the predicted :class:`NormalMixture` of consecutive
    chunks of its rows, and has a ``point_estimate`` parameter. Working
    chunk by chunk bounds the memory of every prediction on large inputs.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = False
        return tags

    def _guarded_fit(self, X, y, sample_weight):
        """``self._fit(X, y, sample_weight)``; unfitted if it raises.

        A fit that raises discards the state of any previous fit, so that
        it is never mixed with the new one (a stale ``estimators_`` beside
        a new ``n_features_in_``, for instance).
        """
        try:
            return self._fit(X, y, sample_weight)
        except BaseException:
            for name in [k for k in vars(self) if k.endswith("_") or k == "_y_ndim"]:
                if not name.startswith("__"):
                    delattr(self, name)
            raise

    def _map_chunks(self, X, fn):
        return np.concatenate([fn(dist) for dist in self._iter_dists(X)], axis=0)

    def predict_dist(self, X):
        """Predicted conditional distribution of the target for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        dist : NormalMixture
            One Gaussian mixture per row, in the original target units.
        """
        return NormalMixture.concatenate(list(self._iter_dists(X)))

    def predict(self, X):
        """Point estimate of the target, chosen by ``point_estimate``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The mixture mean, heaviest component's mean or mode, float64.
        """
        method = self.point_estimate
        return self._map_chunks(X, lambda dist: getattr(dist, method)())

    def predict_interval(self, X, coverage=0.9):
        """Equal-tailed predictive interval of each target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        coverage : float, default=0.9
            Probability mass inside the interval, in (0, 1).

        Returns
        -------
        interval : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
            Lower and upper bounds: the ``(1 - coverage) / 2`` and
            ``(1 + coverage) / 2`` quantiles of each target's marginal.
        """
        return self._map_chunks(X, lambda dist: dist.interval(coverage))

    def predict_quantiles(self, X, quantiles=(0.05, 0.5, 0.95)):
        """Quantiles of each target's predictive marginal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        quantiles : array-like of float, default=(0.05, 0.5, 0.95)
            Levels in [0, 1].

        Returns
        -------
        q : ndarray of shape (n_samples, n_quantiles) or \
                (n_samples, n_outputs, n_quantiles)
            The quantiles.
        """
        levels = np.atleast_1d(_check_levels(quantiles, "quantiles"))
        return self._map_chunks(X, lambda dist: dist.ppf(levels))

    def sample(self, X, n_samples=1, random_state=None):
        """Draw targets from the predictive distribution of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Inputs.

        n_samples : int, default=1
            Draws per row.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None draws fresh entropy (numpy's global
            generator is not used).

        Returns
        -------
        samples : ndarray of shape (n_samples_X, n_samples) or \
                (n_samples_X, n_samples, n_outputs)
            Joint draws over the targets.
        """
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = _random_state(random_state)
        return self._map_chunks(X, lambda dist: dist.sample(n_samples, rng))
