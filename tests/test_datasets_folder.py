"""generator/datasets/folder.py: a user's ImageFolder, its splits, and its errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generator.config import DataConfig
from generator.datasets import dataset_spec, load_dataset
from generator.errors import DataError


def _make_folder(root: Path, counts: dict[str, int]) -> Path:
    """One sub-folder per class; images of assorted sizes, modes and formats, coloured by class."""
    kinds = [
        ("png", "RGB", (64, 64)),
        ("jpg", "L", (120, 80)),
        ("png", "RGBA", (30, 50)),
        ("jpeg", "RGB", (200, 200)),
        ("bmp", "P", (64, 100)),
    ]
    for c, (name, count) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(count):
            suffix, mode, size = kinds[i % len(kinds)]
            img = Image.new("RGB", size, (40 * c, 255 - 40 * c, (i * 37) % 256))
            img = img.convert(mode) if mode != "RGBA" else img.convert("RGBA")
            img.save(folder / f"img {i:02d}.{suffix}")
    return root


def _cfg(root: Path, **kw) -> DataConfig:
    return DataConfig(name="folder", path=str(root), **kw)


def test_loads_classes_splits_and_ids(tmp_path):
    root = _make_folder(tmp_path / "photos", {"dog": 10, "cat": 7, "猫头鹰": 5})
    (root / "cat" / "notes.txt").write_text("not an image: ignored")
    (root / "cat" / ".DS_Store").write_bytes(b"\0\1")
    (root / "README.md").write_text("files beside the class folders are ignored")
    (root / ".hidden").mkdir()
    data = load_dataset(_cfg(root), progress=False)
    assert data.classes == ("cat", "dog", "猫头鹰")  # sorted folder names
    total = len(data.train_y) + len(data.val_y) + len(data.test_y)
    assert total == 22
    test_counts = np.bincount(data.test_y, minlength=3).tolist()
    assert test_counts == [1, 2, 1]  # 20 % rounded, at least one per class
    assert min(np.bincount(data.val_y, minlength=3)) >= 1 and min(np.bincount(data.train_y, minlength=3)) >= 1
    for x in (data.train_x, data.val_x, data.test_x):
        assert x.dtype == np.uint8 and x.shape[1:] == (64, 64, 3)
    assert all("/" in i and Path(i).parts[0] in data.classes for i in data.test_ids)
    assert len(set(data.test_ids)) == len(data.test_ids)
    for test_id, label in zip(data.test_ids, data.test_y, strict=True):
        assert Path(test_id).parts[0] == data.classes[label]


def test_deterministic_and_seeded(tmp_path):
    root = _make_folder(tmp_path / "p", {"a": 12, "b": 12})
    first, again = load_dataset(_cfg(root), progress=False), load_dataset(_cfg(root), progress=True)
    for field in ("train_x", "train_y", "val_x", "test_x", "test_y"):
        assert np.array_equal(getattr(first, field), getattr(again, field))
    assert first.test_ids == again.test_ids
    other = load_dataset(_cfg(root, seed=5), progress=False)
    assert other.test_ids != first.test_ids


def test_spec_tracks_files_without_reading_them(tmp_path, monkeypatch):
    root = _make_folder(tmp_path / "p", {"a": 4, "b": 4})
    monkeypatch.setattr("generator.images.load_image", lambda *a: pytest.fail("spec must not decode"))
    spec = dataset_spec(_cfg(root))
    assert spec == dataset_spec(_cfg(root)) and json.loads(json.dumps(spec)) == spec
    assert spec["source"]["classes"] == ["a", "b"] and spec["source"]["counts"] == [4, 4]
    Image.new("RGB", (8, 8)).save(root / "b" / "new.png")
    assert dataset_spec(_cfg(root)) != spec
    path = root / "a" / "img 00.png"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched: may have changed
    assert dataset_spec(_cfg(root))["source"]["files_sha256"] != spec["source"]["files_sha256"]


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="not found") as exc:
        dataset_spec(_cfg(tmp_path / "nowhere"))
    assert "nowhere" in str(exc.value)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match="is a file"):
        load_dataset(_cfg(tmp_path / "file.png"), progress=False)


def test_needs_two_classes(tmp_path):
    root = _make_folder(tmp_path / "one", {"only": 5})
    with pytest.raises(DataError, match="at least 2") as exc:
        load_dataset(_cfg(root), progress=False)
    assert str(root) in str(exc.value)


def test_empty_class(tmp_path):
    root = _make_folder(tmp_path / "p", {"a": 5, "b": 5})
    (root / "empty").mkdir()
    (root / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="'empty' has no images"):
        dataset_spec(_cfg(root))


def test_too_few_images_in_a_class(tmp_path):
    root = _make_folder(tmp_path / "p", {"a": 5, "b": 2})
    with pytest.raises(DataError, match="'b' has 2 image"):
        load_dataset(_cfg(root), progress=False)


def test_unreadable_image_names_the_file(tmp_path):
    root = _make_folder(tmp_path / "p", {"a": 5, "b": 5})
    bad = root / "b" / "broken photo.jpg"
    bad.write_text("this is text, not a JPEG")
    with pytest.raises(DataError) as exc:
        load_dataset(_cfg(root), progress=False)
    assert str(bad) in str(exc.value)


def test_images_in_nested_folders_count_for_their_class(tmp_path):
    root = _make_folder(tmp_path / "p", {"a": 3, "b": 3})
    (root / "a" / "more").mkdir()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(root / "a" / "more" / "x.png")
    assert dataset_spec(_cfg(root))["source"]["counts"] == [4, 3]
