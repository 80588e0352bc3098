"""Every branch of a predictive distribution: NormalMixture.modes, predict_modes."""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from sklearn_mdn import NormalMixture


def _random_mixtures(n, K, seed=0):
    rng = np.random.RandomState(seed)
    w = rng.dirichlet(np.ones(K), size=n)
    mu = 2.0 * rng.normal(size=(n, K, 1))
    sig = rng.uniform(0.2, 1.0, size=(n, K, 1, 1))
    return NormalMixture(w, mu, sig)


def _reference_modes(w, mu, sig):
    """Modes by a fine grid and Brent refinement of p'(y) = 0, and the mass
    between the local minima around each."""

    def dpdf(y):
        return np.sum(w * norm.pdf(y, mu, sig) * (mu - y) / sig**2)

    grid = np.linspace(mu.min() - 1, mu.max() + 1, 200_001)
    d = np.array([dpdf(g) for g in grid[::100]])
    coarse = grid[::100]
    crit, kind = [], []
    for i in range(len(d) - 1):
        if np.sign(d[i]) != np.sign(d[i + 1]) and d[i] != 0:
            crit.append(brentq(dpdf, coarse[i], coarse[i + 1], xtol=1e-14))
            kind.append(d[i] > 0)
    crit, kind = np.array(crit), np.array(kind)
    minima = np.concatenate([[-np.inf], crit[~kind], [np.inf]])
    F = np.array([np.sum(w * norm.cdf(m, mu, sig)) for m in minima])
    return crit[kind], np.diff(F)


def test_modes_match_grid_and_root_refinement():
    dist = _random_mixtures(30, 4)
    modes, masses, n_modes = dist.modes(min_mass=0, min_dip=0)
    assert modes.shape == masses.shape and modes.shape[1] <= 4
    np.testing.assert_allclose(np.nansum(masses, axis=1), 1.0, atol=1e-6)
    multimodal = 0
    for i in range(len(dist)):
        w, mu, sig = dist.weights[i], dist.means[i, :, 0], dist.scale_tril[i, :, 0, 0]
        ref, ref_mass = _reference_modes(w, mu, sig)
        big = ref_mass > 0.01
        got = modes[i, : n_modes[i]]
        got_mass = masses[i, : n_modes[i]]
        assert np.all(np.isnan(modes[i, n_modes[i] :]))
        # Heaviest first.
        assert np.all(np.diff(got_mass) <= 0)
        for location, mass in zip(ref[big], ref_mass[big]):
            j = np.argmin(np.abs(got - location))
            assert abs(got[j] - location) <= 1e-6 * max(1.0, abs(location))
            assert abs(got_mass[j] - mass) <= 1e-6
        multimodal += n_modes[i] > 1
    assert multimodal >= 5


def test_modes_of_a_single_gaussian_and_equal_components():
    dist = NormalMixture([[1.0], [1.0]], [[[3.0]], [[-1.0]]], np.ones((2, 1, 1, 1)))
    modes, masses, n_modes = dist.modes()
    np.testing.assert_allclose(modes[:, 0], [3.0, -1.0], atol=1e-10)
    np.testing.assert_allclose(masses[:, 0], 1.0)
    np.testing.assert_array_equal(n_modes, [1, 1])
    # Two equal components close together: one mode between them.
    dist = NormalMixture([[0.5, 0.5]], [[[-0.5], [0.5]]], np.ones((1, 2, 1, 1)))
    modes, masses, n_modes = dist.modes()
    assert n_modes[0] == 1 and abs(modes[0, 0]) < 1e-10


def test_modes_agree_with_mode_and_zero_weights():
    dist = _random_mixtures(50, 3, seed=1)
    modes, _, _ = dist.modes()
    top = modes[np.arange(50), 0]
    # The highest mode is among the listed ones.
    gap = np.nanmin(np.abs(modes - dist.mode()[:, None]), axis=1)
    assert np.all(gap <= 1e-6 * (1 + np.abs(dist.mode())))
    assert top.shape == (50,)
    w = np.array([[0.0, 1.0]])
    dist = NormalMixture(w, [[[5.0], [0.0]]], np.ones((1, 2, 1, 1)))
    modes, masses, n_modes = dist.modes()
    assert n_modes[0] == 1 and abs(modes[0, 0]) < 1e-10


