"""docs/check_offline.py: what counts as loading from the network."""

import importlib.util
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).parent.parent / "docs" / "check_offline.py"
_SPEC = importlib.util.spec_from_file_location("check_offline", _SCRIPT)
check_offline = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_offline)

# What sphinx-gallery's execution-times page loaded (0.22), and the like.
REMOTE = [
    '<script src="https://code.jquery.com/jquery-3.7.0.js"></script>',
    '<link href="https://cdn.datatables.net/1.13.6/css/x.min.css" rel="stylesheet">',
    "<img src='//example.org/logo.png'>",
    '<a href="http://example.org/lib.js">the library</a>',
    "<style>body { background: url(https://example.org/bg.png) }</style>",
]
LOCAL = [
    '<script src="_static/doctools.js"></script>',
    '<link rel="stylesheet" href="_static/custom.css" type="text/css" />',
    '<a href="https://github.com/BrandonSmithJ/MDN">the reference MDN</a>',
    '<img src="_images/plot.png" alt="https://example.org/not-loaded.png">',
]


@pytest.mark.parametrize("line", REMOTE)
def test_remote_resource_fails_the_check(tmp_path, line, capsys):
    (tmp_path / "page.html").write_text(f"<html><body>\n{line}\n</body></html>\n")
    found = check_offline.remote_loads(tmp_path)
    assert [(path.name, number) for path, number, _ in found] == [("page.html", 2)]
    assert check_offline.main([str(tmp_path)]) == 1
    assert "page.html:2:" in capsys.readouterr().out


def test_local_resources_and_plain_links_pass(tmp_path, capsys):
    (tmp_path / "page.html").write_text("\n".join(LOCAL))
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "a.css").write_text("p { background: url(img.png) }")
    assert check_offline.remote_loads(tmp_path) == []
    assert check_offline.main([str(tmp_path)]) == 0


def test_remote_url_in_a_stylesheet(tmp_path):
    (tmp_path / "page.html").write_text("<p>text</p>")
    (tmp_path / "a.css").write_text('@import "https://fonts.example.org/f.css";')
    found = check_offline.remote_loads(tmp_path)
    assert [(path.name, url) for path, _, url in found] == [
        ("a.css", "https://fonts.example.org/f.css")
    ]


def test_empty_build_fails(tmp_path, capsys):
    assert check_offline.main([str(tmp_path)]) == 1
    assert "build the documentation first" in capsys.readouterr().out
