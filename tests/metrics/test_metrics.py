"""Tests of sklearn_mdn.metrics against independent references."""

import numpy as np
import pytest
import sklearn
from scipy import integrate, stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mdn import MDNRegressor, NormalMixture
from sklearn_mdn.metrics import (
    crps,
    gaussian_mixture_crps,
    interval_coverage,
    make_dist_scorer,
    mean_interval_width,
    mean_negative_log_likelihood,
    neg_crps_scorer,
    neg_nll_scorer,
    pit,
)

# Monte-Carlo comparisons must agree within this many standard errors.
MC_SIGMAS = 4.0


def random_mixture(rng, n, K, d, event_shape=None):
    """A NormalMixture with random weights, spread-out means, full covariances."""
    weights = rng.dirichlet(np.ones(K), size=n)
    means = rng.normal(scale=3.0, size=(n, K, d))
    L = np.tril(rng.normal(scale=0.5, size=(n, K, d, d)), k=-1)
    diag = np.exp(rng.normal(scale=0.5, size=(n, K, d)))
    L = L + diag[..., None] * np.eye(d)
    return NormalMixture(weights, means, L, event_shape=event_shape)


def marginal_params(dist):
    """Per-target weights, means, standard deviations: (n, d, K) each."""
    cov = dist.scale_tril @ np.swapaxes(dist.scale_tril, -1, -2)
    scales = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))  # (n, K, d)
    w = np.repeat(dist.weights[:, None, :], dist.n_targets, axis=1)
    return w, np.swapaxes(dist.means, 1, 2), np.swapaxes(scales, 1, 2)


def draw(rng, dist, size):
    """Joint draws from each row's mixture, shape (n, size, d), numpy only."""
    n, K, d = dist.means.shape
    u = rng.random_sample((n, size))
    cum = np.cumsum(dist.weights, axis=1)[:, None, :-1]
    comp = (u[..., None] >= cum).sum(axis=-1)
    rows = np.arange(n)[:, None]
    z = rng.standard_normal((n, size, d))
    L = dist.scale_tril[rows, comp]  # (n, size, d, d)
    return dist.means[rows, comp] + (L @ z[..., None])[..., 0]


def crps_single_gaussian(y, mu, sigma):
    """Gneiting et al. (2005): sigma (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))."""
    z = (y - mu) / sigma
    return sigma * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )


# ----------------------------------------------------------------------
# CRPS
# ----------------------------------------------------------------------
def test_crps_single_gaussian_closed_form():
    rng = np.random.RandomState(0)
    y = rng.normal(scale=5.0, size=50)
    mu = rng.normal(size=50)
    sigma = np.exp(rng.normal(size=50))
    got = gaussian_mixture_crps(y, np.ones((50, 1)), mu[:, None], sigma[:, None])
    np.testing.assert_allclose(got, crps_single_gaussian(y, mu, sigma), rtol=1e-12)


def test_crps_identical_components_is_single_gaussian():
    # Splitting a Gaussian into identical components must not change the score:
    # this exercises the component-pair term with unequal weights.
    rng = np.random.RandomState(1)
    y = rng.normal(size=20)
    weights = rng.dirichlet(np.ones(4), size=20)
    mu = np.full((20, 4), 0.3)
    got = gaussian_mixture_crps(y, weights, mu, np.full((20, 4), 1.7))
    np.testing.assert_allclose(got, crps_single_gaussian(y, 0.3, 1.7), rtol=1e-12)


