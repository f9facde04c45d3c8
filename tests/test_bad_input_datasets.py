"""Bad input, datasets: a user's ImageFolder that is missing, has one class, an empty or a one-image
class; a Tiny ImageNet archive that is missing, not a zip, or escapes its folder; a download with the
wrong checksum or size. Each gives ONE clear error naming the path, and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from cli_support import assert_cache_clean, gen, one_error, rgb_image, stage_dirs
from support import serve_directory

from generator.datasets.tiny_imagenet import download
from generator.errors import DataError


def _folder_dataset(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            rgb_image(64, 64, seed=i).save(root / name / f"{i}.png")
    return root


BAD_DATASETS = {
    "folder missing": (["--dataset", "folder", "--dataset-path", "nowhere"], ["nowhere", "not found"]),
    "folder of one class": (["--dataset", "folder", "--dataset-path", "one-class"], ["one-class", "at least 2"]),
    "folder with an empty class": (
        ["--dataset", "folder", "--dataset-path", "empty-class"],
        ["empty-class", "'dog' has no images"],
    ),
    "folder with a tiny class": (
        ["--dataset", "folder", "--dataset-path", "tiny-class"],
        ["tiny-class", "'dog' has 1 image"],
    ),
    "archive missing": (["--dataset", "tiny-imagenet-10", "--dataset-path", "no.zip"], ["no.zip", "not found"]),
    "archive not a zip": (["--dataset", "tiny-imagenet-10", "--dataset-path", "fake.zip"], ["fake.zip", "zip"]),
    "archive escaping its folder": (
        ["--dataset", "tiny-imagenet-10", "--dataset-path", "evil.zip"],
        ["evil.zip", "../escaped.txt"],
    ),
}


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-data") / "work"
    _folder_dataset(root / "one-class", {"cat": 4})
    _folder_dataset(root / "empty-class", {"cat": 4, "dog": 0})
    _folder_dataset(root / "tiny-class", {"cat": 4, "dog": 1})
    (root / "fake.zip").write_text("not a zip archive")
    with zipfile.ZipFile(root / "evil.zip", "w") as zf:
        zf.writestr("tiny-imagenet-200/wnids.txt", "n01443537\n")
        zf.writestr("../escaped.txt", "written outside the target folder if ever extracted")
    return root


# These two open the archive after the `generator build` subprocess has loaded torch: seconds each.
LOADS_TORCH = {"archive not a zip", "archive escaping its folder"}


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.slow) if c in LOADS_TORCH else c for c in BAD_DATASETS]
)
def test_bad_dataset_names_the_path(case: str, bad_data: Path) -> None:
    args, needles = BAD_DATASETS[case]
    cache = bad_data / f"cache-{case.replace(' ', '-')}"
    proc = gen("build", "--quiet", "--cache-dir", cache, *args, cwd=bad_data)
    one_error(proc, *needles)
    assert not (bad_data.parent / "escaped.txt").exists()
    if cache.exists():
        assert_cache_clean(cache)
        assert not any(stage_dirs(cache, s) for s in ("train", "probe", "image", "figure"))


@pytest.fixture
def http_server(tmp_path: Path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    with serve_directory(www) as (url, _):
        yield www, url


def test_download_with_the_wrong_checksum_leaves_nothing(http_server, tmp_path: Path) -> None:
    www, url = http_server
    payload = b"this is not the archive you are looking for" * 100
    (www / "archive.zip").write_bytes(payload)
    dest = tmp_path / "downloads" / "archive.zip"
    expected_md5 = hashlib.md5(b"the real archive", usedforsecurity=False).hexdigest()
    with pytest.raises(DataError) as info:
        download(url=f"{url}/archive.zip", dest=dest, size=len(payload), md5=expected_md5, progress=False)
    message = str(info.value)
    assert f"{url}/archive.zip" in message and "md5" in message and expected_md5 in message
    assert "\n" not in message
    with pytest.raises(DataError, match="expected"):  # wrong size: stopped early, also nothing kept
        download(url=f"{url}/archive.zip", dest=dest, size=len(payload) - 10, md5=expected_md5, progress=False)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["archive.zip.lock"]  # no archive, no .part
    right = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    assert download(url=f"{url}/archive.zip", dest=dest, size=len(payload), md5=right, progress=False) == dest
    assert dest.read_bytes() == payload
