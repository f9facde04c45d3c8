"""The real site in Chromium (Debian's /usr/bin/chromium, driven by Playwright): every page of both
languages loads every image with no console error, no failed request and no request to another host;
the language switch, search, lightbox and dark palette work; phones get no horizontal scroll.
Full-page screenshots of the chapters land in screenshots/ (git-ignored)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response, expect
from support import REPO, BuiltSite

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = REPO / "screenshots"
PHONE = 375
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPLORE_SAMPLE = re.compile(r"^(en/)?explore/[^/]+/$")

# Scroll every lazy image into view, then load the ones that never can be (inside inactive tabs,
# which are display:none) eagerly; wait for all, and return the sources of those that failed.
LOAD_ALL_IMAGES = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) {
    if (img.loading === 'lazy' && !img.complete) {
      img.scrollIntoView({block: 'center', behavior: 'instant'});
      await new Promise(r => requestAnimationFrame(r));
    }
  }
  for (const img of imgs) if (!img.complete) img.loading = 'eager';
  const done = img => img.complete ? Promise.resolve() : new Promise(r => {
    img.addEventListener('load', r, {once: true});
    img.addEventListener('error', r, {once: true});
  });
  await Promise.race([Promise.all(imgs.map(done)), new Promise(r => setTimeout(r, 60000))]);
  window.scrollTo(0, 0);
  return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
}
"""

# Elements that stick out to the right of the viewport and are not inside a scrolling box.
OVERFLOWING = """
(width) => {
  const scrolls = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && p !== document.documentElement
          && p !== document.body) return true;
    }
    return false;
  };
  return Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getBoundingClientRect().right > width + 1 && !scrolls(el))
    .slice(0, 8).map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim()
      .split(/\\s+/).join('.') : '') + ' right=' + Math.round(el.getBoundingClientRect().right));
}
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: `playwright install` cannot download a browser here."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@dataclass
class Traffic:
    """What the browser did, recorded on the context."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.requests.clear()
        self.failed.clear()
        self.console.clear()


@dataclass
class Session:
    site: BuiltSite
    context: BrowserContext
    page: Page
    traffic: Traffic

    def open(self, path: str, wait_until: str = "load") -> None:
        self.page.goto(self.site.url + path, wait_until=wait_until)


def record(context: BrowserContext, traffic: Traffic) -> None:
    def on_request(req: Request) -> None:
        traffic.requests.append(req.url)

    def on_failed(req: Request) -> None:
        traffic.failed.append(f"{req.url} ({req.failure})")

    def on_response(resp: Response) -> None:
        if resp.status >= 400:
            traffic.failed.append(f"{resp.url} (HTTP {resp.status})")

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            traffic.console.append(f"{msg.text} at {msg.location.get('url', '')}")

    context.on("request", on_request)
    context.on("requestfailed", on_failed)
    context.on("response", on_response)
    context.on("console", on_console)


