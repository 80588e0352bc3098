"""The torch module, the mixture parameters it outputs, and their meaning.

This is the one file that knows how the network encodes a Gaussian mixture:
the layout of the head's output (:meth:`MixtureDensityModule.split_head`),
the parameters it stands for (:class:`MixtureParams`) and their conversion
to a :class:`~sklearn_mdn.NormalMixture` (:func:`to_distribution`).
"""

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..distribution._mixture import NormalMixture

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


def _linear(n_in: int, n_out: int) -> nn.Linear:
    """An ``nn.Linear`` with uninitialised weights (no random draw).

    ``nn.utils.skip_init`` does the same, but its ``to_empty`` runs torch's
    Python ``empty_like``, whose first call imports sympy (0.3 s)."""
    layer = nn.Linear(n_in, n_out, device="meta")
    layer.weight = nn.Parameter(torch.empty(n_out, n_in))
    layer.bias = nn.Parameter(torch.empty(n_out))
    return layer


def _init_linear(layer: nn.Linear, generator: torch.Generator) -> None:
    """PyTorch's default initialisation of ``nn.Linear``, from ``generator``."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bound = 1.0 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0.0
    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def _head_layout(n_targets: int, covariance_type: str) -> tuple[bool, int, int]:
    """Whether a component's covariance is full, and its numbers of scales
    and off-diagonal entries. A single target makes "full" and "diag" the
    same thing: the cheaper diagonal path is taken."""
    full = covariance_type == "full" and n_targets > 1
    n_scale = 1 if covariance_type == "spherical" else n_targets
    n_offdiag = n_targets * (n_targets - 1) // 2 if full else 0
    return full, n_scale, n_offdiag


def row_work(
    n_features: int,
    n_targets: int,
    n_components: int,
    hidden_layer_sizes: tuple[int, ...],
    covariance_type: str,
    gate_size: int = 0,
) -> int:
    """Multiply-adds of one row's forward pass through the module of these
    parameters (:func:`~sklearn_mdn._nn._threads.forward_work` of it)."""
    _, n_scale, n_offdiag = _head_layout(n_targets, covariance_type)
    widths = [n_features, *hidden_layer_sizes]
    head = n_components * (1 + n_targets + n_scale + n_offdiag)
    work = sum(a * b for a, b in zip(widths, widths[1:])) + widths[-1] * head
    if gate_size and hidden_layer_sizes:
        work += gate_size * (widths[-1] + n_components)
    return work


class MixtureParams(NamedTuple):
    """The Gaussian mixture of each row, as the module outputs it.

    Each component's precision matrix is ``P @ P.T`` with the lower-triangular
    factor ``P = diag(1 / scale) + offdiag``. With a diagonal covariance
    (``offdiag`` None), ``scale`` is the standard deviation of each target.
    In every case the determinant of the covariance is ``prod(scale) ** 2``,
    so a floor on ``scale`` bounds every component's density: no component
    can collapse onto a point. Parametrising the precision rather than the
    covariance turns the triangular solve of the likelihood into a product,
    which is what makes full covariance cheap to train.

    The fields are torch tensors or numpy arrays.
    """

    #: Unnormalised log mixture weights, shape ``(n, K)``.
    logits: object
    #: Component means, shape ``(n, K, d)``.
    means: object
    #: Diagonal of the inverse precision factor, shape ``(n, K, d)``, positive.
    scale: object
    #: Strictly lower-triangular part of the precision factor, shape
    #: ``(n, K, d, d)``, or None for a diagonal covariance.
    offdiag: object = None


class MixtureDensityModule(nn.Module):
    """MLP trunk followed by a head that parametrises a Gaussian mixture.

    ``forward`` returns the :class:`MixtureParams` of each row, with
    ``scale = softplus(raw) + min_scale`` and ``offdiag`` set for ``"full"``
    covariance with more than one target.

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
    gate_size : int, default=0
        With a positive ``gate_size`` and at least one hidden layer, the
        mixture weights' logits come from a gate branch of their own
        (``gate``): a hidden ReLU layer of ``gate_size`` units reading the
        trunk's last hidden layer, then a linear layer to the ``K`` logits;
        the head then outputs the other parameters only. With 0 (or no
        hidden layer) the head outputs the logits too.
    seed : int, default=0
        Seed of the private generator that draws the initial weights. The
        global torch generator is neither used nor changed, so that modules
        built in concurrent threads get the same weights for the same seed.
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
        gate_size: int = 0,
        seed: int = 0,
    ):
        super().__init__()
        self.n_targets = d = n_targets
        self.n_components = K = n_components
        self.min_scale = min_scale
        self.full, self.n_scale, self.n_offdiag = _head_layout(d, covariance_type)

        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_layer_sizes:
            layers += [_linear(width, size), ACTIVATIONS[activation]()]
            width = size
        self.trunk = nn.Sequential(*layers)
        gated = bool(gate_size and hidden_layer_sizes)
        n_head = K * (d + self.n_scale + self.n_offdiag) + (0 if gated else K)
        self.head = _linear(width, n_head)
        self.gate = None
        if gated:
            self.gate = nn.Sequential(
                _linear(width, gate_size), nn.ReLU(), _linear(gate_size, K)
            )
        generator = torch.Generator().manual_seed(int(seed))
        for layer in linears(self):
            _init_linear(layer, generator)
        self._init_head(generator)
        if self.full:
            rows, cols = torch.tril_indices(d, d, offset=-1)
            self.register_buffer("_offdiag_index", rows * d + cols, persistent=False)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "gate" not in self._modules and "gate" not in vars(self):
            self.gate = None  # pickled before the gate existed

    def _init_head(self, generator: torch.Generator) -> None:
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
        # The head's first units are the logits, unless a gate outputs them.
        first = K if self.gate is None else 0
        with torch.no_grad():
            lasts = [self.head] if self.gate is None else [self.head, self.gate[2]]
            for last in lasts:
                last.weight.mul_(0.1)
                last.bias.zero_()
            bias = self.head.bias
            means = torch.stack(
                [spread[torch.randperm(K, generator=generator)] for _ in range(d)],
                dim=1,
            )
            bias[first : first + K * d] = means.reshape(-1)
            start = first + K * d
            scale_bias = _inverse_softplus(max(1.0 - self.min_scale, 1e-3))
            bias[start : start + K * self.n_scale] = scale_bias

    def forward_t(self, X: torch.Tensor) -> torch.Tensor:
        """The head's output for the rows of ``X``, transposed, for training.

        The activations are carried transposed, one row per unit
        (``W @ h + b``): with the rows of the batch as the matrices' last
        dimension, the products of the forward and backward passes run
        faster, and each mixture parameter comes out a contiguous block of
        rows (see :meth:`split_head`).
        """
        h = X.t()
        layers = iter(self.trunk)
        for linear, activation in zip(layers, layers):
            h = torch.addmm(linear.bias.unsqueeze(1), linear.weight, h)
            h = activation.forward(h)
        head = self.head
        out = torch.addmm(head.bias.unsqueeze(1), head.weight, h)
        if self.gate is None:
            return out
        hidden, _, last = self.gate
        g = torch.relu(torch.addmm(hidden.bias.unsqueeze(1), hidden.weight, h))
        logits = torch.addmm(last.bias.unsqueeze(1), last.weight, g)
        return torch.cat([logits, out])

    def split_head(self, h: torch.Tensor, dim: int = 1):
        """The blocks ``(logits, means, raw_scale, offdiag)`` of the head's output.

        ``h`` is the head's output with its units along ``dim`` (1 for
        :meth:`forward`'s rows-first layout, 0 for :meth:`forward_t`'s);
        ``offdiag`` is an empty block without full covariance. The blocks
        hold ``K``, ``K * d``, ``K * n_scale`` and ``K * n_offdiag`` units, in
        component-major order.
        """
        K, d = self.n_components, self.n_targets
        sizes = [K, K * d, K * self.n_scale, K * self.n_offdiag]
        return torch.split(h, sizes, dim=dim)

    def head_output(self, X: torch.Tensor) -> torch.Tensor:
        """The output units of :meth:`split_head` for the rows of ``X``
        (rows first): the head's, after the gate's logits with a gate."""
        h = self.trunk(X)
        if self.gate is None:
            return self.head(h)
        return torch.cat([self.gate(h), self.head(h)], 1)

    def forward(self, X: torch.Tensor) -> MixtureParams:
        h = self.head_output(X)
        n, K, d = h.shape[0], self.n_components, self.n_targets
        logits, means, raw_scale, offdiag = self.split_head(h)
        means = means.reshape(n, K, d)
        diag = F.softplus(raw_scale.reshape(n, K, self.n_scale)) + self.min_scale
        if self.n_scale != d:
            diag = diag.expand(n, K, d)
        if not self.full:
            return MixtureParams(logits, means, diag)
        offdiag = h.new_zeros(n, K, d * d).index_copy(
            2, self._offdiag_index, offdiag.reshape(n, K, -1)
        )
        return MixtureParams(logits, means, diag, offdiag.reshape(n, K, d, d))


