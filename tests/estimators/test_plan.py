"""The fit plan: every "auto" resolved once, and ``fit_plan_``."""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
from _helpers import SMALL, linear_data, tiny_mdn

from sklearn_mdn import MDNEnsembleRegressor, MDNRegressor
from sklearn_mdn._estimators._fit_plan import FitPlan
from sklearn_mdn._estimators._plan import make_plan
from sklearn_mdn._nn._module import MixtureDensityModule, row_work
from sklearn_mdn._nn._threads import forward_work


def _plan(n, n_features=3, **params) -> FitPlan:
    return make_plan(MDNRegressor(**params), n, n_features)


def _decision(plan, name):
    (decision,) = [d for d in plan.decisions if d.name == name]
    return decision


@pytest.mark.parametrize(
    ("n", "expected"),
    [(200, 5), (201, 4), (250, 4), (251, 3), (333, 3), (334, 2), (500, 2), (501, 1)],
)
def test_auto_networks_change_at_their_thresholds(n, expected):
    plan = _plan(n)
    assert plan.n_networks == expected
    assert plan.refit == (expected == 1)
    mixture = _decision(plan, "mixture")
    assert mixture.value == str(expected * 5 * (2 if plan.refit else 1))


def test_early_stopping_needs_twenty_rows():
    assert not _plan(19).early_stopping and _plan(19).n_valid == 0
    assert _plan(20).early_stopping and _plan(20).n_valid == 4
    assert not _plan(20, early_stopping=False).early_stopping


@pytest.mark.parametrize(("n", "held_out"), [(147, False), (148, True)])
def test_held_out_choices_need_thirty_held_out_rows(n, held_out):
    plan = _plan(n)
    assert plan.select_features == plan.choose_components == held_out
    assert plan.n_components == 5
    if not held_out:
        assert "30 held-out rows" in _decision(plan, "n_components").rule


@pytest.mark.parametrize(("n", "on"), [(100_000, True), (100_001, False)])
def test_selection_and_refit_stop_above_a_hundred_thousand_rows(n, on):
    plan = _plan(n)
    assert plan.select_features == plan.refit == on
    assert plan.choose_components  # whatever the rows
    if not on:
        assert "100,000" in _decision(plan, "select_features").rule
        assert "100,000" in _decision(plan, "refit").rule


def test_given_values_are_used_as_given():
    plan = _plan(
        300,
        n_components=2,
        n_networks=2,
        batch_size=50,
        max_iter=7,
        n_iter_no_change=9,
        refit=True,
        select_features=False,
        learning_rate="constant",
    )
    assert (plan.n_components, plan.n_networks, plan.batch_size) == (2, 2, 50)
    assert (plan.max_iter, plan.n_iter_no_change, plan.lr_patience) == (7, 9, 3)
    assert plan.refit and not plan.select_features and not plan.choose_components
    assert plan.lr_factor is None
    assert _decision(plan, "mixture").value == "8"  # 2 networks x 2, refitted
    for name in ("n_components", "n_networks", "batch_size", "max_iter"):
        assert _decision(plan, name).rule == "as given"


def test_calibration_follows_networks_and_hold_out():
    assert _plan(1000).calibrate == "spread"
    assert _plan(300).calibrate == "off"  # three networks
    assert _plan(300, calibrate="conformal").calibrate == "conformal"
    assert _plan(300, calibrate="conformal").n_networks == 1
    with pytest.raises(ValueError, match="conformal"):
        _plan(300, calibrate="conformal", n_networks=2)
    with pytest.warns(UserWarning, match="whole line"):
        assert (
            _plan(300, calibrate="conformal", early_stopping=False).calibrate == "off"
        )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"select_features": True, "input_l1": 0.1}, "select_features=True"),
        ({"refit": True, "early_stopping": False}, "refit=True"),
    ],
)
def test_options_set_to_true_but_not_applied_warn(params, match):
    with pytest.warns(UserWarning, match=match):
        plan = _plan(300, **params)
    assert not plan.select_features and not plan.refit
    name = match.split("=")[0]
    assert "not applied" in _decision(plan, name).rule


def test_the_thread_rule_counts_the_networks_work():
    hidden = (100, 100, 100, 100, 100)
    for d, covariance_type in [(1, "full"), (3, "full"), (3, "diag"), (2, "spherical")]:
        module = MixtureDensityModule(7, d, 5, hidden, "silu", covariance_type, 1e-3)
        work = row_work(7, d, 5, hidden, covariance_type)
        assert work == forward_work(module)
    plan = make_plan(MDNRegressor(), 20_000, 3, 1, row_work=1_000_000)
    # 126 rows a step x 1e6 multiply-adds: 12 threads at most.
    assert plan.batch_size == 126
    assert _decision(plan, "n_threads").value == "up to 12"
    small = make_plan(MDNRegressor(), 300, 3, 1, row_work=500)
    assert _decision(small, "n_threads").value == "1"
    assert "1e7" in _decision(small, "n_threads").rule


