"""The safe model format: save_model / load_model round trips and refusals."""

import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from _helpers import run_without_cuda
from numpy.testing import assert_array_equal
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler

import sklearn_mdn
from sklearn_mdn import (
    InconsistentVersionWarning,
    MDNEnsembleRegressor,
    MDNRegressor,
    load_model,
    predict_dist,
    predict_interval,
    predict_quantiles,
    sample,
    save_model,
)
from sklearn_mdn._io._schema import _HEADER

TINY = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0}


def _data(n_outputs, n=60):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 3))
    y = X[:, :n_outputs] * [1.0, -2.0][:n_outputs] + 0.1 * rng.normal(
        size=(n, n_outputs)
    )
    return X, (y[:, 0] if n_outputs == 1 else y)


def _fit(config):
    X, y = _data(2 if "2" in config else 1)
    if config == "1-output":
        model = MDNRegressor(n_components=3, **TINY)
    elif config == "2-outputs-full":
        model = MDNRegressor(n_components=2, **TINY)
    elif config == "conformal":
        model = MDNRegressor(n_components=2, calibrate="conformal", **TINY)
    elif config == "2-outputs-stacked-spherical":
        # Two networks, each averaged with its refit: four stacked modules.
        model = MDNRegressor(
            n_components=2,
            covariance_type="spherical",
            n_networks=2,
            refit=True,
            activation="tanh",
            **{**TINY, "hidden_layer_sizes": (8, 4)},
        )
    elif config == "gate":
        model = MDNRegressor(n_components=2, gate_size=4, n_networks=2, **TINY)
    elif config == "ensemble":
        model = MDNEnsembleRegressor(
            MDNRegressor(n_components=2, hidden_layer_sizes=(8,), max_iter=3),
            n_estimators=2,
            member_params=[{}, {"alpha": 0.5}],
            random_state=0,
        )
    elif config == "log-target":
        y = np.exp(y)
        model = TransformedTargetRegressor(
            MDNRegressor(n_components=2, **TINY), func=np.log, inverse_func=np.exp
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of max_iter=5
        return model.fit(X, y), X


CONFIGS = [
    "1-output",
    "2-outputs-full",
    "conformal",
    "2-outputs-stacked-spherical",
    "gate",
    "ensemble",
    "log-target",
]


@pytest.fixture(scope="module", params=CONFIGS)
def fitted(request):
    return _fit(request.param)


def _predictions(model, X):
    dist = predict_dist(model, X) if not hasattr(model, "regressor") else None
    out = {
        "predict": model.predict(X),
        "interval": predict_interval(model, X, coverage=0.8),
        "quantiles": predict_quantiles(model, X, [0.1, 0.5]),
        "sample": sample(model, X, n_samples=3, random_state=0),
    }
    if dist is not None:
        out.update(weights=dist.weights, means=dist.means, scale_tril=dist.scale_tril)
    if getattr(model, "conformal_", None) is not None:
        out["hdr"] = model.predict_hdr(X, coverage=0.8).intervals
    return out


def _members(model):
    """The MDNRegressors inside ``model``."""
    if isinstance(model, TransformedTargetRegressor):
        return _members(model.regressor_)
    if isinstance(model, MDNEnsembleRegressor):
        return model.estimators_
    return [model]


def _assert_same_fitted_state(a, b):
    assert vars(a).keys() == vars(b).keys()
    for key, value in vars(a).items():
        other = vars(b)[key]
        if key == "net_":
            assert list(value.history) == list(other.history)
            state_a, state_b = value.module_.state_dict(), other.module_.state_dict()
            assert state_a.keys() == state_b.keys()
            for name in state_a:
                assert torch.equal(state_a[name], state_b[name]), name
        elif key == "conformal_" and value is not None:
            assert_array_equal(value.interval_scores, other.interval_scores)
            assert_array_equal(value.region_scores, other.region_scores)
        elif key == "blend_trees_" and value is not None:
            assert len(value) == len(other)
            for trees, loaded in zip(value, other):
                assert trees.keys() == loaded.keys()
                for name, array in trees.items():
                    if isinstance(array, np.ndarray):
                        assert_array_equal(array, loaded[name], strict=True)
                    else:
                        assert array == loaded[name], name
        elif isinstance(value, np.ndarray):
            assert_array_equal(value, other, strict=True, err_msg=key)
        else:
            assert value == other and type(value) is type(other), key


def test_round_trip_is_bit_identical(fitted, tmp_path):
    model, X = fitted
    save_model(model, tmp_path / "model.mdn")
    loaded = load_model(tmp_path / "model.mdn")
    assert type(loaded) is type(model) and loaded is not model
    expected, got = _predictions(model, X), _predictions(loaded, X)
    assert expected.keys() == got.keys()
    for key in expected:
        assert_array_equal(expected[key], got[key], strict=True, err_msg=key)
    assert repr(loaded) == repr(model)
    for a, b in zip(_members(model), _members(loaded), strict=True):
        assert a.get_params() == b.get_params()
        _assert_same_fitted_state(a, b)
    # It saves again, to the same predictions.
    save_model(loaded, tmp_path / "again.mdn")
    again = load_model(tmp_path / "again.mdn")
    assert_array_equal(again.predict(X), expected["predict"], strict=True)


def test_log_target_keeps_the_transform(tmp_path):
    model, X = _fit("log-target")
    save_model(model, tmp_path / "m.mdn")
    loaded = load_model(tmp_path / "m.mdn")
    assert loaded.func is np.log and loaded.inverse_func is np.exp
    assert loaded.transformer_.inverse_func is np.exp
    assert loaded._training_dim == model._training_dim == 1
    assert loaded.predict(X).shape == (len(X),)


def test_a_partially_fitted_model_round_trips_and_continues(tmp_path):
    """partial_fit's carried state is left out of the file: the loaded model
    predicts bit-identically, and partial_fit says why it cannot continue it
    (the model is left as it was)."""
    X, y = _data(1, n=80)
    model = MDNRegressor(hidden_layer_sizes=(8,), random_state=0)
    model.partial_fit(X, y).partial_fit(X, y)
    save_model(model, tmp_path / "m.mdn")
    loaded = load_model(tmp_path / "m.mdn")
    assert not hasattr(loaded, "_partial_fit_state_")
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert_array_equal(loaded.predict_interval(X), model.predict_interval(X))
    with pytest.raises(ValueError, match="cannot continue a model read by load_m"):
        loaded.partial_fit(X, y)
    assert_array_equal(loaded.predict(X), model.predict(X))
    loaded.set_params(warm_start=True)
    with pytest.raises(ValueError, match="warm_start=True cannot continue a model"):
        loaded.fit(X, y)
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_file_holds_numeric_arrays_and_a_json_header(tmp_path):
    model, _ = _fit("conformal")
    path = tmp_path / "m.mdn"
    save_model(model, path)
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    assert all(a.dtype.kind in "biuf" for a in arrays.values())
    header = json.loads(arrays[_HEADER].tobytes())
    assert header["format"] == "sklearn-mdn/safe-model"
    assert header["format_version"] == 1
    assert header["versions"]["sklearn-mdn"] == sklearn_mdn.__version__
    assert {"scikit-learn", "numpy", "torch", "skorch"} <= set(header["versions"])
    assert header["model"]["estimator"]["class"] == "MDNRegressor"
    params = header["model"]["estimator"]["params"]
    assert params["calibrate"] == "conformal"
    assert params["hidden_layer_sizes"] == {"tuple": [8]}
    # Only the temporary file's rename wrote here: nothing else is left.
    assert [p.name for p in tmp_path.iterdir()] == ["m.mdn"]


def test_unfitted_and_random_state_instance_round_trip(tmp_path):
    model = MDNRegressor(n_components=2, alpha=0.5, device=torch.device("cpu"))
    save_model(model, tmp_path / "u.mdn")
    loaded = load_model(tmp_path / "u.mdn")
    assert loaded.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        loaded.predict(np.zeros((1, 3)))
    X, y = _data(1)
    rng = np.random.RandomState(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MDNRegressor(**{**TINY, "random_state": rng}).fit(X, y)
    save_model(model, tmp_path / "r.mdn")
    loaded = load_model(tmp_path / "r.mdn")
    # The generator's state, advanced by the fit, is kept.
    assert loaded.random_state is not rng
    assert loaded.random_state.randint(1 << 30) == rng.randint(1 << 30)
    assert_array_equal(loaded.predict(X), model.predict(X), strict=True)


def test_feature_names_round_trip(tmp_path):
    pd = pytest.importorskip("pandas", reason="feature names come from a DataFrame")
    X, y = _data(1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MDNRegressor(**TINY).fit(frame, y)
    save_model(model, tmp_path / "f.mdn")
    loaded = load_model(tmp_path / "f.mdn")
    assert_array_equal(loaded.feature_names_in_, model.feature_names_in_, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name warning
        assert_array_equal(loaded.predict(frame), model.predict(frame), strict=True)


# ------------------------------------------------------- what is refused
@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: make_pipeline(StandardScaler(), MDNRegressor()), "got Pipeline"),
        (lambda: LinearRegression(), "got LinearRegression"),
        (
            lambda: GridSearchCV(MDNRegressor(), {"alpha": [1e-4]}),
            "save its best_estimator_",
        ),
        (
            lambda: TransformedTargetRegressor(
                MDNRegressor(), func=lambda y: y, inverse_func=lambda y: y
            ),
            "model.func, a function",
        ),
        (
            lambda: TransformedTargetRegressor(
                MDNRegressor(), transformer=QuantileTransformer()
            ),
            "model.transformer, a QuantileTransformer",
        ),
        (
            lambda: MDNEnsembleRegressor(LinearRegression()),
            "model.estimator, a LinearRegression",
        ),
    ],
    ids=["pipeline", "other-estimator", "search", "lambda", "transformer", "member"],
)
def test_unsupported_models_raise_type_error(make, words, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make()
    with pytest.raises(TypeError, match="stores an MDNRegressor") as info:
        save_model(model, tmp_path / "m.mdn")
    assert words in str(info.value)
    assert "joblib.dump" in str(info.value)
    assert list(tmp_path.iterdir()) == []


class _WouldRun:
    """Unpickling this creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.mdn"
    joblib.dump({"model": _WouldRun(marker)}, path)
    # Control: unpickling the file does run its code.
    joblib.load(path)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ValueError, match="not a model file written by"):
        load_model(path)
    assert not marker.exists()


def _rewrite(path, edit=None, **extra_arrays):
    """Rewrite the saved file at ``path`` with ``edit(header)`` applied."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(arrays[_HEADER].tobytes())
    if edit is not None:
        edit(header)
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as f:  # np.savez would add .npz to the name
        np.savez(f, **arrays, **extra_arrays)


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory):
    model, X = _fit("1-output")
    path = tmp_path_factory.mktemp("saved") / "m.mdn"
    save_model(model, path)
    return path.read_bytes(), model, X


def _node(header):
    return header["model"]["estimator"]


def test_an_object_array_is_refused(saved_bytes, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "m.npz"
    path.write_bytes(saved_bytes[0])
    evil = np.array([_WouldRun(marker)], dtype=object)

    def point_x_mean_at_it(header):
        _node(header)["state"]["x_mean_"] = {"array": "evil"}

    _rewrite(path, point_x_mean_at_it, evil=evil)
    with pytest.raises(ValueError, match="'evil' holds Python objects"):
        load_model(path)
    assert not marker.exists()
    # A header that is itself an object array is refused too.
    np.savez(path, **{_HEADER: evil})
    with pytest.raises(ValueError, match="not a model file written by"):
        load_model(path)
    assert not marker.exists()


def _set(*keys, value):
    def edit(header):
        node = header
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    "edit, words",
    [
        (_set("model", "estimator", "class", value="Popen"), "unknown class 'Popen'"),
        (_set("model", value={"estimator": {"class": "FunctionTransformer",
                                            "params": {}, "state": {}}}),
         "not a valid sklearn-mdn model file"),
        (_set("model", "estimator", "params", "alpha",
              value={"function": "os.system"}), "unknown function 'os.system'"),
        (_set("model", "estimator", "params", "os", value=1),
         "has no parameters ['os']"),
        (_set("model", "estimator", "state", "__class__", value=None),
         "no fitted attribute '__class__'"),
        (_set("model", "estimator", "state", "n_iter_", value={"pickle": "x"}),
         "unknown entry"),
        (_set("model", "estimator", "state", "x_mean_", value={"array": "a999"}),
         "no array named 'a999'"),
        (_set("model", "estimator", "state", "fit_plan_",
              value={"fit_plan": {"dict": {"os": 1}}}),
         "a fit plan with other fields"),
        (_set("format", value="other"), "not a model file written by"),
        (_set("format_version", value=2), "newer sklearn-mdn (model format 2"),
    ],
    ids=["class", "not-a-model", "function", "param", "dunder", "tag", "array",
         "fit-plan", "format", "newer"],
)  # fmt: skip
def test_malformed_files_raise_value_error(saved_bytes, tmp_path, edit, words):
    path = tmp_path / "m.mdn"
    path.write_bytes(saved_bytes[0])
    _rewrite(path, edit)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert words in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_weights_that_do_not_fit_the_network_raise(saved_bytes, tmp_path):
    path = tmp_path / "m.mdn"
    path.write_bytes(saved_bytes[0])

    def widen(header):
        module = _node(header)["state"]["net_"]["net"]["module"]
        while "stacked" in module:  # five networks on 60 rows
            module = module["stacked"][0]
        module["mixture"]["config"]["hidden_layer_sizes"] = [9]

    _rewrite(path, widen)
    with pytest.raises(ValueError, match="weights do not fit it"):
        load_model(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"just some text\n", b"PK\x03\x04 truncated zip"],
    ids=["empty", "text", "broken-zip"],
)
def test_other_files_raise_value_error(tmp_path, content):
    path = tmp_path / "m.mdn"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a model file written by"):
        load_model(path)


