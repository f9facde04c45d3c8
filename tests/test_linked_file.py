"""plugin.LinkedFile: a figure is published as a hard link to its cache entry, replaced on a rebuild,
and copied where the filesystem refuses links (another filesystem: `mkdocs serve` builds into /tmp)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from generator.plugin import LinkedFile


def _file(src_dir: Path, site: Path) -> LinkedFile:
    return LinkedFile("figures/a.png", str(src_dir), str(site), use_directory_urls=False)


def test_links_and_replaces(tmp_path: Path) -> None:
    src = tmp_path / "cache" / "figures" / "a.png"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"new picture")
    dest = tmp_path / "site" / "figures" / "a.png"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"an older build's picture")  # a site_dir that was not cleaned (--dirty)
    f = _file(tmp_path / "cache", tmp_path / "site")
    f.copy_file()
    assert dest.read_bytes() == b"new picture" and os.path.samefile(src, dest)
    f.copy_file()  # already the same file: nothing to do
    assert os.path.samefile(src, dest) and src.stat().st_nlink == 2


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM])
def test_copies_where_links_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    src = tmp_path / "cache" / "figures" / "a.png"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"picture")

    def refuse(a: object, b: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", refuse)
    _file(tmp_path / "cache", tmp_path / "site").copy_file()
    dest = tmp_path / "site" / "figures" / "a.png"
    assert dest.read_bytes() == b"picture" and not os.path.samefile(src, dest)


def test_other_errors_are_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "cache" / "figures" / "a.png"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"picture")

    def full(a: object, b: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "link", full)
    with pytest.raises(OSError, match="No space"):
        _file(tmp_path / "cache", tmp_path / "site").copy_file()
