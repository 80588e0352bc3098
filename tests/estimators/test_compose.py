"""Intervals, quantiles and samples through Pipeline, TTR and searches."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mdn import (
    MDNRegressor,
    predict_dist,
    predict_interval,
    predict_quantiles,
    sample,
)

FAST = {"hidden_layer_sizes": (16,), "max_iter": 20, "random_state": 0}
LEVELS = [0.05, 0.25, 0.5, 0.9]


@pytest.fixture(scope="module")
def positive_data():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 10, size=(300, 2))
    y = np.exp(0.2 * X[:, 0] + 0.3 * rng.normal(size=300))
    return X, y


@pytest.fixture(scope="module")
def log_pipeline(positive_data):
    X, y = positive_data
    ttr = TransformedTargetRegressor(
        MDNRegressor(**FAST), func=np.log, inverse_func=np.exp
    )
    return make_pipeline(StandardScaler(), ttr).fit(X, y)


def test_log_target_quantiles_map_exactly(log_pipeline, positive_data):
    X, _ = positive_data
    mdn = log_pipeline[-1].regressor_
    inner = mdn.predict_quantiles(log_pipeline[0].transform(X), LEVELS)
    got = predict_quantiles(log_pipeline, X, LEVELS)
    assert got.shape == (len(X), len(LEVELS))
    assert_allclose(got, np.exp(inner), rtol=1e-12)
    assert (np.diff(got, axis=1) > 0).all()
    # The median maps to the median; the mean does not (exp is convex).
    assert_allclose(
        got[:, 2], np.exp(mdn.predict_dist(log_pipeline[0].transform(X)).ppf(0.5))
    )


def test_interval_and_samples_in_original_units(log_pipeline, positive_data):
    X, y = positive_data
    interval = predict_interval(log_pipeline, X, coverage=0.8)
    assert interval.shape == (len(X), 2)
    assert (interval > 0).all() and (interval[:, 0] < interval[:, 1]).all()
    draws = sample(log_pipeline, X, n_samples=2000, random_state=0)
    assert draws.shape == (len(X), 2000) and (draws > 0).all()
    # Samples and quantiles describe the same distribution.
    inside = ((draws >= interval[:, :1]) & (draws <= interval[:, 1:])).mean()
    assert inside == pytest.approx(0.8, abs=0.01)
    assert_allclose(
        sample(log_pipeline, X, n_samples=3, random_state=1),
        sample(log_pipeline, X, n_samples=3, random_state=1),
    )


def test_decreasing_transform_is_exact():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 1))
    y = X[:, 0] + 0.5 * rng.normal(size=200)
    ttr = TransformedTargetRegressor(
        MDNRegressor(**FAST), func=np.negative, inverse_func=np.negative
    ).fit(X, y)
    inner = ttr.regressor_.predict_dist(X)
    got = predict_quantiles(ttr, X, LEVELS)
    expected = -inner.ppf(1 - np.asarray(LEVELS))
    assert_allclose(got, expected, rtol=1e-12)
    assert (np.diff(got, axis=1) > 0).all()


def test_multi_output_transformer_and_search():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    Y = np.c_[100 * X[:, 0], X[:, 1] - 50] + rng.normal(size=(200, 2))
    ttr = TransformedTargetRegressor(MDNRegressor(**FAST), transformer=StandardScaler())
    search = GridSearchCV(ttr, {"regressor__n_components": [1, 2]}, cv=2).fit(X, Y)
    q = predict_quantiles(search, X, LEVELS)
    assert q.shape == (200, 2, len(LEVELS))
    scaler = search.best_estimator_.transformer_
    inner = search.best_estimator_.regressor_.predict_quantiles(X, LEVELS)
    expected = inner * scaler.scale_[None, :, None] + scaler.mean_[None, :, None]
    assert_allclose(q, expected, rtol=1e-10)
    assert sample(search, X, n_samples=5, random_state=0).shape == (200, 5, 2)
    assert predict_interval(search, X).shape == (200, 2, 2)


def test_predict_dist_through_pipeline_and_errors(log_pipeline, positive_data):
    X, y = positive_data
    pipe = make_pipeline(StandardScaler(), MDNRegressor(**FAST)).fit(X, np.log(y))
    dist = predict_dist(pipe, X)
    assert_allclose(dist.mean(), pipe.predict(X))
    # The error names the functions that map through the transform.
    match = r"not a Gaussian mixture; use sklearn_mdn\.predict_quantiles\(model"
    with pytest.raises(TypeError, match=match):
        predict_dist(log_pipeline, X)
    with pytest.raises(ValueError, match="coverage"):
        predict_interval(pipe, X, coverage=1.5)


def test_an_inverse_undefined_at_predicted_values_raises():
    """Modelled in exp space, the mixture puts probability below zero, where
    ``np.log`` cannot map it back: an error, not NaN."""
    from sklearn_mdn import predict_hdr

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 1))
    y = rng.normal(size=200)  # exp(y) has much of its mass near zero
    model = TransformedTargetRegressor(
        MDNRegressor(**FAST), func=np.exp, inverse_func=np.log, check_inverse=False
    ).fit(X, y)
    match = "inverse target transform is not defined"
    with pytest.raises(ValueError, match=match):
        predict_interval(model, X[:20], 0.999)
    with pytest.raises(ValueError, match=match):
        predict_quantiles(model, X[:20], [0.001, 0.5])
    with pytest.raises(ValueError, match=match):
        predict_hdr(model, X[:20], 0.999)
    with pytest.raises(ValueError, match=match):
        sample(model, X[:20], n_samples=200, random_state=0)


def test_grid_search_by_nll_through_a_log_target(positive_data):
    # The log-target recipe and selection by likelihood, together: every
    # candidate gets a finite score, in the original units of y.
    from sklearn_mdn.metrics import neg_nll_scorer

    X, y = positive_data
    ttr = TransformedTargetRegressor(
        MDNRegressor(**FAST), func=np.log, inverse_func=np.exp
    )
    search = GridSearchCV(
        ttr, {"regressor__alpha": [1e-4, 1e-1]}, scoring=neg_nll_scorer, cv=2
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Scoring failed")
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    # Each fold's score is the log-scale model's minus the mean log y.
    model = search.best_estimator_
    log_scale = -neg_nll_scorer(model.regressor_, X, np.log(y))
    assert neg_nll_scorer(model, X, y) == pytest.approx(
        -(log_scale + np.mean(np.log(y))), rel=1e-6
    )


# ----------------------------------------------------- what a user meets
def test_wrappers_expose_only_predict_and_the_functions_see_through(positive_data):
    """scikit-learn's wrappers raise a bare AttributeError for our methods
    (not ours to change); the module functions give the same answers."""
    X, y = positive_data
    search = GridSearchCV(MDNRegressor(**FAST), {"alpha": [1e-4]}, cv=2).fit(
        X[:100], y[:100]
    )
    with pytest.raises(AttributeError):
        search.predict_interval(X[:5])
    assert_allclose(
        predict_interval(search, X[:5], 0.8),
        search.best_estimator_.predict_interval(X[:5], 0.8),
    )


def test_an_unsupported_estimator_names_the_function_and_the_wrappers(
    positive_data,
):
    X, y = positive_data
    pipe = make_pipeline(StandardScaler(), LinearRegression())
    search = GridSearchCV(pipe, {"linearregression__fit_intercept": [True]}, cv=2)
    search.fit(X, y)
    for function, name in [
        (predict_interval, "predict_interval"),
        (predict_quantiles, "predict_quantiles"),
        (sample, "sample"),
        (predict_dist, "predict_dist"),
    ]:
        with pytest.raises(TypeError) as info:
            function(search, X)
        message = str(info.value)
        assert message.startswith(f"sklearn_mdn.{name} takes a fitted MDNRegressor")
        for wrapper in [
            "Pipeline",
            "TransformedTargetRegressor",
            "GridSearchCV",
            "RandomizedSearchCV",
        ]:
            assert wrapper in message
        # Where the search led: the regressor that has no predict_dist.
        assert message.endswith("got LinearRegression inside GridSearchCV > Pipeline.")
    with pytest.raises(TypeError, match="got str[.]$"):
        predict_interval("model", X)


def test_a_search_without_refit_says_so(positive_data):
    from sklearn.exceptions import NotFittedError

    X, y = positive_data
    search = GridSearchCV(
        MDNRegressor(**FAST), {"alpha": [1e-4]}, cv=2, refit=False
    ).fit(X[:100], y[:100])
    with pytest.raises(NotFittedError, match="fitted with refit=False.*refit=True"):
        predict_interval(search, X[:5])
    # An unfitted search is "not fitted yet", as scikit-learn says it.
    with pytest.raises(NotFittedError, match="not fitted yet"):
        predict_interval(GridSearchCV(MDNRegressor(), {"alpha": [1e-4]}), X[:5])


def test_a_scorer_names_itself_in_the_error(positive_data):
    from sklearn_mdn.metrics import neg_nll_scorer

    X, y = positive_data
    linear = LinearRegression().fit(X, y)
    with pytest.raises(TypeError, match="^A distribution scorer .* takes a fitted"):
        neg_nll_scorer(linear, X, y)


def test_one_unwrapping_serves_every_caller():
    from sklearn.exceptions import NotFittedError

    from sklearn_mdn._estimators._compose import _unwrap

    X, y = np.linspace(0, 1, 60).reshape(-1, 1), np.linspace(1, 2, 60)
    mdn = MDNRegressor(**FAST, n_components=1, n_networks=1)
    wrapped = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), mdn), func=np.log, inverse_func=np.exp
    ).fit(X, y)
    inner, X_inner, transformers = _unwrap(wrapped, X)
    assert inner is wrapped.regressor_[-1]
    assert_allclose(X_inner, wrapped.regressor_[0].transform(X))
    assert transformers == [wrapped.transformer_]
    # Without X (the Dask path): nothing is transformed.
    assert _unwrap(wrapped)[1] is None
    # The innermost regressor is checked fitted, for every caller.
    with pytest.raises(NotFittedError):
        _unwrap(make_pipeline(StandardScaler(), MDNRegressor()))
