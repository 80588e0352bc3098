"""``NormalMixture``: Gaussian mixtures, one per row, as a vectorised distribution."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ._checks import (
    _check_affine,
    _check_concatenable,
    _check_coverage,
    _check_levels,
    _check_mixture,
    _check_n_samples,
    _check_row_index,
    _check_target_index,
    _check_values,
    _random_state,
)
from ._density import _half_log_det, _marginal_scales, _mixture_log_prob
from ._multimodal import (
    _MultimodalMixin,
)
from ._solvers import _marginal_quantiles, _sample_mixture


class NormalMixture(_MultimodalMixin):
    """Gaussian mixtures, one per row of data, as a vectorised distribution.

    Row ``i`` holds the mixture ``sum_k weights[i, k] N(means[i, k],
    scale_tril[i, k] @ scale_tril[i, k].T)`` over ``d`` targets. All methods
    work on every row at once in float64; with several targets, ``cdf``,
    ``ppf`` and ``interval`` are those of each target's marginal.

    Parameters
    ----------
    weights : array-like of shape (n, K)
        Mixture weights: non-negative, each row summing to one (within 1e-5).
        Zero weights are allowed.
    means : array-like of shape (n, K, d)
        Component means.
    scale_tril : array-like of shape (n, K, d, d)
        Lower-triangular Cholesky factors of the component covariances, with a
        positive diagonal. The upper triangle is assumed to be zero; this is not
        checked.
    event_shape : tuple, default=None
        ``()`` for a univariate distribution (only when ``d == 1``): values ``y``
        then have shape ``(n,)`` and outputs have no target axis. ``(d,)`` for
        ``d`` targets: values have shape ``(n, d)``. ``None`` means ``()`` when
        ``d == 1`` and ``(d,)`` otherwise.

    Attributes
    ----------
    weights : ndarray of shape (n, K)
        Mixture weights.
    means : ndarray of shape (n, K, d)
        Component means.
    scale_tril : ndarray of shape (n, K, d, d)
        Cholesky factors of the component covariances.
    event_shape : tuple
        ``()`` or ``(d,)``.
    n_components : int
        Number of components ``K``.
    n_targets : int
        Number of targets ``d``.
    shape : tuple
        ``(n,)``, the batch shape.
    covariances : ndarray of shape (n, K, d, d)
        Component covariances ``L @ L.T``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn.distribution import NormalMixture
    >>> weights = np.array([[0.3, 0.7], [0.9, 0.1]])
    >>> means = np.array([[[-1.0], [1.0]], [[1.0], [5.0]]])
    >>> scale_tril = np.full((2, 2, 1, 1), 0.5)
    >>> dist = NormalMixture(weights, means, scale_tril)
    >>> dist
    NormalMixture(n_rows=2, n_components=2, n_targets=1, event_shape=())
    >>> print(np.round(dist.mean(), 3))
    [0.4 1.4]
    >>> print(np.round(dist.std(), 3))
    [1.044 1.3  ]
    >>> print(np.round(dist.ppf(0.5), 3))
    [0.717 1.07 ]
    >>> print(np.round(dist.interval(0.9), 3))
    [[-1.484  1.733]
     [ 0.203  5.   ]]
    >>> print(np.round(dist.cdf(np.array([0.0, 0.0])), 3))
    [0.309 0.02 ]
    >>> print(np.round(dist.log_prob(np.array([0.0, 1.0])), 3))
    [-2.226 -0.331]
    >>> dist.sample(3, random_state=0).shape
    (2, 3)
    """

    def __init__(self, weights, means, scale_tril, *, event_shape=None):
        weights, means, scale_tril, event_shape = _check_mixture(
            weights, means, scale_tril, event_shape
        )
        self._weights = weights
        self._means = means
        self._scale_tril = scale_tril
        self._event_shape = event_shape

    # Attributes.
    @property
    def weights(self) -> np.ndarray:
        """Mixture weights, shape (n, K)."""
        return self._weights

    @property
    def means(self) -> np.ndarray:
        """Component means, shape (n, K, d)."""
        return self._means

    @property
    def scale_tril(self) -> np.ndarray:
        """Cholesky factors of the component covariances, shape (n, K, d, d)."""
        return self._scale_tril

    @property
    def event_shape(self) -> tuple:
        """``()`` for a univariate distribution, else ``(d,)``."""
        return self._event_shape

    @property
    def n_components(self) -> int:
        """Number of mixture components ``K``."""
        return self._weights.shape[1]

    @property
    def n_targets(self) -> int:
        """Number of targets ``d``."""
        return self._means.shape[2]

    @property
    def shape(self) -> tuple:
        """Batch shape ``(n,)``."""
        return (self._weights.shape[0],)

    @property
    def covariances(self) -> np.ndarray:
        """Component covariances ``L @ L.T``, shape (n, K, d, d)."""
        L = self._scale_tril
        return L @ np.swapaxes(L, -1, -2)

    def __len__(self) -> int:
        return self._weights.shape[0]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_rows={len(self)}, "
            f"n_components={self.n_components}, n_targets={self.n_targets}, "
            f"event_shape={self.event_shape})"
        )

    # Private helpers.
    def _new(self, weights, means, scale_tril, event_shape=None) -> NormalMixture:
        if event_shape is None:
            event_shape = self._event_shape
        return type(self)(weights, means, scale_tril, event_shape=event_shape)

    def _half_log_det(self) -> np.ndarray:
        """``log det L`` per component, shape (n, K)."""
        return _half_log_det(self._scale_tril)

    def _marginal_scales(self) -> np.ndarray:
        """Per-target component standard deviations, shape (n, K, d)."""
        return _marginal_scales(self._scale_tril)

    def _check_values(self, y) -> np.ndarray:
        """Validate ``y`` of shape ``(*S, n, *event_shape)``; return ``(*S, n, d)``."""
        return _check_values(y, len(self), self._event_shape)

    def _to_event(self, a: np.ndarray, axis: int = -1) -> np.ndarray:
        """Drop the target axis ``axis`` (of length 1) when univariate."""
        return a if self._event_shape else np.squeeze(a, axis=axis)

    # Densities and distribution functions.
    def log_prob(self, y) -> np.ndarray:
        """Log density of the mixture of each row.

        Parameters
        ----------
        y : array-like of shape (\\*S, n, \\*event_shape)
            Values, with any leading batch shape ``S`` (for instance a grid of
            values for every row: shape ``(n_grid, n)`` when univariate).

        Returns
        -------
        log_prob : ndarray of shape (\\*S, n)
            Log densities, computed in log space (finite far in the tails).
        """
        return _mixture_log_prob(
            self._weights, self._means, self._scale_tril, self._check_values(y)
        )

    def pdf(self, y) -> np.ndarray:
        """Density of the mixture of each row, ``exp(log_prob(y))``.

        Parameters
        ----------
        y : array-like of shape (\\*S, n, \\*event_shape)
            Values.

        Returns
        -------
        pdf : ndarray of shape (\\*S, n)
            Densities.
        """
        return np.exp(self.log_prob(y))

    def cdf(self, y) -> np.ndarray:
        """Cumulative distribution function (per-target marginals if multi-output).

        Parameters
        ----------
        y : array-like of shape (\\*S, n, \\*event_shape)
            Values.

        Returns
        -------
        cdf : ndarray of shape (\\*S, n, \\*event_shape)
            ``P(Y <= y)`` when univariate; for ``d`` targets, the marginal
            ``P(Y_j <= y_j)`` of each target ``j``.
        """
        y = self._check_values(y)
        z = (y[..., None, :] - self._means) / self._marginal_scales()
        cdf = np.einsum("nk,...nkd->...nd", self._weights, ndtr(z))
        return self._to_event(cdf)

    def ppf(self, q) -> np.ndarray:
        """Quantile function (per-target marginal quantiles if multi-output).

        Solves ``cdf(x) = q`` for every row (and target) by bracketed root
        finding, all rows at once: the smallest and largest quantiles of the
        components with positive weight bracket the mixture quantile, and a
        safeguarded Newton iteration on ``log F(x) = log q`` refines it,
        bisecting whenever a Newton step leaves the bracket or fails to halve.
        Levels above 1/2 are solved on the upper tail, so extreme levels such
        as ``1 - 1e-9`` keep full relative accuracy.

        Accuracy: iterations stop when the step is below
        ``1e-12 * sigma_min + 4 * eps * |x|`` (``sigma_min`` the smallest scale
        of a component with positive weight, ``eps`` the float64 machine
        epsilon; at most 100 iterations), so ``x`` is the exact quantile to
        that tolerance, up to rounding in the cdf itself. Whenever
        ``|x| <= 1e4 * sigma_min`` this gives
        ``|cdf(ppf(q)) - q| <= 1e-10 * min(q, 1 - q)``; further out the float64
        spacing of ``x`` is the limit. Where the cdf is flat to machine
        precision (a gap between far-apart components) a point of the flat
        region is returned.

        Parameters
        ----------
        q : float or array-like of shape (m,)
            Levels in ``[0, 1]``. Levels 0 and 1 give ``-inf`` and ``inf``.

        Returns
        -------
        x : ndarray
            Univariate: shape (n,) for a scalar ``q``, (n, m) for an array.
            Multi-output: shape (n, d) for a scalar ``q``, (n, d, m) for an
            array.
        """
        q = _check_levels(q, "q")
        out = self._marginal_ppf(np.atleast_1d(q))
        if q.ndim == 0:
            out = out[..., 0]
        return self._to_event(out, axis=1)

    def _marginal_ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantiles of every target's marginal at checked levels ``q``.

        ``q`` has shape (m,), or (d, m) for levels of each target; returns
        shape (n, d, m), with the accuracy given in :meth:`ppf`.
        """
        return _marginal_quantiles(
            self._weights, self._means, self._marginal_scales(), q
        )

    def interval(self, coverage=0.9) -> np.ndarray:
        """Equal-tailed prediction interval (per target if multi-output).

        Parameters
        ----------
        coverage : float, default=0.9
            Probability in (0, 1) between the bounds.

        Returns
        -------
        interval : ndarray
            The ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` quantiles
            (see :meth:`ppf` for their accuracy): shape (n, 2) when univariate,
            (n, d, 2) for ``d`` targets.
        """
        coverage = _check_coverage(coverage)
        return self.ppf([(1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0])

    # Moments and point estimates.
    def mean(self) -> np.ndarray:
        """Mean of each row's mixture, ``sum_k w_k mu_k``.

        Returns
        -------
        mean : ndarray of shape (n, \\*event_shape)
            Means.
        """
        return self._to_event(np.einsum("nk,nkd->nd", self._weights, self._means))

    def covariance(self) -> np.ndarray:
        """Covariance matrix of each row's mixture (law of total variance).

        ``sum_k w_k (Sigma_k + (mu_k - m)(mu_k - m)^T)`` with ``m`` the mean.

        Returns
        -------
        covariance : ndarray of shape (n, d, d)
            Covariance matrices (``d = 1`` gives shape (n, 1, 1)).
        """
        w = self._weights
        centred = self._means - np.einsum("nk,nkd->nd", w, self._means)[:, None, :]
        within = np.einsum("nk,nkij->nij", w, self.covariances)
        between = np.einsum("nk,nki,nkj->nij", w, centred, centred)
        return within + between

    def var(self) -> np.ndarray:
        """Marginal variance of each target (law of total variance).

        Returns
        -------
        var : ndarray of shape (n, \\*event_shape)
            Variances.
        """
        w = self._weights
        centred = self._means - np.einsum("nk,nkd->nd", w, self._means)[:, None, :]
        second = self._marginal_scales() ** 2 + centred**2
        return self._to_event(np.einsum("nk,nkd->nd", w, second))

    def std(self) -> np.ndarray:
        """Marginal standard deviation of each target.

        Returns
        -------
        std : ndarray of shape (n, \\*event_shape)
            Standard deviations, ``sqrt(var())``.
        """
        return np.sqrt(self.var())

    def top(self) -> np.ndarray:
        """Mean of the heaviest component of each row.

        Returns
        -------
        top : ndarray of shape (n, \\*event_shape)
            The mean of the component with the largest weight (the first one
            on ties).
        """
        k = np.argmax(self._weights, axis=1)
        return self._to_event(self._means[np.arange(len(self)), k])

    # The multimodal methods are written in _multimodal.py. Binding the public
    # ones here puts them in the class's own namespace, where the API docs
    # (autodoc's :members:, without inherited members) list them.
    mode = _MultimodalMixin.mode
    modes = _MultimodalMixin.modes
    hdr = _MultimodalMixin.hdr
    hdr_level = _MultimodalMixin.hdr_level
    in_hdr = _MultimodalMixin.in_hdr

    # Sampling.
    def sample(self, n_samples=1, random_state=None) -> np.ndarray:
        """Draw joint samples from each row's mixture.

        Each draw picks a component with probability equal to its weight
        (inverse cdf of the cumulative weights), then returns ``mu + L z``
        with ``z`` standard normal. Numpy's global random state is neither used
        nor advanced.

        Parameters
        ----------
        n_samples : int, default=1
            Number of draws per row.
        random_state : int, RandomState instance or None, default=None
            Seed or generator, passed to
            :func:`sklearn.utils.check_random_state`. ``None`` uses a fresh
            generator seeded from the operating system (not numpy's global
            generator, which is never used).

        Returns
        -------
        samples : ndarray
            Shape (n, n_samples) when univariate, (n, n_samples, d) otherwise.
        """
        n_samples = _check_n_samples(n_samples)
        rng = _random_state(random_state)
        draws = _sample_mixture(
            self._weights, self._means, self._scale_tril, n_samples, rng
        )
        return self._to_event(draws)

    # Transformations.
    def marginal(self, j) -> NormalMixture:
        """Univariate marginal mixture of target ``j``.

        Parameters
        ----------
        j : int
            Target index, ``-d <= j < d``.

        Returns
        -------
        marginal : NormalMixture
            Same weights, means ``means[..., j]`` and scales
            ``sqrt(Sigma_k[j, j])``, with ``event_shape=()``.
        """
        j = _check_target_index(j, self.n_targets)
        scales = self._marginal_scales()[:, :, j, None, None]
        return self._new(
            self._weights, self._means[:, :, j : j + 1], scales, event_shape=()
        )

    def __getitem__(self, index) -> NormalMixture:
        """Select rows.

        Parameters
        ----------
        index : int, slice, boolean mask or integer array
            Rows to keep. An integer keeps a row axis of length 1, so the
            result is always a ``NormalMixture`` of rows.

        Returns
        -------
        selected : NormalMixture
            The selected rows, with the same ``event_shape``.
        """
        index = _check_row_index(index, len(self))
        return self._new(
            self._weights[index], self._means[index], self._scale_tril[index]
        )

    def affine(self, loc, scale) -> NormalMixture:
        """Distribution of ``loc + scale * Y`` (elementwise per target).

        Parameters
        ----------
        loc : float or array-like of shape (d,)
            Shift of each target.
        scale : float or array-like of shape (d,)
            Positive scale of each target.

        Returns
        -------
        transformed : NormalMixture
            Means ``means * scale + loc``, Cholesky factors
            ``diag(scale) @ scale_tril``; densities change by
            ``-sum(log(scale))``.
        """
        loc, scale = _check_affine(loc, scale, self.n_targets)
        return self._new(
            self._weights,
            self._means * scale + loc,
            self._scale_tril * scale[:, None],
        )

    @classmethod
    def concatenate(cls, distributions) -> NormalMixture:
        """Stack mixtures along rows.

        Parameters
        ----------
        distributions : sequence of NormalMixture
            Mixtures with the same number of components, targets and
            ``event_shape``.

        Returns
        -------
        concatenated : NormalMixture
            All rows, in order.
        """
        distributions = _check_concatenable(distributions, cls)
        first = distributions[0]
        return cls(
            np.concatenate([dist.weights for dist in distributions]),
            np.concatenate([dist.means for dist in distributions]),
            np.concatenate([dist.scale_tril for dist in distributions]),
            event_shape=first.event_shape,
        )


def _check_dist(dist):
    """Check that ``dist`` is a ``NormalMixture``; return it."""
    if not isinstance(dist, NormalMixture):
        raise TypeError(
            "dist must be a sklearn_mdn.NormalMixture (the output of "
            f"predict_dist), got {type(dist).__name__}."
        )
    return dist
