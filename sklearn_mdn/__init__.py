"""Mixture density networks for scikit-learn."""

import importlib

from . import metrics
from ._estimators._compose import (
    predict_dist,
    predict_hdr,
    predict_interval,
    predict_quantiles,
    sample,
)
from ._estimators._embeddings import PiecewiseLinearEncoder
from ._io._safe_format import load_model, save_model
from ._utils._persistence import InconsistentVersionWarning
from ._utils._warnings import OutOfDomainWarning
from ._version import __version__
from .distribution import NormalMixture

__all__ = [
    "InconsistentVersionWarning",
    "MDNEnsembleRegressor",
    "MDNRegressor",
    "NormalMixture",
    "OutOfDomainWarning",
    "PiecewiseLinearEncoder",
    "__version__",
    "load_model",
    "metrics",
    "predict_dist",
    "predict_hdr",
    "predict_interval",
    "predict_quantiles",
    "sample",
    "save_model",
]

# The estimators need torch and skorch, about two seconds to import: they are
# imported on first use, so that the command line's help and errors, the
# metrics and NormalMixture do not wait for them.
_LAZY = {
    "MDNRegressor": "._estimators._regressor",
    "MDNEnsembleRegressor": "._estimators._ensemble",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    # The public names and the public submodules imported so far (such as
    # distribution, plotting); not importlib or the private modules.
    submodules = {
        name
        for name, value in globals().items()
        if isinstance(value, type(importlib))
        and value.__name__ == f"{__name__}.{name}"
        and not name.startswith("_")
    }
    return sorted(set(__all__) | submodules)
