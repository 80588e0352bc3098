"""The gate fitted alone on a gated network's frozen components
(``sklearn_mdn._nn._gate_fit``)."""

import warnings

import numpy as np
import pytest
import torch
from _helpers import SMALL, linear_data, part_branch_data
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _plan
from sklearn_mdn._nn import _gate_fit
from sklearn_mdn._nn._data import TensorDataset
from sklearn_mdn._nn._gate_fit import fit_gate

PARAMS = {
    **SMALL,
    "max_iter": 40,
    "random_state": 0,
    "tree_blend": "none",
    "input_encoding": "none",
}


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MDNRegressor(**{**PARAMS, **params}).fit(X, y)


def _dataset(model, X, y):
    """The standardised rows ``model``'s networks trained on."""
    x = (X - model.x_mean_) / model.x_scale_
    t = (y.reshape(len(y), -1) - model.y_mean_) / model.y_scale_
    return TensorDataset(
        torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(t, dtype=torch.float32)
    )


def _held_out_nll(net, dataset):
    _, valid = net.train_split(dataset)
    module = net.module_
    with torch.no_grad():
        return float(_gate_fit._loss(module.gate, _gate_fit._frozen(module, valid)))


def _params(module, prefix):
    return {
        k: v.clone() for k, v in module.state_dict().items() if k.startswith(prefix)
    }


@pytest.fixture
def unfitted_gate(monkeypatch):
    """A gated network trained as a whole for a few epochs, its gate not
    yet fitted alone, and its rows."""
    monkeypatch.setattr(_plan, "GATE_FIT_STEPS", 0)
    X, y = part_branch_data(1000)
    model = _fit(X, y, gate_size=8, refit=False, max_iter=20)
    assert model.net_.gate_steps_ == 0
    return model.net_, _dataset(model, X, y)


def test_the_gate_alone_is_fitted_and_the_held_out_nll_falls(unfitted_gate):
    net, dataset = unfitted_gate
    before = _held_out_nll(net, dataset)
    frozen = {p: _params(net.module_, p) for p in ("trunk", "head", "gate")}
    steps = fit_gate(net, dataset, 1, max_steps=200)
    assert 0 < steps <= 200 and steps % _gate_fit.CHECK_EVERY == 0
    assert _held_out_nll(net, dataset) < before
    for prefix in ("trunk", "head"):
        after = _params(net.module_, prefix)
        assert all(torch.equal(after[k], v) for k, v in frozen[prefix].items())
    after = _params(net.module_, "gate")
    assert not all(torch.equal(after[k], v) for k, v in frozen["gate"].items())


def test_a_refit_runs_the_steps_given_and_the_same_way_twice(unfitted_gate):
    net, dataset = unfitted_gate
    start = net.module_.gate.state_dict()
    start = {k: v.clone() for k, v in start.items()}
    assert fit_gate(net, dataset, 1, max_steps=500, steps=7) == 7
    first = {k: v.clone() for k, v in net.module_.gate.state_dict().items()}
    net.module_.gate.load_state_dict(start)
    fit_gate(net, dataset, 1, max_steps=500, steps=7)
    second = net.module_.gate.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], start[k]) for k in first)
    assert fit_gate(net, dataset, 1, max_steps=500, steps=0) == 0


def test_no_gate_or_no_steps_changes_nothing():
    X, y = linear_data(300)
    model = _fit(X, y, gate_size=0, refit=False)
    net, dataset = model.net_, _dataset(model, X, y)
    state = {k: v.clone() for k, v in net.module_.state_dict().items()}
    assert net.gate_steps_ == 0
    assert fit_gate(net, dataset, 1, max_steps=500) == 0
    assert all(torch.equal(v, net.module_.state_dict()[k]) for k, v in state.items())


def test_a_fit_refits_each_gate_and_its_refit_replays_the_steps(monkeypatch):
    calls = []
    fit = _gate_fit._fit

    def recorded(gate, train, valid, max_steps):
        steps = fit(gate, train, valid, max_steps)
        calls.append((valid is None, len(train[0]), max_steps, steps))
        return steps

    monkeypatch.setattr(_gate_fit, "_fit", recorded)
    X, y = part_branch_data(1000)
    model = _fit(X, y, gate_size=8, refit=True, max_iter=20)
    plan = model.fit_plan_
    assert plan.gate_fit_steps == _plan.GATE_FIT_STEPS
    (network, refit) = calls
    assert network[:3] == (False, plan.n_train, _plan.GATE_FIT_STEPS)
    assert refit[:3] == (True, plan.n_samples, network[3])
    assert model.net_.gate_steps_ == network[3] > 0
    rule = next(d.rule for d in plan.decisions if d.name == "gate_size")
    assert "refitted alone" in rule


def test_no_gate_fit_without_held_out_rows():
    X, y = part_branch_data(300)
    model = _fit(X, y, gate_size=8, early_stopping=False)
    assert model.fit_plan_.gate_fit_steps == 0
    assert model.net_.gate_steps_ == 0
    assert np.isfinite(model.predict(X)).all()


def test_beyond_max_rows_every_kth_row_trains_and_judges(unfitted_gate, monkeypatch):
    net, dataset = unfitted_gate  # 800 training rows, 200 held out
    monkeypatch.setattr(_gate_fit, "MAX_ROWS", 300)
    sizes = []
    fit = _gate_fit._fit

    def recorded(gate, train, valid, max_steps):
        sizes.append((len(train[0]), len(valid[0])))
        return fit(gate, train, valid, max_steps)

    monkeypatch.setattr(_gate_fit, "_fit", recorded)
    fit_gate(net, dataset, 1, max_steps=20)
    assert sizes == [(267, 200)]  # every third of 800 rows; 200 as they are


def test_a_gain_below_keep_z_standard_errors_is_not_kept(unfitted_gate, monkeypatch):
    # The same gate gains held-out NLL (above), but not by a million
    # standard errors: it stays as trained.
    net, dataset = unfitted_gate
    monkeypatch.setattr(_gate_fit, "KEEP_Z", 1e6)
    gate = {k: v.clone() for k, v in net.module_.gate.state_dict().items()}
    assert fit_gate(net, dataset, 1, max_steps=200) == 0
    state = net.module_.gate.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in gate.items())
