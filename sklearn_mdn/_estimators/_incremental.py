"""Training that continues: ``partial_fit`` and ``fit`` with ``warm_start``.

``partial_fit`` runs one epoch over the rows it is given. Its first call on
an unfitted estimator fixes what cannot change afterwards, from those rows
alone: the standardisation of inputs and targets, the number of features
(and their names) and of targets, the network (one, of ``n_components``
components, 5 for ``"auto"``), the rows per step and the patience of the
learning-rate schedule. Nothing is held out: there is no early stopping, no
feature selection, no screen of the number of components, no refit and no
calibration, since each needs rows that the network never trains on. Later
calls train the same network on, with the same Adam state; each call's rows
are shuffled by a generator seeded from ``random_state`` and the number of
calls before it, so the same sequence of calls gives the same model, bit for
bit, wherever it runs (a pickled model carries all of this). The adaptive
learning rate (:class:`Plateau`) watches each call's training loss.

On a model fitted by ``fit``, ``partial_fit`` trains its module on: the
network with its optimizer, or the stacked networks of ``n_networks`` or
``refit`` together (their averaged mixture's likelihood) with a new one.

``fit`` with ``warm_start=True`` on a fitted model is a new run of ``fit``
that starts from the fitted network's weights: the data are planned afresh
(hold-out, batch size, epochs, schedule, early stopping, calibration) under
the kept standardisation, features and number of components.
"""

import dataclasses
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .._nn._data import Seeds
from .._nn._module import row_work
from .._nn._schedule import learning_rate, set_learning_rate
from .._nn._state import copy_weights, restore, snapshot, without_hold_out
from .._nn._training import build_net, check_device, run_epochs
from .._utils._compat import _fit_context
from ..distribution._checks import _random_state
from ._networks import set_fitted_state, warn_if_not_converged
from ._plan import AUTO_BATCH, AUTO_COMPONENTS, LR_FACTOR_INV, gate_width, make_plan
from ._preprocessing import (
    check_hidden_layer_sizes,
    input_bounds,
    input_mask,
    standardise,
    training_dataset,
    validate_fit_data,
)

# Smallest change of the learning rate that the schedule applies (as
# torch's ReduceLROnPlateau's eps).
_MIN_LR_CHANGE = 1e-8


@dataclass
class Plateau:
    """The adaptive learning rate of ``partial_fit``, across calls.

    ``ReduceLROnPlateau``'s rule (``mode="min"``, absolute threshold ``tol``)
    on the training loss of each call: the rate is divided by 5 once
    ``patience`` calls in a row (after the best one) have not lowered the
    best loss by ``tol``. ``patience`` is None for a constant rate.
    """

    patience: int | None
    tol: float
    best: float = math.inf
    misses: int = 0

    def step(self, net, loss: float) -> None:
        if self.patience is None:
            return
        if loss < self.best - self.tol:
            self.best, self.misses = loss, 0
            return
        self.misses += 1
        if self.misses > self.patience:
            self.misses = 0
            lr = learning_rate(net)
            if lr - lr / LR_FACTOR_INV > _MIN_LR_CHANGE:
                set_learning_rate(net, lr / LR_FACTOR_INV)


@dataclass
class PartialFitState:
    """What ``partial_fit`` carries from one call to the next."""

    shuffle_seed: int
    n_calls: int
    plateau: Plateau

    def call_seed(self) -> int:
        """Seed of this call's shuffling (and noise), from the fit's shuffle
        seed and the number of calls before it."""
        sequence = np.random.SeedSequence([self.shuffle_seed, self.n_calls])
        return int(sequence.generate_state(1)[0])


def run_partial_fit(estimator, X, y, sample_weight):
    """One epoch of ``estimator`` over the rows ``X, y`` (see the module)."""
    if not hasattr(estimator, "net_"):
        try:
            return _first_call(estimator, X, y, sample_weight)
        except BaseException:
            estimator._discard_fit()
            raise
    return _next_call(estimator, X, y, sample_weight)


def _refuse_under_partial_fit(estimator) -> None:
    """ValueError for what ``partial_fit`` cannot apply, set explicitly."""
    reasons = {
        "n_networks": (
            estimator.n_networks not in ("auto", 1),
            "it trains one network",
        ),
        "select_features": (
            estimator.select_features is True,
            "feature selection needs held-out rows",
        ),
        "refit": (estimator.refit is True, "a refit needs held-out rows"),
        "calibrate": (
            estimator.calibrate == "conformal",
            "conformal calibration needs held-out rows",
        ),
    }
    for name, (refused, reason) in reasons.items():
        if refused:
            raise ValueError(
                f"partial_fit cannot apply {name}={getattr(estimator, name)!r}: "
                f"{reason}. Use fit, or leave {name} at its default."
            )


