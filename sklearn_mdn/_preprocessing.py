"""Standardisation of inputs and targets, weighted by the sample weights."""

import numpy as np
import torch


def _weighted_moments(a, sample_weight, *, collapse_constant=False):
    """Column means and standard deviations, weighted, ignoring NaN.

    Columns constant to rounding error get the scale 1 (or their rounding
    scale, if larger), or with ``collapse_constant`` the rounding scale
    itself: predictions of a constant target then stay within rounding of
    the constant.
    """
    w = np.broadcast_to(sample_weight[:, None], a.shape)
    w = np.where(np.isnan(a), 0.0, w)
    total = w.sum(axis=0)
    a0 = np.nan_to_num(a)
    # Divide each column by a power of two at least its largest magnitude
    # (exact), so squares of values near the float64 limit cannot overflow.
    ref = np.ldexp(1.0, np.frexp(np.abs(a0).max(axis=0, initial=0.0))[1])
    a0 = a0 / ref
    mean = (w * a0).sum(axis=0) / total
    var = (w * (a0 - mean) ** 2).sum(axis=0) / total
    mean, scale = mean * ref, np.sqrt(var) * ref
    # Constant is relative to the column's magnitude, so that features and
    # targets in tiny units (1e-20) are standardised, not taken as constant.
    tiny = np.maximum(10 * np.finfo(np.float64).eps * ref, np.finfo(np.float64).tiny)
    constant = scale <= tiny
    # Unit scale at least the rounding scale: a huge constant's rounding
    # residuals are huge in absolute terms.
    floor = tiny if collapse_constant else np.maximum(1.0, tiny)
    scale[constant] = floor[constant]
    return mean, scale


def to_tensor(a, mean, scale, device) -> torch.Tensor:
    """``(a - mean) / scale`` in float64, as a float32 tensor on ``device``."""
    a = (np.asarray(a, dtype=np.float64) - mean) / scale
    return torch.as_tensor(a, dtype=torch.float32).to(device)
