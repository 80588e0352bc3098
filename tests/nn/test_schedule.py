"""The training schedule and its regularisers: budget, adaptive learning rate,
noise, the L1 penalty on the inputs."""

import math
import warnings

import numpy as np
import pytest
import torch
from _helpers import sine_data, tiny_mdn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators import _networks, _plan
from sklearn_mdn._estimators._plan import make_plan
from sklearn_mdn._nn import _schedule
from sklearn_mdn._nn._schedule import overfitting

X, Y = sine_data(400)


@pytest.mark.parametrize("n", [100, 4_000, 1_000_000])
def test_auto_budget_counts_patience_in_steps(n):
    budget = make_plan(MDNRegressor(noise="auto"), n)
    n_train = n - round(0.2 * n)
    steps_per_epoch = math.ceil(n_train / budget.batch_size)
    assert budget.lr_patience == max(5, math.ceil(500 / steps_per_epoch))
    # Stops after one cut of the rate that did not help (round 11).
    assert budget.n_iter_no_change == 2 * budget.lr_patience
    # At most about 30,000 steps, within 20 to 2000 epochs.
    assert 20 <= budget.max_iter <= 2000
    assert budget.max_iter * steps_per_epoch <= 30_000 + steps_per_epoch
    assert budget.noise == pytest.approx(min(0.2, 1 / math.sqrt(n_train)))
    assert make_plan(MDNRegressor(), n).noise == 0.0


def test_explicit_patience_and_noise_are_used():
    budget = make_plan(MDNRegressor(n_iter_no_change=30, noise=0.05), 1000)
    assert (budget.lr_patience, budget.n_iter_no_change) == (10, 30)
    assert budget.noise == 0.05


def test_overfitting_needs_an_early_best_then_a_steady_far_rise():
    first, best = 2.0, 1.0
    rising = [first, 1.5, best, *np.linspace(1.1, 1.6, 10)]  # best: epoch 3
    assert overfitting(rising, 3, 10)
    assert not overfitting(rising, 3, 2)  # best after the first 2 epochs
    # Oscillating about a level as far above the best: no steady rise.
    swings = [first, 1.5, best, *([1.6, 1.1] * 5)]
    assert not overfitting(swings, 3, 10)
    # Rising steadily, but less than a quarter of the way back to epoch 1.
    creeping = [first, 1.5, best, *np.linspace(1.01, 1.2, 10)]
    assert not overfitting(creeping, 3, 10)
    assert not overfitting([first, best, *[np.nan] * 10], 2, 10)
    assert not overfitting([first, best, *[best] * 10], 2, 10)
    # The same held-out rise while the training loss falls: overfitting; while
    # it rises too (past the best epoch's): a run gone unstable, not stopped.
    falling = [2.0, 1.0, 0.8, *np.linspace(0.7, 0.2, 10)]
    assert overfitting(rising, 3, 10, train=falling)
    unstable = [2.0, 1.0, 0.8, *np.linspace(0.9, 1.5, 10)]
    assert not overfitting(rising, 3, 10, train=unstable)


