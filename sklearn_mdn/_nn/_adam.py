"""torch's Adam without the wrappers that import ``torch._dynamo``.

torch wraps ``Optimizer.add_param_group``, ``zero_grad``, ``state_dict`` and
``load_state_dict`` in ``torch._disable_dynamo``, and ``Adam.step`` in a
grad-mode wrapper; the first call of each imports ``torch._dynamo`` (one to
four seconds of the first fit in a process), which matters only under
``torch.compile``, which the fit never uses. :class:`Adam` runs the same
methods unwrapped, on its own class: ``torch.optim.Adam`` is left as it is.
"""

import torch

from .._utils._compat import undecorated

_STEP = undecorated(torch.optim.Adam, "step")


class Adam(torch.optim.Adam):
    """``torch.optim.Adam``, computing the same updates, that never imports
    ``torch._dynamo`` (the fit's optimizer)."""

    add_param_group = undecorated(torch.optim.Adam, "add_param_group")
    zero_grad = undecorated(torch.optim.Adam, "zero_grad")
    state_dict = undecorated(torch.optim.Adam, "state_dict")
    load_state_dict = undecorated(torch.optim.Adam, "load_state_dict")

    def step(self, closure=None):
        """One Adam step in grad mode ``differentiable``, as torch's wrapper
        runs it (less its graph breaks, which only ``torch.compile`` sees)."""
        enabled = torch.is_grad_enabled()
        try:
            torch.set_grad_enabled(self.defaults["differentiable"])
            return _STEP(self, closure)
        finally:
            torch.set_grad_enabled(enabled)
