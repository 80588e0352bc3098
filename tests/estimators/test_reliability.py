"""Reliability promises, one row each, and where each is tested.

- seeded fits in 4 threads equal sequential ones, 20 times: test_reproducibility
- GridSearchCV(n_jobs=2) on the threading backend: test_reproducibility
- fits on Dask worker threads and in loky processes: test_reproducibility
- global torch and numpy RNG untouched by fit and sample: test_reproducibility
- random_state=None never uses numpy's global RNG: test_reproducibility
- a row far outside the training inputs warns, with the count: here
- no false alarm on training or held-out rows: here
- every warning names the caller's line, not one inside sklearn-mdn or
  scikit-learn: here, test_persistence, test_dask
- CLI, a non-numeric cell is an error naming file, line, column: test_cli
- CLI, a non-finite prediction is never written silently: test_cli
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mdn import (
    MDNEnsembleRegressor,
    MDNRegressor,
    OutOfDomainWarning,
    predict_interval,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(1200, 4))
    y = X[:, 0] - X[:, 1] ** 2 / 4 + 0.2 * rng.normal(size=1200)
    return X[:1000], y[:1000], X[1000:]


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return MDNRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X, y)


PREDICTIONS = {
    "predict": lambda reg, X: reg.predict(X),
    "predict_dist": lambda reg, X: reg.predict_dist(X).mean(),
    "predict_interval": lambda reg, X: reg.predict_interval(X),
    "predict_quantiles": lambda reg, X: reg.predict_quantiles(X),
    "sample": lambda reg, X: reg.sample(X, random_state=0),
    "wrapper predict_interval": lambda reg, X: predict_interval(reg, X),
}


@pytest.mark.parametrize("method", PREDICTIONS)
@pytest.mark.parametrize("far", [1e3, 1e6, -1e6])
def test_far_off_rows_warn_with_their_count(fitted, data, method, far):
    _, _, X_test = data
    X = X_test[:10].copy()
    X[[2, 7], 1] = far
    with pytest.warns(OutOfDomainWarning, match="^2 of 10 rows") as record:
        PREDICTIONS[method](fitted, X)
    assert [w.filename for w in record if w.category is OutOfDomainWarning] == [
        __file__
    ]


@pytest.mark.parametrize("method", PREDICTIONS)
def test_no_false_alarm_on_training_or_held_out_rows(fitted, data, method):
    X_train, _, X_test = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfDomainWarning)
        PREDICTIONS[method](fitted, X_train)
        PREDICTIONS[method](fitted, X_test)


def test_domain_is_the_training_range_widened_by_half(fitted, data):
    X_train = data[0]
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    assert_array_equal(fitted.input_bounds_[0], low - 0.5 * (high - low))
    assert_array_equal(fitted.input_bounds_[1], high + 0.5 * (high - low))
    inside = fitted.input_bounds_[1] - 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfDomainWarning)
        fitted.predict(inside[None, :])
    with pytest.warns(OutOfDomainWarning):
        fitted.predict((fitted.input_bounds_[1] + 1e-9)[None, :])


def test_ensemble_warns_once(data):
    X, y, X_test = data
    member = MDNRegressor(hidden_layer_sizes=(8,), max_iter=2)
    ens = MDNEnsembleRegressor(member, n_estimators=3, random_state=0).fit(X, y)
    X_far = X_test[:5].copy()
    X_far[0, 3] = 1e6
    with pytest.warns(OutOfDomainWarning, match="^1 of 5 rows") as record:
        ens.predict_interval(X_far)
    assert [w.filename for w in record if w.category is OutOfDomainWarning] == [
        __file__
    ]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"refit": True}, "refit=True is not applied"),
        ({"select_features": True}, "select_features=True is not applied"),
        ({"calibrate": "conformal"}, 'calibrate="conformal" needs the rows'),
    ],
)
@pytest.mark.parametrize("in_pipeline", [False, True])
def test_fit_warnings_name_the_callers_line(data, params, message, in_pipeline):
    # Raised several calls deep in fit, and in a Pipeline deeper still: the
    # warning points at the line that called fit, here.
    X, y, _ = data
    model = MDNRegressor(
        hidden_layer_sizes=(8,), max_iter=2, early_stopping=False, **params
    )
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    with pytest.warns(UserWarning, match=message) as record:
        model.fit(X[:100], y[:100])
    assert [w.filename for w in record] == [__file__]
