"""Mistakes an author can make with the plugin in a site of their own, each met by one clear error:
a block shortcode inside a paragraph, explore pages without content tabs, mkdocs-macros listed before
tinyvgg; and a quiet build (`mkdocs build -q`) that prints no progress bars."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from reuse_support import copy_model, error_lines, make_project, mkdocs_build, plugin_yaml, trained_cache

pytestmark = pytest.mark.slow
__all__ = ["trained_cache"]  # the session fixture, imported for pytest

BASE = "site_name: Mistakes\ntheme:\n  name: {theme}\nplugins:\n"


def config(
    cache: Path, theme: str = "mkdocs", extra_top: str = "", before: str = "", after: str = "", **options: object
) -> str:
    return BASE.format(theme=theme).replace("plugins:\n", extra_top + "plugins:\n") + "\n".join(
        p for p in (before, plugin_yaml(cache, **options), after) if p
    )


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("samples", "Our sample images: {{ samples }}"),
        ("gallery", "{{ gallery }} (every figure)"),
        ("shortcode-reference", "- {{ shortcode-reference }} and more"),
    ],
)
def test_a_block_inside_a_line_fails_naming_page_and_line(
    trained_cache: Path, tmp_path: Path, name: str, line: str
) -> None:
    cache = copy_model(trained_cache, tmp_path / "cache")
    page = f"# Blocks\n\nSome text.\n\n{line}\n"
    cfg = make_project(tmp_path / "p", config(cache), {"index.md": page})
    errors = error_lines(mkdocs_build(cfg, tmp_path / "site", "--strict"))
    assert len(errors) == 1, errors
    assert "index.md:5:" in errors[0] and f"{{{{ {name} }}}}" in errors[0], errors[0]
    assert "must stand alone on its line" in errors[0], errors[0]


def test_blocks_alone_on_their_line_build(trained_cache: Path, tmp_path: Path) -> None:
    """The same blocks, alone on their lines (one inside an admonition-like indent), build and are not
    wrapped in a paragraph."""
    cache = copy_model(trained_cache, tmp_path / "cache")
    page = "# Blocks\n\nSome text.\n\n{{ samples }}\n\n- a list item\n\n    {{ shortcode-reference }}\n"
    cfg = make_project(tmp_path / "p", config(cache), {"index.md": page})
    proc = mkdocs_build(cfg, tmp_path / "site", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<div class="tv-samples">' in html and 'data-kind="figures"' in html
    assert not re.search(r"<p>\s*<div", html), "a block landed in a paragraph"


@pytest.mark.parametrize(
    ("theme", "tabbed", "needle"),
    [
        ("mkdocs", "", "needs the Markdown extension pymdownx.tabbed"),
        ("material", "", "needs the Markdown extension pymdownx.tabbed"),
        (
            "material",
            "markdown_extensions:\n  - pymdownx.tabbed\n",
            "Material styles content tabs only with alternate_style",
        ),
    ],
)
def test_explore_pages_without_content_tabs_fail_before_training(
    tmp_path: Path, theme: str, tabbed: str, needle: str
) -> None:
    cache = tmp_path / "empty-cache"  # nothing trained: the check must come first
    cfg = make_project(
        tmp_path / "p", config(cache, theme=theme, extra_top=tabbed, explore_pages=True), {"index.md": "# Explore\n"}
    )
    proc = mkdocs_build(cfg, tmp_path / "site", "--strict", timeout=120)
    errors = error_lines(proc)
    assert len(errors) == 1 and "explore_pages" in errors[0] and needle in errors[0], errors
    out = proc.stdout + proc.stderr
    # the lines to add, as YAML, right under the error
    assert "  markdown_extensions:\n    - pymdownx.tabbed:\n        alternate_style: true" in out, out
    assert not (cache / "train").exists(), "the build trained before reporting the missing extension"


def test_explore_pages_with_tabs_build_on_a_plain_theme(trained_cache: Path, tmp_path: Path) -> None:
    """The explore page needs pymdownx.tabbed and nothing else (`tables` is always on in MkDocs)."""
    cache = copy_model(trained_cache, tmp_path / "cache")
    cfg = make_project(
        tmp_path / "p",
        config(cache, extra_top="markdown_extensions:\n  - pymdownx.tabbed\n", explore_pages=True),
        {"index.md": "# Home\n\n{{ samples }}\n"},
    )
    proc = mkdocs_build(cfg, tmp_path / "site", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pages = list((tmp_path / "site" / "explore").glob("*/index.html"))
    assert len(pages) == 1
    html = pages[0].read_text(encoding="utf-8")
    assert "tabbed-set" in html and "<table>" in html and '=== "' not in html


MACROS_PAGE = "# Macros\n\nAccuracy ACC[{{ value test-accuracy }}].\n\n{{ figure input }}\n\nJinja: J[{{ 6 * 7 }}]\n"


def test_macros_before_tinyvgg_fails_naming_the_order(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs_macros", reason="mkdocs-macros-plugin is not installed")
    cfg = make_project(tmp_path / "p", config(tmp_path / "empty-cache", before="  - macros"), {"index.md": MACROS_PAGE})
    errors = error_lines(mkdocs_build(cfg, tmp_path / "site", "--strict", timeout=120))
    assert len(errors) == 1, errors
    assert "macros (mkdocs-macros) is listed before tinyvgg" in errors[0], errors[0]
    assert "list tinyvgg before macros" in errors[0], errors[0]
    assert not (tmp_path / "empty-cache" / "train").exists()


def test_macros_after_tinyvgg_renders_both(trained_cache: Path, tmp_path: Path) -> None:
    pytest.importorskip("mkdocs_macros", reason="mkdocs-macros-plugin is not installed")
    cache = copy_model(trained_cache, tmp_path / "cache")
    cfg = make_project(tmp_path / "p", config(cache, after="  - macros"), {"index.md": MACROS_PAGE})
    proc = mkdocs_build(cfg, tmp_path / "site", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"ACC\[\d+\.\d %\]", html), html
    assert "J[42]" in html  # macros still renders its own expressions
    assert re.search(r'class="tv-figure tv-input[ "]', html), html


def test_macros_first_with_its_own_markers_is_allowed(trained_cache: Path, tmp_path: Path) -> None:
    pytest.importorskip("mkdocs_macros", reason="mkdocs-macros-plugin is not installed")
    cache = copy_model(trained_cache, tmp_path / "cache")
    macros = "  - macros:\n      j2_variable_start_string: '[['\n      j2_variable_end_string: ']]'"
    page = MACROS_PAGE.replace("{{ 6 * 7 }}", "[[ 6 * 7 ]]")
    cfg = make_project(tmp_path / "p", config(cache, before=macros), {"index.md": page})
    proc = mkdocs_build(cfg, tmp_path / "site", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "J[42]" in html and re.search(r'class="tv-figure tv-input[ "]', html)


BAR = re.compile(r"fig/s|\d+/\d+ \[|it/s|\r")  # what a tqdm bar writes


def test_quiet_build_prints_no_progress_bars(trained_cache: Path, tmp_path: Path) -> None:
    cache = copy_model(trained_cache, tmp_path / "cache")
    page = "# Quiet\n\n{{ figure kernels layer=conv_1_1 }}\n\n{{ figure input }}\n"
    cfg = make_project(tmp_path / "p", config(cache), {"index.md": page})
    proc = mkdocs_build(cfg, tmp_path / "site", "-q", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "figures" / "model" / "kernels-conv_1_1.en.png").is_file()  # it did render
    assert proc.stderr == "" and proc.stdout == "", (proc.stdout, proc.stderr)
    # The same cold render without -q shows its bar: the check above can fail.
    shutil.rmtree(cache / "figure")
    proc = mkdocs_build(cfg, tmp_path / "site2", "--strict")
    assert proc.returncode == 0, proc.stderr
    assert BAR.search(proc.stderr), proc.stderr
