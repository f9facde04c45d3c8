"""Hostile archives and downloads (issue 10, items 4 and 8): zip text members are read with a cap,
archives listing absurd entry counts are refused before zipfile lists them, killed downloads leave no
`.part` behind, and an archive already at the destination is verified by md5 once."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import serve_directory
from PIL import Image

from generator.datasets import tiny_imagenet
from generator.datasets.tiny_imagenet import WNIDS, download, read_archive
from generator.errors import DataError

ROOT = "tiny-imagenet-200/"


def _jpeg(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, format="JPEG")
    return buf.getvalue()


def small_archive(path: Path, padding: dict[str, int] | None = None, annotations: str | None = None) -> Path:
    """The official layout, one train and one val image per class; `padding` appends that many MiB of
    spaces to a text member (they deflate ~1000:1, like the reported 1 MB archive holding 1 GiB)."""
    padding = padding or {}
    texts = {
        "wnids.txt": "\n".join(WNIDS) + "\n",
        "val/val_annotations.txt": annotations
        or "".join(f"val_{k}.JPEG\t{w}\t0\t0\t63\t63\n" for k, w in enumerate(WNIDS)),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, wnid in enumerate(WNIDS):
            zf.writestr(f"{ROOT}train/{wnid}/images/{wnid}_0.JPEG", _jpeg((k * 20, 100, 50)))
            zf.writestr(f"{ROOT}val/images/val_{k}.JPEG", _jpeg((k * 20, 200, 50)))
        for name, text in texts.items():
            with zf.open(ROOT + name, "w", force_zip64=True) as out:
                out.write(text.encode())
                for _ in range(padding.get(name, 0)):
                    out.write(b" " * (1 << 20))
    return path


@pytest.mark.parametrize("member", ["wnids.txt", "val/val_annotations.txt"])
def test_text_members_are_capped(tmp_path: Path, member: str) -> None:
    control = small_archive(tmp_path / "ok.zip")
    assert len(read_archive(control, progress=False)[0]) == 10
    archive = small_archive(tmp_path / "bomb.zip", padding={member: 64})  # 64 MiB of spaces, ~70 KB zipped
    assert archive.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=rf"bomb\.zip: {ROOT}{member} declares 67,10\d,\d\d\d bytes"):
            read_archive(archive, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak / 1e6:.0f} MB while refusing a padded {member}"


def test_member_read_stops_at_the_limit_whatever_the_header_says(tmp_path: Path, monkeypatch) -> None:
    """Bytes actually read are capped too, not only the size the central directory claims."""
    archive = small_archive(tmp_path / "ok.zip")
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(ROOT + "val/val_annotations.txt")
        info.file_size = 10  # a lying header: zipfile stops at 10 bytes and the CRC check fails
        with pytest.raises(DataError, match=r"ok\.zip: cannot read .*val_annotations\.txt"):
            tiny_imagenet._read_member(zf, archive, info, 20)
        # Should a member stream more than it declares, the read itself stops at limit + 1 bytes.
        endless = Recording(b" " * 10_000)
        monkeypatch.setattr(zf, "open", lambda *a, **k: endless)
        with pytest.raises(DataError, match=r"holds more than 20 bytes"):
            tiny_imagenet._read_member(zf, archive, info, 20)
        assert endless.got == 21


class Recording(io.BytesIO):
    got = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.got += len(data)
        return data


def test_absurd_entry_count_is_refused_before_listing(tmp_path: Path, monkeypatch) -> None:
    archive = small_archive(tmp_path / "many.zip")
    count, size = tiny_imagenet._central_directory(archive)
    assert count == 22 and 22 * 46 < size < 22 * 200
    monkeypatch.setattr(tiny_imagenet, "MAX_ENTRIES", 21)
    listed = []
    monkeypatch.setattr(zipfile, "ZipFile", lambda *a, **k: listed.append(a))
    with pytest.raises(DataError, match=r"many\.zip: lists 22 entries"):
        read_archive(archive, progress=False)
    monkeypatch.setattr(tiny_imagenet, "MAX_ENTRIES", 22)
    monkeypatch.setattr(tiny_imagenet, "MAX_DIRECTORY_BYTES", size - 1)  # a small count, a big directory
    with pytest.raises(DataError, match=rf"many\.zip: lists 22 entries in a {size:,}-byte directory"):
        read_archive(archive, progress=False)
    assert not listed


def test_zip64_entry_count_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(70_000):  # more than 65,535 entries: the count lives in the zip64 record
            zf.writestr(f"{i}", b"")
    count, size = tiny_imagenet._central_directory(path)
    assert count == 70_000 and size > 70_000 * 46


def test_encrypted_member_is_one_data_error(tmp_path: Path) -> None:
    archive = small_archive(tmp_path / "enc.zip")
    raw = bytearray(archive.read_bytes())
    # Set the "encrypted" flag bit of wnids.txt in its central directory record.
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        name_len = int.from_bytes(raw[at + 28 : at + 30], "little")
        if raw[at + 46 : at + 46 + name_len].endswith(b"wnids.txt"):
            raw[at + 8] |= 1
            break
        at = raw.find(b"PK\x01\x02", at + 4)
    archive.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"enc\.zip: cannot read tiny-imagenet-200/wnids\.txt"):
        read_archive(archive, progress=False)


# --- downloads ----------------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "srv"
    root.mkdir()
    blob = np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    (root / "blob.zip").write_bytes(blob)
    with serve_directory(root) as (url, httpd):
        yield f"{url}/blob.zip", blob, httpd


def test_stale_part_files_are_removed(server, tmp_path: Path) -> None:
    url, blob, _ = server
    dest = tmp_path / "cache" / "blob.zip"
    dest.parent.mkdir()
    stale = dest.parent / "blob.zip.k3j4_x9.part"  # what a killed download leaves (mkstemp's name)
    stale.write_bytes(b"\0" * 100_000)
    other = dest.parent / "other.zip.abc.part"  # not ours: left alone
    other.write_bytes(b"x")
    download(url, dest, len(blob), hashlib.md5(blob).hexdigest(), progress=False)
    assert not stale.exists() and other.exists() and dest.read_bytes() == blob


def test_stale_part_is_removed_even_when_the_archive_is_already_there(server, tmp_path: Path) -> None:
    url, blob, httpd = server
    dest = tmp_path / "blob.zip"
    download(url, dest, len(blob), hashlib.md5(blob).hexdigest(), progress=False)
    stale = tmp_path / "blob.zip.abcdef.part"
    stale.write_bytes(b"partial")
    httpd.shutdown()
    download(url, dest, len(blob), hashlib.md5(blob).hexdigest(), progress=False)
    assert not stale.exists()


def test_existing_file_of_the_right_size_but_wrong_md5_is_replaced(server, tmp_path: Path) -> None:
    url, blob, _ = server
    dest = tmp_path / "blob.zip"
    dest.write_bytes(b"\0" * len(blob))  # right size, wrong content: the old code trusted it
    got = download(url, dest, len(blob), hashlib.md5(blob).hexdigest(), progress=False)
    assert got.read_bytes() == blob


def test_existing_archive_is_hashed_once_then_remembered(server, tmp_path: Path, monkeypatch) -> None:
    url, blob, httpd = server
    httpd.shutdown()  # everything below must work offline
    dest = tmp_path / "blob.zip"
    dest.write_bytes(blob)  # e.g. copied there by hand: never verified
    calls = []
    real_md5 = tiny_imagenet.hashlib.md5
    monkeypatch.setattr(tiny_imagenet.hashlib, "md5", lambda *a, **k: (calls.append(1), real_md5(*a, **k))[1])
    expected = real_md5(blob).hexdigest()
    assert download(url, dest, len(blob), expected, progress=False) == dest
    assert len(calls) == 1
    assert download(url, dest, len(blob), expected, progress=False) == dest
    assert len(calls) == 1  # remembered by size and mtime
    os.utime(dest, ns=(dest.stat().st_atime_ns, dest.stat().st_mtime_ns + 10**9))  # touched: check again
    assert download(url, dest, len(blob), expected, progress=False) == dest
    assert len(calls) == 2


def test_remembered_result_does_not_cover_a_changed_file(server, tmp_path: Path) -> None:
    url, blob, _ = server
    dest = tmp_path / "blob.zip"
    md5 = hashlib.md5(blob).hexdigest()
    download(url, dest, len(blob), md5, progress=False)
    damaged = bytearray(blob)
    damaged[1000] ^= 0xFF
    dest.write_bytes(bytes(damaged))  # same size, new mtime: the record no longer applies
    assert download(url, dest, len(blob), md5, progress=False).read_bytes() == blob


def test_archive_listing_too_many_images_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    """val_annotations.txt may name one image thousands of times: each would cost 12 KB decoded."""
    lines = "".join(f"val_0.JPEG\t{WNIDS[0]}\t0\t0\t63\t63\n" for _ in range(30_000))
    archive = small_archive(tmp_path / "dup.zip", annotations=lines)
    decoded = []
    monkeypatch.setattr(tiny_imagenet, "load_image_bytes", lambda data, name: decoded.append(name))
    with pytest.raises(DataError, match=r"dup\.zip: lists 30,010 images of the ten classes"):
        read_archive(archive, progress=False)
    assert not decoded


class _ReadOnlyLock:
    """FileLock on a read-only folder: creating the lock file fails."""

    def __init__(self, path: str) -> None:
        self.path = path

    def acquire(self) -> None:
        raise PermissionError(30, "Read-only file system", self.path)


def test_read_only_download_folder_uses_a_verified_archive(server, tmp_path: Path, monkeypatch) -> None:
    import filelock

    url, blob, httpd = server
    dest = tmp_path / "blob.zip"
    md5 = hashlib.md5(blob).hexdigest()
    download(url, dest, len(blob), md5, progress=False)
    httpd.shutdown()
    monkeypatch.setattr(filelock, "FileLock", _ReadOnlyLock)
    assert download(url, dest, len(blob), md5, progress=False) == dest
    dest.unlink()
    with pytest.raises(DataError, match=r"download: cannot write in .*Read-only file system.*dataset_path"):
        download(url, dest, len(blob), md5, progress=False)
