"""The plain Gaussian-mixture negative log-likelihood, in log space, in torch.

Autograd differentiates it. It serves validation, missing targets and custom
criteria, and it is the contract that the fused training loss of
``_training.py`` is tested against (``tests/test_fused_loss.py``).
"""

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
    params : MixtureParams
        As returned by :class:`~sklearn_mdn._nn._module.MixtureDensityModule`.
    y : torch.Tensor of shape (n, d)
        Targets. Entries where ``observed`` is False may hold any finite value.
    observed : torch.Tensor of shape (n, d), dtype bool, default=None
        Which targets are observed. The density is then that of the observed
        targets only: the exact marginal of each Gaussian component.
    """
    scale, offdiag = params.scale, params.offdiag
    diff = y.unsqueeze(1) - params.means
    if observed is not None and offdiag is not None:
        return _marginal_full_log_prob(diff, scale, offdiag, observed)
    z = diff / scale
    log_scale = scale.log()
    if offdiag is not None:
        z = z + (diff.unsqueeze(-2) @ offdiag).squeeze(-2)
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
    log_weights = F.log_softmax(params.logits, dim=-1)
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
        return self.row_losses(params, y, sample_weight).mean()

    def row_losses(self, params, y, sample_weight=None):
        """Each row's (weighted) negative log-likelihood, shape ``(n,)``."""
        observed = None
        if self.allow_missing:
            observed = ~torch.isnan(y)
            y = torch.where(observed, y, torch.zeros_like(y))
        log_prob = mixture_log_prob(params, y, observed)
        if sample_weight is None:
            return -log_prob
        return -(log_prob * sample_weight)
