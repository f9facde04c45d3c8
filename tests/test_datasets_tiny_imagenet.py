"""generator/datasets/tiny_imagenet.py: the official layout read from a zip, downloads, unsafe archives."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import serve_directory

from generator.config import DataConfig
from generator.datasets import dataset_spec, load_dataset, tiny_imagenet
from generator.datasets.tiny_imagenet import CLASSES, OFFICIAL_MD5, OFFICIAL_SIZE, WNIDS, download
from generator.errors import DataError

SHARED = Path(__file__).resolve().parents[2] / "shared"
ARCHIVE = SHARED / "datasets" / "tiny-imagenet-10.zip"
ARCHIVE_SHA256 = "e04d56e0f24c8112a22b1557c3f143cca88cc76b981182378ded67e7e7298de6"  # from its README
needs_archive = pytest.mark.skipif(
    not ARCHIVE.is_file(), reason=f"{ARCHIVE} is absent (expected in ../shared beside the checkout)"
)


_RAW: dict = {}  # the decoded archive, kept so that later tests can re-split it without decoding again


@pytest.fixture(scope="module")
def tiny():
    real = tiny_imagenet.read_archive

    def keep(*args, **kwargs):
        _RAW["arrays"] = real(*args, **kwargs)
        return _RAW["arrays"]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiny_imagenet, "read_archive", keep)
        return load_dataset(DataConfig(name="tiny-imagenet-10", path=str(ARCHIVE)), progress=False)


def test_cnn_explainer_classes_and_wnids():
    assert CLASSES == (
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
    assert WNIDS[0] == "n03662601" and WNIDS[-1] == "n04285008" and len(set(WNIDS)) == 10


@needs_archive
def test_reads_the_shared_archive(tiny):
    assert tiny.name == "tiny-imagenet-10" and tiny.classes == CLASSES
    assert tiny.test_x.shape == (500, 64, 64, 3) and tiny.test_x.dtype == np.uint8
    assert np.bincount(tiny.test_y, minlength=10).tolist() == [50] * 10
    assert len(tiny.train_y) + len(tiny.val_y) == 5000
    assert np.bincount(tiny.val_y, minlength=10).tolist() == [50] * 10  # val_fraction 0.1, stratified
    assert tiny.train_x.shape == (4500, 64, 64, 3)
    assert len(set(tiny.test_ids)) == 500 and all(i.startswith("val_") for i in tiny.test_ids)
    # The test set follows val_annotations.txt, in natural file-name order.
    numbers = [int(i[4:].split(".")[0]) for i in tiny.test_ids]
    assert numbers == sorted(numbers)


@needs_archive
def test_labels_match_the_annotations(tiny):
    with zipfile.ZipFile(ARCHIVE) as zf:
        lines = zf.read("tiny-imagenet-200/val/val_annotations.txt").decode().splitlines()
        wnid_of = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
        first = tiny.test_ids[0]
        with Image.open(io.BytesIO(zf.read(f"tiny-imagenet-200/val/images/{first}"))) as img:
            expected = np.asarray(img.convert("RGB"))
    assert [WNIDS[label] for label in tiny.test_y] == [wnid_of[i] for i in tiny.test_ids]
    assert np.array_equal(tiny.test_x[0], expected)


@needs_archive
def test_greyscale_jpegs_become_rgb(tiny):
    grey = []
    with zipfile.ZipFile(ARCHIVE) as zf:
        for test_id in tiny.test_ids:
            with Image.open(io.BytesIO(zf.read(f"tiny-imagenet-200/val/images/{test_id}"))) as img:
                if img.mode == "L":
                    grey.append(test_id)
    assert grey, "the shared archive should contain greyscale JPEGs"
    for test_id in grey:
        img = tiny.test_x[tiny.test_ids.index(test_id)]
        assert img.shape == (64, 64, 3)
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])


@needs_archive
def test_spec_is_stable_cheap_and_matches_the_archive(tiny):
    cfg = DataConfig(name="tiny-imagenet-10", path=str(ARCHIVE))
    spec = dataset_spec(cfg)
    assert spec == dataset_spec(cfg) == tiny.spec
    assert spec["source"]["archive"] == {"size": ARCHIVE.stat().st_size, "sha256": ARCHIVE_SHA256}
    assert json.loads(json.dumps(spec)) == spec
    assert dataset_spec(DataConfig(name="tiny-imagenet-10", path=str(ARCHIVE), seed=1)) != spec


@needs_archive
def test_other_seed_changes_only_the_validation_split(tiny, monkeypatch):
    monkeypatch.setattr(tiny_imagenet, "read_archive", lambda *args, **kwargs: _RAW["arrays"])
    other = load_dataset(DataConfig(name="tiny-imagenet-10", path=str(ARCHIVE), seed=1), progress=False)
    assert np.array_equal(other.test_x, tiny.test_x) and other.test_ids == tiny.test_ids
    assert np.bincount(other.val_y).tolist() == np.bincount(tiny.val_y).tolist()
    assert not np.array_equal(other.val_x, tiny.val_x)

    # Same images overall: train + val is the same multiset of pictures.
    def digest(*arrays):
        return sorted(hashlib.sha1(a.tobytes()).hexdigest() for arr in arrays for a in arr)

    assert digest(other.train_x, other.val_x) == digest(tiny.train_x, tiny.val_x)


def test_spec_without_a_path_needs_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("dataset_spec must not download")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    spec = dataset_spec(DataConfig(name="tiny-imagenet-10"))
    assert spec["source"]["archive"]["md5"] == OFFICIAL_MD5
    assert spec["source"]["archive"]["size"] == OFFICIAL_SIZE == 248_100_043


# --- small archives built in tmp_path ------------------------------------------------------------


def _jpeg(colour, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (64, 64), colour).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _mini_archive(path: Path, extra: dict[str, bytes] | None = None, wnids=(*WNIDS, "n99999999")) -> Path:
    """The official layout with two train images and one val image per wnid (plus an 11th class)."""
    with zipfile.ZipFile(path, "w") as zf:
        root = "tiny-imagenet-200/"
        zf.writestr(root + "wnids.txt", "\n".join(wnids) + "\n")
        annotations = []
        for k, wnid in enumerate(wnids):
            for i in range(2):
                zf.writestr(f"{root}train/{wnid}/images/{wnid}_{i}.JPEG", _jpeg((k * 20, i * 100, 50)))
            zf.writestr(f"{root}train/{wnid}/{wnid}_boxes.txt", "")
            zf.writestr(f"{root}val/images/val_{k}.JPEG", _jpeg((k * 20, 200, 50)))
            annotations.append(f"val_{k}.JPEG\t{wnid}\t0\t0\t63\t63")
        zf.writestr(root + "val/val_annotations.txt", "\n".join(annotations[::-1]) + "\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_reads_only_the_ten_classes_from_a_bigger_archive(tmp_path):
    archive = _mini_archive(
        tmp_path / "t.zip",
        extra={
            f"tiny-imagenet-200/train/{WNIDS[0]}/images/{WNIDS[0]}_2.JPEG": _jpeg((0, 0, 0, 0), "CMYK"),
            f"tiny-imagenet-200/train/{WNIDS[1]}/images/{WNIDS[1]}_2.JPEG": _jpeg(77, "L"),
            "tiny-imagenet-200/test/images/test_0.JPEG": b"unlabelled, never read",
        },
    )
    x, y, test_x, test_y, test_ids = tiny_imagenet.read_archive(archive, progress=False)
    assert len(x) == 10 * 2 + 2 and np.bincount(y).tolist() == [3, 3] + [2] * 8
    assert test_x.shape == (10, 64, 64, 3)
    assert test_x.dtype == np.uint8
    assert test_y.tolist() == list(range(10)) and test_ids == tuple(f"val_{k}.JPEG" for k in range(10))
    cmyk_white = x[2]  # WNIDS[0]_2: CMYK with no ink is white
    assert cmyk_white.min() > 240 and x.dtype == np.uint8 and x.shape[1:] == (64, 64, 3)
    assert np.abs(x[5].astype(int) - 77).max() <= 2  # greyscale -> three equal-ish channels


def test_loads_through_load_dataset(tmp_path):
    archive = _mini_archive(tmp_path / "t.zip")
    cfg = DataConfig(name="tiny-imagenet-10", path=str(archive), val_fraction=0.4)
    data = load_dataset(cfg, progress=True)
    assert len(data.train_y) == 10 and len(data.val_y) == 10 and len(data.test_y) == 10
    again = load_dataset(cfg, progress=False)
    assert np.array_equal(data.train_x, again.train_x) and np.array_equal(data.val_y, again.val_y)


@pytest.mark.parametrize(
    "entry", ["../../evil.txt", "/etc/evil", "tiny-imagenet-200/../../x.JPEG", "C:/Windows/evil.dll", "..\\evil.txt"]
)
def test_zip_slip_entries_are_refused(tmp_path, entry):
    archive = _mini_archive(tmp_path / "evil.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        info = zipfile.ZipInfo("placeholder")
        info.filename = entry  # bypass ZipInfo's own path cleaning, as a hostile archive would
        zf.writestr(info, b"boom")
    with pytest.raises(DataError) as exc:
        load_dataset(DataConfig(name="tiny-imagenet-10", path=str(archive)), progress=False)
    assert "evil.zip" in str(exc.value) and repr(entry) in str(exc.value)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_bad_archives_give_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        dataset_spec(DataConfig(name="tiny-imagenet-10", path=str(tmp_path / "missing.zip")))
    with pytest.raises(DataError, match="is a folder"):
        dataset_spec(DataConfig(name="tiny-imagenet-10", path=str(tmp_path)))
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        load_dataset(DataConfig(name="tiny-imagenet-10", path=str(tmp_path / "text.zip")), progress=False)
    partial_zip = _mini_archive(tmp_path / "nine.zip", wnids=WNIDS[:9])
    with pytest.raises(DataError, match=WNIDS[9]):
        load_dataset(DataConfig(name="tiny-imagenet-10", path=str(partial_zip)), progress=False)
    broken = _mini_archive(
        tmp_path / "broken.zip", extra={f"tiny-imagenet-200/train/{WNIDS[3]}/images/{WNIDS[3]}_9.JPEG": b"garbage"}
    )
    with pytest.raises(DataError, match=f"broken.zip:tiny-imagenet-200/train/{WNIDS[3]}/images/{WNIDS[3]}_9"):
        load_dataset(DataConfig(name="tiny-imagenet-10", path=str(broken)), progress=False)


# --- download, against a local HTTP server ---------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    blob = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    (root / "blob.zip").write_bytes(blob)
    with serve_directory(root) as (url, httpd):
        yield url, blob, httpd


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_download_verifies_and_replaces_atomically(server, tmp_path, monkeypatch):
    base, blob, httpd = server
    dest = tmp_path / "cache" / "blob.zip"
    moves = []
    real_replace = tiny_imagenet.os.replace
    monkeypatch.setattr(tiny_imagenet.os, "replace", lambda a, b: (moves.append((a, b)), real_replace(a, b)))
    got = download(f"{base}/blob.zip", dest, len(blob), hashlib.md5(blob).hexdigest(), progress=True)
    assert got == dest and dest.read_bytes() == blob
    assert len(moves) == 1 and Path(moves[0][0]).parent == dest.parent and moves[0][0].endswith(".part")
    assert _leftovers(dest.parent) == ["blob.zip", "blob.zip.verified"]
    httpd.shutdown()  # a second call must not touch the network
    again = download(f"{base}/blob.zip", dest, len(blob), hashlib.md5(blob).hexdigest(), progress=False)
    assert again == dest


@pytest.mark.parametrize("problem", ["md5", "size", "404"])
def test_download_failures_leave_no_file(server, tmp_path, problem):
    base, blob, _ = server
    dest = tmp_path / "cache" / "blob.zip"
    url, size, md5 = f"{base}/blob.zip", len(blob), hashlib.md5(blob).hexdigest()
    if problem == "md5":
        md5 = "0" * 32
    elif problem == "size":
        size -= 1
    else:
        url = f"{base}/missing.zip"
    with pytest.raises(DataError, match="download") as exc:
        download(url, dest, size, md5, progress=False)
    assert url in str(exc.value) and "dataset_path" in str(exc.value)
    assert _leftovers(dest.parent) == []


def test_download_refuses_an_unreachable_server(tmp_path):
    with pytest.raises(DataError, match="failed"):
        download("http://127.0.0.1:9/none.zip", tmp_path / "x.zip", 10, "0" * 32, progress=False, timeout=5)
    assert _leftovers(tmp_path) == []
