"""Shallow modes merged into higher ones: NormalMixture.modes(min_dip=...)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import brentq
from scipy.stats import norm

from sklearn_mdn import NormalMixture


def _equal_pair_dip(a):
    """Exact relative dip of 0.5 N(-a, 1) + 0.5 N(a, 1) (a > 1): the density
    at 0 against that at the modes, where p'(y) = 0 for y > 0."""

    def pdf(y):
        return 0.5 * norm.pdf(y, -a) + 0.5 * norm.pdf(y, a)

    def dpdf(y):
        return 0.5 * ((-a - y) * norm.pdf(y, -a) + (a - y) * norm.pdf(y, a))

    peak = brentq(dpdf, 1e-6, a + 1.0, xtol=1e-14)
    return 1.0 - pdf(0.0) / pdf(peak), peak


@pytest.mark.parametrize("a", [1.2, 1.5, 2.0])
@pytest.mark.parametrize("d", [1, 2])
def test_two_equal_gaussians_merge_exactly_below_their_dip(a, d):
    # In 2-D the second target is independent N(0, 1): the segment between
    # the modes is the exact lowest path, so the dip is the 1-D one.
    dip, peak = _equal_pair_dip(a)
    means = np.zeros((1, 2, d))
    means[0, :, 0] = [-a, a]
    dist = NormalMixture([[0.5, 0.5]], means, np.broadcast_to(np.eye(d), (1, 2, d, d)))
    modes, masses, n_modes = dist.modes(min_mass=0, min_dip=dip - 0.01)
    assert n_modes[0] == 2
    np.testing.assert_allclose(masses[0], [0.5, 0.5], atol=1e-6)
    first = np.sort(modes.reshape(1, 2, d)[0, :, 0])
    np.testing.assert_allclose(first, [-peak, peak], atol=1e-6)
    modes, masses, n_modes = dist.modes(min_mass=0, min_dip=dip + 0.01)
    assert n_modes[0] == 1
    np.testing.assert_allclose(masses[0], [1.0], atol=1e-6)
    assert abs(modes.reshape(1, 1, d)[0, 0, 0]) == pytest.approx(peak, abs=1e-6)


def test_one_mode_below_the_bimodality_threshold_and_a_deep_dip_kept():
    # 0.5 N(-a, 1) + 0.5 N(a, 1) is unimodal for a <= 1; at a = 3 the density
    # at 0 is 2.2% of the modes', a branch whatever min_dip below 0.97.
    for a, want in ((0.9, 1), (3.0, 2)):
        dist = NormalMixture([[0.5, 0.5]], [[[-a], [a]]], np.ones((1, 2, 1, 1)))
        for min_dip in (0.0, 0.5, 0.9):
            assert dist.modes(min_mass=0, min_dip=min_dip).n_modes[0] == want


def test_merged_masses_flow_up_a_chain_of_shoulders():
    # Three bumps, each a shoulder of the next higher one: all join the top.
    # The dips from the second to the first and from the third to the second
    # are 54% and 64% of the lower mode's density.
    means = np.array([[[0.0], [2.0], [4.0]]])
    dist = NormalMixture([[0.6, 0.25, 0.15]], means, np.full((1, 3, 1, 1), 0.5))
    every = dist.modes(min_mass=0, min_dip=0)
    assert every.n_modes[0] == 3
    assert dist.modes(min_mass=0, min_dip=0.5).n_modes[0] == 3
    merged = dist.modes(min_mass=0, min_dip=0.9)
    assert merged.n_modes[0] == 1
    np.testing.assert_allclose(merged.masses[0], [1.0], atol=1e-9)
    assert merged.modes[0, 0] == every.modes[0, 0]


def _brute_force_dips(dist, row, modes):
    """Lowest density on a fine grid between each pair of ``modes``."""
    w, mu = dist.weights[row], dist.means[row, :, 0]
    sig = dist.scale_tril[row, :, 0, 0]

    def pdf(y):
        return (w * norm.pdf(np.asarray(y)[..., None], mu, sig)).sum(axis=-1)

    low = np.empty((len(modes), len(modes)))
    for i, a in enumerate(modes):
        for j, b in enumerate(modes):
            low[i, j] = pdf(np.linspace(a, b, 20001)).min()
    return pdf(modes), low


