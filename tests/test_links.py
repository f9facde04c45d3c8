"""Links of the real built site: every internal URL and #anchor resolves; nothing loads from another host.

Plain `<a href>` links to other sites are allowed (a reader chooses to follow them); every element that
loads something by itself (img, script, link, iframe, source, video, audio, object, embed) must stay
on the site, and so must every url() in the site's CSS.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from support import BuiltSite, parse_html

LOADING_TAGS = {"img", "script", "link", "iframe", "source", "video", "audio", "object", "embed", "track", "input"}


def html_files(site: BuiltSite) -> list[Path]:
    return sorted(site.root.rglob("*.html"))


def page_url(site: BuiltSite, path: Path) -> str:
    return site.url + path.relative_to(site.root).as_posix()


def target_file(site: BuiltSite, url: str) -> Path | None:
    """The file a same-site URL points at (a directory URL means its index.html), or None."""
    path = unquote(urlparse(url).path)
    base = urlparse(site.url).path
    if not path.startswith(base):
        return None
    rel = path[len(base) :]
    candidate = site.root / rel
    if rel == "" or rel.endswith("/") or candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate


@cache
def ids_of(path: Path) -> frozenset[str]:
    return frozenset(parse_html(path.read_text(encoding="utf-8")).ids)


def urls(tag: str, attr: str, value: str) -> list[str]:
    """srcset holds several comma-separated 'URL descriptor' pairs; other attributes one URL."""
    if attr == "srcset":
        return [part.strip().split()[0] for part in value.split(",") if part.strip()]
    return [value.strip()]


def is_same_site(site: BuiltSite, absolute: str) -> bool:
    return urlparse(absolute).netloc == urlparse(site.url).netloc


@pytest.fixture(scope="module")
def all_refs(built_site: BuiltSite) -> list[tuple[Path, str, str, str]]:
    refs = []
    for path in html_files(built_site):
        for tag, attr, value in parse_html(path.read_text(encoding="utf-8")).refs:
            if tag in (
                "a",
                "img",
                "link",
                "script",
                "iframe",
                "source",
                "video",
                "audio",
                "object",
                "embed",
                "track",
                "input",
                "area",
            ):
                refs += [(path, tag, attr, u) for u in urls(tag, attr, value)]
    return refs


def test_the_site_has_pages_in_both_languages(built_site: BuiltSite) -> None:
    pages = built_site.pages()
    assert "" in pages and "en/" in pages
    for chapter in ("cnn/", "convolution/", "explore/"):
        assert chapter in pages and "en/" + chapter in pages


def test_every_internal_link_and_anchor_resolves(built_site: BuiltSite, all_refs: list) -> None:
    broken: list[str] = []
    checked = 0
    for path, tag, attr, ref in all_refs:
        if not ref or ref.startswith(("data:", "mailto:", "javascript:")):
            continue
        absolute = urljoin(page_url(built_site, path), ref)
        if urlparse(absolute).scheme not in ("http", "https") or not is_same_site(built_site, absolute):
            continue  # another site: allowed for <a> only, checked below
        target = target_file(built_site, absolute)
        where = f"{path.relative_to(built_site.root)}: <{tag} {attr}={ref!r}>"
        if target is None or not target.is_file():
            broken.append(f"{where} -> missing {target}")
            continue
        fragment = unquote(urlparse(absolute).fragment)
        if fragment and target.suffix == ".html" and fragment not in ids_of(target):
            broken.append(f"{where} -> no id {fragment!r} in {target.relative_to(built_site.root)}")
        checked += 1
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:50])
    assert checked > 1000  # the explore pages alone hold hundreds of figures


def test_no_element_loads_anything_from_another_host(built_site: BuiltSite, all_refs: list) -> None:
    offenders = []
    for path, tag, attr, ref in all_refs:
        if tag not in LOADING_TAGS:
            continue
        if ref.startswith("//"):
            offenders.append(f"{path.relative_to(built_site.root)}: protocol-relative <{tag} {attr}={ref!r}>")
            continue
        absolute = urljoin(page_url(built_site, path), ref)
        if urlparse(absolute).scheme in ("http", "https") and not is_same_site(built_site, absolute):
            offenders.append(f"{path.relative_to(built_site.root)}: <{tag} {attr}={ref!r}>")
    assert not offenders, "\n".join(offenders[:50])


def test_no_protocol_relative_links(built_site: BuiltSite, all_refs: list) -> None:
    bad = [f"{p.relative_to(built_site.root)}: <{t} {a}={r!r}>" for p, t, a, r in all_refs if r.startswith("//")]
    assert not bad, "\n".join(bad[:50])


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")
CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""")


def test_stylesheets_load_nothing_from_another_host(built_site: BuiltSite) -> None:
    offenders = []
    for css in built_site.root.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for ref in CSS_URL.findall(text) + CSS_IMPORT.findall(text):
            if ref.startswith(("//", "http:", "https:")):
                offenders.append(f"{css.relative_to(built_site.root)}: {ref}")
    assert not offenders, "\n".join(offenders[:50])


def test_internal_absolute_links_use_the_configured_site_url(built_site: BuiltSite, all_refs: list) -> None:
    """Links that spell out a host (canonical, hreflang alternates) use SITE_URL, not a default port."""
    stray = [
        f"{p.relative_to(built_site.root)}: {r}"
        for p, t, a, r in all_refs
        if re.match(r"https?://(127\.0\.0\.1|localhost)", r) and not r.startswith(built_site.url)
    ]
    assert not stray, "\n".join(stray[:50])


def test_search_index_leaves_out_generated_blocks_and_pages(built_site: BuiltSite) -> None:
    """The search index, which every reader's first search downloads, holds the prose of the pages and
    not the gallery's cards (their embed code repeats every caption twice) nor the explore pages.
    Material's parser ends an exclusion at the first closing tag of the same name, so a gallery <div>
    with inner <div>s used to leak ~190 KB of embed code into the index."""
    index = json.loads((built_site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    by_page: dict[str, int] = {}
    for doc in index["docs"]:
        page = doc["location"].split("#")[0]
        by_page[page] = by_page.get(page, 0) + len(doc["text"])
        assert "&lt;img src=" not in doc["text"], f"embed code in the search index at {doc['location']}"
    assert not [p for p in by_page if "explore/" in p and p not in ("explore/", "en/explore/")]
    for page in ("figures/", "en/figures/"):
        assert 3_000 < by_page[page] < 30_000, (page, by_page[page])  # the prose sections, not the cards
