"""The training fast path: a skorch net with a fused loss, and its training run.

Everything a training step runs is here or in the modules it names: the
data set, its batches and the seeded hold-out split are in ``_data.py``;
the fused mixture likelihood with its closed-form gradient is in
``_fused_loss.py``, and the plain autograd likelihood of ``_loss.py`` is its
contract; what a run prints is in ``_progress.py``. Here: the skorch
``NeuralNet`` subclass, its construction from an estimator's parameters and
plan, and the training run.

``MixtureNet`` overrides three steps of skorch's epoch loop for speed
(:meth:`MixtureNet.run_single_epoch`, :meth:`MixtureNet.train_step`); they
call the ``NeuralNet`` methods listed in
:data:`sklearn_mdn._utils._compat.SKORCH_PRIVATE_METHODS`, which skorch does not
expose publicly. ``tests/utils/test_compat.py`` checks they exist on the
installed skorch.
"""

import dataclasses
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring
from skorch.utils import TeeGenerator

from .._utils._compat import optimizers_of, torch_private
from ._adam import Adam
from ._data import CHUNK_ROWS, HoldOut, TensorBatches
from ._fused_loss import adam_step, fused_nll, fused_step, manual_step_supported
from ._gate_fit import fit_gate
from ._loss import MixtureNLLLoss
from ._module import MixtureDensityModule, first_layer, input_weights, shrink_inputs
from ._progress import EpochProgressBar, _PlainPrintLog, _tqdm_write
from ._schedule import ReplaySchedule, schedule_callbacks, set_learning_rate
from ._threads import forward_work, resolve_threads, torch_threads

_torch = torch_private()

# What a failed fit leaves (the end of its FloatingPointError's message).
_UNFITTED = "The estimator is left unfitted"


def check_device(device) -> torch.device:
    """``device`` as a ``torch.device`` that this machine has, or ValueError."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={str(device)!r} is not supported; use 'cpu', 'cuda', "
            "'cuda:<index>' or 'mps'."
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was asked for, but CUDA is not available."
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={str(device)!r} was asked for, but only "
            f"{torch.cuda.device_count()} CUDA device(s) are visible."
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={str(device)!r} was asked for, but MPS is not available."
        )
    return device


def fused_adam_available(device) -> bool:
    major, minor = (int(v) for v in torch.__version__.split(".")[:2])
    return torch.device(device).type == "cuda" or (major, minor) >= (2, 4)


def average_decay(decay: float, step: int) -> float:
    """The weight of the average so far at averaging ``step`` (1-based) of
    weights averaged with ``decay``: ``min(decay, (1 + step) / (10 + step))``,
    so that the first steps, far from the average's horizon, are not
    outweighed by the initial weights."""
    return min(decay, (1 + step) / (10 + step))


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss stops being finite."""


