"""A user's own ImageFolder: one sub-folder per class, images of any size and mode.

    my-photos/
        cat/  IMG_0001.jpg  whiskers.png ...
        dog/  ...

Class names are the sorted sub-folder names. Every image is centre-cropped and resized to 64x64.
A stratified 20 % of each class (at least one image) becomes the test split; the early-stopping
split is carved from the rest. Hidden files and files without an image suffix are ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from pathlib import Path

import numpy as np

from generator.config import DataConfig
from generator.datasets.base import Dataset, carve_validation, stratified_split
from generator.errors import DataError
from generator.images import IMAGE_SUFFIXES, load_image
from generator.safeio import describe

LOADER_VERSION = 1
TEST_FRACTION = 0.2
MIN_PER_CLASS = 3  # one image each for training, validation and test
_SUFFIXES = ", ".join(sorted(IMAGE_SUFFIXES))


def scan(path: str | None) -> tuple[Path, list[tuple[str, list[Path]]]]:
    """-> (root, [(class name, sorted image files)]), checking the layout; reads no image."""
    if not path:
        raise DataError("dataset_path: the 'folder' dataset needs the path of an image folder")
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "not found"
        raise DataError(
            f"dataset folder {root}: {what}; set dataset_path to a folder with one sub-folder of images per class"
        )
    try:
        dirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    except OSError as exc:
        raise DataError(f"dataset folder {root}: cannot be listed ({exc}); check its permissions") from exc
    # NFC: macOS stores names decomposed; the class name (and its order) must not depend on that.
    dirs.sort(key=lambda d: unicodedata.normalize("NFC", d.name))
    if len(dirs) < 2:
        raise DataError(
            f"dataset folder {root}: found {len(dirs)} class sub-folder(s); a classifier needs "
            "at least 2 (one sub-folder of images per class)"
        )
    classes = []
    for d in dirs:
        name = unicodedata.normalize("NFC", d.name)
        files = sorted(_images_in(d, root, name), key=lambda p: _rel(p, root))
        if not files:
            raise DataError(
                f"dataset folder {root}: class folder '{name}' has no images ({_SUFFIXES}); add "
                "images or remove the folder"
            )
        if len(files) < MIN_PER_CLASS:
            raise DataError(
                f"dataset folder {root}: class folder '{name}' has {len(files)} image(s); "
                f"each class needs at least {MIN_PER_CLASS} (one each for training, validation "
                "and test)"
            )
        classes.append((name, files))
    return root, classes


def _images_in(class_dir: Path, root: Path, name: str) -> list[Path]:
    """Every visible image file under class_dir (sub-folders too, symlinked folders not followed).

    A folder that cannot be listed is an error, not an empty folder: `Path.rglob` skips it silently,
    which made an unreadable class look like one with no images."""
    found: list[Path] = []
    pending = [class_dir]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            where = (
                f"class folder '{name}'" if folder == class_dir else f"folder '{_rel(folder, root)}' of class '{name}'"
            )
            raise DataError(
                f"dataset folder {root}: {where} cannot be read ({describe(exc)}); check its "
                "permissions (the build needs to list it and read its images)"
            ) from exc
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.DS_Store, .git, ...)
            path = Path(entry.path)
            try:
                if entry.is_dir() and not entry.is_symlink():
                    pending.append(path)
                elif path.suffix.lower() in IMAGE_SUFFIXES and entry.is_file():
                    found.append(path)
            except OSError:
                continue  # a symlink whose target cannot be examined: not an image we can use
    return found


def _rel(path: Path, root: Path) -> str:
    """A stable id for a file: its NFC-normalised path relative to the dataset folder."""
    return unicodedata.normalize("NFC", path.relative_to(root).as_posix())


def source_spec(path: str | None) -> dict:
    """Class names + a digest of every image's relative path, size and mtime (no image is opened)."""
    root, classes = scan(path)
    listing = []
    for _, files in classes:
        for f in files:
            st = f.stat()
            listing.append([_rel(f, root), st.st_size, st.st_mtime_ns])
    digest = hashlib.sha256(json.dumps(listing, ensure_ascii=False).encode("utf-8")).hexdigest()
    return {
        "loader_version": LOADER_VERSION,
        "test_fraction": TEST_FRACTION,
        "classes": [name for name, _ in classes],
        "counts": [len(files) for _, files in classes],
        "files_sha256": digest,
    }


def load(cfg: DataConfig, spec: dict, progress: bool = True) -> Dataset:
    from tqdm import tqdm

    root, classes = scan(cfg.path)
    files = [f for _, fs in classes for f in fs]
    labels = np.asarray([i for i, (_, fs) in enumerate(classes) for _ in fs], dtype=np.int64)
    images = np.empty((len(files), 64, 64, 3), dtype=np.uint8)
    for i, f in enumerate(tqdm(files, desc=f"Reading {root.name}", unit="img", disable=not progress, leave=False)):
        images[i] = load_image(f)  # DataError names the file
    rest, test = stratified_split(labels, TEST_FRACTION, cfg.seed, stream=2)
    test_ids = tuple(_rel(files[i], root) for i in test)
    names = tuple(name for name, _ in classes)
    return carve_validation(
        "folder", names, images[rest], labels[rest], images[test], labels[test], test_ids, cfg, spec
    )
