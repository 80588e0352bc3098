"""Check that the built documentation loads nothing from the network.

Every page must work from a copy of ``docs/_build/html`` on a machine without
a network: scripts, stylesheets, fonts and images come from the build itself.
This script reads every ``.html`` and ``.css`` file of the build and reports
each resource it would fetch from another host:

- ``src="http(s)://..."`` or ``src="//..."`` (scripts, images, frames);
- ``href`` of a ``<link>`` element (stylesheets, preloads, icons) to another
  host, and any ``href`` to a ``.js`` or ``.css`` file on another host;
- ``url(...)`` and ``@import`` of another host in a stylesheet.

Plain links to other sites (``<a href="https://...">``) are fine: a reader
follows them on purpose. Run it after building the documentation (``tox -e
docs`` does)::

    python docs/check_offline.py [docs/_build/html]

Exit status 0 when nothing loads from the network, 1 (listing each file,
line and match) when something does.
"""

import re
import sys
from pathlib import Path

DEFAULT_BUILD = Path(__file__).parent / "_build" / "html"
# Another host: an absolute http(s) URL or a protocol-relative one.
_URL = r"""(?P<url>(?:https?:)?//[^"'\s>)]+)"""
HTML_PATTERNS = [
    re.compile(rf"""\bsrc\s*=\s*["']?{_URL}""", re.IGNORECASE),
    re.compile(rf"""<link\b[^>]*\bhref\s*=\s*["']?{_URL}""", re.IGNORECASE),
    re.compile(rf"""\bhref\s*=\s*["']?{_URL}""", re.IGNORECASE),
]
CSS_PATTERNS = [
    re.compile(rf"""url\(\s*["']?{_URL}""", re.IGNORECASE),
    re.compile(rf"""@import\s+["']?{_URL}""", re.IGNORECASE),
]
# A plain link (<a href>) is followed by the reader, not loaded: an href
# counts only in a <link> element or when it names a script or stylesheet.
_LOADED = re.compile(r"\.(?:js|css)(?:[?#]|$)", re.IGNORECASE)


def remote_loads(build_dir):
    """``(path, line number, URL)`` of every resource loaded from elsewhere."""
    build_dir = Path(build_dir)
    found = []
    for path in sorted(build_dir.rglob("*")):
        suffix = path.suffix.lower()
        if suffix == ".html":
            patterns = HTML_PATTERNS + CSS_PATTERNS  # inline <style> too
        elif suffix == ".css":
            patterns = CSS_PATTERNS
        else:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            urls = []
            for pattern in patterns:
                for match in pattern.finditer(line):
                    url = match.group("url")
                    plain_href = pattern is HTML_PATTERNS[2]
                    if plain_href and not _LOADED.search(url):
                        continue
                    if url not in urls:
                        urls.append(url)
            found.extend((path, number, url) for url in urls)
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1:
        print("usage: python docs/check_offline.py [BUILD_DIR]", file=sys.stderr)
        return 2
    build_dir = Path(argv[0]) if argv else DEFAULT_BUILD
    if not any(build_dir.rglob("*.html")):
        print(f"{build_dir}: no HTML pages; build the documentation first.")
        return 1
    found = remote_loads(build_dir)
    for path, number, text in found:
        print(f"{path.relative_to(build_dir)}:{number}: {text}")
    if found:
        print(f"{len(found)} resource(s) load from the network.")
        return 1
    print(f"{build_dir}: nothing loads from the network.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
