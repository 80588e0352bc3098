"""docs/contributing.rst's module table names every module of the package."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sklearn_mdn"


def _table_names():
    text = (ROOT / "docs" / "contributing.rst").read_text(encoding="utf-8")
    names = set()
    # The first cell of each row of the list-table: ``name.py``, ``folder/``.
    for cell in re.findall(r"^   \* - (.+)$", text, flags=re.M):
        names.update(re.findall(r"``([\w/]+(?:\.py|/))``", cell))
    return names


def _modules():
    modules = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if path.name in ("__init__.py", "__main__.py"):
            continue
        modules.add(rel)
    return modules


def test_every_module_is_in_the_table():
    names = _table_names()
    missing = sorted(
        m
        for m in _modules()
        if m not in names and not any(m.startswith(n) for n in names if n.endswith("/"))
    )
    assert not missing, f"docs/contributing.rst's module table lacks {missing}"


def test_the_table_names_only_modules_that_exist():
    stale = sorted(
        n
        for n in _table_names()
        if not (PACKAGE / n).exists() and n.endswith((".py", "/"))
    )
    assert not stale, f"docs/contributing.rst's module table names {stale}"