class StackedMixture(nn.Module):
    """The equal-weight mixture of several trained modules' mixtures.

    ``forward`` returns the :class:`MixtureParams` of all ``M * K``
    components, each module's mixture weights divided by ``M`` (its logits
    normalised by ``log_softmax``).

    Parameters
    ----------
    members : list of nn.Module
        Trained modules with one target layout (``n_targets``).
    """

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.n_targets = members[0].n_targets
        self.n_components = sum(m.n_components for m in members)

    def forward(self, X: torch.Tensor) -> MixtureParams:
        parts = [member(X) for member in self.members]
        return MixtureParams(
            torch.cat([F.log_softmax(p.logits, dim=1) for p in parts], 1),
            *(
                None if field[0] is None else torch.cat(field, 1)
                for field in list(zip(*parts))[1:]
            ),
        )


def to_distribution(
    params: MixtureParams, event_shape: tuple, spread_factor: float = 1.0
) -> NormalMixture:
    """The :class:`NormalMixture` of float64 numpy :class:`MixtureParams`.

    ``spread_factor`` multiplies the scale of every component.
    """
    logits = params.logits - params.logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=1, keepdims=True)
    scale = params.scale
    eye = np.eye(scale.shape[-1])
    if params.offdiag is None:
        scale_tril = scale[..., :, None] * eye
    else:
        # Precision factor P = diag(1 / scale) + offdiag; covariance (P P^T)^-1.
        inv_factor = np.linalg.inv(params.offdiag + (1.0 / scale)[..., :, None] * eye)
        # Covariance P^-T P^-1 = R^T R with P^-1 = Q R: R^T is its Cholesky
        # factor (up to signs), without the Cholesky factorisation that fails
        # when rounding makes an ill-conditioned covariance indefinite.
        r = np.linalg.qr(inv_factor, mode="r")
        sign = np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
        scale_tril = np.swapaxes(r * sign[..., :, None], -1, -2)
    return NormalMixture(
        weights, params.means, spread_factor * scale_tril, event_shape=event_shape
    )


def linears(module) -> tuple:
    """The linear layers of a :class:`MixtureDensityModule`: the trunk's in
    order, the head, then the gate's (hidden, logits), if it has a gate."""
    gate = () if module.gate is None else module.gate[::2]
    return (*module.trunk[::2], module.head, *gate)


def first_layer(module) -> torch.nn.Linear:
    """The layer of ``module`` that reads the input features."""
    return module.trunk[0] if len(module.trunk) else module.head


def input_weights(module) -> tuple:
    """The weights that read the input features: of ``module``'s first
    layer, or of each member's of a :class:`StackedMixture` (whose members
    share one architecture, so one input mask fits them all)."""
    members = getattr(module, "members", (module,))
    return tuple(first_layer(member).weight for member in members)


def shrink_inputs(module, threshold: float) -> None:
    """Soft-threshold the first layer's weights of ``module`` in place.

    Each weight moves ``threshold`` towards zero and stops there: the
    proximal step of ``threshold * ||W||_1``, which sets the weights of
    features the likelihood does not keep pushing away from zero to exactly
    zero.
    """
    with torch.no_grad():
        for weight in input_weights(module):
            weight.copy_(torch.nn.functional.softshrink(weight, threshold))
