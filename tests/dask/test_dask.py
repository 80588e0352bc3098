"""Predictions over Dask arrays and image cubes (sklearn_mdn.dask).

The results of every lazy prediction are compared exactly (bit for bit) with
the in-memory predictions of the same rows. On a ``LocalCluster`` of worker
processes, each output chunk is reduced on its worker to a SHA-256 digest of
its bytes, so that the client never holds the outputs: its peak memory
growth, sampled by a thread while the cluster computes, measures what the
client itself needs (the graph, the digests), not the size of the results.
The in-memory reference is computed afterwards, in the client, and compared
digest by digest.
"""

import hashlib
import pickle
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_mdn
from sklearn_mdn import MDNRegressor

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")
mdask = pytest.importorskip("sklearn_mdn.dask")

N_FEATURES = 3
LEVELS = (0.1, 0.5, 0.9)
SEED = 1234


def _train(n=1500, seed=0, n_features=N_FEATURES):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, n_features))
    y = np.exp(np.sin(3 * X[:, 0]) + 0.3 * X[:, 1] + 0.2 * rng.normal(size=n))
    return X, y


def _fit_mdn(n_features=N_FEATURES):
    X, y = _train(n_features=n_features)
    return MDNRegressor(
        hidden_layer_sizes=(16,), n_components=3, max_iter=5, random_state=0
    ).fit(X, np.log(y))


def _fit_ttr(n_features=N_FEATURES):
    """A log-target model inside a Pipeline: intervals through both wrappers."""
    X, y = _train(n_features=n_features)
    inner = MDNRegressor(
        hidden_layer_sizes=(16,), n_components=3, max_iter=5, random_state=0
    )
    return TransformedTargetRegressor(
        make_pipeline(StandardScaler(), inner), func=np.log, inverse_func=np.exp
    ).fit(X, y)


@pytest.fixture(scope="module")
def mdn():
    return _fit_mdn()


@pytest.fixture(scope="module")
def ttr():
    return _fit_ttr()


def _rows_block(block_id=None, *, n_rows, n_features, seed):
    rng = np.random.RandomState([seed, block_id[0]])
    return rng.uniform(-1.2, 1.2, size=(n_rows, n_features))


def _lazy_rows(n, n_chunks, seed=0, n_features=N_FEATURES):
    """Lazy (n, p) rows, generated chunk by chunk on the workers."""
    size = n // n_chunks
    assert size * n_chunks == n
    return da.map_blocks(
        _rows_block,
        chunks=((size,) * n_chunks, (n_features,)),
        dtype=np.float64,
        n_rows=size,
        n_features=n_features,
        seed=seed,
    )


def _digest(block):
    return hashlib.sha256(np.ascontiguousarray(block, dtype=np.float64)).hexdigest()


def _digests(array):
    """One delayed digest per row chunk (chunks span the trailing axes)."""
    return [dask.delayed(_digest)(b) for b in array.to_delayed().ravel()]


def _ref_digests(values, chunks):
    bounds = np.cumsum((0, *chunks))
    return [_digest(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _chunk_samples(model, X, chunks, n_samples, seed):
    bounds = np.cumsum((0, *chunks))
    return np.concatenate(
        [
            sklearn_mdn.sample(
                model, X[a:b], n_samples, random_state=mdask.chunk_random_state(seed, i)
            )
            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))
        ]
    )


class _PeakRSS:
    """Peak resident memory of this process, sampled by a thread."""

    def __init__(self, interval=0.005):
        psutil = pytest.importorskip("psutil")
        self._process = psutil.Process()
        self._interval = interval
        self.peak = self.start = self._process.memory_info().rss

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._interval)

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth_mb(self):
        return (self.peak - self.start) / 2**20


def _check_against_memory(client, mdn, ttr, n, n_chunks, max_growth_mb):
    X = _lazy_rows(n, n_chunks, n_features=mdn.n_features_in_)
    y = da.log(_lazy_rows(n, n_chunks, seed=1)[:, 0] + 2.0)
    # Sampled from before the graph is built: building must not read X either.
    with _PeakRSS() as rss, client.as_current():
        lazy = {
            "predict": mdask.predict(mdn, X),
            "interval": mdask.predict_interval(ttr, X, coverage=0.8),
            "quantiles": mdask.predict_quantiles(ttr, X, LEVELS),
            "log_prob": mdask.log_prob(mdn, X, y),
            "sample": mdask.sample(ttr, X, 2, random_state=SEED),
        }
        names = list(lazy)
        tasks = [_digests(lazy[name]) for name in names]
        computed = client.compute(tasks, sync=True)
    print(f"client peak RSS growth: {rss.growth_mb:.1f} MB")
    assert rss.growth_mb < max_growth_mb, rss.growth_mb
    got = dict(zip(names, computed))

    X_mem, y_mem = client.compute([X, y], sync=True)
    chunks = X.chunks[0]
    ref = {
        "predict": mdn.predict(X_mem),
        "interval": sklearn_mdn.predict_interval(ttr, X_mem, coverage=0.8),
        "quantiles": sklearn_mdn.predict_quantiles(ttr, X_mem, LEVELS),
        "log_prob": mdn.predict_dist(X_mem).log_prob(y_mem),
        "sample": _chunk_samples(ttr, X_mem, chunks, 2, SEED),
    }
    for name in names:
        assert got[name] == _ref_digests(ref[name], chunks), name
    assert ref["sample"].shape == (n, 2)
    return got, rss.growth_mb


