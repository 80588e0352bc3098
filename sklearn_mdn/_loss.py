"""Gaussian-mixture negative log-likelihood, in log space, in torch."""

import functools
import math

import torch
from torch import nn
from torch.nn import functional as F

_LOG_2PI = math.log(2 * math.pi)


def _precision_factor(scale: torch.Tensor, offdiag: torch.Tensor) -> torch.Tensor:
    return torch.diag_embed(scale.reciprocal()) + offdiag


def component_log_prob(params, y: torch.Tensor, observed=None) -> torch.Tensor:
    """Log density of ``y`` under each component, shape ``(n, K)``.

    Parameters
    ----------
    params : tuple of torch.Tensor
        ``(logits, means, scale)`` or ``(logits, means, scale, offdiag)`` as
        returned by :class:`~sklearn_mdn._module.MixtureDensityModule`.
    y : torch.Tensor of shape (n, d)
        Targets. Entries where ``observed`` is False may hold any finite value.
    observed : torch.Tensor of shape (n, d), dtype bool, default=None
        Which targets are observed. The density is then that of the observed
        targets only: the exact marginal of each Gaussian component.
    """
    means, scale = params[1], params[2]
    diff = y.unsqueeze(1) - means
    if observed is not None and len(params) == 4:
        return _marginal_full_log_prob(diff, scale, params[3], observed)
    z = diff / scale
    log_scale = scale.log()
    if len(params) == 4:
        z = z + (diff.unsqueeze(-2) @ params[3]).squeeze(-2)
    if observed is None:
        d = y.shape[1]
        return -0.5 * (z * z).sum(-1) - log_scale.sum(-1) - 0.5 * d * _LOG_2PI
    obs = observed.unsqueeze(1).to(z.dtype)
    n_obs = obs.sum(-1)
    return (
        -0.5 * (z * z * obs).sum(-1)
        - (log_scale * obs).sum(-1)
        - 0.5 * n_obs * _LOG_2PI
    )


def _marginal_full_log_prob(diff, scale, offdiag, observed) -> torch.Tensor:
    """Exact marginal over observed targets for full covariance.

    The covariance is rebuilt from the precision factor; rows and columns of
    missing targets are replaced by those of a unit-variance independent
    variable evaluated at zero residual, whose density is divided out again.
    """
    d = diff.shape[-1]
    factor = _precision_factor(scale, offdiag)
    eye = torch.eye(d, dtype=diff.dtype, device=diff.device)
    inv_factor = torch.linalg.solve_triangular(factor, eye, upper=False)
    cov = inv_factor.transpose(-1, -2) @ inv_factor
    obs = observed.unsqueeze(1).to(diff.dtype)
    mask = obs.unsqueeze(-1) * obs.unsqueeze(-2)
    cov = cov * mask + torch.diag_embed(1.0 - obs)
    chol = torch.linalg.cholesky(cov)
    z = torch.linalg.solve_triangular(
        chol, (diff * obs).unsqueeze(-1), upper=False
    ).squeeze(-1)
    log_det = torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)
    n_obs = obs.sum(-1)
    return -0.5 * (z * z).sum(-1) - log_det - 0.5 * n_obs * _LOG_2PI


def mixture_log_prob(params, y: torch.Tensor, observed=None) -> torch.Tensor:
    """Log density of ``y`` under each row's mixture, shape ``(n,)``."""
    log_weights = F.log_softmax(params[0], dim=-1)
    return torch.logsumexp(log_weights + component_log_prob(params, y, observed), -1)


class MixtureNLLLoss(nn.Module):
    """Mean (optionally weighted) negative log-likelihood of a Gaussian mixture.

    Parameters
    ----------
    allow_missing : bool, default=False
        If True, NaN entries of the target are treated as missing and
        marginalised out of the likelihood exactly.
    """

    def __init__(self, allow_missing: bool = False):
        super().__init__()
        self.allow_missing = allow_missing

    def forward(self, params, y, sample_weight=None):
        observed = None
        if self.allow_missing:
            observed = ~torch.isnan(y)
            y = torch.where(observed, y, torch.zeros_like(y))
        log_prob = mixture_log_prob(params, y, observed)
        if sample_weight is None:
            return -log_prob.mean()
        return -(log_prob * sample_weight).mean()


def head_nll(
    h_t: torch.Tensor,
    y: torch.Tensor,
    sample_weight=None,
    *,
    n_components: int,
    n_scale: int,
    min_scale: float,
    full: bool,
) -> torch.Tensor:
    """Mixture NLL straight from the head's output, for training steps.

    Equal, up to rounding, to ``MixtureNLLLoss()(params, y, sample_weight)``
    where ``params`` is what :class:`~sklearn_mdn._module.MixtureDensityModule`
    makes of the head's output ``h = h_t.T``, and so is its gradient.

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
    h_t : torch.Tensor of shape (K * (1 + d + n_scale + n_offdiag), n)
        Output of the module's last linear layer, transposed: one row per
        output unit. Contiguous.
    y : torch.Tensor of shape (n, d)
        Targets, all observed.
    sample_weight : torch.Tensor of shape (n,) or None, default=None
    n_components, n_scale, min_scale, full
        The module's ``n_components``, ``n_scale``, ``min_scale`` and ``full``.
    """
    wants_grad = h_t.requires_grad and torch.is_grad_enabled()
    loss, grad = _nll_and_grad(
        h_t.detach(),
        y,
        sample_weight,
        n_components,
        n_scale,
        min_scale,
        full,
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


def _nll_and_grad(h_t, y, weight, K, n_scale, min_scale, full, wants_grad):
    """The loss of :func:`head_nll` and, if ``wants_grad``, its gradient.

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
    a, b = K + K * d, K + K * d + K * n_scale
    dtype, device = h_t.dtype, h_t.device
    logits = h_t[:K]
    means = h_t[K:a].reshape(K, d, n)
    raw = h_t[a:b].reshape(K, n_scale, n)
    scale = F.softplus(raw).add_(_scalar(min_scale, dtype, device))
    diff = y.t() - means
    u = diff / scale
    z = u
    if full:
        rows, cols = _strict_lower(d, device)
        offdiag = h_t[b:].reshape(K, -1, n)
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
