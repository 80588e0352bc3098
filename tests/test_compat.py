"""The private scikit-learn and skorch names sklearn-mdn relies on."""

import ast
import pathlib

import skorch
from skorch import NeuralNet

from sklearn_mdn import _compat

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "sklearn_mdn"


def test_skorch_private_methods_exist():
    """The NeuralNet methods the training fast path calls are still there."""
    for name in _compat.SKORCH_PRIVATE_METHODS:
        assert callable(getattr(NeuralNet, name, None)), (
            f"skorch {skorch.__version__} has no NeuralNet.{name}"
        )


def test_private_sklearn_names_only_in_compat():
    """No module but _compat imports a private scikit-learn name or module."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "sklearn"
            ):
                private_module = any(
                    part.startswith("_") for part in node.module.split(".")
                )
                private_names = [a.name for a in node.names if a.name.startswith("_")]
                if private_module or private_names:
                    offenders.append(f"{path.name}: from {node.module} import ...")
    assert not offenders, offenders