def test_a_network_that_overfits_stops_at_its_first_cut(monkeypatch):
    # Noisy rows, a wide network: the held-out loss is best after a few
    # epochs and then rises steadily. It stops where the first cut of the
    # rate would come, with no ConvergenceWarning, on skorch's loop as on
    # the stacked one, bit for bit.
    monkeypatch.setattr(_plan, "PATIENCE_STEPS", 60)  # 20 epochs here
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 6))
    y = X[:, 0] + rng.normal(size=120)
    params = {
        "hidden_layer_sizes": (64, 64),
        "n_networks": 1,
        "select_features": False,
        "input_encoding": "none",
        "n_components": 2,
        "random_state": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = MDNRegressor(**params).fit(X, y)
        with monkeypatch.context() as patch:
            patch.setattr(_networks, "stacked_supported", lambda est, plan: False)
            skorch_loop = MDNRegressor(**params).fit(X, y)
    stopper = dict(reg.net_.callbacks_)["early_stopping"]
    patience = reg.fit_plan_.lr_patience
    assert reg.fit_plan_.overfit_stop and stopper.overfit_
    assert stopper.best_epoch_ <= patience
    assert reg.n_iter_ == stopper.best_epoch_ + patience < 2 * patience
    assert len(set(reg.net_.history[:, "event_lr"])) == 1  # no cut
    assert dict(skorch_loop.net_.callbacks_)["early_stopping"].overfit_
    assert skorch_loop.n_iter_ == reg.n_iter_
    for a, b in zip(
        reg.net_.module_.parameters(), skorch_loop.net_.module_.parameters()
    ):
        assert_array_equal(a.detach(), b.detach())
    # Without the stop it trains 2 x lr_patience epochs past the same best
    # epoch, whose weights it keeps: the same fit, at a higher cost.
    with monkeypatch.context() as patch:
        patch.setattr(_schedule, "overfitting", lambda *args: False)
        full = MDNRegressor(**params).fit(X, y)
    assert full.n_iter_ == stopper.best_epoch_ + 2 * patience
    for a, b in zip(reg.net_.module_.parameters(), full.net_.module_.parameters()):
        assert_array_equal(a.detach(), b.detach())
    # A given n_iter_no_change is followed to its end.
    given = MDNRegressor(**params, n_iter_no_change=2 * patience).fit(X, y)
    assert not given.fit_plan_.overfit_stop
    assert given.n_iter_ > reg.n_iter_


def test_overfit_stop_is_planned_for_auto_adaptive_early_stopping():
    assert make_plan(MDNRegressor(), 1000).overfit_stop
    for params in (
        {"n_iter_no_change": 20},
        {"learning_rate": "constant"},
        {"early_stopping": False},
    ):
        assert not make_plan(MDNRegressor(**params), 1000).overfit_stop, params


def test_adaptive_learning_rate_is_divided_by_five_on_plateaus():
    reg = tiny_mdn(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=1e-2).fit(
        X, Y
    )
    lrs = np.array(reg.net_.history[:, "event_lr"])
    assert lrs[0] == pytest.approx(1e-2)
    drops = lrs[1:] / lrs[:-1]
    assert np.all(np.isclose(drops, 1.0) | np.isclose(drops, 0.2))
    assert np.isclose(drops, 0.2).sum() >= 1
    # Training stopped on the held-out likelihood, not at max_iter.
    assert reg.n_iter_ < 300


def test_max_iter_that_ends_training_first_warns():
    # Early stopping ended the fit above (n_iter_ < 300): no warning. At
    # max_iter=5 the held-out likelihood is still improving.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        tiny_mdn(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=1e-2).fit(
            X, Y
        )
        # Without a hold-out, max_iter is the budget asked for.
        tiny_mdn(max_iter=5, early_stopping=False).fit(X, Y)
    with pytest.warns(ConvergenceWarning, match="^Training stopped at max_iter=5 "):
        reg = tiny_mdn(max_iter=5, n_networks=1).fit(X, Y)
    assert reg.n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match="^Training 2 of 2 networks stopped"):
        tiny_mdn(max_iter=5, n_networks=2).fit(X, Y)


def test_constant_learning_rate_stays():
    reg = tiny_mdn(learning_rate="constant", max_iter=20).fit(X, Y)
    assert "event_lr" not in reg.net_.history[-1]
    lr = reg.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(reg.learning_rate_init)


def test_noise_changes_the_fit_reproducibly():
    quiet = tiny_mdn(noise=0.0, max_iter=5).fit(X, Y).predict(X)
    noisy = [tiny_mdn(noise=0.3, max_iter=5).fit(X, Y).predict(X) for _ in range(2)]
    assert_array_equal(noisy[0], noisy[1])
    assert not np.allclose(quiet, noisy[0])


def test_noise_follows_the_learning_rate_down(monkeypatch):
    # On skorch's loop (the stacked loop draws the same noise: test_stacked.py).
    from sklearn_mdn._estimators import _networks
    from sklearn_mdn._nn import _training

    monkeypatch.setattr(_networks, "stacked_supported", lambda est, plan: False)
    seen = []
    iterate = _training.TensorBatches.__iter__

    def recording(self):
        if self.shuffle:
            seen.append(self.noise)
        return iterate(self)

    monkeypatch.setattr(_training.TensorBatches, "__iter__", recording)
    reg = tiny_mdn(
        hidden_layer_sizes=(16,),
        max_iter=300,
        learning_rate_init=1e-2,
        noise=0.3,
        n_networks=1,
        select_features=False,
        input_encoding="none",
        refit=False,
    ).fit(X, Y)
    lrs = np.array(reg.net_.history[:, "event_lr"])
    # Each epoch's noise is 0.3 times the learning rate it started with,
    # relative to the initial rate (event_lr is recorded at the epoch's end,
    # before a reduction takes effect in the next epoch).
    assert len(seen) == reg.n_iter_
    assert_allclose(seen, 0.3 * lrs / 1e-2, rtol=1e-6)
    assert seen[-1] < 0.3


@pytest.mark.parametrize(
    "n_train, batch_size",
    [
        (100, 32),
        (1_000, 32),
        (1_100, 33),
        (7_700, 88),
        (1_000_000, 1000),
        (4_000_000, 3906),  # 4,000,000 // 1024: an epoch of 1024 steps
    ],
)
def test_auto_batch_size(n_train, batch_size):
    budget = make_plan(MDNRegressor(early_stopping=False), n_train)
    assert budget.batch_size == batch_size