def _call_plan(estimator, n_rows, n_features=1, n_outputs=1, batch_size=None):
    """The plan of ``partial_fit``: ``fit``'s rules without a hold-out (nor
    what needs one), for ``n_rows`` rows (at least a batch: a small first call
    does not shrink the batches of the calls after it)."""
    params = estimator.get_params(deep=False)
    params.update(
        early_stopping=False,
        select_features=False,
        refit=False,
        calibrate=False,
        weight_averaging="none",  # each call steps the weights as they are
    )
    params["n_networks"] = 1
    if batch_size is not None:
        params["batch_size"] = batch_size
    batch = params["batch_size"]
    n_plan = max(n_rows, AUTO_BATCH if batch == "auto" else batch)
    return make_plan(SimpleNamespace(**params), n_plan, n_features, n_outputs)


def _plateau(estimator, plan) -> Plateau:
    adaptive = estimator.learning_rate == "adaptive"
    return Plateau(plan.lr_patience if adaptive else None, estimator.tol)


def _first_call(estimator, X, y, sample_weight):
    """The first ``partial_fit`` of an unfitted estimator."""
    _refuse_under_partial_fit(estimator)
    hidden = check_hidden_layer_sizes(estimator.hidden_layer_sizes)
    X, y, y2, sample_weight = validate_fit_data(estimator, X, y, sample_weight)
    device = check_device(estimator.device)
    seeds = Seeds.draw(_random_state(estimator.random_state))
    plan = _call_plan(estimator, len(y2), X.shape[1], y2.shape[1])
    dataset = standardise(estimator, X, y, y2, sample_weight, device)
    n_components = estimator.n_components
    if n_components == "auto":
        n_components = AUTO_COMPONENTS
    net = build_net(
        estimator,
        plan,
        seeds=seeds,
        n_components=n_components,
        hidden=hidden,
        device=device,
    )
    net.callbacks = []  # no early stopping; Plateau schedules the rate
    net.initialize()
    estimator.net_ = net
    estimator.support_ = np.ones(X.shape[1], dtype=bool)
    estimator.n_components_ = n_components
    estimator.n_networks_ = 1
    estimator.refit_ = False
    estimator.spread_factor_ = 1.0
    estimator.tree_blend_, estimator.blend_trees_ = 0.0, None
    estimator.conformal_ = None
    estimator.validation_loss_curve_ = None
    estimator.n_steps_ = 0
    estimator._partial_fit_state_ = PartialFitState(
        seeds.shuffle, 0, _plateau(estimator, plan)
    )
    _train_call(estimator, dataset, "The estimator is left unfitted")
    return estimator


def _next_call(estimator, X, y, sample_weight):
    """A ``partial_fit`` that continues a fitted estimator."""
    X, _, y2, sample_weight = validate_fit_data(
        estimator, X, y, sample_weight, reset=False
    )
    check_outputs(estimator, y2)
    state = getattr(estimator, "_partial_fit_state_", None)
    if state is None and estimator.conformal_ is not None:
        raise ValueError(
            "partial_fit cannot continue a model calibrated with "
            'calibrate="conformal": its conformal scores would no longer hold. '
            "Refit it, or fit it with calibrate=True."
        )
    if state is None:
        _check_trainable(estimator, "partial_fit")
    device = estimator.net_.device
    dataset = training_dataset(estimator, X, y2, sample_weight, device)
    if state is None:
        state = _continue_fitted(estimator, len(y2))
    _train_call(
        estimator,
        dataset,
        "The estimator is left as it was before this call",
        bounds=input_bounds(X, estimator.x_scale_),
    )
    return estimator


def _check_trainable(estimator, what) -> None:
    """ValueError where ``estimator.net_`` was rebuilt by load_model, for
    prediction only (no skorch training configuration)."""
    if not hasattr(estimator.net_, "iterator_train__seed"):
        raise ValueError(
            f"{what} cannot continue a model read by load_model: the safe "
            "format keeps what prediction needs, not the training state (the "
            "optimizer, the batches' seeds). Continue a pickled model "
            "(pickle or joblib keep all of it), or fit again."
        )


def check_outputs(estimator, y2) -> None:
    """ValueError where ``y2`` has other targets than the fitted ones."""
    if y2.shape[1] != estimator.n_outputs_:
        raise ValueError(
            f"y has {y2.shape[1]} targets, but {type(estimator).__name__} was "
            f"fitted with {estimator.n_outputs_}; training can only continue "
            "on the same targets."
        )


