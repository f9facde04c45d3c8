"""Everything the plugin does for mkdocs-static-i18n, in one place. Without that plugin (another
author's single-language site) every function here degrades to the plain MkDocs behaviour.

mkdocs-static-i18n builds the site once per language, re-running every plugin's events; it reads a
few attributes of the files it sees to wire up the language switcher and the sitemaps.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File

# <link rel="alternate" hreflang=...> in a page's head. mkdocs-static-i18n points them at the page's
# translation; Material's JS takes every such link for a language root and fetches sitemap.xml under it
# (e.g. /en/cnn/sitemap.xml: a 404 on every page load). The hreflang alternates are in sitemap.xml.
HREFLANG_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


def _plugin(config: MkDocsConfig) -> object | None:
    return config.plugins.get("i18n")


def page_lang(config: MkDocsConfig) -> str:
    """'zh' or 'en': the language being built (the theme's language on a single-language site)."""
    lang = getattr(_plugin(config), "current_language", None) or config.theme.get("language") or "en"
    return "zh" if str(lang).startswith("zh") else "en"


def doc_lang(config: MkDocsConfig, src_uri: str) -> str:
    """'zh' or 'en': the language of a Markdown file under docs/ (mkdocs-static-i18n's folder structure:
    its first folder names the language; elsewhere, and without that plugin, the default language)."""
    i18n = _plugin(config)
    first = src_uri.split("/", 1)[0]
    langs = getattr(i18n, "build_languages", None) or []
    if i18n is not None and first in langs:
        return "zh" if first.startswith("zh") else "en"
    default = getattr(i18n, "default_language", None) if i18n is not None else None
    lang = default or config.theme.get("language") or "en"
    return "zh" if str(lang).startswith("zh") else "en"


def has_dark_scheme(config: MkDocsConfig) -> bool:
    """Can a reader switch the site to a dark colour scheme (Material's palette with `slate`)? Only then
    are the figures' dark variants worth publishing: Material alone shows `#only-dark` pictures."""
    if config.theme.name != "material":
        return False
    palette = config.theme.get("palette") or []
    entries = palette if isinstance(palette, list) else [palette]
    return any(isinstance(p, dict) and p.get("scheme") == "slate" for p in entries)


def is_default_build(config: MkDocsConfig) -> bool:
    """The build that writes the shared files (figures/): the only one without i18n."""
    i18n = _plugin(config)
    return i18n is None or getattr(i18n, "current_language", None) == getattr(i18n, "default_language", None)


def later_languages(config: MkDocsConfig) -> set[str]:
    """The languages ('zh', 'en') of the builds still to come after this one: mkdocs-static-i18n builds the
    default language first, then every other one from its on_post_build. Empty on a single-language site."""
    i18n = _plugin(config)
    if i18n is None:
        return set()
    current = getattr(i18n, "current_language", None)
    others = [lang for lang in getattr(i18n, "build_languages", None) or [] if lang != current]
    return {"zh" if str(lang).startswith("zh") else "en" for lang in others} - {page_lang(config)}


def lang_prefix(config: MkDocsConfig, lang: str) -> str:
    """Where a language's pages live: '' for the default language or a single-language site, else 'en/'."""
    i18n = _plugin(config)
    if i18n is None or lang == getattr(i18n, "default_language", None):
        return ""
    return f"{lang}/"


def generated_page(config: MkDocsConfig, path: str, content: dict[str, str], lang: str) -> File:
    """A generated page (`path` under each language's folder) in the language being built, wired into
    the language switcher when there is one. `content` holds the Markdown of every language."""
    if _plugin(config) is None:
        return File.generated(config, path, content=content[lang])
    both = {
        code: File.generated(config, lang_prefix(config, code) + path, content=text) for code, text in content.items()
    }
    page = both[lang]
    # The attributes mkdocs-static-i18n reads to wire up its language switcher (not File's own).
    for attr, value in (("alternates", both), ("locale", lang), ("locale_alternate_of", lang), ("localization", lang)):
        setattr(page, attr, value)
    return page


def list_in_sitemap(config: MkDocsConfig, lang: str, pages: list[File]) -> None:
    """mkdocs-static-i18n writes sitemap.xml from the pages it saw in its own on_files, before ours were
    generated: list them there too, or search engines never learn of them."""
    listed = getattr(_plugin(config), "i18n_files_per_language", None)
    if isinstance(listed, dict) and isinstance(listed.get(lang), list):
        listed[lang].extend(pages)


def drop_hreflang_links(output: str) -> str:
    """The page without the head's hreflang links (see HREFLANG_LINK); the header's switcher stays."""
    head, sep, body = output.partition("</head>")
    return HREFLANG_LINK.sub("", head) + sep + body


def copy_sitemaps(config: MkDocsConfig) -> None:
    """Material's language switcher reads sitemap.xml under every language root."""
    i18n = _plugin(config)
    site = Path(config.site_dir)
    for lang in getattr(i18n, "build_languages", None) or []:
        if lang == getattr(i18n, "default_language", None):
            continue
        for name in ("sitemap.xml", "sitemap.xml.gz"):
            if (site / name).is_file() and (site / lang).is_dir():
                tmp = site / lang / f".{name}.tmp"
                shutil.copyfile(site / name, tmp)
                os.replace(tmp, site / lang / name)
