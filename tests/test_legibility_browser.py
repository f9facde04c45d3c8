"""Labels stay readable in the real site (Chromium): on every hand-written page of both languages, at a
1280 px desktop and a 375 px phone, the smallest text of every figure shows at least 11 CSS px (9 px on
the phone) tall, no figure with text is scaled nearest-neighbour, and the page never scrolls sideways.
The network overview is HTML: its labels are text of at least that size and each tile links to a
figure or to an anchor that exists. JavaScript is off: the figures are checked as they are served
(the players that replace some of them with JavaScript are tested in test_players_browser.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext
from support import REPO, BuiltSite, parse_html
from test_browser import CHROMIUM_ARGS, OVERFLOWING, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = 1280
THRESHOLD = {DESKTOP: 11.0, PHONE: 9.0}
SHOTS = REPO / "screenshots" / "legibility"
# The gallery (figures.md) shows every figure as a small labelled thumbnail that opens the full-size
# file: a preview by design, so it is not a chapter page here.
NOT_CHAPTERS = {"figures.md"}


def chapter_paths() -> list[str]:
    """URL paths of the hand-written pages (docs/<lang>/**/*.md) of both languages, but the gallery."""
    paths = []
    for lang, prefix in (("zh", ""), ("en", "en/")):
        root = REPO / "docs" / lang
        for md in sorted(root.rglob("*.md")):
            rel = md.relative_to(root).as_posix()
            if rel in NOT_CHAPTERS:
                continue
            stem = rel.removesuffix(".md")
            stem = stem.removesuffix("index").removesuffix("/") if stem.endswith("index") else stem
            paths.append(prefix + (stem + "/" if stem else ""))
    return paths


CHAPTERS = chapter_paths()

# Every <img> inside a figure of the page that is laid out, with its displayed width and scaling.
FIGURE_IMAGES = """
() => Array.from(document.querySelectorAll('figure.tv-figure img')).filter(img => img.getClientRects().length)
  .map(img => ({src: img.src, width: img.getBoundingClientRect().width,
                rendering: getComputedStyle(img).imageRendering,
                figure: img.closest('figure').className}))
"""

# The overview's text: every element with its own text node, with its computed font size.
OVERVIEW_TEXT = """
(fig) => Array.from(fig.querySelectorAll('*')).filter(el => Array.from(el.childNodes)
    .some(n => n.nodeType === 3 && n.textContent.trim()) && el.getClientRects().length)
  .map(el => ({text: el.textContent.trim().slice(0, 40), size: parseFloat(getComputedStyle(el).fontSize)}))
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: `playwright install` cannot download a browser here."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


def _context(browser: Browser, js: bool) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport={"width": DESKTOP, "height": 900}, java_script_enabled=js, service_workers="block"
    )
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def no_js(browser: Browser) -> Iterator[BrowserContext]:
    """The pages as served: every figure shows its own image."""
    yield from _context(browser, js=False)


@pytest.fixture(scope="module")
def with_js(browser: Browser) -> Iterator[BrowserContext]:
    """The pages as most readers get them (Material's header needs its script to fit a phone)."""
    yield from _context(browser, js=True)


