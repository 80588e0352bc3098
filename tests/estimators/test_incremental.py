"""Training that continues: partial_fit and warm_start."""

import pickle
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
from _helpers import sine_data
from numpy.testing import assert_array_equal

from sklearn_mdn import MDNRegressor
from sklearn_mdn._estimators._incremental import Plateau

X, Y = sine_data(600)
BLOCKS = [(X[i : i + 200], Y[i : i + 200]) for i in range(0, 600, 200)]
NET = {"hidden_layer_sizes": (8,), "random_state": 0}


def _stream(model=None, blocks=BLOCKS, trip=None):
    """``partial_fit`` over ``blocks``; ``trip`` (a round trip) between calls."""
    model = MDNRegressor(**NET) if model is None else model
    for X_block, y_block in blocks:
        model.partial_fit(X_block, y_block)
        if trip is not None:
            model = trip(model)
    return model


def _state(model):
    """What a continued call depends on: predictions, weights, Adam's state."""
    optimizer = model.net_.optimizer_.state_dict()["state"]
    return (
        model.predict_interval(X),
        [p.detach().numpy().copy() for p in model.net_.module_.parameters()],
        [s["exp_avg_sq"].numpy().copy() for s in optimizer.values()],
        model.net_.optimizer_.param_groups[0]["lr"],
    )


def _assert_same(a, b):
    assert_array_equal(a[0], b[0])
    for x, y in zip(a[1] + a[2], b[1] + b[2]):
        assert_array_equal(x, y)
    assert a[3] == b[3]


@pytest.fixture(scope="module")
def streamed():
    return _stream()


def test_partial_fit_trains_one_epoch_a_call(streamed):
    assert streamed.n_iter_ == 3
    assert len(streamed.loss_curve_) == 3
    # 200 rows a call at 32 rows a step: 7 steps.
    assert streamed.n_steps_ == 21
    assert streamed.loss_curve_[-1] < streamed.loss_curve_[0]
    assert streamed.n_components_ == 5
    assert streamed.n_networks_ == 1
    assert not streamed.refit_
    assert streamed.spread_factor_ == 1.0
    assert streamed.validation_loss_curve_ is None
    assert streamed.support_.all()
    assert streamed.predict(X).shape == (600,)


def test_first_call_fixes_the_standardisation(streamed):
    first_X, first_y = BLOCKS[0]
    assert_array_equal(streamed.x_mean_, first_X.mean(axis=0))
    assert streamed.y_mean_ == pytest.approx(first_y.mean(), rel=1e-12)
    # The input domain spans every call's rows.
    assert (streamed.input_bounds_[0] <= X.min(axis=0)).all()
    assert (streamed.input_bounds_[1] >= X.max(axis=0)).all()


def test_same_calls_give_the_same_model_bit_for_bit(streamed):
    _assert_same(_state(_stream()), _state(streamed))


def test_calls_in_threads_match_sequential_ones(streamed):
    with ThreadPoolExecutor(max_workers=3) as pool:
        for model in pool.map(lambda _: _stream(), range(3)):
            _assert_same(_state(model), _state(streamed))


@pytest.mark.parametrize("trip", ["pickle", "joblib"])
def test_a_round_trip_between_calls_changes_nothing(streamed, trip, tmp_path):
    def round_trip(model):
        if trip == "pickle":
            return pickle.loads(pickle.dumps(model))
        joblib.dump(model, tmp_path / "m.joblib")
        return joblib.load(tmp_path / "m.joblib")

    _assert_same(_state(_stream(trip=round_trip)), _state(streamed))


def test_each_call_shuffles_its_rows_differently():
    """The same rows given twice are not shuffled the same way twice: the
    second epoch is not a replay of the first."""
    model = MDNRegressor(**NET)
    model.partial_fit(*BLOCKS[0])
    first = model.net_.history[-1, "batches"]
    model.partial_fit(*BLOCKS[0])
    second = model.net_.history[-1, "batches"]
    assert [b["train_loss"] for b in first] != [b["train_loss"] for b in second]


@pytest.mark.parametrize(
    "X_bad, y_bad, match",
    [
        (X[:50, :1], Y[:50], "X has 1 features, but MDNRegressor is expecting 2"),
        (X[:50], np.c_[Y[:50], Y[:50]], "y has 2 targets, but MDNRegressor was"),
        (X[:50], np.full(50, np.nan), "y contains NaN"),
        (X[:50], Y[:49], "inconsistent numbers of samples"),
    ],
    ids=["columns", "targets", "nan", "rows"],
)
def test_a_bad_call_raises_and_loses_nothing(X_bad, y_bad, match):
    model = _stream(blocks=BLOCKS[:1])
    before = _state(model)
    with pytest.raises(ValueError, match=match):
        model.partial_fit(X_bad, y_bad)
    _assert_same(_state(model), before)
    assert model.n_iter_ == 1
    # Training goes on as if the bad call had not been made.
    _assert_same(_state(_stream(model, BLOCKS[1:])), _state(_stream()))


