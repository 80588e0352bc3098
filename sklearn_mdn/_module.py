"""The torch module: an MLP trunk and a Gaussian-mixture head."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._loss import head_nll

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def _inverse_softplus(value: float) -> float:
    return value + math.log(-math.expm1(-value))


class MixtureDensityModule(nn.Module):
    """MLP trunk followed by a head that parametrises a Gaussian mixture.

    ``forward`` returns a tuple ``(logits, means, scale)`` or, for ``"full"``
    covariance with more than one target, ``(logits, means, scale, offdiag)``:

    - ``logits`` of shape ``(n, K)``: unnormalised log mixture weights;
    - ``means`` of shape ``(n, K, d)``;
    - ``scale`` of shape ``(n, K, d)``: ``softplus(raw) + min_scale``;
    - ``offdiag`` of shape ``(n, K, d, d)``, strictly lower triangular.

    Each component's precision matrix is ``P @ P.T`` with the lower-triangular
    factor ``P = diag(1 / scale) + offdiag``. With a diagonal covariance,
    ``scale`` is the standard deviation of each target. In every case the
    determinant of the covariance is ``prod(scale) ** 2``, so the floor bounds
    every component's density by ``(2 pi)^(-d/2) min_scale^(-d)``: no component
    can collapse onto a point. Parametrising the precision rather than the
    covariance turns the triangular solve of the likelihood into a product,
    which is what makes full covariance cheap to train.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_targets : int
        Number of targets ``d``.
    n_components : int
        Number of mixture components ``K``.
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers of the trunk (may be empty).
    activation : str
        Key of :data:`ACTIVATIONS`.
    covariance_type : {"full", "diag", "spherical"}
        Structure of each component's covariance.
    min_scale : float
        Floor added to the diagonal of every scale.
    """

    def __init__(
        self,
        n_features: int,
        n_targets: int,
        n_components: int,
        hidden_layer_sizes: tuple[int, ...],
        activation: str,
        covariance_type: str,
        min_scale: float,
    ):
        super().__init__()
        self.n_targets = d = n_targets
        self.n_components = K = n_components
        self.min_scale = min_scale
        # A single target makes "full" and "diag" the same thing; take the
        # cheaper diagonal path.
        self.full = covariance_type == "full" and d > 1
        if covariance_type == "spherical":
            self.n_scale = 1
        else:
            self.n_scale = d
        self.n_offdiag = d * (d - 1) // 2 if self.full else 0

        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            width = size
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, K * (1 + d + self.n_scale + self.n_offdiag))
        self._init_head()
        if self.full:
            rows, cols = torch.tril_indices(d, d, offset=-1)
            self.register_buffer("_offdiag_index", rows * d + cols, persistent=False)

    def _init_head(self) -> None:
        """Start near equal weights and unit scales, with spread-out means.

        Component means start at the quantiles ``(k + 1/2) / K`` of a
        standard normal along each (standardised) target, in an independent
        random order per target: a Latin hypercube. Equal starting means
        leave the mixture on a symmetric plateau (a single Gaussian) that it
        may take hundreds of epochs to leave.
        """
        K, d = self.n_components, self.n_targets
        levels = (torch.arange(K, dtype=torch.float64) + 0.5) / K
        spread = torch.special.ndtri(levels).to(torch.float32)
        with torch.no_grad():
            self.head.weight.mul_(0.1)
            bias = self.head.bias
            bias.zero_()
            means = torch.stack([spread[torch.randperm(K)] for _ in range(d)], dim=1)
            bias[K : K + K * d] = means.reshape(-1)
            start = K + K * d
            scale_bias = _inverse_softplus(max(1.0 - self.min_scale, 1e-3))
            bias[start : start + K * self.n_scale] = scale_bias

    def nll(self, X: torch.Tensor, y: torch.Tensor, sample_weight=None):
        """Mean negative log-likelihood of ``y``, for training.

        The value of ``MixtureNLLLoss()(self(X), y, sample_weight)`` up to
        rounding, from the fused :func:`~sklearn_mdn._loss.head_nll`. The
        activations are carried transposed, one row per unit (``W @ h + b``):
        with the rows of the batch as the matrices' last dimension, the
        products of the forward and backward passes run faster, and the
        head's output comes out with each mixture parameter a contiguous
        block.
        """
        h = X.t()
        layers = iter(self.trunk)
        for linear, activation in zip(layers, layers):
            h = torch.addmm(linear.bias.unsqueeze(1), linear.weight, h)
            h = activation.forward(h)
        head = self.head
        return head_nll(
            torch.addmm(head.bias.unsqueeze(1), head.weight, h),
            y,
            sample_weight,
            n_components=self.n_components,
            n_scale=self.n_scale,
            min_scale=self.min_scale,
            full=self.full,
        )

    def forward(self, X: torch.Tensor):
        h = self.head(self.trunk(X))
        n, K, d = h.shape[0], self.n_components, self.n_targets
        logits, means, raw_scale, offdiag = torch.split(
            h, [K, K * d, K * self.n_scale, K * self.n_offdiag], dim=1
        )
        means = means.reshape(n, K, d)
        diag = F.softplus(raw_scale.reshape(n, K, self.n_scale)) + self.min_scale
        if self.n_scale != d:
            diag = diag.expand(n, K, d)
        if not self.full:
            return logits, means, diag
        offdiag = h.new_zeros(n, K, d * d).index_copy(
            2, self._offdiag_index, offdiag.reshape(n, K, -1)
        )
        return logits, means, diag, offdiag.reshape(n, K, d, d)
