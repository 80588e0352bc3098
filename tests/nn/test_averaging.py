"""Weight averaging (``weight_averaging``): the held-out rows choose, each
epoch, between the trained weights and their moving average; both training
loops do the same, and a refit ends on what its network kept."""

import contextlib
import io
import warnings

import numpy as np
import pytest
from _helpers import SMALL, linear_data, sine_data
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _networks
from sklearn_mdn._estimators._plan import make_plan
from sklearn_mdn._nn._schedule import stopped_schedule
from sklearn_mdn._nn._training import average_decay


def _fit(X, y, *, skorch_loop=False, monkeypatch=None, **params):
    est = MDNRegressor(
        **{
            "hidden_layer_sizes": (16,),
            "n_components": 2,
            "select_features": False,
            "input_encoding": "none",
            "max_iter": 40,
            "n_networks": 1,
            "random_state": 0,
            "weight_averaging": "auto",
            **params,
        }
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore", ConvergenceWarning)
        if skorch_loop:
            patch = stack.enter_context(monkeypatch.context())
            patch.setattr(_networks, "stacked_supported", lambda est, plan: False)
        return est.fit(X, y)


def test_the_average_warms_up_then_keeps_its_decay():
    assert average_decay(0.99, 1) == pytest.approx(2 / 11)
    assert average_decay(0.99, 100) == pytest.approx(101 / 110)
    assert average_decay(0.99, 10_000) == 0.99
    assert average_decay(0.5, 1) == pytest.approx(2 / 11)  # below its warm-up
    assert average_decay(0.5, 50) == 0.5


@pytest.mark.parametrize(
    ("params", "decay", "shown"),
    [
        ({"weight_averaging": "auto"}, 0.99, "0.99"),
        ({"weight_averaging": "none"}, 0.0, "none"),
        ({"weight_averaging": 0.9}, 0.9, "0.9"),
        ({"weight_averaging": "auto", "early_stopping": False}, 0.0, "none"),
    ],
)
def test_the_plan_resolves_the_averaging(params, decay, shown):
    plan = make_plan(MDNRegressor(**params), 300, 3)
    assert plan.average == decay
    (row,) = [d for d in plan.decisions if d.name == "weight_averaging"]
    assert row.value == shown
    if decay:
        assert f"about {round(1 / (1 - decay))} steps" in row.rule
        assert "held-out rows choose" in row.rule
    elif params.get("early_stopping") is False:
        assert "without early stopping" in row.rule


def test_each_epoch_records_which_weights_the_held_out_rows_chose():
    # A high rate makes the trained weights noisy: their average wins epochs,
    # the best one among them here.
    X, y = linear_data(300)
    est = _fit(X, y, learning_rate_init=0.03)
    chosen = list(est.net_.history[:, "valid_averaged"])
    assert len(chosen) == len(est.net_.history)
    assert stopped_schedule(est.net_).averaged
    none = _fit(X, y, learning_rate_init=0.03, weight_averaging="none")
    assert "valid_averaged" not in none.net_.history[0]
    assert not np.allclose(est.predict(X[:20]), none.predict(X[:20]))
    # The trained weights are the same until the schedules part; an epoch's
    # held-out loss is the lower of theirs and their average's.
    first = next(i for i, c in enumerate(chosen) if c)
    avg_loss = est.net_.history[: first + 1, "valid_loss"]
    plain_loss = none.net_.history[: first + 1, "valid_loss"]
    assert avg_loss[first] < plain_loss[first]
    assert np.array_equal(avg_loss[:first], plain_loss[:first])


@pytest.mark.parametrize("refit", [False, True])
def test_both_loops_average_alike(monkeypatch, refit):
    X, y = linear_data(300)
    params = {"learning_rate_init": 0.03, "refit": refit}
    stacked = _fit(X, y, **params)
    one_by_one = _fit(X, y, skorch_loop=True, monkeypatch=monkeypatch, **params)
    # The same recipe; the loops round differently (as without averaging).
    np.testing.assert_allclose(
        stacked.predict_dist(X[:20]).means,
        one_by_one.predict_dist(X[:20]).means,
        rtol=1e-4,
        atol=1e-5,
    )
    assert list(stacked.net_.history[:, "valid_averaged"]) == list(
        one_by_one.net_.history[:, "valid_averaged"]
    )


def test_verbose_does_not_change_an_averaged_fit():
    X, y = sine_data(300, noise=0.3)
    quiet = _fit(X, y, learning_rate_init=0.02)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        loud = _fit(X, y, learning_rate_init=0.02, verbose=1)
    assert "weight_averaging" in out.getvalue()
    np.testing.assert_allclose(quiet.predict(X[:20]), loud.predict(X[:20]), rtol=1e-4)
    assert list(quiet.net_.history[:, "valid_averaged"]) == list(
        loud.net_.history[:, "valid_averaged"]
    )


@pytest.mark.parametrize(
    ("data", "lr", "averaged"), [(linear_data, 0.03, True), (sine_data, 0.01, False)]
)
def test_a_refit_ends_on_what_its_network_kept(monkeypatch, data, lr, averaged):
    refits = []

    def refit(*args, **kwargs):
        refits.append(real_refit(*args, **kwargs))
        return refits[-1]

    real_refit = _networks._refit
    monkeypatch.setattr(_networks, "_refit", refit)
    X, y = data(300)
    est = _fit(X, y, learning_rate_init=lr, refit=True)
    run = stopped_schedule(est.net_)
    best = len(run)
    assert run.averaged == averaged
    assert run.averaged == bool(est.net_.history[best - 1, "valid_averaged"])
    (refit,) = refits
    assert refit.average == (0.99 if averaged else 0.0)
    assert len(refit.history) == best


@pytest.mark.parametrize("averaging", ["auto", 0.9])
def test_partial_fit_does_not_average(averaging):
    X, y = linear_data(200)
    est = MDNRegressor(**SMALL, random_state=0, weight_averaging=averaging)
    est = est.partial_fit(X, y).partial_fit(X, y)
    assert est.net_.average == 0.0
    assert "valid_averaged" not in est.net_.history[-1]
    plain = MDNRegressor(**SMALL, random_state=0, weight_averaging="none")
    plain = plain.partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(est.predict(X[:20]), plain.predict(X[:20]))


def test_a_fit_without_held_out_rows_ends_on_the_average():
    X, y = linear_data(200)
    params = {**SMALL, "random_state": 0, "early_stopping": False}
    averaged = MDNRegressor(**params, weight_averaging=0.9).fit(X, y)
    plain = MDNRegressor(**params, weight_averaging="none").fit(X, y)
    assert averaged.fit_plan_.average == 0.9
    # The same steps, then the average: close to the trained weights, not equal.
    a, b = averaged.predict(X[:20]), plain.predict(X[:20])
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(a, b, atol=0.3)