def _continue_fitted(estimator, n_rows) -> PartialFitState:
    """Set a net that ``fit`` trained up for ``partial_fit``: no hold-out, no
    callbacks (early stopping, schedule), and for stacked networks a new
    optimizer over all of them; returns its state."""
    net = estimator.net_
    without_hold_out(net)
    plan = _call_plan(estimator, n_rows, batch_size=net.batch_size)
    state = PartialFitState(int(net.iterator_train__seed), 0, _plateau(estimator, plan))
    estimator._partial_fit_state_ = state
    estimator.spread_factor_ = 1.0
    estimator.tree_blend_, estimator.blend_trees_ = 0.0, None
    estimator.validation_loss_curve_ = None
    return state


def _train_call(estimator, dataset, outcome, bounds=None) -> None:
    """One epoch of ``estimator.net_`` on ``dataset``; then the fitted
    attributes. A divergence restores the net as it was before the call."""
    net, state = estimator.net_, estimator._partial_fit_state_
    saved = snapshot(net)
    net.iterator_train__seed = state.call_seed()
    try:
        run_epochs(net, dataset, estimator.n_threads, input_mask(estimator), 1, outcome)
    except BaseException:
        restore(net, saved)
        raise
    history = net.history
    state.plateau.step(net, history[-1, "train_loss"])
    state.n_calls += 1
    # Keep the per-batch losses of the last epoch only: a long stream of
    # calls would otherwise grow the history (and the pickle) without end.
    for row in history[:-1]:
        row["batches"] = []
    log_scale = float(np.log(estimator.y_scale_).sum())
    estimator.loss_curve_ = [v + log_scale for v in history[:, "train_loss"]]
    estimator.n_iter_ = len(history)
    estimator.n_steps_ += int(history[-1, "train_batch_count"])
    if bounds is not None:
        _widen_input_bounds(estimator, bounds)


def _widen_input_bounds(estimator, bounds) -> None:
    """Extend ``input_bounds_`` (the domain check's) to cover ``bounds``."""
    old = estimator.input_bounds_
    estimator.input_bounds_ = np.stack(
        [np.minimum(old[0], bounds[0]), np.maximum(old[1], bounds[1])]
    )


# ----------------------------------------------------------------------
# fit with warm_start=True
# ----------------------------------------------------------------------
def run_warm_fit(estimator, X, y, sample_weight):
    """``fit`` from the fitted network's weights (see the module)."""
    _check_trainable(estimator, "warm_start=True")
    if estimator.n_networks_ > 1 or estimator.refit_:
        raise ValueError(
            "warm_start=True continues a single network, but this model "
            f"averages {estimator.n_networks_} network(s)"
            f"{' and their refits' if estimator.refit_ else ''}. Fit it with "
            "warm_start=True from the start (n_networks and refit then mean 1 "
            "and False), or set warm_start=False."
        )
    hidden = check_hidden_layer_sizes(estimator.hidden_layer_sizes)
    fitted = estimator.net_
    fitted_gate = getattr(fitted, "module__gate_size", 0)
    for name, value in {
        "hidden_layer_sizes": hidden,
        "activation": estimator.activation,
        "covariance_type": estimator.covariance_type,
        "gate_size": gate_width(estimator.gate_size, hidden),
        "n_components": estimator.n_components_,
    }.items():
        # Nets pickled before gate_size existed have no gate.
        was = getattr(fitted, f"module__{name}", 0)
        asked = getattr(estimator, name) if name == "n_components" else value
        if name == "gate_size" and estimator.gate_size == "auto":
            asked = "auto"  # the fitted network's gate, whatever it is
        if asked != "auto" and asked != was:
            raise ValueError(
                f"warm_start=True continues the fitted network, whose {name} "
                f"is {was!r}; got {name}={asked!r}. Set warm_start=False to "
                "train a new network."
            )
    X, _, y2, sample_weight = validate_fit_data(
        estimator, X, y, sample_weight, reset=False
    )
    check_outputs(estimator, y2)
    rng = _random_state(estimator.random_state)
    work = row_work(
        X.shape[1],
        y2.shape[1],
        estimator.n_components_,
        hidden,
        estimator.covariance_type,
        fitted_gate,
    )
    # n_networks > 1 raises, refit=True warns.
    plan = make_plan(estimator, *X.shape, y2.shape[1], row_work=work, warm=True)
    kept = "warm_start=True: those of the fitted network it continues"
    if not estimator.support_.all():
        plan = plan.with_outcomes(features=(estimator.support_, kept))
    if getattr(estimator, "input_encoder_", None) is not None:
        plan = plan.with_outcomes(encoding=("piecewise_linear", kept))
    if fitted_gate:
        plan = plan.with_outcomes(gate=(fitted_gate, kept))
    if estimator.verbose:
        print(plan, flush=True)
    device = check_device(estimator.device)
    dataset = training_dataset(estimator, X, y2, sample_weight, device)
    # The network reads the columns of the inputs' encoding, if any.
    inputs = dataclasses.replace(plan, n_features=dataset.X.shape[1])
    net = build_net(
        estimator,
        inputs,
        seeds=Seeds.draw(rng),
        n_components=estimator.n_components_,
        hidden=hidden,
        device=device,
    )
    net.initialize()
    copy_weights(net, fitted.module_)
    run_epochs(
        net,
        dataset,
        estimator.n_threads,
        input_mask(estimator),
        outcome="The estimator keeps its previous fit",
    )
    bounds = input_bounds(X, estimator.x_scale_)
    old_bounds = estimator.input_bounds_
    vars(estimator).pop("_partial_fit_state_", None)
    warn_if_not_converged(estimator, [net], plan)
    set_fitted_state(estimator, [net], [], dataset, plan)
    estimator.fit_plan_ = plan
    estimator.n_steps_ = int(sum(net.history[:, "train_batch_count"]))
    estimator.input_bounds_ = old_bounds
    _widen_input_bounds(estimator, bounds)
    return estimator


