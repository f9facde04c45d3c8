"""Another author's project: no i18n, no explore pages, one page with two figures, the sample grid and a
value, one page with the shortcode reference; in three themes (Material, and MkDocs' own mkdocs and
readthedocs). Each builds with --strict; in Chromium the figures load, the shipped stylesheet lays the
samples out as a grid, and nothing is requested from another host. Screenshots at 1280 px go to
screenshots/third-party-<theme>.png (git-ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from reuse_support import copy_model, make_project, plugin_yaml, trained_cache
from support import REPO, parse_html, run_mkdocs, serve_directory
from test_browser import CHROMIUM_ARGS, LOAD_ALL_IMAGES, Traffic, record

pytestmark = pytest.mark.slow
__all__ = ["trained_cache"]  # the session fixture, imported for pytest

THEMES = ("material", "mkdocs", "readthedocs")
# The theme's own settings a careful author would use. Material: no Google Fonts; mkdocs and readthedocs:
# no highlight.js from cdnjs (both themes load it from there unless told not to). Neither is the plugin's.
THEME_YAML = {
    "material": "  name: material\n  font: false\n",
    "mkdocs": "  name: mkdocs\n  highlightjs: false\n",
    "readthedocs": "  name: readthedocs\n  highlightjs: false\n",
}
PAGES = {
    "index.md": """\
        # A course on convolutions

        The network behind these figures reaches VALUE[{{ value test-accuracy }}] on its test images.

        {{ figure input }}

        Its first layer's kernels after training:

        {{ figure kernels layer=conv_1_1 }}

        ## The sample images

        {{ samples }}
        """,
    "shortcodes.md": """\
        # Shortcodes

        {{ shortcode-reference }}
        """,
}


@dataclass(frozen=True)
class ThemeSite:
    theme: str
    root: Path
    url: str
    log: str


@pytest.fixture(scope="module")
def sites(trained_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ThemeSite]]:
    """The project in every theme, each served on its own port while the module runs. One cache: the
    first build renders the figures, the others take them from it."""
    base = tmp_path_factory.mktemp("third-party")
    cache = copy_model(trained_cache, base / "cache")
    built: dict[str, ThemeSite] = {}
    servers = []
    try:
        for theme in THEMES:
            root = base / f"site-{theme}"
            server = serve_directory(root)
            url, _ = server.__enter__()
            servers.append(server)
            config = f"site_name: Convolutions, {theme}\ntheme:\n{THEME_YAML[theme]}plugins:\n  - search\n"
            cfg = make_project(base / theme, config + plugin_yaml(cache), PAGES)
            proc = run_mkdocs(cfg, root, url + "/", timeout=600)
            assert proc.returncode == 0, f"{theme}: mkdocs build --strict failed:\n{proc.stdout}"
            built[theme] = ThemeSite(theme, root, url + "/", proc.stdout)
        yield built
    finally:
        for server in reversed(servers):
            server.__exit__(None, None, None)


@pytest.mark.parametrize("theme", THEMES)
def test_the_project_builds_strict_with_the_stylesheet_and_only_its_figures(
    sites: dict[str, ThemeSite], theme: str
) -> None:
    site = sites[theme]
    index = (site.root / "index.html").read_text(encoding="utf-8")
    assert "{{" not in index and "tvstash" not in index
    assert re.search(r"VALUE\[\d+\.\d %\]", index)
    assert re.search(r'<link [^>]*href="assets/tinyvgg.css"', index), "the stylesheet is not linked"
    shipped = (REPO / "generator" / "assets" / "tinyvgg.css").read_bytes()
    assert (site.root / "assets" / "tinyvgg.css").read_bytes() == shipped
    figures = parse_html(index).figures
    assert [f.cls for f in figures] == ["tv-figure tv-input tv-text", "tv-figure tv-kernels tv-text"]  # text: legible
    written = sorted(
        p.relative_to(site.root / "figures").as_posix() for p in (site.root / "figures").rglob("*") if p.is_file()
    )
    # (the kernels figure has words: in the theme's language, English here; no dark variants without a dark
    # scheme; `{{ samples }}` shows the sample's photo)
    assert len(written) == 4 and "manifest.json" in written and "model/kernels-conv_1_1.en.png" in written, written
    assert any(w.endswith("/photo.png") for w in written), written
    assert not (site.root / "explore").exists()
    reference = (site.root / "shortcodes" / "index.html").read_text(encoding="utf-8")
    assert reference.count('class="tv-reference"') == 3 and "<code>conv-detail</code>" in reference


def test_a_stylesheet_of_the_sites_own_replaces_the_shipped_one(trained_cache: Path, tmp_path: Path) -> None:
    """docs/assets/tinyvgg.css in the author's docs wins, and is linked once."""
    cache = copy_model(trained_cache, tmp_path / "cache")
    own = "/* my own figure styles */\n.tv-samples { display: flex; }\n"
    cfg = make_project(
        tmp_path / "p",
        "site_name: Own CSS\ntheme:\n  name: mkdocs\n  highlightjs: false\nplugins:\n" + plugin_yaml(cache),
        {**PAGES, "assets/tinyvgg.css": own},
    )
    proc = run_mkdocs(cfg, tmp_path / "site", "http://127.0.0.1:8765/", timeout=600)
    assert proc.returncode == 0, proc.stdout
    assert (tmp_path / "site" / "assets" / "tinyvgg.css").read_text(encoding="utf-8") == own
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<link [^>]*href="assets/tinyvgg.css"', index)) == 1


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: `playwright install` cannot download a browser here."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


