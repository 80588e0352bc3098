"""Plots of predictive distributions, in scikit-learn's Display style.

matplotlib is an optional dependency (``pip install ".[plot]"`` from a clone); it
is imported only when a display is drawn.
"""

from ._coverage import CoverageDisplay
from ._density import PredictiveDensityDisplay
from ._pit import PITDisplay

__all__ = ["CoverageDisplay", "PITDisplay", "PredictiveDensityDisplay"]


def __dir__():
    # dir() and tab completion show the public names only, not the imports
    # (np, erf, ...) and private helpers, as scikit-learn's modules do.
    return list(__all__)
