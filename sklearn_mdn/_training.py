"""The training fast path: a skorch net on tensor batches with a fused loss.

Everything a training step runs is here: the data set and its batches
sliced from whole tensors (no DataLoader), the seeded hold-out split, the
skorch ``NeuralNet`` subclass, and the fused mixture likelihood with its
closed-form gradient (:func:`head_nll`). The plain autograd likelihood of
``_loss.py`` is its contract.

``MixtureNet`` overrides three steps of skorch's epoch loop for speed
(:meth:`MixtureNet.run_single_epoch`, :meth:`MixtureNet.train_step`); they
call the ``NeuralNet`` methods listed in
:data:`sklearn_mdn._compat.SKORCH_PRIVATE_METHODS`, which skorch does not
expose publicly. ``tests/test_compat.py`` checks they exist on the installed
skorch.
"""

import functools
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog
from skorch.utils import TeeGenerator
from torch.nn import functional as F

from ._loss import _LOG_2PI, MixtureNLLLoss


class TensorDataset(torch.utils.data.Dataset):
    """Inputs, targets and optional sample weights held as tensors.

    Parameters
    ----------
    X : torch.Tensor of shape (n, p)
    y : torch.Tensor of shape (n, d)
    sample_weight : torch.Tensor of shape (n,) or None
    """

    def __init__(self, X, y, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        w = None if self.sample_weight is None else self.sample_weight[index]
        return self.X[index], (self.y[index], w)

    def subset(self, index):
        """Rows ``index`` of this data set, as a new data set."""
        # index_select: a quarter of the time of advanced indexing.
        w = self.sample_weight
        w = None if w is None else w.index_select(0, index)
        return TensorDataset(
            self.X.index_select(0, index), self.y.index_select(0, index), w
        )


class TensorBatches:
    """Mini-batches sliced from whole tensors, without a DataLoader.

    A shuffled epoch permutes the tensors once and yields contiguous views,
    so the cost of a batch is one slice, not ``batch_size`` calls to
    ``Dataset.__getitem__`` and a collate.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool, default=False
    seed : int or None, default=None
        Seed of the private generator that shuffles the rows.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = None
        if shuffle:
            self.generator = torch.Generator().manual_seed(int(seed or 0))
        # Unit weights (no sample_weight given) are not passed on: weighting
        # by 1 costs a few tensor operations per step, for rounding only.
        w = dataset.sample_weight
        self.weighted = w is not None and not bool((w == 1).all())

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        data = self.dataset
        if self.shuffle:
            perm = torch.randperm(len(data), generator=self.generator)
            data = data.subset(perm.to(data.X.device))
        X, y = data.X, data.y
        w = data.sample_weight if self.weighted else None
        for start in range(0, len(X), self.batch_size):
            stop = start + self.batch_size
            yield X[start:stop], (y[start:stop], None if w is None else w[start:stop])


def n_holdout(n: int, fraction: float) -> int:
    """Rows that :class:`HoldOut` sets aside out of ``n``."""
    return max(1, round(fraction * n))


class HoldOut:
    """A seeded random train/validation split of a :class:`TensorDataset`.

    Parameters
    ----------
    fraction : float
        Fraction of the rows held out for validation (:func:`n_holdout`).
    seed : int
        Seed of the split.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = n_holdout(n, self.fraction)
        generator = torch.Generator().manual_seed(int(self.seed))
        perm = torch.randperm(n, generator=generator).to(dataset.X.device)
        return dataset.subset(perm[n_valid:]), dataset.subset(perm[:n_valid])


class EpochProgressBar(Callback):
    """A tqdm progress bar over the epochs of a fit, with the latest losses.

    Parameters
    ----------
    file : file-like or None, default=None
        Where the bar is drawn; None means ``sys.stderr``.
    """

    def __init__(self, file=None):
        self.file = file

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
            total=net.max_epochs, unit="epoch", file=self.file, dynamic_ncols=True
        )

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        losses = {k: f"{row[k]:.4f}" for k in ("train_loss", "valid_loss") if k in row}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        # Drop the bar: it holds a stream, which would make the net unpicklable.
        self.bar_.close()
        del self.bar_


def _tqdm_write():
    """``tqdm.write`` when tqdm is installed, else None."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm.write


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss stops being finite."""


