"""The gate that the held-out rows choose: ``MDNRegressor(gate_size="auto")``."""

import warnings

import numpy as np
import pytest
from _helpers import SMALL, linear_data, part_branch_data
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _components, _networks, _plan

PARAMS = {**SMALL, "max_iter": 40, "random_state": 0, "tree_blend": "none"}


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MDNRegressor(**{**PARAMS, **params}).fit(X, y)


def _gates(model):
    """The gate width of every network of ``model`` (its refits included)."""
    module = model.net_.module_
    return [
        0 if m.gate is None else m.gate[0].out_features
        for m in getattr(module, "members", [module])
    ]


def test_auto_gates_where_a_branch_ends():
    X, y = part_branch_data(1000)
    model = _fit(X, y, max_iter=80)
    plan = model.fit_plan_
    assert plan.gate_size == 8  # the last hidden layer's width
    assert _gates(model) == [8] * (1 + plan.n_refits)  # the network, its refit
    assert "the gated network replaces the first" in str(plan)
    kept = next(d for d in plan.decisions if d.name == "gate kept")
    share = float(kept.rule.split("%")[0]) / 100
    assert _plan.GATE_BRANCHING[0] <= share <= _plan.GATE_BRANCHING[1]
    # The gated network waits two cuts of the rate, never the overfit stop.
    stopper = dict(model.net_.callbacks_)["early_stopping"]
    assert stopper.patience == plan.n_iter_no_change
    assert plan.n_iter_no_change == (_plan.GATE_STOP_AFTER_CUTS + 1) * plan.lr_patience
    assert stopper.overfit_patience is None
    # It costs a network more than the fit without the choice, but the
    # encoding is not tried: the gated network reads the raw features.
    alone = _fit(X, y, max_iter=80, gate_size=0, input_encoding="none")
    assert model.n_steps_ > alone.n_steps_
    assert "not tried" in str(plan) and plan.encoding == "none"


def test_auto_leaves_a_unimodal_fit_alone_bit_for_bit():
    X, y = linear_data(600)
    auto = _fit(X, y)
    none = _fit(X, y, gate_size=0)
    assert auto.fit_plan_.gate_size == 0 and set(_gates(auto)) == {0}
    kept = next(d for d in auto.fit_plan_.decisions if d.name == "gate kept")
    assert kept.value == "0" and kept.rule.endswith("branches on few rows, none ends")
    assert auto.n_steps_ == none.n_steps_
    assert_array_equal(auto.predict_dist(X).means, none.predict_dist(X).means)


@pytest.mark.parametrize("n_networks", [1, 2])
def test_chosen_gate_reaches_every_network_and_refit(n_networks, monkeypatch):
    # Forced on any data: the choice's mechanics, one network after another
    # (several networks train stacked: the others are trained again, gated).
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0))
    X, y = linear_data(600)
    model = _fit(X, y, n_networks=n_networks)
    plan = model.fit_plan_
    assert plan.n_networks == n_networks and plan.gate_size == 8
    assert _gates(model) == [8] * (n_networks + plan.n_refits)


def test_no_choice_without_enough_held_out_rows():
    X, y = part_branch_data(400)  # 80 held-out rows
    model = _fit(X, y)
    assert _gates(model) == [0] * len(_gates(model))
    assert "not tried below 100 held-out rows" in str(model.fit_plan_)
    assert not any(d.name == "gate kept" for d in model.fit_plan_.decisions)


def test_warm_start_continues_the_chosen_gate(monkeypatch):
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0))
    X, y = linear_data(600)
    model = _fit(X, y, refit=False, warm_start=True)
    assert _gates(model) == [8]
    assert model.fit_plan_.gate_fit_steps == _plan.GATE_FIT_STEPS
    model.fit(X, y)  # gate_size="auto" continues the fitted network's gate
    assert _gates(model) == [8]
    assert model.fit_plan_.gate_size == 8
    assert model.fit_plan_.gate_fit_steps == 0  # trains on, without the gate's fit
    model.set_params(gate_size=0)
    with pytest.raises(ValueError, match="whose gate_size is 8; got gate_size=0"):
        model.fit(X, y)


def test_a_failed_gated_network_leaves_the_first(monkeypatch):
    # Any held-out NLL counts as a failure: the first network stays, its
    # steps and the candidate's counted.
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0))
    monkeypatch.setattr(_plan, "GATE_FAILED_NATS", -np.inf)
    X, y = linear_data(600)
    model = _fit(X, y)
    # (The gate was tried, so the encoding was not.)
    none = _fit(X, y, gate_size=0, input_encoding="none")
    assert set(_gates(model)) == {0} and model.fit_plan_.gate_size == 0
    kept = next(d for d in model.fit_plan_.decisions if d.name == "gate kept")
    assert "the gated network failed" in kept.rule
    assert_array_equal(model.predict_dist(X).means, none.predict_dist(X).means)
    assert model.n_steps_ > none.n_steps_


