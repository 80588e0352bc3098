"""How a fit trains: its learning-rate schedule, early stopping and noise.

A fit trains until the monitored negative log-likelihood (of the held-out
rows, or of the training rows without early stopping) stops improving: when
it has not improved for ``lr_patience`` epochs the learning rate is divided
by five (``learning_rate="adaptive"``), and after ``stop_patience`` epochs
without improvement (two reductions that did not help) training stops and
the best weights are restored; a network that overfits early stops at its
first cut (:func:`overfitting`). ``max_iter`` only caps the epochs. The
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

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

# A network overfits (:func:`overfitting`) once its held-out loss has risen
# steadily since its best epoch (rank correlation with the epoch at least
# OVERFIT_TREND) and back at least OVERFIT_RISE of the way to its first
# epoch's value, while its training loss went on falling.
OVERFIT_TREND = 0.5
OVERFIT_RISE = 0.25


def overfitting(scores, best_epoch: int, patience: int, train=None) -> bool:
    """Whether a network overfits, so that a lower learning rate would not
    bring its held-out loss back below its best.

    It does where its best epoch ``best_epoch`` (1-based) came within its
    first ``patience`` epochs, and its held-out losses ``scores`` (one an
    epoch) have since risen steadily (Spearman's rank correlation with the
    epoch at least ``OVERFIT_TREND``) and far: the median of the last
    ``patience // 2`` lies at least ``OVERFIT_RISE`` of the way back from the
    best to the first epoch's loss; and, with the training losses ``train``
    (one an epoch), while the median of their last ``patience // 2`` lies
    below the best epoch's: a training loss that rose with the held-out one
    is a run gone unstable, which a lower learning rate may bring back (a
    gate branch's first epochs on a noise-free branch truth). Checked where
    the first cut would come, ``patience`` epochs after the best. Where the
    cut helped in default fits of the UCI sets and synthetic truths, the
    loss either oscillated (rank correlation 0.42 at most) or stayed near
    its best (docs/fit_plan.rst).
    """
    if not 1 <= best_epoch <= patience:
        return False
    since = np.asarray(scores[best_epoch - 1 :], dtype=float)
    if not np.isfinite(since).all() or np.ptp(since) == 0:
        return False
    ranks = np.argsort(np.argsort(since))
    trend = np.corrcoef(np.arange(len(since)), ranks)[0, 1]
    best = since[0]
    recent = float(np.median(since[-max(1, patience // 2) :]))
    rise = recent - best
    if train is not None:
        train = np.asarray(train, dtype=float)
        if not np.median(train[-max(1, patience // 2) :]) < train[best_epoch - 1]:
            return False
    return (
        trend >= OVERFIT_TREND
        and rise > 0
        and rise >= OVERFIT_RISE * (scores[0] - best)
    )


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
                _EarlyStopping(
                    patience=plan.n_iter_no_change,
                    threshold=tol,
                    overfit_patience=plan.lr_patience if plan.overfit_stop else None,
                ),
            )
        )
    return callbacks


class _EarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` on the held-out loss (absolute threshold,
    best weights restored), which also stops a network that overfits
    (:func:`overfitting`) ``overfit_patience`` epochs after its best.

    Parameters
    ----------
    patience : int
        Epochs without improvement before training stops.
    threshold : float
        Least improvement of the held-out loss that counts.
    overfit_patience : int, default=None
        Epochs without improvement at which an overfitting network stops
        (the plateau schedule's patience); None never stops it sooner.
    """

    def __init__(self, patience, threshold, overfit_patience=None):
        super().__init__(
            patience=patience,
            threshold=threshold,
            threshold_mode="abs",
            load_best=True,
        )
        self.overfit_patience = overfit_patience

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.first_epoch_ = len(net.history)
        self.overfit_ = False

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        patience = self.overfit_patience
        if patience is None or self.misses_ != patience:
            return
        scores = net.history[self.first_epoch_ :, self.monitor]
        train = net.history[self.first_epoch_ :, "train_loss"]
        best = self.best_epoch_ - self.first_epoch_
        if overfitting(scores, best, patience, train):
            self.overfit_ = True
            self._sink(
                f"Stopping at the first cut of the learning rate: {self.monitor} "
                f"has risen steadily since its best epoch, {self.best_epoch_}.",
                verbose=net.verbose,
            )
            raise KeyboardInterrupt


class StoppedRun(list):
    """The learning rate of each epoch of an early-stopped run up to the
    epoch kept, and whether the weights kept were the average of the
    trained ones (``averaged``, with weight averaging)."""

    averaged = False
    gate_steps = 0


def stopped_schedule(net) -> StoppedRun:
    """The learning rate of each epoch of ``net``'s fit, up to the epoch
    whose weights early stopping kept: the run that :class:`ReplaySchedule`
    repeats on all the rows, which ends on the weights' average where the
    held-out rows chose it at that epoch."""
    best = dict(net.callbacks_)["early_stopping"].best_epoch_
    if "event_lr" in net.history[0]:
        run = StoppedRun(float(lr) for lr in net.history[:best, "event_lr"])
    else:
        run = StoppedRun([float(net.lr)] * best)
    run.averaged = bool(best and net.history[best - 1].get("valid_averaged", False))
    run.gate_steps = getattr(net, "gate_steps_", 0)
    return run


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
    ``EarlyStopping``), keeping the best epoch's weights, or after
    ``overfit_patience`` where the network overfits (:func:`overfitting`).
    """

    def __init__(
        self,
        lr,
        factor,
        patience,
        lr_threshold,
        stop_patience,
        threshold,
        overfit_patience=None,
    ):
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
        self.overfit_patience = overfit_patience
        self.overfit = False
        self.scores = []
        self.train_scores = []

    def end_epoch(self, epoch: int, score: float, train=None) -> tuple[bool, bool]:
        """Update after ``epoch`` with held-out loss ``score`` (and training
        loss ``train``): whether it is the best epoch so far, and whether
        training stops."""
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
        self.scores.append(score)
        self.train_scores.append(train)
        if self.misses == self.overfit_patience:
            self.overfit = overfitting(
                self.scores,
                self.best_epoch,
                self.overfit_patience,
                None if train is None else self.train_scores,
            )
        return improved, self.misses == self.stop_patience or self.overfit

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
            overfit_patience=stopper.overfit_patience,
        )


class ReplayRates:
    """A refit's schedule, as plain numbers: the learning rate of each epoch
    from a list (:func:`stopped_schedule`, as :class:`ReplaySchedule` sets
    it), no hold-out to stop on; the last epoch is the one kept."""

    factor = None

    def __init__(self, rates):
        self.rates = list(rates)
        self.lr = self.rates[0]

    def end_epoch(self, epoch: int, score, train=None) -> tuple[bool, bool]:
        """After ``epoch`` (``score`` is None: nothing held out): the next
        epoch's rate; the last epoch is both the one kept and the stop."""
        if epoch < len(self.rates):
            self.lr = self.rates[epoch]
        last = epoch == len(self.rates)
        return last, last
