"""Highest-density regions of NormalMixture and of the estimators."""

import numpy as np
import pytest
from scipy.stats import norm

from sklearn_mdn import NormalMixture


def _bimodal(n, seed=0):
    """Two-branch mixtures with varying separation, weights and scales."""
    rng = np.random.RandomState(seed)
    sep = rng.uniform(0.5, 4.0, n)
    p = rng.uniform(0.2, 0.8, n)
    w = np.stack([p, 1 - p], axis=1)
    mu = np.stack([-sep, sep], axis=1)[:, :, None]
    sig = rng.uniform(0.3, 1.2, (n, 2))[:, :, None, None]
    return NormalMixture(w, mu, sig)


def _inside(intervals, y):
    lower, upper = intervals[..., 0], intervals[..., 1]
    return np.any((y[:, None] >= lower) & (y[:, None] <= upper), axis=1)


def test_hdr_coverage_on_samples_of_the_truth():
    dist = _bimodal(20_000)
    y = dist.sample(1, random_state=1)[:, 0]
    for coverage in (0.5, 0.9):
        intervals, n_intervals = dist.hdr(coverage)
        assert intervals.shape[0] == 20_000 and intervals.shape[2] == 2
        assert set(np.unique(n_intervals)) <= {1, 2}
        assert abs(_inside(intervals, y).mean() - coverage) < 0.01
        # Exact coverage from the cdf.
        ends = np.moveaxis(np.nan_to_num(intervals), 1, 0)  # NaN pairs: (0, 0)
        mass = dist.cdf(ends[..., 1]) - dist.cdf(ends[..., 0])
        np.testing.assert_allclose(mass.sum(axis=0), coverage, atol=1e-9)


def test_hdr_length_matches_quadrature():
    dist = _bimodal(6, seed=3)
    intervals, n_intervals = dist.hdr(0.9)
    grid = np.linspace(-12, 12, 480_001)
    dx = grid[1] - grid[0]
    for i in range(len(dist)):
        w, mu, sig = dist.weights[i], dist.means[i, :, 0], dist.scale_tril[i, :, 0, 0]
        pdf = (w * norm.pdf(grid[:, None], mu, sig)).sum(axis=1)
        order = np.argsort(-pdf)
        level = pdf[order[np.searchsorted(np.cumsum(pdf[order]) * dx, 0.9)]]
        exact = np.count_nonzero(pdf >= level) * dx
        length = np.nansum(intervals[i, :, 1] - intervals[i, :, 0])
        assert abs(length - exact) <= 0.01 * exact
        # The density at every end is the level.
        ends = intervals[i, : n_intervals[i]].ravel()
        dens = (w * norm.pdf(ends[:, None], mu, sig)).sum(axis=1)
        np.testing.assert_allclose(dens, dens[0], rtol=1e-8)
    # The HDR is never longer than the equal-tailed interval.
    eq = dist.interval(0.9)
    total = np.nansum(intervals[..., 1] - intervals[..., 0], axis=1)
    assert np.all(total <= eq[:, 1] - eq[:, 0] + 1e-9)


def test_hdr_of_a_gaussian_is_the_equal_tailed_interval():
    dist = NormalMixture([[1.0]], [[[2.0]]], [[[[3.0]]]])
    intervals, n_intervals = dist.hdr(0.8)
    np.testing.assert_allclose(intervals[0, 0], dist.interval(0.8)[0], rtol=1e-10)
    assert n_intervals[0] == 1
    np.testing.assert_allclose(dist.hdr_level(0.8), norm.pdf(3 * norm.ppf(0.9), 0, 3))


def test_hdr_level_and_membership():
    dist = _bimodal(200, seed=4)
    y = dist.sample(1, random_state=0)[:, 0]
    intervals, _ = dist.hdr(0.7)
    np.testing.assert_array_equal(dist.in_hdr(y, 0.7), _inside(intervals, y))
    mass = dist._hdr_mass(y)
    np.testing.assert_array_equal(mass <= 0.7, _inside(intervals, y))


def test_multi_output_hdr_level_by_monte_carlo():
    # Independent targets: p(Y) for a standard bivariate normal is a function of
    # |Y|^2 ~ chi2(2), so the 0.9 region is |y|^2 <= -2 log(0.1).
    L = np.broadcast_to(np.eye(2), (3, 1, 2, 2))
    dist = NormalMixture(np.ones((3, 1)), np.zeros((3, 1, 2)), L)
    exact = np.exp(-0.5 * -2 * np.log(0.1)) / (2 * np.pi)
    np.testing.assert_allclose(dist.hdr_level(0.9), exact, rtol=0.05)
    np.testing.assert_array_equal(
        dist.in_hdr([[0.0, 0.0], [2.0, 0.0], [0.0, 2.2]], 0.9), [True, True, False]
    )
    with pytest.raises(ValueError, match="single target"):
        dist.hdr(0.9)


@pytest.mark.parametrize("coverage", [0.0, 1.0, 1.5, -0.1, True, "0.9"])
def test_hdr_rejects_bad_coverage(coverage):
    dist = _bimodal(2)
    with pytest.raises(ValueError, match="coverage"):
        dist.hdr(coverage)
    with pytest.raises(ValueError, match="coverage"):
        dist.hdr_level(coverage)
