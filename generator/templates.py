"""Compiled theme templates, shared by every build in one process and kept beside the figure cache.

MkDocs gives each build a new Jinja environment, which compiles the theme's templates again: Material's
~38 templates take about 0.3 s, and mkdocs-static-i18n builds the site once per language, `mkdocs serve`
once per change, every `mkdocs build` once more. This bytecode cache keeps the compiled code in memory for
the life of the process and in `<cache_dir>/templates/` for the next process.

Jinja checks a template's source checksum before it takes the code, so an edited template is compiled
again. A file on disk is verified, not trusted: it holds the sha256 of its payload, and its name hashes
everything the code depends on besides the source: the environment's syntax settings, each filter's and
test's calling convention (Jinja compiles a context filter's call with `context` first, so a plugin that
adds or swaps a filter gets code of its own), Jinja's version and Python's bytecode format. A damaged,
foreign or unreadable file is a miss; a file that cannot be written (a read-only cache) is skipped.
Either way the template is compiled as if there were no cache.

`precompile` does that work early: a build that trains its model compiles the theme's templates while
it waits for the trainer, so its pages do not (~0.3 s of Material's templates on a cold build).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import os
from collections.abc import Iterable
from pathlib import Path
from types import CodeType

import jinja2
from jinja2 import Environment, meta
from jinja2.bccache import Bucket, BytecodeCache

FOLDER = "templates"  # under the plugin's cache_dir
HEADER = b"tinyvgg-jinja-bytecode 1\n"
_CODE: dict[tuple[str, str, str], CodeType] = {}


def _compiler(env: Environment) -> str:
    """What, besides the source, shapes the code Jinja compiles: its syntax, extensions and escaping."""
    escape = env.autoescape
    parts = (
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        sorted(env.extensions),
        escape if isinstance(escape, bool) else f"{escape.__module__}.{escape.__qualname__}",
        type(env).__module__ + "." + type(env).__qualname__,
        _calling(env.filters),
        _calling(env.tests),
    )
    return repr(parts)


def _calling(functions: dict) -> list[tuple[str, str]]:
    """Each filter's (or test's) name and what Jinja passes it first (context, environment...), which the
    compiled call spells out."""
    return sorted((name, str(getattr(f, "jinja_pass_arg", ""))) for name, f in functions.items())


def file_name(key: tuple[str, str, str]) -> str:
    """The file of one compiled template: a hash of its key, Jinja's version and Python's bytecode format."""
    salt = (jinja2.__version__, importlib.util.MAGIC_NUMBER.hex(), *key)
    return hashlib.sha256(repr(salt).encode()).hexdigest()[:32] + ".jbc"


def encode(code: CodeType) -> bytes:
    payload = marshal.dumps(code)
    return HEADER + hashlib.sha256(payload).digest() + payload


def decode(data: bytes) -> CodeType | None:
    """The code object in a file's bytes, or None when they are not exactly what `encode` wrote."""
    start = len(HEADER) + 32
    if not data.startswith(HEADER) or hashlib.sha256(data[start:]).digest() != data[len(HEADER) : start]:
        return None
    try:
        code = marshal.loads(data[start:])
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


class SharedCode(BytecodeCache):
    """In memory for the process; in `folder` (if given) across processes."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    def load_bytecode(self, bucket: Bucket) -> None:
        key = (_compiler(bucket.environment), bucket.key, bucket.checksum)
        code = _CODE.get(key)
        if code is None and self.folder is not None:
            try:
                code = decode((self.folder / file_name(key)).read_bytes())
            except OSError:
                code = None
            if code is not None:
                _CODE[key] = code
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is None:
            return
        key = (_compiler(bucket.environment), bucket.key, bucket.checksum)
        _CODE[key] = bucket.code
        if self.folder is not None:
            path = self.folder / file_name(key)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(encode(bucket.code))
                os.replace(tmp, path)
            except OSError:  # a read-only or full cache: the template was compiled, that is all we need
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)

    def clear(self) -> None:
        _CODE.clear()


def share_compiled_templates(env: Environment, cache_dir: Path | None = None) -> Environment:
    """Give `env` the shared cache (on disk under cache_dir/templates), unless the site set its own."""
    if env.bytecode_cache is None:
        env.bytecode_cache = SharedCode(Path(cache_dir) / FOLDER if cache_dir is not None else None)
    return env


def precompile(env: Environment, roots: Iterable[str]) -> int:
    """Compile `roots` and every template they extend, include or import by a constant name into env's
    bytecode cache (share_compiled_templates), the way rendering them would; returns how many were
    compiled. A root whose code is cached already is skipped with what it names. Whatever cannot be
    compiled here (a syntax error, a filter that a plugin adds later) is left for the render to compile
    and to report: this only does early what the build would do anyway."""
    cache = env.bytecode_cache
    if cache is None or env.loader is None:
        return 0
    compiled, seen, todo = 0, set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source, filename, _ = env.loader.get_source(env, name)
            bucket = cache.get_bucket(env, name, filename, source)
            if bucket.code is not None:
                continue
            tree = env.parse(source, name, filename)
            todo += [ref for ref in meta.find_referenced_templates(tree) if ref is not None]
            bucket.code = env.compile(tree, name, filename)
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            continue
        cache.set_bucket(bucket)
        compiled += 1
    return compiled
