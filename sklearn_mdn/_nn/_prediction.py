"""The prediction path of a fitted MDNRegressor: inputs to mixtures."""

import numpy as np
import torch

from ._data import CHUNK_ROWS, encode_inputs, input_encoding, to_tensor
from ._module import MixtureParams, to_distribution
from ._threads import forward_work, resolve_threads, torch_threads
from ._trees import blend, predict_trees, tree_inputs

# Rows the network predicts are padded with zero rows to a multiple of this:
# float32 products of fewer than 4 rows take other kernels, and the CPU
# kernels of smooth activations (SiLU, tanh, ...) compute a tensor's last few
# elements in a scalar loop that rounds differently from their vector loop.
# With a multiple of 64 rows, a row's prediction does not depend on the rows
# predicted with it.
ROW_MULTIPLE = 64

# Elements of the largest activation of a prediction chunk (float32, 4 MiB).
# Larger chunks gain nothing, and with glibc's malloc they cost: freeing
# activations much larger than this returned their memory to the system
# after every chunk, to be page-faulted back by the next (14,000 to 25,000
# faults per 100,000-row predict with chunks of 16,384 rows of the default
# 100-unit trunk, about a tenth of its time; none with 12,288 rows or fewer).
_ACTIVATION_ELEMENTS = 2**20

_FAR_OFF = (
    "The network's output is not finite or degenerate for some rows of X: "
    "their values lie too far outside the range of the training data."
)


def forward(module, inputs: torch.Tensor, n_threads="auto") -> MixtureParams:
    """The module's outputs for standardised inputs, as float64 arrays.

    In chunks of at most ``CHUNK_ROWS`` rows, on the torch threads that
    ``n_threads`` asks for, in eval and inference mode.
    """
    chunks = [_forward_chunk(module, x, n_threads) for x in inputs.split(CHUNK_ROWS)]
    if len(chunks) == 1:
        return chunks[0]
    return MixtureParams(
        *(None if p[0] is None else np.concatenate(p) for p in zip(*chunks))
    )


def _forward_chunk(module, inputs, n_threads) -> MixtureParams:
    module.eval()
    n_threads = resolve_threads(n_threads, len(inputs) * forward_work(module))
    # Inference mode only around the forward pass: held across a yield of the
    # caller, it would stay on in the caller's thread, and disable autograd
    # there, whenever the caller stops early (an exception).
    with torch_threads(n_threads), torch.inference_mode():
        n_pad = -len(inputs) % ROW_MULTIPLE
        params = module(torch.nn.functional.pad(inputs, (0, 0, 0, n_pad)))
        return MixtureParams(
            *(
                None
                if p is None
                else p[: len(inputs)].detach().cpu().numpy().astype(np.float64)
                for p in params
            )
        )


def all_finite(params: MixtureParams) -> bool:
    return all(p is None or np.isfinite(p).all() for p in params)


def chunk_rows_for(module, limit: int) -> int:
    """Rows per prediction chunk: at most ``limit``, and few enough that the
    widest layer's activations hold about ``_ACTIVATION_ELEMENTS`` values."""
    widest = max(
        (m.out_features for m in module.modules() if isinstance(m, torch.nn.Linear)),
        default=1,
    )
    rows = _ACTIVATION_ELEMENTS // widest // ROW_MULTIPLE * ROW_MULTIPLE
    return min(limit, max(ROW_MULTIPLE, rows))


def iter_mixtures(estimator, X, event_shape, chunk_rows):
    """Yield the mixture (target units) of each chunk of validated rows ``X``.

    Chunks are of equal size (at most ``chunk_rows``, and fewer for wide
    networks, :func:`chunk_rows_for`): no small last chunk, since float32
    matrix products of a few rows take other kernels, whose results differ
    from those of many rows in the last bits.
    """
    # The net's device, not estimator.device: a net fitted on CUDA and loaded
    # on a machine without it has been moved to the CPU.
    device = estimator.net_.device
    module = estimator.net_.module_
    n_threads = getattr(estimator, "n_threads", "auto")
    chunk_rows = chunk_rows_for(module, chunk_rows)
    encoding = input_encoding(estimator)
    for chunk in np.array_split(X, -(-len(X) // chunk_rows)):
        inputs = to_tensor(chunk, estimator.x_mean_, estimator.x_scale_, device)
        if encoding is not None:
            if not bool(torch.isfinite(inputs).all()):
                raise ValueError(_FAR_OFF)
            inputs = encode_inputs(inputs, estimator.support_, encoding)
        params = _forward_chunk(module, inputs, n_threads)
        if not all_finite(params):
            raise ValueError(_FAR_OFF)
        try:
            dist = to_distribution(params, event_shape, estimator.spread_factor_)
            dist = _blended(estimator, chunk, dist)
            dist = dist.affine(estimator.y_mean_, estimator.y_scale_)
        except ValueError as exc:  # np.linalg.LinAlgError included
            # Finite outputs so extreme that a factor or a scale under- or
            # overflows.
            raise ValueError(_FAR_OFF) from exc
        yield dist


def _blended(estimator, X, dist):
    """``dist`` (standardised units) moved toward the trees of ``tree_blend``
    at the validated rows ``X``, where the fit kept a share."""
    share = getattr(estimator, "tree_blend_", 0.0)  # fitted before it existed
    if not share:
        return dist
    inputs = tree_inputs(estimator, X)
    return blend(dist, predict_trees(estimator.blend_trees_, inputs), share)
