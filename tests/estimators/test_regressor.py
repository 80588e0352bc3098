"""MDNRegressor: learning, reproducibility and the scikit-learn ecosystem."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mdn import MDNRegressor, NormalMixture

FAST = {"hidden_layer_sizes": (32, 32), "max_iter": 40, "random_state": 0}


def _heteroscedastic(n, seed=0):
    """y = sin(3x) + noise whose scale grows tenfold across the input range."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    scale = 0.05 + 0.5 * (X[:, 0] + 1) / 2
    y = np.sin(3 * X[:, 0]) + scale * rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def data():
    return _heteroscedastic(600)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return MDNRegressor(**FAST).fit(X, y)


def test_learns_heteroscedastic_noise():
    """Held-out NLL beats the best homoscedastic Gaussian around the true mean.

    The homoscedastic baseline is given the true conditional mean and the
    best single noise level (the oracle), so the margin measures what the
    network learned about the noise itself. The expected gap for this
    problem is about 0.35 nats per row; we require 0.2.
    """
    X, y = _heteroscedastic(1500, seed=1)
    X_test, y_test = _heteroscedastic(2000, seed=2)
    reg = MDNRegressor(hidden_layer_sizes=(32, 32), max_iter=100, random_state=0)
    nll = -reg.fit(X, y).predict_dist(X_test).log_prob(y_test).mean()
    resid = y_test - np.sin(3 * X_test[:, 0])
    homoscedastic = -norm(0, resid.std()).logpdf(resid).mean()
    assert nll < homoscedastic - 0.2, (nll, homoscedastic)


def test_learns_bimodal_targets():
    """On a two-branch inverse problem the mixture beats any single Gaussian."""
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(1000, 1))
    branch = rng.choice([-1.0, 1.0], size=1000)
    y = branch * (0.5 + X[:, 0]) + 0.05 * rng.normal(size=1000)
    X_test = rng.uniform(0, 1, size=(500, 1))
    branch = rng.choice([-1.0, 1.0], size=500)
    y_test = branch * (0.5 + X_test[:, 0]) + 0.05 * rng.normal(size=500)
    reg = MDNRegressor(
        n_components=3, hidden_layer_sizes=(32, 32), max_iter=60, random_state=0
    )
    nll = -reg.fit(X, y).predict_dist(X_test).log_prob(y_test).mean()
    # Best single Gaussian given the true conditional mean (0) and variance.
    single = -norm(0, y_test.std()).logpdf(y_test).mean()
    assert nll < single - 1.0, (nll, single)


def test_output_shapes_and_dtypes(data, fitted):
    X, y = data
    assert fitted.predict(X).shape == (len(X),)
    assert fitted.predict(X).dtype == np.float64
    assert fitted.predict_interval(X, coverage=0.8).shape == (len(X), 2)
    assert fitted.predict_quantiles(X, [0.1, 0.5, 0.9]).shape == (len(X), 3)
    assert fitted.sample(X, n_samples=4, random_state=0).shape == (len(X), 4)
    dist = fitted.predict_dist(X)
    assert isinstance(dist, NormalMixture) and len(dist) == len(X)
    assert fitted.n_iter_ >= 1 and fitted.n_steps_ >= fitted.n_iter_
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert len(fitted.validation_loss_curve_) == fitted.n_iter_


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_multi_output(covariance_type):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    noise = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=400)
    Y = np.c_[X[:, 0], X[:, 1]] + 0.3 * noise
    reg = MDNRegressor(
        covariance_type=covariance_type,
        hidden_layer_sizes=(32, 32),
        max_iter=300,
        random_state=0,
    ).fit(X, Y)
    assert reg.n_outputs_ == 2
    assert reg.predict(X).shape == (400, 2)
    assert reg.predict_interval(X).shape == (400, 2, 2)
    assert reg.sample(X, n_samples=3, random_state=0).shape == (400, 3, 2)
    assert reg.score(X, Y) > 0.5
    cov = reg.predict_dist(X).covariance()
    corr = cov[:, 0, 1] / np.sqrt(cov[:, 0, 0] * cov[:, 1, 1])
    if covariance_type == "full":
        # The noise correlation (0.9) is learnt within the joint mixture.
        assert np.median(corr) > 0.75
    # A 2-D column target keeps its 2-D shape.
    reg = MDNRegressor(**FAST).fit(X, Y[:, :1])
    assert reg.predict(X).shape == (400, 1)