def manifest(site: BuiltSite) -> dict[str, dict]:
    data = json.loads((site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in data["figures"]}


def figure_file(site: BuiltSite, src: str) -> str | None:
    """The manifest's file name of an image URL under figures/ (None for other images): without Material's
    `#only-light` / `#only-dark` marks, and a dark variant (x.dark.png) stands for its figure (x.png)."""
    src = src.split("#", 1)[0]
    if not src.startswith(site.url + "figures/"):
        return None
    return unquote(src.removeprefix(site.url + "figures/")).replace(".dark.", ".")


def test_the_chapters_are_the_hand_written_pages() -> None:
    assert {"", "cnn/", "model/", "flatten/", "en/", "en/cnn/", "en/activation/"} <= set(CHAPTERS)
    assert len(CHAPTERS) >= 24 and len([p for p in CHAPTERS if p.startswith("en/")]) == len(CHAPTERS) // 2


def test_every_figure_with_text_has_min_text_px_and_heatmaps_have_none(built_site: BuiltSite) -> None:
    entries = manifest(built_site).values()
    text = {e["kind"] for e in entries if e.get("min_text_px")}
    bare = {e["kind"] for e in entries if not e.get("min_text_px")}
    assert {"input", "overview", "conv-overview", "flatten", "softmax", "kernels", "training-curves"} <= text
    assert bare == {"tile", "photo", "logo"} & {e["kind"] for e in entries}, bare
    assert all("min_text_px" in e for e in entries)  # null for the heatmaps, never missing


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_figure_label_is_legible_and_the_page_never_scrolls_sideways(
    no_js: BrowserContext, with_js: BrowserContext, built_site: BuiltSite, width: int
) -> None:
    site, entries = built_site, manifest(built_site)
    page, live = no_js.new_page(), with_js.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    live.set_viewport_size({"width": width, "height": 900})
    (SHOTS / str(width)).mkdir(parents=True, exist_ok=True)
    small: list[str] = []
    pixelated: list[str] = []
    wide: list[str] = []
    measured = 0
    try:
        for path in CHAPTERS:
            page.goto(site.url + path, wait_until="load")
            live.goto(site.url + path, wait_until="load")
            scroll = live.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide.append(f"/{path}: scrollWidth {scroll} > {width}: {live.evaluate(OVERFLOWING, width)}")
            for img in page.evaluate(FIGURE_IMAGES):
                file = figure_file(site, img["src"])
                entry = entries.get(file or "")
                if entry is None or not entry.get("min_text_px"):
                    continue
                measured += 1
                shown = img["width"] / entry["width"] * entry["min_text_px"]
                if shown < THRESHOLD[width] - 0.01:
                    small.append(f"/{path}: {file}: smallest text {shown:.1f} px ({img['width']:.0f} px wide)")
                if img["rendering"] == "pixelated":
                    pixelated.append(f"/{path}: {file} ({img['figure']})")
            if path in ("", "cnn/", "en/cnn/", "input-layer/", "en/flatten/", "model/", "en/model/"):
                name = (path.strip("/").replace("/", "-") or "index") + ".png"
                page.screenshot(path=str(SHOTS / str(width) / name), full_page=True)
    finally:
        page.close()
        live.close()
    assert measured >= 40, f"only {measured} figure images measured"
    assert not small, f"{len(small)} figures with text under {THRESHOLD[width]} px:\n" + "\n".join(small)
    assert not pixelated, "figures with text scaled nearest-neighbour:\n" + "\n".join(pixelated)
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@pytest.mark.parametrize("path", ["cnn/", "en/cnn/", "", "en/"])
def test_the_overview_is_html_with_legible_labels_and_working_links(
    no_js: BrowserContext, built_site: BuiltSite, path: str, width: int
) -> None:
    site = built_site
    page = no_js.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        page.goto(site.url + path, wait_until="load")
        fig = page.locator("figure.tv-overview-html")
        assert fig.count() == 1
        assert page.locator("figure.tv-overview").count() == 0  # not the raster
        texts = fig.evaluate(OVERVIEW_TEXT)
        names = [t["text"] for t in texts]
        assert {"input", "conv_1_1", "max_pool_2", "output", "R", "G", "B"} <= set(names), names
        tiny = [t for t in texts if t["size"] < THRESHOLD[width]]
        assert not tiny, tiny
        tiles = fig.locator("a.tv-ov-tile").evaluate_all(
            "as => as.map(a => ({href: a.href, src: a.querySelector('img').src, alt: a.querySelector('img').alt,"
            " rendering: getComputedStyle(a.querySelector('img')).imageRendering}))"
        )
        classes = fig.locator("a.tv-ov-class").evaluate_all("as => as.map(a => [a.href, a.textContent])")
        # the figure stays inside the viewport; what does not fit scrolls in the overview's own box
        right = fig.evaluate("f => f.getBoundingClientRect().right")
        box = fig.locator(".tv-ov-box").evaluate("b => [b.scrollWidth, b.clientWidth, getComputedStyle(b).overflowX]")
    finally:
        page.close()
    assert right <= width
    assert box[2] == "auto" and (box[0] > box[1]) == (width == PHONE), box  # no scrolling needed on a desktop
    assert len(tiles) == 1 + 3 + 10 * 10  # the photo, the channels, ten maps of ten layers
    assert len(classes) == 10
    entries = manifest(site)
    for tile in tiles:
        file = figure_file(site, tile["src"])
        assert file in entries and entries[file]["kind"] in ("tile", "photo"), tile
        assert entries[file]["min_text_px"] is None and tile["rendering"] == "pixelated"
        assert tile["alt"]
    zh = not path.startswith("en/")
    # class names in the page's language (zh from facts["classes_zh"]), probabilities beside them
    for _, text in classes:
        assert re.search(r"\d+\.\d%", text), text
        assert bool(re.search(r"[\u4e00-\u9fff]", text)) == zh, text
    for href in [t["href"] for t in tiles] + [h for h, _ in classes]:
        assert_link_resolves(site, href)
    # with explore pages on (this site), each tile opens its layer's tab on its image's explore page
    featured = json.loads((site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))["featured"]
    expect = site.url + ("" if zh else "en/") + f"explore/{featured}/#"
    assert {t["href"].partition("#")[0] + "#" for t in tiles} == {expect}
    layers = {t["href"].partition("#")[2] for t in tiles}
    assert layers == {"input", "conv_1_1", "relu_1_1", "conv_1_2", "relu_1_2", "max_pool_1"} | {
        "conv_2_1",
        "relu_2_1",
        "conv_2_2",
        "relu_2_2",
        "max_pool_2",
    }


def assert_link_resolves(site: BuiltSite, href: str) -> None:
    """A link of the site reaches a file, and its #fragment an id of that page."""
    assert href.startswith(site.url), href
    parts = urlsplit(href)
    rel = unquote(parts.path).removeprefix(urlsplit(site.url).path)
    target: Path = site.root / rel
    if rel.endswith("/") or not rel:
        target = target / "index.html"
    assert target.is_file(), href
    if parts.fragment:
        ids = parse_html(target.read_text(encoding="utf-8")).ids
        assert parts.fragment in ids, href