def test_other_feature_names_raise():
    pd = pytest.importorskip("pandas", reason="feature names need pandas")
    model = MDNRegressor(**NET)
    model.partial_fit(pd.DataFrame(BLOCKS[0][0], columns=["a", "b"]), BLOCKS[0][1])
    with pytest.raises(ValueError, match="feature names should match"):
        model.partial_fit(pd.DataFrame(BLOCKS[1][0], columns=["a", "c"]), BLOCKS[1][1])
    assert model.n_iter_ == 1


def test_bad_sample_weight_raises():
    model = MDNRegressor(**NET)
    with pytest.raises(ValueError, match="Negative values"):
        model.partial_fit(*BLOCKS[0], sample_weight=-np.ones(200))
    assert not hasattr(model, "net_")


def test_sample_weight_zero_leaves_rows_out():
    """Rows of weight zero are dropped, as in fit."""
    X_block, y_block = BLOCKS[0]
    weight = np.r_[np.ones(150), np.zeros(50)]
    weighted = MDNRegressor(**NET).partial_fit(X_block, y_block, sample_weight=weight)
    dropped = MDNRegressor(**NET).partial_fit(X_block[:150], y_block[:150])
    _assert_same(_state(weighted), _state(dropped))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_networks": 3}, "n_networks=3"),
        ({"select_features": True}, "select_features=True"),
        ({"refit": True}, "refit=True"),
        ({"calibrate": "conformal"}, "calibrate='conformal'"),
    ],
)
def test_what_needs_held_out_rows_is_refused(params, match):
    model = MDNRegressor(**NET, **params)
    with pytest.raises(ValueError, match=f"partial_fit cannot apply {match}"):
        model.partial_fit(*BLOCKS[0])
    assert not hasattr(model, "n_features_in_")


def test_a_later_divergence_restores_the_model():
    model = _stream(blocks=BLOCKS[:1])
    before = _state(model)
    with pytest.raises(FloatingPointError, match="left as it was before this call"):
        model.partial_fit(X[:200], 1e30 * Y[:200])
    _assert_same(_state(model), before)
    assert model.n_iter_ == len(model.net_.history) == 1


def test_fit_after_partial_fit_starts_again():
    params = {**NET, "max_iter": 3, "n_networks": 1, "refit": False}
    fresh = MDNRegressor(**params)
    continued = _stream(MDNRegressor(**params))
    fresh.fit(X, Y)
    continued.fit(X, Y)
    assert not hasattr(continued, "_partial_fit_state_")
    assert_array_equal(continued.predict_interval(X), fresh.predict_interval(X))


def test_partial_fit_continues_a_fitted_network_and_its_optimizer():
    params = {**NET, "max_iter": 3, "n_networks": 1, "refit": False}
    model = MDNRegressor(**params).fit(X, Y)
    optimizer = model.net_.optimizer_
    steps = next(iter(optimizer.state.values()))["step"].item()
    lr = optimizer.param_groups[0]["lr"]
    model.partial_fit(*BLOCKS[0])
    assert model.net_.optimizer_ is optimizer
    assert next(iter(optimizer.state.values()))["step"].item() == steps + 7
    assert optimizer.param_groups[0]["lr"] == lr
    assert model.n_iter_ == 4
    assert model.validation_loss_curve_ is None


def test_partial_fit_trains_stacked_networks_together():
    """Five networks on 100 rows (n_networks="auto"): trained on as one
    mixture, every member's weights move."""
    model = MDNRegressor(**NET, max_iter=3).fit(X[:100], Y[:100])
    assert model.n_networks_ == 5
    before = [p.detach().clone() for p in model.net_.module_.parameters()]
    model.partial_fit(X[:100], Y[:100])
    after = list(model.net_.module_.parameters())
    assert all(not np.array_equal(a.detach(), b) for a, b in zip(after, before))
    assert np.isfinite(model.predict(X)).all()


def test_partial_fit_refuses_a_conformal_model():
    model = MDNRegressor(**NET, max_iter=3, calibrate="conformal").fit(X, Y)
    before = model.predict_interval(X)
    with pytest.raises(ValueError, match="conformal scores would no longer hold"):
        model.partial_fit(*BLOCKS[0])
    assert_array_equal(model.predict_interval(X), before)


