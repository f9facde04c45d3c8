"""Figure variants in Chromium on the real site: a Chinese page shows no English figure and an English
page no Chinese one; in Material's slate (dark) scheme no visible figure on the site's own pages sits
on a near-white card, and the light scheme shows the light pictures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urljoin, urlparse

import pytest
from playwright.sync_api import Browser, Page
from support import BuiltSite
from test_browser import CHROMIUM_ARGS, LOAD_ALL_IMAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTERS = ["", "cnn/", "input-layer/", "convolution/", "hyperparameters/", "activation/", "pooling/", "flatten/"]
MORE = ["model/", "explore/", "reuse/", "explore/circle/"]

# Every visible figure picture: its file, and how light its corners and its CSS background are (0..255).
FIGURES = """
async () => {
  const out = [];
  for (const img of document.querySelectorAll('figure.tv-figure img, .tv-sample img')) {
    if (!img.getClientRects().length || getComputedStyle(img).display === 'none') continue;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const lum = (x, y) => {
      const d = g.getImageData(x, y, 1, 1).data;
      return 0.299 * d[0] + 0.587 * d[1] + 0.114 * d[2];
    };
    const w = c.width - 1, h = c.height - 1;
    const bg = getComputedStyle(img).backgroundColor;
    out.push({src: img.currentSrc || img.src, corners: [lum(0, 0), lum(w, 0), lum(0, h), lum(w, h)], bg,
              filter: getComputedStyle(img).filter});
  }
  return out;
}
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, as test_browser.py launches it."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def manifest(built_site: BuiltSite) -> dict[str, str]:
    """figures/<file> (light and dark) -> its figure's language."""
    figures = json.loads((built_site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))["figures"]
    langs = {f["file"]: f["lang"] for f in figures}
    langs.update({f["dark"]: f["lang"] for f in figures if "dark" in f})
    return langs


def _open(browser: Browser, scheme: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, service_workers="block")
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def dark_page(browser: Browser) -> Iterator[Page]:
    yield from _open(browser, "dark")


@pytest.fixture(scope="module")
def light_page(browser: Browser) -> Iterator[Page]:
    yield from _open(browser, "light")


# Every figure picture of the page, shown or not (a player hides the GIF it replaces).
ALL_SOURCES = "() => [...document.querySelectorAll('figure.tv-figure img, .tv-sample img')].map(i => i.src)"


def _figures(page: Page, site: BuiltSite, path: str, scheme: str, shown: bool = True) -> list[dict]:
    page.goto(urljoin(site.url, path))
    page.wait_for_load_state("load")
    attr = page.locator("body").get_attribute("data-md-color-scheme")
    if attr != scheme:  # the toggle remembers a choice: set the scheme itself, as the toggle does
        page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")
    failed = page.evaluate(LOAD_ALL_IMAGES)
    assert not failed, (path, failed)
    if not shown:
        return [{"src": src} for src in page.evaluate(ALL_SOURCES)]
    return page.evaluate(FIGURES)


def _file(src: str, site: BuiltSite) -> str:
    path = urlparse(src).path
    root = urlparse(site.url).path
    assert path.startswith(root + "figures/"), src
    return path[len(root + "figures/") :]


@pytest.mark.parametrize("path", [*CHAPTERS, *MORE])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_show_figures_in_their_own_language(
    light_page: Page, dark_page: Page, built_site: BuiltSite, manifest: dict[str, str], path: str, lang: str
) -> None:
    url = ("en/" if lang == "en" else "") + path
    other = {"zh": "en", "en": "zh"}[lang]
    seen = []
    for page, scheme in ((light_page, "default"), (dark_page, "slate")):
        for fig in _figures(page, built_site, url, scheme, shown=False):
            file = _file(fig["src"], built_site)
            assert file in manifest, file
            assert manifest[file] != other, f"{url} ({scheme}) shows {file}, a lang: {other} figure"
            seen.append(manifest[file])
    if path in ("activation/", "explore/circle/"):  # pages with class names in their figures (cnn/'s overview is HTML)
        assert lang in seen, (url, seen)


@pytest.mark.parametrize("path", [*CHAPTERS, "model/", "explore/", "reuse/"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_white_cards_in_the_dark_scheme(dark_page: Page, built_site: BuiltSite, path: str, lang: str) -> None:
    url = ("en/" if lang == "en" else "") + path
    figures = _figures(dark_page, built_site, url, "slate")
    for fig in figures:
        if "/photo." in fig["src"]:  # a sample's photo is the picture itself: no card, no text, nothing to darken
            continue
        assert ".dark." in fig["src"] and fig["src"].endswith("#only-dark"), (url, fig["src"])
        assert max(fig["corners"]) < 90, (url, fig["src"], fig["corners"])  # the page's own dark colour
        assert fig["bg"] in ("rgba(0, 0, 0, 0)", "transparent"), (url, fig["src"], fig["bg"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_light_scheme_shows_the_light_pictures(light_page: Page, built_site: BuiltSite, lang: str) -> None:
    url = ("en/" if lang == "en" else "") + "activation/"
    figures = _figures(light_page, built_site, url, "default")
    assert figures
    for fig in figures:
        assert ".dark." not in fig["src"] and fig["src"].endswith("#only-light"), fig["src"]
        assert min(fig["corners"]) > 240, (fig["src"], fig["corners"])


def test_explore_figures_without_dark_variant_are_dimmed(dark_page: Page, built_site: BuiltSite) -> None:
    figures = _figures(dark_page, built_site, "explore/circle/", "slate")
    light = [f for f in figures if "#only-" not in f["src"]]
    assert light, "the explore pages keep their light figures"
    assert all("brightness" in f["filter"] for f in light)
