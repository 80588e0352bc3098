"""Mixture density networks for scikit-learn."""

from . import metrics
from ._compose import predict_dist, predict_interval, predict_quantiles, sample
from ._ensemble import MDNEnsembleRegressor
from ._persistence import InconsistentVersionWarning
from ._regressor import MDNRegressor
from .distribution import NormalMixture

__version__ = "0.1.0.dev0"

__all__ = [
    "InconsistentVersionWarning",
    "MDNEnsembleRegressor",
    "MDNRegressor",
    "NormalMixture",
    "__version__",
    "metrics",
    "predict_dist",
    "predict_interval",
    "predict_quantiles",
    "sample",
]
