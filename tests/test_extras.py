"""Optional extras: without them, importing a module that needs one says how
to install it from a clone (the package is on no index, so
``pip install "sklearn-mdn[dask]"`` cannot work)."""

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    "module, blocked, extra",
    [
        ("sklearn_mdn.dask", "dask", "dask"),
        ("sklearn_mdn.skpro", "skpro", "skpro"),
    ],
)
def test_missing_extra_names_the_clone_install_line(
    module, blocked, extra, monkeypatch
):
    # None in sys.modules makes "import dask" fail as if it were not
    # installed; its submodules too, where an earlier test imported them.
    loaded = [name for name in sys.modules if name.startswith(f"{blocked}.")]
    for name in [blocked, *loaded]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in [n for n in sys.modules if n == module or n.startswith(f"{module}.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError) as info:
        importlib.import_module(module)
    message = str(info.value)
    assert f'pip install ".[{extra}]"' in message
    assert "in a clone of the repository" in message
    assert "sklearn-mdn[" not in message


def test_missing_matplotlib_names_the_clone_install_line(monkeypatch):
    from sklearn_mdn.plotting._common import _pyplot

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "\.\[plot\]"` from a clone'):
        _pyplot("PITDisplay.plot")


def test_no_install_line_names_the_unpublished_package():
    """Every docstring and message in the package installs from a clone."""
    import pathlib

    package = pathlib.Path(__file__).resolve().parent.parent / "sklearn_mdn"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "sklearn-mdn[" in path.read_text(encoding="utf-8")
    ]
    assert not offenders
