"""Warnings that sklearn-mdn raises (importable without torch)."""

import inspect
import pickle
from pathlib import Path

import joblib
import sklearn

# Frames here are not the user's: sklearn-mdn's own, scikit-learn's (its fit
# wrapper, Pipeline, GridSearchCV, ...), and the unpicklers of joblib.load
# and the pure-Python pickle.load that it runs.
_LIBRARY_PATHS = (
    Path(__file__).resolve().parents[1],  # the package
    Path(sklearn.__file__).resolve().parent,
    Path(joblib.__file__).resolve().parent,
    Path(pickle.__file__).resolve(),
)


def find_stack_level() -> int:
    """The ``stacklevel`` at which a warning points at the user's code.

    The number of frames, from the caller of ``warnings.warn`` outwards, up
    to the first one outside sklearn-mdn and the libraries that call it
    (``_LIBRARY_PATHS``), as pandas' ``find_stack_level``: a warning raised
    deep in ``fit``, ``predict`` or ``joblib.load`` names the user's line
    that called them, or that called the scikit-learn pipeline or search
    around them.
    """
    frame = inspect.currentframe()
    level = 0
    try:
        while frame is not None:
            path = Path(frame.f_code.co_filename).resolve()
            if not any(path.is_relative_to(p) for p in _LIBRARY_PATHS):
                break
            frame = frame.f_back
            level += 1
    finally:
        del frame
    return level


class OutOfDomainWarning(UserWarning):
    """Some rows to predict lie far outside the inputs seen in ``fit``.

    A neural network extrapolates its last linear pieces without limit: far
    from the training inputs, the predicted means, weights and spreads
    follow no data, and intervals can be absurdly narrow or wide. A row is
    *far* when any feature lies beyond the training range of that feature
    by more than half that range (see ``MDNRegressor.input_bounds_``). The
    warning counts such rows; filter it with
    ``warnings.simplefilter("ignore", OutOfDomainWarning)``.
    """
