"""Arrays to the engine's tensors and back.

The estimators standardise with numpy (:mod:`sklearn_mdn._estimators._preprocessing`);
here the standardised arrays become float32 tensors on the fit's device, and
tensors that the estimators read (held-out rows, weights) become arrays.
"""

import numpy as np
import torch

from ._training import TensorDataset

# What ``device`` may be besides a string (``MDNRegressor``'s constraint).
DEVICE_TYPE = torch.device


def to_tensor(a, mean, scale, device) -> torch.Tensor:
    """``(a - mean) / scale`` in float64, as a float32 tensor on ``device``."""
    a = (np.asarray(a, dtype=np.float64) - mean) / scale
    return torch.as_tensor(a, dtype=torch.float32).to(device)


def standardised_dataset(X, y2, sample_weight, moments, device) -> TensorDataset:
    """The training tensors of ``X`` and ``y2`` standardised by ``moments``
    (``x_mean, x_scale, y_mean, y_scale``), the weights scaled to a mean of 1."""
    x_mean, x_scale, y_mean, y_scale = moments
    n = len(y2)
    return TensorDataset(
        to_tensor(X, x_mean, x_scale, device),
        to_tensor(y2, y_mean, y_scale, device),
        torch.as_tensor(
            sample_weight * (n / sample_weight.sum()), dtype=torch.float32
        ).to(device),
    )


def to_numpy(tensor) -> np.ndarray | None:
    """``tensor`` as a numpy array on the CPU (None stays None)."""
    return None if tensor is None else tensor.cpu().numpy()
