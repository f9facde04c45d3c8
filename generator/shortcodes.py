"""Markdown shortcodes: `{{ figure KIND key=value ... }}`, `{{ value NAME key=value ... }}`,
`{{ table network }}`. Code spans and fenced code blocks are left alone, so the syntax can be
documented on the site itself. Pure: no MkDocs import; errors carry the 1-based line number."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from generator.errors import ShortcodeError

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
FENCE = re.compile(r"^\s*(`{3,}(?=[^`]*$)|~{3,})")  # a backtick fence's info string has no backtick
BACKTICKS = re.compile(r"`+")


@dataclass(frozen=True)
class Shortcode:
    name: str  # "figure", "value", "table", ...
    arg: str  # the first bare word: figure kind, value name, table name
    params: dict[str, str]
    line: int
    alone: bool = False  # nothing else on its line (blocks such as {{ samples }} must be)


QUOTING = re.compile(r"['\"\\]|(?![ \t\r\n])\s")  # what shlex reads differently from str.split()


def parse_args(raw: str) -> tuple[str, dict[str, str]]:
    """'conv-overview layer=conv_1_1 neuron=0' -> ('conv-overview', {'layer': 'conv_1_1', 'neuron': '0'}).

    Words are split as a POSIX shell splits them (shlex), so a value may be quoted. Arguments without
    quotes, backslashes or unusual white space (nearly all) split the same way on plain white space,
    ten times faster: a site has thousands of shortcodes and every build reads them twice."""
    if not QUOTING.search(raw):
        words = raw.split()
    else:
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


def code_spans(line: str) -> list[tuple[int, int]]:
    """The (start, end) of every inline code span: a run of n backticks up to the next run of exactly
    n. Linear in the line's length (a regex with a lazy group is quadratic on unclosed backticks)."""
    runs = [(m.start(), m.end()) for m in BACKTICKS.finditer(line)]
    later: dict[int, list[int]] = {}  # run length -> indices of runs of that length, last first
    for i in range(len(runs) - 1, -1, -1):
        later.setdefault(runs[i][1] - runs[i][0], []).append(i)
    spans, i = [], 0
    while i < len(runs):
        start, end = runs[i]
        same = later[end - start]
        while same and same[-1] <= i:
            same.pop()
        if not same:
            i += 1
            continue
        j = same.pop()
        spans.append((start, runs[j][1]))
        i = j + 1
    return spans


def find_shortcodes(line: str, known: frozenset[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, name, arguments) of every `{{ name ... }}` in a line, in linear time.

    Text such as `{{ page.title }}` or `{{ Upper }}` is not ours and stays as it is. A known name with
    the wrong case, or a known name whose `}}` is missing, raises ShortcodeError: either would
    otherwise reach the page verbatim."""
    found = []
    i = 0
    while (start := line.find("{{", i)) != -1:
        close = line.find("}}", start + 2)
        inner = line[start + 2 : len(line) if close == -1 else close]
        body = inner.strip()
        m = NAME.match(body)
        name = m.group(0) if m else ""
        if close == -1:
            if name.lower() in known:
                raise ShortcodeError(f"{{{{ {name}: the shortcode is not closed; end it with }}}} on the same line")
            break
        if not m or "{" in inner or "}" in inner or (len(body) > m.end() and not body[m.end()].isspace()):
            i = start + 1
            continue
        if name not in known and name.lower() in known:
            raise ShortcodeError(
                f"{{{{ {name} ... }}}}: shortcode names are lower case; write {{{{ {name.lower()} ... }}}}"
            )
        if name.islower():
            found.append((start, close + 2, name, body[m.end() :]))
        i = close + 2
    return found


def expand(markdown: str, handler: Callable[[Shortcode], str], known: frozenset[str] = frozenset()) -> str:
    """Replace every shortcode outside code with handler(shortcode); collect all errors.

    `known` names the shortcodes the caller handles: for those, a wrong case or a missing `}}` is an
    error instead of text that would reach the page as it is."""
    known = frozenset(n.lower() for n in known)
    out: list[str] = []
    errors: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(markdown.split("\n"), start=1):
        m = FENCE.match(line)
        if fence is not None:
            # A closing fence is fence characters only: "```python" inside a block is content.
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip():
                fence = None
            out.append(line)
            continue
        if m:
            fence = m.group(1)
            out.append(line)
            continue
        spans = code_spans(line) if "`" in line else []
        pieces, pos = [], 0
        try:
            codes = find_shortcodes(_blank(line, spans), known)
        except ShortcodeError as exc:
            errors.append((number, str(exc)))
            out.append(line)
            continue
        for start, end, name, raw in codes:
            pieces.append(line[pos:start])
            text = line[start:end]
            try:
                arg, params = parse_args(raw)
                alone = not (line[:start].strip() or line[end:].strip())
                pieces.append(handler(Shortcode(name, arg, params, number, alone)))
            except ShortcodeError as exc:
                errors.append((number, f"{text}: {exc}"))
                pieces.append(text)
            pos = end
        pieces.append(line[pos:])
        out.append("".join(pieces))
    if errors:
        raise ShortcodeErrors(errors)
    return "\n".join(out)


def _blank(line: str, spans: list[tuple[int, int]]) -> str:
    """The line with its code spans replaced by spaces (same length, so positions stay valid)."""
    parts, pos = [], 0
    for a, b in spans:
        parts += [line[pos:a], " " * (b - a)]
        pos = b
    return "".join([*parts, line[pos:]])
