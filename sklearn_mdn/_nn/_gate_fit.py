"""The gate's own fit: a gated network's mixture weights refitted alone,
on its components as training left them.

Where a branch of solutions ends, the weights must switch sharply, but a
network trained as a whole stops when its held-out likelihood stops
improving, and that is ruled by the components' places and widths: the
weights, whose share of the likelihood is small, are left to fade out over
a wide band of inputs (docs/fit_plan.rst, "Mixture weights").
Once the trunk and the head are frozen, each row's component densities are
fixed numbers and the weights alone are a small problem: the gate (its two
layers) is fitted to them by full-batch Adam, on the rows the network
trained on, stopped on the rows it held out, and the best gate kept. A
refit, which holds out nothing, runs the steps its network kept.
"""

import torch

from ._adam import Adam
from ._held_out import t_statistic
from ._loss import component_log_prob
from ._threads import forward_work, resolve_threads, torch_threads

# Full-batch Adam's learning rate, the steps between two looks at the
# held-out rows, and the looks without improvement that end the fit.
LEARNING_RATE = 1e-2
CHECK_EVERY = 10
PATIENCE = 5
# The gate fitted is kept where its held-out NLL is below the trained
# gate's by KEEP_Z standard errors of the paired differences, row by row:
# the best of many looks beats the start by chance where the NLL is flat.
KEEP_Z = 1.0
# At most this many rows (every k-th) train the gate and as many judge it:
# a step costs about 2 x 10^4 multiply-adds a row (a gate of 100 units on
# 100), so beyond them the fit would outgrow the network's training.
MAX_ROWS = 20_000


def fit_gate(net, dataset, n_threads, max_steps, steps=None) -> int:
    """Refit the gate of ``net`` (trained) on its frozen components; the
    number of steps kept.

    With ``steps`` None the gate trains on ``net``'s training rows of
    ``dataset`` for at most ``max_steps`` full-batch steps, and the gate of
    least held-out NLL is kept (0 steps: the gate as trained); nothing is
    done without a gate, held-out rows or ``max_steps``. With ``steps`` (a
    refit's) it trains on every row for that many steps. A fit whose loss
    stops being finite leaves the gate as trained.
    """
    module = net.module_
    if getattr(module, "gate", None) is None or not max_steps:
        return 0
    if steps is None:
        if net.train_split is None:
            return 0
        train, valid = net.train_split(dataset)
    else:
        train, valid, max_steps = dataset, None, steps
    if not max_steps:
        return 0
    # On the threads of the network's training steps (the plan's n_threads).
    work = forward_work(module) * net.batch_size
    with torch_threads(resolve_threads(n_threads, work)):
        train = _frozen(module, train)
        valid = None if valid is None else _frozen(module, valid)
        return _fit(module.gate, train, valid, max_steps)


def _frozen(module, rows):
    """The last hidden layer, the component log densities and the weights of
    ``rows`` (a TensorDataset; every k-th of them beyond :data:`MAX_ROWS`)
    under ``module``, which stay fixed."""
    if len(rows) > MAX_ROWS:
        stride = -(-len(rows) // MAX_ROWS)
        rows = rows.subset(torch.arange(0, len(rows), stride, device=rows.X.device))
    module.eval()
    with torch.inference_mode():
        hidden = module.trunk(rows.X)
        log_prob = component_log_prob(module(rows.X), rows.y)
    weight = rows.sample_weight
    return hidden.clone(), log_prob.clone(), None if weight is None else weight.clone()


def _row_losses(gate, frozen):
    """The (weighted) NLL of each row of ``frozen`` under ``gate``."""
    hidden, log_prob, weight = frozen
    rows = -torch.logsumexp(torch.log_softmax(gate(hidden), 1) + log_prob, 1)
    return rows if weight is None else rows * weight


def _loss(gate, frozen):
    """The mean (weighted) NLL of the rows of ``frozen`` under ``gate``."""
    return _row_losses(gate, frozen).mean()


def _fit(gate, train, valid, max_steps) -> int:
    """Adam on ``gate`` over the rows of ``train``; the steps kept. With
    ``valid``: the gate of least loss there, looked at every
    :data:`CHECK_EVERY` steps up to :data:`PATIENCE` looks without
    improvement, where it beats the start by :data:`KEEP_Z` standard
    errors (else the start). Without: ``max_steps`` steps (the start where
    the loss stops being finite)."""
    params = list(gate.parameters())
    optimizer = Adam(params, lr=LEARNING_RATE)
    start = best = [p.detach().clone() for p in params]
    best_step, misses = 0, 0
    if valid is not None:
        with torch.no_grad():
            start_rows = _row_losses(gate, valid)
        best_loss = float(start_rows.mean())
    for step in range(1, max_steps + 1):
        optimizer.zero_grad()
        loss = _loss(gate, train)
        if not torch.isfinite(loss):
            break
        loss.backward()
        optimizer.step()
        if valid is None:
            best_step = step
        elif step % CHECK_EVERY == 0:
            with torch.no_grad():
                loss = float(_loss(gate, valid))
            if loss < best_loss:
                best_loss, best_step, misses = loss, step, 0
                best = [p.detach().clone() for p in params]
            elif (misses := misses + 1) >= PATIENCE:
                break
    optimizer.zero_grad()
    if valid is None:
        if best_step == max_steps:
            return best_step
        best, best_step = start, 0
    elif best_step:
        _restore(params, best)
        with torch.no_grad():
            gain = t_statistic(_row_losses(gate, valid) - start_rows)
        if not gain < -KEEP_Z:
            best, best_step = start, 0
    _restore(params, best)
    return best_step


def _restore(params, values):
    with torch.no_grad():
        for p, v in zip(params, values):
            p.copy_(v)
