"""Compiled theme templates, shared by every build in one process.

MkDocs gives each build a new Jinja environment, which compiles the theme's templates again: Material's
~38 templates take about 0.2 s, and mkdocs-static-i18n builds the site once per language, `mkdocs serve`
once per change. This in-memory bytecode cache keeps the compiled code for the life of the process. Jinja
checks a template's source checksum before it takes the code, so an edited template is compiled again;
nothing is written to disk, so there is no file to damage.
"""

from __future__ import annotations

from types import CodeType

from jinja2 import Environment
from jinja2.bccache import Bucket, BytecodeCache

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
    )
    return repr(parts)


class SharedCode(BytecodeCache):
    def load_bytecode(self, bucket: Bucket) -> None:
        code = _CODE.get((_compiler(bucket.environment), bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            _CODE[(_compiler(bucket.environment), bucket.key, bucket.checksum)] = bucket.code

    def clear(self) -> None:
        _CODE.clear()


def share_compiled_templates(env: Environment) -> Environment:
    """Give `env` the process-wide cache, unless the site set a bytecode cache of its own."""
    if env.bytecode_cache is None:
        env.bytecode_cache = SharedCode()
    return env