def test_multi_output_modes_in_the_joint_space():
    w = np.array([[0.25, 0.75], [0.5, 0.5]])
    means = np.array([[[-3.0, 0.0], [3.0, 1.0]], [[0.0, 0.0], [0.1, 0.0]]])
    L = np.broadcast_to(np.eye(2), (2, 2, 2, 2))
    modes, masses, n_modes = NormalMixture(w, means, L).modes()
    assert modes.shape == (2, 2, 2)
    np.testing.assert_array_equal(n_modes, [2, 1])
    np.testing.assert_allclose(masses[0], [0.75, 0.25])
    np.testing.assert_allclose(modes[0, 0], [3.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(modes[0, 1], [-3.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(modes[1, 0], [0.05, 0.0], atol=1e-8)
    assert np.isnan(modes[1, 1]).all() and np.isnan(masses[1, 1])


def test_density_display_draws_regions_and_branches():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_mdn import MDNRegressor
    from sklearn_mdn.plotting import PredictiveDensityDisplay

    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(200, 1))
    y = np.where(rng.uniform(size=200) < 0.5, -1, 1) * (1 + X[:, 0])
    reg = MDNRegressor(
        n_components=2, hidden_layer_sizes=(4,), max_iter=3, random_state=0
    ).fit(X, y)
    display = PredictiveDensityDisplay.from_estimator(
        reg, X, y, n_points=20, y_grid=50, hdr=0.8, modes=True
    )
    dist = reg.predict_dist(np.linspace(X.min(), X.max(), 20)[:, None])
    modes, masses, n_modes = dist.modes()
    np.testing.assert_allclose(display.modes, modes)
    assert len(display.modes_scatter_.get_offsets()) == n_modes.sum()
    sizes = display.modes_scatter_.get_sizes()
    np.testing.assert_allclose(sizes, 40 * masses[~np.isnan(masses)])
    np.testing.assert_allclose(display.hdr, dist.hdr(0.8).intervals)
    assert display.hdr_region_ is not None
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert "80% HDR" in labels and "modes (area: mass)" in labels
    # Without the options nothing is drawn.
    display = PredictiveDensityDisplay.from_estimator(reg, X, n_points=5, y_grid=10)
    assert display.hdr_region_ is None and display.modes_scatter_ is None
    plt.close("all")


def _far_light_bump(weight=1e-4, d=None):
    """One heavy Gaussian at 0 and one of ``weight`` at 10 (scales 1)."""
    w = [[1 - weight, weight]]
    if d is None:
        return NormalMixture(w, [[[0.0], [10.0]]], np.ones((1, 2, 1, 1)))
    means = np.zeros((1, 2, d))
    means[0, 1] = 10.0
    return NormalMixture(w, means, np.broadcast_to(np.eye(d), (1, 2, d, d)))


@pytest.mark.parametrize("d", [None, 2])
def test_min_mass_leaves_out_a_light_far_branch(d):
    dist = _far_light_bump(1e-4, d)
    modes, masses, n_modes = dist.modes()
    assert n_modes[0] == 1 and masses.shape == (1, 1)
    np.testing.assert_allclose(modes[0, 0], 0.0, atol=1e-6)
    # Raw masses: the heavy branch keeps its own probability, not 1.
    np.testing.assert_allclose(masses[0, 0], 1 - 1e-4, rtol=1e-6)
    modes, masses, n_modes = dist.modes(min_mass=0)
    assert n_modes[0] == 2
    np.testing.assert_allclose(modes[0, 1], 10.0, atol=1e-3)
    np.testing.assert_allclose(masses[0], [1 - 1e-4, 1e-4], rtol=1e-3)


@pytest.mark.parametrize("d", [None, 2])
def test_min_mass_keeps_clean_branches(d):
    # Branches of 0.3 and 0.7, and a light one just above and below min_mass.
    for weight, expected in [(0.3, 2), (0.05, 2), (0.005, 1)]:
        dist = _far_light_bump(weight, d)
        _, masses, n_modes = dist.modes()
        assert n_modes[0] == expected, weight
        np.testing.assert_allclose(
            masses[0, :expected], [1 - weight, weight][:expected], rtol=1e-3
        )
    # A threshold above every branch still lists the heaviest.
    dist = NormalMixture([[0.5, 0.5]], [[[-5.0], [5.0]]], np.ones((1, 2, 1, 1)))
    modes, masses, n_modes = dist.modes(min_mass=0.9)
    assert n_modes[0] == 1 and not np.isnan(masses[0, 0])


def test_min_mass_pads_rows_to_the_most_branches_kept():
    w = np.array([[0.6, 0.4, 0.0], [0.5, 0.495, 0.005]])
    means = np.array([[[-5.0], [5.0], [0.0]], [[-5.0], [5.0], [15.0]]])
    dist = NormalMixture(w, means, np.ones((2, 3, 1, 1)))
    modes, masses, n_modes = dist.modes(min_mass=0.01)
    np.testing.assert_array_equal(n_modes, [2, 2])
    assert modes.shape == (2, 2)
    modes, masses, n_modes = dist.modes(min_mass=0.0)
    np.testing.assert_array_equal(n_modes, [2, 3])
    assert np.isnan(masses[0, 2]) and masses[1, 2] == pytest.approx(0.005, rel=1e-3)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, np.nan, "0.1", True, None])
def test_min_mass_is_validated(bad):
    dist = _far_light_bump()
    with pytest.raises(ValueError, match=r"min_mass must be a float in \[0, 1\)"):
        dist.modes(min_mass=bad)


def test_predict_modes_lists_the_two_branches_of_a_fit():
    from sklearn_mdn import MDNRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(200, 1))
    y = np.where(rng.uniform(size=200) < 0.5, -1, 1) * (1 + X[:, 0])
    reg = MDNRegressor(
        n_components=3,
        hidden_layer_sizes=(8,),
        max_iter=40,
        early_stopping=False,
        n_networks=1,
        random_state=0,
    ).fit(X, y)
    every = reg.predict_modes(X[:20], min_mass=0, min_dip=0)
    assert every.n_modes.max() >= 3  # the third component is a light bump
    modes, masses, n_modes = reg.predict_modes(X[:20])
    np.testing.assert_array_equal(n_modes, 2)
    np.testing.assert_allclose(
        np.sort(modes, axis=1), np.c_[-1 - X[:20], 1 + X[:20]], atol=0.3
    )
    assert np.all(masses > 0.3)
    # Where the light bump is a shoulder its mass joins a branch (min_dip);
    # without merging, the two branches hold what they hold among every mode.
    assert np.all(masses >= every.masses[:, :2] - 1e-12)
    assert np.all(masses.sum(axis=1) <= 1.0 + 1e-9)
    assert np.any(masses.sum(axis=1) > every.masses[:, :2].sum(axis=1) + 1e-6)
    unmerged = reg.predict_modes(X[:20], min_dip=0)
    np.testing.assert_allclose(unmerged.masses, every.masses[:, :2])
    dist = reg.predict_dist(X[:20])
    for min_mass in (0.0, 0.01, 0.45):
        got = reg.predict_modes(X[:20], min_mass=min_mass)
        want = dist.modes(min_mass=min_mass)
        np.testing.assert_allclose(got.masses, want.masses, rtol=1e-6)
        np.testing.assert_array_equal(got.n_modes, want.n_modes)
    with pytest.raises(ValueError, match="min_mass"):
        reg.predict_modes(X[:2], min_mass=1.0)
    with pytest.raises(ValueError, match="min_dip"):
        reg.predict_modes(X[:2], min_dip=1.0)
