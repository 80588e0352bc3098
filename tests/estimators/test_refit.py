"""The refit on all the rows: ``MDNRegressor(refit="auto")``."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from _helpers import SMALL, sine_data, tiny_mdn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn._nn._data import TensorDataset, to_tensor
from sklearn_mdn._nn._module import StackedMixture
from sklearn_mdn._nn._schedule import ReplaySchedule, stopped_schedule

# Enough epochs and patience for the adaptive schedule to cut the rate.
PARAMS = {
    **SMALL,
    "max_iter": 60,
    "n_iter_no_change": 6,
    "n_networks": 1,
    "input_encoding": "none",
    "tree_blend": "none",  # the networks' own mixtures
}


def _fit(X, y, **params):
    return tiny_mdn({**PARAMS, **params}).fit(X, y)


def _batches(n_rows, batch_size):
    return -(-n_rows // batch_size)


def test_refit_joins_the_stopped_network_with_equal_weight():
    X, y = sine_data(300)
    reg = _fit(X, y)
    plain = _fit(X, y, refit=False)
    assert reg.refit_ and not plain.refit_
    stacked = reg.net_.module_
    assert isinstance(stacked, StackedMixture) and len(stacked.members) == 2
    # The stopped network is the one a fit without refit keeps, bit for bit,
    # and so are its curves and its spread factor, fitted before the refit.
    for a, b in zip(
        stacked.members[0].state_dict().values(),
        plain.net_.module_.state_dict().values(),
    ):
        assert torch.equal(a, b)
    assert reg.validation_loss_curve_ == plain.validation_loss_curve_
    assert reg.n_iter_ == plain.n_iter_
    assert reg.spread_factor_ == plain.spread_factor_ != 1.0
    # The prediction is the equal mixture of the two networks' mixtures.
    X_test, y_test = X[:20], y[:20]
    both = reg.predict_dist(X_test)
    assert both.n_components == 2 * reg.n_components_
    reg.net_.module_ = stacked.members[1]
    refit_alone = reg.predict_dist(X_test).log_prob(y_test)
    stopped = plain.predict_dist(X_test).log_prob(y_test)
    assert_allclose(
        both.log_prob(y_test),
        np.logaddexp(stopped, refit_alone) - np.log(2),
        rtol=1e-5,
    )


def test_refit_trains_on_every_row_for_the_epochs_kept():
    X, y = sine_data(300)
    reg = _fit(X, y)
    plain = _fit(X, y, refit=False)
    schedule = stopped_schedule(plain.net_)
    batch_size = plain.net_.batch_size
    refit_steps = len(schedule) * _batches(300, batch_size)
    assert reg.n_steps_ == plain.n_steps_ + refit_steps
    assert 0 < len(schedule) <= plain.n_iter_


def test_stopped_schedule_is_the_learning_rate_of_each_epoch_kept():
    X, y = sine_data(300)
    reg = _fit(X, y, refit=False)
    net = reg.net_
    schedule = stopped_schedule(net)
    best = dict(net.callbacks_)["early_stopping"].best_epoch_
    assert len(schedule) == best
    lr = reg.learning_rate_init
    assert schedule[0] == pytest.approx(lr)
    assert all(a >= b for a, b in zip(schedule, schedule[1:]))
    assert {round(r / lr, 6) for r in schedule} <= {1.0, 0.2, 0.04, 0.008}
    constant = _fit(X, y, refit=False, learning_rate="constant")
    assert set(stopped_schedule(constant.net_)) == {lr}


def test_replay_schedule_sets_each_epochs_rate():
    X, y = sine_data(100)
    rates = [3e-3, 3e-3, 6e-4, 1.2e-4]
    seen = []

    class Record(ReplaySchedule):
        def on_epoch_end(self, net, **kwargs):
            seen.append(net.optimizer_.param_groups[0]["lr"])

    reg = _fit(X, y, refit=False)
    net = reg.net_
    net.set_params(
        callbacks=[("lr_schedule", Record(rates))],
        max_epochs=len(rates),
        train_split=None,
    )
    net.fit(
        TensorDataset(
            to_tensor(X, reg.x_mean_, reg.x_scale_, "cpu"),
            to_tensor(y[:, None], reg.y_mean_, reg.y_scale_, "cpu"),
        ),
        None,
    )
    assert seen == rates


def test_auto_refits_one_network_up_to_a_hundred_thousand_rows(monkeypatch):
    import sklearn_mdn._estimators._plan as plan_module

    X, y = sine_data(200)
    assert not _fit(X, y, n_networks=2).refit_
    assert _fit(X, y).refit_
    monkeypatch.setattr(plan_module, "MAX_REFIT_ROWS", 199)
    assert not _fit(X, y).refit_
    assert _fit(X, y, refit=True).refit_


def test_each_network_is_refitted():
    X, y = sine_data(200)
    reg = _fit(X, y, n_networks=2, refit=True)
    assert reg.refit_ and reg.n_networks_ == 2
    assert len(reg.net_.module_.members) == 4
    assert reg.spread_factor_ == 1.0
    assert reg.predict_dist(X[:5]).n_components == 4 * reg.n_components_


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"early_stopping": False}, "early_stopping=True"),
        ({"input_l1": 0.01}, "input_l1 > 0"),
        ({"calibrate": "conformal"}, "never trained on"),
    ],
)
def test_refit_needs_held_out_rows_that_chose_one_run(params, reason):
    X, y = sine_data(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # a tiny budget
        reg = _fit(X, y, **params)  # "auto": silently off
    assert not reg.refit_
    assert not isinstance(reg.net_.module_, StackedMixture)
    with pytest.warns(UserWarning, match=f"refit=True is not applied: .*{reason}"):
        reg = _fit(X, y, refit=True, **params)
    assert not reg.refit_


def test_refit_with_weights_and_two_targets_pickles():
    X, y = sine_data(200)
    Y = np.column_stack([y, y + 0.1 * X[:, 1]])
    w = np.random.RandomState(0).uniform(0.5, 2, size=200)
    reg = tiny_mdn(PARAMS).fit(X, Y, sample_weight=w)
    assert reg.refit_
    again = pickle.loads(pickle.dumps(reg))
    assert_array_equal(again.predict(X[:10]), reg.predict(X[:10]))
    assert np.isfinite(reg.score(X, Y))


def test_refit_integrates_out_missing_targets():
    X, y = sine_data(300)
    Y = np.column_stack([y, y + 0.1 * X[:, 1]])
    Y[::7, 1] = np.nan
    reg = tiny_mdn(PARAMS, missing_targets="marginalize").fit(X, Y)
    assert reg.refit_
    assert reg.predict_dist(X[:3]).n_components == 2 * reg.n_components_
    assert np.isfinite(reg.predict(X)).all()


def _spoiled_refits(monkeypatch, spoiled):
    """Make the refits of the networks numbered in ``spoiled`` fail: their
    weights are shaken after training."""
    from sklearn_mdn._estimators import _networks

    train_refit = _networks._refit

    def refit(estimator, plan, train_network, seeds, fold, net):
        out = train_refit(estimator, plan, train_network, seeds, fold, net)
        if fold in spoiled:
            g = torch.Generator().manual_seed(fold)
            with torch.no_grad():
                for p in out.module_.parameters():
                    p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype))
        return out

    monkeypatch.setattr(_networks, "_refit", refit)


def test_a_failed_refit_is_dropped(monkeypatch):
    X, y = sine_data(300)
    plain = _fit(X, y, refit=False)
    kept = _fit(X, y)
    rows = {d.name: d for d in kept.fit_plan_.decisions}
    assert rows["refits kept"].value == "1"
    assert "no refit's NLL" in rows["refits kept"].rule
    _spoiled_refits(monkeypatch, {0})
    reg = _fit(X, y)
    rows = {d.name: d for d in reg.fit_plan_.decisions}
    assert rows["refits kept"].value == "0"
    assert "1 refit dropped, which failed" in rows["refits kept"].rule
    assert rows["mixture"].value == str(reg.n_components_)
    assert reg.fit_plan_.n_refits == 0 and not reg.refit_
    # What predicts is the network alone: the fit without a refit.
    assert not isinstance(reg.net_.module_, StackedMixture)
    assert_allclose(
        reg.predict_dist(X[:20]).log_prob(y[:20]),
        plain.predict_dist(X[:20]).log_prob(y[:20]),
    )


def test_only_the_failed_refit_of_several_networks_is_dropped(monkeypatch):
    X, y = sine_data(300)
    _spoiled_refits(monkeypatch, {1})
    reg = _fit(X, y, n_networks=2, refit=True)
    assert reg.fit_plan_.n_refits == 1 and reg.refit_
    assert len(reg.net_.module_.members) == 3
    rows = {d.name: d for d in reg.fit_plan_.decisions}
    assert "2 networks of" in rows["mixture"].rule
    assert "averaged with 1 refit" in rows["mixture"].rule