def test_the_plan_is_immutable_and_its_outcomes_a_new_plan():
    plan = _plan(1000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.n_networks = 3
    support = np.array([True, False, True])
    fitted = plan.with_outcomes(features=(support, "why"), components=(1, "because"))
    assert plan.features_kept is None and plan.components_kept is None
    assert fitted.features_kept == (True, False, True) and fitted.components_kept == 1
    assert _decision(fitted, "features kept").value == "2 of 3"
    assert _decision(fitted, "components kept").rule == "because"
    # One network of one component, averaged with its refit.
    assert _decision(fitted, "mixture").value == "2"
    assert [d.name for d in fitted.decisions].count("mixture") == 1


def test_printed_plan_has_a_row_per_choice():
    text = str(_plan(300))
    assert text.startswith("Fit plan: 300 rows, 3 features, 1 target")
    names = [
        "early_stopping",
        "batch_size",
        "max_iter",
        "learning_rate",
        "n_iter_no_change",
        "noise",
        "weight_averaging",
        "gate_size",
        "n_networks",
        "select_features",
        "input_encoding",
        "n_components",
        "refit",
        "tree_blend",
        "calibrate",
        "n_threads",
        "mixture",
    ]
    lines = [line.split()[0] for line in text.splitlines()[1:] if line[2] != " "]
    assert lines == names
    assert repr(_plan(300)) == text
    assert "min(5, 1,000 // 300)" in text
    assert "'auto': no gate; not tried below 100 held-out rows" in text


@pytest.mark.parametrize(
    "params, width",
    [
        ({}, 0),  # "auto": no gate below 100 held-out rows
        ({"gate_size": 0}, 0),
        ({"gate_size": 8, "hidden_layer_sizes": (16, 8)}, 8),
        ({"gate_size": 5}, 5),
        ({"gate_size": "auto", "hidden_layer_sizes": ()}, 0),
    ],
)
def test_gate_size_is_resolved_in_the_plan_and_built(params, width):
    X, y = np.random.RandomState(0).randn(60, 2), np.random.RandomState(1).randn(60)
    est = MDNRegressor(max_iter=2, n_networks=1, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert est.fit_plan_.gate_size == width
    module = est.net_.module_
    for member in getattr(module, "members", [module]):  # a network, its refit
        gate = member.gate
        assert (0 if gate is None else gate[0].out_features) == width


def test_fitted_plan_agrees_with_the_fitted_model():
    X, y = linear_data(160, p=3)
    reg = tiny_mdn(SMALL, n_components="auto", max_iter=10).fit(X, y)
    plan = reg.fit_plan_
    assert isinstance(plan, FitPlan)
    assert plan.n_networks == reg.n_networks_ == 5
    assert plan.refit == reg.refit_
    assert plan.components_kept == reg.n_components_
    assert np.array_equal(plan.features_kept, reg.support_)
    mixture = _decision(plan, "mixture")
    assert int(mixture.value) == reg.predict_dist(X[:2]).n_components
    assert "features kept" in str(plan) and "components kept" in str(plan)
    assert str(pickle.loads(pickle.dumps(reg)).fit_plan_) == str(plan)


def test_verbose_prints_the_plan_once(capsys):
    X, y = linear_data(60)
    reg = tiny_mdn(verbose=1, n_networks=1).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("Fit plan:") == 1
    assert str(make_plan(reg, 60, 2)).splitlines()[1] in out


def test_ensemble_exposes_its_members_plans():
    X, y = linear_data(60)
    ens = MDNEnsembleRegressor(tiny_mdn(), n_estimators=2, random_state=0).fit(X, y)
    assert ens.fit_plans_ == [m.fit_plan_ for m in ens.estimators_]
    assert all(plan.n_networks == 1 for plan in ens.fit_plans_)


def test_warm_start_plans_one_network_and_keeps_the_fitted_choices():
    plan = _plan(150, warm_start=True)
    assert plan.n_networks == 1 and not plan.refit
    assert "warm_start" in _decision(plan, "refit").rule
    with pytest.raises(ValueError, match="warm_start=True continues"):
        _plan(150, warm_start=True, n_networks=2)
    X, y = linear_data(160, p=3)
    reg = tiny_mdn(SMALL, warm_start=True, max_iter=10).fit(X, y)
    first = reg.fit_plan_
    reg.fit(X[:100], y[:100])  # continues the fitted network
    assert reg.fit_plan_ is not first and reg.fit_plan_.n_samples == 100
    assert not reg.fit_plan_.select_features
    assert reg.fit_plan_.n_components == reg.n_components_
    assert "continues" in _decision(reg.fit_plan_, "n_components").rule