SAMPLES_LAYOUT = """
() => {
  const grid = document.querySelector('.tv-samples');
  const cells = Array.from(grid.children).map(c => c.getBoundingClientRect());
  const sheets = Array.from(document.styleSheets).map(s => s.href || '');
  const img = document.querySelector('figure.tv-figure img');
  return {display: getComputedStyle(grid).display, columns: getComputedStyle(grid).gridTemplateColumns,
          cellWidth: cells.length ? cells[0].width : 0, gridWidth: grid.getBoundingClientRect().width,
          sheet: sheets.some(h => h.endsWith('/assets/tinyvgg.css')),
          figureImgMax: getComputedStyle(img).maxWidth};
}
"""


@pytest.mark.browser
@pytest.mark.parametrize("theme", THEMES)
def test_figures_load_and_the_samples_are_a_grid_in_every_theme(
    sites: dict[str, ThemeSite], browser: Browser, theme: str
) -> None:
    site = sites[theme]
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme="light", service_workers="block"
    )
    context.set_default_timeout(30_000)
    traffic = Traffic()
    record(context, traffic)
    page: Page = context.new_page()
    page.on("pageerror", lambda exc: traffic.console.append(f"uncaught: {exc}"))
    try:
        problems: list[str] = []
        for path in ("", "shortcodes/"):
            page.goto(site.url + path, wait_until="networkidle")
            broken = page.evaluate(LOAD_ALL_IMAGES)
            page.wait_for_load_state("networkidle")
            problems += [f"/{path}: image did not load: {src}" for src in broken]
            if path == "":
                assert page.evaluate("document.images.length") >= 3  # two figures and a sample
                layout = page.evaluate(SAMPLES_LAYOUT)
                assert layout["sheet"], "tinyvgg.css is not among the page's stylesheets"
                assert layout["display"] == "grid", layout
                # auto-fill columns of at least 8.5rem: one sample takes a cell, not the whole text column
                assert 0 < layout["cellWidth"] < layout["gridWidth"] / 2, layout
                assert layout["figureImgMax"] == "100%", layout
                shots = REPO / "screenshots"
                shots.mkdir(exist_ok=True)
                page.screenshot(path=str(shots / f"third-party-{theme}.png"), full_page=True)
        problems += [f"console: {m}" for m in traffic.console]
        problems += [f"request failed: {f}" for f in traffic.failed]
        external = sorted({u for u in traffic.requests if not u.startswith((site.url, "data:", "blob:"))})
        assert not external, "requests to other hosts:\n" + "\n".join(external)
        assert not problems, "\n".join(problems)
    finally:
        context.close()
