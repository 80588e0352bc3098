"""The number of components kept: ``MDNRegressor(n_components="auto")``."""

import pickle

import numpy as np
import pytest
import torch
from _helpers import SMALL, tiny_mdn
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal, norm

import sklearn_mdn._estimators._components as components_module
import sklearn_mdn._nn._held_out as held_out_module
from sklearn_mdn._estimators._components import choose_components
from sklearn_mdn._estimators._plan import AUTO_COMPONENTS
from sklearn_mdn._nn._data import TensorDataset, to_tensor
from sklearn_mdn._nn._held_out import held_out_losses, moment_matched
from sklearn_mdn._nn._loss import mixture_log_prob
from sklearn_mdn._nn._module import MixtureParams


def _random_params(n=6, K=4, d=3, full=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    offdiag = torch.randn(n, K, d, d, generator=g).tril(-1) if full else None
    return MixtureParams(
        torch.randn(n, K, generator=g),
        torch.randn(n, K, d, generator=g),
        torch.rand(n, K, d, generator=g) + 0.3,
        offdiag,
    )


def _moments(params):
    """Each row's mixture mean and covariance, in numpy."""
    w = torch.softmax(params.logits.double(), -1).numpy()
    mu = params.means.double().numpy()
    scale = params.scale.double()
    offdiag = 0.0 if params.offdiag is None else params.offdiag.double()
    factor = (torch.diag_embed(scale.reciprocal()) + offdiag).numpy()
    cov = np.linalg.inv(factor @ np.swapaxes(factor, -1, -2))
    mean = np.einsum("nk,nkd->nd", w, mu)
    second = np.einsum("nk,nkde->nde", w, cov + mu[..., :, None] * mu[..., None, :])
    return mean, second - mean[:, :, None] * mean[:, None, :]


@pytest.mark.parametrize("full", [True, False])
def test_moment_matched_gaussian_has_the_mixtures_moments(full):
    params = _random_params(full=full)
    mean, cov = _moments(params)
    single = moment_matched(params)
    assert single.logits.shape == (6, 1) and single.means.shape == (6, 1, 3)
    y = torch.randn(6, 3, generator=torch.Generator().manual_seed(1)).double()
    log_prob = mixture_log_prob(single, y).numpy()
    if not full:  # the diagonal of the mixture's covariance
        cov = np.stack([np.diag(np.diag(c)) for c in cov])
    expected = [
        multivariate_normal(m, c).logpdf(row) for m, c, row in zip(mean, cov, y)
    ]
    assert_allclose(single.means[:, 0].numpy(), mean, atol=1e-12)
    assert_allclose(log_prob, expected, rtol=1e-10)


def _gaussian_data(n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, X @ [1.0, -0.5] + 0.1 * rng.normal(size=n)


def _bimodal_data(n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(0, 1, size=(n, 1))
    sign = np.where(rng.uniform(size=n) < 0.5, 1.0, -1.0)
    return X, sign * (1 + X[:, 0]) + 0.05 * rng.normal(size=n)


def _fit(X, y, **params):
    params = {
        "hidden_layer_sizes": (16,),
        "max_iter": 60,
        "n_networks": 1,
        "n_components": "auto",
        # The network chosen alone, not averaged with its refit.
        "refit": False,
        **params,
    }
    return tiny_mdn(SMALL, **params).fit(X, y)


def test_a_clearly_multimodal_target_keeps_the_mixture_without_retraining():
    X, y = _bimodal_data()
    auto = _fit(X, y)
    given = _fit(X, y, n_components=AUTO_COMPONENTS)
    assert auto.n_components_ == given.n_components_ == AUTO_COMPONENTS
    assert auto.n_steps_ == given.n_steps_
    assert_array_equal(auto.predict(X), given.predict(X))
    assert auto.predict_dist(X[:3]).n_components == AUTO_COMPONENTS


@pytest.mark.parametrize("kept", [True, False])
def test_a_one_component_network_is_trained_and_kept_when_better(monkeypatch, kept):
    # Screen always passed; the paired test's verdict imposed.
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    monkeypatch.setattr(components_module, "better", lambda *args: kept)
    X, y = _gaussian_data()
    reg = _fit(X, y, n_networks=2)
    given = _fit(X, y, n_components=AUTO_COMPONENTS, n_networks=2)
    assert reg.n_steps_ > given.n_steps_  # the one-component network counts
    if kept:
        assert reg.n_components_ == 1
        # The second network is trained with the number chosen.
        assert reg.predict_dist(X[:3]).n_components == 2
    else:
        assert reg.n_components_ == AUTO_COMPONENTS
        assert_array_equal(reg.predict(X), given.predict(X))


def test_the_networks_are_compared_on_the_first_networks_held_out_rows(
    monkeypatch,
):
    seen = []

    def record(candidate, best, valid):
        seen.append((candidate, best, valid))
        return True

    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    monkeypatch.setattr(components_module, "better", record)
    X, y = _gaussian_data()
    reg = _fit(X, y)
    ((single, mixture, valid),) = seen
    assert single.module_.n_components == 1
    assert mixture.module_.n_components == AUTO_COMPONENTS
    assert reg.n_components_ == 1 and reg.net_ is single
    _, expected = mixture.train_split(_dataset(reg, X, y))
    assert_array_equal(valid.y.numpy(), expected.y.numpy())


def test_the_one_component_network_reads_the_features_kept(monkeypatch):
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    monkeypatch.setattr(components_module, "better", lambda *args: True)
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 6))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=400)
    reg = _fit(X, y)
    assert reg.n_components_ == 1
    assert reg.support_[0] and not reg.support_.all()
    weight = reg.net_.module_.trunk[0].weight.detach().numpy()
    assert (weight[:, ~reg.support_] == 0).all()
    restored = pickle.loads(pickle.dumps(reg))
    assert restored.n_components_ == 1
    assert_array_equal(restored.predict(X), reg.predict(X))


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_several_targets_weights_and_covariance_types(monkeypatch, covariance_type):
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    monkeypatch.setattr(components_module, "better", lambda *args: True)
    X, y = _gaussian_data()
    Y = np.column_stack([y, 0.5 * y + 0.1 * np.random.RandomState(1).normal(size=400)])
    weight = np.random.RandomState(2).uniform(0.5, 2.0, size=400)
    reg = tiny_mdn(
        SMALL,
        hidden_layer_sizes=(16,),
        max_iter=30,
        n_networks=1,
        n_components="auto",
        covariance_type=covariance_type,
    ).fit(X, Y, sample_weight=weight)
    assert reg.n_components_ == 1 and reg.refit_
    dist = reg.predict_dist(X[:5])  # the network and its refit, one each
    assert dist.n_components == 2 and np.isfinite(dist.log_prob(Y[:5])).all()


