"""Stored XSS: class folders and image file names are chosen by whoever made the data set. A real site
is built from the repository's own chapters on a `folder` data set whose class names and image file
names carry payloads; every page is opened in Chromium, and no dialog may fire and no injected element
or event-handler attribute may exist. The payloads stay visible as text."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import REPO, run_mkdocs, serve_directory
from test_browser import browser_type_launch_args  # noqa: F401 - Debian's Chromium

pytestmark = [pytest.mark.slow]

# Folder names cannot hold "/": each payload breaks out of a different context without one.
PAYLOADS = [
    "<img src=x onerror=alert(1)>",  # a tag in text
    '"><img src=x onerror=alert(2)>',  # out of a double-quoted attribute
    "'><details open ontoggle=alert(3)>",  # out of a single-quoted attribute
    "[click me](javascript:alert(4))",  # a Markdown link with a javascript: URL
    "&lt;&#47;title&gt;&lt;img src=x onerror=alert(5)&gt;",  # entities that a careless unescape turns into tags
    "**bold** `code` {{ value test-accuracy }} | cell",  # Markdown, a table cell and a shortcode
]
IMAGE_NAMES = ['"><svg onload=alert(6)>.png', "[x](javascript:alert(7)).png"]

# Anything a payload would have created if it got out; Material itself uses no inline handlers.
INJECTED = """
() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) found.push(el.tagName + '[' + a.name + ']');
      if (/^\\s*javascript:/i.test(a.value)) found.push(el.tagName + '[' + a.name + '=javascript:]');
    }
  }
  for (const el of document.querySelectorAll('img[src="x"], svg[onload], details[ontoggle], script:not([src])')) {
    if (el.tagName === 'SCRIPT') {
      if (el.type === 'application/json') {  // data, not code: it must still be one whole JSON value
        try { JSON.parse(el.textContent); continue; } catch (e) { found.push('broken JSON: ' + e); continue; }
      }
      if (!/alert\\(/.test(el.textContent)) continue;
    }
    found.push(el.outerHTML.slice(0, 80));
  }
  return found;
}
"""


def _png(path: Path, rng: np.random.Generator, tint: int) -> None:
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pixels[..., tint % 3] = 255 - (tint * 37) % 200
    Image.fromarray(pixels).save(path)


def make_project(root: Path, cache: Path) -> Path:
    """The repository's chapters on a hostile folder data set; returns mkdocs.yml."""
    rng = np.random.default_rng(0)
    data = root / "data"
    for i, name in enumerate(PAYLOADS):
        folder = data / name
        folder.mkdir(parents=True)
        for j in range(4):
            _png(folder / f"{name} {j}.png", rng, i)
    shutil.copytree(REPO / "docs", root / "docs")
    for name in IMAGE_NAMES:
        _png(root / name, rng, 1)
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    options = {
        "dataset": "folder",
        "dataset_path": "data",
        "epochs": 1,
        "images": IMAGE_NAMES,
        "cache_dir": str(cache),
        "featured": "",
        "explore_pages": True,
    }
    block = "\n".join(f"      {k}: {json.dumps(v)}" for k, v in options.items())
    config, count = re.subn(r"  - tinyvgg:\n(?:      .*\n)+", f"  - tinyvgg:\n{block}\n", config)
    assert count == 1, "the tinyvgg block of mkdocs.yml changed shape"
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    return root / "mkdocs.yml"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hostile")
    config = make_project(root / "project", root / "cache")
    site = root / "site"
    site.mkdir()
    with serve_directory(site) as (url, _):
        proc = run_mkdocs(config, site, url + "/", strict=False)
        assert proc.returncode == 0, proc.stdout
        assert "Traceback" not in proc.stdout
        yield site, url + "/"


def test_payloads_never_reach_html_as_markup(hostile_site) -> None:
    site, _ = hostile_site
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for needle in ("<img src=x", '<img src="x"', "<svg onload", "<details open ontoggle", 'href="javascript:'):
            assert needle not in text, f"{page.relative_to(site)} holds {needle!r}"


def test_class_names_are_shown_as_text(hostile_site) -> None:
    """Escaped, not dropped: the reader sees the class name exactly as the folder spells it."""
    site, _ = hostile_site
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.text: list[str] = []

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    parser = Text()
    parser.feed((site / "en" / "cnn" / "index.html").read_text(encoding="utf-8"))
    text = "".join(parser.text)
    for name in sorted(PAYLOADS):
        assert name in text, f"class name {name!r} not shown as text on en/cnn/"


@pytest.mark.browser
def test_no_dialog_and_no_injected_element_on_any_page(hostile_site, browser) -> None:
    site, url = hostile_site
    pages = sorted({p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")})
    dialogs: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(f"{page.url}: {d.message}"), d.dismiss()))
    try:
        for rel in pages:
            page.goto(url + ("" if rel == "." else rel + "/"), wait_until="load")
            page.wait_for_timeout(50)
            injected = page.evaluate(INJECTED)
            assert not injected, f"{rel}: {injected}"
            for details in page.query_selector_all("details"):  # ontoggle fires when a <details> opens
                details.evaluate("d => d.open = true")
        # Search renders results from the index: look up words that only the payloads contain.
        page.goto(url + "en/", wait_until="load")
        for query in ("onerror", "javascript", "ontoggle", "click"):
            page.click("label.md-search__icon, .md-search__input", timeout=5000)
            page.fill(".md-search__input", query)
            page.keyboard.press("End")
            page.wait_for_timeout(400)
            assert not page.evaluate(INJECTED), f"search results for {query!r}"
        page.wait_for_timeout(300)
        assert not dialogs, dialogs
    finally:
        context.close()
