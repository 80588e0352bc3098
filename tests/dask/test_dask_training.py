"""Training over the blocks of Dask arrays (sklearn_mdn.dask.fit_incremental)
and under Dask-ML's ``Incremental``.

Every route must give the model that the same sequence of ``partial_fit``
calls on in-memory blocks gives, bit for bit: in the calling thread, on the
local threaded scheduler and on a ``LocalCluster`` of worker processes, where
the model travels between the client and the workers as a pickle.
"""

import numpy as np
import pytest
from _helpers import sine_data
from numpy.testing import assert_array_equal

from sklearn_mdn import MDNRegressor

da = pytest.importorskip("dask.array", reason="fit_incremental needs dask")
distributed = pytest.importorskip(
    "distributed", reason="the cluster tests need the 'distributed' extra"
)
mdask = pytest.importorskip("sklearn_mdn.dask")

X, Y = sine_data(600)
W = np.random.RandomState(1).uniform(0.5, 2.0, size=600)
ROWS = 200
EPOCHS = 2


def _model():
    return MDNRegressor(hidden_layer_sizes=(8,), random_state=0)


def _in_memory(blocks=3, epochs=EPOCHS, weighted=False):
    model = _model()
    for _ in range(epochs):
        for i in range(0, ROWS * blocks, ROWS):
            rows = slice(i, i + ROWS)
            model.partial_fit(X[rows], Y[rows], W[rows] if weighted else None)
    return model


def _lazy():
    # X split along its columns too (merged by fit_incremental), y in other
    # row chunks (rechunked to X's).
    return da.from_array(X, chunks=(ROWS, 1)), da.from_array(Y, chunks=150)


@pytest.fixture(scope="module")
def expected():
    return _in_memory().predict_interval(X)


def _warm_up():
    MDNRegressor(hidden_layer_sizes=(2,), random_state=0).partial_fit(X[:10], Y[:10])


@pytest.fixture(scope="module")
def client(client):
    # Import and first run torch on both workers at once (seconds each),
    # rather than in turn in the first steps that reach them.
    client.run(_warm_up)
    return client


def test_threaded_scheduler_matches_in_memory_calls(expected):
    model = _model()
    assert mdask.fit_incremental(model, *_lazy(), epochs=EPOCHS) is model
    assert model.n_iter_ == 3 * EPOCHS
    assert_array_equal(model.predict_interval(X), expected)


def test_cluster_matches_in_memory_calls(client, expected):
    with client.as_current():
        model = mdask.fit_incremental(_model(), *_lazy(), epochs=EPOCHS)
        again = mdask.fit_incremental(_model(), *_lazy(), epochs=EPOCHS)
    assert model.n_iter_ == 3 * EPOCHS
    assert_array_equal(model.predict_interval(X), expected)
    assert_array_equal(again.predict_interval(X), expected)


def test_sample_weight_follows_the_blocks(client):
    expected = _in_memory(weighted=True).predict(X)
    weights = da.from_array(W, chunks=100)
    model = mdask.fit_incremental(_model(), *_lazy(), weights, epochs=EPOCHS)
    assert_array_equal(model.predict(X), expected)
    with client.as_current():
        model = mdask.fit_incremental(_model(), *_lazy(), W, epochs=EPOCHS)
    assert_array_equal(model.predict(X), expected)


def test_a_gated_model_matches_in_memory_calls():
    # The mixture weights' gate branch (gate_size) trains on skorch's loop,
    # with autograd, in partial_fit: the same over a Dask array's blocks.
    def gated():
        return MDNRegressor(hidden_layer_sizes=(8,), gate_size=4, random_state=0)

    memory = gated()
    for _ in range(EPOCHS):
        for i in range(0, 3 * ROWS, ROWS):
            memory.partial_fit(X[i : i + ROWS], Y[i : i + ROWS])
    model = mdask.fit_incremental(gated(), *_lazy(), epochs=EPOCHS)
    assert model.net_.module_.gate is not None
    assert_array_equal(model.predict_interval(X), memory.predict_interval(X))


def test_training_continues_a_fitted_model():
    model = mdask.fit_incremental(_model(), *_lazy(), epochs=1)
    mdask.fit_incremental(model, *_lazy(), epochs=1)
    assert_array_equal(model.predict(X), _in_memory().predict(X))


def test_a_failing_step_raises_on_the_cluster(client):
    model = mdask.fit_incremental(_model(), *_lazy(), epochs=1)
    before = model.predict(X)
    X_bad = da.from_array(X[:, :1], chunks=(ROWS, 1))
    with client.as_current(), pytest.raises(ValueError, match="X has 1 features"):
        mdask.fit_incremental(model, X_bad, _lazy()[1])
    assert_array_equal(model.predict(X), before)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((X, Y), {}, TypeError, "X must be a dask.array.Array"),
        ((da.from_array(X), Y[:10]), {}, ValueError, "y must have 600 rows"),
        ((da.from_array(X), Y), {"epochs": 0}, ValueError, "epochs must be"),
        (
            (da.from_array(X), Y, np.ones((600, 2))),
            {},
            ValueError,
            "sample_weight must be 1-D",
        ),
    ],
    ids=["numpy-X", "y-rows", "epochs", "weights-2d"],
)
def test_bad_arguments_raise(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        mdask.fit_incremental(_model(), *args, **kwargs)


def test_an_estimator_without_partial_fit_is_refused():
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="has no partial_fit"):
        mdask.fit_incremental(LinearRegression(), *_lazy())


def test_dask_ml_incremental_matches_in_memory_calls(client):
    wrappers = pytest.importorskip(
        "dask_ml.wrappers", reason="Dask-ML (with pyarrow) is not installed"
    )
    X_lazy = da.from_array(X, chunks=(ROWS, 2))
    y_lazy = da.from_array(Y, chunks=ROWS)
    expected = _in_memory(epochs=1).predict_interval(X)
    with client.as_current():
        incremental = wrappers.Incremental(_model(), shuffle_blocks=False)
        incremental.fit(X_lazy, y_lazy)
    assert_array_equal(incremental.estimator_.predict_interval(X), expected)
