"""PiecewiseLinearEncoder: the piecewise-linear encoding of numerical features."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mdn import MDNRegressor, PiecewiseLinearEncoder


@parametrize_with_checks([PiecewiseLinearEncoder(n_bins=4)])
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def test_the_encoding_decodes_to_the_value_inside_and_outside_the_range():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    enc = PiecewiseLinearEncoder(n_bins=8).fit(X)
    X_new = np.vstack([X, [[-9.0, 9.0], [9.0, -9.0]]])
    Z = enc.transform(X_new)
    assert Z.shape == (202, 16) == (202, enc.n_features_out_)
    for j, edges in enumerate(enc.bin_edges_):
        block = Z[:, 8 * j : 8 * (j + 1)]
        # x = b_0 + sum_t enc_t * (b_t - b_{t-1}), extrapolation included.
        np.testing.assert_allclose(edges[0] + block @ np.diff(edges), X_new[:, j])
        inside = block[:200]
        assert inside.min() >= 0.0 and inside.max() <= 1.0
        # Bins fill from the left: each row is non-increasing across bins.
        assert np.all(np.diff(inside, axis=1) <= 1e-12)


def test_repeated_values_give_fewer_bins_and_a_constant_one_zero_column():
    X = np.column_stack([np.repeat([0.0, 1.0, 2.0], 10), np.full(30, 5.0)])
    enc = PiecewiseLinearEncoder(n_bins=16).fit(X)
    edges = enc.bin_edges_[0]
    assert len(edges) < 17 and edges[0] == 0.0 and edges[-1] == 2.0
    assert np.all(np.diff(edges) > 0)
    np.testing.assert_array_equal(enc.bin_edges_[1], [5.0])
    Z = enc.transform(X)
    assert Z.shape == (30, len(edges))
    np.testing.assert_array_equal(Z[:, -1], 0.0)
    names = enc.get_feature_names_out(["a", "b"])
    assert list(names[:2]) == ["a_bin0", "a_bin1"] and names[-1] == "b_bin0"


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({"n_bins": 0}, np.ones((5, 1)), "n_bins"),
        ({}, np.array([[0.0], [np.nan]]), "NaN"),
    ],
)
def test_bad_input_is_a_clear_value_error(params, X, match):
    with pytest.raises(ValueError, match=match):
        PiecewiseLinearEncoder(**params).fit(X)


def test_in_a_pipeline_in_front_of_the_estimator():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(80, 2))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=80)
    model = make_pipeline(
        PiecewiseLinearEncoder(n_bins=4),
        MDNRegressor(
            hidden_layer_sizes=(8,), n_components=1, max_iter=5, random_state=0
        ),
    ).fit(X, y)
    assert model[-1].n_features_in_ == 8
    assert np.all(np.isfinite(model.predict(X)))
