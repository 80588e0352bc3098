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

import importlib.metadata
import json
import os
import warnings
import zipfile

import numpy as np

from .._estimators._compose import _is_search
from .._utils._persistence import InconsistentVersionWarning, _current_version
from .._utils._warnings import find_stack_level
from ._atomic import atomic_write
from ._decode import _MalformedError, _Reader
from ._encode import _Writer
from ._schema import _HEADER, _MODELS, _SUPPORTED, FORMAT, FORMAT_VERSION

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