def test_cluster_equals_in_memory_small(client):
    """20,000 rows of 20 features in 4 chunks: every output equals the
    in-memory one (the memory bound is checked at scale below, ``slow``)."""
    mdn, ttr = _fit_mdn(n_features=20), _fit_ttr(n_features=20)
    _check_against_memory(client, mdn, ttr, 20_000, 4, max_growth_mb=300)


@pytest.mark.slow
def test_cluster_equals_in_memory(client):
    """200,000 rows of 200 features in 8 chunks: every output equals the
    in-memory one, and the client does not load the 320 MB input."""
    mdn, ttr = _fit_mdn(n_features=200), _fit_ttr(n_features=200)
    _check_against_memory(client, mdn, ttr, 200_000, 8, max_growth_mb=300)


@pytest.mark.slow
def test_two_million_rows_bounded_client_memory(client):
    """2,000,000 rows of 20 features in 64 chunks, on two worker processes.

    The input takes 2e6 x 20 float64 = 320 MB, more than the bound: a path
    that loaded it into the client would fail. The outputs (2e6 x 9 float64,
    144 MB) are reduced to digests on the workers. The client's peak growth
    while the cluster computes stays under 300 MB.
    """
    mdn, ttr = _fit_mdn(n_features=20), _fit_ttr(n_features=20)
    _check_against_memory(client, mdn, ttr, 2_000_000, 64, max_growth_mb=300)


def test_sample_independent_of_scheduling(client, mdn):
    """Same seed and chunks: same draws on the cluster, in threads, in reverse."""
    X = _lazy_rows(40_000, 8)
    with client.as_current():
        on_cluster = client.compute(mdask.sample(mdn, X, 3, random_state=7), sync=True)
    local = mdask.sample(mdn, X, 3, random_state=7)
    threaded = local.compute(scheduler="threads", num_workers=2)
    blocks = local.to_delayed().ravel()[::-1]
    reversed_ = np.concatenate(dask.compute(*blocks, scheduler="sync")[::-1])
    np.testing.assert_array_equal(on_cluster, threaded)
    np.testing.assert_array_equal(on_cluster, reversed_)
    other_seed = mdask.sample(mdn, X, 3, random_state=8).compute(scheduler="sync")
    assert not np.array_equal(on_cluster, other_seed)
    # Chunks draw from independent streams, not one stream restarted.
    assert not np.array_equal(on_cluster[:5000], on_cluster[5000:10000])


def test_model_is_in_the_graph_once(mdn):
    """Without a client: one delayed key, whatever the number of chunks."""
    model_size = len(pickle.dumps(mdn))
    sizes = {}
    for n_chunks in (4, 64):
        graph = dict(mdask.predict(mdn, _lazy_rows(64_000, n_chunks)).__dask_graph__())
        sizes[n_chunks] = len(pickle.dumps(graph))
        models = [k for k, v in graph.items() if "MDNRegressor" in repr(v)[:200]]
        assert len(models) == 1
    assert sizes[4] > model_size
    assert sizes[64] - sizes[4] < model_size


def test_model_scattered_once(client, mdn):
    """With a client: one future, broadcast to the workers before computing."""
    with client.as_current():
        lazy = mdask.predict(mdn, _lazy_rows(64_000, 16))
    graph = dict(lazy.__dask_graph__())
    assert len(pickle.dumps(graph)) < len(pickle.dumps(mdn))
    who_has = client.who_has()
    scattered = [k for k, v in who_has.items() if len(v) == 2]
    assert scattered, who_has
    np.testing.assert_array_equal(
        client.compute(lazy, sync=True),
        mdn.predict(client.compute(_lazy_rows(64_000, 16), sync=True)),
    )


