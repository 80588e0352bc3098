"""Backward elimination of input features: ``MDNRegressor(select_features=...)``."""

import pickle

import numpy as np
import pytest
import torch
from _helpers import SMALL, linear_data, tiny_mdn
from numpy.testing import assert_array_equal

from sklearn_mdn._estimators._selection import dependent, importance_t, weakest
from sklearn_mdn._nn._data import TensorDataset, to_tensor


def _noise_data(n=400, n_noise=6, seed=0):
    """``y = sin(3 x0) + 0.1 N(0, 1)`` beside ``n_noise`` pure-noise features."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 1 + n_noise))
    return X, np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=n)


def _standardised(reg, X, y, sample_weight=None):
    """``X`` and ``y`` as ``reg`` standardises them for its network."""
    return TensorDataset(
        to_tensor(X, reg.x_mean_, reg.x_scale_, "cpu"),
        to_tensor(y[:, None], reg.y_mean_, reg.y_scale_, "cpu"),
        sample_weight,
    )


def _fit(X, y, **params):
    params = {
        "hidden_layer_sizes": (16,),
        "max_iter": 40,
        "n_networks": 1,
        "input_encoding": "none",
        **params,
    }
    return tiny_mdn(SMALL, **params).fit(X, y)


def test_weakest_drops_the_weaker_half_of_the_weak_features():
    support = np.ones(6, dtype=bool)
    t = np.array([9.0, 1.5, -0.5, 0.2, 2.5, -3.0])
    # Weak (t < 2): features 1, 2, 3, 5; the weaker half: 5 and 2.
    assert_array_equal(weakest(t, support), [5, 2])
    assert len(weakest(np.full(6, 5.0), support)) == 0
    # At most half of the features read, and none outside the support.
    support[[0, 4]] = False
    assert_array_equal(weakest(np.full(6, -1.0), support), [1, 2])
    assert len(weakest(np.array([np.nan, -1.0]), np.array([False, True]))) == 0


def test_weakest_never_drops_a_feature_the_losses_depend_on():
    support = np.ones(4, dtype=bool)
    t = np.array([-3.0, -1.0, 0.5, 9.0])
    assert_array_equal(weakest(t, support), [0, 1])
    keep = np.array([True, False, False, False])
    assert_array_equal(weakest(t, support, keep=keep), [1])  # half of 1, 2


def _noise_level_data(n=400, seed=0):
    """``y = sin(3 x0) + (0.05 + 0.5 |x1|) N(0, 1)`` beside three noise
    features: ``x1`` sets only the noise level."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 5))
    return X, np.sin(3 * X[:, 0]) + (0.05 + 0.5 * np.abs(X[:, 1])) * rng.normal(size=n)


def test_the_losses_depend_on_a_noise_level_the_network_does_not_read():
    X, y = _noise_level_data()
    reg = _fit(X, y, select_features=False, refit=False, max_iter=80)
    with torch.no_grad():
        reg.net_.module_.trunk[0].weight[:, 1] = 0.0  # x1 unread
    depends = dependent(reg.net_, _standardised(reg, X, y), X.shape[1])
    assert depends.dtype == bool and depends.shape == (5,)
    assert depends[1]
    assert not depends[2:].any()
    # A feature constant among the rows shows nothing.
    X[:, 3] = 0.5
    assert not dependent(reg.net_, _standardised(reg, X, y), X.shape[1])[3]


def test_a_dropped_feature_comes_back_when_the_losses_depend_on_it(monkeypatch, capsys):
    import sklearn_mdn._estimators._selection as selection

    importance, rounds = selection.importance_t, []

    def x1_looks_weak_at_first(net, valid, support, seed):
        t = importance(net, valid, support, seed)
        if not rounds:
            t[1] = -10.0  # the first network has not learnt the noise level
        rounds.append(support.copy())
        return t

    monkeypatch.setattr(selection, "importance_t", x1_looks_weak_at_first)
    X, y = _noise_level_data()
    reg = _fit(X, y, max_iter=80, verbose=1)
    assert not rounds[1][1]  # dropped after the first network...
    out = capsys.readouterr().out  # ...and back in the next one's
    assert "1 dropped feature back; trying a network on" in out
    assert reg.support_[[0, 1]].all()


def test_importance_of_a_feature_the_network_ignores_is_zero():
    X, y = _noise_data(200, n_noise=2)
    reg = _fit(X, y, select_features=False, refit=False)
    net = reg.net_
    with torch.no_grad():
        net.module_.trunk[0].weight[:, 2] = 0.0
    valid = _standardised(reg, X, y)
    support = np.array([True, False, True])
    t = importance_t(net, valid, support, seed=0)
    assert np.isnan(t[1])
    assert t[2] == 0.0
    assert t[0] > 2.0  # the signal


def test_noise_features_are_dropped_and_ignored():
    X, y = _noise_data()
    reg = _fit(X, y)
    assert reg.support_.dtype == bool and reg.support_.shape == (X.shape[1],)
    assert reg.support_[0]
    assert not reg.support_.all()
    # The dropped features do not change the predicted mixtures.
    X_other = X.copy()
    rng = np.random.RandomState(1)
    X_other[:, ~reg.support_] = rng.uniform(-1, 1, size=(len(X), (~reg.support_).sum()))
    assert_array_equal(reg.predict(X_other), reg.predict(X))
    # The networks trained and not kept count in n_steps_, not in n_iter_.
    single = int(sum(reg.net_.history[:, "train_batch_count"]))
    assert reg.n_steps_ > single
    assert reg.n_iter_ == len(reg.net_.history)
    assert reg.net_.input_mask_ is None
    pickle.loads(pickle.dumps(reg))


