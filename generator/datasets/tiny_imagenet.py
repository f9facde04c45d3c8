"""CNN Explainer's ten Tiny ImageNet classes, read straight from the official zip (never extracted).

Source: a local archive with the official layout (`tiny-imagenet-200/wnids.txt`, `train/<wnid>/images/`,
`val/images/` + `val/val_annotations.txt`), either the full 200-class archive or a 10-class cut of it;
or, without a path, the official archive downloaded once into the user cache directory.
Train = the train images of the ten classes; test = their val images (Tiny ImageNet's test set has no
labels); the early-stopping split is carved from train.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import numpy as np

from generator.config import DataConfig
from generator.datasets.base import Dataset, carve_validation
from generator.errors import DataError
from generator.images import load_image_bytes
from generator.safeio import describe, kind_of

OFFICIAL_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
OFFICIAL_SIZE = 248_100_043
OFFICIAL_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
ARCHIVE_NAME = "tiny-imagenet-200.zip"
LOADER_VERSION = 1  # bump when reading or ordering changes: part of the dataset spec

# CNN Explainer's class order (its output layer's order) and the matching Tiny ImageNet wnids.
CLASSES: tuple[str, ...] = (
    "lifeboat",
    "ladybug",
    "pizza",
    "bell pepper",
    "school bus",
    "koala",
    "espresso",
    "red panda",
    "orange",
    "sport car",
)
WNIDS: tuple[str, ...] = (
    "n03662601",
    "n02165456",
    "n07873807",
    "n07720875",
    "n04146614",
    "n01882714",
    "n07920052",
    "n02509815",
    "n07747607",
    "n04285008",
)
MAX_MEMBER_BYTES = 4 << 20  # a 64x64 JPEG is ~2 KB; anything this big is not Tiny ImageNet (or a zip bomb)
MAX_TEXT_BYTES = 4 << 20  # wnids.txt is 2 KB, val_annotations.txt ~350 KB in the official archive
MAX_ENTRIES = 1_000_000  # the official archive has ~120,000 entries; each costs memory once listed
MAX_DIRECTORY_BYTES = 48 << 20  # its central directory is ~12 MB; zipfile parses all of it, whatever the count
MAX_IMAGES = 20_000  # the ten classes have 5,500 images; each costs 12 KB decoded (20,000: 246 MB)

_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, for this process


def default_archive_path() -> Path:
    """Where the official archive is downloaded when no path is configured."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("tinyvgg-explainer")) / ARCHIVE_NAME


def source_spec(path: str | None) -> dict:
    """What the images come from: a local archive's size + sha256, or the official archive's identity."""
    base = {"loader_version": LOADER_VERSION, "classes": list(CLASSES), "wnids": list(WNIDS)}
    if not path:  # downloaded on demand and verified against this md5: no need to touch the network
        return {**base, "archive": {"url": OFFICIAL_URL, "size": OFFICIAL_SIZE, "md5": OFFICIAL_MD5}}
    archive = _existing_archive(path)
    return {**base, "archive": {"size": archive.stat().st_size, "sha256": archive_sha256(archive)}}


def archive_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) for the life of the process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def load(cfg: DataConfig, spec: dict, progress: bool = True) -> Dataset:
    archive = _existing_archive(cfg.path) if cfg.path else download(dest=default_archive_path(), progress=progress)
    x, y, test_x, test_y, test_ids = read_archive(archive, progress)
    return carve_validation("tiny-imagenet-10", CLASSES, x, y, test_x, test_y, test_ids, cfg, spec)


def _existing_archive(path: str) -> Path:
    archive = Path(path).expanduser()
    if archive.is_dir():
        raise DataError(
            f"dataset_path: {archive} is a folder; tiny-imagenet-10 reads the zip archive "
            f"directly: point dataset_path at {ARCHIVE_NAME} (no need to extract it)"
        )
    if archive.exists() and not archive.is_file():
        raise DataError(
            f"dataset_path: {archive} is {kind_of(archive.stat().st_mode)}, not a regular file; "
            f"point dataset_path at a copy of {ARCHIVE_NAME}"
        )
    if not archive.is_file():
        raise DataError(
            f"dataset_path: Tiny ImageNet archive {archive} not found; point it at "
            f"{ARCHIVE_NAME} (or leave it empty to download the official archive)"
        )
    return archive


