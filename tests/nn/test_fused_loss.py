"""The fused training loss (_training.head_nll) against autograd: the contract
of the training fast path."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_mdn import MDNRegressor
from sklearn_mdn._nn._fused_loss import (
    adam_step,
    fused_nll,
    fused_step,
    head_nll,
    manual_step_supported,
)
from sklearn_mdn._nn._loss import MixtureNLLLoss
from sklearn_mdn._nn._module import MixtureDensityModule


def _module(d, covariance_type, K, seed=0, gate_size=0):
    torch.manual_seed(seed)
    module = MixtureDensityModule(
        4, d, K, (6,), "tanh", covariance_type, 1e-2, gate_size=gate_size
    )
    module = module.double()
    with torch.no_grad():  # away from the near-uniform initialisation
        for p in module.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return module


@pytest.mark.parametrize("gate_size", [0, 5])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_fused_loss_and_gradient_match_autograd(
    d, covariance_type, weighted, gate_size
):
    # With a gate, forward_t (training) and forward (prediction) assemble
    # the same head output from the gate's logits and the head's units.
    module = _module(d, covariance_type, K=3, gate_size=gate_size)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(9, 4, generator=g, dtype=torch.float64)
    y = torch.randn(9, d, generator=g, dtype=torch.float64)
    w = torch.rand(9, generator=g, dtype=torch.float64) if weighted else None
    params = list(module.parameters())

    expected = MixtureNLLLoss()(module(X), y, w)
    expected_grad = torch.autograd.grad(expected, params)
    got = fused_nll(module, X, y, w)
    got_grad = torch.autograd.grad(got, params)

    assert got.item() == pytest.approx(expected.item(), rel=1e-12)
    for a, b in zip(got_grad, expected_grad):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_fused_gradient_passes_gradcheck(covariance_type):
    module = _module(3, covariance_type, K=2)
    g = torch.Generator().manual_seed(2)
    h_t = torch.randn(
        module.head.out_features, 5, generator=g, dtype=torch.float64
    ).requires_grad_()
    y = torch.randn(5, 3, generator=g, dtype=torch.float64)
    w = torch.rand(5, generator=g, dtype=torch.float64)

    def loss(h_t):
        return head_nll(module, h_t, y, w)

    assert torch.autograd.gradcheck(loss, (h_t,))


def test_fused_loss_without_grad_gives_the_value_only():
    module = _module(2, "full", K=2)
    X, y = torch.randn(4, 4, dtype=torch.float64), torch.randn(4, 2).double()
    with torch.no_grad():
        loss = fused_nll(module, X, y)
    assert not loss.requires_grad
    assert loss.item() == pytest.approx(MixtureNLLLoss()(module(X), y).item())


def test_training_history_and_reproducibility():
    """Batch losses are recorded per batch; same seed, same fit, global RNG kept."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = np.c_[X[:, 0], X[:, 1] * X[:, 2]] + 0.1 * rng.normal(size=(300, 2))
    state = torch.get_rng_state()
    # Explicit settings: the test must not follow the defaults' evolution.
    reg = MDNRegressor(
        hidden_layer_sizes=(16,),
        batch_size=50,
        max_iter=4,
        validation_fraction=0.1,
        random_state=3,
    )
    fits = [clone(reg).fit(X, y) for _ in range(2)]
    assert torch.equal(state, torch.get_rng_state())
    first, second = (fit.net_.module_.parameters() for fit in fits)
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    history = fits[0].net_.history
    for epoch in history:
        train = [b for b in epoch["batches"] if "train_loss" in b]
        assert len(train) == epoch["train_batch_count"]
        sizes = [b["train_batch_size"] for b in train]
        losses = [b["train_loss"] for b in train]
        assert sum(sizes) == 270  # 10% held out for early stopping
        assert np.all(np.isfinite(losses))
        assert epoch["train_loss"] == pytest.approx(np.average(losses, weights=sizes))


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "silu", "identity"])
@pytest.mark.parametrize("d, covariance_type", [(1, "full"), (3, "full"), (2, "diag")])
@pytest.mark.parametrize("weighted", [False, True])
def test_step_by_hand_matches_autograd_bit_for_bit(
    activation, d, covariance_type, weighted
):
    # float32, as in training: the same kernels in the same order.
    module = MixtureDensityModule(5, d, 3, (8, 7), activation, covariance_type, 1e-3)
    assert manual_step_supported(module)
    g = torch.Generator().manual_seed(3)
    X = torch.randn(11, 5, generator=g)
    y = torch.randn(11, d, generator=g)
    w = torch.rand(11, generator=g) if weighted else None
    expected = fused_nll(module, X, y, w)
    expected.backward()
    expected_grad = [p.grad.clone() for p in module.parameters()]
    for p in module.parameters():
        p.grad = None
    for _ in range(2):  # .grad allocated, then overwritten in place
        got = fused_step(module, X, y, w)
        assert not got.requires_grad
        assert got.item() == expected.item()
        for p, want in zip(module.parameters(), expected_grad):
            assert torch.equal(p.grad, want)


