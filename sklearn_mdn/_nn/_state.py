"""A net's training state, for training that continues.

``partial_fit`` restores the state from before a call whose training
diverged, and sets a net that ``fit`` trained up to train on without a
hold-out; ``fit`` with ``warm_start`` starts a new net from a fitted one's
weights (:mod:`sklearn_mdn._estimators._incremental` decides when).
"""

import copy

import torch

from ._module import MixtureDensityModule
from ._schedule import learning_rate, set_learning_rate


def snapshot(net) -> tuple:
    """What :func:`restore` needs to undo training of ``net``: its weights,
    its optimizer's state and the length of its history."""
    return (
        {k: v.clone() for k, v in net.module_.state_dict().items()},
        copy.deepcopy(net.optimizer_.state_dict()),
        len(net.history),
    )


def restore(net, saved) -> None:
    """Put ``net`` back as it was at :func:`snapshot` ``saved``."""
    net.module_.load_state_dict(saved[0])
    net.optimizer_.load_state_dict(saved[1])
    del net.history[saved[2] :]


def copy_weights(net, module) -> None:
    """Load the weights of ``module`` into ``net``'s (initialised) module."""
    with torch.no_grad():
        net.module_.load_state_dict(module.state_dict())


def without_hold_out(net) -> None:
    """Set a net that ``fit`` trained to train on: no hold-out, no callbacks
    (early stopping, schedule), and for stacked networks a new optimizer over
    all of them, from the rate the first network's schedule had come down to."""
    net.train_split = None
    net.callbacks = []
    net.initialize_callbacks()
    if not isinstance(net.module_, MixtureDensityModule):
        lr = learning_rate(net)
        net.initialize_optimizer()
        set_learning_rate(net, lr)