class MixtureNet(NeuralNet):
    """A skorch ``NeuralNet`` that minimises the mixture negative log-likelihood.

    It differs from ``NeuralNet`` in seven places only: batches are sliced
    from tensors (:class:`TensorBatches`), with Gaussian noise of standard
    deviation ``noise`` (lowered with the learning rate) on training
    batches, the loss receives the sample weights packed with the targets,
    with ``input_l1 > 0`` every step ends with :func:`shrink_inputs` by
    ``input_l1 * lr``, and while an input mask is set
    (:meth:`relax_inputs`, :meth:`mask_inputs`) with putting the masked
    first-layer weights back to zero instead, the default callbacks drop the
    per-epoch table unless ``verbose`` is set (then, when tqdm is installed,
    a progress bar over the epochs is drawn below the table), with
    ``average`` (a decay in (0, 1)) every step also updates the moving
    average of the weights, and each validation pass scores both the
    trained weights and their average and leaves the better in the module
    (history key ``valid_averaged``; without held-out rows the run ends on
    the average), and the per-batch Python of the epoch loop is kept thin
    (:meth:`run_single_epoch`, :meth:`train_step`).
    """

    def __init__(
        self,
        module,
        *args,
        criterion=MixtureNLLLoss,
        noise=0.0,
        input_l1=0.0,
        relaxed_lr=None,
        average=0.0,
        **kwargs,
    ):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.noise = noise
        self.input_l1 = input_l1
        self.relaxed_lr = relaxed_lr
        self.average = average

    # Set by relax_inputs (the second phase of input_l1) or mask_inputs, and
    # dropped after training (a device tensor outside skorch's device-aware
    # pickling).
    input_mask_ = None

    # With ``average``: the running average of the weights over a training
    # run, its steps, and the trained weights while the average is in the
    # module (:meth:`run_single_epoch`).
    average_ = None
    average_steps_ = 0
    trained_ = None

    def initialize(self):
        self.input_mask_ = None
        return super().initialize()

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """With ``average``, start the average at the weights as they are."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.trained_ = None
        self.average_steps_ = 0
        self.average_ = (
            [p.detach().clone() for p in self.module_.parameters()]
            if self.average
            else None
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """With ``average``, leave the average in the module where nothing
        is held out (with held-out rows, early stopping restores the weights
        they chose at the best epoch) and drop the run's buffers."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        if self.average_ is not None and self.train_split is None:
            self._swap_in_average()
        self.average_ = self.trained_ = None

    def _swap_in_average(self):
        params = [p.detach() for p in self.module_.parameters()]
        self.trained_ = [p.clone() for p in params]
        _torch.foreach_copy_(params, self.average_)

    def _swap_out_average(self):
        params = [p.detach() for p in self.module_.parameters()]
        _torch.foreach_copy_(params, self.trained_)
        self.trained_ = None

    def relax_inputs(self):
        """End the L1 penalty's phase: the relaxed lasso's second phase.

        The first-layer weights that the penalty set to exactly zero stay
        zero from now on; the others are no longer shrunk, so training can
        undo the penalty's shrinkage of the features it kept. The learning
        rate restarts at ``relaxed_lr`` (``lr`` if None).
        """
        weight = first_layer(self.module_).weight.detach()
        self.input_mask_ = (weight != 0).to(weight.dtype)
        set_learning_rate(self, self.lr if self.relaxed_lr is None else self.relaxed_lr)

    def mask_inputs(self, support):
        """Read only the features ``support`` marks: the first-layer weights
        of the others are set to zero and held there through training."""
        weights = input_weights(self.module_)
        weight = weights[0]
        mask = torch.as_tensor(support, dtype=weight.dtype, device=weight.device)
        self.input_mask_ = mask.expand_as(weight).contiguous()
        with torch.no_grad():
            for weight in weights:
                weight.mul_(self.input_mask_)

    def uses_fused_loss(self, **fit_params) -> bool:
        """Whether training steps take the fused loss (:func:`fused_nll`).

        The one switch of the fast path: the plain mixture NLL without
        missing targets and without extra fit parameters, of one network
        (not the :class:`StackedMixture` that ``partial_fit`` may continue).
        Otherwise the step runs skorch's ``infer`` and ``get_loss`` through
        autograd.
        """
        criterion = self.criterion_
        return (
            type(criterion) is MixtureNLLLoss
            and isinstance(self.module_, MixtureDensityModule)
            and not criterion.allow_missing
            and not fit_params
        )

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.verbose:
            write = _tqdm_write()
            if write is None:
                callbacks.append(("print_log", _PlainPrintLog()))
            else:
                callbacks.append(("progress_bar", EpochProgressBar()))
                callbacks.append(("print_log", _PlainPrintLog(sink=write)))
        return callbacks

    def get_iterator(self, dataset, training=False):
        params = self.get_params_for("iterator_train" if training else "iterator_valid")
        return TensorBatches(
            dataset,
            batch_size=params.get("batch_size", self.batch_size),
            shuffle=training,
            seed=params.get("seed"),
            noise=self.noise if training else 0.0,
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, sample_weight = y_true
        return self.criterion_(y_pred, y, sample_weight)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``, with the Python around each step kept thin.

        It differs from ``NeuralNet.run_single_epoch`` where that costs time
        at a millisecond per step: the modules are put in train or eval mode
        once per epoch, not once per batch (so :meth:`train_step_single` and
        :meth:`validation_step` assume the mode is set), and the batch losses
        are read from the device together at the end of the epoch, not with
        a synchronising ``.item()`` after every step. ``on_batch_begin`` and
        ``on_batch_end`` are still notified for every batch, and once the
        epoch is over the history holds the same per-batch ``*_loss`` and
        ``*_batch_size`` entries as skorch's; a training loss that is not
        finite raises :class:`NonFiniteLossError` at the end of its epoch.
        """
        if iterator is None:
            return
        if training and self.trained_ is not None:
            self._swap_out_average()  # training steps the trained weights
        trained = None
        if not training and self.average_ is not None:
            # The held-out rows score the trained weights and their average,
            # and the module keeps the better for early stopping to see.
            self._set_training(False)
            trained = [step_fn(batch, **fit_params)["loss"] for batch in iterator]
            self._swap_in_average()
        self._set_training(training)
        if training and self.noise > 0:
            # The noise follows the learning rate down (see _schedule.py).
            lr = self.optimizer_.param_groups[0]["lr"]
            iterator.noise = self.noise * lr / self.lr
        losses, sizes = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if trained is not None:  # the same batches, in the same order
            # Both batch-weighted sums alike, in float64 (not one in float32).
            averaged = sum(float(loss) * n for loss, n in zip(losses, sizes))
            chosen = averaged <= sum(float(t) * n for t, n in zip(trained, sizes))
            self.history.record("valid_averaged", chosen)
            if not chosen:
                self._swap_out_average()
                losses = trained  # the trained weights' losses into the history
        if losses:
            values = torch.stack(losses).tolist()
            rows = self.history[-1]["batches"][-len(values) :]
            for row, value, size in zip(rows, values, sizes):
                row[prefix + "_loss"] = value
                row[prefix + "_batch_size"] = size
            if training and not all(map(math.isfinite, values)):
                bad = next(v for v in values if not math.isfinite(v))
                raise NonFiniteLossError(
                    f"the training loss became {bad} in epoch {len(self.history)}"
                )
        self.history.record(prefix + "_batch_count", len(losses))

    def train_step(self, batch, **fit_params):
        """One optimizer step on ``batch``, without skorch's closure machinery.

        The gradients are set to None, then computed
        (:meth:`train_step_single`); ``on_grad_computed`` is notified and the
        optimizers are stepped without a closure (Adam takes none), as
        skorch does. Where the gradient is computed by hand
        (:func:`~sklearn_mdn._nn._fused_loss.fused_step`) the ``.grad`` tensors
        are kept instead: every one is overwritten in place, which spares
        their allocation; a fused Adam is stepped by
        :func:`~sklearn_mdn._nn._fused_loss.adam_step`, the same kernel without
        ``Adam.step``'s Python.
        """
        by_hand = self.uses_fused_loss(**fit_params) and manual_step_supported(
            self.module_
        )
        if not by_hand:
            self._zero_grad_optimizer(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        for optimizer in optimizers_of(self):
            if not adam_step(optimizer):
                optimizer.step()
        if self.input_mask_ is not None:
            with torch.no_grad():
                for weight in input_weights(self.module_):
                    weight.mul_(self.input_mask_)
        elif self.input_l1 > 0:
            shrink_inputs(self.module_, self.input_l1 * self.lr)
        if self.average_ is not None:
            self.average_steps_ += 1
            _torch.foreach_lerp_(
                self.average_,
                [p.detach() for p in self.module_.parameters()],
                1.0 - average_decay(self.average, self.average_steps_),
            )
        return step

    def train_step_single(self, batch, **fit_params):
        """Loss and gradients of one batch; the mode is set per epoch.

        Where :meth:`uses_fused_loss` holds, the loss comes from
        :func:`fused_nll`, whose backward pass is far cheaper than autograd's
        through the mixture parameters, and where the module's layers allow
        (:func:`~sklearn_mdn._nn._fused_loss.manual_step_supported`) the whole
        backward pass is run by hand (:func:`~sklearn_mdn._nn._fused_loss.fused_step`,
        the same gradients to the last bit); ``y_pred`` is then None in the
        step (and in ``on_batch_end``).
        """
        Xi, yi = batch
        if self.uses_fused_loss(**fit_params):
            if manual_step_supported(self.module_):
                return {"loss": fused_step(self.module_, Xi, *yi), "y_pred": None}
            y_pred = None
            loss = fused_nll(self.module_, Xi, *yi)
        else:
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        """Loss of one batch without gradients; the mode is set per epoch."""
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}


# ----------------------------------------------------------------------
# A fit: net, training run
# ----------------------------------------------------------------------
def build_net(
    estimator, plan, *, seeds, n_components, hidden, device, fold=0, schedule=None
):
    """The skorch net of network ``fold`` of a fit that follows ``plan`` (a
    :class:`~sklearn_mdn._estimators._fit_plan.FitPlan`), not yet initialised.

    It has ``n_components`` components and ``hidden`` layers, takes the
    parameters that ``plan`` does not resolve from ``estimator``, and holds
    out block ``fold`` of the ``plan.n_networks`` blocks of the permutation
    that ``seeds.split`` draws (:class:`HoldOut`). With ``schedule`` (a
    learning rate per epoch, :func:`stopped_schedule`) it holds out nothing
    and trains for those epochs at those rates: the refit on all the rows.
    """
    refit = schedule is not None
    holds_out = plan.early_stopping and not refit
    return MixtureNet(
        MixtureDensityModule,
        module__n_features=plan.n_features,
        module__n_targets=plan.n_outputs,
        module__n_components=n_components,
        module__hidden_layer_sizes=hidden,
        module__activation=estimator.activation,
        module__gate_size=plan.gate_size,
        module__covariance_type=estimator.covariance_type,
        module__min_scale=math.sqrt(estimator.reg_covar),
        module__seed=seeds.init,
        criterion__allow_missing=estimator.missing_targets == "marginalize",
        optimizer=Adam,
        # MLPRegressor's scale: alpha / (2 b) ||W||^2 added to the mean loss
        # of a batch of b rows.
        optimizer__weight_decay=estimator.alpha / plan.batch_size,
        optimizer__param_groups=[("*bias", {"weight_decay": 0.0})],
        optimizer__fused=fused_adam_available(device),
        lr=estimator.learning_rate_init,
        max_epochs=len(schedule) if refit else plan.max_iter,
        batch_size=plan.batch_size,
        iterator_train__seed=seeds.shuffle,
        noise=plan.noise,
        input_l1=estimator.input_l1,
        relaxed_lr=plan.relaxed_lr,
        # A refit ends on the average where its network's held-out rows chose it.
        average=plan.average if not refit or getattr(schedule, "averaged", 0) else 0.0,
        iterator_valid__batch_size=CHUNK_ROWS,
        train_split=HoldOut(
            estimator.validation_fraction, seeds.split, fold, plan.n_networks
        )
        if holds_out
        else None,
        callbacks=[("lr_schedule", ReplaySchedule(schedule))]
        if refit
        else schedule_callbacks(plan, estimator.tol),
        device=device,
        verbose=estimator.verbose,
    )


class NetworkTrainer:
    """Builds and trains the networks of one fit; counts their steps.

    Parameters
    ----------
    estimator : MDNRegressor
        Its parameters.
    plan : FitPlan
        The fit's plan.
    dataset : TensorDataset
        The training data, standardised.
    hidden : tuple of int
        The hidden layers' widths.
    device : torch.device
    """

    def __init__(self, estimator, plan, dataset, *, hidden, device):
        self.estimator = estimator
        self.plan = plan
        self.dataset = dataset
        self.hidden = hidden
        self.device = device
        self.n_steps = 0
        # The encoding of the kept features that the inputs are, if any
        # (:meth:`reading`): the networks then read every column.
        self.encoding = None

    def reading(self, dataset, encoding):
        """A trainer of the same fit whose networks read ``dataset``, the
        ``encoding`` of the kept features (every column of it); it counts
        on from this trainer's steps."""
        plan = dataclasses.replace(self.plan, n_features=dataset.X.shape[1])
        return self._following(plan, dataset, encoding)

    def with_gate(self, gate_size, n_iter_no_change):
        """A trainer of the same fit and inputs whose networks have a gate of
        ``gate_size`` units and stop after ``n_iter_no_change`` epochs
        without improvement, never at the overfit stop; it counts on from
        this trainer's steps."""
        plan = dataclasses.replace(
            self.plan,
            gate_size=gate_size,
            n_iter_no_change=n_iter_no_change,
            overfit_stop=False,
        )
        return self._following(plan, self.dataset, self.encoding)

    def _following(self, plan, dataset, encoding):
        """A trainer of this fit on ``plan`` and ``dataset`` (``encoding``
        of the features), counting on from this trainer's steps."""
        trainer = NetworkTrainer(
            self.estimator, plan, dataset, hidden=self.hidden, device=self.device
        )
        trainer.n_steps, trainer.encoding = self.n_steps, encoding
        return trainer

    def mask(self, support):
        """The features mask of the networks' inputs: ``support`` (of the
        raw features), or None where the inputs are encoded."""
        return None if self.encoding is not None else support

    def build(self, seeds, fold, n_components, schedule=None):
        """The untrained net of ``seeds`` for block ``fold`` (all the rows
        with ``schedule``), with ``n_components`` components."""
        return build_net(
            self.estimator,
            self.plan,
            seeds=seeds,
            n_components=n_components,
            hidden=self.hidden,
            device=self.device,
            fold=fold,
            schedule=schedule,
        )

    def __call__(self, seeds, fold, support, n_components, schedule=None):
        """A network trained from ``seeds`` on block ``fold``'s training rows
        (all the rows with ``schedule``), reading the features ``support``
        marks, with ``n_components`` components."""
        net = self.build(seeds, fold, n_components, schedule)
        train(net, self.dataset, self.estimator.n_threads, self.mask(support))
        self.n_steps += int(sum(net.history[:, "train_batch_count"]))
        self.fit_gate(net, schedule)
        return net

    def fit_gate(self, net, schedule=None):
        """Refit the gate of the trained ``net`` alone (:func:`fit_gate`):
        on its held-out rows, or for the steps of ``schedule`` (a refit's)."""
        steps = None if schedule is None else getattr(schedule, "gate_steps", 0)
        net.gate_steps_ = fit_gate(
            net,
            self.dataset,
            self.estimator.n_threads,
            self.plan.gate_fit_steps,
            steps,
        )
        if self.estimator.verbose and net.module_.gate is not None:
            print(f"Gate refitted alone: {net.gate_steps_} steps kept", flush=True)


def train(net, dataset, n_threads, support=None):
    """Initialise and train ``net``; raise if training diverges.

    Nothing here draws from torch's global generator (the module's weights
    come from its ``seed``), so fits in concurrent threads do not interfere.
    Training runs on the torch threads that ``n_threads`` asks for given the
    work of one step (:mod:`sklearn_mdn._nn._threads`). With an L1 penalty on
    the inputs it runs twice (:func:`_relaxed_phase`). With ``support`` (a
    boolean mask of the features) it reads only the features marked
    (:meth:`MixtureNet.mask_inputs`). The input mask is dropped afterwards:
    a device tensor outside skorch's device-aware pickling.
    """
    net.initialize()
    run_epochs(net, dataset, n_threads, support)


def run_epochs(net, dataset, n_threads, support=None, epochs=None, outcome=_UNFITTED):
    """Train the initialised ``net`` on for ``epochs`` (``max_epochs`` if
    None), from where it is: :func:`train` after the initialisation, and
    every call of ``partial_fit``.

    A divergence raises ``FloatingPointError``, whose message ends with
    ``outcome``: what the caller leaves of the estimator.
    """
    if support is not None and not support.all():
        net.mask_inputs(support)
    work = forward_work(net.module_) * net.batch_size
    try:
        with torch_threads(resolve_threads(n_threads, work)):
            net.partial_fit(dataset, None, epochs=epochs)
            if net.input_l1 > 0:
                _relaxed_phase(net, dataset)
    except (NonFiniteLossError, torch.linalg.LinAlgError) as exc:
        raise FloatingPointError(
            f"Training diverged: {exc}. {outcome}; try a smaller "
            "learning_rate_init or a larger reg_covar."
        ) from None
    finally:
        net.input_mask_ = None
    # The last step may overflow the weights after the last loss was seen.
    if not all(torch.isfinite(p).all() for p in net.module_.parameters()):
        raise FloatingPointError(
            "Training diverged: the network's weights are not finite after "
            f"the last step. {outcome}; try a smaller learning_rate_init."
        )


def _relaxed_phase(net, dataset):
    """Train ``net`` on, without the L1 penalty, from where it stopped.

    The relaxed lasso (Meinshausen, 2007): the penalty chose the features,
    and a second run on the features it kept, unpenalised, undoes its
    shrinkage (:meth:`MixtureNet.relax_inputs`). It runs for the epochs
    that ``max_epochs`` leaves, under the same schedule and early stopping;
    where its best held-out loss is not below the first run's, the first
    run's weights are kept. Without early stopping nothing ends the first
    run before ``max_epochs``, so there is no second one.
    """
    done = len(net.history)
    epochs = net.max_epochs - done
    if epochs < 1 or net.train_split is None:
        return
    best = min(net.history[:, "valid_loss"])
    state = {k: v.clone() for k, v in net.module_.state_dict().items()}
    net.relax_inputs()
    max_epochs, net.max_epochs = net.max_epochs, epochs
    try:
        net.partial_fit(dataset, None)
    finally:
        net.max_epochs = max_epochs
    if min(net.history[done:, "valid_loss"]) >= best:
        net.module_.load_state_dict(state)
