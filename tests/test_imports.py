"""What importing a part of the package loads: the numpy layers without torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_mdn


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )


def test_the_distribution_module_does_not_import_torch():
    # The issue's own check, word for word: the package's __init__ runs
    # first, and loads the estimators (torch, skorch) only on first use.
    code = "import sklearn_mdn.distribution, sys; assert 'torch' not in sys.modules"
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr


def test_the_estimators_load_on_first_use():
    proc = _run(
        "import sys\n"
        "import sklearn_mdn\n"
        "assert 'torch' not in sys.modules and 'skorch' not in sys.modules\n"
        "from sklearn_mdn import MDNRegressor\n"
        "assert 'torch' in sys.modules\n"
        "assert {'MDNRegressor', 'MDNEnsembleRegressor'} <= set(sklearn_mdn.__all__)\n"
        "assert all(hasattr(sklearn_mdn, name) for name in sklearn_mdn.__all__)\n"
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the quantile solver's normal cdf is torch's erfc (_solvers._erfc); "
        "scipy.special.erfc differs from it in the last bits (on 42% of "
        "points in [-5, 5]), which moves quantiles and intervals by up to "
        "6e-12 relative, and the pinned fits' intervals by 6.7e-14 (ndtr: "
        "2.0e-14): their exact comparison would fail (issue 27)"
    ),
)
def test_quantiles_of_a_mixture_do_not_import_torch():
    proc = _run(
        "import sys\n"
        "import numpy as np\n"
        "from sklearn_mdn import NormalMixture\n"
        "dist = NormalMixture(np.ones((2, 1)), np.zeros((2, 1, 1)), "
        "np.ones((2, 1, 1, 1)))\n"
        "dist.ppf(0.3)\n"
        "assert 'torch' not in sys.modules\n"
    )
    assert proc.returncode == 0, proc.stderr


def _package_imports() -> dict:
    """Each module of the package and the package modules it imports, read
    with ``ast`` (imports inside functions included)."""
    root = Path(sklearn_mdn.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = (path, name if is_package else name.rpartition(".")[0])
    graph = {}
    for name, (path, package) in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    base = ".".join([*anchor, *([base] if base else [])])
                # ``from package import module`` imports the module.
                targets = [
                    f"{base}.{alias.name}"
                    if f"{base}.{alias.name}" in modules
                    else base
                    for alias in node.names
                ]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def _find_cycle(graph: dict):
    """One import cycle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt, [*path, nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = _package_imports()
    # The reader sees the modules it expects, and their edges.
    assert {"sklearn_mdn", "sklearn_mdn.distribution", "sklearn_mdn.metrics"} <= set(
        graph
    )
    assert "sklearn_mdn.distribution._mixture" in graph["sklearn_mdn.distribution"]
    # Imports inside functions count: _skpro loads the estimator on first use.
    assert "sklearn_mdn._estimators._regressor" in graph["sklearn_mdn.skpro._adapter"]
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


_ENGINE_ONLY = ("torch", "skorch")


def _engine_imports(source: str) -> list:
    """``(line, library)`` of each import of torch or skorch in ``source``,
    inside functions included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        found += [
            (node.lineno, name.split(".")[0])
            for name in names
            if name.split(".")[0] in _ENGINE_ONLY
        ]
    return found


def test_only_the_training_engine_imports_torch_or_skorch():
    root = Path(sklearn_mdn.__file__).parent
    allowed = {root / "_utils" / "_compat.py"}  # private names, loaded lazily
    outside, engine = [], set()
    for path in sorted(root.rglob("*.py")):
        found = _engine_imports(path.read_text(encoding="utf-8"))
        if root / "_nn" in path.parents:
            engine |= {library for _, library in found}
        elif path not in allowed:
            rel = path.relative_to(root).as_posix()
            outside += [f"{rel}:{line} imports {lib}" for line, lib in found]
    # The engine is where they are: the reader finds its imports.
    assert engine == set(_ENGINE_ONLY)
    assert not outside, "torch or skorch outside sklearn_mdn/_nn/: " + "; ".join(
        outside
    )


def test_the_engine_import_finder_finds_imports_in_functions():
    source = (
        "import numpy\n"
        "from . import torch\n"
        "def f():\n"
        "    import torch.nn as nn\n"
        "    from skorch.history import History\n"
    )
    assert _engine_imports(source) == [(4, "torch"), (5, "skorch")]