def test_reproducible_and_global_rng_untouched(data):
    X, y = data
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()
    pred1 = MDNRegressor(**FAST).fit(X, y).predict(X)
    pred2 = MDNRegressor(**FAST).fit(X, y).predict(X)
    assert_array_equal(pred1, pred2)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert_array_equal(numpy_state[1], np.random.get_state()[1])
    pred3 = MDNRegressor(**{**FAST, "random_state": 1}).fit(X, y).predict(X)
    assert not np.array_equal(pred1, pred3)


def test_random_state_instance_is_consumed(data):
    X, y = data
    rs = np.random.RandomState(0)
    reg = MDNRegressor(**{**FAST, "random_state": rs, "max_iter": 3})
    pred1 = reg.fit(X, y).predict(X)
    pred2 = reg.fit(X, y).predict(X)
    assert not np.array_equal(pred1, pred2)


def test_early_stopping_restores_best_weights(data):
    X, y = data
    reg = MDNRegressor(
        hidden_layer_sizes=(64, 64),
        learning_rate_init=1e-2,
        max_iter=300,
        n_iter_no_change=5,
        refit=False,  # the early-stopped network alone
        random_state=0,
    ).fit(X, y)
    assert reg.n_iter_ < 300  # stopped early
    best = int(np.argmin(reg.validation_loss_curve_))
    assert reg.n_iter_ - 1 - best == 5
    # The kept weights are those of the best epoch, not of the last one.
    valid = reg.net_.train_split(reg.net_.get_dataset(_dataset_of(reg, X, y)))[1]
    with torch.no_grad():
        loss = reg.net_.get_loss(
            reg.net_.module_(valid.X), (valid.y, valid.sample_weight)
        )
    log_scale = np.log(reg.y_scale_).sum()
    assert loss.item() + log_scale == pytest.approx(
        min(reg.validation_loss_curve_), rel=1e-4
    )


def _dataset_of(reg, X, y):
    from sklearn_mdn._nn._data import TensorDataset, to_tensor

    n = len(X)
    return TensorDataset(
        to_tensor(X, reg.x_mean_, reg.x_scale_, "cpu"),
        to_tensor(y.reshape(n, -1), reg.y_mean_, reg.y_scale_, "cpu"),
        torch.ones(n),
    )


