"""Several networks of one fit trained together, as one batched module.

The ``n_networks`` networks of a small-data fit share an architecture and a
training recipe; only their seeds and held-out blocks differ. Trained one
after another, each pays the Python and kernel-launch cost of every step,
which dominates on small networks. Here their weights are stacked along a
first dimension, and each step runs one batched product per layer
(``torch.baddbmm``) for all of them, the fused likelihood of
:func:`~sklearn_mdn._nn._fused_loss._nll_and_grad` on their rows side by side
(``groups``), the backward pass by hand and one Adam update of all their
weights, held in one flat ``(k, P)`` tensor.

Each network keeps its own recipe: its initial weights, training and
held-out rows, shuffling and noise generator are those of the
:class:`~sklearn_mdn._nn._training.MixtureNet` that ``build_net`` makes for it;
its learning rate, plateau schedule and early stopping are its own, with the
semantics of skorch's ``EarlyStopping`` and torch's ``ReduceLROnPlateau``
(absolute threshold); a network that stops leaves the stack, and its
best-epoch weights are kept. The results are written back into each net
(weights, history, early-stopping and Adam's state), so the rest of a fit
sees skorch nets as before. Rounding differs from the one-by-one path
(batched products sum in another order): the same recipe, not the same bits.

With ``average`` (``weight_averaging``) each network also keeps the moving
average of its weights, and every epoch its held-out rows score both the
trained weights and their average; the lower NLL is the epoch's held-out
loss, and its weights are those early stopping keeps (a refit, with nothing
held out, ends on the average where its network kept the average).

A single network trains on this loop too (its Python is leaner than
skorch's epoch loop, ``benchmarks/results/loops.md``), bit for bit as on
skorch's, and so does a refit, which replays its network's epochs on all
the rows (``rates``).
"""

import copy
import math
import time

import numpy as np
import torch

from .._utils._compat import torch_private
from ._fused_loss import _nll_and_grad
from ._module import linears as _linears
from ._schedule import PlateauStop, ReplayRates
from ._threads import forward_work, resolve_threads, torch_threads
from ._training import _UNFITTED, average_decay, fused_adam_available

_torch = torch_private()


def _relu_backward(grad, out, pre):
    return _torch.threshold_backward(grad, out, 0, grad_input=torch.empty_like(out))


def _tanh_backward(grad, out, pre):
    return _torch.tanh_backward(grad, out, grad_input=torch.empty_like(out))


def _sigmoid_backward(grad, out, pre):
    return _torch.sigmoid_backward(grad, out, grad_input=torch.empty_like(out))


def _silu_backward(grad, out, pre):
    return _torch.silu_backward(grad, pre, grad_input=torch.empty_like(pre))


# The activations whose backward pass the stacked step runs by hand, with
# autograd's formula: ``(forward_, backward(grad, output, input))``. ReLU,
# tanh and the sigmoid run in place and differentiate from their output;
# SiLU differentiates from its input, which is kept.
_BACKWARD = {
    torch.nn.ReLU: (torch.relu_, _relu_backward),
    torch.nn.Tanh: (torch.tanh_, _tanh_backward),
    torch.nn.Sigmoid: (torch.sigmoid_, _sigmoid_backward),
    torch.nn.SiLU: (torch.nn.functional.silu, _silu_backward),
    torch.nn.Identity: (None, None),
}
_SUPPORTED = {"relu", "tanh", "logistic", "silu", "identity"}


def stacked_supported(estimator, plan) -> bool:
    """Whether the networks of a fit that follows ``plan`` can be trained
    stacked (a single one too: the loop is leaner than skorch's): networks
    stopped early on held-out rows, the plain likelihood without missing
    targets, no L1 penalty on the inputs (whose relaxed second phase
    restarts one network), and an activation whose backward pass it runs by
    hand; on the CPU, with torch's fused Adam."""
    return (
        plan.early_stopping
        and estimator.input_l1 == 0
        and estimator.missing_targets != "marginalize"
        and estimator.activation in _SUPPORTED
        and not estimator.verbose
        and fused_adam_available(estimator.device)
        # Measured and tested on CPU only so far.
        and torch.device(estimator.device).type == "cpu"
    )