def test_an_integer_is_used_as_given(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("no choice expected")

    import sklearn_mdn._estimators._networks as networks_module

    monkeypatch.setattr(networks_module, "choose_components", fail)
    X, y = _gaussian_data()
    assert _fit(X, y, n_components=2).n_components_ == 2
    # Without a hold-out of 30 rows, "auto" means AUTO_COMPONENTS.
    assert _fit(X, y, early_stopping=False).n_components_ == AUTO_COMPONENTS
    assert _fit(X[:100], y[:100]).n_components_ == AUTO_COMPONENTS


def test_a_diverging_retrain_keeps_the_mixture(monkeypatch):
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    reg = _fit(*_gaussian_data(), n_components=AUTO_COMPONENTS)
    dataset = _dataset(reg, *_gaussian_data())

    calls = []

    def diverge(n_components):
        calls.append(n_components)
        raise FloatingPointError("Training diverged: test")

    net, n_components, rule = choose_components(reg.net_, dataset, diverge, 1)
    assert calls == [1]
    assert net is reg.net_ and n_components == AUTO_COMPONENTS
    assert rule == "a network with one component diverged"


def _dataset(reg, X, y):
    return TensorDataset(
        to_tensor(X, reg.x_mean_, reg.x_scale_, "cpu"),
        to_tensor(y[:, None], reg.y_mean_, reg.y_scale_, "cpu"),
    )


def test_missing_targets_enter_the_choice(monkeypatch):
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    X, y = _gaussian_data()
    Y = np.column_stack([y, 0.5 * y + 0.1 * np.random.RandomState(1).normal(size=400)])
    Y[::7, 1] = np.nan
    reg = _fit(X, Y, missing_targets="marginalize", n_components=AUTO_COMPONENTS)
    Y_std = (Y - reg.y_mean_) / reg.y_scale_
    valid = TensorDataset(
        torch.as_tensor((X - reg.x_mean_) / reg.x_scale_, dtype=torch.float32),
        torch.as_tensor(Y_std, dtype=torch.float32),
    )
    with torch.no_grad():
        losses = held_out_losses(reg.net_, valid.X, valid, transform=moment_matched)
        params = moment_matched(reg.net_.module_(valid.X))
    assert torch.isfinite(losses).all()
    # A row missing its second target: the first target's Gaussian marginal.
    i = 7
    mean = params.means[i, 0, 0].item()
    factor = torch.diag_embed(params.scale.reciprocal()) + params.offdiag
    cov = torch.linalg.inv(factor @ factor.transpose(-1, -2))[i, 0]
    sd = cov[0, 0].sqrt().item()
    expected = -norm(mean, sd).logpdf(Y_std[i, 0])
    assert_allclose(losses[i].item(), expected, rtol=1e-5)
    # The whole fit runs with the choice.
    assert np.isfinite(_fit(X, Y, missing_targets="marginalize").predict(X)).all()


def test_verbose_reports_the_choice(monkeypatch, capsys):
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    reg = _fit(*_gaussian_data(), verbose=1)
    out = capsys.readouterr().out
    assert "fit one Gaussian better than 5 components; trying a network" in out
    assert f"Components kept: {reg.n_components_}: " in out


@pytest.mark.slow
def test_three_correlated_gaussian_targets_get_one_component():
    # The multi3 truth of benchmarks/bench_synthetic.py, on 4,000 rows: the
    # defaults keep one component (all 5 seeds of the benchmark do).
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(4000, 2))
    x1, x2 = X.T
    L = np.zeros((4000, 3, 3))
    L[:, 0, 0] = 0.3 + 0.1 * x1
    L[:, 1, 0], L[:, 1, 1] = 0.3 * x2, 0.2
    L[:, 2, 0], L[:, 2, 1] = 0.2 * x1, -0.2 * x2
    L[:, 2, 2] = 0.15 + 0.05 * np.abs(x1)
    mean = np.stack([np.sin(x1), np.cos(x2), x1 * x2 / 2], axis=1)
    Y = mean + np.einsum("nij,nj->ni", L, rng.standard_normal((4000, 3)))
    from sklearn_mdn import MDNRegressor

    reg = MDNRegressor(random_state=0, n_threads=1).fit(X, Y)
    assert reg.n_components_ == 1


def test_a_screen_that_cannot_be_computed_keeps_the_mixture(monkeypatch):
    def singular(params):
        raise torch.linalg.LinAlgError("singular")

    def not_a_number(params):
        single = moment_matched(params)
        return single._replace(means=torch.full_like(single.means, np.nan))

    reg = _fit(*_gaussian_data(), n_components=AUTO_COMPONENTS)
    dataset = _dataset(reg, *_gaussian_data())

    def retrain(n_components):
        raise AssertionError("no retrain expected")

    # The screen always passes: only the guards stop a retrain.
    monkeypatch.setattr(components_module, "_SCREEN_Z", -np.inf)
    for transform in (singular, not_a_number):
        monkeypatch.setattr(held_out_module, "moment_matched", transform)
        net, n_components, _ = choose_components(reg.net_, dataset, retrain, 1)
        assert net is reg.net_ and n_components == AUTO_COMPONENTS