def test_crps_equals_integral_of_squared_cdf_difference():
    rng = np.random.RandomState(2)
    dist = random_mixture(rng, 6, 4, 1)
    w, mu, s = (a[:, 0] for a in marginal_params(dist))
    # Values at the bulk, between modes and far in the tails.
    y = np.array([0.0, 1.3, -2.5, 12.0, -15.0, 4.4])
    got = crps(y, dist, multioutput="raw_values")
    per_row = gaussian_mixture_crps(y, w, mu, s)
    np.testing.assert_allclose(got, [per_row.mean()], rtol=1e-14)
    for i in range(len(y)):

        def cdf(x, i=i):
            return float(np.dot(w[i], stats.norm.cdf(x, mu[i], s[i])))

        lo = min(y[i], (mu[i] - 15 * s[i]).min())
        hi = max(y[i], (mu[i] + 15 * s[i]).max())
        pts = np.clip(mu[i], lo, hi)
        below = integrate.quad(
            lambda x: cdf(x) ** 2, lo, y[i], points=pts, limit=500, epsabs=1e-13
        )[0]
        above = integrate.quad(
            lambda x: (1 - cdf(x)) ** 2, y[i], hi, points=pts, limit=500, epsabs=1e-13
        )[0]
        np.testing.assert_allclose(per_row[i], below + above, rtol=1e-9, atol=1e-12)


def test_crps_matches_monte_carlo():
    # CRPS = E|Y - y| - E|Y - Y'| / 2: the mean of g = |Y - y| - |Y - Y'| / 2 over
    # independent pairs (Y, Y') is unbiased, with standard error std(g) / sqrt(N).
    rng = np.random.RandomState(3)
    n, N = 8, 200_000
    dist = random_mixture(rng, n, 3, 1)
    y = dist.mean() + dist.std() * rng.normal(size=n)
    draws = draw(rng, dist, 2 * N)[..., 0]
    Y, Y2 = draws[:, :N], draws[:, N:]
    g = np.abs(Y - y[:, None]) - 0.5 * np.abs(Y - Y2)
    estimate = g.mean(axis=1)
    stderr = g.std(axis=1, ddof=1) / np.sqrt(N)
    w, mu, s = (a[:, 0] for a in marginal_params(dist))
    exact = gaussian_mixture_crps(y, w, mu, s)
    z = (exact - estimate) / stderr
    print(f"CRPS closed form vs Monte Carlo: max |z| = {np.abs(z).max():.2f}")
    assert np.all(np.abs(z) <= MC_SIGMAS), z


def test_crps_multioutput_uses_marginals_and_weights():
    rng = np.random.RandomState(4)
    dist = random_mixture(rng, 30, 3, 2)
    y = dist.mean() + rng.normal(size=(30, 2))
    w, mu, s = marginal_params(dist)
    per_value = np.stack(
        [gaussian_mixture_crps(y[:, j], w[:, j], mu[:, j], s[:, j]) for j in (0, 1)],
        axis=1,
    )
    sw = rng.uniform(0.1, 2.0, size=30)
    raw = crps(y, dist, multioutput="raw_values", sample_weight=sw)
    np.testing.assert_allclose(raw, np.average(per_value, axis=0, weights=sw))
    assert crps(y, dist, sample_weight=sw) == pytest.approx(raw.mean())
    weighted = crps(y, dist, sample_weight=sw, multioutput=[0.25, 0.75])
    assert weighted == pytest.approx(0.25 * raw[0] + 0.75 * raw[1])
    # Each target is scored under its marginal distribution.
    for j in (0, 1):
        marginal = crps(y[:, j], dist.marginal(j), sample_weight=sw)
        assert marginal == pytest.approx(raw[j], rel=1e-12)


def test_crps_large_batch_is_chunked_consistently():
    rng = np.random.RandomState(5)
    dist = random_mixture(rng, 3000, 30, 1)  # 3000 * 900 > one chunk
    y = rng.normal(size=3000)
    w, mu, s = (a[:, 0] for a in marginal_params(dist))
    whole = gaussian_mixture_crps(y, w, mu, s)
    parts = np.concatenate(
        [
            gaussian_mixture_crps(
                y[i : i + 7], w[i : i + 7], mu[i : i + 7], s[i : i + 7]
            )
            for i in range(0, 3000, 7)
        ]
    )
    np.testing.assert_allclose(whole, parts, rtol=1e-14)
    assert np.all(whole > 0)


