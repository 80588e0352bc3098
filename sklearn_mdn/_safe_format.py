"""Model files of arrays and plain data, which cannot run code when loaded.

A file is a NumPy ``.npz`` archive: a JSON header (the array
``sklearn_mdn_header``, its UTF-8 bytes) and numeric arrays named ``a0``,
``a1``, ... that the header refers to. :func:`load_model` reads it with
``allow_pickle=False``, so numpy refuses any array of Python objects, and
rebuilds the estimator from the header by calling the constructors of a
short list of classes (:data:`_CLASSES`) with plain values, then setting
their fitted attributes. Nothing in a file names a function to call except
through :data:`_FUNCTIONS` (the target transforms of a
``TransformedTargetRegressor``).

The header holds, for each estimator, its class name, its ``get_params()``
and its fitted attributes, each encoded as JSON: ``null``, booleans,
numbers, strings and lists as themselves, and everything else as an object
with one tag (``{"tuple": [...]}``, ``{"array": "a3"}``,
``{"estimator": {...}}``, ...). The fitted network is stored as the
configuration and ``state_dict`` of each of its modules and the training
history; the optimizer's state is not kept (a fit always starts afresh).
"""

import importlib
import importlib.metadata
import json
import os
import warnings
import zipfile

import numpy as np

from ._atomic import atomic_write
from ._compat import SKLEARN_PRIVATE_STATE
from ._compose import _is_search
from ._persistence import InconsistentVersionWarning, _current_version
from ._warnings import find_stack_level

FORMAT = "sklearn-mdn/safe-model"
FORMAT_VERSION = 1
_HEADER = "sklearn_mdn_header"

# The classes a file may hold, by name, with the module that defines them.
_CLASSES = {
    "MDNRegressor": "sklearn_mdn._regressor",
    "MDNEnsembleRegressor": "sklearn_mdn._ensemble",
    "TransformedTargetRegressor": "sklearn.compose",
    "FunctionTransformer": "sklearn.preprocessing",
}
# Those that save_model takes as the model itself (a FunctionTransformer is
# only ever a TransformedTargetRegressor's fitted transformer_).
_MODELS = ("MDNRegressor", "MDNEnsembleRegressor", "TransformedTargetRegressor")
# Fitted attributes that do not end in "_", by class.
_PRIVATE_STATE = {"MDNRegressor": {"_y_ndim"}, **SKLEARN_PRIVATE_STATE}
# Training state that a file leaves out, by class: what partial_fit carries
# from one call to the next (its shuffling seed and learning-rate plateau),
# like the optimizer's state. A loaded model predicts bit-identically, and
# partial_fit refuses it (a pickle keeps both).
_NOT_SAVED = {"MDNRegressor": {"_partial_fit_state_"}}
# The functions a file may name: target transforms and their inverses.
_FUNCTIONS = {
    f"numpy.{name}": getattr(np, name)
    for name in (
        "log", "exp", "log1p", "expm1", "log2", "exp2", "log10", "sqrt",
        "square", "cbrt", "arcsinh", "sinh",
    )
}  # fmt: skip
_SUPPORTED = (
    "an MDNRegressor, an MDNEnsembleRegressor of MDNRegressor members, or a "
    "TransformedTargetRegressor (without transformer) around one of them "
    "whose func and inverse_func are among "
    + ", ".join(_FUNCTIONS)
    + ". Save other models (a Pipeline, a search) with joblib.dump, and load "
    "such a pickle only if you trust it: unpickling can run code"
)
_NOT_OURS = (
    "not a model file written by sklearn_mdn.save_model or 'sklearn-mdn fit' "
    "(a .npz archive of arrays with a JSON header)"
)


