"""Check in headless Chromium that the math of the built documentation renders.

The documentation serves MathJax from its own ``_static/mathjax`` folder
(the ``sphinx-mathjax-offline`` extension) instead of a CDN, so formulas
render on a machine without a network. This script checks that:

1. the page's HTML loads MathJax from a local file, and that file exists;
2. headless Chromium, opening the page over ``file://`` with every host name
   made unresolvable (so a CDN could not be reached), ends with MathJax
   output (``mjx-container`` elements) in place of every ``\\(...\\)`` and
   ``\\[...\\]`` of the page;
3. it saves a screenshot of the page, to look at.

Run it after building the documentation::

    python -m sphinx -W -b html docs docs/_build/html
    python docs/check_math_render.py [PAGE.html] [--screenshot math.png]

It needs a Chromium executable (Debian: ``apt-get install chromium``), found
as ``chromium``, ``chromium-browser`` or ``google-chrome`` on the ``PATH``,
or named by the ``CHROMIUM`` environment variable. It is NOT part of the
continuous integration's tests (Chromium is not installed there); run it by
hand when changing the documentation's configuration or MathJax.
Exit status 0 when the math renders, 1 when it does not.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

DEFAULT_PAGE = Path(__file__).parent / "_build" / "html" / "user_guide.html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Offline, headless, and quiet: no first-run, sync or update traffic.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    # Every host name fails to resolve: the page must not need the network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    # Virtual time runs the page's scripts to completion (MathJax typesets
    # asynchronously) before the DOM is dumped or the screenshot taken.
    "--virtual-time-budget=10000",
]


def find_browser():
    """Path of a Chromium executable, or None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def local_mathjax(page):
    """The local MathJax script that ``page`` loads; raises if there is none."""
    html = page.read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html, re.I)
    if not sources:
        raise AssertionError(f"{page}: no MathJax script")
    remote = [s for s in sources if re.match(r"(https?:)?//", s)]
    if remote:
        raise AssertionError(f"{page}: MathJax loads from the network: {remote}")
    script = (page.parent / sources[0].split("?")[0]).resolve()
    if not script.is_file():
        raise AssertionError(f"{page}: MathJax script {script} does not exist")
    return script


class MathText(HTMLParser):
    """Counts math elements, MathJax outputs, and raw TeX left in math elements."""

    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, is math element, is MathJax output)
        self.n_math = 0
        self.n_rendered = 0
        self.raw = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        is_math = tag in ("span", "div") and "math" in classes
        is_output = tag == "mjx-container"
        self.n_math += is_math
        self.n_rendered += is_output
        self.stack.append((tag, is_math, is_output))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        in_math = any(m for _, m, _ in self.stack)
        in_output = any(o for _, _, o in self.stack)
        if in_math and not in_output and re.search(r"\\[(\[]", data):
            self.raw.append(data.strip())


def run_browser(browser, args, profile):
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", type=Path, default=DEFAULT_PAGE)
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=Path("math_render.png"),
        help="where to save the screenshot (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    page = args.page.resolve()
    if not page.is_file():
        print(f"{page}: no such page; build the documentation first", file=sys.stderr)
        return 1
    browser = find_browser()
    if browser is None:
        print("no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 1
    try:
        script = local_mathjax(page)
    except AssertionError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    print(f"MathJax is served locally: {script}")

    with tempfile.TemporaryDirectory() as profile:
        proc = run_browser(browser, ["--dump-dom", page.as_uri()], profile)
        dom = proc.stdout
        shot = run_browser(
            browser,
            [
                f"--screenshot={args.screenshot.resolve()}",
                "--window-size=1400,2000",
                page.as_uri(),
            ],
            profile,
        )
    if proc.returncode != 0 or not dom:
        print(f"FAIL: Chromium failed: {proc.stderr[-2000:]}", file=sys.stderr)
        return 1
    counts = MathText()
    counts.feed(dom)
    print(
        f"{page.name}: {counts.n_math} math elements, {counts.n_rendered} "
        "rendered by MathJax"
    )
    failures = []
    if counts.n_math == 0:
        failures.append("the page has no math to check")
    if counts.n_rendered < counts.n_math:
        failures.append("MathJax rendered fewer formulas than the page has")
    if counts.raw:
        failures.append(f"raw TeX left in math elements: {counts.raw[:3]}")
    if shot.returncode == 0 and args.screenshot.exists():
        print(f"screenshot: {args.screenshot}")
    else:
        failures.append(f"no screenshot: {shot.stderr[-2000:]}")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if not failures:
        print("OK: the math renders without a network")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
