"""Stacked training of a fit's networks (_stacked.py): the same recipe as
training them one after another, up to rounding."""

import warnings

import numpy as np
import pytest
import torch
from _helpers import sine_data
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _networks
from sklearn_mdn._nn import _stacked
from sklearn_mdn._nn._fused_loss import _nll_and_grad


def _fit(stacked, monkeypatch, X, y, sample_weight=None, **params):
    """A fit with the networks stacked or one after another."""
    with monkeypatch.context() as patch:
        if not stacked:
            patch.setattr(_networks, "stacked_supported", lambda est, plan: False)
        est = MDNRegressor(
            **{
                "hidden_layer_sizes": (8,),
                "n_networks": 2,
                "select_features": False,
                "input_encoding": "none",
                "n_components": 2,
                "max_iter": 12,
                "n_iter_no_change": 4,
                "random_state": 0,
                **params,
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y, sample_weight=sample_weight)


def _members(est):
    module = est.net_.module_
    return list(getattr(module, "members", [module]))


@pytest.mark.parametrize(
    "activation, gate_size",
    [("silu", 0), ("relu", 0), ("tanh", 0), ("logistic", 0), ("silu", 6)],
)
@pytest.mark.parametrize("n_networks", [1, 2])
def test_stacked_networks_match_one_after_another(
    activation, gate_size, n_networks, monkeypatch
):
    # With a gate branch, the hand-written backward pass of the stacked loop
    # against autograd's on skorch's loop.
    X, y = sine_data(90, p=2)
    params = {"activation": activation, "n_networks": n_networks, "refit": False}
    params["gate_size"] = gate_size
    a = _fit(True, monkeypatch, X, y, **params)
    b = _fit(False, monkeypatch, X, y, **params)
    assert a.n_steps_ == b.n_steps_
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(
        a.validation_loss_curve_, b.validation_loss_curve_, rtol=1e-4
    )
    for ma, mb in zip(_members(a), _members(b)):
        for pa, pb in zip(ma.parameters(), mb.parameters()):
            np.testing.assert_allclose(pa.detach(), pb.detach(), atol=2e-4)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-3, atol=1e-4)


def test_stacked_matches_with_weights_noise_and_lr_cuts(monkeypatch):
    # Early stopping, plateau cuts and input noise run per network; sample
    # weights reach the loss; three networks stop at their own epochs.
    X, y = sine_data(120, p=3, seed=1)
    w = np.random.RandomState(0).uniform(0.2, 2.0, len(y))
    params = {"n_networks": 3, "noise": 0.1, "max_iter": 60, "n_iter_no_change": 6}
    params["learning_rate_init"] = 0.01
    a = _fit(True, monkeypatch, X, y, sample_weight=w, **params)
    b = _fit(False, monkeypatch, X, y, sample_weight=w, **params)
    assert a.n_steps_ == b.n_steps_
    assert len(a.net_.history) == len(b.net_.history) < 60  # stopped early
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-3)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-2, atol=1e-3)
    assert a.net_.history[:, "event_lr"] == b.net_.history[:, "event_lr"]
    assert len(set(a.net_.history[:, "event_lr"])) == 2  # one cut of the rate


def test_stacked_with_feature_selection_masks_dropped_features(monkeypatch):
    # A pure-noise feature is dropped after the first network; the others
    # are trained again, stacked, reading only the features kept.
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (160, 4))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.randn(160)
    est = _fit(
        True,
        monkeypatch,
        X,
        y,
        n_networks=2,
        select_features=True,
        max_iter=60,
        n_iter_no_change=10,
    )
    support = est.support_
    assert support[0] and not support.all()
    for member in _members(est):
        first = member.trunk[0].weight.detach().numpy()
        assert np.all(first[:, ~support] == 0)


def test_grouped_loss_is_each_block_on_its_own():
    g = torch.Generator().manual_seed(0)
    K, d, n = 3, 2, 7
    head = torch.randn(K * (1 + 2 * d), 2 * n, generator=g, dtype=torch.float64)
    y = torch.randn(2 * n, d, generator=g, dtype=torch.float64)
    w = torch.rand(2 * n, generator=g, dtype=torch.float64)

    def blocks(h):
        return torch.split(h, [K, K * d, K * d, 0], dim=0)

    for weight in (None, w):
        loss, grad = _nll_and_grad(blocks(head), y, weight, 1e-3, False, True, 2)
        assert loss.shape == (2,)
        for i in range(2):
            rows = slice(i * n, (i + 1) * n)
            wi = None if weight is None else weight[rows]
            li, gi = _nll_and_grad(
                blocks(head[:, rows].contiguous()), y[rows], wi, 1e-3, False, True
            )
            torch.testing.assert_close(loss[i], li)
            torch.testing.assert_close(grad[:, rows], gi)


def test_stacked_not_used_where_it_does_not_apply():
    X, y = sine_data(60)
    for params in (
        {"input_l1": 0.01},
        {"activation": "gelu"},
        {"early_stopping": False},
        {"verbose": 1},
    ):
        est = MDNRegressor(**params)
        plan = est._make_plan(X, y[:, None], (8,))
        assert not _stacked.stacked_supported(est, plan), params
    for n_networks in (1, 2):
        est = MDNRegressor(n_networks=n_networks)
        assert _stacked.stacked_supported(est, est._make_plan(X, y[:, None], (8,)))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"noise": 0.1},
        {"select_features": True},
        {"covariance_type": "full", "targets": 2},
    ],
)
def test_one_network_and_its_refit_match_skorchs_loop(params, monkeypatch):
    # A single network, the networks the held-out choices try and the refit
    # train on the stacked loop; with one member its products are skorch's.
    params = dict(params)
    rng = np.random.RandomState(3)
    X = rng.uniform(-1, 1, (150, 4))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.randn(150)
    if params.pop("targets", 1) == 2:
        y = np.column_stack([y, X[:, 1] + 0.1 * rng.randn(150)])
    w = rng.uniform(0.5, 2.0, 150)
    params = {
        "n_networks": 1,
        "refit": True,
        "max_iter": 30,
        "n_iter_no_change": 6,
        "learning_rate_init": 0.01,
        **params,
    }
    a = _fit(True, monkeypatch, X, y, sample_weight=w, **params)
    b = _fit(False, monkeypatch, X, y, sample_weight=w, **params)
    assert a.refit_ and len(_members(a)) == 2
    assert a.n_steps_ == b.n_steps_
    if params.get("select_features"):  # masked candidates, masked refit
        assert not a.support_.all()
    for ma, mb in zip(_members(a), _members(b)):
        for pa, pb in zip(ma.parameters(), mb.parameters()):
            np.testing.assert_array_equal(pa.detach(), pb.detach())
