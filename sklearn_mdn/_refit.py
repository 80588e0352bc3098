"""The refit on all the rows: from fresh weights, or from the early-stopped ones.

The refit (``refit``) retrains a network on every row, held-out ones
included, for the epochs that early stopping kept, replaying the learning
rate of each (:func:`~sklearn_mdn._schedule.stopped_schedule`). With
:data:`~sklearn_mdn._plan.REFIT_WARM_FRACTION` set, it starts from the
early-stopped network's weights instead and replays only that fraction of
the epochs, the last ones: the run's end, now on all the rows.
"""

import math

from . import _plan
from ._schedule import stopped_schedule


def refit_schedule(net) -> list:
    """The learning rate of each epoch of the refit of ``net``."""
    schedule = stopped_schedule(net)
    fraction = _plan.REFIT_WARM_FRACTION
    if fraction is None or not schedule:
        return schedule
    return schedule[-max(1, math.ceil(fraction * len(schedule))) :]


def refit_start(net):
    """The module whose weights the refit of ``net`` starts from (None:
    fresh weights from the network's seed)."""
    return None if _plan.REFIT_WARM_FRACTION is None else net.module_