class MixtureNet(NeuralNet):
    """A skorch ``NeuralNet`` that minimises the mixture negative log-likelihood.

    It differs from ``NeuralNet`` in four places only: batches are sliced
    from tensors (:class:`TensorBatches`), the loss receives the sample
    weights packed with the targets, the default callbacks drop the
    per-epoch table unless ``verbose`` is set (then, when tqdm is installed,
    a progress bar over the epochs is drawn below the table), and the
    per-batch Python of the epoch loop is kept thin
    (:meth:`run_single_epoch`, :meth:`train_step`).
    """

    def __init__(self, module, *args, criterion=MixtureNLLLoss, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)

    def uses_fused_loss(self, **fit_params) -> bool:
        """Whether training steps take the fused loss (:func:`fused_nll`).

        The one switch of the fast path: the plain mixture NLL without
        missing targets and without extra fit parameters. Otherwise the step
        runs skorch's ``infer`` and ``get_loss`` through autograd.
        """
        criterion = self.criterion_
        return (
            type(criterion) is MixtureNLLLoss
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
                callbacks.append(("print_log", PrintLog()))
            else:
                callbacks.append(("progress_bar", EpochProgressBar()))
                callbacks.append(("print_log", PrintLog(sink=write)))
        return callbacks

    def get_iterator(self, dataset, training=False):
        params = self.get_params_for("iterator_train" if training else "iterator_valid")
        return TensorBatches(
            dataset,
            batch_size=params.get("batch_size", self.batch_size),
            shuffle=training,
            seed=params.get("seed"),
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
        self._set_training(training)
        losses, sizes = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
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

        The optimizers are stepped without a closure (Adam takes none), after
        ``on_grad_computed`` is notified, as skorch does.
        """
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self._step_optimizer(None)
        return step

    def train_step_single(self, batch, **fit_params):
        """Loss and gradients of one batch; the mode is set per epoch.

        Where :meth:`uses_fused_loss` holds, the loss comes from
        :func:`fused_nll`, whose backward pass is far cheaper than autograd's
        through the mixture parameters; ``y_pred`` is then None in the step
        (and in ``on_batch_end``).
        """
        Xi, yi = batch
        if self.uses_fused_loss(**fit_params):
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
# The fused loss
# ----------------------------------------------------------------------
def fused_nll(module, X: torch.Tensor, y: torch.Tensor, sample_weight=None):
    """Mean negative log-likelihood of ``y`` given ``X``, for training steps.

    The value of ``MixtureNLLLoss()(module(X), y, sample_weight)`` up to
    rounding, and so is its gradient, from the transposed forward pass
    :meth:`~sklearn_mdn._module.MixtureDensityModule.forward_t` and
    :func:`head_nll`.
    """
    return head_nll(module, module.forward_t(X), y, sample_weight)


def head_nll(module, h_t: torch.Tensor, y: torch.Tensor, sample_weight=None):
    """Mixture NLL straight from the head's transposed output ``h_t``.

    Equal, up to rounding, to ``MixtureNLLLoss()(params, y, sample_weight)``
    where ``params`` is what ``module`` makes of the head's output
    ``h = h_t.T``, and so is its gradient.

    Splitting ``h`` into parameters and letting autograd record the
    likelihood costs some sixty small tensor operations per step (forward
    and backward), a fifth of a training step at a few microseconds each.
    Here the loss and its closed-form gradient ``G`` come out of one pass of
    about thirty-five (:func:`_nll_and_grad`), each on a contiguous block of
    ``h_t`` (one parameter for all rows), and the gradient is handed to
    autograd as that of ``loss + (L - L.detach())`` with ``L = <h_t, G>``:
    its value is exactly ``loss`` (``L - L`` is exactly zero) and its
    gradient exactly ``G``, through built-in nodes rather than a Python
    ``backward``.

    Parameters
    ----------
    module : MixtureDensityModule
        The module whose head produced ``h_t``.
    h_t : torch.Tensor of shape (K * (1 + d + n_scale + n_offdiag), n)
        Output of the module's last linear layer, transposed: one row per
        output unit. Contiguous.
    y : torch.Tensor of shape (n, d)
        Targets, all observed.
    sample_weight : torch.Tensor of shape (n,) or None, default=None
    """
    wants_grad = h_t.requires_grad and torch.is_grad_enabled()
    loss, grad = _nll_and_grad(
        module.split_head(h_t.detach(), dim=0),
        y,
        sample_weight,
        module.min_scale,
        module.full,
        wants_grad,
    )
    if not wants_grad:
        return loss
    linear = torch.dot(h_t.view(-1), grad.view(-1))
    return loss + (linear - linear.detach())


@functools.lru_cache(maxsize=64)
def _scalar(value: float, dtype, device) -> torch.Tensor:
    """A 0-d tensor: arithmetic with it skips the conversion of a Python float."""
    return torch.tensor(value, dtype=dtype, device=device)


@functools.lru_cache(maxsize=16)
def _strict_lower(d: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices of the strictly lower triangle, row-major."""
    rows, cols = torch.tril_indices(d, d, offset=-1, device=device)
    return rows, cols


def _nll_and_grad(blocks, y, weight, min_scale, full, wants_grad):
    """The loss of :func:`head_nll` and, if ``wants_grad``, its gradient.

    ``blocks`` are the head's output blocks of
    :meth:`~sklearn_mdn._module.MixtureDensityModule.split_head`, transposed.

    Per component, with ``scale = softplus(raw) + min_scale``, the residual
    ``e = y - means``, ``u = e / scale``, the precision factor
    ``P = diag(1 / scale) + O`` (``O`` strictly lower triangular) and
    ``z = P^T e``, the log density is
    ``c = -|z|^2 / 2 - sum(log scale) - d/2 log(2 pi)``. With the
    responsibilities ``r = softmax(logits + c)``, the weights
    ``pi = softmax(logits)`` and the row weights ``w``, the loss is
    ``-sum(w log sum(pi exp(c))) / n``, and ``n`` times its gradient is

    - ``d/d logits = w (pi - r)``,
    - ``d/d means = -w r P z``,
    - ``d/d raw = -w r (z u - 1) / scale * sigmoid(raw)``,
    - ``d/d O[i, j] = w r e_i z_j`` for ``i > j``.

    Arrays are laid out with the rows last: ``(K, n)`` and ``(K, d, n)``;
    Python floats are kept out of tensor arithmetic (each costs a
    conversion).
    """
    n, d = y.shape
    logits, means, raw, offdiag = blocks
    K, n_scale = len(logits), len(raw) // len(logits)
    dtype, device = logits.dtype, logits.device
    means = means.reshape(K, d, n)
    raw = raw.reshape(K, n_scale, n)
    scale = F.softplus(raw).add_(_scalar(min_scale, dtype, device))
    diff = y.t() - means
    u = diff / scale
    z = u
    if full:
        rows, cols = _strict_lower(d, device)
        offdiag = offdiag.reshape(K, -1, n)
        diff_rows = diff.index_select(1, rows)
        z = u.index_add(1, cols, diff_rows * offdiag)
    log_scale = scale.log()
    if d == 1:
        z = z.reshape(K, n)
        comp = torch.addcmul(logits - log_scale.reshape(K, n), z, z, value=-0.5)
    else:
        if n_scale == d:
            log_det = log_scale.sum(1)
        else:
            log_det = torch.add(log_scale, log_scale, alpha=d - 1).reshape(K, n)
        comp = torch.add(logits - log_det, (z * z).sum(1), alpha=-0.5)
    # Normalisers of the joint and of the weights, in one pass.
    both = torch.stack([comp, logits])
    top = both.amax(1, keepdim=True)
    probs = both.sub_(top).exp_()
    total = probs.sum(1, keepdim=True)
    log_norm = total.log().add_(top)
    log_prob = log_norm[0, 0] - log_norm[1, 0]
    const = _scalar(0.5 * d * _LOG_2PI, dtype, device)
    if weight is None:
        loss = torch.add(const, log_prob.sum(), alpha=-1.0 / n)
    else:
        weighted = (log_prob - const).mul_(weight).sum()
        loss = torch.add(_scalar(0.0, dtype, device), weighted, alpha=-1.0 / n)
    if not wants_grad:
        return loss, None
    resp, weights = probs.div_(total)
    # The responsibilities times -w / n, and the logits' gradient.
    if weight is None:
        neg_resp = resp * _scalar(-1.0 / n, dtype, device)
        d_logits = torch.add(neg_resp, weights, alpha=1.0 / n)
    else:
        row_weight = weight * _scalar(1.0 / n, dtype, device)
        neg_resp = (resp * row_weight).neg_()
        d_logits = torch.addcmul(neg_resp, weights, row_weight)
    neg_resp = neg_resp.unsqueeze(1)
    rz = neg_resp * z.reshape(K, d, n)
    d_means = rz / scale
    d_raw = (rz * u).sub_(neg_resp).div_(scale)
    if n_scale != d:
        d_raw = d_raw.sum(1, keepdim=True)
    d_raw = d_raw.mul_(torch.sigmoid(raw))
    grads = [d_logits, d_means.reshape(-1, n), d_raw.reshape(-1, n)]
    if full:
        rz_cols = rz.index_select(1, cols)
        d_means.index_add_(1, rows, rz_cols * offdiag)
        grads.append((rz_cols * diff_rows).neg_().reshape(-1, n))
    return loss, torch.cat(grads)
