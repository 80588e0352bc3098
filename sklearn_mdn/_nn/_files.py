"""The engine's side of model files: networks as plain values and back.

:mod:`sklearn_mdn._io` decides what a file may hold and checks it; here a
network's configuration and weights become numbers and numpy arrays, and a
net for prediction is rebuilt from them on a device this machine has.
"""

import warnings

import numpy as np
import torch
from skorch.exceptions import DeviceWarning
from skorch.history import History

from .._utils._warnings import find_stack_level
from ._adam import Adam
from ._module import ACTIVATIONS
from ._training import MixtureNet


def module_config(module) -> dict:
    """The arguments of :class:`MixtureDensityModule` that built ``module``."""
    linears = [*module.trunk[::2], module.head]
    activation = "identity"
    if len(module.trunk):
        activation = next(
            name for name, cls in ACTIVATIONS.items() if type(module.trunk[1]) is cls
        )
    if module.full:
        covariance_type = "full"
    elif module.n_scale < module.n_targets:
        covariance_type = "spherical"
    else:
        covariance_type = "diag"
    return {
        "n_features": linears[0].in_features,
        "n_targets": module.n_targets,
        "n_components": module.n_components,
        "hidden_layer_sizes": [layer.out_features for layer in linears[:-1]],
        "activation": activation,
        "covariance_type": covariance_type,
        "min_scale": float(module.min_scale),
        # Only with a gate: files without one stay as they were.
        **({} if module.gate is None else {"gate_size": module.gate[0].out_features}),
    }


def module_weights(module) -> dict:
    """``module``'s weights by name, as numpy arrays."""
    return {
        key: tensor.detach().cpu().numpy()
        for key, tensor in module.state_dict().items()
    }


def load_weights(module, arrays) -> None:
    """Load the numpy ``arrays`` of :func:`module_weights` into ``module``;
    RuntimeError where they do not fit it."""
    state = {
        key: torch.from_numpy(np.ascontiguousarray(array))
        for key, array in arrays.items()
    }
    module.load_state_dict(state, strict=True)


def torch_device(name: str) -> torch.device:
    """The torch device named ``name``."""
    return torch.device(name)


def usable_device(name: str) -> torch.device:
    """The device ``name``, or the CPU (with a ``DeviceWarning``) where this
    machine does not have it."""
    device = torch.device(name)
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available()
        and (device.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        warnings.warn(
            f"The model's network was fitted on {device}, which this machine "
            "does not have; it is loaded on the CPU.",
            DeviceWarning,
            stacklevel=find_stack_level(),
        )
        device = torch.device("cpu")
    return device


def prediction_net(module, device, history) -> MixtureNet:
    """An initialised net of ``module`` on ``device``, with the training
    ``history`` (a list of epochs' dicts)."""
    # A loaded net never trains; its optimizer is the fit's Adam rather than
    # skorch's default SGD, whose construction imports torch._dynamo.
    net = MixtureNet(module, device=device, optimizer=Adam).initialize()
    net.history = History(history)
    return net
