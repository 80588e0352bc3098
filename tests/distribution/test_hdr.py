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


def _branches(n, seed):
    """Inverse problem with up to three answers: x = y + 0.3 sin(2 pi y)."""
    rng = np.random.RandomState(seed)
    y = rng.uniform(-1, 1, n)
    x = y + 0.3 * np.sin(2 * np.pi * y) + 0.05 * rng.normal(size=n)
    return x[:, None], y


@pytest.fixture(scope="module")
def fitted():
    from sklearn_mdn import MDNRegressor

    X, y = _branches(1500, seed=0)
    # Sixty epochs of a small network on the raw input resolve the three
    # branches; on the encoded input (which the held-out rows prefer, by NLL)
    # they merge two of them at x = 0.5 within these epochs.
    return MDNRegressor(
        n_components=4,
        hidden_layer_sizes=(32,),
        max_iter=60,
        input_encoding="none",
        random_state=0,
    ).fit(X, y)


def _two_branches(n, seed):
    """x uniform on [0, 1], y = +-(1 + x) + N(0, 0.1^2) with equal odds."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 1, n)
    sign = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    return x[:, None], sign * (1 + x) + 0.1 * rng.normal(size=n)


def test_hdr_is_shorter_than_the_interval_on_a_bimodal_truth():
    from sklearn_mdn import MDNRegressor

    X, y = _two_branches(1000, seed=0)
    fitted = MDNRegressor(
        n_components=2, hidden_layer_sizes=(8,), max_iter=40, random_state=0
    ).fit(X, y)
    # Compared at the same empirical coverage on test rows: the HDR level is
    # the empirical quantile of the rows' HDR masses P(p(Y) >= p(y)).
    X, y = _two_branches(1000, seed=1)
    iv = fitted.predict_interval(X, 0.9)
    cover_iv = np.mean((y >= iv[:, 0]) & (y <= iv[:, 1]))
    mass = fitted.predict_dist(X)._hdr_mass(y)
    # (Just above one row's mass, so that no row sits on a region's edge.)
    level = float(np.quantile(mass, cover_iv, method="higher")) + 1e-9
    intervals, n_intervals = fitted.predict_hdr(X, level)
    cover_hdr = _inside(intervals, y).mean()
    assert cover_hdr >= cover_iv > 0.85
    length = np.nansum(intervals[..., 1] - intervals[..., 0], axis=1)
    assert length.mean() <= 0.75 * (iv[:, 1] - iv[:, 0]).mean()
    assert np.mean(n_intervals == 2) > 0.9
    inside = fitted.in_region(X, y, level)
    np.testing.assert_array_equal(inside, _inside(intervals, y))


def test_three_branches(fitted):
    # x = y + 0.3 sin(2 pi y) has three answers y for 0.406 < |x| < 0.594:
    # 0.21, 0.5 and 0.79 for x = 0.5; one for x = 0.
    modes, masses, n_modes = fitted.predict_modes([[0.5], [0.0]], min_mass=0)
    assert n_modes[0] >= 3 and np.nansum(masses[0, 3:]) < 0.01  # bumps at most
    np.testing.assert_allclose(np.sort(modes[0, :3]), [0.21, 0.5, 0.79], atol=0.1)
    np.testing.assert_allclose(np.nansum(masses, axis=1), 1.0)
    # The default leaves out branches under 2%: the three are kept.
    assert fitted.predict_modes([[0.5]]).n_modes[0] == 3
    assert masses[1, 0] > 0.6
    intervals, n_intervals = fitted.predict_hdr([[0.5]], 0.9)
    assert n_intervals[0] >= 2


def test_estimator_methods_are_chunked_and_padded(fitted, monkeypatch):
    from sklearn_mdn._estimators import _regressor

    X, _ = _branches(50, seed=2)
    modes, masses, n_modes = fitted.predict_modes(X, min_mass=0)
    intervals, n_intervals = fitted.predict_hdr(X, 0.8)
    dist = fitted.predict_dist(X)
    np.testing.assert_allclose(modes, dist.modes(min_mass=0)[0])
    monkeypatch.setattr(_regressor, "_CHUNK_ROWS", 7)
    chunked = fitted.predict_modes(X, min_mass=0)
    np.testing.assert_allclose(chunked.modes, modes, rtol=1e-6)
    np.testing.assert_allclose(chunked.masses, masses, rtol=1e-6)
    np.testing.assert_array_equal(chunked.n_modes, n_modes)
    chunked = fitted.predict_hdr(X, 0.8)
    np.testing.assert_allclose(chunked.intervals, intervals, rtol=1e-6)
    np.testing.assert_allclose(np.nansum(masses, axis=1), 1.0)


def test_predict_hdr_through_a_target_transform(fitted):
    from sklearn.compose import TransformedTargetRegressor

    from sklearn_mdn import MDNRegressor, predict_hdr

    X, y = _branches(600, seed=3)
    # Seeded: in exp space a fit may put HDR bounds below zero, where np.log
    # is undefined (tests/test_compose.py checks that error).
    params = {
        "n_components": 3,
        "hidden_layer_sizes": (8,),
        "max_iter": 5,
        "random_state": 0,
    }
    for func, inverse in ((np.negative, np.negative), (np.exp, np.log)):
        model = TransformedTargetRegressor(
            MDNRegressor(**params), func=func, inverse_func=inverse
        ).fit(X, y)
        intervals, n_intervals = predict_hdr(model, X[:20], 0.9)
        inner, inner_n = model.regressor_.predict_hdr(X[:20], 0.9)
        np.testing.assert_array_equal(n_intervals, inner_n)
        ends = intervals.reshape(20, -1)
        for i in range(20):
            row = ends[i, : 2 * n_intervals[i]]
            assert np.all(np.diff(row) >= 0)
            expected = np.sort(inverse(inner[i, : n_intervals[i]].ravel()))
            np.testing.assert_allclose(row, expected)
    model = TransformedTargetRegressor(
        MDNRegressor(**params), func=np.square, inverse_func=np.sin, check_inverse=False
    ).fit(X, y + 2)
    # The error names the function that works through any transform.
    match = r"not monotone.*sklearn_mdn\.sample\(model, X, n_samples\)"
    with pytest.raises(ValueError, match=match):
        predict_hdr(model, X[:200], 0.99)


def test_estimator_errors(fitted):
    from sklearn.exceptions import NotFittedError

    from sklearn_mdn import MDNRegressor

    X, y = _branches(30, seed=4)
    with pytest.raises(NotFittedError):
        MDNRegressor().predict_hdr(X)
    with pytest.raises(NotFittedError):
        MDNRegressor().predict_modes(X)
    with pytest.raises(ValueError, match="coverage"):
        fitted.predict_hdr(X, 1.5)
    with pytest.raises(ValueError, match="coverage"):
        fitted.in_region(X, y, 0)
    with pytest.raises(ValueError, match="same number of rows"):
        fitted.in_region(X, y[:-1])
    Y = np.column_stack([y, y])
    multi = MDNRegressor(n_components=2, hidden_layer_sizes=(4,), max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="single target"):
        multi.predict_hdr(X)
    assert multi.predict_modes(X).modes.shape[2] == 2
