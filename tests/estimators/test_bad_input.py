"""Bad input: every case gets a clear ValueError / TypeError or a correct result.

Each case of the tables below either raises an exception whose message names
the problem, or gives finite outputs of the right shape. No case may surface a
torch error or a NaN.
"""

import contextlib
import copy

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _helpers import linear_data, tiny_mdn
from sklearn.exceptions import NotFittedError

from sklearn_mdn import MDNRegressor, OutOfDomainWarning

N, P = 30, 2


def _with(a, index, value):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


def _assert_finite_predictions(reg, X, n_outputs=None, out_of_domain=False):
    """Every prediction method gives finite values of the right shape.

    ``out_of_domain``: the rows lie far outside the (weighted) training inputs,
    so the predictions must warn; otherwise they must not (pyproject.toml makes
    the warning an error).
    """
    warns = (
        pytest.warns(OutOfDomainWarning, match="far outside the inputs seen in fit")
        if out_of_domain
        else contextlib.nullcontext()
    )
    with warns:
        _check_finite_predictions(reg, X, n_outputs)


def _check_finite_predictions(reg, X, n_outputs):
    n = len(X)
    pred = reg.predict(X)
    assert pred.shape == ((n,) if n_outputs is None else (n, n_outputs))
    assert np.all(np.isfinite(pred))
    interval = reg.predict_interval(X, coverage=0.8)
    assert np.all(np.isfinite(interval))
    assert np.all(interval[..., 0] <= interval[..., 1])
    assert np.all(np.isfinite(reg.predict_quantiles(X, [0.1, 0.5, 0.9])))
    assert np.all(np.isfinite(reg.sample(X, 2, random_state=0)))
    dist = reg.predict_dist(X)
    assert len(dist) == n
    assert np.all(np.isfinite(dist.log_prob(pred)))


X0, Y0 = linear_data(N, p=P)
YY = np.column_stack([Y0, -Y0])
X_NONE = X0.astype(object)
X_NONE[0, 0] = None

# ----------------------------------------------------------------- fit errors
# (id, estimator params, X, y, fit kwargs, exception, message pattern)
FIT_ERRORS = [
    ("nan-X", {}, _with(X0, (0, 0), np.nan), Y0, {}, ValueError, "X contains NaN"),
    ("inf-X", {}, _with(X0, (3, 1), np.inf), Y0, {}, ValueError, "X contains inf"),
    ("-inf-X", {}, _with(X0, (3, 1), -np.inf), Y0, {}, ValueError, "X contains inf"),
    (
        "nan-y",
        {},
        X0,
        _with(Y0, 0, np.nan),
        {},
        ValueError,
        "y contains NaN. Set missing_targets='marginalize'",
    ),
    (
        "nan-y-2d",
        {},
        X0,
        _with(YY, (4, 1), np.nan),
        {},
        ValueError,
        "y contains NaN. Set missing_targets='marginalize'",
    ),
    ("inf-y", {}, X0, _with(Y0, 0, np.inf), {}, ValueError, "y contains inf"),
    (
        "inf-y-marginalize",
        {"missing_targets": "marginalize"},
        X0,
        _with(Y0, 0, np.inf),
        {},
        ValueError,
        "y contains inf",
    ),
    (
        "all-nan-y-marginalize",
        {"missing_targets": "marginalize"},
        X0,
        np.full(N, np.nan),
        {},
        ValueError,
        "Every row of y is missing",
    ),
    (
        "unobserved-target-marginalize",
        {"missing_targets": "marginalize"},
        X0,
        _with(YY, (slice(None), 1), np.nan),
        {},
        ValueError,
        "Target 1 has no observed",
    ),
    ("empty-X", {}, X0[:0], Y0[:0], {}, ValueError, "0 sample"),
    ("no-features", {}, X0[:, :0], Y0, {}, ValueError, "0 feature"),
    ("no-targets", {}, X0, Y0[:, None][:, :0], {}, ValueError, "0 feature"),
    ("1d-X", {}, X0[:, 0], Y0, {}, ValueError, "Expected 2D array"),
    ("3d-X", {}, X0[:, :, None], Y0, {}, ValueError, "dim 3"),
    ("3d-y", {}, X0, Y0[:, None, None], {}, ValueError, "dim 3"),
    ("complex-X", {}, X0 + 1j, Y0, {}, ValueError, "Complex data not supported"),
    ("complex-y", {}, X0, Y0 + 1j, {}, ValueError, "Complex data not supported"),
    (
        "string-X",
        {},
        np.full((N, P), "a"),
        Y0,
        {},
        ValueError,
        "could not convert string to float",
    ),
    (
        "string-y",
        {},
        X0,
        np.full(N, "a"),
        {},
        ValueError,
        "could not convert string to float",
    ),
    ("object-X-with-None", {}, X_NONE, Y0, {}, ValueError, "X contains NaN"),
    ("sparse-X", {}, sp.csr_matrix(X0), Y0, {}, TypeError, "Sparse data was passed"),
    ("fewer-y", {}, X0, Y0[:-1], {}, ValueError, "inconsistent numbers of samples"),
    ("more-y", {}, X0[:-1], Y0, {}, ValueError, "inconsistent numbers of samples"),
    (
        "negative-weight",
        {},
        X0,
        Y0,
        {"sample_weight": _with(np.ones(N), 0, -1.0)},
        ValueError,
        "Negative values in data passed to `sample_weight`",
    ),
    (
        "nan-weight",
        {},
        X0,
        Y0,
        {"sample_weight": _with(np.ones(N), 0, np.nan)},
        ValueError,
        "sample_weight contains NaN",
    ),
    (
        "inf-weight",
        {},
        X0,
        Y0,
        {"sample_weight": _with(np.ones(N), 0, np.inf)},
        ValueError,
        "sample_weight contains inf",
    ),
    (
        "zero-weights",
        {},
        X0,
        Y0,
        {"sample_weight": np.zeros(N)},
        ValueError,
        # scikit-learn >= 1.8 checks this itself, with its own words.
        "sample_weight must have a positive sum|Sample weights must contain at least",
    ),
    (
        "weights-wrong-length",
        {},
        X0,
        Y0,
        {"sample_weight": np.ones(N - 1)},
        ValueError,
        r"sample_weight.shape == \(29,\), expected \(30,\)",
    ),
    (
        "validation-fraction-takes-all",
        {"validation_fraction": 0.99},
        X0,
        Y0,
        {},
        ValueError,
        "validation_fraction=0.99 holds out all 30 rows",
    ),
]