@pytest.fixture(scope="module")
def session(browser: Browser, built_site: BuiltSite) -> Iterator[Session]:
    """One context and page for the whole module (opening them is the slow part)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", color_scheme="light", service_workers="block"
    )
    context.set_default_timeout(30_000)
    traffic = Traffic()
    record(context, traffic)
    page = context.new_page()
    page.on("pageerror", lambda exc: traffic.console.append(f"uncaught: {exc}"))
    try:
        yield Session(built_site, context, page, traffic)
    finally:
        context.close()


def screenshot_name(path: str) -> str:
    lang = "en" if path.startswith("en/") else "zh"
    rest = path.removeprefix("en/").strip("/").replace("/", "-") or "index"
    return f"{lang}-{rest}.png"


def site_featured(site: BuiltSite) -> str:
    """The featured sample's slug, from the site's own manifest."""
    manifest = json.loads((site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))
    return manifest["featured"]


def test_every_page_loads_every_image_with_no_error_and_no_third_party_request(session: Session) -> None:
    site, page, traffic = session.site, session.page, session.traffic
    paths = site.pages()
    assert len(paths) >= 40, paths
    SCREENSHOTS.mkdir(exist_ok=True)
    problems: list[str] = []
    external: set[str] = set()
    images = 0
    featured = site_featured(site)
    for path in paths:
        traffic.clear()
        session.open(path, wait_until="networkidle")
        broken = page.evaluate(LOAD_ALL_IMAGES)
        images += page.evaluate("document.images.length")
        page.wait_for_load_state("networkidle")
        problems += [f"/{path}: image did not load: {src}" for src in broken]
        problems += [f"/{path}: console: {m}" for m in traffic.console]
        problems += [f"/{path}: request failed: {f}" for f in traffic.failed]
        external |= {u for u in traffic.requests if not u.startswith((site.url, "data:", "blob:"))}
        if not EXPLORE_SAMPLE.match(path) or path.endswith(f"explore/{featured}/"):
            page.screenshot(path=str(SCREENSHOTS / screenshot_name(path)), full_page=True)
    assert not external, "requests to other hosts:\n" + "\n".join(sorted(external))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
    assert images > 1000


@pytest.mark.parametrize("path", ["", "convolution/", "explore/", "model/", "featured"])
def test_language_switch_keeps_the_page(session: Session, path: str) -> None:
    page, site = session.page, session.site
    if path == "featured":
        path = f"explore/{site_featured(site)}/"
    session.open(path)
    for lang, want in (("en", "en/" + path), ("zh", path)):
        page.locator(".md-header .md-select > button").hover()
        link = page.locator(f'a.md-select__link[hreflang="{lang}"]')
        link.click()
        page.wait_for_url(site.url + want)
        expect(page.locator("html")).to_have_attribute("lang", re.compile("^" + lang))


@pytest.mark.parametrize(
    ("path", "term", "expect_in"),
    [
        ("", "卷积", "卷积"),
        ("", "池化", "池化"),
        ("en/", "convolution", "onvolution"),
        ("en/", "pooling", "ooling"),
    ],
)
def test_search_finds_terms_in_both_languages(session: Session, path: str, term: str, expect_in: str) -> None:
    page = session.page
    session.open(path)
    box = page.locator(".md-search__input")
    if not box.is_visible():
        page.locator('label[for="__search"]').first.click()
    box.fill(term)
    box.press("End")
    results = page.locator(".md-search-result__item")
    expect(results.first).to_be_visible(timeout=30_000)
    assert expect_in.lower() in results.first.inner_text().lower()
    links = page.locator(".md-search-result__link").evaluate_all("links => links.map(a => a.href)")
    english = [u.startswith(session.site.url + "en/") for u in links]
    found = any(english) if path == "en/" else not all(english)
    assert found, f"{term!r} found no page in its language: {links}"
    box.fill("")


def test_conv_thumbnail_opens_in_the_lightbox(session: Session) -> None:
    page, site = session.page, session.site
    session.open(f"explore/{site_featured(site)}/")
    # every cell of a thumbnail grid is a figure (no empty paragraph may take the first cell)
    strays = page.evaluate("""() => Array.from(document.querySelectorAll('.tv-thumbs > *'))
        .filter(el => el.tagName !== 'FIGURE' && getComputedStyle(el).display !== 'none').length""")
    assert strays == 0, f"{strays} non-figure cells in the thumbnail grids"
    thumb = page.locator(".tv-thumbs a.glightbox").first
    thumb.scroll_into_view_if_needed()
    href = thumb.get_attribute("href") or ""
    # (a figure with a dark variant links its light one: "...gif#only-light"; the lightbox groups by scheme)
    assert "/conv/" in href and href.split("#")[0].endswith(".gif"), href
    thumb.click()
    box = page.locator(".glightbox-container, #glightbox-body").first
    expect(box).to_be_visible()
    img = page.locator(".glightbox-container .gslide.current img").first
    expect(img).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert (img.get_attribute("src") or "").endswith(href.split("/")[-1])
    page.keyboard.press("Escape")
    expect(page.locator(".glightbox-container")).to_have_count(0, timeout=10_000)


@pytest.mark.parametrize("path", ["cnn/", "en/cnn/"])
def test_dark_palette_toggles(session: Session, path: str) -> None:
    page = session.page
    session.open(path)
    body = page.locator("body")
    expect(body).to_have_attribute("data-md-color-scheme", "default")
    page.locator('form[data-md-component="palette"] label:not([hidden])').click()
    expect(body).to_have_attribute("data-md-color-scheme", "slate")
    page.locator('form[data-md-component="palette"] label:not([hidden])').click()
    expect(body).to_have_attribute("data-md-color-scheme", "default")


def test_no_horizontal_scroll_on_a_phone(session: Session) -> None:
    page, site = session.page, session.site
    page.set_viewport_size({"width": PHONE, "height": 812})
    phone_shots = SCREENSHOTS / "phone"
    phone_shots.mkdir(parents=True, exist_ok=True)
    wide: list[str] = []
    try:
        for path in site.pages():
            session.open(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE:
                wide.append(f"/{path}: scrollWidth {width} > {PHONE}: {page.evaluate(OVERFLOWING, PHONE)}")
            if path in ("", "en/", "convolution/", "en/convolution/"):
                page.evaluate(LOAD_ALL_IMAGES)
                page.screenshot(path=str(phone_shots / screenshot_name(path)), full_page=True)
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    assert not wide, "\n".join(wide)
