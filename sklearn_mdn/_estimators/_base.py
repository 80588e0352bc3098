"""Predictions that every distributional regressor derives from its mixtures."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._utils._warnings import find_stack_level
from ..distribution._checks import (
    _check_coverage,
    _check_levels,
    _check_min_dip,
    _check_min_gap,
    _check_min_mass,
    _random_state,
)
from ..distribution._hdr import _pad_concat, univariate_hdr
from ..distribution._mixture import NormalMixture
from ..distribution._multimodal import (
    _MIN_DIP,
    _MIN_GAP,
    _MIN_MASS,
    HDRResult,
    ModesResult,
)


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
            self._discard_fit()
            raise

    def _discard_fit(self):
        """Delete every fitted attribute: the estimator is unfitted."""
        for name in [k for k in vars(self) if k.endswith("_") or k == "_y_ndim"]:
            if not name.startswith("__"):
                delattr(self, name)

    def _map_chunks(self, X, fn):
        return np.concatenate([fn(dist) for dist in self._iter_dists(X)], axis=0)

    def _map_padded(self, X, fn, result):
        """Chunks of ``fn(dist)``, tuples of arrays whose second axis varies
        (NaN padded to one width), as one ``result`` tuple."""
        parts = list(zip(*(fn(dist) for dist in self._iter_dists(X))))
        return result(
            *(_pad_concat(p) if p[0].ndim > 1 else np.concatenate(p) for p in parts)
        )

    def _conformal_level(self, coverage, kind):
        """Nominal coverage to ask for ``coverage`` under conformal calibration
        (``calibrate="conformal"``), else ``coverage`` itself."""
        calibration = getattr(self, "conformal_", None)
        if calibration is None:
            return coverage
        level = calibration.level(coverage, kind)
        if np.any(np.asarray(level) >= 1.0):
            what = "interval" if kind == "interval" else "region"
            warnings.warn(
                f'calibrate="conformal" guarantees coverage {coverage} with no '
                f"finite {what}: it held out {calibration.n_calibration} rows, "
                f"and about {coverage / (1 - coverage):.0f} are needed. The "
                f"{what} is the whole line (-inf, inf).",
                UserWarning,
                stacklevel=find_stack_level(),
            )
        return level

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

        See Also
        --------
        sklearn_mdn.predict_dist : The mixture through a Pipeline or a
            fitted search, which expose only ``predict``.
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
            ``(1 + coverage) / 2`` quantiles of each target's marginal. With
            ``calibrate="conformal"``, the ``(1 - q) / 2`` and ``(1 + q) / 2``
            quantiles, ``q`` the conformal level of each target that
            guarantees ``coverage`` (``-inf`` and ``inf`` with too few
            held-out rows); see :class:`MDNRegressor`.

        See Also
        --------
        sklearn_mdn.predict_interval : The same through a Pipeline, a
            TransformedTargetRegressor or a fitted search, which expose
            only ``predict``.
        """
        coverage = _check_coverage(coverage)
        level = np.atleast_1d(self._conformal_level(coverage, "interval"))

        # Each target's lower and upper level, shape (n_outputs or 1, 2).
        levels = np.stack([(1 - level) / 2, (1 + level) / 2], axis=1)

        def interval(dist):
            q = np.broadcast_to(levels, (dist.n_targets, 2))
            return dist._to_event(dist._marginal_ppf(q), axis=1)

        return self._map_chunks(X, interval)

    def predict_modes(self, X, min_mass=_MIN_MASS, min_dip=_MIN_DIP, min_gap=_MIN_GAP):
        """The branches of each row's predictive distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        min_mass : float, default=0.02
            Smallest probability of a listed branch, in [0, 1): lighter modes
            (bumps a fitted mixture has where the data have none) are left
            out, but the heaviest is always listed; 0 lists every mode.
            Masses are not renormalised. See :ref:`multimodal`.

        min_dip : float, default=0.3
            Smallest relative fall of the density, in [0, 1), between a listed
            mode and every higher one: shallower modes (shoulders, a branch
            placed twice by pooled networks) are merged into the higher mode,
            with their mass, before ``min_mass`` applies; 0 lists every mode.

        min_gap : float, default=0.01
            Smallest distance between a listed mode and a higher one, in
            standard deviations of the training targets (``y_scale_``, per
            target): a closer mode is the same answer placed twice (narrow
            components a hair apart, on noise-free targets) and is merged
            into the higher one, with its mass, however deep the dip
            between them; 0 merges none. See :meth:`NormalMixture.modes`.

        Returns
        -------
        modes : ndarray of shape (n_samples, M) or (n_samples, M, n_outputs)
            Modes of each row (in the joint space of the targets), heaviest
            branch first, NaN padded to the largest number of modes ``M`` of
            a row.
        masses : ndarray of shape (n_samples, M)
            Probability of each branch, NaN padded; see
            :meth:`NormalMixture.modes` for how it is defined.
        n_modes : ndarray of shape (n_samples,)
            Number of modes listed for each row.
        """
        min_mass = _check_min_mass(min_mass)
        min_dip = _check_min_dip(min_dip)
        gap = _check_min_gap(min_gap, 1)
        gap = 0.0 if gap is None else gap[0] * self._target_scale()
        return self._map_padded(
            X, lambda dist: dist.modes(min_mass, min_dip, gap), ModesResult
        )

    def _target_scale(self):
        """The training targets' standard deviations (n_outputs,), the unit
        of ``predict_modes``' ``min_gap``."""
        check_is_fitted(self)
        return np.asarray(self.y_scale_, dtype=float).reshape(-1)

    def predict_hdr(self, X, coverage=0.9):
        """Highest-density region of each row (a single target only).

        The smallest set holding probability ``coverage`` under the
        predictive distribution: a union of intervals where the target has
        several branches. With ``calibrate="conformal"``, the coverage asked
        of the predictive distribution is the conformal level that
        guarantees ``coverage`` on new rows (see :class:`MDNRegressor`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        coverage : float, default=0.9
            Probability in (0, 1) held by the region.

        Returns
        -------
        intervals : ndarray of shape (n_samples, M, 2)
            ``(lower, upper)`` of each interval, ascending, NaN padded to the
            largest number of intervals ``M`` of a row.
        n_intervals : ndarray of shape (n_samples,)
            Number of intervals of each row.

        See Also
        --------
        sklearn_mdn.predict_hdr : The same through a Pipeline, a
            TransformedTargetRegressor or a fitted search, which expose
            only ``predict``.
        """
        coverage = _check_coverage(coverage)
        level = self._conformal_level(coverage, "region")

        def hdr(dist):
            if dist.event_shape and dist.n_targets == 1:
                dist = dist.marginal(0)
            if dist.event_shape:
                raise ValueError(
                    "predict_hdr needs a single target; for several targets, "
                    "in_region tests whether values lie in the joint "
                    "highest-density region."
                )
            w, mu, sig = dist._univariate("hdr")
            intervals, n_intervals, _ = univariate_hdr(
                w, mu, sig, np.full(len(dist), level)
            )
            return intervals, n_intervals

        return self._map_padded(X, hdr, HDRResult)

    def in_region(self, X, Y, coverage=0.9):
        """Whether each target lies in its row's highest-density region.

        For several targets the region is joint, ``{y: p(y) >= lambda}``,
        with the level estimated from 10,000 draws per row (see
        :meth:`NormalMixture.hdr_level`); for one target it is exact.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, one per row.

        coverage : float, default=0.9
            Probability in (0, 1) held by the region; calibrated as in
            :meth:`predict_hdr` under ``calibrate="conformal"``.

        Returns
        -------
        inside : ndarray of bool of shape (n_samples,)
        """
        coverage = _check_coverage(coverage)
        level = self._conformal_level(coverage, "region")
        Y = np.atleast_1d(np.asarray(Y, dtype=np.float64))
        start = 0
        out = []
        for dist in self._iter_dists(X):
            y = Y[start : start + len(dist)]
            start += len(dist)
            if len(y) < len(dist):
                break
            if not dist.event_shape:
                y = y.reshape(len(dist))
            log_level = dist._log_hdr_level(level)
            out.append(dist.log_prob(y) >= log_level)
        if start != len(Y):
            raise ValueError(
                f"X and Y must have the same number of rows, got {start} and {len(Y)}."
            )
        return np.concatenate(out)

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

        See Also
        --------
        sklearn_mdn.predict_quantiles : The same through a Pipeline, a
            TransformedTargetRegressor or a fitted search, which expose
            only ``predict``.
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

        See Also
        --------
        sklearn_mdn.sample : The same through a Pipeline, a
            TransformedTargetRegressor or a fitted search, which expose
            only ``predict``.
        """
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = _random_state(random_state)
        return self._map_chunks(X, lambda dist: dist.sample(n_samples, rng))
