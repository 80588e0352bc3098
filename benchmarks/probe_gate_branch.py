"""Prototype (not the package's code): mixture weights from a gate branch of
their own, on a branching truth of ``bench_synthetic.py`` (issue #29).

``benchmarks/results/branch_ends.md`` shows the branching truths' misses
near the ends of branches, where the mixture's weights, smooth in the
input, fade a branch out over a band. ReLU units switch faster but blur the
means when the whole trunk uses them (``docs/fit_plan.rst``). Here the
trunk and the means, scales and correlations stay as they are (SiLU), and
the weights' logits come instead from a branch of their own: one hidden
ReLU layer as wide as the trunk's last, reading the trunk's last hidden
layer, then a linear layer to the K logits. The module is patched in this
process only: its head becomes :class:`GatedHead`
(``MixtureDensityModule.__init__``), and ``forward_t``, which reads the
head's weight directly, calls the head instead. A head that is not a plain
``Linear`` makes training take autograd's path (``_nn/_fused_loss.py``'s
``fused_step``, which runs trunk and head by hand, declines it), and
``verbose=1`` makes the fit use skorch's loop rather than the stacked one
(whose backward pass is written for a chain of layers). Without ``--gate``
the same fit runs unpatched, on the same loop: skorch's loop and the
stacked one give the same fits.

Prints one line: the test NLL minus the truth's (noisy twins), the phantom
mass, the share of rows whose count of modes (mass 0.02 or more) is the
truth's, CPU seconds and epochs.

Usage::

    python benchmarks/probe_gate_branch.py TRUTH DRAW SEED [--gate] [param=value ...]
"""

import ast
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))

import bench_synthetic as bs  # noqa: E402

import sklearn_mdn._nn._module as module_mod  # noqa: E402
from sklearn_mdn import MDNRegressor  # noqa: E402


class GatedHead(nn.Module):
    """The module's head, its K logits replaced by a gate branch's: one
    hidden ReLU layer as wide as the trunk's last, then K outputs."""

    def __init__(self, head, n_components, generator):
        super().__init__()
        self.linear, self.n_components = head, n_components
        width = head.in_features
        self.gate = nn.Sequential(
            nn.Linear(width, width), nn.ReLU(), nn.Linear(width, n_components)
        )
        for linear in (self.gate[0], self.gate[2]):
            module_mod._init_linear(linear, generator)
        with torch.no_grad():  # start at equal weights, as the head does
            self.gate[2].weight.mul_(0.1)
            self.gate[2].bias.zero_()

    def forward(self, h):
        out = self.linear(h)
        return torch.cat([self.gate(h), out[:, self.n_components :]], 1)


def patch_gate_branch():
    """Give every ``MixtureDensityModule`` built from now on a gate branch."""
    cls = module_mod.MixtureDensityModule
    base_init = cls.__init__

    def __init__(self, *args, **kwargs):
        base_init(self, *args, **kwargs)
        generator = torch.Generator().manual_seed(int(kwargs.get("seed", 0)) + 7)
        self.head = GatedHead(self.head, self.n_components, generator)

    def forward_t(self, X):  # the package's reads the head's weight directly
        return self.head(self.trunk(X)).t().contiguous()

    cls.__init__, cls.forward_t = __init__, forward_t


def main(argv):
    name, draw, seed = argv[0], int(argv[1]), int(argv[2])
    gate = "--gate" in argv
    params = {
        k: ast.literal_eval(v)
        for k, v in (a.split("=", 1) for a in argv[3:] if "=" in a)
    }
    if gate:
        patch_gate_branch()
    torch.set_num_threads(1)
    truth = bs.TRUTHS[name]
    (X, y), (X_test, y_test) = bs.truth_data(truth, draw)
    start = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):  # verbose=1: skorch's loop
        model = MDNRegressor(random_state=seed, verbose=1, **params).fit(X, y)
    cpu = time.process_time() - start
    dist = model.predict_dist(X_test)
    line = f"{name} draw {draw} seed {seed} gate {gate} {params or ''}"
    if getattr(truth, "has_density", False):
        gap = np.mean(truth.logpdf(X_test, y_test)) - np.mean(dist.log_prob(y_test))
        line += f" gap {gap:.4f}"
    else:
        line += f" nll {-np.mean(dist.log_prob(y_test)):.3f}"
    phantom = bs.phantom_mass(truth, dist, X_test).mean()
    count = bs.mode_measures(truth, dist, X_test)["modes_count_ok"]["0.02"]
    line += (
        f" phantom {phantom:.4f} count {count:.3f} cpu {cpu:.0f} epochs {model.n_iter_}"
    )
    print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