def test_nothing_is_retrained_when_every_feature_matters():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    y = X.sum(axis=1) + 0.05 * rng.normal(size=400)
    selected = _fit(X, y)
    plain = _fit(X, y, select_features=False)
    assert selected.support_.all() and plain.support_.all()
    assert selected.n_steps_ == plain.n_steps_
    assert_array_equal(selected.predict(X), plain.predict(X))


def test_other_networks_read_the_kept_features():
    X, y = _noise_data(300)
    reg = _fit(X, y, n_networks=3)
    assert not reg.support_.all()
    for member in reg.net_.module_.members:
        weight = member.trunk[0].weight.detach().numpy()
        assert (weight[:, ~reg.support_] == 0).all()
        assert (weight[:, reg.support_] != 0).any(axis=0).all()


@pytest.mark.parametrize(
    "params",
    [{"select_features": False}, {"early_stopping": False}, {"input_l1": 0.01}],
)
def test_no_elimination_without_the_option_or_a_hold_out(params):
    X, y = _noise_data()
    reg = _fit(X, y, refit=False, **params)
    assert reg.support_.all()
    assert reg.n_steps_ == int(sum(reg.net_.history[:, "train_batch_count"]))


def test_single_feature_and_reproducibility():
    X, y = linear_data(200, p=1)
    assert _fit(X, y).support_.tolist() == [True]
    X, y = _noise_data()
    a, b = _fit(X, y, random_state=3), _fit(X, y, random_state=3)
    assert_array_equal(a.support_, b.support_)
    assert_array_equal(a.predict(X), b.predict(X))


def test_sample_weights_enter_the_importances():
    X, y = _noise_data(200, n_noise=1)
    reg = _fit(X, y, select_features=False)
    support = np.ones(2, dtype=bool)
    weighted = _standardised(reg, X, y, torch.ones(len(y)))
    assert importance_t(reg.net_, weighted, support, seed=0)[0] > 2.0
    # Rows of zero weight carry no evidence, even for the signal.
    weighted.sample_weight[:] = 0.0
    assert_array_equal(importance_t(reg.net_, weighted, support, seed=0), [0, 0])


def test_tiny_hold_outs_select_nothing():
    X, y = _noise_data(100)  # 20 held-out rows
    assert _fit(X, y).support_.all()
    with pytest.warns(UserWarning, match="at least 30 held-out rows"):
        assert _fit(X, y, select_features=True).support_.all()
    with pytest.warns(UserWarning, match="input_l1 > 0"):
        _fit(*_noise_data(), select_features=True, input_l1=0.01)


def test_missing_targets_and_conformal_with_selection():
    X, y = _noise_data()
    Y = np.column_stack([y, y + 0.1 * np.random.RandomState(1).normal(size=len(y))])
    Y[::7, 1] = np.nan
    reg = _fit(X, Y, missing_targets="marginalize")
    assert reg.support_[0] and not reg.support_.all()
    reg = _fit(X, y, calibrate="conformal")
    assert reg.support_[0]
    assert reg.conformal_.n_calibration == 80


@pytest.mark.parametrize("stacked", [True, False])
def test_a_diverging_retrain_keeps_the_best_so_far(stacked, monkeypatch):
    import sklearn_mdn._estimators._networks as networks_module
    import sklearn_mdn._nn._stacked as stacked_module
    import sklearn_mdn._nn._training as training_module

    train, run = training_module.train, stacked_module.StackedRun.run

    def diverge_when_masked(net, dataset, n_threads, support=None):
        if support is not None and not support.all():
            raise FloatingPointError("Training diverged: test")
        return train(net, dataset, n_threads, support)

    def run_diverging_when_masked(self):
        if self.support is not None and not self.support.all():
            raise FloatingPointError("Training diverged: test")
        return run(self)

    monkeypatch.setattr(training_module, "train", diverge_when_masked)
    monkeypatch.setattr(stacked_module.StackedRun, "run", run_diverging_when_masked)
    if not stacked:
        monkeypatch.setattr(networks_module, "stacked_supported", lambda e, p: False)
    reg = _fit(*_noise_data())
    assert reg.support_.all()


def test_auto_stops_selecting_on_many_rows(monkeypatch):
    import sklearn_mdn._estimators._plan as plan_module

    X, y = _noise_data()
    monkeypatch.setattr(plan_module, "MAX_SELECTION_ROWS", len(X) - 1)
    assert _fit(X, y).support_.all()  # "auto"
    assert not _fit(X, y, select_features=True).support_.all()


def test_verbose_reports_the_selection(capsys):
    X, y = _noise_data()
    reg = _fit(X, y, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Fit plan:") == 1  # the plan, printed once
    assert "weak features; trying a network on" in out
    # The outcome, printed as the fitted plan records it.
    (kept,) = [d for d in reg.fit_plan_.decisions if d.name == "features kept"]
    assert kept.value == f"{reg.support_.sum()} of {X.shape[1]}"
    assert f"Features kept: {kept.value}: {kept.rule}" in out


def test_numpy_booleans_act_as_booleans():
    X, y = _noise_data(100)
    with pytest.warns(UserWarning, match="not applied"):
        _fit(X, y, select_features=np.True_)
    assert _fit(*_noise_data(), select_features=np.False_).support_.all()
