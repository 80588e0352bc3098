"""Persistence: pickle / joblib round trips, CUDA-to-CPU loading, versions."""

import io
import pickle
import warnings
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from _helpers import run_without_cuda
from numpy.testing import assert_array_equal
from skorch.exceptions import DeviceWarning

import sklearn_mdn
import sklearn_mdn._version
from sklearn_mdn import InconsistentVersionWarning, MDNRegressor


def _data(n_outputs):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = X[:, :n_outputs] * [1.0, -2.0][:n_outputs] + 0.1 * rng.normal(
        size=(60, n_outputs)
    )
    return X, (y[:, 0] if n_outputs == 1 else y)


@pytest.fixture(scope="module", params=[1, 2], ids=["1-output", "2-outputs"])
def fitted(request):
    X, y = _data(request.param)
    reg = MDNRegressor(
        n_components=3, hidden_layer_sizes=(8,), max_iter=5, random_state=0
    ).fit(X, y)
    return reg, X


def _all_predictions(reg, X):
    dist = reg.predict_dist(X)
    return {
        "predict": reg.predict(X),
        "interval": reg.predict_interval(X, coverage=0.8),
        "quantiles": reg.predict_quantiles(X, [0.1, 0.5]),
        "sample": reg.sample(X, 3, random_state=0),
        "weights": dist.weights,
        "means": dist.means,
        "scale_tril": dist.scale_tril,
    }


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert_array_equal(a[key], b[key], err_msg=key, strict=True)


def _round_trips(tmp_path):
    def joblib_trip(reg, **kwargs):
        path = tmp_path / "model.joblib"
        joblib.dump(reg, path, **kwargs)
        return joblib.load(path)

    return {
        "pickle": lambda reg: pickle.loads(pickle.dumps(reg)),
        "pickle-protocol-2": lambda reg: pickle.loads(pickle.dumps(reg, protocol=2)),
        "joblib": joblib_trip,
        "joblib-compressed": lambda reg: joblib_trip(reg, compress=3),
        "joblib-mmap": lambda reg: (
            joblib.dump(reg, tmp_path / "m.joblib"),
            joblib.load(tmp_path / "m.joblib", mmap_mode="r"),
        )[1],
    }


@pytest.mark.parametrize(
    "trip",
    ["pickle", "pickle-protocol-2", "joblib", "joblib-compressed", "joblib-mmap"],
)
def test_round_trip_is_bit_identical(fitted, trip, tmp_path):
    reg, X = fitted
    restored = _round_trips(tmp_path)[trip](reg)
    assert restored is not reg
    _assert_identical(_all_predictions(reg, X), _all_predictions(restored, X))
    assert restored.get_params() == reg.get_params()
    assert restored.loss_curve_ == reg.loss_curve_
    # The copy is independent and can be pickled again.
    _assert_identical(
        _all_predictions(reg, X),
        _all_predictions(pickle.loads(pickle.dumps(restored)), X),
    )


def test_round_trip_then_refit_matches_fresh_fit(fitted):
    reg, X = fitted
    y = reg.predict(X)
    restored = pickle.loads(pickle.dumps(reg)).fit(X, y)
    fresh = MDNRegressor(**reg.get_params()).fit(X, y)
    assert_array_equal(restored.predict(X), fresh.predict(X))


def test_unfitted_round_trip():
    reg = MDNRegressor(n_components=2, alpha=0.5)
    restored = pickle.loads(pickle.dumps(reg))
    assert restored.get_params() == reg.get_params()


# ---------------------------------------------------------------- versions
def test_pickle_records_package_version(fitted):
    reg, _ = fitted
    state = reg.__getstate__()
    assert state["_sklearn_mdn_version"] == sklearn_mdn.__version__
    # Recording the version does not add it to the live estimator.
    assert "_sklearn_mdn_version" not in vars(reg)
    assert "_sklearn_mdn_version" not in vars(pickle.loads(pickle.dumps(reg)))