def test_other_numpy_files_and_pickles_raise_value_error(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3))
    np.savez(tmp_path / "b.npz", x=np.arange(3))
    joblib.dump(MDNRegressor(), tmp_path / "c.joblib")
    (tmp_path / "d.pkl").write_bytes(pickle.dumps(MDNRegressor()))
    for name in ["a.npy", "b.npz", "c.joblib", "d.pkl"]:
        with pytest.raises(ValueError, match="not a model file written by"):
            load_model(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.mdn")


def test_other_version_warns_and_loads(saved_bytes, tmp_path):
    data, model, X = saved_bytes
    path = tmp_path / "m.mdn"
    path.write_bytes(data)
    _rewrite(path, _set("versions", "sklearn-mdn", value="0.0.1"))
    with pytest.warns(
        InconsistentVersionWarning,
        match="MDNRegressor from sklearn-mdn version 0.0.1 when using version",
    ) as record:
        loaded = load_model(path)
    assert [w.filename for w in record] == [__file__]
    assert_array_equal(loaded.predict(X), model.predict(X), strict=True)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks loading on a machine without CUDA"
)
def test_cuda_model_loads_on_cpu(saved_bytes, tmp_path):
    from skorch.exceptions import DeviceWarning

    data, model, X = saved_bytes
    path = tmp_path / "m.mdn"
    path.write_bytes(data)

    def on_cuda(header):
        _node(header)["params"]["device"] = "cuda"
        _node(header)["state"]["net_"]["net"]["device"] = "cuda:0"

    _rewrite(path, on_cuda)
    with pytest.warns(DeviceWarning, match="fitted on cuda:0"):
        loaded = load_model(path)
    assert loaded.device == "cuda"
    assert loaded.net_.device.type == "cpu"
    assert_array_equal(loaded.predict(X), model.predict(X), strict=True)


