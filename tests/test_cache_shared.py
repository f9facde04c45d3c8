"""The cache shares `.cache` with other MkDocs plugins: its default lives at .cache/plugin/tinyvgg
(Material's convention), and `clean` removes only what this plugin wrote, wherever cache_dir points."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cache import Cache
from generator.config import DEFAULT_CACHE_DIR, make_build_config
from generator.plugin import TinyVGGConfig


def _fill(store: Cache) -> None:
    """Entries in every stage folder, as a build leaves them (manifest.json included)."""
    with store.lock():
        for stage in ("train", "probe", "image", "figure"):
            store.put(stage, "k", lambda d, stage=stage: (d / f"{stage}.bin").write_bytes(b"x" * 100))


def _social(root: Path) -> Path:
    """What Material's social plugin keeps in .cache/plugin/social."""
    card = root / "plugin" / "social" / "card.png"
    card.parent.mkdir(parents=True)
    card.write_bytes(b"social card")
    (root / "plugin" / "social" / "manifest.json").write_text("{}")
    return card


def test_the_default_cache_dir_follows_materials_convention(tmp_path: Path) -> None:
    assert DEFAULT_CACHE_DIR == ".cache/plugin/tinyvgg"
    cfg = TinyVGGConfig()
    cfg.load_dict({})
    assert cfg.validate() == ([], [])
    assert cfg.cache_dir == DEFAULT_CACHE_DIR
    assert make_build_config(tmp_path).cache_dir == tmp_path / ".cache" / "plugin" / "tinyvgg"


def test_clean_of_the_default_cache_leaves_other_plugins_alone(tmp_path: Path) -> None:
    dot_cache = tmp_path / ".cache"
    card = _social(dot_cache)
    store = Cache(tmp_path / DEFAULT_CACHE_DIR)
    _fill(store)
    assert store.clean() >= 400
    assert card.read_bytes() == b"social card"
    assert (dot_cache / "plugin" / "social" / "manifest.json").is_file()
    assert sorted(p.name for p in store.root.iterdir()) in ([], ["build.lock"])


@pytest.mark.parametrize("extra", ["notes.txt", "plugin", "mkdocs-macros"])
def test_clean_with_cache_dir_at_dot_cache_removes_only_its_own_entries(tmp_path: Path, extra: str) -> None:
    """cache_dir: .cache (the old default) holds our stages beside other tools' folders."""
    root = tmp_path / ".cache"
    card = _social(root)
    other = root / extra
    if not other.exists():
        other.mkdir() if "." not in extra else other.write_text("keep me")
    store = Cache(root)
    _fill(store)
    (root / "figure" / ".tmp-dead-1").mkdir()  # a killed build's leftover inside a stage: ours too
    before = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "social" not in p.parts)
    freed = store.clean()
    assert 400 <= freed <= before
    left = sorted(p.name for p in root.iterdir())
    assert {"plugin", extra} <= set(left) <= {"plugin", extra, "build.lock"}, left
    assert card.read_bytes() == b"social card"
    assert other.exists()
    assert store.get("train", "k") is None
    assert store.clean() == 0  # nothing of ours is left