def test_crps_missing_targets():
    rng = np.random.RandomState(6)
    dist = random_mixture(rng, 40, 2, 3)
    y = dist.mean() + rng.normal(size=(40, 3))
    y[rng.random_sample((40, 3)) < 0.3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        crps(y, dist)
    got = crps(y, dist, missing_targets="marginalize", multioutput="raw_values")
    for j in range(3):
        keep = ~np.isnan(y[:, j])
        expected = crps(y[keep, j], dist[keep].marginal(j))
        assert got[j] == pytest.approx(expected, rel=1e-12)


def test_gaussian_mixture_crps_validates():
    with pytest.raises(ValueError, match="sum to 1"):
        gaussian_mixture_crps(0.0, [0.5, 0.6], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="scales"):
        gaussian_mixture_crps(0.0, [1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_mixture_crps(np.zeros(3), np.ones((2, 1)), [0.0], [1.0])
    assert np.isnan(gaussian_mixture_crps(np.nan, [1.0], [0.0], [1.0]))


# ----------------------------------------------------------------------
# Negative log-likelihood
# ----------------------------------------------------------------------
def scipy_log_prob(dist, y, cols=None):
    """Mixture log density from scipy's multivariate_normal, row by row."""
    cov = dist.scale_tril @ np.swapaxes(dist.scale_tril, -1, -2)
    y2 = np.asarray(y).reshape(len(dist), -1)
    out = []
    for i in range(len(dist)):
        c = np.arange(dist.n_targets) if cols is None else cols[i]
        dens = sum(
            dist.weights[i, k]
            * stats.multivariate_normal(
                dist.means[i, k, c], cov[i, k][np.ix_(c, c)]
            ).pdf(y2[i, c])
            for k in range(dist.n_components)
        )
        out.append(np.log(dens))
    return np.array(out)


@pytest.mark.parametrize("d", [1, 3])
def test_nll_equals_mean_negative_log_prob(d):
    rng = np.random.RandomState(7)
    dist = random_mixture(rng, 25, 3, d)
    y = draw(rng, dist, 1)[:, 0]
    y = y[:, 0] if d == 1 else y
    sw = rng.uniform(0, 2, size=25)
    reference = scipy_log_prob(dist, y)
    assert mean_negative_log_likelihood(y, dist) == pytest.approx(
        -reference.mean(), rel=1e-10
    )
    assert mean_negative_log_likelihood(y, dist) == pytest.approx(
        -dist.log_prob(y).mean(), rel=1e-13
    )
    assert mean_negative_log_likelihood(y, dist, sample_weight=sw) == pytest.approx(
        -np.average(reference, weights=sw), rel=1e-10
    )


def test_nll_marginalizes_missing_targets_exactly():
    rng = np.random.RandomState(8)
    dist = random_mixture(rng, 30, 3, 3)
    y = draw(rng, dist, 1)[:, 0]
    mask = rng.random_sample(y.shape) < 0.35
    mask[0] = True  # one row with every target missing: left out
    mask[1] = False
    y[mask] = np.nan
    with pytest.raises(ValueError, match="missing_targets"):
        mean_negative_log_likelihood(y, dist)
    sw = rng.uniform(0.5, 2, size=30)
    got = mean_negative_log_likelihood(
        y, dist, sample_weight=sw, missing_targets="marginalize"
    )
    rows = np.flatnonzero(~mask.all(axis=1))
    cols = [np.flatnonzero(~mask[i]) for i in rows]
    reference = scipy_log_prob(dist[rows], y[rows], cols)
    assert got == pytest.approx(-np.average(reference, weights=sw[rows]), rel=1e-10)


# ----------------------------------------------------------------------
# PIT, coverage, width
# ----------------------------------------------------------------------
def test_pit_is_uniform_for_draws_from_the_distribution():
    rng = np.random.RandomState(9)
    dist = random_mixture(rng, 2000, 4, 1)
    y = draw(rng, dist, 1)[:, 0, 0]
    values = pit(y, dist)
    assert values.shape == (2000,)
    assert stats.kstest(values, "uniform").pvalue > 1e-3
    # Values from a different distribution are not uniform.
    assert stats.kstest(pit(y + 1.0, dist), "uniform").pvalue < 1e-3


def test_pit_multioutput_marginals_and_missing():
    rng = np.random.RandomState(10)
    dist = random_mixture(rng, 2000, 3, 2)
    y = draw(rng, dist, 1)[:, 0]
    values = pit(y, dist)
    assert values.shape == (2000, 2)
    for j in (0, 1):
        assert stats.kstest(values[:, j], "uniform").pvalue > 1e-3
        w, mu, s = (a[:5, j] for a in marginal_params(dist))
        expected = (w * stats.norm.cdf(y[:5, j, None], mu, s)).sum(axis=1)
        np.testing.assert_allclose(values[:5, j], expected, rtol=1e-12)
    y[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pit(y, dist)
    masked = pit(y, dist, missing_targets="marginalize")
    assert np.isnan(masked[3, 1]) and np.isnan(masked).sum() == 1
    np.testing.assert_array_equal(masked[:, 0], values[:, 0])


def test_interval_coverage_and_width():
    rng = np.random.RandomState(11)
    y = rng.normal(size=(200, 2))
    lower = rng.normal(size=(200, 2)) - 1
    upper = lower + rng.uniform(0, 3, size=(200, 2))
    interval = np.stack([lower, upper], axis=-1)
    sw = rng.uniform(0, 1, size=200)
    inside = (lower <= y) & (y <= upper)
    raw = interval_coverage(y, interval, sample_weight=sw, multioutput="raw_values")
    np.testing.assert_allclose(raw, np.average(inside, axis=0, weights=sw))
    assert interval_coverage(y, interval) == pytest.approx(inside.mean())
    assert interval_coverage(y[:, 0], interval[:, 0]) == pytest.approx(
        inside[:, 0].mean()
    )
    # One target: y of shape (n,) or (n, 1) with intervals (n, 2) or (n, 1, 2).
    expected = inside[:, 0].mean()
    for y0 in (y[:, :1], y[:, 0]):
        for iv in (interval[:, 0], interval[:, :1]):
            assert interval_coverage(y0, iv) == pytest.approx(expected)
    with pytest.raises(ValueError, match="must have shape"):
        interval_coverage(y, interval[:, 0])
    # Bounds count as inside.
    assert interval_coverage([1.0, 2.0], [[1.0, 2.0], [0.0, 2.0]]) == 1.0
    width = mean_interval_width(interval, sample_weight=sw, multioutput="raw_values")
    np.testing.assert_allclose(width, np.average(upper - lower, axis=0, weights=sw))
    assert mean_interval_width(interval[:, 1]) == pytest.approx(
        (upper - lower)[:, 1].mean()
    )


def test_interval_coverage_of_exact_quantiles():
    # Targets drawn from the distribution fall in its 80% intervals 80% of the
    # time: binomial standard error sqrt(0.8 * 0.2 / 4000) = 0.0063.
    rng = np.random.RandomState(12)
    dist = random_mixture(rng, 4000, 3, 1)
    y = draw(rng, dist, 1)[:, 0, 0]
    coverage = interval_coverage(y, dist.interval(0.8))
    assert abs(coverage - 0.8) <= MC_SIGMAS * np.sqrt(0.8 * 0.2 / 4000)


# ----------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------
def test_metrics_validate_inputs():
    rng = np.random.RandomState(13)
    dist1 = random_mixture(rng, 5, 2, 1)
    dist2 = random_mixture(rng, 5, 2, 2)
    y = np.zeros(5)
    with pytest.raises(ValueError, match=r"expected shape \(5,\)"):
        crps(np.zeros(4), dist1)
    with pytest.raises(ValueError, match=r"expected shape \(5, 2\)"):
        mean_negative_log_likelihood(y, dist2)
    with pytest.raises(TypeError, match="NormalMixture"):
        pit(y, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="infinite"):
        crps(np.full(5, np.inf), dist1)
    with pytest.raises(ValueError, match="missing_targets"):
        crps(y, dist1, missing_targets="drop")
    with pytest.raises(ValueError, match="multioutput"):
        crps(np.zeros((5, 2)), dist2, multioutput="mean")
    with pytest.raises(ValueError, match="one weight per target"):
        crps(np.zeros((5, 2)), dist2, multioutput=[1.0])
    with pytest.raises(ValueError, match="[Nn]egative"):
        crps(y, dist1, sample_weight=-np.ones(5))
    with pytest.raises(ValueError, match="non-zero|positive sum"):
        crps(y, dist1, sample_weight=np.zeros(5))
    with pytest.raises(ValueError, match="lower bound above"):
        interval_coverage([0.0], [[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"\(\*y_true.shape, 2\)"):
        interval_coverage(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="interval must have shape"):
        mean_interval_width(np.zeros((5, 3)))
    # A single target may come as (n,) or (n, 1) for either event shape.
    single = NormalMixture(
        dist1.weights, dist1.means, dist1.scale_tril, event_shape=(1,)
    )
    assert crps(y, single) == pytest.approx(crps(y[:, None], dist1), rel=1e-14)
    assert crps(y, single) == pytest.approx(crps(y, dist1), rel=1e-14)


# ----------------------------------------------------------------------
# Scorers
# ----------------------------------------------------------------------
class FixedDistRegressor(RegressorMixin, BaseEstimator):
    """Predicts the rows of a fixed NormalMixture selected by X[:, 0]."""

    def __init__(self, dist=None, missing_targets="error"):
        self.dist = dist
        self.missing_targets = missing_targets

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_dist(self, X):
        return self.dist[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X):
        return self.predict_dist(X).mean()


def test_scorers_are_minus_the_metrics():
    rng = np.random.RandomState(14)
    dist = random_mixture(rng, 50, 3, 1)
    X = np.arange(50)[:, None]
    y = draw(rng, dist, 1)[:, 0, 0]
    sw = rng.uniform(0, 1, size=50)
    est = FixedDistRegressor(dist).fit(X, y)
    nll = mean_negative_log_likelihood(y, dist)
    assert neg_nll_scorer(est, X, y) == pytest.approx(-nll, rel=1e-14)
    assert neg_crps_scorer(est, X, y) == pytest.approx(-crps(y, dist), rel=1e-14)
    assert neg_crps_scorer(est, X, y) < 0
    assert neg_nll_scorer(est, X, y, sample_weight=sw) == pytest.approx(
        -mean_negative_log_likelihood(y, dist, sample_weight=sw), rel=1e-14
    )
    # Through a Pipeline: X is transformed by the first steps.
    pipe = make_pipeline(StandardScaler(with_std=False), est)
    pipe.fit(X + 7.0, y)
    assert neg_nll_scorer(pipe, X + 7.0 + 24.5, y) == pytest.approx(-nll)
    # A larger noise gives a worse (smaller) score.
    assert neg_crps_scorer(est, X, y + 5.0) < neg_crps_scorer(est, X, y)
    assert "greater_is_better=False" in repr(neg_nll_scorer)


def test_scorer_unwraps_searches_and_scores_nll_through_target_transforms():
    from sklearn.compose import TransformedTargetRegressor

    rng = np.random.RandomState(16)
    dist = random_mixture(rng, 30, 2, 1)
    X = np.arange(30)[:, None]
    y = draw(rng, dist, 1)[:, 0, 0]
    search = GridSearchCV(
        FixedDistRegressor(dist), {"missing_targets": ["error"]}, cv=2
    ).fit(X, y)
    expected = -mean_negative_log_likelihood(y, dist)
    assert neg_nll_scorer(search, X, y) == pytest.approx(expected, rel=1e-14)
    # The mixture is the density of z = exp(y): that of y is p(exp(y)) exp(y).
    ttr = TransformedTargetRegressor(
        FixedDistRegressor(dist), func=np.exp, inverse_func=np.log
    ).fit(X, y)
    z = np.exp(y)
    sw = rng.uniform(0.5, 1.0, size=30)
    for weight in (None, sw):
        expected = np.average(dist.log_prob(z) + y, weights=weight)
        assert neg_nll_scorer(ttr, X, y, sample_weight=weight) == pytest.approx(
            expected, rel=1e-8
        )
    with pytest.raises(TypeError, match="crps cannot score a TransformedTarget"):
        neg_crps_scorer(ttr, X, y)


@pytest.mark.parametrize("kind", ["scaler", "linear map"])
def test_nll_through_a_transform_of_several_targets(kind):
    # StandardScaler: log |det dz/dy| = -sum(log scale). A linear map that
    # mixes the targets, z = y A^T: log |det A|, from the full Jacobian.
    from sklearn.compose import TransformedTargetRegressor

    rng = np.random.RandomState(17)
    dist = random_mixture(rng, 40, 2, 2)
    X = np.arange(40)[:, None]
    z_fixed = draw(rng, dist, 1)[:, 0]
    A = np.array([[2.0, 0.5], [-1.0, 3.0]])
    if kind == "scaler":
        y = 5.0 + 0.1 * z_fixed
        ttr = TransformedTargetRegressor(
            FixedDistRegressor(dist), transformer=StandardScaler()
        ).fit(X, y)
        z = ttr.transformer_.transform(y)
        log_det = -np.log(ttr.transformer_.scale_).sum()
    else:
        y = z_fixed @ np.linalg.inv(A).T
        ttr = TransformedTargetRegressor(
            FixedDistRegressor(dist),
            func=lambda y: y @ A.T,
            inverse_func=lambda z: z @ np.linalg.inv(A).T,
        ).fit(X, y)
        z = y @ A.T
        log_det = np.log(abs(np.linalg.det(A)))
    expected = np.mean(dist.log_prob(z)) + log_det
    assert neg_nll_scorer(ttr, X, y) == pytest.approx(expected, rel=1e-8)


def test_nll_through_a_transform_where_it_is_not_defined():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import QuantileTransformer

    rng = np.random.RandomState(18)
    dist = random_mixture(rng, 20, 2, 1)
    X = np.arange(20)[:, None]
    y = np.exp(draw(rng, dist, 1)[:, 0, 0])
    ttr = TransformedTargetRegressor(
        FixedDistRegressor(dist), func=np.log, inverse_func=np.exp
    ).fit(X, y)
    bad = y.copy()
    bad[3] = -1.0
    with pytest.raises(ValueError, match="not defined at 1 of 20 targets"):
        neg_nll_scorer(ttr, X, bad)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="Missing .NaN. targets"):
        neg_nll_scorer(ttr, X, bad)
    # A QuantileTransformer is flat beyond the targets it was fitted on.
    quantile = TransformedTargetRegressor(
        FixedDistRegressor(dist),
        transformer=QuantileTransformer(n_quantiles=20, output_distribution="normal"),
    ).fit(X, y)
    with pytest.raises(ValueError, match="flat or not differentiable at 1 of 20"):
        neg_nll_scorer(quantile, X, np.where(np.arange(20) == 5, y.max() + 1, y))


def test_scorer_errors_and_missing_targets():
    rng = np.random.RandomState(15)
    dist = random_mixture(rng, 20, 2, 2)
    X = np.arange(20)[:, None]
    y = draw(rng, dist, 1)[:, 0]
    y[2, 0] = np.nan
    with pytest.raises(TypeError, match="predict_dist"):
        neg_nll_scorer(StandardScaler().fit(X), X, y)
    with pytest.raises(ValueError, match="NaN"):
        neg_nll_scorer(FixedDistRegressor(dist).fit(X, y), X, y)
    est = FixedDistRegressor(dist, missing_targets="marginalize").fit(X, y)
    assert neg_crps_scorer(est, X, y) == pytest.approx(
        -crps(y, dist, missing_targets="marginalize")
    )
    raw = make_dist_scorer(crps, multioutput="raw_values")
    with pytest.raises(ValueError, match="single number"):
        raw(est, X, y)
    weighted = make_dist_scorer(crps, multioutput=[1.0, 0.0], missing_targets="error")
    with pytest.raises(ValueError, match="NaN"):
        weighted(est, X, y)


def test_scorer_receives_sample_weight_through_metadata_routing():
    rng = np.random.RandomState(18)
    dist = random_mixture(rng, 40, 2, 1)
    X = np.arange(40)[:, None]
    y = draw(rng, dist, 1)[:, 0, 0]
    sw = rng.uniform(0, 1, size=40)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_dist_scorer(mean_negative_log_likelihood)
        scorer.set_score_request(sample_weight=True)
        result = cross_validate(
            FixedDistRegressor(dist),
            X,
            y,
            cv=2,
            scoring={"nll": scorer},
            params={"sample_weight": sw},
            return_indices=True,
        )
    for fold in range(2):
        test = result["indices"]["test"][fold]
        expected = -mean_negative_log_likelihood(
            y[test], dist[test], sample_weight=sw[test]
        )
        assert result["test_nll"][fold] == pytest.approx(expected, rel=1e-14)
        unweighted = -mean_negative_log_likelihood(y[test], dist[test])
        assert result["test_nll"][fold] != pytest.approx(unweighted, rel=1e-6)


def bimodal_data(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 1))
    y = 2.0 * rng.choice([-1.0, 1.0], size=n) + 0.5 * X[:, 0]
    return X, y + 0.2 * rng.normal(size=n)


def small_mdn(**params):
    return MDNRegressor(
        hidden_layer_sizes=(16,),
        max_iter=30,
        batch_size=50,
        learning_rate_init=1e-2,
        early_stopping=False,
        random_state=0,
    ).set_params(**params)


def test_grid_search_by_nll_selects_the_bimodal_mixture():
    # One Gaussian cannot fit the two branches (NLL about 2.1 nats against
    # about 0.6 for three components).
    X, y = bimodal_data(200, seed=16)
    search = GridSearchCV(
        small_mdn(), {"n_components": [1, 3]}, scoring=neg_nll_scorer, cv=2, refit=False
    ).fit(X, y)
    assert search.best_params_ == {"n_components": 3}
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.5


def test_cross_validate_with_a_dict_of_scorers_on_a_pipeline():
    X, y = bimodal_data(200, seed=17)
    pipe = make_pipeline(StandardScaler(), small_mdn(n_components=3))
    result = cross_validate(
        pipe,
        X,
        y,
        cv=2,
        scoring={"nll": neg_nll_scorer, "crps": neg_crps_scorer},
        return_estimator=True,
        return_indices=True,
    )
    for fold, fitted in enumerate(result["estimator"]):
        test = result["indices"]["test"][fold]
        dist = fitted[-1].predict_dist(fitted[:-1].transform(X[test]))
        assert result["test_nll"][fold] == pytest.approx(
            -mean_negative_log_likelihood(y[test], dist)
        )
        assert result["test_crps"][fold] == pytest.approx(-crps(y[test], dist))
    assert np.all(result["test_crps"] < 0)
