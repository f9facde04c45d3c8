"""The one escaping boundary: every string from data enters HTML or Markdown through this module.

Class names, file names, slugs, options and captions come from whoever made the data set or the
config. They are text, never markup. HTML is built with `el()` (text and attribute values escaped)
and pieces that are already HTML are marked `Html`, so an f-string never splices raw data into a tag.
Markdown gets `md_text()`, which turns every character Markdown, HTML or our shortcodes could read
as syntax into a numeric character reference: the page shows the same characters, as text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping

VOID = frozenset({"img", "br", "hr", "input", "link", "meta", "source", "wbr"})
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")  # element and attribute names are ours, never data
# Markdown inline syntax, HTML, table cells, attribute lists and our {{ shortcodes }}: anywhere.
_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()<>#!|&\"'~]")
# Block syntax that only counts where the text starts a line: list items, rules, setext headings.
_MD_LEADING = re.compile(r"^(\s*\d*)([-+=.)])(?=\s|$)")


class Html(str):
    """A string that is already HTML (built by el() or escaped): inserted as it is."""

    __slots__ = ()


def esc(value: object) -> Html:
    """`value` as HTML text or attribute content: Html passes through, anything else is escaped."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Html:
    return Html(esc(sep).join(esc(p) for p in parts))


def el(name: str, attrs: Mapping[str, object] | None = None, *children: object) -> Html:
    """<name attr="value">children</name>. Attribute values and str children are escaped; Html
    children are kept. An attribute whose value is None or False is left out; True writes it bare."""
    if not _NAME.match(name):
        raise ValueError(f"bad element name {name!r}")
    out = [f"<{name}"]
    for key, value in (attrs or {}).items():
        if not _NAME.match(key):
            raise ValueError(f"bad attribute name {key!r}")
        if value is None or value is False:
            continue
        out.append(f" {key}" if value is True else f' {key}="{esc(value)}"')
    out.append(">")
    if name in VOID:
        if children:
            raise ValueError(f"<{name}> takes no children")
        return Html("".join(out))
    out.extend(esc(child) for child in children)
    out.append(f"</{name}>")
    return Html("".join(out))


def md_text(value: object) -> str:
    """`value` as literal text inside Markdown (a heading, a table cell, a paragraph, a link text)."""
    text = _MD_SPECIAL.sub(lambda m: f"&#{ord(m.group(0))};", str(value).replace("\n", " "))
    return _MD_LEADING.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2))};", text)


def json_script(obj: object) -> Html:
    """JSON that is safe inside <script type="application/json">: no raw <, > or & can close the
    element, and U+2028/U+2029 cannot end a JavaScript line. (In an attribute, use esc(json).)"""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, safe in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("'", "\\u0027"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, safe)
    return Html(text)
