"""The fused mixture likelihood of training steps, with its closed-form gradient.

:func:`fused_nll` is what :class:`~sklearn_mdn._nn._training.MixtureNet` minimises
on each step when :meth:`~sklearn_mdn._nn._training.MixtureNet.uses_fused_loss`
holds. Its contract is the plain autograd likelihood of ``_loss.py``: equal
value and gradient (``tests/test_fused_loss.py``).
"""

import functools
import weakref

import torch
from torch.nn import functional as F

from .._utils._compat import (
    has_forward_hooks,
    mark_stepped,
    optimizer_has_hooks,
    torch_private,
    wrapped_by_lr_scheduler,
)
from ._adam import Adam
from ._loss import _LOG_2PI

# torch's private kernels, through _compat.
_torch = torch_private()


def fused_nll(module, X: torch.Tensor, y: torch.Tensor, sample_weight=None):
    """Mean negative log-likelihood of ``y`` given ``X``, for training steps.

    The value of ``MixtureNLLLoss()(module(X), y, sample_weight)`` up to
    rounding, and so is its gradient, from the transposed forward pass
    :meth:`~sklearn_mdn._nn._module.MixtureDensityModule.forward_t` and
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


def _nll_and_grad(blocks, y, weight, min_scale, full, wants_grad, groups=1):
    """The loss of :func:`head_nll` and, if ``wants_grad``, its gradient.

    With ``groups > 1`` the rows are that many equal blocks (the networks of
    :mod:`~sklearn_mdn._stacked`): the loss is each block's mean, shape
    ``(groups,)``, and the gradient that of their sum.

    ``blocks`` are the head's output blocks of
    :meth:`~sklearn_mdn._nn._module.MixtureDensityModule.split_head`, transposed.

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
    n_all, d = y.shape
    n = n_all // groups  # rows per block: the means' denominator
    logits, means, raw, offdiag = blocks
    K, n_scale = len(logits), len(raw) // len(logits)
    dtype, device = logits.dtype, logits.device
    means = means.reshape(K, d, n_all)
    raw = raw.reshape(K, n_scale, n_all)
    scale = F.softplus(raw).add_(_scalar(min_scale, dtype, device))
    diff = y.t() - means
    u = diff / scale
    z = u
    if full:
        rows, cols = _strict_lower(d, device)
        offdiag = offdiag.reshape(K, -1, n_all)
        diff_rows = diff.index_select(1, rows)
        z = u.index_add(1, cols, diff_rows * offdiag)
    log_scale = scale.log()
    if d == 1:
        z = z.reshape(K, n_all)
        comp = torch.addcmul(logits - log_scale.reshape(K, n_all), z, z, value=-0.5)
    else:
        if n_scale == d:
            log_det = log_scale.sum(1)
        else:
            log_det = torch.add(log_scale, log_scale, alpha=d - 1).reshape(K, n_all)
        comp = torch.add(logits - log_det, (z * z).sum(1), alpha=-0.5)
    # Normalisers of the joint and of the weights, in one pass.
    both = torch.stack([comp, logits])
    top = both.amax(1, keepdim=True)
    probs = both.sub_(top).exp_()
    total = probs.sum(1, keepdim=True)
    log_norm = total.log().add_(top)
    log_prob = log_norm[0, 0] - log_norm[1, 0]
    const = _scalar(0.5 * d * _LOG_2PI, dtype, device)
    if groups > 1:
        log_prob = log_prob.view(groups, n)
        if weight is not None:
            log_prob = (log_prob - const).mul_(weight.view(groups, n))
            const = _scalar(0.0, dtype, device)
        loss = torch.add(const, log_prob.sum(1), alpha=-1.0 / n)
    elif weight is None:
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
    rz = neg_resp * z.reshape(K, d, n_all)
    d_means = rz / scale
    d_raw = (rz * u).sub_(neg_resp).div_(scale)
    if n_scale != d:
        d_raw = d_raw.sum(1, keepdim=True)
    d_raw = d_raw.mul_(torch.sigmoid(raw))
    grads = [d_logits, d_means.reshape(-1, n_all), d_raw.reshape(-1, n_all)]
    if full:
        rz_cols = rz.index_select(1, cols)
        d_means.index_add_(1, rows, rz_cols * offdiag)
        grads.append((rz_cols * diff_rows).neg_().reshape(-1, n_all))
    return loss, torch.cat(grads)


