"""The private scikit-learn, skorch and torch names sklearn-mdn relies on."""

import ast
import pathlib

import numpy as np
import pytest
import sklearn
import skorch
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import FunctionTransformer
from skorch import NeuralNet

from sklearn_mdn._utils import _compat

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "sklearn_mdn"
# The private attributes of skorch and torch objects that _compat reads.
PRIVATE_ATTRIBUTES = {
    "_get_param_names": "sklearn",
    "_training_dim": "sklearn",
    "_sklearn_output_config": "sklearn",
    "_predictors": "sklearn",
    "_baseline_prediction": "sklearn",
    "_optimizers": "skorch",
    "_optimizer_step_pre_hooks": "torch",
    "_optimizer_step_post_hooks": "torch",
    "_opt_called": "torch",
    "_wrapped_by_lr_sched": "torch",
    "_forward_hooks": "torch",
}


def test_sklearn_private_names_exist():
    """The private scikit-learn names, and the private fitted attributes that
    the safe model format restores, are still there."""
    for name in ("HasMethods", "Interval", "StrOptions", "_BaseScorer"):
        assert isinstance(getattr(_compat, name), type), name
    assert callable(_compat._fit_context)
    assert _compat._check_sample_weight(None, np.ones((3, 1))).tolist() == [1.0] * 3
    X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)
    ttr = TransformedTargetRegressor(func=np.log1p, inverse_func=np.expm1)
    transformer = FunctionTransformer().set_output(transform="default")
    fitted = {
        "TransformedTargetRegressor": ttr.fit(X, y),
        "FunctionTransformer": transformer.fit(X),
    }
    assert set(fitted) == set(_compat.SKLEARN_PRIVATE_STATE)
    for name, names in _compat.SKLEARN_PRIVATE_STATE.items():
        missing = names - set(vars(fitted[name]))
        assert not missing, f"scikit-learn {sklearn.__version__}: {name} {missing}"


def test_skorch_private_methods_exist():
    """The NeuralNet methods the training fast path calls are still there."""
    for name in _compat.SKORCH_PRIVATE_METHODS:
        assert callable(getattr(NeuralNet, name, None)), (
            f"skorch {skorch.__version__} has no NeuralNet.{name}"
        )


def test_skorch_lists_its_optimizers():
    net = NeuralNet(
        torch.nn.Linear,
        module__in_features=2,
        module__out_features=1,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
    ).initialize()
    assert _compat.optimizers_of(net) == [net.optimizer_]


def test_torch_private_functions_exist():
    names = _compat.torch_private()
    for name, value in vars(names).items():
        assert value is not None, f"torch {torch.__version__}: {name}"
    assert isinstance(names.global_optimizer_pre_hooks, dict)
    # The kernels compute what the public functions do.
    x = torch.linspace(-3, 3, 7)
    grad = torch.ones(7)
    out = torch.empty(7)
    assert torch.equal(names.silu_out(x, out=out), torch.nn.functional.silu(x))
    pre = x.clone().requires_grad_()
    torch.nn.functional.silu(pre).backward(grad)
    assert torch.equal(names.silu_backward(grad, x, grad_input=out), pre.grad)


def test_torch_dynamo_wrapped_methods_unwrap():
    """Each optimizer method that _nn/_adam.py unwraps is there, and unwraps
    to the function of its name."""
    for name in _compat.TORCH_DYNAMO_WRAPPED_METHODS:
        function = _compat.undecorated(torch.optim.Adam, name)
        assert callable(function), f"torch {torch.__version__}: Adam.{name}"
        assert function.__name__ == name
        assert not hasattr(function, "__wrapped__")


def test_torch_private_attributes_exist():
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(layer.parameters())
    assert not _compat.optimizer_has_hooks(optimizer)
    handle = optimizer.register_step_pre_hook(lambda *args: None)
    assert _compat.optimizer_has_hooks(optimizer)
    handle.remove()
    assert not _compat.optimizer_has_hooks(optimizer)
    assert not _compat.has_forward_hooks(layer)
    layer.register_forward_hook(lambda *args: None)
    assert _compat.has_forward_hooks(layer)
    # A scheduler wraps the optimizer's step, and the wrapper marks the
    # optimizer as stepped: the attribute mark_stepped sets.
    assert not hasattr(optimizer, "_opt_called")
    torch.optim.lr_scheduler.StepLR(optimizer, 1)
    assert _compat.wrapped_by_lr_scheduler(vars(optimizer)["step"])
    layer(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    assert optimizer._opt_called is True


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def _private_uses(path: pathlib.Path) -> list:
    """``(library, use)`` of each private name of scikit-learn, skorch or
    torch that ``path`` uses."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            library = (node.module or "").split(".")[0]
            parts = (node.module or "").split(".")
            private_module = any(_private(p) for p in parts)
            private_names = any(a.name.startswith("_") for a in node.names)
            if library in ("sklearn", "skorch", "torch") and (
                private_module or private_names
            ):
                found.append((library, f"from {node.module} import ..."))
        elif isinstance(node, ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "torch":
                if any(_private(p) or p == "ops" for p in chain):
                    found.append(("torch", "torch." + ".".join(reversed(chain))))
            if node.attr in PRIVATE_ATTRIBUTES:
                found.append((PRIVATE_ATTRIBUTES[node.attr], f".{node.attr}"))
        elif isinstance(node, ast.Constant) and node.value in PRIVATE_ATTRIBUTES:
            found.append((PRIVATE_ATTRIBUTES[node.value], repr(node.value)))
    return found


@pytest.mark.parametrize("library", ["sklearn", "skorch", "torch"])
def test_private_names_only_in_compat(library):
    """No module but _compat uses a private name of ``library``."""
    offenders = [
        f"{path.relative_to(PACKAGE)}: {use}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "_compat.py"
        for lib, use in _private_uses(path)
        if lib == library
    ]
    assert not offenders, offenders
    # The check finds them where they are.
    assert any(
        lib == library for lib, _ in _private_uses(PACKAGE / "_utils" / "_compat.py")
    )
