"""Spread calibration on the rows held out for early stopping."""

import numpy as np
import pytest
import torch
from _helpers import sine_data
from numpy.testing import assert_allclose

from sklearn_mdn import MDNRegressor, NormalMixture
from sklearn_mdn._estimators._calibration import SPREAD_BOUNDS, fit_spread_factor


def _mixture_and_draws(n, d, true_factor, seed=0):
    """Predicted mixtures and targets drawn with every scale times a factor."""
    rng = np.random.RandomState(seed)
    weights = rng.dirichlet(np.ones(3), size=n)
    means = rng.normal(scale=4.0, size=(n, 3, d))
    A = rng.normal(size=(n, 3, d, d))
    cov = A @ np.swapaxes(A, -1, -2) + np.eye(d)
    dist = NormalMixture(weights, means, np.linalg.cholesky(cov))
    truth = NormalMixture(weights, means, true_factor * np.linalg.cholesky(cov))
    return dist, truth.sample(random_state=rng)[:, 0]


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("true_factor", [0.5, 1.0, 2.5])
def test_recovers_known_factor(d, true_factor):
    """With 4000 rows the fitted factor is within 5% of the one drawn from."""
    dist, y = _mixture_and_draws(4000, d, true_factor)
    factor = fit_spread_factor(dist, y)
    assert factor == pytest.approx(true_factor, rel=0.05)

    # And it minimises the mean negative log-likelihood.
    def nll(s):
        scaled = NormalMixture(dist.weights, dist.means, s * dist.scale_tril)
        return -scaled.log_prob(y).mean()

    assert nll(factor) <= min(nll(factor * 0.98), nll(factor * 1.02))


def test_missing_rows_and_weights():
    dist, y = _mixture_and_draws(500, 2, 1.7, seed=1)
    expected = fit_spread_factor(dist, y)
    # Rows with one or every target missing are left out.
    y_missing = np.vstack([y, np.full((100, 2), np.nan)])
    y_missing[:100, 1] = np.nan
    padded = NormalMixture.concatenate([dist, dist[:100]])
    assert fit_spread_factor(padded, y_missing) == pytest.approx(
        fit_spread_factor(dist[100:], y[100:]), rel=1e-6
    )
    # Integer weights act as repeated rows; zero weights drop rows.
    w = np.r_[np.full(250, 2.0), np.zeros(250)]
    repeated = NormalMixture.concatenate([dist[:250], dist[:250]])
    assert fit_spread_factor(dist, y, w) == pytest.approx(
        fit_spread_factor(repeated, np.vstack([y[:250], y[:250]])), rel=1e-6
    )
    assert fit_spread_factor(dist, y) == expected


def test_no_usable_rows_and_bounds():
    dist, y = _mixture_and_draws(50, 1, 1.0)
    assert fit_spread_factor(dist, np.full_like(y, np.nan)) == 1.0
    assert fit_spread_factor(dist, y, np.zeros(50)) == 1.0
    # A factor beyond the searched range stops at its bound.
    dist, y = _mixture_and_draws(500, 1, 40.0)
    assert fit_spread_factor(dist, y) == pytest.approx(SPREAD_BOUNDS[1], rel=1e-3)


# One network: with several, each has its own factor (tests/test_networks.py).
FAST = {
    "hidden_layer_sizes": (32, 32),
    "max_iter": 60,
    "random_state": 0,
    "n_networks": 1,
}


def test_estimator_scales_only_the_spread():
    """Calibration leaves the network alone and multiplies every scale."""
    X, y = sine_data(400, noise=0.3)
    calibrated = MDNRegressor(**FAST).fit(X, y)
    plain = MDNRegressor(calibrate=False, **FAST).fit(X, y)
    assert plain.spread_factor_ == 1.0
    assert calibrated.spread_factor_ != 1.0
    a, b = calibrated.predict_dist(X), plain.predict_dist(X)
    assert_allclose(a.means, b.means)
    assert_allclose(a.weights, b.weights)
    assert_allclose(a.scale_tril, calibrated.spread_factor_ * b.scale_tril)
    no_holdout = MDNRegressor(early_stopping=False, **FAST).fit(X, y)
    assert no_holdout.spread_factor_ == 1.0


def test_estimator_factor_fits_held_out_rows():
    """The factor is the best one for the rows held out for early stopping
    (with refit, for the early-stopped network: tests/estimators/test_refit.py)."""
    X, y = sine_data(400, noise=0.3)
    reg = MDNRegressor(**FAST, refit=False).fit(X, y)
    n = len(X)
    from sklearn_mdn._nn._data import TensorDataset, to_tensor

    dataset = TensorDataset(
        to_tensor(X, reg.x_mean_, reg.x_scale_, "cpu"),
        to_tensor(y.reshape(n, 1), reg.y_mean_, reg.y_scale_, "cpu"),
        torch.ones(n),
    )
    valid = reg.net_.train_split(dataset)[1]
    X_valid = valid.X.numpy().astype(np.float64) * reg.x_scale_ + reg.x_mean_
    y_valid = valid.y.numpy()[:, 0].astype(np.float64) * reg.y_scale_ + reg.y_mean_
    factor = reg.spread_factor_
    reg.spread_factor_ = 1.0
    dist = reg.predict_dist(X_valid)

    def nll(s):
        return (
            -NormalMixture(
                dist.weights, dist.means, s * dist.scale_tril, event_shape=()
            )
            .log_prob(y_valid)
            .mean()
        )

    assert nll(1.0) >= nll(factor) <= min(nll(factor * 0.95), nll(factor * 1.05))
    # Scale-free: the same factor from the predictions in target units.
    assert fit_spread_factor(dist, y_valid) == pytest.approx(factor, rel=1e-3)
