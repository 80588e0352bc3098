"""How a fit trains: its learning-rate schedule, early stopping and noise.

A fit trains until the monitored negative log-likelihood (of the held-out
rows, or of the training rows without early stopping) stops improving: when
it has not improved for ``lr_patience`` epochs the learning rate is divided
by five (``learning_rate="adaptive"``), and after ``stop_patience`` epochs
without improvement (two reductions that did not help) training stops and
the best weights are restored. ``max_iter`` only caps the epochs. The
budget itself (rows per step, epochs, patience, noise) is resolved by the fit
plan (:mod:`sklearn_mdn._estimators._plan`); this module turns it into skorch callbacks.

Gaussian noise on the standardised inputs and targets regularises the fit
(Rothfuss et al., 2019, "Noise regularization for conditional density
estimation"). Its standard deviation starts at ``noise`` and follows the
learning rate down, so that training ends on the data themselves; since the
held-out likelihood chooses the weights kept, the amount of smoothing that
fits the data best is chosen by early stopping.

The refit on all the rows (``refit``) has no hold-out to stop on: it replays
the early-stopped run, epoch by epoch up to the one kept, at the learning
rate each had (:func:`stopped_schedule`, :class:`ReplaySchedule`).

The stacked loop (:mod:`sklearn_mdn._nn._stacked`) keeps the same schedules
as plain numbers, one per network: :class:`PlateauStop` and
:class:`ReplayRates`.
"""

import math

import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler


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


def schedule_callbacks(plan, tol: float) -> list:
    """The learning-rate schedule and early stopping of a fit that follows
    ``plan`` (a :class:`~sklearn_mdn._estimators._fit_plan.FitPlan`), as skorch
    callbacks."""
    monitor = "valid_loss" if plan.early_stopping else "train_loss"
    callbacks = []
    if plan.lr_factor is not None:
        callbacks.append(
            (
                "lr_schedule",
                _PlateauSchedule(
                    policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
                    monitor=monitor,
                    mode="min",
                    factor=plan.lr_factor,
                    patience=plan.lr_patience,
                    threshold=tol,
                    threshold_mode="abs",
                ),
            )
        )
    if plan.early_stopping:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    patience=plan.n_iter_no_change,
                    threshold=tol,
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


def learning_rate(net) -> float:
    """The learning rate of the first parameter group of ``net``'s optimizer."""
    return net.optimizer_.param_groups[0]["lr"]


class PlateauStop:
    """One network's plateau schedule and early stopping, as plain numbers,
    for the stacked loop (:mod:`sklearn_mdn._nn._stacked`).

    The learning rate is divided by ``1 / factor`` once the monitored loss
    has not improved on its best by ``threshold`` for more than ``patience``
    epochs (torch's ``ReduceLROnPlateau``, absolute threshold, no cooldown);
    training stops after ``stop_patience`` such epochs (skorch's
    ``EarlyStopping``), keeping the best epoch's weights.
    """

    def __init__(self, lr, factor, patience, lr_threshold, stop_patience, threshold):
        self.lr = lr
        self.factor = factor
        self.patience = patience
        self.lr_threshold = lr_threshold
        self.lr_best = math.inf
        self.bad_epochs = 0
        self.stop_patience = stop_patience
        self.threshold = threshold
        self.dynamic_threshold = math.inf
        self.misses = 0
        self.best_epoch = 0

    def end_epoch(self, epoch: int, score: float) -> tuple[bool, bool]:
        """Update after ``epoch`` with held-out loss ``score``: whether it is
        the best epoch so far, and whether training stops."""
        if self.factor is not None:
            if score < self.lr_best - self.lr_threshold:
                self.lr_best, self.bad_epochs = score, 0
            else:
                self.bad_epochs += 1
            if self.bad_epochs > self.patience:
                new_lr = self.lr * self.factor
                if self.lr - new_lr > 1e-8:
                    self.lr = new_lr
                self.bad_epochs = 0
        improved = score < self.dynamic_threshold
        if improved:
            self.misses = 0
            self.dynamic_threshold = score - self.threshold
            self.best_epoch = epoch
        else:
            self.misses += 1
        return improved, self.misses == self.stop_patience

    @classmethod
    def of(cls, net):
        """The schedule of one initialised skorch ``net``: its learning rate,
        its plateau schedule's and its early stopping's settings."""
        callbacks = dict(net.callbacks_)
        plateau = callbacks.get("lr_schedule")
        stopper = callbacks["early_stopping"]
        return cls(
            lr=float(net.lr),
            factor=None if plateau is None else plateau.kwargs["factor"],
            patience=None if plateau is None else plateau.kwargs["patience"],
            lr_threshold=None if plateau is None else plateau.kwargs["threshold"],
            stop_patience=stopper.patience,
            threshold=stopper.threshold,
        )


class ReplayRates:
    """A refit's schedule, as plain numbers: the learning rate of each epoch
    from a list (:func:`stopped_schedule`, as :class:`ReplaySchedule` sets
    it), no hold-out to stop on; the last epoch is the one kept."""

    factor = None

    def __init__(self, rates):
        self.rates = list(rates)
        self.lr = self.rates[0]

    def end_epoch(self, epoch: int, score) -> tuple[bool, bool]:
        """After ``epoch`` (``score`` is None: nothing held out): the next
        epoch's rate; the last epoch is both the one kept and the stop."""
        if epoch < len(self.rates):
            self.lr = self.rates[epoch]
        last = epoch == len(self.rates)
        return last, last