def test_listed_modes_are_exactly_those_with_enough_dip():
    rng = np.random.RandomState(1)
    K, n = 4, 25
    dist = NormalMixture(
        rng.dirichlet(np.ones(K), size=n),
        1.5 * rng.normal(size=(n, K, 1)),
        rng.uniform(0.3, 1.0, size=(n, K, 1, 1)),
    )
    min_dip = 0.3
    every = dist.modes(min_mass=0, min_dip=0)
    kept = dist.modes(min_mass=0, min_dip=min_dip)
    np.testing.assert_allclose(np.nansum(kept.masses, axis=1), 1.0, atol=1e-6)
    merged_rows = 0
    for r in range(n):
        modes = every.modes[r, : every.n_modes[r]]
        peak, low = _brute_force_dips(dist, r, modes)
        higher = peak[None, :] > peak[:, None]
        # a mode is shallow if the density stays above (1 - min_dip) of its
        # own on the way to some higher mode (to the grid's resolution)
        shallow = ((low >= (1 - min_dip) * peak[:, None]) & higher).any(axis=1)
        listed = kept.modes[r, : kept.n_modes[r]]
        np.testing.assert_allclose(np.sort(listed), np.sort(modes[~shallow]))
        merged_rows += shallow.any()
    assert merged_rows >= 3  # the check saw merges, not only deep dips


def test_min_dip_zero_lists_every_mode_as_before():
    rng = np.random.RandomState(2)
    dist = NormalMixture(
        rng.dirichlet(np.ones(5), size=40),
        rng.normal(size=(40, 5, 1)),
        rng.uniform(0.2, 1.0, size=(40, 5, 1, 1)),
    )
    default = dist.modes(min_mass=0)
    every = dist.modes(min_mass=0, min_dip=0)
    assert np.all(default.n_modes <= every.n_modes)
    assert np.any(default.n_modes < every.n_modes)
    np.testing.assert_allclose(np.nansum(every.masses, axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, np.nan, "0.5", True, None])
def test_min_dip_is_validated(bad):
    dist = NormalMixture([[1.0]], [[[0.0]]], np.ones((1, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"min_dip must be a float in \[0, 1\)"):
        dist.modes(min_dip=bad)


# ------------------------------------------------------------------ min_gap
def _hair_apart(gap, scale=1e-4, d=1):
    """One answer placed twice, ``gap`` apart, by narrow components (the
    dip between them is total), and a separate answer at 1."""
    means = np.zeros((1, 3, d))
    means[0, 1, 0], means[0, 2, 0] = gap, 1.0
    tril = np.broadcast_to(scale * np.eye(d), (1, 3, d, d)).copy()
    shape = (d,) if d > 1 else None
    return NormalMixture([[0.4, 0.35, 0.25]], means, tril, event_shape=shape)


@pytest.mark.parametrize("d", [1, 2])
def test_min_gap_merges_an_answer_placed_twice_with_its_mass(d):
    dist = _hair_apart(0.002, d=d)
    assert dist.modes(min_mass=0, min_dip=0.9).n_modes[0] == 3  # the dip is total
    modes, masses, n_modes = dist.modes(min_mass=0, min_gap=0.01)
    assert n_modes[0] == 2
    assert_allclose(masses[0], [0.75, 0.25], atol=1e-6)
    assert_allclose(np.reshape(modes[0, 0], -1)[0], 0.0, atol=1e-6)  # the higher
    # Farther apart than min_gap: two answers.
    assert _hair_apart(0.02, d=d).modes(min_mass=0, min_gap=0.01).n_modes[0] == 3
    if d == 2:  # a gap per target: the second target's does not bring them close
        assert dist.modes(min_mass=0, min_gap=[0.001, 1.0]).n_modes[0] == 3


@pytest.mark.parametrize("bad", [-0.1, np.nan, [0.01, 0.0], "a", [1, 2, 3]])
def test_min_gap_refuses_bad_values(bad):
    with pytest.raises(ValueError, match="min_gap"):
        _hair_apart(0.002, d=2).modes(min_gap=bad)


def test_predict_modes_min_gap_is_in_standard_deviations_of_the_target():
    from sklearn_mdn import MDNRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (300, 1))
    y = np.where(rng.rand(300) < 0.5, X[:, 0], 2 + X[:, 0])
    params = {"n_components": 3, "hidden_layer_sizes": (8,), "max_iter": 20}
    got = []
    for scale in (1.0, 1000.0):
        reg = MDNRegressor(**params, random_state=0).fit(X, scale * y)
        res = reg.predict_modes(X[:50], min_mass=0, min_dip=0, min_gap=0.05)
        every = reg.predict_dist(X[:50]).modes(min_mass=0, min_dip=0)
        gap = 0.05 * reg.y_scale_  # the same listing, in target units
        by_hand = reg.predict_dist(X[:50]).modes(min_mass=0, min_dip=0, min_gap=gap)
        assert_allclose(res.masses, by_hand.masses)
        assert np.all(res.n_modes <= every.n_modes)
        got.append(res.n_modes)
    assert_array_equal(got[0], got[1])  # the unit follows the target's scale