def test_step_by_hand_is_not_taken_for_other_activations():
    module = MixtureDensityModule(5, 1, 3, (8,), "gelu", "full", 1e-3)
    assert not manual_step_supported(module)


def test_gate_branch_outputs_the_logits_and_trains_by_autograd():
    module = MixtureDensityModule(5, 2, 3, (8, 7), "silu", "full", 1e-3, gate_size=4)
    assert not manual_step_supported(module)
    hidden, relu, last = module.gate
    assert (hidden.in_features, hidden.out_features, last.out_features) == (7, 4, 3)
    # The head outputs means, scales and correlations only: 3 * (2 + 2 + 1).
    assert module.head.out_features == 15
    X = torch.randn(6, 5)
    logits = last(relu(hidden(module.trunk(X))))
    torch.testing.assert_close(module(X).logits, logits)
    # A module pickled before the gate existed loads without one.
    old = MixtureDensityModule(5, 2, 3, (8,), "silu", "full", 1e-3)
    state = old.__getstate__()
    del state["gate"]
    loaded = MixtureDensityModule.__new__(MixtureDensityModule)
    loaded.__setstate__(state)
    assert loaded.gate is None
    torch.testing.assert_close(loaded(X).logits, old(X).logits)
    # Without a hidden layer there is nothing for a gate to read: no gate.
    plain = MixtureDensityModule(5, 2, 3, (), "silu", "full", 1e-3, gate_size=4)
    assert plain.gate is None and plain.head.out_features == 18


def test_step_by_hand_follows_changes_to_the_layers():
    """The plan kept per module is renewed when a layer is replaced, and a
    forward hook turns the step by hand off while it is registered."""
    module = MixtureDensityModule(5, 1, 3, (8, 7), "silu", "full", 1e-3)
    assert manual_step_supported(module)
    module.trunk[1] = torch.nn.GELU()
    assert not manual_step_supported(module)
    module.trunk[1] = torch.nn.ReLU()
    assert manual_step_supported(module)
    handle = module.trunk[2].register_forward_hook(lambda *args: None)
    assert not manual_step_supported(module)
    handle.remove()
    assert manual_step_supported(module)


def _adam_pair(**kwargs):
    modules = [MixtureDensityModule(5, 2, 3, (8,), "relu", "full", 1e-3) for _ in "ab"]
    opts = [
        torch.optim.Adam(
            [
                {"params": [m.head.weight, m.trunk[0].weight], "weight_decay": 0.1},
                {"params": [m.head.bias, m.trunk[0].bias]},
            ],
            lr=0.01,
            **kwargs,
        )
        for m in modules
    ]
    return modules, opts


def test_adam_step_is_adams_fused_step_bit_for_bit():
    (a, b), (opt_a, opt_b) = _adam_pair(fused=True)
    X, y = torch.randn(9, 5), torch.randn(9, 2)
    for i in range(4):
        for m, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            fused_nll(m, X, y).backward()
        opt_a.step()
        # The first step initialises the state: Adam's own step is taken.
        assert adam_step(opt_b) == (i > 0)
        if i == 0:
            opt_b.step()
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)


def test_adam_step_leaves_other_optimizers_alone():
    (m, _), (opt, _) = _adam_pair(fused=False)
    fused_nll(m, torch.randn(4, 5), torch.randn(4, 2)).backward()
    opt.step()
    assert not adam_step(opt)
    sgd = torch.optim.SGD(m.parameters(), lr=0.1)
    assert not adam_step(sgd)
