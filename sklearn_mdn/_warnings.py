"""Warnings that sklearn-mdn raises (importable without torch)."""

import inspect
from pathlib import Path

import sklearn

# Frames in these folders are not the user's: sklearn-mdn's own, and
# scikit-learn's (its fit wrapper, Pipeline, GridSearchCV, ...).
_LIBRARY_DIRS = (
    Path(__file__).resolve().parent,
    Path(sklearn.__file__).resolve().parent,
)


def find_stack_level() -> int:
    """The ``stacklevel`` at which a warning points at the user's code.

    The number of frames, from the caller of ``warnings.warn`` outwards, up
    to the first one outside sklearn-mdn and scikit-learn (as pandas'
    ``find_stack_level``): a warning raised deep in ``fit`` or ``predict``
    names the user's line that called them, or that called the
    scikit-learn pipeline or search around them.
    """
    frame = inspect.currentframe()
    level = 0
    try:
        while frame is not None:
            path = Path(frame.f_code.co_filename).resolve()
            if not any(path.is_relative_to(d) for d in _LIBRARY_DIRS):
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
