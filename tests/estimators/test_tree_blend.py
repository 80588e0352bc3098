"""The mixture's mean moved toward boosted trees': ``MDNRegressor(tree_blend=...)``."""

import numpy as np
import pytest
from _helpers import SMALL, linear_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.ensemble import HistGradientBoostingRegressor

from sklearn_mdn import MDNRegressor, load_model, save_model
from sklearn_mdn._estimators._blend import tree_arrays
from sklearn_mdn._nn._trees import _predict_numpy, predict_trees
from sklearn_mdn.metrics import mean_negative_log_likelihood

PARAMS = {**SMALL, "max_iter": 40, "random_state": 0}


def _steps(n, seed=0):
    """``y = floor(4 x0) + 0.1 N(0, 1)``: steps that trees fit at once and a
    small network only smooths."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, np.floor(4 * X[:, 0]) + 0.1 * rng.normal(size=n)


def _trees_mean(model, X):
    """The blend's trees' prediction of ``X``, in target units (n, d)."""
    inputs = (X - model.x_mean_) / model.x_scale_
    return predict_trees(model.blend_trees_, inputs) * model.y_scale_ + model.y_mean_


def test_tree_arrays_predict_as_the_trees():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = X[:, 0] ** 2 + np.sin(3 * X[:, 1]) + 0.1 * rng.normal(size=400)
    X[rng.rand(*X.shape) < 0.1] = np.nan  # missing values go where trained to
    model = HistGradientBoostingRegressor(random_state=0).fit(X, y)
    X_new = rng.normal(size=(300, 3))
    X_new[rng.rand(*X_new.shape) < 0.1] = np.nan
    trees = [tree_arrays(model)]
    # scikit-learn's compiled traversal and the numpy one alike, bit for bit.
    assert_array_equal(predict_trees(trees, X_new)[:, 0], model.predict(X_new))
    assert_array_equal(_predict_numpy(trees, X_new)[:, 0], model.predict(X_new))


def test_auto_blends_where_the_trees_fit_the_mean_better():
    X, y = _steps(600)
    X_test, y_test = _steps(2000, seed=1)
    alone = MDNRegressor(**PARAMS, tree_blend="none").fit(X, y)
    blended = MDNRegressor(**PARAMS).fit(X, y)
    assert blended.tree_blend_ > 0
    assert blended.fit_plan_.tree_blend_kept == blended.tree_blend_
    assert "lower than without the trees" in str(blended.fit_plan_)
    assert blended.score(X_test, y_test) > alone.score(X_test, y_test)
    nll = [-m.predict_dist(X_test).log_prob(y_test).mean() for m in (alone, blended)]
    assert nll[1] < nll[0] - 0.05


def test_auto_leaves_the_fit_alone_where_the_trees_do_not_help():
    # A linear, nearly noise-free mean: trees only approximate it by steps,
    # so even the least share makes the test NLL worse.
    X, y = linear_data(600, noise=0.01)
    X_test, y_test = linear_data(2000, noise=0.01, seed=1)
    params = {**PARAMS, "hidden_layer_sizes": (32, 32), "max_iter": 200}
    alone = MDNRegressor(**params, tree_blend="none").fit(X, y)
    least = MDNRegressor(**params, tree_blend=0.1).fit(X, y)
    assert mean_negative_log_likelihood(
        y_test, least.predict_dist(X_test)
    ) > mean_negative_log_likelihood(y_test, alone.predict_dist(X_test))
    auto = MDNRegressor(**params).fit(X, y)
    assert auto.tree_blend_ == 0.0 and auto.blend_trees_ is None
    assert auto.fit_plan_.tree_blend_kept == 0.0
    dist, other = auto.predict_dist(X_test), alone.predict_dist(X_test)
    assert_array_equal(dist.means, other.means)
    assert_array_equal(dist.scale_tril, other.scale_tril)


def test_a_given_share_moves_every_component_by_it():
    X, y = _steps(300)
    alone = MDNRegressor(**PARAMS, tree_blend="none").fit(X, y)
    half = MDNRegressor(**PARAMS, tree_blend=0.5).fit(X, y)
    assert half.tree_blend_ == 0.5
    assert str(half.fit_plan_).count("tree blend kept") == 0
    X_test, _ = _steps(100, seed=1)
    a, b = alone.predict_dist(X_test), half.predict_dist(X_test)
    shift = 0.5 * (_trees_mean(half, X_test) - a.mean().reshape(-1, 1))
    assert_allclose(b.means, a.means + shift[:, None, :], atol=1e-10)
    assert_allclose(half.predict(X_test), alone.predict(X_test) + shift[:, 0])
    assert_array_equal(b.weights, a.weights)


def test_every_target_has_its_trees():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    Y = np.column_stack([np.floor(4 * X[:, 0]), np.sin(3 * X[:, 1])])
    Y += 0.1 * rng.normal(size=Y.shape)
    Y[rng.rand(300) < 0.2, 1] = np.nan  # trees of target 1 skip these rows
    model = MDNRegressor(**PARAMS, tree_blend=1.0, missing_targets="marginalize")
    model.fit(X, Y)
    assert len(model.blend_trees_) == 2
    X_test = rng.uniform(-1, 1, size=(50, 2))
    # A share of 1 puts the mean on the trees'.
    assert_allclose(model.predict(X_test), _trees_mean(model, X_test), atol=1e-9)


def test_no_blend_without_held_out_rows_or_when_training_goes_on():
    X, y = _steps(300)
    model = MDNRegressor(**PARAMS, early_stopping=False).fit(X, y)
    assert model.tree_blend_ == 0.0 and model.blend_trees_ is None
    assert "'auto' needs held-out rows" in str(model.fit_plan_)
    model = MDNRegressor(**PARAMS, tree_blend=1.0).fit(X, y)
    model.partial_fit(X, y)
    assert model.tree_blend_ == 0.0 and model.blend_trees_ is None
    warm = MDNRegressor(**PARAMS, tree_blend=1.0, warm_start=True).fit(X, y)
    assert warm.tree_blend_ == 1.0
    warm.fit(X, y)
    assert warm.tree_blend_ == 0.0


def test_the_blend_survives_a_model_file(tmp_path):
    X, y = _steps(300)
    model = MDNRegressor(**PARAMS, tree_blend=0.75).fit(X, y)
    save_model(model, tmp_path / "m.mdn")
    loaded = load_model(tmp_path / "m.mdn")
    assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("value", [1.5, -0.1, "always"])
def test_bad_tree_blend_is_refused(value):
    X, y = _steps(50)
    with pytest.raises(ValueError, match="tree_blend"):
        MDNRegressor(**PARAMS, tree_blend=value).fit(X, y)