def test_column_chunks_are_merged_and_multi_output(mdn):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(500, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] ** 2]) + 0.1 * rng.normal(size=(500, 2))
    model = MDNRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, Y)
    dX = da.from_array(X, chunks=(120, 1))
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(
            mdask.predict(model, dX).compute(), model.predict(X)
        )
        interval = mdask.predict_interval(model, dX)
        assert interval.shape == (500, 2, 2)
        np.testing.assert_array_equal(interval.compute(), model.predict_interval(X))
        q = mdask.predict_quantiles(model, dX, [0.2, 0.8])
        np.testing.assert_array_equal(
            q.compute(), model.predict_quantiles(X, [0.2, 0.8])
        )
        np.testing.assert_array_equal(
            mdask.log_prob(model, dX, Y).compute(), model.predict_dist(X).log_prob(Y)
        )
        s = mdask.sample(model, dX, 4, random_state=0)
        assert s.shape == (500, 4, 2) and s.compute().shape == (500, 4, 2)


def test_bad_inputs(mdn, ttr):
    X = np.zeros((10, N_FEATURES))
    dX = da.from_array(X, chunks=5)
    with pytest.raises(TypeError, match="dask.array"):
        mdask.predict(mdn, X)
    with pytest.raises(ValueError, match="2-D"):
        mdask.predict(mdn, dX[:, 0])
    with pytest.raises(NotFittedError):
        mdask.predict(MDNRegressor(), dX)
    match = "sklearn_mdn.dask takes a fitted MDNRegressor.*; got StandardScaler"
    with pytest.raises(TypeError, match=match):
        mdask.predict(StandardScaler(), dX)
    with pytest.raises(TypeError, match="int seed"):
        mdask.sample(mdn, dX, random_state=None)
    with pytest.raises(ValueError, match="n_samples"):
        mdask.sample(mdn, dX, 0, random_state=0)
    with pytest.raises(ValueError, match="coverage"):
        mdask.predict_interval(mdn, dX, coverage=1.5)
    with pytest.raises(ValueError, match="quantiles"):
        mdask.predict_quantiles(mdn, dX, [0.5, 2.0])
    with pytest.raises(TypeError, match="TransformedTargetRegressor"):
        mdask.log_prob(ttr, dX, np.zeros(10))
    with pytest.raises(ValueError, match="shape"):
        mdask.log_prob(mdn, dX, np.zeros(9))


# ------------------------------------------------------------------ rasters
def _cube(seed=0, shape=(30, 40)):
    """A (band, y, x) cube with coordinates and NaN pixels."""
    rng = np.random.RandomState(seed)
    values = rng.uniform(-1, 1, size=(N_FEATURES, *shape))
    values[:, 2:6, 3:9] = np.nan  # a cloud: every band
    values[1, 10, 10] = np.nan  # one band of one pixel
    values[2, 20, 30] = np.inf
    cube = xr.DataArray(
        values,
        dims=("band", "y", "x"),
        coords={
            "band": [443, 560, 665],
            "y": np.arange(shape[0]) * 300.0,
            "x": np.arange(shape[1]) * 300.0 + 1e5,
            "time": np.datetime64("2024-06-01"),
        },
        name="rrs",
    )
    return cube


def _expected(model, cube, fn):
    flat = cube.transpose("y", "x", "band").values.reshape(-1, N_FEATURES)
    finite = np.isfinite(flat).all(axis=1)
    return flat, finite, fn(model, flat[finite])


