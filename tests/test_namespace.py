"""The names the public modules show: ``dir()`` lists ``__all__``, and every
name in ``__all__`` is there."""

import importlib

import pytest

PUBLIC = [
    "sklearn_mdn.metrics",
    "sklearn_mdn.distribution",
    "sklearn_mdn.plotting",
    "sklearn_mdn.dask",
    "sklearn_mdn.skpro",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_dir_lists_the_public_names_only(name):
    if name.endswith(("dask", "skpro")):
        pytest.importorskip(name.rsplit(".", 1)[1])
    module = importlib.import_module(name)
    assert sorted(dir(module)) == sorted(module.__all__)
    for public in module.__all__:
        assert getattr(module, public) is not None
    # What issue #31 saw in dir(sklearn_mdn.metrics): imports, not its API.
    assert not {"np", "erf", "annotations", "ndtr", "da"} & set(dir(module))


def test_package_dir_lists_all_and_public_submodules():
    import sklearn_mdn
    import sklearn_mdn.plotting  # noqa: F401 - a submodule, imported

    names = dir(sklearn_mdn)
    assert set(sklearn_mdn.__all__) <= set(names)
    assert {"distribution", "metrics", "plotting"} <= set(names)
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    assert "importlib" not in names
    # Every listed name resolves (the estimators are imported on first use).
    for public in names:
        assert getattr(sklearn_mdn, public) is not None
