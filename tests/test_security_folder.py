"""The folder dataset's messages (issue 10, item 10): a class folder that cannot be read says so
(permission denied) instead of "has no images". Tests run as root, where chmod does not stop reads,
so unreadability is simulated by making os.scandir refuse the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from generator.config import DataConfig
from generator.datasets import dataset_spec
from generator.datasets.folder import scan
from generator.errors import DataError


def photos(root: Path) -> Path:
    for c, name in enumerate(("cat", "dog")):
        (root / name / "more").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (90 * c, 20 * i, 0)).save(root / name / f"{i}.png")
        Image.new("RGB", (8, 8), (0, 0, 90 * c)).save(root / name / "more" / "x.png")
    return root


def refuse(monkeypatch, blocked: Path) -> None:
    real = os.scandir

    def scandir(path=".", *args):
        if Path(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_class_folder_says_permission_denied(tmp_path: Path, monkeypatch) -> None:
    root = photos(tmp_path / "photos")
    refuse(monkeypatch, root / "dog")
    with pytest.raises(DataError) as err:
        dataset_spec(DataConfig(name="folder", path=str(root)))
    message = str(err.value)
    assert "class folder 'dog' cannot be read (Permission denied)" in message and "check its permissions" in message
    assert "has no images" not in message and str(root) in message


def test_unreadable_sub_folder_is_named_too(tmp_path: Path, monkeypatch) -> None:
    """The old scan skipped it silently: the class just had fewer images."""
    root = photos(tmp_path / "photos")
    refuse(monkeypatch, root / "cat" / "more")
    with pytest.raises(DataError, match=r"folder 'cat/more' of class 'cat' cannot be read \(Permission denied\)"):
        scan(str(root))


def test_readable_folders_list_every_visible_image(tmp_path: Path) -> None:
    root = photos(tmp_path / "photos")
    (root / "cat" / ".hidden").mkdir()
    Image.new("RGB", (8, 8)).save(root / "cat" / ".hidden" / "h.png")
    (root / "cat" / "loop").symlink_to(root / "cat")  # a symlinked folder is not followed: no loop
    os.mkfifo(root / "cat" / "pipe.png")  # not a regular file: not listed, so never opened
    _, classes = scan(str(root))
    assert [(name, [p.relative_to(root).as_posix() for p in files]) for name, files in classes] == [
        ("cat", ["cat/0.png", "cat/1.png", "cat/2.png", "cat/more/x.png"]),
        ("dog", ["dog/0.png", "dog/1.png", "dog/2.png", "dog/more/x.png"]),
    ]