@pytest.mark.parametrize(
    "method, kwargs, extra, fn",
    [
        ("predict", {}, (), lambda m, X: m.predict(X)),
        (
            "interval",
            {"coverage": 0.9},
            ("bound",),
            lambda m, X: sklearn_mdn.predict_interval(m, X, 0.9),
        ),
        (
            "quantiles",
            {"quantiles": LEVELS},
            ("quantile",),
            lambda m, X: sklearn_mdn.predict_quantiles(m, X, LEVELS),
        ),
    ],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_predict_image_xarray(ttr, method, kwargs, extra, fn, lazy):
    cube = _cube()
    if lazy:
        cube = cube.chunk({"y": 7, "x": 40})
    with dask.config.set(scheduler="sync"):
        with pytest.warns(mdask.SkippedPixelsWarning, match="26 of 1200 pixels"):
            maps = mdask.predict_image(ttr, cube, method=method, **kwargs)
        assert maps.dims == ("y", "x", *extra)
        assert isinstance(maps.data, da.Array) == lazy
        maps = maps.compute()
    for name in ("y", "x", "time"):
        np.testing.assert_array_equal(maps[name].values, cube[name].values)
    assert "band" not in maps.coords
    if method == "interval":
        assert list(maps["bound"].values) == ["lower", "upper"]
    if method == "quantiles":
        np.testing.assert_array_equal(maps["quantile"].values, LEVELS)
    flat, finite, expected = _expected(ttr, cube, fn)
    out = maps.values.reshape(len(flat), *maps.shape[2:])
    nan_pixels = np.isnan(out).reshape(len(flat), -1)
    assert (nan_pixels.all(axis=1) == ~finite).all()
    assert not nan_pixels[finite].any()
    np.testing.assert_array_equal(out[finite], expected)


def test_predict_image_arrays_and_samples(mdn):
    cube = _cube().transpose("y", "x", "band").values
    flat, finite, expected = _expected(mdn, _cube(), lambda m, X: m.predict(X))
    with dask.config.set(scheduler="sync"):
        with pytest.warns(mdask.SkippedPixelsWarning, match="26 of 1200") as record:
            maps = mdask.predict_image(mdn, cube, band_dim=-1)
        assert record[0].filename == __file__
        assert isinstance(maps, np.ndarray) and maps.shape == (30, 40)
        np.testing.assert_array_equal(maps.reshape(-1)[finite], expected)
        assert np.isnan(maps.reshape(-1)[~finite]).all()

        lazy_cube = da.from_array(np.moveaxis(cube, -1, 0), chunks=(3, 10, 20))
        with pytest.warns(mdask.SkippedPixelsWarning):
            lazy = mdask.predict_image(mdn, lazy_cube, band_dim=0)
        assert isinstance(lazy, da.Array)
        np.testing.assert_array_equal(lazy.compute(), maps)

        with pytest.warns(mdask.SkippedPixelsWarning):
            draws = mdask.predict_image(
                mdn, cube, band_dim=-1, method="sample", n_samples=2, random_state=0
            )
            again = mdask.predict_image(
                mdn, cube, band_dim=-1, method="sample", n_samples=2, random_state=0
            )
    assert draws.shape == (30, 40, 2)
    np.testing.assert_array_equal(draws, again)
    assert (np.isnan(draws).reshape(-1, 2).all(axis=1) == ~finite).all()


def test_predict_image_without_missing_pixels_does_not_warn(mdn):
    cube = np.random.RandomState(0).uniform(size=(5, 6, N_FEATURES))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        maps = mdask.predict_image(mdn, cube, band_dim=2)
    np.testing.assert_array_equal(
        maps.reshape(-1), mdn.predict(cube.reshape(-1, N_FEATURES))
    )


def test_predict_image_bad_inputs(mdn):
    cube = _cube()
    with pytest.raises(ValueError, match="bands but the estimator takes 3"):
        mdask.predict_image(mdn, cube.isel(band=[0, 1]))
    with pytest.raises(ValueError, match="not a dimension"):
        mdask.predict_image(mdn, cube, band_dim="wavelength")
    with pytest.raises(TypeError, match="int axis"):
        mdask.predict_image(mdn, cube.values, band_dim="band")
    with pytest.raises(ValueError, match="method"):
        mdask.predict_image(mdn, cube, method="mean")
    with pytest.raises(TypeError, match="int seed"):
        mdask.predict_image(mdn, cube, method="sample")
    with pytest.raises(NotFittedError):
        mdask.predict_image(MDNRegressor(), cube)


def test_building_the_graph_neither_computes_nor_warns():
    """Nothing is computed until asked, and the shape probe stays silent for
    a model fitted on a DataFrame."""
    pd = pytest.importorskip("pandas")
    X, y = _train(n=300)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = MDNRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    model.fit(frame, np.log(y))

    def _explode(block):
        raise AssertionError("the input was read while building the graph")

    rows = da.from_array(X, chunks=100).map_blocks(_explode, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lazy = mdask.predict_quantiles(model, rows, LEVELS)
        mdask.sample(model, rows, 2, random_state=0)
        mdask.log_prob(model, rows, np.zeros(300))
    assert lazy.shape == (300, len(LEVELS))


def test_several_networks_on_dask_equal_in_memory():
    """A model averaging several networks predicts the same on Dask chunks."""
    X, y = _train(n=300)
    reg = MDNRegressor(
        hidden_layer_sizes=(8,), n_components=2, max_iter=3, random_state=0
    ).fit(X, np.log(y))
    assert reg.n_networks_ == 3
    X_new = _train(n=200, seed=1)[0]
    lazy = da.from_array(X_new, chunks=(64, -1))
    np.testing.assert_array_equal(
        mdask.predict_interval(reg, lazy, coverage=0.8).compute(),
        reg.predict_interval(X_new, coverage=0.8),
    )