def save_model(model, path):
    """Save a model to a file that holds only arrays and plain data.

    Unlike a pickle, the file cannot run code when it is loaded with
    :func:`load_model`, so models can be exchanged with people you do not
    fully trust. The file (a NumPy ``.npz`` archive; ``.mdn`` is the usual
    extension) appears under ``path`` only once complete: a failed or
    interrupted save leaves the previous file, or none.

    Parameters
    ----------
    model : estimator
        An :class:`MDNRegressor`, an :class:`MDNEnsembleRegressor` of
        ``MDNRegressor`` members, or a
        :class:`~sklearn.compose.TransformedTargetRegressor` around one of
        them whose ``func`` and ``inverse_func`` are numpy functions such as
        ``np.log`` and ``np.exp``; fitted or not.
    path : str or path-like
        The file to write.

    Raises
    ------
    TypeError
        If the model, or a value in it, is not one that the format stores
        (a ``Pipeline``, a search, a ``lambda`` as ``func``, ...); pickle
        such models with :func:`joblib.dump`.

    See Also
    --------
    load_model : Load a model saved by this function.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import MDNRegressor, load_model, save_model
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(100, 1))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=100)
    >>> reg = MDNRegressor(hidden_layer_sizes=(8,), max_iter=20,
    ...                    random_state=0).fit(X, y)
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.mdn")
    >>> save_model(reg, path)
    >>> np.array_equal(load_model(path).predict(X), reg.predict(X))
    True
    """
    _dump(model, path)


def load_model(path):
    """Load a model saved by :func:`save_model` or ``sklearn-mdn fit``.

    The file is read without unpickling anything: arrays of Python objects,
    classes outside the list that :func:`save_model` accepts, and any other
    kind of file are refused. The loaded model predicts bit-identically to
    the saved one (on the same device). It warns with
    :class:`InconsistentVersionWarning` when another sklearn-mdn version
    saved it. A model fitted on a GPU loads on the CPU where the GPU is
    missing (with a warning).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    model : estimator
        The model, fitted as it was saved. Its networks (``net_``) hold the
        fitted modules and training history; the optimizer's state is not
        saved.

    Raises
    ------
    ValueError
        If the file is not of this format (a pickle, for instance), holds an
        unknown class or an array of objects, or was written by a newer
        format version.

    See Also
    --------
    save_model : Save a model in this format.
    """
    model, _ = _load(path)
    return model


# ----------------------------------------------------------------- writing
def _dump(model, path, metadata=None):
    """Write ``model`` and the plain-JSON ``metadata`` (the command line's
    column names) to ``path``."""
    if type(model).__name__ not in _MODELS:
        hint = ""
        if _is_search(model):
            hint = " For a fitted search, save its best_estimator_."
        raise TypeError(
            f"save_model stores {_SUPPORTED}; got {type(model).__name__}.{hint}"
        )
    writer = _Writer()
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "model": writer.value(model, "model"),
        "metadata": metadata or {},
    }
    text = json.dumps(header, allow_nan=True, separators=(",", ":"))
    arrays = {_HEADER: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays, **writer.arrays)


