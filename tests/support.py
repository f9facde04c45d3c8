"""Helpers shared by the test files (plain functions and classes; the fixtures live in conftest.py):
where the checkout lies, running `mkdocs build` in a subprocess, a quiet local HTTP server, the built
site's handle, and a stdlib HTML parser for ids, links and figures."""

from __future__ import annotations

import contextlib
import functools
import html.parser
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # ../shared beside the checkout (may be absent)
BUILD_TIMEOUT = 1800  # s: a cold build trains the model and renders ~1,800 figures on 2 loaded cores


def build_env(site_url: str | None = None) -> dict[str, str]:
    """The environment for a `mkdocs build` subprocess (quiet banner, chosen SITE_URL, quick profile)."""
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.pop("TINYVGG_PROFILE", None)  # the tests build the default (quick) profile
    env.pop("TINYVGG_REFERENCE_WEIGHTS", None)  # ... which CNN Explainer's model does not fit
    if site_url is not None:
        env["SITE_URL"] = site_url
    return env


def run_mkdocs(
    config: Path, site_dir: Path, site_url: str, timeout: float = BUILD_TIMEOUT, strict: bool = True
) -> subprocess.CompletedProcess[str]:
    """`python -m mkdocs build` in a subprocess; stdout and stderr merged into .stdout."""
    cmd = [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", str(site_dir)]
    if strict:
        cmd.insert(4, "--strict")
    return subprocess.run(
        cmd,
        cwd=config.parent,
        env=build_env(site_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the stdlib signature (shadows format)
        pass  # keep pytest's output clean; failed requests are checked in the browser instead


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[tuple[str, http.server.ThreadingHTTPServer]]:
    """A quiet HTTP server on 127.0.0.1 (a free port) serving root while the block runs.
    Yields its base URL without a trailing slash, and the server (a test may shut it down early)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-http-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class BuiltSite:
    """The real site: where it lies on disk and the address it is served from (ends with '/')."""

    root: Path
    url: str
    log: str

    def pages(self) -> list[str]:
        """Every HTML page's URL path relative to the root ('', 'cnn/', 'en/explore/circle/', ...)."""
        paths = []
        for index in sorted(self.root.rglob("index.html")):
            rel = index.parent.relative_to(self.root).as_posix()
            paths.append("" if rel == "." else rel + "/")
        return paths


# -- HTML helpers (stdlib only) --------------------------------------------------------------------


@dataclass
class Figure:
    """One `<figure class="tv-figure ...">`: its images' attributes and its caption text."""

    cls: str
    imgs: list[dict[str, str]] = field(default_factory=list)
    caption: str = ""


@dataclass
class ParsedPage:
    ids: set[str] = field(default_factory=set)
    refs: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attribute, URL)
    figures: list[Figure] = field(default_factory=list)


class _Parser(html.parser.HTMLParser):
    URL_ATTRS = ("href", "src", "srcset", "poster", "data")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._figure: Figure | None = None
        self._caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.page.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.page.ids.add(a["name"])
        for attr in self.URL_ATTRS:
            if attr in a:
                self.page.refs.append((tag, attr, a[attr]))
        if tag == "figure" and "tv-figure" in a.get("class", "").split():
            self._figure = Figure(cls=a["class"])
        elif tag == "img" and self._figure is not None:
            self._figure.imgs.append(a)
        elif tag == "figcaption" and self._figure is not None:
            self._caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure" and self._figure is not None:
            self.page.figures.append(self._figure)
            self._figure = None
        elif tag == "figcaption":
            self._caption = False

    def handle_data(self, data: str) -> None:
        if self._caption and self._figure is not None:
            self._figure.caption += data


def parse_html(text: str) -> ParsedPage:
    """Ids, every URL-bearing attribute, and the tinyvgg figures of one HTML page."""
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.page