# ----------------------------------------------------------------------
# The whole step's gradient by hand
# ----------------------------------------------------------------------
def _relu_backward(grad, out, buffer):
    return _torch.threshold_backward(grad, out, 0, grad_input=buffer)


def _tanh_backward(grad, out, buffer):
    return _torch.tanh_backward(grad, out, grad_input=buffer)


def _sigmoid_backward(grad, out, buffer):
    return _torch.sigmoid_backward(grad, out, grad_input=buffer)


def _silu_backward(grad, pre, buffer):
    return _torch.silu_backward(grad, pre, grad_input=buffer)


# Activations whose backward pass is run by hand, with autograd's own formula
# for it (derivatives.yaml): ``(forward_, backward, needs_input)``. ReLU, tanh
# and the sigmoid differentiate from their output and run in place; SiLU
# differentiates from its input, which is kept beside the output.
_BACKWARD = {
    torch.nn.ReLU: (torch.relu_, _relu_backward, False),
    torch.nn.Tanh: (torch.tanh_, _tanh_backward, False),
    torch.nn.Sigmoid: (torch.sigmoid_, _sigmoid_backward, False),
    torch.nn.SiLU: (_torch.silu_out, _silu_backward, True),
    torch.nn.Identity: (None, None, False),
}


def manual_step_supported(module) -> bool:
    """Whether :func:`fused_step` can run ``module``'s backward pass by hand."""
    return _plan(module) is not None


# Per module, its layers and the plan of fused_step for them: slicing the
# trunk builds new containers, tens of microseconds a step.
_PLANS = weakref.WeakKeyDictionary()


def _plan(module):
    """``(linears, kinds)`` of :func:`fused_step` for ``module``, or None.

    None where a layer's backward pass cannot be run by hand: an activation
    missing from ``_BACKWARD``, a linear layer that is not a plain
    ``Linear`` or has forward hooks, or a gate branch (its module trains
    with autograd, or stacked: ``_stacked.py``). The plan is kept while the
    module's layers are the same objects; the hooks are looked at on every
    call.
    """
    if getattr(module, "gate", None) is not None:
        return None
    layers = (*module.trunk, module.head)
    cached = _PLANS.get(module)
    if cached is None or cached[0] != layers:
        linears = (*layers[:-1:2], layers[-1])
        activations = layers[1::2]
        plan = None
        if all(type(a) in _BACKWARD for a in activations) and all(
            type(linear) is torch.nn.Linear for linear in linears
        ):
            plan = linears, tuple(_BACKWARD[type(a)] for a in activations)
        cached = _PLANS[module] = (layers, plan)
    plan = cached[1]
    if plan is None or any(has_forward_hooks(linear) for linear in plan[0]):
        return None
    return plan


def fused_step(module, X: torch.Tensor, y: torch.Tensor, sample_weight=None):
    """The loss of :func:`fused_nll`, its gradient written to the ``.grad`` of
    ``module``'s parameters, without autograd.

    The forward pass runs without recording a graph; the backward pass is
    the chain rule that autograd would apply, op for op (``AddmmBackward0``:
    ``grad @ input.T`` for the weight, ``grad.sum(1)`` for the bias,
    ``weight.T @ grad`` for the input; the activations' backward from their
    output), so the gradients are the same to the last bit. It saves the
    autograd engine's bookkeeping and the graph's allocations, a quarter of a
    step. ``.grad`` tensors that exist are overwritten in place.
    """
    linears, kinds = _plan(module)
    act, pre, back = _step_buffers(module, linears, kinds, X)
    with torch.no_grad():
        h = X.t()
        inputs, saved = [], []
        for j, (linear, (forward, _, needs_input)) in enumerate(zip(linears, kinds)):
            inputs.append(h)
            out = pre[j] if needs_input else act[j]
            z = torch.addmm(linear.bias.unsqueeze(1), linear.weight, h, out=out)
            if needs_input:
                h = forward(z, out=act[j])
            else:  # in place: z is the output, what the backward needs
                if forward is not None:
                    forward(z)
                h = z
            saved.append(z)
        inputs.append(h)
        head = module.head
        h_t = torch.addmm(head.bias.unsqueeze(1), head.weight, h, out=act[-1])
        loss, grad = _nll_and_grad(
            module.split_head(h_t, dim=0),
            y,
            sample_weight,
            module.min_scale,
            module.full,
            True,
        )
        for i in range(len(linears) - 1, -1, -1):
            linear, a = linears[i], inputs[i]
            _set_grad(linear.weight, grad, a, "weight")
            _set_grad(linear.bias, grad, None, "bias")
            if i:
                out, grad_in = back[i - 1]
                grad = torch.mm(linear.weight.t(), grad, out=out)
                backward = kinds[i - 1][1]
                if backward is not None:
                    grad = backward(grad, saved[i - 1], grad_in)
    return loss


