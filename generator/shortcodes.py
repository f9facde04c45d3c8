"""Markdown shortcodes: `{{ figure KIND key=value ... }}`, `{{ value NAME key=value ... }}`,
`{{ table network }}`. Code spans and fenced code blocks are left alone, so the syntax can be
documented on the site itself. Pure: no MkDocs import; errors carry the 1-based line number."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from generator.errors import ShortcodeError

SHORTCODE = re.compile(r"\{\{\s*([a-z-]+)((?:\s+[^{}]*?)?)\s*\}\}")
FENCE = re.compile(r"^\s*(`{3,}(?=[^`]*$)|~{3,})")  # a backtick fence's info string has no backtick
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


@dataclass(frozen=True)
class Shortcode:
    name: str  # "figure", "value", "table", ...
    arg: str  # the first bare word: figure kind, value name, table name
    params: dict[str, str]
    line: int


def parse_args(raw: str) -> tuple[str, dict[str, str]]:
    """'conv-overview layer=conv_1_1 neuron=0' -> ('conv-overview', {'layer': 'conv_1_1', 'neuron': '0'})."""
    try:
        words = shlex.split(raw)
    except ValueError as exc:
        raise ShortcodeError(f"cannot parse shortcode arguments {raw!r}: {exc}") from exc
    arg, params = "", {}
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            if not key or key in params:
                raise ShortcodeError(f"bad or repeated parameter {word!r}")
            params[key] = value
        elif not arg:
            arg = word
        else:
            raise ShortcodeError(f"unexpected word {word!r}; parameters are written key=value")
    return arg, params


class ShortcodeErrors(ShortcodeError):
    """All the shortcode errors of one page, each with its line."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in errors))


def expand(markdown: str, handler: Callable[[Shortcode], str]) -> str:
    """Replace every shortcode outside code with handler(shortcode); collect all errors."""
    out: list[str] = []
    errors: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(markdown.split("\n"), start=1):
        m = FENCE.match(line)
        if fence is not None:
            # A closing fence is fence characters only: "```python" inside a block is content.
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end():].strip():
                fence = None
            out.append(line)
            continue
        if m:
            fence = m.group(1)
            out.append(line)
            continue
        spans = [s.span() for s in CODE_SPAN.finditer(line)]

        def replace(match: re.Match, number: int = number, spans: list = spans) -> str:
            if any(a <= match.start() < b for a, b in spans):
                return match.group(0)
            try:
                arg, params = parse_args(match.group(2))
                return handler(Shortcode(match.group(1), arg, params, number))
            except ShortcodeError as exc:
                errors.append((number, f"{match.group(0)}: {exc}"))
                return match.group(0)

        out.append(SHORTCODE.sub(replace, line))
    if errors:
        raise ShortcodeErrors(errors)
    return "\n".join(out)