class IncrementalMixin:
    """``partial_fit``, and ``fit`` with ``warm_start``, of
    :class:`~sklearn_mdn.MDNRegressor`."""

    @_fit_context(prefer_skip_nested_validation=True)
    def _warm_fit(self, X, y, sample_weight):
        return run_warm_fit(self, X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over the given rows, continuing the model.

        As :meth:`sklearn.neural_network.MLPRegressor.partial_fit`: one pass
        over the rows, shuffled, in mini-batches, from where the previous
        call (or :meth:`fit`) left the network and its Adam optimizer. It
        trains on data larger than memory, block by block
        (:func:`sklearn_mdn.dask.fit_incremental` does so over a Dask array).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs: the same columns (number and names) at every
            call.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: the same number at every call.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, scaled to a mean of 1 within
            each call.

        Returns
        -------
        self : MDNRegressor
            The estimator, trained one more epoch.

        Raises
        ------
        ValueError
            If the rows have other columns or targets than the first call's
            (or the fit's), or if a parameter that needs held-out rows is set
            explicitly (below). The model is left as it was.

        Notes
        -----
        The first call on an unfitted estimator fixes, from its rows alone,
        the standardisation of inputs and targets (so they should be a fair
        sample of all the data), the features and targets, the network and
        the parameters below; later calls read no parameter again. Nothing is
        held out, so:

        - ``early_stopping``, ``validation_fraction`` and ``max_iter`` do not
          apply: each call is one epoch, and the caller decides how many;
        - ``n_components="auto"`` means 5 (the screen for one component needs
          held-out rows), ``select_features="auto"`` keeps every feature,
          ``refit="auto"`` means False and ``n_networks="auto"`` 1;
        - ``calibrate=True`` fits no spread factor (``spread_factor_`` is 1);
        - ``n_networks > 1``, ``select_features=True``, ``refit=True`` and
          ``calibrate="conformal"`` raise a ``ValueError``.

        ``batch_size="auto"`` and ``noise="auto"`` are set at the first call
        as ``fit`` sets them for its rows (at least 32 rows a step). With
        ``learning_rate="adaptive"`` the rate is divided by 5 when the
        training loss has not improved on its best by ``tol`` for a third of
        ``n_iter_no_change`` calls in a row (``"auto"``: about 500 steps,
        at least 5 calls). ``n_threads`` is resolved at each call.

        On a model fitted by :meth:`fit`, its network trains on with its
        optimizer, or, where ``n_networks`` or ``refit`` stacked several,
        all of them together on their averaged mixture's likelihood, with a
        new optimizer; its spread factor is dropped (1), and a model
        calibrated with ``calibrate="conformal"`` raises.

        The same sequence of calls with an int ``random_state`` gives the
        same model, bit for bit, in threads, on Dask workers and across a
        pickle between calls, which keeps the optimizer's state.
        ``loss_curve_`` and ``n_iter_`` count the calls; ``input_bounds_``
        spans every call's rows.
        """
        return run_partial_fit(self, X, y, sample_weight)