def read_archive(
    archive: Path, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """-> train_x (N, 64, 64, 3) uint8, train_y (N,), test_x, test_y, test_ids; only the ten wnids."""
    entries, directory = _central_directory(archive) or (0, 0)
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise DataError(
            f"dataset archive {archive}: lists {entries:,} entries in a {directory:,}-byte directory, "
            f"far more than Tiny ImageNet's ~120,000 in ~12 MB (limits {MAX_ENTRIES:,} entries, "
            f"{MAX_DIRECTORY_BYTES:,} bytes); use the official {ARCHIVE_NAME}"
        )
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"dataset archive {archive}: not a readable zip file ({exc}); download it again") from exc
    with zf:
        infos = {info.filename: info for info in zf.infolist()}
        check_member_names(archive, infos)
        root = _find_root(archive, infos)
        present = set(_read_text(zf, archive, root + "wnids.txt").split())
        missing = [w for w in WNIDS if w not in present]
        if missing:
            raise DataError(
                f"dataset archive {archive}: wnids.txt lacks CNN Explainer's classes {missing}; "
                "use the official tiny-imagenet-200.zip"
            )
        train_members, train_labels = _train_members(archive, infos, root)
        test_members, test_labels = _val_members(zf, archive, infos, root)
        members = train_members + test_members
        if len(members) > MAX_IMAGES:
            raise DataError(
                f"dataset archive {archive}: lists {len(members):,} images of the ten classes, far "
                f"more than Tiny ImageNet's 5,500 (limit {MAX_IMAGES:,}); use the official "
                f"{ARCHIVE_NAME}"
            )
        images = np.empty((len(members), 64, 64, 3), dtype=np.uint8)
        from tqdm import tqdm

        for i, member in enumerate(
            tqdm(members, desc="Reading Tiny ImageNet", unit="img", disable=not progress, leave=False)
        ):
            images[i] = _read_image(zf, archive, infos[member])
    n = len(train_members)
    test_ids = tuple(PurePosixPath(m).name for m in test_members)
    return (
        images[:n],
        np.asarray(train_labels, dtype=np.int64),
        images[n:],
        np.asarray(test_labels, dtype=np.int64),
        test_ids,
    )


def check_member_names(archive: Path, names: Iterable[str]) -> None:
    """Refuse archives whose entries could escape a target directory (zip slip) if ever extracted."""
    for name in names:
        norm = name.replace("\\", "/")
        if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/") or "\0" in norm:
            raise DataError(
                f"dataset archive {archive}: unsafe entry {name!r} (absolute path or '..'); "
                "the archive is damaged or malicious: download it again from the official source"
            )


def _find_root(archive: Path, infos: dict) -> str:
    """The folder prefix holding wnids.txt next to train/ ('tiny-imagenet-200/' in the official zip)."""
    roots = sorted((name[: -len("wnids.txt")] for name in infos if PurePosixPath(name).name == "wnids.txt"), key=len)
    for root in roots:
        if any(name.startswith(root + "train/") for name in infos):
            return root
    raise DataError(
        f"dataset archive {archive}: no wnids.txt beside a train/ folder; this is not the "
        "Tiny ImageNet layout (expected tiny-imagenet-200/wnids.txt, train/, val/)"
    )