def _versions() -> dict:
    versions = {"sklearn-mdn": _current_version()}
    for name in ("scikit-learn", "numpy", "torch", "skorch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _class(name):
    return getattr(importlib.import_module(_CLASSES[name]), name)


def _is_state_name(class_name: str, name: str) -> bool:
    """Whether ``name`` is a fitted attribute of ``class_name`` that a file
    may set: a public name ending in ``_``, or one listed in
    :data:`_PRIVATE_STATE`."""
    if name in _PRIVATE_STATE.get(class_name, ()):
        return True
    return name.isidentifier() and name.endswith("_") and not name.startswith("_")


class _Writer:
    """Encodes values as JSON, collecting their arrays in ``arrays``."""

    def __init__(self):
        self.arrays = {}

    def array(self, value, where) -> dict:
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{where}: cannot store an array of dtype {value.dtype}.")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = value
        return {"array": name}

    def value(self, value, where):
        if isinstance(value, np.bool_ | np.integer | np.floating | np.str_):
            return value.item()
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"tuple": self.value(list(value), where)}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{where}: cannot store a dict with non-str keys.")
            return {
                "dict": {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
            }
        if isinstance(value, np.ndarray):
            if value.dtype == object and all(isinstance(v, str) for v in value.flat):
                if value.ndim != 1:
                    raise TypeError(f"{where}: cannot store a {value.ndim}-d array.")
                return {"str_array": value.tolist()}
            return self.array(value, where)
        if type(value) is np.random.RandomState:
            kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {
                "random_state": {
                    "keys": self.array(keys, where),
                    "pos": int(pos),
                    "has_gauss": int(has_gauss),
                    "cached_gaussian": float(cached),
                }
            }
        for name, function in _FUNCTIONS.items():
            if value is function:
                return {"function": name}
        name = type(value).__name__
        if name in _CLASSES and type(value) is _class(name):
            return {"estimator": self.estimator(value, where)}
        return self.special(value, where)

    def special(self, value, where):
        """The values only a fitted MDNRegressor holds: its calibration, its
        net, a torch device and its fit plan; TypeError for anything else."""
        from ._calibration import ConformalCalibration

        if type(value) is ConformalCalibration:
            return {
                "conformal": {
                    "interval_scores": self.array(value.interval_scores, where),
                    "region_scores": self.array(value.region_scores, where),
                }
            }
        if type(value).__module__ == "torch" and type(value).__name__ == "device":
            return {"torch_device": str(value)}
        from ._plan import FitPlan

        if type(value) is FitPlan:
            fields = {k: getattr(value, k) for k in _plan_fields()}
            fields["decisions"] = [[d.name, d.value, d.rule] for d in value.decisions]
            return {"fit_plan": self.value(fields, where)}
        from ._training import MixtureNet

        if type(value) is MixtureNet:
            return {
                "net": {
                    "device": str(value.device),
                    "module": self.module(value.module_, f"{where}.module_"),
                    "history": json.loads(
                        json.dumps(list(value.history), default=_plain)
                    ),
                }
            }
        what = type(value).__name__
        raise TypeError(
            f"save_model cannot store {where}, a {what}: it stores {_SUPPORTED}."
        )

    def module(self, module, where) -> dict:
        from ._module import ACTIVATIONS, MixtureDensityModule, StackedMixture

        if type(module) is StackedMixture:
            return {
                "stacked": [
                    self.module(m, f"{where}.members[{i}]")
                    for i, m in enumerate(module.members)
                ]
            }
        if type(module) is not MixtureDensityModule:
            raise TypeError(f"{where}: cannot store a {type(module).__name__}.")
        linears = [*module.trunk[::2], module.head]
        activation = "identity"
        if len(module.trunk):
            activation = next(
                name
                for name, cls in ACTIVATIONS.items()
                if type(module.trunk[1]) is cls
            )
        if module.full:
            covariance_type = "full"
        elif module.n_scale < module.n_targets:
            covariance_type = "spherical"
        else:
            covariance_type = "diag"
        config = {
            "n_features": linears[0].in_features,
            "n_targets": module.n_targets,
            "n_components": module.n_components,
            "hidden_layer_sizes": [layer.out_features for layer in linears[:-1]],
            "activation": activation,
            "covariance_type": covariance_type,
            "min_scale": float(module.min_scale),
        }
        state = {
            key: self.array(tensor.detach().cpu().numpy(), f"{where}.{key}")
            for key, tensor in module.state_dict().items()
        }
        return {"mixture": {"config": config, "state": state}}

    def estimator(self, estimator, where) -> dict:
        name = type(estimator).__name__
        params = estimator.get_params(deep=False)
        skip = _NOT_SAVED.get(name, set())
        state = {
            k: v
            for k, v in vars(estimator).items()
            if k not in params and k not in skip
        }
        for key in state:
            if not _is_state_name(name, key):
                raise TypeError(
                    f"save_model cannot store the attribute {key!r} of {name} "
                    f"({where})."
                )
        return {
            "class": name,
            "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()},
            "state": {k: self.value(v, f"{where}.{k}") for k, v in state.items()},
        }


def _plain(value):
    """JSON's fallback for numpy scalars in a training history."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in a training history")


# ----------------------------------------------------------------- reading
class _MalformedError(ValueError):
    """A file of the format whose content does not decode."""


def _load(path):
    """The model and metadata of the file at ``path``."""
    path = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: {_NOT_OURS}.") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: {_NOT_OURS}.")
    with data:
        header = _read_header(data, path)
        reader = _Reader(data)
        try:
            model = reader.value(header["model"])
            metadata = header["metadata"]
        except _MalformedError as exc:
            raise ValueError(
                f"{path}: not a valid sklearn-mdn model file: {exc}"
            ) from None
        except (
            ValueError, KeyError, TypeError, AttributeError, IndexError,
            RuntimeError, RecursionError,
        ) as exc:  # fmt: skip
            raise ValueError(
                f"{path}: not a valid sklearn-mdn model file "
                f"({type(exc).__name__}: {exc})"
            ) from None
    if type(model).__name__ not in _MODELS or not isinstance(metadata, dict):
        raise ValueError(f"{path}: not a valid sklearn-mdn model file.")
    return model, metadata


def _read_header(data, path) -> dict:
    if _HEADER not in data.files:
        raise ValueError(f"{path}: {_NOT_OURS}.")
    try:
        raw = data[_HEADER]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("the header is not an array of bytes")
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: {_NOT_OURS} ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: {_NOT_OURS}.")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path}: written by a newer sklearn-mdn (model format {version}, this "
            f"version reads format {FORMAT_VERSION}); upgrade sklearn-mdn to "
            "load it."
        )
    versions = header.get("versions")
    original = versions.get("sklearn-mdn") if isinstance(versions, dict) else None
    current = _current_version()
    if original != current:
        model = header.get("model")
        name = "model"
        if isinstance(model, dict) and isinstance(model.get("estimator"), dict):
            name = str(model["estimator"].get("class"))
        warnings.warn(
            InconsistentVersionWarning(name, current, str(original or "unknown")),
            stacklevel=find_stack_level(),
        )
    return header


def _plan_fields() -> list:
    """The fields of a ``fit_plan_`` but its decisions, as a file stores them."""
    import dataclasses

    from ._plan import FitPlan

    return [f.name for f in dataclasses.fields(FitPlan) if f.name != "decisions"]


def _single(value, what) -> tuple:
    """(tag, body) of a tagged JSON object ``{tag: body}``."""
    if not (isinstance(value, dict) and len(value) == 1):
        raise _MalformedError(f"expected a tagged {what}, got {_short(value)}")
    return next(iter(value.items()))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    """Decodes the JSON values of :class:`_Writer`, reading arrays from the
    archive ``data``."""

    def __init__(self, data):
        self.data = data

    def array(self, value):
        """The array of an entry ``{"array": name}``."""
        tag, name = _single(value, "array")
        if tag != "array":
            raise _MalformedError(f"expected an array, got {_short(value)}")
        # .files: numpy < 1.25's NpzFile tests membership by loading the array.
        if not isinstance(name, str) or name == _HEADER or name not in self.data.files:
            raise _MalformedError(f"no array named {_short(name)}")
        try:
            value = self.data[name]
        except ValueError as exc:  # an object array, refused by allow_pickle
            raise _MalformedError(
                f"the array {name!r} holds Python objects, which are never "
                f"unpickled ({exc})"
            ) from None
        if value.dtype.kind not in "biuf":
            raise _MalformedError(f"the array {name!r} has dtype {value.dtype}")
        return value

    def value(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.value(v) for v in value]
        tag, body = _single(value, "value")
        if tag == "tuple":
            return tuple(self.value(_typed(body, list, tag)))
        if tag == "dict":
            return {k: self.value(v) for k, v in _typed(body, dict, tag).items()}
        if tag == "array":
            return self.array(value)
        if tag == "str_array":
            body = _typed(body, list, tag)
            if not all(isinstance(v, str) for v in body):
                raise _MalformedError("a str_array holds other values than strings")
            return np.asarray(body, dtype=object)
        if tag == "function":
            if body not in _FUNCTIONS:
                raise _MalformedError(
                    f"unknown function {_short(body)}; a file may name only "
                    + ", ".join(_FUNCTIONS)
                )
            return _FUNCTIONS[body]
        if tag == "random_state":
            body = _typed(body, dict, tag)
            keys = self.array(body["keys"])
            generator = np.random.RandomState(0)
            generator.set_state(
                (
                    "MT19937",
                    keys,
                    body["pos"],
                    body["has_gauss"],
                    body["cached_gaussian"],
                )
            )
            return generator
        if tag == "torch_device":
            import torch

            return torch.device(_typed(body, str, tag))
        if tag == "estimator":
            return self.estimator(_typed(body, dict, tag))
        if tag == "conformal":
            from ._calibration import ConformalCalibration

            body = _typed(body, dict, tag)
            return ConformalCalibration(
                self.array(body["interval_scores"]), self.array(body["region_scores"])
            )
        if tag == "net":
            return self.net(_typed(body, dict, tag))
        if tag == "fit_plan":
            return self.fit_plan(self.value(body))
        raise _MalformedError(f"unknown entry {_short(value)}")

    def fit_plan(self, fields):
        """A ``fit_plan_``: its fields, and decisions as triples of strings."""
        from ._plan import Decision, FitPlan

        if not isinstance(fields, dict) or set(fields) != {
            *_plan_fields(),
            "decisions",
        }:
            raise _MalformedError("a fit plan with other fields than FitPlan's")
        decisions = _typed(fields["decisions"], list, "fit plan")
        if not all(
            isinstance(d, list) and len(d) == 3 and all(isinstance(v, str) for v in d)
            for d in decisions
        ):
            raise _MalformedError("a fit plan's decisions are triples of strings")
        return FitPlan(
            **{**fields, "decisions": tuple(Decision(*d) for d in decisions)}
        )

    def estimator(self, node):
        name = node["class"]
        if name not in _CLASSES:
            raise _MalformedError(
                f"unknown class {_short(name)}; a file may hold only "
                + ", ".join(_CLASSES)
            )
        cls = _class(name)
        params = {k: self.value(v) for k, v in _typed(node["params"], dict).items()}
        unknown = sorted(set(params) - set(cls().get_params(deep=False)))
        if unknown:
            raise _MalformedError(f"{name} has no parameters {unknown}")
        estimator = cls(**params)
        for key, value in _typed(node["state"], dict).items():
            if not _is_state_name(name, key):
                raise _MalformedError(f"{name} has no fitted attribute {key!r}")
            # As unpickling does: into the instance's dict, past any property.
            vars(estimator)[key] = self.value(value)
        return estimator

    def module(self, value):
        import torch

        from ._module import ACTIVATIONS, MixtureDensityModule, StackedMixture

        tag, body = _single(value, "module")
        if tag == "stacked":
            members = [self.module(m) for m in _typed(body, list, tag)]
            if not members:
                raise _MalformedError("a stacked module without members")
            return StackedMixture(members)
        if tag != "mixture":
            raise _MalformedError(f"unknown module {_short(tag)}")
        config = _typed(body["config"], dict)
        ints = ["n_features", "n_targets", "n_components"]
        hidden = _typed(config["hidden_layer_sizes"], list)
        if (
            set(config)
            != {
                *ints,
                "hidden_layer_sizes",
                "activation",
                "covariance_type",
                "min_scale",
            }  # fmt: skip
            or not all(_positive_int(config[k]) for k in ints)
            or not all(_positive_int(h) for h in hidden)
            or config["activation"] not in ACTIVATIONS
            or config["covariance_type"] not in ("full", "diag", "spherical")
            or not isinstance(config["min_scale"], float)
        ):
            raise _MalformedError(f"invalid module configuration {_short(config)}")
        module = MixtureDensityModule(**{**config, "hidden_layer_sizes": tuple(hidden)})
        state = {
            key: torch.from_numpy(np.ascontiguousarray(self.array(entry)))
            for key, entry in _typed(body["state"], dict).items()
        }
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise _MalformedError(f"the network's weights do not fit it: {exc}")
        return module

    def net(self, body):
        import torch
        from skorch.exceptions import DeviceWarning
        from skorch.history import History

        from ._training import MixtureNet

        device = torch.device(_typed(body["device"], str))
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available()
            and (device.index or 0) < torch.cuda.device_count(),
            "mps": torch.backends.mps.is_available(),
        }
        if not available.get(device.type, False):
            warnings.warn(
                f"The model's network was fitted on {device}, which this machine "
                "does not have; it is loaded on the CPU.",
                DeviceWarning,
                stacklevel=find_stack_level(),
            )
            device = torch.device("cpu")
        history = _typed(body["history"], list)
        if not all(isinstance(row, dict) for row in history):
            raise _MalformedError("the training history is not a list of epochs")
        net = MixtureNet(self.module(body["module"]), device=device).initialize()
        net.history = History(history)
        return net


def _typed(value, kind, tag="entry"):
    if not isinstance(value, kind):
        raise _MalformedError(f"a {tag} of the wrong type: {_short(value)}")
    return value


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
