"""The fit's Adam: torch's updates, without importing ``torch._dynamo``."""

import subprocess
import sys

import torch

from sklearn_mdn._nn._adam import Adam
from sklearn_mdn._nn._fused_loss import adam_step, fused_nll
from sklearn_mdn._nn._module import MixtureDensityModule
from sklearn_mdn._utils._compat import TORCH_DYNAMO_WRAPPED_METHODS

# Fits by each path (held-out networks trained stacked, one network stepped by
# skorch, partial_fit), predictions, a pickle and a safe-format round trip;
# sympy: nn.utils.skip_init imports it (see _module._linear).
_NO_DYNAMO = """
import os, pickle, sys, tempfile, warnings
import numpy as np
from sklearn_mdn import MDNRegressor, load_model, save_model
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X = rng.randn(60, 2)
y = X[:, 0] + 0.1 * rng.randn(60)
small = {"hidden_layer_sizes": (4,), "n_components": 2, "random_state": 0}
for early_stopping in (False, True):
    reg = MDNRegressor(max_iter=3, early_stopping=early_stopping, **small).fit(X, y)
reg.predict(X[:5])
reg.predict_dist(X[:5]).log_prob(y[:5])
inc = MDNRegressor(**small).partial_fit(X[:40], y[:40]).partial_fit(X[:40], y[:40])
pickle.loads(pickle.dumps(inc)).partial_fit(X[:40], y[:40]).predict(X[:5])
path = os.path.join(tempfile.mkdtemp(), "model")
save_model(reg, path)
load_model(path).predict(X[:5])
assert "torch._dynamo" not in sys.modules, "torch._dynamo was imported"
assert "sympy" not in sys.modules, "sympy was imported"
"""


def test_fit_predict_and_round_trips_import_neither_dynamo_nor_sympy():
    proc = subprocess.run(
        [sys.executable, "-c", _NO_DYNAMO], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr


def _pair(optimizer_class, **kwargs):
    """Two equal modules: one stepped by torch's Adam, one by ``optimizer_class``."""
    modules = [MixtureDensityModule(3, 1, 2, (5,), "tanh", "diag", 1e-3) for _ in "ab"]
    modules[1].load_state_dict(modules[0].state_dict())
    groups = [
        [{"params": [m.head.weight], "weight_decay": 0.1}, {"params": [m.head.bias]}]
        for m in modules
    ]
    return modules, (
        torch.optim.Adam(groups[0], lr=0.01, **kwargs),
        optimizer_class(groups[1], lr=0.01, **kwargs),
    )


def test_adam_steps_as_torchs_adam_bit_for_bit():
    X, y = torch.randn(7, 3), torch.randn(7, 1)
    for kwargs in ({"fused": True}, {"foreach": False}, {"amsgrad": True}):
        (a, b), (torchs, ours) = _pair(Adam, **kwargs)
        for _ in range(3):
            for module, optimizer in ((a, torchs), (b, ours)):
                optimizer.zero_grad()
                fused_nll(module, X, y).backward()
                optimizer.step()
            for p, q in zip(a.parameters(), b.parameters()):
                assert torch.equal(p, q), kwargs
        # Its state round-trips like torch's.
        ours.load_state_dict(ours.state_dict())
        assert torch.equal(
            ours.state[b.head.weight]["exp_avg_sq"],
            torchs.state[a.head.weight]["exp_avg_sq"],
        )


def test_adam_step_takes_the_kernel_path_for_ours():
    """adam_step steps our Adam (the same step, unwrapped) by the kernel."""
    X, y = torch.randn(7, 3), torch.randn(7, 1)
    (a, b), (torchs, ours) = _pair(Adam, fused=True)
    for i in range(3):
        for module, optimizer in ((a, torchs), (b, ours)):
            optimizer.zero_grad()
            fused_nll(module, X, y).backward()
        torchs.step()
        if not adam_step(ours):
            assert i == 0  # the first step initialises the state
            ours.step()
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)


def test_torchs_adam_is_left_wrapped():
    """Only our subclass is unwrapped: torch.optim.Adam keeps its wrappers."""
    for name in TORCH_DYNAMO_WRAPPED_METHODS:
        assert getattr(Adam, name) is not getattr(torch.optim.Adam, name), name
        assert hasattr(getattr(torch.optim.Adam, name), "__wrapped__"), name
