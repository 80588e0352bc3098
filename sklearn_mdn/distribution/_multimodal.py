"""Modes and highest-density regions of ``NormalMixture``, as a mixin class.

:class:`_MultimodalMixin` holds the methods that describe a multimodal
prediction (:meth:`~sklearn_mdn.distribution.NormalMixture.mode`, ``modes``,
``hdr``, ``hdr_level``, ``in_hdr``); ``NormalMixture`` inherits them, and its
module re-exports the named tuples they return.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import (
    _check_coverage,
    _check_min_dip,
    _check_min_gap,
    _check_min_mass,
    _check_n_samples,
    _random_state,
)
from ._hdr import (
    monte_carlo_hpd_mass,
    monte_carlo_log_level,
    univariate_hdr,
    univariate_hpd_mass,
    univariate_modes,
)
from ._modes import _mixture_branches, _mixture_modes
from ._prominence import (
    merge_shallow_modes,
    segment_saddles,
    univariate_modes_and_saddles,
)

# Default smallest mass of a branch listed by ``modes``: the bumps that fitted
# mixtures have where the data have none hold 1e-4 to 1e-3 (median), real
# branches of the branch truths 0.03 and more; docs/multimodal.rst has the
# measurement (benchmarks/results/synthetic_branches.md).
_MIN_MASS = 0.02

# Default smallest dip between a listed mode and every higher one: see
# _prominence.py and docs/multimodal.rst (benchmarks/results/mode_dips.md).
_MIN_DIP = 0.3

# predict_modes' min_gap, in standard deviations of the training targets:
# on the noise-free branching truths one answer placed twice by two narrow
# components lay 0.0003 to 0.003 apart (0.05% to 0.4% of the target's
# standard deviation; round 25).
_MIN_GAP = 0.01

# Draws per row behind the Monte Carlo density levels of multi-output regions.
_HDR_LEVEL_SAMPLES = 10_000


class ModesResult(NamedTuple):
    """Branches of each row's distribution: see :meth:`NormalMixture.modes`."""

    modes: np.ndarray
    masses: np.ndarray
    n_modes: np.ndarray


class HDRResult(NamedTuple):
    """Highest-density regions: see :meth:`NormalMixture.hdr`."""

    intervals: np.ndarray
    n_intervals: np.ndarray


