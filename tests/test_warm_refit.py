"""The refit from the early-stopped weights (_refit.py, REFIT_WARM_FRACTION)."""

import math
import warnings

import torch
from _helpers import SMALL, sine_data, tiny_mdn
from sklearn.exceptions import ConvergenceWarning

from sklearn_mdn import _plan
from sklearn_mdn._refit import refit_schedule, refit_start
from sklearn_mdn._schedule import stopped_schedule

PARAMS = {**SMALL, "max_iter": 60, "n_iter_no_change": 6, "n_networks": 1}


def _fit(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return tiny_mdn(PARAMS).fit(X, y)


def test_cold_refit_replays_every_epoch_from_fresh_weights():
    X, y = sine_data(200)
    first = _fit(X, y).net_
    assert _plan.REFIT_WARM_FRACTION is None
    assert refit_schedule(first) == stopped_schedule(first)
    assert refit_start(first) is None


def test_warm_refit_starts_from_the_stopped_weights_for_a_fraction(monkeypatch):
    X, y = sine_data(200)
    cold = _fit(X, y)
    monkeypatch.setattr(_plan, "REFIT_WARM_FRACTION", 0.25)
    warm = _fit(X, y)
    schedule = stopped_schedule(warm.net_)
    tail = refit_schedule(warm.net_)
    assert len(tail) == math.ceil(0.25 * len(schedule))
    assert tail == schedule[-len(tail) :]
    assert refit_start(warm.net_) is warm.net_.module_
    # The stopped network is the same; the refit trains fewer steps, and
    # starts near it, not from the seed's initial weights.
    stopped, refit = warm.net_.module_.members
    for a, b in zip(stopped.parameters(), cold.net_.module_.members[0].parameters()):
        assert torch.equal(a, b)
    assert warm.n_steps_ < cold.n_steps_
    far = sum(
        (a - b).abs().sum() for a, b in zip(stopped.parameters(), refit.parameters())
    )
    cold_far = sum(
        (a - b).abs().sum()
        for a, b in zip(stopped.parameters(), cold.net_.module_.members[1].parameters())
    )
    assert far < cold_far