@pytest.mark.parametrize(
    "n, early_stopping, steps",
    [
        (800, False, 25),  # 32 rows per step
        (20_000, False, 142),  # round(sqrt(20,000)) = 141 rows per step
        (20_000, True, 127),  # 16,000 rows after the hold-out: 126 per step
    ],
)
def test_auto_batch_grows_with_the_rows(n, early_stopping, steps):
    """``batch_size="auto"`` takes about ``sqrt(n_train)`` rows from 1,000 rows."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 2))
    reg = MDNRegressor(
        n_components=1,
        hidden_layer_sizes=(4,),
        max_iter=1,
        early_stopping=early_stopping,
        select_features=False,
        input_encoding="none",
        refit=False,
        random_state=0,
    ).fit(X, X[:, 0])
    assert reg.n_steps_ == steps


def test_sample_weight_equivalent_to_repetition():
    """Integer weights and repeated rows give the same full-batch objective.

    For a few epochs the runs agree to float32 precision; scikit-learn's own
    check asks for 1e-7 after the whole budget, which float32 cannot give.
    """
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=30)
    sw = rng.randint(0, 4, size=30)
    # One batch holding every row: the weighted and repeated fits then take
    # the same steps.
    params = {
        "hidden_layer_sizes": (16,),
        "max_iter": 5,
        "early_stopping": False,
        "batch_size": 200,
        # The noise and the L2 penalty scale with the rows (or the batch),
        # so they differ between 30 weighted and ~45 repeated rows.
        "noise": 0.0,
        "alpha": 0.0,
    }
    weighted = MDNRegressor(**params, random_state=0).fit(X, y, sample_weight=sw)
    repeated = MDNRegressor(**params, random_state=0).fit(
        np.repeat(X, sw, axis=0), np.repeat(y, sw)
    )
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-5, atol=1e-6)
    unweighted = MDNRegressor(**params, random_state=0).fit(X, y)
    assert not np.allclose(weighted.predict(X), unweighted.predict(X))


def test_float32_and_float64_inputs(data):
    X, y = data
    reg64 = MDNRegressor(**FAST).fit(X, y)
    reg32 = MDNRegressor(**FAST).fit(X.astype(np.float32), y.astype(np.float32))
    assert reg32.predict(X.astype(np.float32)).dtype == np.float64
    assert_allclose(reg64.predict(X), reg32.predict(X), atol=1e-3)


def test_pandas_input_keeps_feature_names(data):
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    X, y = data
    df = pd.DataFrame(X, columns=["a", "b"])
    reg = MDNRegressor(**FAST).fit(df, pd.Series(y))
    assert_array_equal(reg.feature_names_in_, ["a", "b"])
    with pytest.warns(UserWarning, match="fitted with feature names"):
        assert_array_equal(reg.predict(df), reg.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(df.rename(columns={"a": "c"}))


def test_pickle_and_joblib_round_trips(data, fitted, tmp_path):
    X, _ = data
    expected = fitted.predict_interval(X)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict_interval(X), expected)
    joblib.dump(fitted, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    assert_array_equal(restored.predict_interval(X), expected)


def test_clone_gives_unfitted_copy(fitted, data):
    X, y = data
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "net_")
    assert_array_equal(cloned.fit(X, y).predict(X), fitted.predict(X))


def test_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), MDNRegressor(**FAST)).fit(X * 100, y)
    assert pipe.score(X * 100, y) > 0.7  # the noise caps R^2 near 0.83


def test_grid_search_parallel(data):
    X, y = data
    search = GridSearchCV(
        MDNRegressor(hidden_layer_sizes=(16,), max_iter=10, random_state=0),
        {"n_components": [1, 2], "point_estimate": ["mean", "top"]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_cross_validate(data):
    X, y = data
    result = cross_validate(MDNRegressor(**FAST), X, y, cv=3)
    assert result["test_score"].shape == (3,)
    assert (result["test_score"] > 0.5).all()


def test_transformed_target_regressor():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(500, 2))
    y = np.exp(2 * X[:, 0] + 0.3 * rng.normal(size=500))  # positive, skewed
    ttr = TransformedTargetRegressor(
        MDNRegressor(**FAST), func=np.log, inverse_func=np.exp
    ).fit(X, y)
    pred = ttr.predict(X)
    assert pred.shape == (500,) and (pred > 0).all()
    assert ttr.score(X, y) > 0.5


@pytest.mark.parametrize("point_estimate", ["mean", "top", "mode"])
def test_point_estimate(point_estimate, data):
    X, y = data
    reg = MDNRegressor(point_estimate=point_estimate, **FAST).fit(X, y)
    dist = reg.predict_dist(X)
    assert_allclose(reg.predict(X), getattr(dist, point_estimate)())


def test_missing_targets_marginalised():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 2))
    Y = np.c_[X[:, 0], X[:, 0] + X[:, 1]] + 0.1 * rng.normal(size=(600, 2))
    Y_missing = Y.copy()
    Y_missing[rng.rand(600) < 0.3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MDNRegressor(**FAST).fit(X, Y_missing)
    reg = MDNRegressor(missing_targets="marginalize", **FAST).fit(X, Y_missing)
    pred = reg.predict(X)
    assert np.isfinite(pred).all()
    assert reg.score(X, Y) > 0.8


def test_intervals_are_calibrated():
    """Held-out 90% intervals cover 0.90 of points drawn from a known truth.

    With 4000 test rows the binomial standard error of the coverage is 0.005;
    the 0.03 tolerance leaves room for the error of a network fitted on 3000
    rows, and still fails an estimator whose noise is off by 15% either way
    (coverage 0.84 or 0.94 on Gaussian noise).
    """
    X, y = _heteroscedastic(3000, seed=3)
    X_test, y_test = _heteroscedastic(4000, seed=4)
    reg = MDNRegressor(hidden_layer_sizes=(32, 32), max_iter=60, random_state=0)
    interval = reg.fit(X, y).predict_interval(X_test, coverage=0.9)
    inside = (interval[:, 0] <= y_test) & (y_test <= interval[:, 1])
    assert inside.mean() == pytest.approx(0.9, abs=0.03)
    # Conditional calibration: in the low-noise and in the high-noise half.
    low = X_test[:, 0] < 0
    assert inside[low].mean() == pytest.approx(0.9, abs=0.04)
    assert inside[~low].mean() == pytest.approx(0.9, abs=0.04)