@pytest.mark.parametrize(
    "params, X, y, fit_kwargs, exc, match",
    [case[1:] for case in FIT_ERRORS],
    ids=[case[0] for case in FIT_ERRORS],
)
def test_fit_rejects_bad_input(params, X, y, fit_kwargs, exc, match):
    with pytest.raises(exc, match=match):
        tiny_mdn(**params).fit(X, y, **fit_kwargs)


@pytest.mark.parametrize(
    "params, X, y, fit_kwargs, exc, match",
    [case[1:] for case in FIT_ERRORS],
    ids=[case[0] for case in FIT_ERRORS],
)
def test_failed_fit_discards_previous_fit(params, X, y, fit_kwargs, exc, match):
    """A refit that raises leaves the estimator unfitted, not half-fitted."""
    reg = tiny_mdn(**params)
    # The first fit may itself fail for a bad parameter: fit good data with
    # default parameters first, then switch.
    reg.set_params(**tiny_mdn().get_params()).fit(X0, Y0)
    reg.set_params(**params)
    with pytest.raises(exc):
        reg.fit(X, y, **fit_kwargs)
    assert not [k for k in vars(reg) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        reg.predict(X0)


# --------------------------------------------------- inputs that must just work
def _pandas_case():
    pd = pytest.importorskip("pandas", reason="pandas is needed for this case")
    X = pd.DataFrame(X0, columns=["a", "b"])
    return X, pd.Series(Y0, name="target"), X


FIT_OK = {
    "one-sample": lambda: (X0[:1], Y0[:1], X0),
    "two-samples": lambda: (X0[:2], Y0[:2], X0),
    "one-feature": lambda: (X0[:, :1], Y0, X0[:, :1]),
    "lists": lambda: (X0.tolist(), Y0.tolist(), X0.tolist()),
    "tuple-rows": lambda: (tuple(map(tuple, X0)), tuple(Y0), X0),
    "pandas": _pandas_case,
    "object-numbers": lambda: (X0.astype(object), Y0.astype(object), X0),
    "bool-X": lambda: (X0 > 0, Y0, X0 > 0),
    "int-X-int-y": lambda: ((X0 * 10).astype(int), (Y0 * 10).astype(int), X0),
    "float32": lambda: (X0.astype(np.float32), Y0.astype(np.float32), X0),
    "constant-X": lambda: (np.ones((N, P)), Y0, X0),
    "y-column-vector": lambda: (X0, Y0[:, None], X0),
    "duplicated-rows": lambda: (np.repeat(X0[:3], 10, 0), np.repeat(Y0[:3], 10), X0),
}


# Cases whose test rows lie beyond the few distinct training inputs.
FIT_OK_OUT_OF_DOMAIN = {"one-sample", "two-samples", "constant-X", "duplicated-rows"}


@pytest.mark.parametrize("case", FIT_OK, ids=list(FIT_OK))
def test_fit_accepts_odd_but_valid_input(case):
    X, y, X_test = FIT_OK[case]()
    reg = tiny_mdn().fit(X, y)
    n_outputs = 1 if np.ndim(y) == 2 else None
    _assert_finite_predictions(
        reg, X_test, n_outputs, out_of_domain=case in FIT_OK_OUT_OF_DOMAIN
    )


def test_pandas_feature_names_checked_at_predict():
    pd = pytest.importorskip("pandas", reason="pandas is needed for this test")
    reg = tiny_mdn().fit(pd.DataFrame(X0, columns=["a", "b"]), Y0)
    assert list(reg.feature_names_in_) == ["a", "b"]
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(pd.DataFrame(X0, columns=["b", "c"]))


@pytest.mark.parametrize(
    "sample_weight",
    [_with(np.zeros(N), 0, 1.0), _with(np.ones(N), slice(0, 20), 0.0)],
    ids=["single-positive-weight", "most-weights-zero"],
)
def test_sparse_sample_weights_work(sample_weight):
    reg = tiny_mdn().fit(X0, Y0, sample_weight=sample_weight)
    # The domain is that of the weighted rows: the zero-weight ones lie outside.
    _assert_finite_predictions(reg, X0, out_of_domain=True)


@pytest.mark.parametrize("w", [1e308, 1e-300, 5e-324], ids=str)
def test_extreme_uniform_weights_equal_no_weights(w):
    """Only ratios of weights matter, even at the ends of the float range."""
    reg = tiny_mdn().fit(X0, Y0, sample_weight=np.full(N, w))
    ref = tiny_mdn().fit(X0, Y0)
    np.testing.assert_allclose(reg.predict(X0), ref.predict(X0), rtol=1e-5)


def test_zero_weight_rows_are_left_out():
    """Rows of weight zero change nothing, however far off they lie."""
    far = np.vstack([X0, [[1e100, -1e100]]])
    weights = np.r_[np.ones(N), 0.0]
    reg = tiny_mdn(missing_targets="marginalize").fit(
        far, np.r_[Y0, np.nan], sample_weight=weights
    )
    ref = tiny_mdn(missing_targets="marginalize").fit(X0, Y0)
    np.testing.assert_array_equal(reg.predict(X0), ref.predict(X0))
    reg = tiny_mdn().fit(far, np.r_[Y0, 1e100], sample_weight=weights)
    np.testing.assert_array_equal(reg.predict(X0), tiny_mdn().fit(X0, Y0).predict(X0))


def test_missing_targets_marginalized():
    y = _with(YY, (0, 0), np.nan)
    y[1, :] = np.nan  # a row with every target missing is dropped
    reg = tiny_mdn(missing_targets="marginalize").fit(X0, y)
    _assert_finite_predictions(reg, X0, n_outputs=2)
    y1 = _with(Y0, [0, 5], np.nan)
    reg = tiny_mdn(missing_targets="marginalize").fit(X0, y1)
    _assert_finite_predictions(reg, X0)


# ------------------------------------------------------------- predict errors
@pytest.fixture(scope="module")
def fitted():
    return tiny_mdn().fit(X0, Y0)


PREDICT_ERRORS = [
    ("too-few-features", X0[:, :1], ValueError, "X has 1 features, but MDNRegressor"),
    (
        "too-many-features",
        np.hstack([X0, X0]),
        ValueError,
        "X has 4 features, but MDNRegressor",
    ),
    ("nan-X", _with(X0, (1, 1), np.nan), ValueError, "X contains NaN"),
    ("inf-X", _with(X0, (1, 1), np.inf), ValueError, "X contains inf"),
    ("empty-X", X0[:0], ValueError, "0 sample"),
    ("1d-X", X0[0], ValueError, "Expected 2D array"),
    ("3d-X", X0[:, :, None], ValueError, "dim 3"),
    ("complex-X", X0 + 1j, ValueError, "Complex data not supported"),
    ("string-X", np.full((2, P), "x"), ValueError, "could not convert string"),
    ("sparse-X", sp.csr_matrix(X0), TypeError, "Sparse data was passed"),
    # Finite in float64, beyond float32 once standardised.
    ("huge-X", X0 * 1e40, ValueError, "too far outside the range of the training"),
]
PREDICT_METHODS = {
    "predict": lambda reg, X: reg.predict(X),
    "predict_dist": lambda reg, X: reg.predict_dist(X),
    "predict_interval": lambda reg, X: reg.predict_interval(X),
    "predict_quantiles": lambda reg, X: reg.predict_quantiles(X),
    "sample": lambda reg, X: reg.sample(X),
}


@pytest.mark.parametrize("method", PREDICT_METHODS)
@pytest.mark.parametrize(
    "X, exc, match",
    [case[1:] for case in PREDICT_ERRORS],
    ids=[case[0] for case in PREDICT_ERRORS],
)
def test_predict_rejects_bad_input(fitted, method, X, exc, match):
    # Rows beyond float32 once standardised also lie outside the domain.
    far = match.startswith("too far outside")
    warns = pytest.warns(OutOfDomainWarning) if far else contextlib.nullcontext()
    with pytest.raises(exc, match=match), warns:
        PREDICT_METHODS[method](fitted, X)
    assert not torch.is_inference_mode_enabled()


def test_unfitted_predict_raises():
    for method in PREDICT_METHODS.values():
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(tiny_mdn(), X0)


# (id, method call, exception, pattern)
PREDICT_ARG_ERRORS = [
    ("coverage>1", lambda r: r.predict_interval(X0, coverage=1.5), "coverage must"),
    ("coverage=0", lambda r: r.predict_interval(X0, coverage=0.0), "coverage must"),
    ("coverage-nan", lambda r: r.predict_interval(X0, np.nan), "coverage must"),
    ("coverage-str", lambda r: r.predict_interval(X0, "0.9"), "coverage must"),
    (
        "quantile>1",
        lambda r: r.predict_quantiles(X0, [0.5, 2.0]),
        r"quantiles must be .*1\]",
    ),
    (
        "quantile-nan",
        lambda r: r.predict_quantiles(X0, [np.nan]),
        "quantiles must be finite",
    ),
    ("quantile-2d", lambda r: r.predict_quantiles(X0, [[0.5]]), "1-D array"),
    ("n_samples=0", lambda r: r.sample(X0, 0), "n_samples must be a positive"),
    ("n_samples=1.5", lambda r: r.sample(X0, 1.5), "n_samples must be a positive"),
    ("n_samples=True", lambda r: r.sample(X0, True), "n_samples must be a positive"),
]


@pytest.mark.parametrize(
    "call, match",
    [case[1:] for case in PREDICT_ARG_ERRORS],
    ids=[case[0] for case in PREDICT_ARG_ERRORS],
)
def test_prediction_arguments_validated(fitted, call, match):
    with pytest.raises(ValueError, match=match) as excinfo:
        call(fitted)
    # No torch mode is left behind, even while the traceback (and with it the
    # interrupted prediction) is alive: autograd still works.
    assert excinfo.traceback
    assert not torch.is_inference_mode_enabled()
    assert torch.is_grad_enabled()


def test_extreme_quantile_levels_are_infinite_not_nan(fitted):
    q = fitted.predict_quantiles(X0, [0.0, 1.0])
    assert np.all(q[:, 0] == -np.inf) and np.all(q[:, 1] == np.inf)


# ------------------------------------------------------- constructor parameters
# At least one invalid value per entry of _parameter_constraints; each must be
# rejected at fit with a message naming the parameter.
INVALID_PARAMS = {
    "n_components": [0, -1, 1.5, "3", None],
    "covariance_type": ["tied", "", None, 1],
    "hidden_layer_sizes": ["abc", 0, -3, None, 1.5],
    "activation": ["softmax", "", None],
    "gate_size": [-1, 2.5, "wide"],
    "alpha": [-1e-4, "0", None],
    "input_l1": [-0.1, "0.1", None],
    "select_features": ["yes", 2, None, "always"],
    "input_encoding": ["ple", None, True],
    "tree_blend": [1.5, -0.1, "always", None],
    "batch_size": [0, -5, 1.5, "all", None],
    "learning_rate_init": [0.0, -0.1, "1e-3", None],
    "learning_rate": ["invscaling", None, 1e-3],
    "max_iter": [0, -1, 2.5, "inf", None],
    "early_stopping": ["yes", 2, None],
    "validation_fraction": [0.0, 1.0, -0.1, 1.5, None],
    "n_iter_no_change": [0, -1, 2.5, None, "never"],
    "tol": [-1.0, "0", None],
    "refit": ["yes", 2, None, "always"],
    "calibrate": ["yes", 2, None],
    "reg_covar": [0.0, -1e-6, None],
    "noise": [-0.1, "lots", None],
    "weight_averaging": [0.0, 1.0, -0.5, "ema", None, True],
    "n_networks": [0, -1, 1.5, "many", None],
    "point_estimate": ["median", None],
    "missing_targets": ["drop", None, False],
    "device": [3, None, 1.5],
    "random_state": ["seed", 1.5],
    "n_threads": [0, 1.5, "all"],
    "verbose": ["loud", None],
    "warm_start": ["yes", None, 1],
}


def test_invalid_params_table_covers_every_constraint():
    assert set(INVALID_PARAMS) == set(MDNRegressor._parameter_constraints)


@pytest.mark.parametrize(
    "name, value",
    [(name, v) for name, values in INVALID_PARAMS.items() for v in values],
)
def test_invalid_constructor_value(name, value):
    # InvalidParameterError subclasses both ValueError and TypeError.
    with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter"):
        tiny_mdn(**{name: value}).fit(X0, Y0)


@pytest.mark.parametrize("name", INVALID_PARAMS)
def test_invalid_parameter_on_refit_leaves_unfitted(fitted, name):
    reg = copy.deepcopy(fitted).set_params(**{name: INVALID_PARAMS[name][0]})
    with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter"):
        reg.fit(X0, Y0)
    with pytest.raises(NotFittedError):
        reg.predict(X0)


@pytest.mark.parametrize(
    "value",
    [(0,), (4, -1), (2.5,), (True,), (4, True), [[2, 2]], [[]], np.array([[3]])],
    ids=repr,
)
def test_invalid_hidden_layer_sizes_contents(value):
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a sequence"):
        tiny_mdn(hidden_layer_sizes=value).fit(X0, Y0)


@pytest.mark.parametrize(
    "value, widths",
    [((), []), (3, [3]), ([3, 2], [3, 2]), (np.array([3, 2]), [3, 2])],
    ids=repr,
)
def test_valid_hidden_layer_sizes(value, widths):
    reg = tiny_mdn(hidden_layer_sizes=value, n_networks=1, refit=False).fit(X0, Y0)
    linear = [m for m in reg.net_.module_.trunk if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == widths
    _assert_finite_predictions(reg, X0)


BAD_DEVICES = [
    ("foo", "is not a torch device"),
    ("cuda:x", "is not a torch device"),
    ("meta", "'meta' is not supported"),
    ("xla", "'xla' is not supported"),
]
if not torch.cuda.is_available():
    BAD_DEVICES += [
        ("cuda", "'cuda' was asked for, but CUDA is not available"),
        ("cuda:0", "'cuda:0' was asked for, but CUDA is not available"),
        (torch.device("cuda"), "'cuda' was asked for, but CUDA is not available"),
    ]
else:
    n = torch.cuda.device_count()
    BAD_DEVICES += [(f"cuda:{n}", f"only {n} CUDA device")]


@pytest.mark.parametrize("device, match", BAD_DEVICES, ids=str)
def test_invalid_device(device, match):
    with pytest.raises(ValueError, match=match):
        tiny_mdn(device=device).fit(X0, Y0)


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "cpu:0"], ids=str)
def test_cpu_device_spellings(device):
    _assert_finite_predictions(tiny_mdn(device=device).fit(X0, Y0), X0)
