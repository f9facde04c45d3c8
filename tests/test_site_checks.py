"""The checks on_config makes of the site before any work, run in-process on real MkDocs configs (every
case here fails before training, so nothing is trained). The builds are in test_shortcode_mistakes.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

from generator import plugin as plugin_module
from generator.site_checks import extension_name


def config_at(tmp_path: Path, text: str) -> MkDocsConfig:
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "mkdocs.yml").write_text(text, encoding="utf-8")
    return load_config(config_file=str(tmp_path / "mkdocs.yml"))


def test_extension_names_are_compared_without_prefix_or_class() -> None:
    assert extension_name("markdown.extensions.tables:TableExtension") == "tables"
    assert extension_name("pymdownx.tabbed") == "pymdownx.tabbed"
    assert extension_name("pymdownx.tabbed:TabbedExtension") == "pymdownx.tabbed"


def test_tabbed_given_by_its_class_path_counts(tmp_path: Path) -> None:
    """`pymdownx.tabbed:TabbedExtension` names the same extension: the check lets it through, and the
    build stops at the next step instead (a bad option value, so that nothing is trained)."""
    cfg = config_at(
        tmp_path,
        "site_name: t\ntheme:\n  name: mkdocs\nmarkdown_extensions:\n"
        "  - pymdownx.tabbed:TabbedExtension\nplugins:\n  - tinyvgg:\n"
        "      explore_pages: true\n      max_samples: -1\n",
    )
    with pytest.raises(PluginError, match="max_samples"):
        cfg.plugins.on_config(cfg)


def test_a_missing_stylesheet_is_one_error_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel built without its package data: the build stops before training, saying what to do."""
    missing = tmp_path / "gone" / "tinyvgg.css"
    monkeypatch.setattr(plugin_module, "STYLESHEET_SRC", missing)
    cfg = config_at(tmp_path, f"site_name: t\nplugins:\n  - tinyvgg:\n      cache_dir: {tmp_path / 'cache'}\n")
    with pytest.raises(PluginError) as info:
        cfg.plugins.on_config(cfg)
    assert str(missing) in str(info.value) and "reinstall" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_the_stylesheet_is_listed_once_and_first(tmp_path: Path) -> None:
    """static-i18n runs on_config once per language: extra_css must not grow. The pipeline is stopped
    by a bad option value right after the stylesheet is listed."""
    cfg = config_at(tmp_path, "site_name: t\nextra_css:\n  - mine.css\nplugins:\n  - tinyvgg:\n      max_samples: -1\n")
    for _ in range(2):
        with pytest.raises(PluginError, match="max_samples"):
            cfg.plugins.on_config(cfg)
    assert list(cfg.extra_css) == [plugin_module.STYLESHEET, "mine.css"]


def test_without_tabbed_the_check_stops_first(tmp_path: Path) -> None:
    cfg = config_at(
        tmp_path,
        "site_name: t\ntheme:\n  name: mkdocs\nplugins:\n  - tinyvgg:\n"
        "      explore_pages: true\n      max_samples: -1\n",
    )
    with pytest.raises(PluginError, match=r"needs the Markdown extension pymdownx\.tabbed"):
        cfg.plugins.on_config(cfg)
