"""The compiled-template cache (generator/templates.py): shared in memory, kept on disk, verified.

Cheap: Jinja environments over in-memory templates, no MkDocs build (milliseconds)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment

from generator import templates

SOURCE = {"page.html": "<p>{{ title }}</p>{% for x in items %}<i>{{ x }}</i>{% endfor %}"}


def env_for(folder: Path, **syntax: object) -> Environment:
    """An environment whose compiled templates go to `folder` (<cache_dir>/templates)."""
    assert folder.name == templates.FOLDER
    env = Environment(loader=DictLoader(SOURCE), autoescape=True, **syntax)  # type: ignore[arg-type]
    return templates.share_compiled_templates(env, folder.parent)


@pytest.fixture(autouse=True)
def empty_memory() -> None:
    templates._CODE.clear()


@contextlib.contextmanager
def counting_compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """[how many templates Jinja compiled inside the block]"""
    count = [0]
    original = Environment.compile

    def counting(self: Environment, *args: object, **kwargs: object) -> object:
        count[0] += 1
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Environment, "compile", counting)
    try:
        yield count
    finally:
        monkeypatch.setattr(Environment, "compile", original)


def compiles(env: Environment, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many templates `env` compiles to render page.html once."""
    with counting_compiles(monkeypatch) as count:
        assert env.get_template("page.html").render(title="<b>", items=[1, 2]) == "<p>&lt;b&gt;</p><i>1</i><i>2</i>"
    return count[0]


def test_a_second_process_loads_the_code_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    assert compiles(env_for(folder), monkeypatch) == 1
    files = list(folder.glob("*.jbc"))
    assert len(files) == 1
    assert compiles(env_for(folder), monkeypatch) == 0  # the same process: from memory
    templates._CODE.clear()  # as a new process starts
    assert compiles(env_for(folder), monkeypatch) == 0  # from the file


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-7],  # truncated
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit flipped in the code
        lambda data: b"",  # empty
        lambda data: b"not a cache file" + data,  # foreign
    ],
)
def test_a_damaged_file_is_a_miss_and_is_written_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage) -> None:
    folder = tmp_path / "templates"
    compiles(env_for(folder), monkeypatch)
    (path,) = folder.glob("*.jbc")
    good = path.read_bytes()
    path.write_bytes(damage(good))
    templates._CODE.clear()
    assert compiles(env_for(folder), monkeypatch) == 1  # compiled again, not loaded
    assert path.read_bytes() == good  # and the file repaired


def test_code_that_is_no_code_object_is_refused() -> None:
    import hashlib
    import marshal

    payload = marshal.dumps(["not", "code"])
    assert templates.decode(templates.HEADER + hashlib.sha256(payload).digest() + payload) is None
    code = compile("x = 1", "t", "exec")
    assert templates.decode(templates.encode(code)) == code


def test_other_syntax_settings_use_other_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    compiles(env_for(folder), monkeypatch)
    compiles(env_for(folder, trim_blocks=True), monkeypatch)
    assert len(list(folder.glob("*.jbc"))) == 2


def test_an_unwritable_folder_only_costs_the_compilation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "templates"
    blocker.write_text("a file where the folder should be")
    assert compiles(env_for(blocker), monkeypatch) == 1
    assert blocker.read_text() == "a file where the folder should be"
    assert not list(tmp_path.glob(".*.tmp")) and sorted(p.name for p in tmp_path.iterdir()) == ["templates"]


def test_a_bytecode_cache_of_the_site_is_left_alone(tmp_path: Path) -> None:
    from jinja2 import FileSystemBytecodeCache

    own = FileSystemBytecodeCache(str(tmp_path))
    env = Environment(loader=DictLoader(SOURCE), bytecode_cache=own)
    assert templates.share_compiled_templates(env, tmp_path).bytecode_cache is own


LAYOUT = {
    "main.html": '{% extends "base.html" %}{% block body %}{{ title | shout }}{% endblock %}',
    "base.html": '<body>{% block body %}{% endblock %}{% include "partials/footer.html" %}</body>',
    "partials/footer.html": "{% import 'partials/macros.html' as m %}{{ m.sign() }}",
    "partials/macros.html": "{% macro sign() %}<i>end</i>{% endmacro %}",
    "partials/dynamic.html": "never named by a constant",
    "broken.html": "{% if %}",
}


def layout_env(folder: Path) -> Environment:
    env = Environment(loader=DictLoader(LAYOUT), autoescape=True)
    env.filters["shout"] = str.upper
    return templates.share_compiled_templates(env, folder.parent)


def test_precompile_compiles_what_rendering_needs_and_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "templates"
    assert templates.precompile(layout_env(folder), ["main.html"]) == 4  # extends, include, import followed
    assert len(list(folder.glob("*.jbc"))) == 4  # the next process finds them on disk too
    assert templates.precompile(layout_env(folder), ["main.html"]) == 0
    env = layout_env(folder)
    with counting_compiles(monkeypatch) as count:
        assert env.get_template("main.html").render(title="hi") == "<body>HI<i>end</i></body>"
    assert count == [0]  # rendering compiled nothing: precompile did it all


def test_precompile_leaves_errors_to_the_render(tmp_path: Path) -> None:
    from jinja2 import TemplateSyntaxError

    env = layout_env(tmp_path / "templates")
    assert templates.precompile(env, ["broken.html", "missing.html"]) == 0
    with pytest.raises(TemplateSyntaxError):
        env.get_template("broken.html")


def test_a_filter_called_otherwise_gets_code_of_its_own(tmp_path: Path) -> None:
    """Jinja compiles a context filter's call with `context` first: code compiled for a plain filter of the
    same name would call it wrongly. The filters' calling conventions are part of the key."""
    from jinja2 import pass_context

    folder = tmp_path / "templates"
    templates.precompile(layout_env(folder), ["main.html"])
    env = layout_env(folder)

    @pass_context
    def shout(context: object, value: str) -> str:
        return value.upper() + "!"

    env.filters["shout"] = shout  # a plugin swaps the filter (on_env), after the precompile
    assert env.get_template("main.html").render(title="hi") == "<body>HI!<i>end</i></body>"
    env.filters["extra"] = str.lower  # another filter: another key, even for code that does not use it
    assert templates._compiler(env) != templates._compiler(layout_env(folder))


def test_the_plugin_compiles_materials_templates_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a build that trains does meanwhile (plugin._compile_theme): the page template, everything it
    names and the static templates are compiled, so loading them later compiles nothing."""
    from mkdocs.config import load_config

    from generator.plugin import _compile_theme

    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ntheme:\n  name: material\n  font: false\n", encoding="utf-8")
    config = load_config(config_file=str(tmp_path / "mkdocs.yml"))
    _compile_theme(config, tmp_path / "cache")
    assert len(list((tmp_path / "cache" / templates.FOLDER).glob("*.jbc"))) > 20  # Material's partials too
    env = templates.share_compiled_templates(config.theme.get_env(), tmp_path / "cache")
    with counting_compiles(monkeypatch) as count:
        for name in ("main.html", "base.html", "partials/header.html", "partials/footer.html", "404.html"):
            env.get_template(name)
    assert count == [0]