def _randn(a: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(a.shape, generator=generator, dtype=a.dtype).to(a.device)


class StackedRun:
    """Train the initialised ``nets`` together; write the results back.

    Parameters
    ----------
    nets : list of MixtureNet
        Initialised nets of one architecture and batch size, each with its
        held-out split (``train_split``), schedule and early stopping.
    dataset : TensorDataset
        The fit's rows, standardised.
    n_threads : int or "auto"
    support : ndarray of bool or None
        The features every network reads (None: all).
    rates : list of float, default=None
        With a learning rate per epoch, the nets are refits: they hold
        nothing out and train for those epochs at those rates, keeping
        their last weights (:class:`~sklearn_mdn._nn._schedule.ReplayRates`),
        as skorch's loop replays them
        (:class:`~sklearn_mdn._nn._schedule.ReplaySchedule`).
    check : tuple (int, callable), default=None
        ``(steps, stop)``: at the end of the first epoch by which the first
        net has taken ``steps`` steps, ``stop(net, module)`` is called with
        that net and a copy of its module holding the weights it would keep
        there. Where it returns True, the first net stops there, as early
        stopping would have stopped it (its ``checked_`` says at which
        epoch). Nothing else changes: the others, and the first where it
        returns False, train on as without it.
    """

    def __init__(self, nets, dataset, n_threads, support=None, rates=None, check=None):
        self.nets = nets
        self.dataset = dataset
        self.n_threads = n_threads
        self.support = support
        self.rates = rates
        self.check = check

    def run(self):
        """Train; return the total number of steps taken."""
        nets = self.nets
        module = nets[0].module_
        work = forward_work(module) * nets[0].batch_size * len(nets)
        with torch.no_grad(), torch_threads(resolve_threads(self.n_threads, work)):
            return self._train(module)

    # ------------------------------------------------------------ set up
    def _train(self, module):
        nets, k = self.nets, len(self.nets)
        net0 = nets[0]
        shapes = [(lin.out_features, lin.in_features) for lin in _linears(module)]
        n_layers = len(shapes)
        act = [_BACKWARD[type(a)] for a in module.trunk[1::2]]
        # Layers n_trunk (the head) and, with a gate, n_trunk + 1 and
        # n_trunk + 2 (the gate's hidden ReLU layer and its logits) all
        # read the trunk's last hidden layer.
        n_trunk, gated, K = len(act), module.gate is not None, module.n_components
        # Per layer, the weights (k, out, in) and biases (k, out, 1) of all
        # networks, their gradients and Adam's two moments.
        weights = [
            torch.stack([_linears(net.module_)[j].weight.detach() for net in nets])
            for j in range(n_layers)
        ]
        biases = [
            torch.stack([_linears(net.module_)[j].bias.detach() for net in nets])
            .unsqueeze(2)
            .contiguous()
            for j in range(n_layers)
        ]
        device, dtype = weights[0].device, weights[0].dtype
        group = net0.optimizer_.param_groups
        wd = next((g["weight_decay"] for g in group if g["weight_decay"]), 0.0)
        beta1, beta2 = group[0]["betas"]
        eps = group[0]["eps"]
        mask = None
        if self.support is not None and not np.all(self.support):
            mask = torch.as_tensor(self.support, dtype=dtype, device=device)
            weights[0].mul_(mask)
        state = [weights, biases] + [
            [torch.zeros_like(t) for t in ts] for ts in (weights, biases) * 3
        ]
        # state: weights, biases, grad w, grad b, m w, m b, v w, v b, and with
        # weight averaging the averages of the weights and of the biases.
        average = float(net0.average)
        if average:
            state += [[t.clone() for t in weights], [t.clone() for t in biases]]
        step_count = torch.zeros((), dtype=torch.float32, device=device)

        replay = self.rates is not None
        if replay:  # all the rows train; no held-out rows
            nothing = self.dataset.subset(torch.zeros(0, dtype=torch.long))
            splits = [(self.dataset, nothing) for _ in nets]
        else:
            splits = [net.train_split(self.dataset) for net in nets]
        # Training X and y, held-out X and y (and the weights of both), of
        # the networks still training: (k, rows, ...).
        data = [
            torch.stack([part.X for part in parts])
            for parts in (
                [t for t, _ in splits],
                [t for t, _ in splits],
                [v for _, v in splits],
                [v for _, v in splits],
            )
        ]
        data[1] = torch.stack([t.y for t, _ in splits])
        data[3] = torch.stack([v.y for _, v in splits])
        w = self.dataset.sample_weight
        weighted = w is not None and not bool((w == 1).all())
        if weighted:
            data.append(torch.stack([t.sample_weight for t, _ in splits]))
            data.append(torch.stack([v.sample_weight for _, v in splits]))
        generators = [
            torch.Generator().manual_seed(
                int(net.get_params_for("iterator_train").get("seed") or 0)
            )
            for net in nets
        ]
        schedules = [
            ReplayRates(self.rates) if replay else PlateauStop.of(net) for net in nets
        ]
        noise = float(net0.noise)
        lr0 = float(net0.lr)
        batch_size = net0.batch_size
        max_epochs = net0.max_epochs
        n_train, n_valid = data[0].shape[1], data[2].shape[1]
        d = data[1].shape[2]
        split_head, min_scale, full = module.split_head, module.min_scale, module.full

        def forward(X, weights, biases):
            """Inputs of each layer, the trunk's (output, pre-activation)
            pairs and the head's output (after the gate's logits), for ``X``
            of shape (k, b, p)."""
            h = X.transpose(1, 2)
            inputs, saved = [], []
            for j in range(n_trunk):
                inputs.append(h)
                z = torch.baddbmm(biases[j], weights[j], h)
                forward_ = act[j][0]
                h = z if forward_ is None else forward_(z)
                saved.append((h, z))
            inputs.append(h)
            out = torch.baddbmm(biases[n_trunk], weights[n_trunk], h)
            if gated:
                g = torch.baddbmm(biases[n_trunk + 1], weights[n_trunk + 1], h)
                inputs.append(g.relu_())
                logits = torch.baddbmm(biases[n_trunk + 2], weights[n_trunk + 2], g)
                out = torch.cat([logits, out], 1)
            return inputs, saved, out

        def head_t(h):
            """(k, H, b) to (H, k * b): the rows of all networks side by side."""
            return h.transpose(0, 1).reshape(h.shape[1], -1)

        def valid_nll(weights, biases, copies=1):
            """Each network's NLL of its held-out rows under these weights
            (of ``copies`` stacks of the networks side by side)."""
            X, y, w = (
                t if copies == 1 or t is None else torch.cat([t] * copies)
                for t in (data[2], data[3], data[5] if weighted else None)
            )
            _, _, h = forward(X, weights, biases)
            loss, _ = _nll_and_grad(
                split_head(head_t(h), dim=0),
                y.reshape(-1, d),
                None if w is None else w.reshape(-1),
                min_scale,
                full,
                False,
                len(weights[0]),
            )
            return loss.reshape(-1).tolist()

        active = list(range(k))
        best = [self._snapshot(weights, biases, i) for i in range(k)]
        # Adam's state of each network where it stopped: its step and moments.
        adam = [None] * k

        def keep_adam(j, i):
            """Adam's state of network ``i``, member ``j`` of the stack."""
            moments = [[t[j] for t in ts] for ts in state[4:8]]
            adam[i] = (step_count.clone(), *moments)

        records = [[] for _ in range(k)]
        n_steps = n_averaged = 0
        check = None if replay else self.check
        for epoch in range(1, max_epochs + 1):
            tic = time.perf_counter()
            ka = len(active)
            lrs = [schedules[i].lr for i in active]
            weights, biases, grad_w, grad_b, m_w, m_b, v_w, v_b = state[:8]
            # The weights that the held-out rows score and the fit keeps.
            kept_w, kept_b = state[8:] if average else (weights, biases)
            # Each network's epoch: its permutation, then its noise.
            Xs, ys, ws = [], [], []
            for j, i in enumerate(active):
                perm = torch.randperm(n_train, generator=generators[i]).to(device)
                X = data[0][j].index_select(0, perm)
                y = data[1][j].index_select(0, perm)
                if noise > 0:
                    level = noise * lrs[j] / lr0
                    g = generators[i]
                    X = X + level * _randn(X, g)
                    y = y + level * _randn(y, g)
                Xs.append(X)
                ys.append(y)
                if weighted:
                    ws.append(data[4][j].index_select(0, perm))
            X_ep, y_ep = torch.stack(Xs), torch.stack(ys)
            w_ep = torch.stack(ws) if weighted else None
            # Adam's calls: one per learning rate shared by networks.
            by_lr = {}
            for j, lr in enumerate(lrs):
                by_lr.setdefault(lr, []).append(j)
            adam_calls = []
            for lr, members in by_lr.items():
                for ps, gs, ms, vs, decay in (
                    (weights, grad_w, m_w, v_w, wd),
                    (biases, grad_b, m_b, v_b, 0.0),
                ):
                    lists = [
                        [t[j] for t in ts for j in members] for ts in (ps, gs, ms, vs)
                    ]
                    adam_calls.append((lists, lr, decay))
            batch_losses, sizes = [], []
            for start in range(0, n_train, batch_size):
                stop = min(start + batch_size, n_train)
                b = stop - start
                yb = y_ep[:, start:stop].reshape(-1, d)
                wb = None if w_ep is None else w_ep[:, start:stop].reshape(-1)
                inputs, saved, h = forward(X_ep[:, start:stop], weights, biases)
                loss, grad = _nll_and_grad(
                    split_head(head_t(h), dim=0), yb, wb, min_scale, full, True, ka
                )
                batch_losses.append(loss.reshape(-1))
                sizes.append(b)
                G = grad.view(-1, ka, b).transpose(0, 1)
                if gated:  # the gate's layers, then the head's gradient
                    G_gate, G = G[:, :K], G[:, K:]
                    # Layer j reads inputs[j - 1]: the gate's ReLU output g,
                    # then the trunk's last hidden layer.
                    for j in (n_trunk + 2, n_trunk + 1):
                        torch.sum(G_gate, 2, keepdim=True, out=grad_b[j])
                        a = inputs[j - 1].transpose(1, 2)
                        torch.bmm(G_gate, a, out=grad_w[j])
                        if j == n_trunk + 2:
                            G_gate = torch.bmm(weights[j].transpose(1, 2), G_gate)
                            G_gate = _relu_backward(G_gate, inputs[j - 1], None)
                for j in range(n_trunk, -1, -1):
                    torch.sum(G, 2, keepdim=True, out=grad_b[j])
                    torch.bmm(G, inputs[j].transpose(1, 2), out=grad_w[j])
                    if j:
                        G = torch.bmm(weights[j].transpose(1, 2), G)
                        if gated and j == n_trunk:  # the gate reads h too
                            w_gate = weights[n_trunk + 1].transpose(1, 2)
                            G = G.baddbmm_(w_gate, G_gate)
                        backward = act[j - 1][1]
                        if backward is not None:
                            G = backward(G, *saved[j - 1])
                # torch's fused Adam kernel, as a fused torch.optim.Adam runs it.
                step_count += 1
                for (ps, gs, ms, vs), lr, decay in adam_calls:
                    _torch.fused_adam_(
                        ps,
                        gs,
                        ms,
                        vs,
                        [],
                        [step_count] * len(ps),
                        amsgrad=False,
                        lr=lr,
                        beta1=beta1,
                        beta2=beta2,
                        weight_decay=decay,
                        eps=eps,
                        maximize=False,
                        grad_scale=None,
                        found_inf=None,
                    )
                if mask is not None:
                    weights[0].mul_(mask)
                if average:
                    n_averaged += 1
                    _torch.foreach_lerp_(
                        kept_w + kept_b,
                        weights + biases,
                        1.0 - average_decay(average, n_averaged),
                    )
            n_batches = len(sizes)
            n_steps += n_batches * ka
            losses = torch.stack(batch_losses, 1)  # (ka, batches)
            train_loss = (losses @ losses.new_tensor(sizes) / n_train).tolist()
            losses = losses.tolist()
            averaged = [bool(average)] * ka  # the weights each network keeps
            if replay:
                valid_loss = [None] * ka
            else:
                if average:  # the held-out rows choose: trained or average
                    both = valid_nll(
                        [torch.cat(p) for p in zip(weights, kept_w)],
                        [torch.cat(p) for p in zip(biases, kept_b)],
                        copies=2,
                    )
                    valid_loss, averaged_loss = both[:ka], both[ka:]
                    averaged = [a <= t for a, t in zip(averaged_loss, valid_loss)]
                    valid_loss = list(map(min, averaged_loss, valid_loss))
                else:
                    valid_loss = valid_nll(weights, biases)
            dur = (time.perf_counter() - tic) / ka
            bad = next((x for x in train_loss if not math.isfinite(x)), None)
            if bad is not None:
                raise FloatingPointError(
                    f"Training diverged: the training loss became {bad} in epoch "
                    f"{epoch}. {_UNFITTED}; try a smaller learning_rate_init or a "
                    "larger reg_covar."
                )
            keep = []
            for j, i in enumerate(active):
                records[i].append(
                    (epoch, losses[j], sizes, dur, valid_loss[j], lrs[j], n_valid)
                )
                if average:
                    records[i][-1] += (averaged[j],)
                improved, stop = schedules[i].end_epoch(
                    epoch, valid_loss[j], train_loss[j]
                )
                if improved:
                    chosen = (kept_w, kept_b) if averaged[j] else (weights, biases)
                    best[i] = self._snapshot(*chosen, j)
                if i == 0 and check is not None and epoch * n_batches >= check[0]:
                    if not stop and check[1](
                        nets[0], self._module_of(nets[0], best[0])
                    ):
                        stop = True
                        nets[0].checked_ = epoch
                    check = None
                if stop:
                    keep_adam(j, i)
                else:
                    keep.append(j)
            if len(keep) < ka:
                active = [active[j] for j in keep]
                if not active:
                    break
                index = torch.tensor(keep, device=device)
                state = [[t.index_select(0, index) for t in ts] for ts in state]
                data = [t.index_select(0, index) for t in data]
        for j, i in enumerate(active):  # stopped by max_epochs
            keep_adam(j, i)
        for i, net in enumerate(nets):
            self._write_back(net, best[i], records[i], schedules[i], adam[i])
        return n_steps

    @staticmethod
    def _module_of(net, snapshot):
        """A copy of ``net``'s module holding the weights of ``snapshot``."""
        module = copy.deepcopy(net.module_)
        with torch.no_grad():
            for lin, weight, bias in zip(_linears(module), *snapshot):
                lin.weight.copy_(weight)
                lin.bias.copy_(bias.squeeze(1))
        return module

    @staticmethod
    def _snapshot(weights, biases, j):
        return [t[j].clone() for t in weights], [t[j].clone() for t in biases]

    @staticmethod
    def _write_back(net, best, records, schedule, adam):
        """The best weights, history, early-stopping state and Adam's state
        (``adam``: the step and the moments where it stopped) of one network
        into its net, as training it alone would have left them."""
        weights, biases = best
        if not all(torch.isfinite(t).all() for t in weights + biases):
            raise FloatingPointError(
                "Training diverged: the network's weights are not finite after "
                f"the last step. {_UNFITTED}; try a smaller learning_rate_init."
            )
        step, m_w, m_b, v_w, v_b = adam
        optimizer_state = net.optimizer_.state
        with torch.no_grad():
            for lin, weight, bias, *moments in zip(
                _linears(net.module_), weights, biases, m_w, m_b, v_w, v_b
            ):
                lin.weight.copy_(weight)
                lin.bias.copy_(bias.squeeze(1))
                mw, mb, vw, vb = moments
                for param, m, v in ((lin.weight, mw, vw), (lin.bias, mb, vb)):
                    optimizer_state[param] = {
                        "step": step.clone(),
                        "exp_avg": m.reshape(param.shape).clone(),
                        "exp_avg_sq": v.reshape(param.shape).clone(),
                    }
        best_train = best_valid = math.inf
        history = net.history
        for epoch, losses, sizes, dur, valid, lr, n_valid, *averaged in records:
            history.new_epoch()
            history.record("epoch", epoch)
            for loss, size in zip(losses, sizes):
                history.new_batch()
                history.record_batch("train_loss", loss)
                history.record_batch("train_batch_size", size)
            if valid is not None:
                history.new_batch()
                history.record_batch("valid_loss", valid)
                history.record_batch("valid_batch_size", n_valid)
            train = float(np.average(losses, weights=sizes))
            history.record("train_batch_count", len(sizes))
            if valid is not None:
                history.record("valid_batch_count", 1)
            history.record("dur", dur)
            history.record("train_loss", train)
            history.record("train_loss_best", bool(train < best_train))
            if averaged:
                history.record("valid_averaged", averaged[0])
            if valid is not None:
                history.record("valid_loss", valid)
                history.record("valid_loss_best", bool(valid < best_valid))
                best_valid = min(best_valid, valid)
            if schedule.factor is not None:  # a plateau schedule records it
                history.record("event_lr", lr)
            best_train = min(best_train, train)
        stopper = dict(net.callbacks_).get("early_stopping")
        if stopper is not None:
            stopper.misses_ = schedule.misses
            stopper.best_epoch_ = schedule.best_epoch
            stopper.dynamic_threshold_ = schedule.dynamic_threshold
            stopper.best_model_weights_ = None
            stopper.overfit_ = schedule.overfit
        for group in net.optimizer_.param_groups:
            group["lr"] = schedule.lr


def train_stacked(
    trainer, all_seeds, support, n_components, folds=None, rates=None, check=None
):
    """The networks of ``all_seeds`` (blocks ``folds``, default 0, 1, ...)
    trained together by :class:`StackedRun`, as skorch nets (refits on all
    the rows with ``rates``, a learning rate per epoch; the first stopped by
    ``check``, :class:`StackedRun`'s); the steps are counted on ``trainer``
    (a :class:`~sklearn_mdn._nn._training.NetworkTrainer`)."""
    folds = range(len(all_seeds)) if folds is None else folds
    nets = []
    for seeds, fold in zip(all_seeds, folds):
        net = trainer.build(seeds, fold, n_components, rates)
        net.initialize()
        nets.append(net)
    if rates is None or len(rates):
        trainer.n_steps += StackedRun(
            nets,
            trainer.dataset,
            trainer.estimator.n_threads,
            trainer.mask(support),
            rates,
            check,
        ).run()
    for net in nets:
        trainer.fit_gate(net, rates)
    return nets