# Per module, the activations and gradients of fused_step, reused from step to
# step: fresh tensors each step cost their allocation and first touch.
_BUFFERS = weakref.WeakKeyDictionary()


def _step_buffers(module, linears, kinds, X):
    n, dtype, device = len(X), X.dtype, X.device
    key = (n, dtype, device)
    per_module = _BUFFERS.get(module)
    if per_module is None:
        per_module = _BUFFERS[module] = {}
    buffers = per_module.get(key)
    if buffers is None:
        if len(per_module) >= 2:  # full batches and a last, shorter one
            per_module.clear()

        def empty(rows):
            return torch.empty(rows, n, dtype=dtype, device=device)

        act = [empty(linear.out_features) for linear in linears]
        pre = [
            empty(linear.out_features) if needs_input else None
            for linear, (_, _, needs_input) in zip(linears, kinds)
        ]
        back = [(empty(lin.out_features), empty(lin.out_features)) for lin in linears]
        buffers = per_module[key] = (act, pre, back)
    return buffers


def _set_grad(param, grad, a, kind):
    old = param.grad
    if kind == "weight":
        if old is None:
            param.grad = torch.mm(grad, a.t())
        else:
            torch.mm(grad, a.t(), out=old)
    elif old is None:
        param.grad = grad.sum(1)
    else:
        torch.sum(grad, 1, out=old)


# torch's own Adam, as imported, and ours (the same step, unwrapped): another
# subclass (or a class patched in its place later) has a step of its own,
# which adam_step must not bypass.
_ADAMS = (torch.optim.Adam, Adam)


def adam_step(optimizer) -> bool:
    """One step of a fused ``torch.optim.Adam``, without its Python around the kernel.

    ``Adam.step`` spends more time in Python (hooks, ``_init_group``, grouping
    the tensors by device) than in ``torch._fused_adam_`` itself on a small
    network. Where the optimizer is a plain fused Adam with its state already
    initialised, no hooks and no gradient scaling, this makes the same kernel
    calls with the same arguments (so the same parameters to the last bit)
    and returns True; otherwise it does nothing and returns False, and the
    caller steps the optimizer as usual.
    """
    if (
        type(optimizer) not in _ADAMS
        or optimizer_has_hooks(optimizer)
        or getattr(optimizer, "grad_scale", None) is not None
        or getattr(optimizer, "found_inf", None) is not None
    ):
        return False
    step = vars(optimizer).get("step")
    if step is not None and not wrapped_by_lr_scheduler(step):
        return False  # a step patched by someone else: respect it
    state, calls = optimizer.state, []
    for group in optimizer.param_groups:
        if (
            group["fused"] is not True
            or group["amsgrad"]
            or group["maximize"]
            or group["capturable"]
            or group["differentiable"]
            or group["decoupled_weight_decay"]
            or not isinstance(group["lr"], float)
        ):
            return False
        params = group["params"]
        grads, exp_avgs, exp_avg_sqs, steps = [], [], [], []
        for p in params:
            s, grad = state.get(p), p.grad
            if not s or grad is None or grad.is_sparse or grad.dtype != p.dtype:
                return False
            grads.append(grad)
            exp_avgs.append(s["exp_avg"])
            exp_avg_sqs.append(s["exp_avg_sq"])
            steps.append(s["step"])
        if params:
            if len({(p.device, p.dtype) for p in params}) != 1:
                return False
            calls.append((group, params, grads, exp_avgs, exp_avg_sqs, steps))
    with torch.no_grad():
        for group, params, grads, exp_avgs, exp_avg_sqs, steps in calls:
            beta1, beta2 = group["betas"]
            _torch.foreach_add_(steps, 1)
            _torch.fused_adam_(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )
    mark_stepped(optimizer)
    return True