@pytest.mark.parametrize("activation", ["silu", "gelu"])  # by hand, autograd
@pytest.mark.parametrize("hidden", [(16,), ()])
def test_input_l1_switches_off_the_features_that_do_not_matter(activation, hidden):
    X6, Y6 = sine_data(400, p=6)  # y depends on the first column only

    def first_layer(input_l1):
        reg = tiny_mdn(
            input_l1=input_l1,
            activation=activation,
            hidden_layer_sizes=hidden,
            max_iter=100,
            learning_rate_init=1e-2,
            n_networks=1,
            select_features=False,
            input_encoding="none",
            refit=False,
        ).fit(X6, Y6)
        module = reg.net_.module_
        layer = module.trunk[0] if hidden else module.head
        return reg, layer.weight.detach().numpy()

    _, dense = first_layer(0.0)
    assert np.all(dense != 0)
    reg, sparse = first_layer(1.0)
    assert np.mean(sparse[:, 1:] == 0) > 0.9
    assert np.abs(sparse[:, 0]).sum() > 0.3
    if hidden:
        assert reg.score(X6, Y6) > 0.8


def _record_relaxed_phase(monkeypatch):
    """Patch ``MixtureNet.relax_inputs`` to record the first layer's weights
    and the epochs done when the relaxed phase starts, and its rates after."""
    from sklearn_mdn._nn._module import first_layer
    from sklearn_mdn._nn._training import MixtureNet

    seen = {}
    relax = MixtureNet.relax_inputs

    def record(net):
        seen["weight"] = first_layer(net.module_).weight.detach().clone()
        seen["epochs"] = len(net.history)
        relax(net)
        seen["lr"] = net.optimizer_.param_groups[0]["lr"]

    monkeypatch.setattr(MixtureNet, "relax_inputs", record)
    return seen


def test_input_l1_relaxed_phase_keeps_the_zeros_and_frees_the_rest(monkeypatch):
    X6, Y6 = sine_data(400, p=6)
    seen = _record_relaxed_phase(monkeypatch)
    reg = tiny_mdn(
        input_l1=2.0,  # strong enough to shrink the kept weights much
        hidden_layer_sizes=(16,),
        max_iter=400,
        n_iter_no_change=30,
        learning_rate_init=1e-2,
        n_networks=1,
    ).fit(X6, Y6)
    before = seen["weight"].numpy()
    after = reg.net_.module_.trunk[0].weight.detach().numpy()
    assert np.mean(before[:, 1:] == 0) > 0.5
    # The penalty's zeros stay zero; the weights it kept are trained on,
    # unshrunk, from one cut of the schedule below the first rate.
    assert_array_equal(after[before == 0], 0)
    assert np.any(after[before != 0] != before[before != 0])
    assert seen["lr"] == pytest.approx(1e-2 / 5)
    assert seen["epochs"] < reg.n_iter_ <= 400
    # It was kept: its held-out likelihood beat the penalised phase's.
    valid = reg.validation_loss_curve_
    assert min(valid[seen["epochs"] :]) < min(valid[: seen["epochs"]])


def test_input_l1_relaxed_phase_is_dropped_when_it_does_not_help(monkeypatch):
    from sklearn_mdn._nn._training import MixtureNet

    X6, Y6 = sine_data(400, p=6)
    seen = _record_relaxed_phase(monkeypatch)
    relax = MixtureNet.relax_inputs

    def spoil(net):
        # The relaxed phase starts from ruined weights and cannot move.
        seen["state"] = {k: v.clone() for k, v in net.module_.state_dict().items()}
        relax(net)
        with torch.no_grad():
            for p in net.module_.parameters():
                p.add_(3.0)
        for group in net.optimizer_.param_groups:
            group["lr"] = 0.0

    monkeypatch.setattr(MixtureNet, "relax_inputs", spoil)
    reg = tiny_mdn(
        input_l1=0.5,
        hidden_layer_sizes=(16,),
        max_iter=300,
        n_iter_no_change=15,
        learning_rate_init=1e-2,
        n_networks=1,
    ).fit(X6, Y6)
    assert "state" in seen  # the relaxed phase ran
    for key, value in reg.net_.module_.state_dict().items():
        assert_array_equal(value.numpy(), seen["state"][key].numpy())


def test_input_l1_relaxed_phase_needs_epochs_left(monkeypatch):
    seen = _record_relaxed_phase(monkeypatch)
    reg = tiny_mdn(input_l1=0.5, max_iter=3, n_networks=1).fit(X, Y)
    assert reg.n_iter_ == 3
    assert seen == {}  # the budget was spent on the penalised phase
