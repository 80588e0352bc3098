"""Vectorised Gaussian-mixture predictive distributions, one mixture per row.

Plain numpy and scipy: importing this module does not import torch.
"""

from ._mixture import NormalMixture
from ._multimodal import HDRResult, ModesResult

__all__ = ["HDRResult", "ModesResult", "NormalMixture"]


def __dir__():
    # dir() and tab completion show the public names only, as scikit-learn's
    # modules do.
    return list(__all__)