def _natural_key(name: str) -> tuple:
    """'val_8.JPEG' < 'val_18.JPEG': numbers compare as numbers, so the order reads naturally."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _train_members(archive: Path, infos: dict, root: str) -> tuple[list[str], list[int]]:
    by_wnid: dict[str, list[str]] = {w: [] for w in WNIDS}
    prefix = root + "train/"
    for name in infos:
        if name.startswith(prefix) and name.lower().endswith((".jpeg", ".jpg")):
            parts = name[len(prefix) :].split("/")  # <wnid>/images/<file>
            if len(parts) == 3 and parts[1] == "images" and parts[0] in by_wnid:
                by_wnid[parts[0]].append(name)
    members, labels = [], []
    for label, wnid in enumerate(WNIDS):
        if not by_wnid[wnid]:
            raise DataError(
                f"dataset archive {archive}: no training images under {prefix}{wnid}/images/; "
                "the archive is incomplete: download it again"
            )
        files = sorted(by_wnid[wnid], key=_natural_key)
        members += files
        labels += [label] * len(files)
    return members, labels


def _val_members(zf: zipfile.ZipFile, archive: Path, infos: dict, root: str) -> tuple[list[str], list[int]]:
    label_of = {w: i for i, w in enumerate(WNIDS)}
    pairs = []
    for line_no, line in enumerate(_read_text(zf, archive, root + "val/val_annotations.txt").splitlines(), 1):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) < 2:
            raise DataError(
                f"dataset archive {archive}: val/val_annotations.txt line {line_no} is "
                "malformed; download the archive again"
            )
        if fields[1] in label_of:
            member = f"{root}val/images/{fields[0]}"
            if member not in infos:
                raise DataError(
                    f"dataset archive {archive}: {member} is listed in val_annotations.txt "
                    "but missing; download the archive again"
                )
            pairs.append((member, label_of[fields[1]]))
    if not pairs:
        raise DataError(f"dataset archive {archive}: val_annotations.txt lists no image of the ten classes")
    pairs.sort(key=lambda p: _natural_key(PurePosixPath(p[0]).name))
    return [m for m, _ in pairs], [label for _, label in pairs]


def _central_directory(archive: Path) -> tuple[int, int] | None:
    """(entry count, central directory size in bytes) from the zip's end-of-central-directory record,
    read before zipfile parses the whole directory into memory; None if the record is not found
    (zipfile then reports the damage)."""
    try:
        with archive.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - (1 << 16) - 22))  # the record (22 bytes) + a comment of up to 64 KB
            tail = fh.read()
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) < at + 22:
                return None
            count = int.from_bytes(tail[at + 10 : at + 12], "little")
            directory = int.from_bytes(tail[at + 12 : at + 16], "little")
            locator = tail.rfind(b"PK\x06\x07", 0, at)  # ZIP64: the real values are in the zip64 record
            if locator >= 0 and len(tail) >= locator + 20 and (count == 0xFFFF or directory == 0xFFFFFFFF):
                fh.seek(int.from_bytes(tail[locator + 8 : locator + 16], "little"))
                record = fh.read(56)
                if record[:4] == b"PK\x06\x06" and len(record) == 56:
                    count = int.from_bytes(record[32:40], "little")
                    directory = int.from_bytes(record[40:48], "little")
            return count, directory
    except OSError:
        return None


def _read_member(zf: zipfile.ZipFile, archive: Path, member: str | zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, capped by its declared size and by the bytes actually decompressed."""
    name = member.filename if isinstance(member, zipfile.ZipInfo) else member
    try:
        info = member if isinstance(member, zipfile.ZipInfo) else zf.getinfo(member)
        if info.file_size > limit:
            raise DataError(
                f"dataset archive {archive}: {name} declares {info.file_size:,} bytes, more than "
                f"the {limit:,} any Tiny ImageNet file needs; download the archive again"
            )
        with zf.open(info) as fh:
            data = fh.read(limit + 1)  # zipfile stops at the declared size; this stops at the limit
    except KeyError as exc:
        raise DataError(
            f"dataset archive {archive}: {name} is missing; this is not the official Tiny ImageNet layout"
        ) from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        # CRC mismatch, truncated archive, unsupported compression, encryption (RuntimeError)
        raise DataError(f"dataset archive {archive}: cannot read {name} ({exc}); download it again") from exc
    if len(data) > limit:
        raise DataError(
            f"dataset archive {archive}: {name} holds more than {limit:,} bytes; download the archive again"
        )
    return data


def _read_text(zf: zipfile.ZipFile, archive: Path, member: str) -> str:
    data = _read_member(zf, archive, member, MAX_TEXT_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"dataset archive {archive}: {member} is not UTF-8 text ({exc.reason}); download it again"
        ) from exc


def _read_image(zf: zipfile.ZipFile, archive: Path, info: zipfile.ZipInfo) -> np.ndarray:
    data = _read_member(zf, archive, info, MAX_MEMBER_BYTES)
    return load_image_bytes(data, f"{archive}:{info.filename}")  # greyscale / CMYK JPEGs come back as RGB


