"""The torch mixture likelihood against scipy, including missing targets."""

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from sklearn_mdn._nn._loss import MixtureNLLLoss, mixture_log_prob
from sklearn_mdn._nn._module import MixtureDensityModule, MixtureParams


def _random_params(n, K, d, full, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, K, generator=g, dtype=torch.float64)
    means = torch.randn(n, K, d, generator=g, dtype=torch.float64)
    scale = 0.3 + torch.rand(n, K, d, generator=g, dtype=torch.float64)
    if not full:
        return MixtureParams(logits, means, scale)
    offdiag = torch.tril(
        0.5 * torch.randn(n, K, d, d, generator=g, dtype=torch.float64), -1
    )
    return MixtureParams(logits, means, scale, offdiag)


def _covariances(params):
    scale = params[2].numpy()
    d = scale.shape[-1]
    factor = (1.0 / scale)[..., :, None] * np.eye(d)
    if params.offdiag is not None:
        factor = factor + params.offdiag.numpy()
    return np.linalg.inv(factor @ np.swapaxes(factor, -1, -2))


def _scipy_log_prob(params, y, observed=None):
    weights = torch.softmax(params[0], -1).numpy()
    means, cov = params[1].numpy(), _covariances(params)
    out = []
    for i in range(len(y)):
        obs = np.ones(y.shape[1], bool) if observed is None else observed[i]
        comps = [
            np.log(weights[i, k])
            + multivariate_normal(means[i, k][obs], cov[i, k][np.ix_(obs, obs)]).logpdf(
                y[i][obs]
            )
            for k in range(weights.shape[1])
        ]
        out.append(logsumexp(comps))
    return np.array(out)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("d", [1, 3])
def test_log_prob_matches_scipy(full, d):
    params = _random_params(7, 4, d, full and d > 1)
    y = torch.randn(7, d, dtype=torch.float64)
    got = mixture_log_prob(params, y).numpy()
    np.testing.assert_allclose(got, _scipy_log_prob(params, y.numpy()), rtol=1e-10)


@pytest.mark.parametrize("full", [False, True])
def test_missing_targets_are_marginalised_exactly(full):
    params = _random_params(6, 3, 3, full)
    y = torch.randn(6, 3, dtype=torch.float64)
    observed = np.array(
        [[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0]], bool
    )
    got = mixture_log_prob(params, y, torch.as_tensor(observed)).numpy()
    expected = _scipy_log_prob(params, y.numpy(), observed)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_loss_ignores_nan_targets_and_weights_rows():
    params = _random_params(5, 2, 2, True)
    y = torch.randn(5, 2, dtype=torch.float64)
    y_nan = y.clone()
    y_nan[1, 0] = float("nan")
    loss = MixtureNLLLoss(allow_missing=True)(params, y_nan)
    assert torch.isfinite(loss)
    observed = torch.ones(5, 2, dtype=torch.bool)
    observed[1, 0] = False
    expected = -mixture_log_prob(params, y, observed).mean()
    assert torch.allclose(loss, expected)
    weights = torch.tensor([2.0, 0.0, 1.0, 1.0, 1.0], dtype=torch.float64)
    weighted = MixtureNLLLoss()(params, y, weights)
    per_row = -mixture_log_prob(params, y)
    assert torch.allclose(weighted, (weights * per_row).mean())


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_module_output_shapes_and_floor(covariance_type):
    torch.manual_seed(0)
    module = MixtureDensityModule(4, 3, 5, (8, 8), "relu", covariance_type, 1e-3)
    params = module(torch.randn(11, 4))
    assert params[0].shape == (11, 5)
    assert params[1].shape == (11, 5, 3)
    assert params[2].shape == (11, 5, 3)
    assert (params[2] >= 1e-3).all()
    assert (params.offdiag is not None) == (covariance_type == "full")
    if covariance_type == "full":
        assert torch.equal(params[3], torch.tril(params[3], -1))
    if covariance_type == "spherical":
        assert torch.equal(params[2][..., :1].expand_as(params[2]), params[2])
    # Near-uniform weights and unit scales at initialisation.
    weights = torch.softmax(params[0], -1)
    assert torch.allclose(weights, torch.full_like(weights, 0.2), atol=0.1)
    assert torch.allclose(params[2], torch.ones_like(params[2]), atol=0.3)


def test_density_is_bounded_by_the_floor():
    min_scale = 1e-2
    module = MixtureDensityModule(1, 2, 1, (), "identity", "full", min_scale)
    with torch.no_grad():
        module.head.weight.zero_()
        module.head.bias.fill_(-50.0)  # raw scales -> floor; off-diagonals huge
        module.head.bias[-1] = 1e3
    X = torch.zeros(1, 1, dtype=torch.float32)
    params = module(X)
    log_prob = mixture_log_prob(params, params[1][:, 0]).item()
    assert log_prob <= -math.log(2 * math.pi) - 2 * math.log(min_scale) + 1e-3
