"""Mixture density networks for scikit-learn."""

from . import metrics
from ._regressor import MDNRegressor
from .distribution import NormalMixture

__version__ = "0.1.0.dev0"

__all__ = ["MDNRegressor", "NormalMixture", "__version__", "metrics"]
