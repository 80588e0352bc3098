"""Tests for the vectorised Gaussian-mixture distribution."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import optimize, stats
from scipy.special import logsumexp

from sklearn_mdn.distribution import NormalMixture, _modes

# RuntimeWarnings (log(0), overflow, invalid values) would mean silent NaN/inf.
pytestmark = pytest.mark.filterwarnings("error")


def random_mixture(seed, n=6, K=3, d=1, event_shape=None, spread=3.0):
    """A mixture with random weights, means and full-covariance Cholesky factors."""
    rng = np.random.RandomState(seed)
    weights = rng.dirichlet(np.ones(K), size=n)
    means = rng.normal(0.0, spread, size=(n, K, d))
    diag = np.exp(rng.normal(0.0, 0.4, size=(n, K, d)))
    lower = np.tril(rng.normal(0.0, 0.5, size=(n, K, d, d)), -1)
    scale_tril = lower + diag[..., None] * np.eye(d)
    return NormalMixture(weights, means, scale_tril, event_shape=event_shape)


def univariate(weights, means, scales):
    """One-row univariate mixture from lists."""
    weights = np.asarray(weights, dtype=float)[None]
    means = np.asarray(means, dtype=float)[None, :, None]
    scales = np.asarray(scales, dtype=float)[None, :, None, None]
    return NormalMixture(weights, means, scales)


def reference_log_prob(dist, y):
    """Row-by-row mixture of scipy multivariate normal pdfs; y is (n, d)."""
    covs = dist.covariances
    out = np.empty(len(dist))
    for i in range(len(dist)):
        pdf = sum(
            dist.weights[i, k]
            * stats.multivariate_normal(dist.means[i, k], covs[i, k]).pdf(y[i])
            for k in range(dist.n_components)
        )
        out[i] = np.log(pdf)
    return out


def reference_sf(dist, x):
    """Survival function of a univariate mixture from scipy.stats.norm."""
    scales = dist.scale_tril[..., 0, 0]
    sf = stats.norm.sf(x[:, None], dist.means[..., 0], scales)
    return (dist.weights * sf).sum(axis=1)


CONFIGS = [
    pytest.param(1, None, id="univariate"),
    pytest.param(1, (1,), id="d1-event"),
    pytest.param(3, None, id="d3"),
]


# ---------------------------------------------------------------------------
# Construction and validation
# ---------------------------------------------------------------------------
def test_attributes_and_float64_conversion():
    dist = random_mixture(0, n=4, K=3, d=2)
    assert len(dist) == 4
    assert dist.shape == (4,)
    assert dist.n_components == 3
    assert dist.n_targets == 2
    assert dist.event_shape == (2,)
    cov = dist.covariances
    L = dist.scale_tril
    np.testing.assert_allclose(cov[1, 2], L[1, 2] @ L[1, 2].T)

    w32 = dist.weights.astype(np.float32)
    w32 /= w32.sum(axis=1, keepdims=True)
    d32 = NormalMixture(w32, dist.means.astype(np.float32), dist.scale_tril)
    assert d32.weights.dtype == d32.means.dtype == np.float64
    assert d32.log_prob(np.zeros((4, 2))).dtype == np.float64
    # float64 input is not copied
    same = NormalMixture(dist.weights, dist.means, dist.scale_tril)
    assert np.shares_memory(same.means, dist.means)


def test_default_event_shape():
    assert random_mixture(0, d=1).event_shape == ()
    assert random_mixture(0, d=1, event_shape=(1,)).event_shape == (1,)
    assert random_mixture(0, d=2).event_shape == (2,)


def test_repr():
    dist = random_mixture(0, n=100, K=5, d=1)
    assert repr(dist) == (
        "NormalMixture(n_rows=100, n_components=5, n_targets=1, event_shape=())"
    )
    multi = random_mixture(0, n=3, K=2, d=2)
    assert repr(multi) == (
        "NormalMixture(n_rows=3, n_components=2, n_targets=2, event_shape=(2,))"
    )


@pytest.mark.parametrize(
    "weights, means, scale_tril, kwargs, match",
    [
        (np.ones(3), np.zeros((3, 1, 1)), np.ones((3, 1, 1, 1)), {}, "weights must"),
        (
            np.full((3, 2), 0.5),
            np.zeros((3, 1, 1)),
            np.ones((3, 2, 1, 1)),
            {},
            r"means must have shape \(n, K, d\) = \(3, 2, d\)",
        ),
        (
            np.full((3, 2), 0.5),
            np.zeros((3, 2, 2)),
            np.ones((3, 2, 1, 1)),
            {},
            r"scale_tril must have shape \(n, K, d, d\) = \(3, 2, 2, 2\)",
        ),
        (
            np.array([[1.5, -0.5]]),
            np.zeros((1, 2, 1)),
            np.ones((1, 2, 1, 1)),
            {},
            "non-negative",
        ),
        (
            np.array([[0.5, 0.4]]),
            np.zeros((1, 2, 1)),
            np.ones((1, 2, 1, 1)),
            {},
            "sum to 1",
        ),
        (
            np.array([[0.5, 0.5]]),
            np.array([[[0.0], [np.nan]]]),
            np.ones((1, 2, 1, 1)),
            {},
            "means must be finite",
        ),
        (
            np.array([[0.5, 0.5]]),
            np.zeros((1, 2, 1)),
            np.array([[[[1.0]], [[0.0]]]]),
            {},
            "positive diagonal",
        ),
        (
            np.array([[1.0]]),
            np.zeros((1, 1, 2)),
            np.eye(2)[None, None],
            {"event_shape": ()},
            r"event_shape must be \(2,\)",
        ),
        (
            np.array([[1.0]]),
            np.zeros((1, 1, 2)),
            np.eye(2)[None, None],
            {"event_shape": (3,)},
            "event_shape must be",
        ),
    ],
)
def test_constructor_errors(weights, means, scale_tril, kwargs, match):
    with pytest.raises(ValueError, match=match):
        NormalMixture(weights, means, scale_tril, **kwargs)


def test_value_shape_errors():
    uni = random_mixture(0, n=4)
    multi = random_mixture(0, n=4, d=2)
    with pytest.raises(ValueError, match=r"y must have shape .*\(\.\.\., 4\)"):
        uni.log_prob(np.zeros(5))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4, 2\), got \(4,\)"):
        multi.log_prob(np.zeros(4))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4, 2\), got \(4, 3\)"):
        multi.cdf(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        uni.pdf(np.array([0.0, np.nan, 0.0, 0.0]))


# ---------------------------------------------------------------------------
# Densities
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("d, event_shape", CONFIGS)
def test_log_prob_matches_scipy(d, event_shape):
    dist = random_mixture(1, n=7, K=4, d=d, event_shape=event_shape)
    rng = np.random.RandomState(2)
    y = dist.mean().reshape(7, d) + rng.normal(0, 2, size=(7, d))
    expected = reference_log_prob(dist, y)
    y_in = y if dist.event_shape else y[:, 0]
    np.testing.assert_allclose(dist.log_prob(y_in), expected, rtol=1e-10)
    np.testing.assert_allclose(dist.pdf(y_in), np.exp(expected), rtol=1e-10)


@pytest.mark.parametrize("d, event_shape", CONFIGS)
def test_log_prob_with_batch_grid(d, event_shape):
    dist = random_mixture(3, n=5, K=3, d=d, event_shape=event_shape)
    rng = np.random.RandomState(4)
    grid = rng.normal(0, 3, size=(2, 6, 5, d))  # S = (2, 6)
    y_in = grid if dist.event_shape else grid[..., 0]
    out = dist.log_prob(y_in)
    assert out.shape == (2, 6, 5)
    for a in range(2):
        for b in range(6):
            np.testing.assert_allclose(
                out[a, b], reference_log_prob(dist, grid[a, b]), rtol=1e-10
            )


def test_infinite_values():
    uni = random_mixture(0, n=2)
    np.testing.assert_array_equal(uni.log_prob([np.inf, -np.inf]), [-np.inf, -np.inf])
    np.testing.assert_array_equal(uni.cdf([np.inf, -np.inf]), [1.0, 0.0])
    multi = random_mixture(0, n=2, d=3)
    y = np.zeros((2, 3))
    y[0, 1] = np.inf
    lp = multi.log_prob(y)
    assert lp[0] == -np.inf and np.isfinite(lp[1])
    np.testing.assert_array_equal(multi.pdf(y)[0], 0.0)


def test_log_prob_zero_weight_component():
    dist = univariate([0.0, 1.0], [100.0, 0.0], [1.0, 2.0])
    np.testing.assert_allclose(
        dist.log_prob(np.array([0.5])), stats.norm(0.0, 2.0).logpdf([0.5]), rtol=1e-12
    )


def test_log_prob_finite_far_in_tails():
    dist = univariate([0.3, 0.7], [0.0, 1.0], [1.0, 2.0])
    y = np.array([-80.0])  # 80 sigma from the first component, 40.5 from the second
    # Naive densities underflow to zero here.
    with np.errstate(divide="ignore"):
        assert np.log(0.3 * stats.norm.pdf(-80.0) + 0.7 * stats.norm.pdf(-40.5)) == (
            -np.inf
        )
    expected = logsumexp(
        [
            np.log(0.3) + stats.norm.logpdf(-80.0),
            np.log(0.7) + stats.norm(1, 2).logpdf(-80.0),
        ]
    )
    out = dist.log_prob(y)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, expected, rtol=1e-12)

    multi = random_mixture(5, n=3, K=2, d=3)
    far = multi.means[:, 0] + 40.0 * 20.0
    lp = multi.log_prob(far)
    assert np.all(np.isfinite(lp)) and np.all(lp < -1e3)


# ---------------------------------------------------------------------------
# cdf and quantiles
# ---------------------------------------------------------------------------
def test_cdf_matches_scipy():
    dist = random_mixture(6, n=5, K=3, d=2)
    y = np.random.RandomState(0).normal(0, 3, size=(5, 2))
    covs = dist.covariances
    expected = np.zeros((5, 2))
    for i in range(5):
        for j in range(2):
            for k in range(3):
                sd = np.sqrt(covs[i, k, j, j])
                expected[i, j] += dist.weights[i, k] * stats.norm.cdf(
                    y[i, j], dist.means[i, k, j], sd
                )
    np.testing.assert_allclose(dist.cdf(y), expected, rtol=1e-12, atol=1e-15)
    batch = dist.cdf(np.stack([y, y + 1.0]))
    assert batch.shape == (2, 5, 2)
    np.testing.assert_allclose(batch[0], expected, rtol=1e-12, atol=1e-15)


EXTREME_Q = np.array([1e-9, 1e-4, 0.05, 0.3, 0.5, 0.7, 0.95, 1 - 1e-4, 1 - 1e-9])


def assert_cdf_inverts(dist, x, q):
    """cdf(x) == q, checked on the lower tail for q <= 1/2, upper tail above."""
    for m, level in enumerate(q):
        if level <= 0.5:
            np.testing.assert_allclose(dist.cdf(x[:, m]), level, rtol=1e-10)
        else:
            np.testing.assert_allclose(
                reference_sf(dist, x[:, m]), 1 - level, rtol=1e-9
            )


def test_cdf_of_ppf_univariate_extreme_levels():
    dist = random_mixture(7, n=20, K=4)
    x = dist.ppf(EXTREME_Q)
    assert x.shape == (20, len(EXTREME_Q))
    assert_cdf_inverts(dist, x, EXTREME_Q)


def test_cdf_of_ppf_bimodal():
    dist = univariate([0.5, 0.5], [-50.0, 50.0], [1.0, 1.0])
    q = np.array([1e-9, 0.25, 0.4999, 0.5, 0.5001, 0.75, 1 - 1e-9])
    x = dist.ppf(q)
    assert_cdf_inverts(dist, x, q)
    # Each half is a single component to machine precision.
    np.testing.assert_allclose(x[0, 1], -50.0, atol=1e-10)
    np.testing.assert_allclose(x[0, 5], 50.0, atol=1e-10)
    # q = 1/2 lies in the flat gap between the components.
    assert -45.0 < x[0, 3] < 45.0


def test_ppf_matches_brentq():
    dist = random_mixture(8, n=5, K=3, spread=5.0)
    for q in (0.01, 0.4, 0.99):
        x = dist.ppf(q)
        for i in range(5):
            root = optimize.brentq(
                lambda t, i=i, q=q: dist[i].cdf(np.array([t]))[0] - q,
                -100,
                100,
                xtol=1e-14,
                rtol=1e-14,
            )
            np.testing.assert_allclose(x[i], root, rtol=1e-9, atol=1e-9)


def test_ppf_of_cdf():
    dist = random_mixture(9, n=10, K=3)
    rng = np.random.RandomState(0)
    x = dist.mean() + rng.normal(0, 1, size=10) * dist.std()
    q = dist.cdf(x)
    back = np.array([dist[i].ppf(q[i])[0] for i in range(10)])
    np.testing.assert_allclose(back, x, rtol=1e-9, atol=1e-9)


def test_ppf_monotone_and_endpoints():
    dist = random_mixture(10, n=8, K=5)
    q = np.linspace(0.0, 1.0, 201)
    x = dist.ppf(q)
    assert np.all(x[:, 0] == -np.inf) and np.all(x[:, -1] == np.inf)
    assert np.all(np.diff(x[:, 1:-1], axis=1) > 0)


def test_ppf_ignores_zero_weight_components():
    with_zero = univariate([0.4, 0.0, 0.6], [0.0, 1e4, 3.0], [1.0, 1e-3, 2.0])
    without = univariate([0.4, 0.6], [0.0, 3.0], [1.0, 2.0])
    q = np.array([1e-6, 0.1, 0.5, 0.9, 1 - 1e-6])
    np.testing.assert_allclose(with_zero.ppf(q), without.ppf(q), rtol=1e-12)


def test_ppf_multi_output_marginals():
    dist = random_mixture(11, n=6, K=3, d=3)
    q = np.array([1e-9, 0.2, 0.5, 0.9, 1 - 1e-9])
    x = dist.ppf(q)
    assert x.shape == (6, 3, 5)
    assert dist.ppf(0.3).shape == (6, 3)
    for j in range(3):
        marginal = dist.marginal(j)
        np.testing.assert_allclose(marginal.ppf(q), x[:, j], rtol=1e-12)
        assert_cdf_inverts(marginal, x[:, j], q)
        np.testing.assert_allclose(dist.cdf(x[:, :, 2])[:, j], 0.5, rtol=1e-10)


@pytest.mark.parametrize("q", [-0.1, 1.1, np.nan, np.inf, [[0.5]], [0.5, 2.0]])
def test_ppf_rejects_bad_levels(q):
    dist = random_mixture(0)
    with pytest.raises(ValueError, match="q must"):
        dist.ppf(q)


def test_level_errors_name_the_argument_and_the_values():
    from sklearn_mdn.distribution._checks import _check_levels

    with pytest.raises(ValueError, match=r"not percentages\), got \[10.0, 50.0\]"):
        random_mixture(0).ppf([0.5, 10, 50])
    with pytest.raises(ValueError, match="^quantiles must be finite and in"):
        _check_levels([10, 50], "quantiles")
    np.testing.assert_array_equal(_check_levels([0, 0.5, 1]), [0, 0.5, 1])


# ---------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------
def test_interval_matches_ppf():
    dist = random_mixture(12, n=5, K=3)
    np.testing.assert_allclose(dist.interval(0.8), dist.ppf([0.1, 0.9]), rtol=1e-12)
    multi = random_mixture(12, n=5, K=3, d=2)
    interval = multi.interval()
    assert interval.shape == (5, 2, 2)
    np.testing.assert_allclose(interval, multi.ppf([0.05, 0.95]), rtol=1e-12)


def test_interval_coverage_from_samples():
    dist = random_mixture(13, n=4, K=3)
    n_draws = 20_000
    draws = dist.sample(n_draws, random_state=0)
    lo, hi = dist.interval(0.9).T
    inside = ((draws >= lo[:, None]) & (draws <= hi[:, None])).mean(axis=1)
    se = np.sqrt(0.9 * 0.1 / n_draws)
    assert np.all(np.abs(inside - 0.9) < 5 * se)


@pytest.mark.parametrize("coverage", [0, 1, 1.5, -0.2, "0.9", None, True])
def test_interval_rejects_bad_coverage(coverage):
    with pytest.raises(ValueError, match="coverage must"):
        random_mixture(0).interval(coverage)


# ---------------------------------------------------------------------------
# Moments
# ---------------------------------------------------------------------------
def test_moments_hand_built():
    sigma1 = np.array([[1.0, 0.5], [0.5, 2.0]])
    sigma2 = np.diag([0.5, 0.25])
    weights = np.array([[0.25, 0.75]])
    means = np.array([[[0.0, 0.0], [2.0, 4.0]]])
    scale_tril = np.stack([np.linalg.cholesky(sigma1), np.linalg.cholesky(sigma2)])[
        None
    ]
    dist = NormalMixture(weights, means, scale_tril)
    mean = np.array([1.5, 3.0])
    second = 0.25 * sigma1 + 0.75 * (sigma2 + np.outer([2.0, 4.0], [2.0, 4.0]))
    cov = second - np.outer(mean, mean)
    np.testing.assert_allclose(dist.mean(), mean[None], rtol=1e-14)
    np.testing.assert_allclose(dist.covariance(), cov[None], rtol=1e-13)
    np.testing.assert_allclose(dist.var(), np.diag(cov)[None], rtol=1e-13)
    np.testing.assert_allclose(dist.std(), np.sqrt(np.diag(cov))[None], rtol=1e-13)
    np.testing.assert_allclose(dist.top(), [[2.0, 4.0]])


@pytest.mark.parametrize("d, event_shape", CONFIGS)
def test_sample_moments(d, event_shape):
    dist = random_mixture(14, n=3, K=3, d=d, event_shape=event_shape)
    n_draws = 50_000
    draws = dist.sample(n_draws, random_state=np.random.RandomState(1))
    draws = draws.reshape(3, n_draws, d)
    mean = dist.mean().reshape(3, d)
    cov = dist.covariance()
    se_mean = np.sqrt(np.diagonal(cov, axis1=1, axis2=2) / n_draws)
    assert np.all(np.abs(draws.mean(axis=1) - mean) < 5 * se_mean)
    centred = draws - mean[:, None, :]
    products = centred[:, :, :, None] * centred[:, :, None, :]
    se_cov = products.std(axis=1) / np.sqrt(n_draws)
    assert np.all(np.abs(products.mean(axis=1) - cov) < 5 * se_cov)


def test_sample_component_frequencies_and_zero_weights():
    dist = univariate([0.2, 0.0, 0.5, 0.3], [-100.0, 1e6, 0.0, 100.0], [1.0] * 4)
    draws = dist.sample(40_000, random_state=3)[0]
    assert np.all(np.abs(draws) < 200)  # the zero-weight component is never drawn
    freq = np.array([np.mean(draws < -50), np.mean(np.abs(draws) < 50)])
    se = np.sqrt(np.array([0.2 * 0.8, 0.5 * 0.5]) / 40_000)
    assert np.all(np.abs(freq - [0.2, 0.5]) < 5 * se)


def test_sample_reproducible_and_leaves_global_rng_alone():
    dist = random_mixture(15, n=4, K=3, d=2)
    state = np.random.get_state()
    a = dist.sample(5, random_state=42)
    b = dist.sample(5, random_state=42)
    c = dist.sample(5, random_state=np.random.RandomState(42))
    dist.sample(5)
    after = np.random.get_state()
    assert a.shape == (4, 5, 2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, dist.sample(5, random_state=43))
    assert state[0] == after[0] and state[2:] == after[2:]
    np.testing.assert_array_equal(state[1], after[1])


@pytest.mark.parametrize("n_samples", [0, -1, 2.5, True])
def test_sample_rejects_bad_n_samples(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        random_mixture(0).sample(n_samples)


# ---------------------------------------------------------------------------
# Mode
# ---------------------------------------------------------------------------
def numerical_gradient(dist, x, h=1e-5):
    """Central finite-difference gradient of log_prob at x (n, d)."""
    grad = np.empty_like(x)
    for j in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[j] = h
        plus = dist.log_prob((x + e).reshape(len(dist), *dist.event_shape))
        minus = dist.log_prob((x - e).reshape(len(dist), *dist.event_shape))
        grad[:, j] = (plus - minus) / (2 * h)
    return grad


@pytest.mark.parametrize("d", [1, 2, 3])
def test_mode_is_stationary_and_beats_component_means(d):
    dist = random_mixture(16, n=30, K=4, d=d, spread=2.0)
    mode = dist.mode().reshape(30, d)
    assert np.all(np.abs(numerical_gradient(dist, mode)) < 1e-6)
    lp_mode = dist.log_prob(mode.reshape(30, *dist.event_shape))
    for k in range(4):
        lp_mean = dist.log_prob(dist.means[:, k].reshape(30, *dist.event_shape))
        assert np.all(lp_mode >= lp_mean - 1e-12)


def test_mode_is_global_maximum_on_grid():
    dist = random_mixture(17, n=40, K=5, spread=2.0)
    grid = np.linspace(-15, 15, 6001)[:, None] * np.ones(40)
    best = dist.log_prob(grid).max(axis=0)
    assert np.all(dist.log_prob(dist.mode()) >= best - 1e-9)


def test_mode_ignores_zero_weight_component():
    dist = univariate([0.0, 0.6, 0.4], [30.0, 0.0, 1.0], [0.01, 1.0, 1.0])
    mode = dist.mode()
    assert 0.0 < mode[0] < 1.0
    assert abs(numerical_gradient(dist, mode[:, None])[0, 0]) < 1e-6


def test_mode_differs_from_top_for_light_narrow_component():
    # A heavy wide component and a light narrow one: the density peaks on the
    # narrow one although the wide one has most of the weight.
    dist = univariate([0.7, 0.3], [0.0, 5.0], [3.0, 0.1])
    top, mode = dist.top(), dist.mode()
    np.testing.assert_allclose(top, [0.0])
    assert abs(mode[0] - 5.0) < 0.01
    assert dist.log_prob(mode)[0] > dist.log_prob(top)[0] + 2.0


# ---------------------------------------------------------------------------
# Transformations
# ---------------------------------------------------------------------------
def test_marginal_matches_scipy_marginal():
    dist = random_mixture(18, n=5, K=3, d=3)
    y = np.random.RandomState(0).normal(0, 2, size=(5, 3))
    covs = dist.covariances
    for j in (0, 2, -1):
        marginal = dist.marginal(j)
        assert marginal.event_shape == ()
        jj = j % 3
        expected = np.empty(5)
        for i in range(5):
            expected[i] = logsumexp(
                [
                    np.log(dist.weights[i, k])
                    + stats.multivariate_normal(
                        dist.means[i, k, [jj]], covs[i, k][np.ix_([jj], [jj])]
                    ).logpdf(y[i, jj])
                    for k in range(3)
                ]
            )
        np.testing.assert_allclose(marginal.log_prob(y[:, jj]), expected, rtol=1e-12)
        np.testing.assert_allclose(marginal.cdf(y[:, jj]), dist.cdf(y)[:, jj])
        np.testing.assert_allclose(marginal.mean(), dist.mean()[:, jj])
        np.testing.assert_allclose(marginal.var(), dist.var()[:, jj])


def test_marginal_rejects_bad_index():
    dist = random_mixture(0, d=2)
    with pytest.raises(IndexError, match="out of range"):
        dist.marginal(2)
    with pytest.raises(IndexError, match="out of range"):
        dist.marginal(-3)
    with pytest.raises(ValueError, match="integer"):
        dist.marginal(1.0)


@pytest.mark.parametrize("d, event_shape", CONFIGS)
def test_affine(d, event_shape):
    dist = random_mixture(19, n=5, K=3, d=d, event_shape=event_shape)
    loc = np.linspace(-2.0, 3.0, d)
    scale = np.linspace(0.5, 4.0, d)
    moved = dist.affine(loc, scale)
    assert moved.event_shape == dist.event_shape
    x = np.random.RandomState(0).normal(0, 2, size=(5, d))
    shape = (5, *dist.event_shape)
    np.testing.assert_allclose(
        moved.log_prob((loc + scale * x).reshape(shape)),
        dist.log_prob(x.reshape(shape)) - np.log(scale).sum(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        moved.mean().reshape(5, d), loc + scale * dist.mean().reshape(5, d)
    )
    np.testing.assert_allclose(
        moved.covariance(), dist.covariance() * np.outer(scale, scale), rtol=1e-12
    )
    q = [0.1, 0.5, 0.9]
    np.testing.assert_allclose(
        moved.ppf(q).reshape(5, d, 3),
        loc[:, None] + scale[:, None] * dist.ppf(q).reshape(5, d, 3),
        rtol=1e-10,
        atol=1e-10,
    )


def test_affine_scalar_arguments():
    dist = random_mixture(20, n=3, K=2, d=2)
    np.testing.assert_allclose(dist.affine(1.0, 2.0).mean(), 1.0 + 2.0 * dist.mean())


@pytest.mark.parametrize(
    "loc, scale, match",
    [
        (0.0, 0.0, "scale must be finite and strictly positive"),
        (0.0, [1.0, -1.0], "scale must be finite and strictly positive"),
        (0.0, np.inf, "scale must be finite and strictly positive"),
        (np.nan, 1.0, "loc must be finite"),
        ([0.0, 0.0, 0.0], 1.0, r"broadcastable to shape \(2,\)"),
    ],
)
def test_affine_errors(loc, scale, match):
    with pytest.raises(ValueError, match=match):
        random_mixture(0, d=2).affine(loc, scale)


def test_indexing():
    dist = random_mixture(21, n=6, K=3, d=2)
    one = dist[2]
    assert len(one) == 1 and one.event_shape == (2,)
    np.testing.assert_array_equal(one.means, dist.means[2:3])
    np.testing.assert_array_equal(dist[-1].weights, dist.weights[-1:])
    np.testing.assert_array_equal(dist[1:4].scale_tril, dist.scale_tril[1:4])
    mask = np.array([True, False, True, False, False, True])
    np.testing.assert_array_equal(dist[mask].means, dist.means[mask])
    np.testing.assert_array_equal(dist[[5, 0]].weights, dist.weights[[5, 0]])
    y = np.zeros((6, 2))
    np.testing.assert_allclose(dist[mask].log_prob(y[mask]), dist.log_prob(y)[mask])
    uni = random_mixture(21, n=6)
    assert uni[0].event_shape == () and uni[0].ppf(0.5).shape == (1,)
    with pytest.raises(IndexError, match="out of range"):
        dist[6]
    with pytest.raises(IndexError, match="rows must be selected"):
        dist[np.zeros((2, 2), dtype=int)]
    with pytest.raises(IndexError, match="rows must be selected"):
        dist[0.5]


def test_concatenate_round_trip():
    dist = random_mixture(22, n=7, K=3, d=2)
    joined = NormalMixture.concatenate([dist[:3], dist[3:5], dist[5:]])
    assert repr(joined) == repr(dist)
    np.testing.assert_array_equal(joined.weights, dist.weights)
    np.testing.assert_array_equal(joined.means, dist.means)
    np.testing.assert_array_equal(joined.scale_tril, dist.scale_tril)
    with pytest.raises(ValueError, match="same"):
        NormalMixture.concatenate([dist, random_mixture(0, K=2, d=2)])
    with pytest.raises(ValueError, match="same"):
        NormalMixture.concatenate(
            [random_mixture(0, d=1), random_mixture(0, d=1, event_shape=(1,))]
        )
    with pytest.raises(ValueError, match="at least one"):
        NormalMixture.concatenate([])


@pytest.mark.parametrize("d, event_shape", CONFIGS)
def test_output_shapes(d, event_shape):
    n = 4
    dist = random_mixture(23, n=n, K=3, d=d, event_shape=event_shape)
    ev = dist.event_shape
    y = np.zeros((n, *ev))
    assert dist.log_prob(y).shape == (n,)
    assert dist.cdf(y).shape == (n, *ev)
    for method in (dist.mean, dist.var, dist.std, dist.top, dist.mode):
        assert method().shape == (n, *ev)
    assert dist.covariance().shape == (n, d, d)
    if ev:
        assert dist.ppf(0.5).shape == (n, d)
        assert dist.ppf([0.1, 0.5, 0.9]).shape == (n, d, 3)
        assert dist.interval().shape == (n, d, 2)
        assert dist.sample(7, random_state=0).shape == (n, 7, d)
    else:
        assert dist.ppf(0.5).shape == (n,)
        assert dist.ppf([0.1, 0.5, 0.9]).shape == (n, 3)
        assert dist.interval().shape == (n, 2)
        assert dist.sample(7, random_state=0).shape == (n, 7)


def test_chunked_solvers_match(monkeypatch):
    dist = random_mixture(25, n=9, K=3, d=2)
    q = [1e-6, 0.3, 0.8]
    ppf, mode = dist.ppf(q), dist.mode()
    monkeypatch.setattr(_modes, "_SOLVER_CHUNK_ELEMENTS", 7)
    np.testing.assert_array_equal(dist.ppf(q), ppf)
    np.testing.assert_allclose(dist.mode(), mode, rtol=1e-9, atol=1e-9)


def test_empty_selection():
    assert len(random_mixture(24, n=5)[[]]) == 0
    empty = random_mixture(24, n=5, d=2)[np.zeros(5, dtype=bool)]
    assert len(empty) == 0
    assert empty.ppf([0.1, 0.9]).shape == (0, 2, 2)
    assert empty.mode().shape == (0, 2)
    assert empty.sample(3, random_state=0).shape == (0, 3, 2)


# ---------------------------------------------------------------------------
# Property-based tests
# ---------------------------------------------------------------------------
@st.composite
def mixtures(draw, max_targets=3):
    n = draw(st.integers(1, 4))
    K = draw(st.integers(1, 4))
    d = draw(st.integers(1, max_targets))
    raw = draw(hnp.arrays(np.float64, (n, K), elements=st.floats(0.0, 1.0)))
    raw[:, 0] += 0.01  # every row has a positive weight
    weights = raw / raw.sum(axis=1, keepdims=True)
    means = draw(hnp.arrays(np.float64, (n, K, d), elements=st.floats(-20.0, 20.0)))
    scales = draw(hnp.arrays(np.float64, (n, K, d), elements=st.floats(0.05, 5.0)))
    off = draw(hnp.arrays(np.float64, (n, K, d, d), elements=st.floats(-0.5, 0.5)))
    # diag(s) @ (I + strictly lower part): well conditioned for d <= 3.
    scale_tril = scales[..., None] * (np.eye(d) + np.tril(off, -1))
    return NormalMixture(weights, means, scale_tril)


QUICK = settings(max_examples=30, deadline=None)


@QUICK
@given(mixtures(), st.floats(1e-8, 1 - 1e-8))
def test_property_cdf_ppf_inverse(dist, q):
    x = dist.ppf(q)
    for j in range(dist.n_targets):
        marginal = dist.marginal(j)
        xj = x if not dist.event_shape else x[:, j]
        if q <= 0.5:
            np.testing.assert_allclose(marginal.cdf(xj), q, rtol=1e-9)
        else:
            np.testing.assert_allclose(reference_sf(marginal, xj), 1 - q, rtol=1e-9)


@QUICK
@given(mixtures(), st.floats(-100.0, 100.0))
def test_property_log_prob_finite(dist, shift):
    y = dist.means[:, 0] + shift
    lp = dist.log_prob(y.reshape(len(dist), *dist.event_shape))
    assert np.all(np.isfinite(lp))


@QUICK
@given(mixtures(max_targets=1))
def test_property_mean_in_convex_hull(dist):
    mu = dist.means[..., 0]
    positive = dist.weights > 0
    lo = np.where(positive, mu, np.inf).min(axis=1)
    hi = np.where(positive, mu, -np.inf).max(axis=1)
    mean = dist.mean()
    slack = 1e-12 * (1 + np.abs(mu).max(axis=1))
    assert np.all((lo - slack <= mean) & (mean <= hi + slack))


@QUICK
@given(mixtures())
def test_property_mode_beats_component_means(dist):
    shape = (len(dist), *dist.event_shape)
    lp_mode = dist.log_prob(dist.mode())
    for k in range(dist.n_components):
        lp_mean = dist.log_prob(dist.means[:, k].reshape(shape))
        assert np.all(lp_mode >= lp_mean - 1e-9 * (1 + np.abs(lp_mean)))