def download(
    url: str = OFFICIAL_URL,
    dest: Path | None = None,
    size: int = OFFICIAL_SIZE,
    md5: str = OFFICIAL_MD5,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download `url` to `dest` once: streamed into a temp file, size + md5 checked, then os.replace.

    A file already at `dest` is used if its md5 matches; the check runs once and is remembered in
    `<dest>.verified` by size and mtime, so later builds do not hash 248 MB again. A file that does
    not match is downloaded again. A lock file serialises concurrent builds, so any `.part` file found
    while holding it was left by a download that was killed: it is removed. A mismatch raises
    DataError and leaves nothing.
    """
    from filelock import FileLock

    dest = Path(dest) if dest is not None else default_archive_path()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"download: cannot create {dest.parent} ({exc}); set dataset_path to a local copy of {ARCHIVE_NAME}"
        ) from exc
    lock = FileLock(str(dest) + ".lock")
    try:
        lock.acquire()
    except OSError as exc:  # a read-only cache folder: a verified archive already there is still usable
        if _verified(dest, size, md5):
            return dest
        raise DataError(
            f"download: cannot write in {dest.parent} ({describe(exc)}); make it writable, or "
            f"set dataset_path to a local copy of {ARCHIVE_NAME}"
        ) from exc
    try:
        return _fetch(url, dest, size, md5, progress, timeout)
    finally:
        lock.release()


def _fetch(url: str, dest: Path, size: int, md5: str, progress: bool, timeout: float) -> Path:
    """download()'s work, with the lock held."""
    from tqdm import tqdm

    _remove_stale_parts(dest)
    if _verified(dest, size, md5):
        return dest
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    except OSError as exc:
        raise DataError(
            f"download: cannot write in {dest.parent} ({describe(exc)}); make it writable, or "
            f"set dataset_path to a local copy of {ARCHIVE_NAME}"
        ) from exc
    try:
        digest, received = hashlib.md5(usedforsecurity=False), 0
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=timeout) as resp,
            tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc=f"Downloading {dest.name}",
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            while chunk := resp.read(1 << 20):
                received += len(chunk)
                if received > size:
                    break  # more data than expected: not the file we want; stop early
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        if received != size:
            raise DataError(
                f"download {url}: got {received:,} bytes, expected {size:,}; the file on "
                "the server differs or the transfer broke. Try again, or download "
                f"{ARCHIVE_NAME} yourself and set dataset_path"
            )
        if digest.hexdigest() != md5:
            raise DataError(
                f"download {url}: md5 {digest.hexdigest()} does not match {md5}; the file "
                f"is corrupt. Try again, or download {ARCHIVE_NAME} yourself and set "
                "dataset_path"
            )
        os.replace(tmp_name, dest)
        _remember_verified(dest, md5)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise DataError(
            f"download {url}: failed ({exc}); check the network, or download "
            f"{ARCHIVE_NAME} yourself and set dataset_path to it"
        ) from exc
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return dest


def _remove_stale_parts(dest: Path) -> None:
    """Delete `<dest>.*.part` files: with the lock held, no live download owns one."""
    for part in dest.parent.iterdir():
        if part.name.startswith(dest.name + ".") and part.name.endswith(".part"):
            with contextlib.suppress(OSError):
                part.unlink()


def _marker(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified")


def _verified(dest: Path, size: int, md5: str) -> bool:
    """True if `dest` is the expected file: right size, and an md5 match (remembered or computed now)."""
    try:
        st = dest.stat()
    except FileNotFoundError:
        return False
    if not dest.is_file() or st.st_size != size:
        return False
    try:
        record = json.loads(_marker(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if record == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "md5": md5}:
        return True
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with dest.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return False  # unreadable: download a fresh copy over it
    if digest.hexdigest() != md5:
        return False  # damaged or another file: the caller downloads it again (os.replace overwrites it)
    _remember_verified(dest, md5)
    return True


def _remember_verified(dest: Path, md5: str) -> None:
    st = dest.stat()
    record = json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "md5": md5})
    # A torn or missing record only costs the next build one more md5 pass (it no longer parses).
    with contextlib.suppress(OSError):
        _marker(dest).write_text(record, encoding="utf-8")