def _inputs(model):
    """The inputs that every network of ``model`` reads."""
    module = model.net_.module_
    return {m.trunk[0].in_features for m in getattr(module, "members", [module])}


@pytest.mark.parametrize("n_networks", [1, 2])
def test_the_gated_network_reads_the_raw_features(n_networks, monkeypatch):
    # An encoding that would always be chosen is not tried where the gate
    # is: every network reads the two raw features, and the plan says why.
    monkeypatch.setattr(_plan, "ENCODING_Z", np.inf)
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0))
    X, y = linear_data(600)
    model = _fit(X, y, input_encoding="auto", n_networks=n_networks)
    kept = {d.name: d for d in model.fit_plan_.decisions}
    assert model.fit_plan_.gate_size == 8 and model.fit_plan_.encoding == "none"
    assert kept["encoding kept"].rule.startswith("not tried: 0% of the held-out")
    assert _inputs(model) == {X.shape[1]}
    # Where no branch ends, the encoding is tried, and here kept.
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (2.0, 3.0))
    model = _fit(X, y, input_encoding="auto", n_networks=n_networks)
    assert model.fit_plan_.gate_size == 0
    assert model.fit_plan_.encoding == "piecewise_linear"
    assert _inputs(model) == {X.shape[1] * _plan.ENCODING_BINS}


def test_no_gate_where_one_gaussian_is_kept(monkeypatch):
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0))
    monkeypatch.setattr(_components, "_SCREEN_Z", -np.inf)
    monkeypatch.setattr(_components, "better", lambda *args: True)
    X, y = linear_data(600)
    model = _fit(X, y, n_components="auto")
    assert model.n_components_ == 1 and set(_gates(model)) == {0}
    kept = next(d for d in model.fit_plan_.decisions if d.name == "gate kept")
    assert kept.rule.endswith("but one Gaussian was kept")


@pytest.mark.parametrize("fails", [False, True])
def test_the_first_network_stops_where_its_branches_end(fails, monkeypatch):
    # Forced: branches "end" on any data, the check after 100 steps. The
    # gated network trains from the same seeds whatever the first network
    # became, so the fit is the same as without the check; where the gated
    # network fails, the first network is trained to its end after all.
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0))
    monkeypatch.setattr(_plan, "GATE_CHECK_BRANCHING", (0.0, 1.0))
    if fails:
        monkeypatch.setattr(_plan, "GATE_FAILED_NATS", -np.inf)
    X, y = linear_data(600)
    monkeypatch.setattr(_plan, "GATE_CHECK_STEPS", 10**9)
    full = _fit(X, y, select_features=False)
    monkeypatch.setattr(_plan, "GATE_CHECK_STEPS", 100)
    checked = _fit(X, y, select_features=False)
    kept = next(d for d in checked.fit_plan_.decisions if d.name == "gate kept")
    assert ("The first network stopped at epoch" in kept.rule) is not fails
    assert_array_equal(checked.predict_dist(X).means, full.predict_dist(X).means)
    assert (
        _gates(checked) == _gates(full) == ([0] if fails else [8]) * len(_gates(full))
    )
    if not fails:
        assert checked.n_steps_ < full.n_steps_


@pytest.mark.parametrize("gated", [False, True])
def test_a_first_network_whose_branches_do_not_end_trains_on_unchanged(
    gated, monkeypatch
):
    # At the check its branches do not end (the check's band is never
    # met); at its end they end (gated) or not, as without the check.
    X, y = part_branch_data(1000)
    monkeypatch.setattr(_plan, "GATE_BRANCHING", (0.0, 1.0) if gated else (2.0, 3.0))
    monkeypatch.setattr(_plan, "GATE_CHECK_BRANCHING", (2.0, 3.0))
    monkeypatch.setattr(_plan, "GATE_CHECK_STEPS", 10**9)
    full = _fit(X, y)
    monkeypatch.setattr(_plan, "GATE_CHECK_STEPS", 100)  # looked at, goes on
    looks = []
    share = _networks.branching_share

    def looking(estimator, net, dataset, module=None):
        looks.append(module is not None)
        return share(estimator, net, dataset, module)

    monkeypatch.setattr(_networks, "branching_share", looking)
    checked = _fit(X, y)
    assert looks == [True, False]  # at the check, then at the first's end
    assert checked.fit_plan_.gate_size == full.fit_plan_.gate_size == 8 * gated
    assert checked.n_steps_ == full.n_steps_
    assert_array_equal(checked.predict_dist(X).means, full.predict_dist(X).means)
