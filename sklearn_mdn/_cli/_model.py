"""Model files of the command line, and the predictions written from them."""

import os
import warnings
import zipfile

import numpy as np

from ._output import CLIError, _warn

# Model files of sklearn-mdn before 0.2 (joblib pickles of a dictionary)
# carry this marker, which ``predict --allow-pickle`` checks. ``fit`` writes
# the safe format (:mod:`sklearn_mdn._io._safe_format`), with the column names
# as the metadata "cli".
_FORMAT = "sklearn-mdn/model"
_FORMAT_VERSION = 1

# Names that suggest a pickle, which the model file is not.
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def _save_model(path, model):
    """Write ``model`` (a dict: estimator, features, targets, log_target) in
    the safe format; the file appears only once complete."""
    from .._io._safe_format import _dump

    if str(path).lower().endswith(_PICKLE_SUFFIXES):
        _warn(
            f"{path}: the model is saved in sklearn-mdn's safe format (arrays "
            "and plain data; sklearn_mdn.load_model reads it), not as a "
            "pickle, whatever the file name; .mdn is the usual extension"
        )
    metadata = {
        "cli": {key: model[key] for key in ("features", "targets", "log_target")}
    }
    try:
        _dump(model["estimator"], path, metadata=metadata)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write the model ({exc.strerror})") from None


def _load_model(path, allow_pickle=False):
    """The model dict (estimator, features, targets, log_target) in ``path``.

    The safe format is read by default; a pickle (the joblib files of
    earlier versions) only with ``allow_pickle``, with a warning.
    """
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a model file")
    try:
        safe = zipfile.is_zipfile(path)
    except OSError as exc:
        raise CLIError(f"{path}: cannot read it ({exc.strerror})") from None
    if safe:
        return _load_safe(path)
    if not allow_pickle:
        raise CLIError(
            f"{path}: not a model file saved by 'sklearn-mdn fit'. If it is the "
            "joblib model file of an earlier sklearn-mdn, a pickle, which can "
            "run code when loaded: load it with --allow-pickle, only if you "
            "trust it"
        )
    _warn(
        f"{path}: loading a pickle (--allow-pickle), which runs any code it "
        "holds; fit the model again to get a model file that cannot"
    )
    return _load_pickle(path)


def _load_safe(path):
    from .._io._safe_format import _load

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator, metadata = _load(path)
    except ValueError as exc:
        raise CLIError(str(exc).removesuffix(".")) from None
    for w in caught:  # another version saved it, a GPU that is missing
        _warn(str(w.message))
    cli = metadata.get("cli")
    names = ("features", "targets")
    if not (
        isinstance(cli, dict)
        and all(
            isinstance(cli.get(k), list)
            and cli[k]
            and all(isinstance(c, str) for c in cli[k])
            for k in names
        )
        and isinstance(cli.get("log_target"), bool)
    ):
        raise CLIError(
            f"{path}: a model without the column names that 'sklearn-mdn fit' "
            "records (saved by save_model?); predict from Python instead"
        )
    return {"estimator": estimator, **{k: cli[k] for k in (*names, "log_target")}}


def _load_pickle(path):
    import joblib

    try:
        model = joblib.load(path)
    except Exception:  # noqa: BLE001 - any unpickling failure means "not ours"
        model = None
    if not (isinstance(model, dict) and model.get("format") == _FORMAT):
        raise CLIError(
            f"{path}: not a model file saved by 'sklearn-mdn fit' "
            "(a joblib file of its model dictionary)"
        )
    if model.get("format_version", 0) > _FORMAT_VERSION:
        raise CLIError(
            f"{path}: saved by a newer sklearn-mdn (model format "
            f"{model['format_version']}); upgrade sklearn-mdn to read it"
        )
    return model


def _predict_arrays(model, X, coverage, n_samples, random_state):
    """Point estimates, intervals and samples of shape (n, d), (n, d, 2), (n, N, d).

    With ``--log-target`` the quantiles (so the interval bounds) and samples
    are mapped back through ``exp`` exactly.
    """
    from .._estimators._compose import predict_interval, sample

    estimator = model["estimator"]
    n = len(X)
    point = estimator.predict(X).reshape(n, -1)
    interval = predict_interval(estimator, X, coverage=coverage).reshape(n, -1, 2)
    samples = np.empty((n, 0, point.shape[1]))
    if n_samples:
        samples = sample(estimator, X, n_samples=n_samples, random_state=random_state)
        samples = samples.reshape(n, n_samples, -1)
    return point, interval, samples


def _predict_finite(model, X, coverage, n_samples, random_state):
    """Like :func:`_predict_arrays`, plus the indices of rows without a finite result.

    Inputs far outside the training data can drive the network's output, or
    ``exp`` of a log-scale target, past the float range. numpy's overflow
    warnings are silenced here (the caller reports the rows in one line), and
    when the estimator refuses a whole block because of such rows, the block
    is halved until the rows at fault are found, so the others are predicted.
    """
    n_targets = len(model["targets"])

    def predict(rows):
        try:
            return _predict_arrays(model, X[rows], coverage, n_samples, random_state)
        except (ValueError, FloatingPointError):
            if len(rows) == 1:
                shapes = [(n_targets,), (n_targets, 2), (n_samples, n_targets)]
                return tuple(np.full((1, *shape), np.nan) for shape in shapes)
            half = len(rows) // 2
            first, second = predict(rows[:half]), predict(rows[half:])
            return tuple(
                np.concatenate(pair) for pair in zip(first, second, strict=True)
            )

    from .._utils._warnings import OutOfDomainWarning

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("always", OutOfDomainWarning)
            point, interval, samples = predict(np.arange(len(X)))
    # The first warning counts the rows of the whole file (halved blocks
    # warn again about their own rows).
    far = [w for w in caught if issubclass(w.category, OutOfDomainWarning)]
    if far:
        _warn(str(far[0].message))
    finite = (
        np.isfinite(point).all(axis=1)
        & np.isfinite(interval).all(axis=(1, 2))
        & np.isfinite(samples).all(axis=(1, 2))
    )
    return point, interval, samples, np.flatnonzero(~finite)
