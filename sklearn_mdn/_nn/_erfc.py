"""torch's vectorised ``erfc`` on numpy arrays, for the quantile solver.

The solver of :mod:`sklearn_mdn.distribution._solvers` is numpy, but its
normal cdf is torch's ``erfc``: several times faster than
``scipy.special.ndtr``, and its last bits are what the pinned fits' quantiles
were recorded with (``tests/test_imports.py`` says by how much scipy's
differs). The solver imports this module on first use, so that importing
``sklearn_mdn.distribution`` does not load torch.
"""

import numpy as np
import torch


def erfc(u: np.ndarray) -> np.ndarray:
    """``erfc(u)`` of a float64 array, by torch's kernel."""
    return torch.erfc(torch.from_numpy(u)).numpy()