def test_the_adaptive_rate_falls_after_patience_calls_without_progress():
    net = SimpleNamespace(optimizer_=SimpleNamespace(param_groups=[{"lr": 1.0}]))
    plateau = Plateau(patience=2, tol=0.1)
    rates = []
    for loss in [1.0, 0.5, 0.45, 0.5, 0.41, 0.3, 0.3, 0.3]:
        plateau.step(net, loss)
        rates.append(net.optimizer_.param_groups[0]["lr"])
    # Not better by tol: 0.45, 0.5, 0.41 (three misses > patience 2: cut).
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.2, 0.2, 0.2, 0.2]
    constant = Plateau(patience=None, tol=0.1)
    for loss in [1.0] * 10:
        constant.step(net, loss)
    assert net.optimizer_.param_groups[0]["lr"] == 0.2


def test_the_rate_schedule_of_partial_fit_follows_the_calls():
    """n_iter_no_change=3: the rate is cut after one call that does not
    improve; with learning_rate="constant" never."""
    blocks = [BLOCKS[0]] * 12
    adaptive = _stream(MDNRegressor(**NET, n_iter_no_change=3, tol=1.0), blocks)
    constant = _stream(
        MDNRegressor(**NET, n_iter_no_change=3, tol=1.0, learning_rate="constant"),
        blocks,
    )
    assert adaptive.net_.optimizer_.param_groups[0]["lr"] < 3e-3 / 5**4
    assert constant.net_.optimizer_.param_groups[0]["lr"] == 3e-3


# ----------------------------------------------------------------------
# warm_start
# ----------------------------------------------------------------------
def _fit(model, X_fit=X, y_fit=Y):
    return model.fit(X_fit, y_fit)


def test_warm_start_continues_from_the_fitted_network():
    warm = _fit(MDNRegressor(**NET, max_iter=5, warm_start=True))
    cold_start = warm.validation_loss_curve_[0]
    best = min(warm.validation_loss_curve_)
    support, x_mean = warm.support_, warm.x_mean_
    _fit(warm, X[:300], Y[:300])
    # It starts where the first fit ended, not from new weights.
    assert warm.validation_loss_curve_[0] < cold_start
    assert warm.validation_loss_curve_[0] < best + 0.1
    # The standardisation and the choices of the first fit are kept.
    assert_array_equal(warm.x_mean_, x_mean)
    assert_array_equal(warm.support_, support)
    assert warm.n_iter_ == len(warm.validation_loss_curve_)


def test_warm_start_default_is_a_new_fit():
    model = _fit(MDNRegressor(**NET, max_iter=3, n_networks=1, refit=False))
    second = _fit(model, X[:300], Y[:300]).predict(X)
    fresh = _fit(
        MDNRegressor(**NET, max_iter=3, n_networks=1, refit=False), X[:300], Y[:300]
    )
    assert_array_equal(second, fresh.predict(X))


def test_warm_start_trains_one_network():
    """On 100 rows, "auto" would average five networks and refit one."""
    model = _fit(MDNRegressor(**NET, max_iter=3, warm_start=True), X[:100], Y[:100])
    assert model.n_networks_ == 1 and not model.refit_
    with pytest.raises(ValueError, match="warm_start=True continues a single network"):
        _fit(MDNRegressor(**NET, max_iter=3, warm_start=True, n_networks=2))


def test_warm_start_refuses_a_stacked_model_and_keeps_it():
    model = _fit(MDNRegressor(**NET, max_iter=3), X[:100], Y[:100])
    before = model.predict(X)
    model.set_params(warm_start=True)
    with pytest.raises(ValueError, match="continues a single network, but this"):
        _fit(model)
    assert_array_equal(model.predict(X), before)


@pytest.mark.parametrize(
    "change, X_new, match",
    [
        ({}, X[:, :1], "X has 1 features"),
        ({"hidden_layer_sizes": (16,)}, X, "whose hidden_layer_sizes is"),
        ({"n_components": 2}, X, "whose n_components is 5"),
        ({"gate_size": 4}, X, "whose gate_size is 0; got gate_size=4"),
    ],
    ids=["columns", "network", "components", "gate"],
)
def test_warm_start_with_other_data_or_network_raises_and_keeps_the_fit(
    change, X_new, match
):
    model = _fit(MDNRegressor(**NET, max_iter=3, warm_start=True))
    before = model.predict(X)
    model.set_params(**change)
    with pytest.raises(ValueError, match=match):
        _fit(model, X_new, Y)
    assert_array_equal(model.predict(X), before)