def test_same_version_loads_silently(fitted):
    reg, _ = fitted
    data = pickle.dumps(reg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(data)


def test_other_version_warns(fitted, monkeypatch):
    reg, X = fitted
    monkeypatch.setattr(sklearn_mdn._version, "__version__", "0.0.1")
    data = pickle.dumps(reg)
    monkeypatch.setattr(sklearn_mdn._version, "__version__", "99.0")
    with pytest.warns(
        InconsistentVersionWarning,
        match="MDNRegressor from sklearn-mdn version 0.0.1 when using version 99.0",
    ) as record:
        restored = pickle.loads(data)
    warning = record[0].message
    assert record[0].filename == __file__  # the line that unpickled, not ours
    assert isinstance(warning, UserWarning)
    assert (warning.original_version, warning.current_version) == ("0.0.1", "99.0")
    assert warning.estimator_name == "MDNRegressor"
    # Still loads and predicts the same.
    assert_array_equal(restored.predict(X), reg.predict(X))
    # The warning survives pickling (multiprocessing sends warnings across).
    assert str(pickle.loads(pickle.dumps(warning))) == str(warning)


def test_other_version_warns_at_the_joblib_load_line(fitted, monkeypatch, tmp_path):
    reg, _ = fitted
    monkeypatch.setattr(sklearn_mdn._version, "__version__", "0.0.1")
    joblib.dump(reg, tmp_path / "model.joblib")
    monkeypatch.setattr(sklearn_mdn._version, "__version__", "99.0")
    with pytest.warns(InconsistentVersionWarning) as record:
        joblib.load(tmp_path / "model.joblib")
    # joblib.load unpickles in pure Python: its frames and pickle's are
    # skipped too.
    assert [w.filename for w in record] == [__file__]


def test_pickle_without_version_warns_unknown(fitted):
    reg, _ = fitted
    state = reg.__getstate__()
    del state["_sklearn_mdn_version"]  # as a pickle from before versions were kept
    restored = MDNRegressor.__new__(MDNRegressor)
    with pytest.warns(InconsistentVersionWarning, match="version unknown"):
        restored.__setstate__(state)


def test_version_warning_can_be_filtered(fitted, monkeypatch):
    reg, _ = fitted
    monkeypatch.setattr(sklearn_mdn._version, "__version__", "0.0.1")
    data = pickle.dumps(reg)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        pickle.loads(data)


# ------------------------------------------------------------- CUDA to CPU
def _pretend_cuda_pickle(reg):
    """Pickle ``reg`` as if it had been fitted on CUDA.

    The estimator and its net say ``device="cuda"``, and torch writes every
    tensor storage with the location tag ``cuda:0``, exactly as it does for
    tensors that live on a GPU.
    """
    reg = pickle.loads(pickle.dumps(reg))
    reg.set_params(device="cuda")
    reg.net_.device = torch.device("cuda")
    with mock.patch("torch.serialization.location_tag", lambda storage: "cuda:0"):
        return pickle.dumps(reg)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks loading on a machine without CUDA"
)
def test_cuda_model_loads_and_predicts_on_cpu(fitted):
    reg, X = fitted
    data = _pretend_cuda_pickle(reg)
    assert b"cuda:0" in data
    with pytest.warns(DeviceWarning) as record:
        restored = pickle.loads(data)
    assert any("no CUDA devices are available" in str(w.message) for w in record)
    assert torch.device(restored.net_.device).type == "cpu"
    assert all(p.device.type == "cpu" for p in restored.net_.module_.parameters())
    # The user's parameter is kept; predictions use the net's device.
    assert restored.device == "cuda"
    _assert_identical(_all_predictions(reg, X), _all_predictions(restored, X))
    # Refitting on this machine asks for CUDA again: a clear error, and the
    # estimator is left unfitted rather than half-fitted.
    with pytest.raises(ValueError, match="CUDA is not available"):
        restored.fit(X, reg.predict(X))
    assert not hasattr(restored, "net_")
    # With the device set to the CPU, it refits.
    restored.set_params(device="cpu").fit(X, reg.predict(X))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks loading on a machine without CUDA"
)
def test_cuda_model_with_input_l1_loads_on_cpu(monkeypatch):
    """The relaxed phase of ``input_l1`` leaves no device tensor on the net
    outside skorch's device-aware pickling."""
    from sklearn_mdn._nn._training import MixtureNet

    relaxed = []
    relax = MixtureNet.relax_inputs
    monkeypatch.setattr(
        MixtureNet, "relax_inputs", lambda net: relaxed.append(relax(net))
    )
    X, y = _data(1)
    reg = MDNRegressor(
        input_l1=0.5,
        hidden_layer_sizes=(8,),
        max_iter=300,
        n_iter_no_change=6,
        learning_rate_init=1e-2,
        n_networks=1,
        random_state=0,
    ).fit(X, y)
    assert relaxed  # the second phase ran
    assert reg.net_.input_mask_ is None
    with pytest.warns(DeviceWarning):
        restored = pickle.loads(_pretend_cuda_pickle(reg))
    _assert_identical(_all_predictions(reg, X), _all_predictions(restored, X))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks loading on a machine without CUDA"
)
def test_cuda_pickle_needs_the_mapping():
    """Control: the location tag really makes torch look for CUDA."""
    state = torch.nn.Linear(2, 2).state_dict()
    buffer = io.BytesIO()
    with mock.patch("torch.serialization.location_tag", lambda storage: "cuda:0"):
        torch.save(state, buffer)
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(io.BytesIO(buffer.getvalue()))
    loaded = torch.load(io.BytesIO(buffer.getvalue()), map_location="cpu")
    assert_array_equal(loaded["weight"].numpy(), state["weight"].numpy())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_round_trip_and_cpu_load(tmp_path):
    """On a GPU machine: fit on CUDA, then load in a process without CUDA."""
    X, y = _data(1)
    reg = MDNRegressor(
        n_components=2,
        hidden_layer_sizes=(8,),
        max_iter=3,
        device="cuda",
        random_state=0,
    ).fit(X, y)
    assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    joblib.dump((reg, X, reg.predict(X)), tmp_path / "cuda.joblib")
    code = (
        "import joblib, numpy as np, torch; assert not torch.cuda.is_available(); "
        f"reg, X, pred = joblib.load({str(tmp_path / 'cuda.joblib')!r}); "
        "np.testing.assert_allclose(reg.predict(X), pred, rtol=1e-5, atol=1e-6)"
    )
    run_without_cuda(code)