class _MultimodalMixin:
    """Modes and highest-density regions of a :class:`NormalMixture`.

    Uses the mixture's ``_weights``, ``_means``, ``_scale_tril``,
    ``_event_shape``, ``_half_log_det``, ``_to_event``, ``_check_values`` and
    ``log_prob``.
    """

    def mode(self) -> np.ndarray:
        """Highest-density point of each row's mixture.

        Hill-climbs the density from every component mean and returns, per
        row, the end point with the highest density. The climb uses the
        Gaussian-mixture mean-shift fixed-point iteration (Carreira-Perpinan,
        2000), ``x <- (sum_k r_k(x) P_k)^{-1} sum_k r_k(x) P_k mu_k`` with
        ``P_k`` the component precisions and ``r_k`` the posterior
        responsibilities, which never lowers the density; where the log
        density is concave, a Newton step is taken instead to speed up
        convergence, and undone if it lowers the density. Iterations stop when
        the step is below ``1e-10 * sigma_min + 4 * eps * |x|`` (at most 500
        iterations).

        The result is a local maximum reached from the component means, which
        is the global maximum in all practical cases. Unlike :meth:`top`, it
        accounts for the component scales: a light narrow component can hold
        the mode.

        Returns
        -------
        mode : ndarray of shape (n, \\*event_shape)
            Modes.

        References
        ----------
        M. A. Carreira-Perpinan, "Mode-finding for mixtures of Gaussian
        distributions", IEEE Trans. PAMI 22(11), 2000.
        """
        modes = _mixture_modes(
            self._weights, self._means, self._scale_tril, self._half_log_det()
        )
        return self._to_event(modes)

    def modes(self, min_mass=_MIN_MASS, min_dip=_MIN_DIP, min_gap=0.0) -> ModesResult:
        """The modes of each row's distribution, with the mass of each branch.

        The name follows :meth:`mode` (the highest mode only); the result
        lists the branches of a multimodal prediction, heaviest first.
        Branches of probability below ``min_mass`` are left out: a fitted
        mixture has bumps of mass 1e-4 to 1e-3 where the data have none
        (see :ref:`multimodal`).

        *One target.* The critical points of the density are bracketed on a
        grid and refined by safeguarded Newton iterations (to ``1e-12`` of
        the smallest component scale; see ``distribution/_hdr.py``). A mode's
        mass is the probability of its basin of attraction under hill
        climbing of the density: the interval between the local minima on
        either side of it, so the masses of all the modes sum to one to
        rounding. Modes closer
        than about an eighth of a component scale to a local minimum are
        below the grid's resolution and may be missed; such bumps hold
        almost no mass.

        *Several targets.* The density is climbed from every component mean
        (as in :meth:`mode`); end points within ``1e-6`` of the smallest
        component scale are one mode, and a mode's mass is the total weight
        of the components that climb to it: the mass each component brings
        to the basin its mean lies in, which equals the basin's probability
        when the components are well inside their basins. A mode that no
        component climbs to is not listed.

        *Shallow modes.* A mode whose density does not fall by ``min_dip``
        (relative) on the way to a higher mode is merged into it: the lowest
        point between two modes is the local minimum (one target) or the
        lowest point of the segment joining them, or of a path through
        other modes (several targets); see ``distribution/_prominence.py``.

        Parameters
        ----------
        min_mass : float, default=0.02
            Smallest mass of a listed branch, in [0, 1); the heaviest branch
            is always listed, and 0 lists every mode. The masses are not
            renormalised: they sum to one less the mass left out.

        min_dip : float, default=0.3
            Smallest relative fall of the density, in [0, 1), between a listed
            mode and every higher one; a shallower mode (a shoulder, a branch
            placed twice) is merged into the higher mode across its lowest
            dip, which gets its mass. Applied before ``min_mass``; 0 lists
            every mode. See :ref:`multimodal`.

        min_gap : float or array-like of shape (d,), default=0.0
            Smallest distance, in target units (one per target, or one for
            all), between a listed mode and a higher one: a mode closer to a
            higher mode than that (Euclidean norm of the difference divided
            by ``min_gap`` below 1) is merged into it with its mass, however
            deep the dip between them (two narrow components placing one
            solution of a noise-free problem a hair apart). Applied with
            ``min_dip``; 0 merges none.

        Returns
        -------
        modes : ndarray of shape (n, M) or (n, M, d)
            Modes of each row, heaviest branch first, NaN padded; ``M`` is
            the largest number of modes of a row (at most ``K`` when the
            targets are several).
        masses : ndarray of shape (n, M)
            Mass of each branch, NaN padded.
        n_modes : ndarray of shape (n,)
            Number of modes listed for each row.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_mdn.distribution import NormalMixture
        >>> dist = NormalMixture([[0.3, 0.7]], [[[-2.0], [2.0]]], np.ones((1, 2, 1, 1)))
        >>> modes, masses, n_modes = dist.modes()
        >>> print(np.round(modes, 4), np.round(masses, 4), n_modes)
        [[ 1.9994 -1.9968]] [[0.705 0.295]] [2]
        """
        min_mass = _check_min_mass(min_mass)
        min_dip = _check_min_dip(min_dip)
        gap = _check_min_gap(min_gap, self._means.shape[-1])
        merge = min_dip > 0 or gap is not None
        if self._event_shape:
            half_log_det = self._half_log_det()
            modes, masses = _mixture_branches(
                self._weights, self._means, self._scale_tril, half_log_det
            )
            if merge:
                peaks, saddles = segment_saddles(
                    self._weights,
                    self._means,
                    self._scale_tril,
                    half_log_det,
                    modes,
                    min_dip,
                )
        elif merge:
            modes, masses, peaks, saddles = univariate_modes_and_saddles(
                self._weights, self._means[:, :, 0], self._scale_tril[:, :, 0, 0]
            )
            modes = modes[..., None]
        else:
            modes, masses = univariate_modes(
                self._weights, self._means[:, :, 0], self._scale_tril[:, :, 0, 0]
            )
            modes = modes[..., None]
        if merge:
            close = None
            if gap is not None:
                z = modes / gap
                with np.errstate(invalid="ignore"):  # NaN padding: not close
                    close = np.linalg.norm(z[:, :, None] - z[:, None], axis=3) < 1
            modes, masses = merge_shallow_modes(
                modes, masses, peaks, saddles, min_dip, close
            )
        order = np.argsort(np.where(np.isnan(masses), np.inf, -masses), axis=1)
        masses = np.take_along_axis(masses, order, axis=1)
        modes = np.take_along_axis(modes, order[..., None], axis=1)
        # Heaviest first, so the branches kept are a prefix of each row.
        light = masses < min_mass
        light[:, 0] = False
        masses[light] = np.nan
        modes[light] = np.nan
        n_modes = np.sum(~np.isnan(masses), axis=1)
        width = max(int(n_modes.max(initial=0)), 1)
        return ModesResult(self._to_event(modes[:, :width]), masses[:, :width], n_modes)

    def _univariate(self, method: str):
        if self._event_shape:
            raise ValueError(
                f"{method} needs a single target (event_shape ()), got event_shape "
                f"{self._event_shape}: use in_hdr, or the marginal(j) of a target."
            )
        return self._weights, self._means[:, :, 0], self._scale_tril[:, :, 0, 0]

    def hdr(self, coverage=0.9) -> HDRResult:
        """Highest-density region of each row: the smallest set holding
        ``coverage``, a union of intervals (one target only).

        The region is ``{y: p(y) >= lambda}`` with the level ``lambda`` solved
        by a bracketed Newton iteration on its probability, found exactly
        from the mixture cdf at the ends of the intervals; the ends lie
        between consecutive critical points of the density, where it is
        monotone (see ``distribution/_hdr.py``). Accuracy: the probability is
        ``coverage`` within ``1e-10``, the ends are exact for their level to
        ``1e-12`` of the smallest component scale, up to rounding in the
        cdf.

        Parameters
        ----------
        coverage : float, default=0.9
            Probability in (0, 1) held by the region.

        Returns
        -------
        intervals : ndarray of shape (n, M, 2)
            ``(lower, upper)`` of each disjoint interval, ascending, NaN
            padded; ``M`` is the largest number of intervals of a row.
        n_intervals : ndarray of shape (n,)
            Number of intervals of each row.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_mdn.distribution import NormalMixture
        >>> dist = NormalMixture([[0.5, 0.5]], [[[-3.0], [3.0]]], np.ones((1, 2, 1, 1)))
        >>> intervals, n_intervals = dist.hdr(0.9)
        >>> print(np.round(intervals, 3), n_intervals)
        [[[-4.645 -1.355]
          [ 1.355  4.645]]] [2]
        """
        coverage = _check_coverage(coverage)
        w, mu, sig = self._univariate("hdr")
        intervals, counts, _ = univariate_hdr(w, mu, sig, np.full(len(self), coverage))
        return HDRResult(intervals, counts)

    def hdr_level(self, coverage=0.9, *, n_samples=_HDR_LEVEL_SAMPLES, random_state=0):
        """Density level ``lambda`` of the highest-density region holding
        ``coverage``: the region is ``{y: pdf(y) >= lambda}``.

        One target: exact (see :meth:`hdr`). Several targets: the
        ``1 - coverage`` quantile of ``pdf(Y)`` over ``n_samples`` draws of
        each row's distribution, with a fixed seed, so that repeated calls
        agree. The region of the estimated level then holds ``coverage`` up
        to a Monte Carlo error of standard deviation about
        ``sqrt(coverage * (1 - coverage) / n_samples)`` (0.003 for 0.9 and
        the default 10,000 draws).

        Parameters
        ----------
        coverage : float, default=0.9
            Probability in (0, 1) held by the region.
        n_samples : int, default=10_000
            Draws per row for several targets.
        random_state : int, RandomState instance or None, default=0
            Seeds the draws.

        Returns
        -------
        level : ndarray of shape (n,)
            Density levels.
        """
        coverage = _check_coverage(coverage)
        return np.exp(self._log_hdr_level(coverage, n_samples, random_state))

    def _log_hdr_level(self, coverage, n_samples=_HDR_LEVEL_SAMPLES, random_state=0):
        """Log of :meth:`hdr_level`; a coverage of 1 gives ``-inf``."""
        coverage = np.broadcast_to(np.asarray(coverage, dtype=np.float64), (len(self),))
        if not self._event_shape:
            w, mu, sig = self._univariate("hdr_level")
            return univariate_hdr(w, mu, sig, coverage)[2]
        rng = _random_state(random_state)
        return monte_carlo_log_level(self, coverage, _check_n_samples(n_samples), rng)

    def in_hdr(self, y, coverage=0.9, *, n_samples=_HDR_LEVEL_SAMPLES, random_state=0):
        """Whether ``y`` lies in each row's highest-density region.

        Parameters
        ----------
        y : array-like of shape (n, \\*event_shape)
            One value per row.
        coverage : float, default=0.9
            Probability in (0, 1) held by the region.
        n_samples : int, default=10_000
            Draws per row behind the level for several targets; see
            :meth:`hdr_level`.
        random_state : int, RandomState instance or None, default=0
            Seeds the draws.

        Returns
        -------
        inside : ndarray of bool of shape (n,)
            ``log_prob(y) >= log(hdr_level(coverage))``.
        """
        coverage = _check_coverage(coverage)
        log_level = self._log_hdr_level(coverage, n_samples, random_state)
        return self.log_prob(y) >= log_level

    def _hdr_mass(self, y, n_samples=_HDR_LEVEL_SAMPLES, random_state=0):
        """``P(pdf(Y) >= pdf(y))`` per row: the coverage of the smallest
        highest-density region holding ``y`` (exact for one target, Monte
        Carlo as in :meth:`hdr_level` otherwise)."""
        y = self._check_values(y)
        if not self._event_shape:
            w, mu, sig = self._univariate("hdr")
            return univariate_hpd_mass(w, mu, sig, y[:, 0])
        log_p_y = self.log_prob(self._to_event(y))
        rng = _random_state(random_state)
        return monte_carlo_hpd_mass(self, log_p_y, _check_n_samples(n_samples), rng)
