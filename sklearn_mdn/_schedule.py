"""How long and how a fit trains: its budget, learning-rate schedule and noise.

A fit trains until the monitored negative log-likelihood (of the held-out
rows, or of the training rows without early stopping) stops improving: when
it has not improved for ``lr_patience`` epochs the learning rate is divided
by five (``learning_rate="adaptive"``), and after ``stop_patience`` epochs
without improvement (two reductions that did not help) training stops and
the best weights are restored. ``max_iter`` only caps the epochs. The
patience is counted in steps (about 500), so that small and large data sets
get the same chance to improve between reductions.

Gaussian noise on the standardised inputs and targets regularises the fit
(Rothfuss et al., 2019, "Noise regularization for conditional density
estimation"). Its standard deviation starts at ``noise`` and follows the
learning rate down, so that training ends on the data themselves; since the
held-out likelihood chooses the weights kept, the amount of smoothing that
fits the data best is chosen by early stopping.

The refit on all the rows (``refit``) has no hold-out to stop on: it replays
the early-stopped run, epoch by epoch up to the one kept, at the learning
rate each had (:func:`stopped_schedule`, :class:`ReplaySchedule`).
"""

import math
from typing import NamedTuple

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

# Rows per gradient step of ``batch_size="auto"`` (chosen on the UCI benchmark,
# benchmarks/README.md): at least _AUTO_BATCH (small batches give small data
# sets enough steps), growing as the square root of the rows from about 1,000
# rows (power's 7,700 rows take 88, protein's 33,000 take 181), and on very
# large data enough that an epoch stays near _AUTO_EPOCH_STEPS steps.
_AUTO_BATCH = 32
_AUTO_EPOCH_STEPS = 1024
# Most gradient steps that ``max_iter="auto"`` allows, and its bounds in
# epochs: training normally ends earlier, when the held-out likelihood has
# stopped improving through the learning-rate reductions.
_AUTO_STEPS = 30_000
_AUTO_EPOCHS = (20, 2000)
# Steps without improvement of the monitored likelihood before the learning
# rate is divided by _LR_FACTOR_INV (at least _MIN_PATIENCE epochs), and
# reductions of the learning rate without improvement before stopping.
_PATIENCE_STEPS = 500
_MIN_PATIENCE = 5
_LR_FACTOR_INV = 5
_STOP_AFTER_CUTS = 2
# noise="auto" (not the default): standard deviation, in standardised units,
# of the Gaussian noise on inputs and targets at the start of training:
# _NOISE_C / sqrt(n), at most _NOISE_MAX.
_NOISE_C = 1.0
_NOISE_MAX = 0.2
# Below this many training rows, ``early_stopping`` is not applied.
_MIN_ROWS_EARLY_STOPPING = 20


class Budget(NamedTuple):
    """How a fit trains: with a hold-out or not, rows per step, epochs,
    patience of the learning rate and of early stopping (epochs), noise."""

    use_valid: bool
    batch_size: int
    max_iter: int
    lr_patience: int
    stop_patience: int
    noise: float


def n_holdout(n: int, fraction: float) -> int:
    """Rows that :class:`HoldOut` sets aside out of ``n``."""
    return max(1, round(fraction * n))


def plan_budget(estimator, n: int) -> Budget:
    """Hold-out, batch size and epochs of ``estimator`` for ``n`` rows."""
    use_valid = estimator.early_stopping and n >= _MIN_ROWS_EARLY_STOPPING
    n_valid = n_holdout(n, estimator.validation_fraction) if use_valid else 0
    if n_valid >= n:
        raise ValueError(
            f"validation_fraction={estimator.validation_fraction} holds out all {n} "
            "rows, leaving none to train on; lower it or set "
            "early_stopping=False."
        )
    n_train = n - n_valid
    if estimator.batch_size == "auto":
        batch_size = max(
            _AUTO_BATCH, round(math.sqrt(n_train)), n_train // _AUTO_EPOCH_STEPS
        )
    else:
        batch_size = estimator.batch_size
    batch_size = min(batch_size, n_train)
    n_batches = math.ceil(n_train / batch_size)
    if estimator.max_iter == "auto":
        max_iter = int(np.clip(math.ceil(_AUTO_STEPS / n_batches), *_AUTO_EPOCHS))
    else:
        max_iter = estimator.max_iter
    if estimator.n_iter_no_change == "auto":
        lr_patience = max(_MIN_PATIENCE, math.ceil(_PATIENCE_STEPS / n_batches))
        stop_patience = (_STOP_AFTER_CUTS + 1) * lr_patience
    else:
        stop_patience = estimator.n_iter_no_change
        lr_patience = max(1, stop_patience // (_STOP_AFTER_CUTS + 1))
    if estimator.noise == "auto":
        noise = min(_NOISE_MAX, _NOISE_C / math.sqrt(n_train))
    else:
        noise = float(estimator.noise)
    return Budget(use_valid, batch_size, max_iter, lr_patience, stop_patience, noise)


def relaxed_lr(estimator) -> float:
    """Learning rate at which the relaxed phase of ``input_l1`` starts: one
    cut of the adaptive schedule below the first rate."""
    if estimator.learning_rate == "adaptive":
        return estimator.learning_rate_init / _LR_FACTOR_INV
    return estimator.learning_rate_init


class _PlateauSchedule(LRScheduler):
    """skorch's ``LRScheduler``, which lets go of its scheduler after training.

    The scheduler holds the optimizer; kept, it would be pickled with the
    fitted estimator outside skorch's device-aware pickling (a model fitted
    on CUDA would then not load on a CPU-only machine). A new fit creates a
    new one (``on_train_begin``).
    """

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        self.lr_scheduler_ = None


def schedule_callbacks(estimator, budget: Budget) -> list:
    """The learning-rate schedule and early stopping of a fit, as skorch
    callbacks."""
    monitor = "valid_loss" if budget.use_valid else "train_loss"
    callbacks = []
    if estimator.learning_rate == "adaptive":
        callbacks.append(
            (
                "lr_schedule",
                _PlateauSchedule(
                    policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
                    monitor=monitor,
                    mode="min",
                    factor=1.0 / _LR_FACTOR_INV,
                    patience=budget.lr_patience,
                    threshold=estimator.tol,
                    threshold_mode="abs",
                ),
            )
        )
    if budget.use_valid:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    patience=budget.stop_patience,
                    threshold=estimator.tol,
                    threshold_mode="abs",
                    load_best=True,
                ),
            )
        )
    return callbacks


def stopped_schedule(net) -> list:
    """The learning rate of each epoch of ``net``'s fit, up to the epoch
    whose weights early stopping kept: the run that :class:`ReplaySchedule`
    repeats on all the rows."""
    best = dict(net.callbacks_)["early_stopping"].best_epoch_
    if "event_lr" in net.history[0]:
        return [float(lr) for lr in net.history[:best, "event_lr"]]
    return [float(net.lr)] * best


class ReplaySchedule(Callback):
    """Sets the learning rate of each epoch from a list, one rate per epoch.

    Parameters
    ----------
    rates : list of float
        The learning rate of each epoch (:func:`stopped_schedule`).
    """

    def __init__(self, rates):
        self.rates = rates

    def on_epoch_begin(self, net, **kwargs):
        set_learning_rate(net, self.rates[len(net.history) - 1])


def set_learning_rate(net, lr: float) -> None:
    """Set the learning rate of every parameter group of ``net``'s
    optimizer."""
    for group in net.optimizer_.param_groups:
        group["lr"] = lr
