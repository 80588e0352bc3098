"""MDNEnsembleRegressor: the average of its members' mixtures."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_mdn import MDNEnsembleRegressor, MDNRegressor

MEMBER = MDNRegressor(
    n_components=2, hidden_layer_sizes=(16,), learning_rate_init=1e-2, max_iter=60
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = np.sin(3 * X[:, 0]) + (0.1 + 0.3 * (X[:, 1] > 0)) * rng.normal(size=300)
    return X, y


@pytest.fixture(scope="module")
def ensemble(data):
    X, y = data
    return MDNEnsembleRegressor(MEMBER, n_estimators=3, random_state=0).fit(X, y)


def test_distribution_is_the_average_of_the_members(ensemble, data):
    X, y = data
    dist = ensemble.predict_dist(X)
    # Each member's network and its refit on all the rows.
    assert all(m.refit_ for m in ensemble.estimators_)
    assert dist.n_components == 3 * 2 * MEMBER.n_components
    members = np.array([m.predict_dist(X).log_prob(y) for m in ensemble.estimators_])
    assert_allclose(dist.log_prob(y), logsumexp(members, axis=0) - np.log(3))
    # Jensen: the ensemble's log density is at least the members' average.
    assert (dist.log_prob(y) >= members.mean(axis=0) - 1e-12).all()
    mean = np.mean([m.predict(X) for m in ensemble.estimators_], axis=0)
    assert_allclose(ensemble.predict(X), mean)


def test_members_differ_and_fit_is_reproducible(ensemble, data):
    X, y = data
    preds = [m.predict(X) for m in ensemble.estimators_]
    assert not np.allclose(preds[0], preds[1])
    again = MDNEnsembleRegressor(MEMBER, n_estimators=3, random_state=0)
    expected = ensemble.predict_interval(X)
    assert_array_equal(again.fit(X, y).predict_interval(X), expected)
    # Workers run one torch thread, as the tests do (conftest.py): the same
    # float32 sums in the same order, hence identical members.
    again.set_params(n_jobs=2).fit(X, y)
    assert_array_equal(again.predict_interval(X), expected)


def test_predictions_and_multi_output(data):
    X, y = data
    Y = np.c_[y, -y + 0.1 * X[:, 0]]
    ens = MDNEnsembleRegressor(MEMBER, n_estimators=2, random_state=0).fit(X, Y)
    assert ens.predict(X).shape == (300, 2)
    assert ens.predict_interval(X).shape == (300, 2, 2)
    assert ens.predict_quantiles(X, [0.1, 0.9]).shape == (300, 2, 2)
    assert ens.sample(X, n_samples=3, random_state=0).shape == (300, 3, 2)
    assert ens.score(X, Y) > 0.5


def test_default_member_and_errors(data):
    X, y = data
    ens = MDNEnsembleRegressor(n_estimators=1, random_state=0)
    with pytest.raises(ValueError, match="n_estimators"):
        MDNEnsembleRegressor(n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        ens.fit(X, np.where(np.arange(300) == 3, np.nan, y))
    with pytest.raises(ValueError, match="features"):
        MDNEnsembleRegressor(MEMBER, n_estimators=1).fit(X, y).predict(X[:, :1])


def test_default_member_is_not_calibrated(ensemble, data):
    """The default member leaves the spread to the ensemble; a given one keeps
    its own ``calibrate``."""
    X, y = data
    ens = MDNEnsembleRegressor(n_estimators=1, random_state=0).fit(X[:40], y[:40])
    (member,) = ens.estimators_
    assert member.calibrate is False
    assert member.spread_factor_ == 1.0
    assert member.get_params() == MDNRegressor(
        calibrate=False, n_networks=1
    ).get_params() | {"random_state": member.random_state}
    assert all(m.calibrate for m in ensemble.estimators_)
    assert any(m.spread_factor_ != 1.0 for m in ensemble.estimators_)


def test_failed_refit_leaves_no_stale_members():
    """A refit whose member raises leaves the ensemble unfitted."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2))
    member = MDNRegressor(hidden_layer_sizes=(4,), max_iter=2)
    ens = MDNEnsembleRegressor(member, n_estimators=2, random_state=0).fit(X, X[:, 0])
    y_bad = np.full(60, np.nan)  # every target missing: each member raises
    with pytest.raises(ValueError):
        ens.fit(X[:, :1], y_bad)
    assert not hasattr(ens, "estimators_")
    assert not hasattr(ens, "n_features_in_")
    with pytest.raises(NotFittedError):
        ens.predict(X)


def test_member_params_are_set_on_the_members_in_turn(data):
    X, y = data
    tiny = clone(MEMBER).set_params(max_iter=2)
    variants = [{}, {"alpha": 0.01, "input_l1": 0.05}]
    ens = MDNEnsembleRegressor(
        tiny, n_estimators=5, member_params=variants, random_state=0
    ).fit(X, y)
    assert [m.alpha for m in ens.estimators_] == [1e-4, 0.01, 1e-4, 0.01, 1e-4]
    assert [m.input_l1 for m in ens.estimators_] == [0.0, 0.05, 0.0, 0.05, 0.0]
    # Otherwise the members are the estimator's clones, one network each.
    assert {m.hidden_layer_sizes for m in ens.estimators_} == {(16,)}
    assert {m.n_networks for m in ens.estimators_} == {1}
    # The first member is the one an ensemble without member_params trains.
    plain = MDNEnsembleRegressor(tiny, n_estimators=1, random_state=0).fit(X, y)
    assert_array_equal(plain.predict(X[:5]), ens.estimators_[0].predict(X[:5]))


def test_member_params_may_ask_for_several_networks(data):
    X, y = data
    tiny = clone(MEMBER).set_params(max_iter=2)
    ens = MDNEnsembleRegressor(
        tiny, n_estimators=2, member_params=[{"n_networks": 2}, {}], random_state=0
    ).fit(X[:150], y[:150])
    assert [m.n_networks_ for m in ens.estimators_] == [2, 1]


@pytest.mark.parametrize(
    ("member_params", "match"),
    [
        ([], "non-empty list of dicts"),
        ([{}, "alpha"], "non-empty list of dicts"),
        ([{"alhpa": 0.1}], r"\['alhpa'\], which are not parameters of MDNRegressor"),
        ([{"random_state": 3}], "cannot set random_state"),
    ],
)
def test_bad_member_params(data, member_params, match):
    X, y = data
    ens = MDNEnsembleRegressor(MEMBER, n_estimators=2, member_params=member_params)
    with pytest.raises(ValueError, match=match):
        ens.fit(X, y)
    assert not hasattr(ens, "estimators_")