def test_a_failed_save_keeps_the_previous_file(saved_bytes, tmp_path, monkeypatch):
    data, model, _ = saved_bytes
    path = tmp_path / "m.mdn"
    path.write_bytes(data)

    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_model(model, path)
    assert path.read_bytes() == data
    assert os.listdir(tmp_path) == ["m.mdn"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_round_trip_and_cpu_load(tmp_path):
    """On a GPU machine: fit on CUDA, load on CUDA (bit-identical), then load
    in a process without CUDA (on the CPU, with a warning)."""
    X, y = _data(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MDNRegressor(n_components=2, device="cuda", **TINY).fit(X, y)
    path = tmp_path / "cuda.mdn"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.net_.device.type == "cuda"
    assert_array_equal(loaded.predict(X), model.predict(X), strict=True)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "pred.npy", model.predict(X))
    code = (
        "import warnings, numpy as np, torch, sklearn_mdn\n"
        "from skorch.exceptions import DeviceWarning\n"
        "assert not torch.cuda.is_available()\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    reg = sklearn_mdn.load_model({str(path)!r})\n"
        "assert any(issubclass(w.category, DeviceWarning) for w in caught)\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"pred = np.load({str(tmp_path / 'pred.npy')!r})\n"
        "np.testing.assert_allclose(reg.predict(X), pred, rtol=1e-5, atol=1e-6)\n"
    )
    run_without_cuda(code)


def test_a_file_written_before_the_layered_layout_loads():
    """tests/data/model_0.1.0.dev0_flat_layout.mdn was saved by the package
    before its modules moved into subpackages (commit c46d9ed): files name
    classes by their public path, so it loads and predicts."""
    path = Path(__file__).parents[1] / "data" / "model_0.1.0.dev0_flat_layout.mdn"
    model = load_model(path)
    assert type(model) is MDNRegressor
    # Its fit plan lacks the fields added since, which take their defaults.
    assert model.fit_plan_.overfit_stop is False
    X = np.random.RandomState(0).uniform(-1, 1, size=(5, 2))
    interval = model.predict_interval(X)
    assert interval.shape == (5, 2) and np.isfinite(interval).all()
    assert (interval[:, 0] < interval[:, 1]).all()
