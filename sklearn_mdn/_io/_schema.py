"""What a model file is and may hold: its format, and the classes, fitted
attributes and functions it may name."""

import importlib

import numpy as np

from .._utils._compat import SKLEARN_PRIVATE_STATE

FORMAT = "sklearn-mdn/safe-model"
FORMAT_VERSION = 1
_HEADER = "sklearn_mdn_header"

# The classes a file may hold, by name, with the module that offers them.
_CLASSES = {
    "MDNRegressor": "sklearn_mdn",
    "MDNEnsembleRegressor": "sklearn_mdn",
    "PiecewiseLinearEncoder": "sklearn_mdn",
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


def _class(name):
    return getattr(importlib.import_module(_CLASSES[name]), name)


def _is_state_name(class_name: str, name: str) -> bool:
    """Whether ``name`` is a fitted attribute of ``class_name`` that a file
    may set: a public name ending in ``_``, or one listed in
    :data:`_PRIVATE_STATE`."""
    if name in _PRIVATE_STATE.get(class_name, ()):
        return True
    return name.isidentifier() and name.endswith("_") and not name.startswith("_")


_SUPPORTED = (
    "an MDNRegressor, an MDNEnsembleRegressor of MDNRegressor members, or a "
    "TransformedTargetRegressor (without transformer) around one of them "
    "whose func and inverse_func are among "
    + ", ".join(_FUNCTIONS)
    + ". Save other models (a Pipeline, a search) with joblib.dump, and load "
    "such a pickle only if you trust it: unpickling can run code"
)


def _plan_fields(required=False) -> list:
    """The fields of a ``fit_plan_`` but its decisions, as a file stores them
    (``required``: only those without a default)."""
    import dataclasses

    from .._estimators._fit_plan import FitPlan

    return [
        f.name
        for f in dataclasses.fields(FitPlan)
        if f.name != "decisions"
        and not (required and f.default is not dataclasses.MISSING)
    ]
