"""The package version recorded in saved models, and the warning on a mismatch."""

import warnings

from .. import _version
from ._warnings import find_stack_level

# Key of the pickled state holding the version of sklearn-mdn that wrote it.
VERSION_KEY = "_sklearn_mdn_version"


class InconsistentVersionWarning(UserWarning):
    """Warning raised when a model saved by another sklearn-mdn version is loaded.

    Raised on unpickling and by :func:`~sklearn_mdn.load_model`.

    Models are not guaranteed to load and predict correctly across versions;
    refit the model with the running version, or install the version that
    saved it.

    Parameters
    ----------
    estimator_name : str
        Class name of the loaded estimator.
    current_version : str
        Version of sklearn-mdn running now.
    original_version : str
        Version of sklearn-mdn that saved the estimator (``"unknown"`` when
        the file does not record it).

    Attributes
    ----------
    estimator_name : str
        Class name of the loaded estimator.
    current_version : str
        Version of sklearn-mdn running now.
    original_version : str
        Version of sklearn-mdn that saved the estimator.
    """

    def __init__(self, estimator_name, current_version, original_version):
        # Passing the arguments on keeps the warning picklable.
        super().__init__(estimator_name, current_version, original_version)
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to load estimator {self.estimator_name} from sklearn-mdn "
            f"version {self.original_version} when using version "
            f"{self.current_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk."
        )


def _current_version() -> str:
    # Read at each call, so that a test can set another version.
    return _version.__version__


def add_version(state: dict) -> dict:
    """``state`` with the running sklearn-mdn version recorded in it."""
    return {**state, VERSION_KEY: _current_version()}


def pop_version(state: dict, estimator_name: str) -> dict:
    """``state`` without its recorded version; warns if it is not the running one."""
    state = dict(state)
    original = state.pop(VERSION_KEY, "unknown")
    current = _current_version()
    if original != current:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                current_version=current,
                original_version=original,
            ),
            stacklevel=find_stack_level(),
        )
    return state
