"""Bad input, end to end: every broken image, shortcode, option, archive or weights file gives ONE clear
error naming the file or option, a non-zero exit, no traceback, and no partial file in site/ or the cache.
Also: the odd-but-valid images users bring (modes, sizes, names) work through the CLI and mkdocs.yml.

The CLI runs as `python -m generator ...` subprocesses and the plugin as `mkdocs build`, like a user runs
them. One small model (1 epoch on 30 generated images per class, one sample image) is trained per
session into pytest's base temp dir and shared by the tests (see test_cli.py and test_faults.py too).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import resource
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_support import SMALL, child_env, gen, latest, one_error, stage_dirs
from PIL import Image
from support import serve_directory

from generator.datasets.tiny_imagenet import download
from generator.errors import DataError
from generator.images import slugify

REPO = Path(__file__).resolve().parents[1]
REF = REPO.parent / "shared" / "reference" / "cnn-explainer"
SMALL_YML = {"max_samples": 1, "images_per_class": 30, "epochs": 1}
MEMORY_LIMIT = 2_000_000_000  # bytes of address space for the huge-image checks


# -- helpers (each test file has its own copy: there is no shared conftest for these) -------------------





def mkdocs(site: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`mkdocs build` of a temp site; stdout and stderr merged."""
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(site / "mkdocs.yml")], cwd=site,
                          env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False)




def build_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Like one_error, for `mkdocs build`: MkDocs frames the error, exactly one line names all needles."""
    out = proc.stdout
    assert proc.returncode != 0, f"expected a failure, got exit 0:\n{out}"
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, f"expected one line naming {needles}, got {len(lines)}:\n{out}"
    assert "ERROR" in lines[0], lines[0]
    return lines[0]






def assert_cache_clean(cache: Path) -> None:
    """No temp leftovers, and every published stage directory is complete."""
    assert not list(cache.rglob(".tmp-*")), list(cache.rglob(".tmp-*"))
    assert not list(cache.rglob("*.tmp"))
    for stage in ("train", "probe", "render"):
        for d in stage_dirs(cache, stage):
            assert (d / ".complete").is_file(), f"{d} has no .complete"




@pytest.fixture(scope="session")
def checkpoint(small_cache: Path) -> Path:
    return latest(small_cache, "train")


# -- images that must be refused ------------------------------------------------------------------------

def _rgb(width: int = 96, height: int = 80, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _jpeg_bytes(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _bad_image(kind: str, folder: Path) -> Path:
    jpeg = _jpeg_bytes(_rgb())
    if kind == "truncated jpeg":
        path, data = folder / "truncated.jpg", jpeg[: len(jpeg) // 2]
    elif kind == "corrupt jpeg":  # the JPEG start marker, then garbage where the headers should be
        path, data = folder / "corrupt.jpg", jpeg[:2] + bytes(np.random.default_rng(1).integers(0, 256, 4000,
                                                                                               dtype=np.uint8))
    elif kind == "empty file":
        path, data = folder / "empty.png", b""
    elif kind == "text named .jpg":
        path, data = folder / "notes.jpg", b"these are my holiday notes, not a photo\n"
    else:
        raise AssertionError(kind)
    path.write_bytes(data)
    return path


BAD_IMAGES = ["truncated jpeg", "corrupt jpeg", "empty file", "text named .jpg"]


@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_predict_refuses_a_bad_image(kind: str, checkpoint: Path, tmp_path: Path) -> None:
    image = _bad_image(kind, tmp_path)
    one_error(gen("predict", "--weights", checkpoint, image.name, cwd=tmp_path), image.name)


def test_figure_refuses_a_bad_image_and_writes_nothing(small_cache: Path, tmp_path: Path) -> None:
    image = _bad_image("text named .jpg", tmp_path)
    proc = gen("figure", "overview", "--image", image, "-o", tmp_path / "out.png", *SMALL, "--quiet",
               "--cache-dir", small_cache, cwd=tmp_path)
    one_error(proc, str(image))
    assert not (tmp_path / "out.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == [image.name]  # no temp file either


def test_build_refuses_a_bad_image_before_training(tmp_path: Path) -> None:
    """A broken `--images` file fails in a second, not after training, and publishes no stage."""
    image = _bad_image("truncated jpeg", tmp_path)
    cache = tmp_path / "cache"
    proc = gen("build", *SMALL, "--quiet", "--images", image.name, "--cache-dir", cache, cwd=tmp_path)
    one_error(proc, str(image), "truncated")
    assert "training" not in proc.stderr
    assert stage_dirs(cache, "train") == [] and stage_dirs(cache, "probe") == []
    assert_cache_clean(cache)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG claiming width x height RGB pixels, with a tiny (truncated) image data chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_huge_images_are_refused_or_downscaled_in_bounded_memory(checkpoint: Path, tmp_path: Path) -> None:
    """20,000 x 20,000 pixels (a 50 KB file) and a header claiming 100,000 x 100,000 are refused; a 48 MP
    JPEG is decoded at reduced scale. All under a 2 GB address-space limit (a full decode of the first
    would need 1.2 GB as RGB, the second 30 GB)."""
    huge = tmp_path / "huge.png"
    Image.new("1", (20_000, 20_000)).save(huge)  # bilevel: 50 MB in memory, ~50 KB on disk
    assert huge.stat().st_size < 1_000_000
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)
    for path in (huge, bomb):
        proc = gen("predict", "--weights", checkpoint, path.name, cwd=tmp_path, preexec_fn=_limit_memory)
        one_error(proc, path.name, "megapixel")
    photo = tmp_path / "big photo.jpg"
    Image.new("L", (8000, 6000), 128).save(photo, quality=50)  # 48 MP, above the 40 MP full-decode limit
    proc = gen("predict", "--weights", checkpoint, "--json", photo.name, cwd=tmp_path,
               preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["path"] == photo.name


# -- odd but valid images: converted, cropped, any file name --------------------------------------------

def _png16_rgb(path: Path, rgb8: np.ndarray) -> None:
    """A 48-bit (16 bits per channel) RGB PNG whose high bytes are `rgb8` (Pillow cannot write one)."""
    height, width, _ = rgb8.shape
    wide = rgb8.astype(">u2") * 257  # (H, W, 3) big-endian: full scale stays full scale
    raw = b"".join(b"\0" + wide[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def odd_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str | None]]]:
    """Images in every awkward mode, each paired with a plain RGB PNG of the same pixels (or None)."""
    folder = tmp_path_factory.mktemp("odd images")
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    pairs: dict[str, tuple[str, str | None]] = {}

    def save(name: str, img: Image.Image, twin: np.ndarray | None, **kw) -> None:
        img.save(folder / name, **kw)
        twin_name = None
        if twin is not None:
            twin_name = f"twin-{Path(name).stem}.png"
            Image.fromarray(twin).save(folder / twin_name)
        pairs[name] = (name, twin_name)

    grey3 = np.repeat(grey[:, :, None], 3, axis=2)
    save("grey.png", Image.fromarray(grey, "L"), grey3)
    save("grey16.png", Image.fromarray(grey.astype(np.uint16) * 257), grey3)  # mode I;16
    rgba = Image.fromarray(np.dstack([base, np.full((64, 64), 255, np.uint8)]), "RGBA")
    save("opaque.png", rgba, base)
    palette = Image.fromarray(base).quantize(32)
    save("palette.png", palette, np.asarray(palette.convert("RGB")))
    save("palette.gif", palette, np.asarray(palette.convert("RGB")))
    save("cmyk.jpg", Image.fromarray(base).convert("CMYK"), None, quality=95)
    bits = grey > 127
    save("bilevel.png", Image.fromarray(bits), np.repeat(bits[:, :, None], 3, axis=2).astype(np.uint8) * 255)
    save("half transparent.png", Image.fromarray(np.dstack([base, np.full((64, 64), 128, np.uint8)]), "RGBA"),
         None)
    _png16_rgb(folder / "deep48.png", base)
    Image.fromarray(base).save(folder / "twin-deep48.png")
    pairs["deep48.png"] = ("deep48.png", "twin-deep48.png")
    # Non-square: the pipeline keeps the centre square. Sides differ so that a wrong crop shows.
    wide = np.concatenate([255 - base[:, :48], base, base[:, ::-1][:, :48] // 2], axis=1)  # (64, 160, 3)
    save("wide.png", Image.fromarray(wide), base)
    tall = np.concatenate([base[:32] // 3, base, 255 - base[:32]], axis=0)  # (128, 64, 3)
    save("tall.png", Image.fromarray(tall), base)
    save("left-crop.png", Image.fromarray(np.ascontiguousarray(wide[:, :64])), None)  # the wrong crop
    # Names with spaces and non-ASCII characters.
    save("my cat 猫 (1).png", Image.fromarray(base), base)
    save("café été.jpeg", Image.fromarray(base), None, quality=95)
    return folder, pairs


def test_odd_images_are_converted_and_classified(odd_images, checkpoint: Path) -> None:
    """One predict call over every awkward image: all classified; each matches its plain-RGB twin.

    The twin comparison needs a model whose output depends clearly on the input: CNN Explainer's
    (from ../shared); the session's one-epoch model is used for the rest when that is absent."""
    folder, pairs = odd_images
    sharp = (REF / "model.json").is_file()
    weights = REF / "model.json" if sharp else checkpoint
    names = sorted({n for pair in pairs.values() for n in pair if n})
    proc = gen("predict", "--weights", weights, "--json", *names, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    results = {r["path"]: r for r in json.loads(proc.stdout)}
    assert sorted(results) == names

    def probs(name: str) -> np.ndarray:
        return np.array(list(results[name]["probabilities"].values()))

    for name, _ in pairs.values():
        p = probs(name)
        assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)
    if not sharp:
        return
    # Batched float32 convolutions differ in the last bits with the batch position: allow 1e-4.
    for name, twin in pairs.values():
        if twin is not None:
            np.testing.assert_allclose(probs(name), probs(twin), rtol=0, atol=1e-4,
                                       err_msg=f"{name} vs {twin}")
    # The comparison is sensitive: the left crop of the wide image is not its centre crop.
    assert np.abs(probs("left-crop.png") - probs("wide.png")).max() > 1e-3


# -- shortcodes and plugin options in a small MkDocs site ----------------------------------------------

USER_IMAGE = "photos/my cat 猫.png"  # a space and a CJK character, as `images:` in mkdocs.yml
USER_SLUG = slugify(Path(USER_IMAGE).stem)


def _write_site(site: Path, cache: Path, pages: dict[str, str], **options: object) -> None:
    site.mkdir(parents=True, exist_ok=True)
    opts = {**SMALL_YML, "cache_dir": str(cache), "images": [USER_IMAGE], **options}
    lines = "".join(f"      {key}: {json.dumps(value, ensure_ascii=False)}\n"
                    for key, value in opts.items() if value is not None)
    header = "site_name: bad input\ntheme:\n  name: material\nplugins:\n  - tinyvgg:\n"
    (site / "mkdocs.yml").write_text(header + lines, encoding="utf-8")
    docs = site / "docs"
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir()
    for name, text in pages.items():
        (docs / name).write_text(textwrap.dedent(text), encoding="utf-8")


GOOD_PAGE = f"""\
    # Home

    Accuracy {{{{ value test-accuracy }}}};
    my photo looks like {{{{ value predicted-class image={USER_SLUG} }}}}.

    {{{{ figure overview image={USER_SLUG} }}}}
    """


@pytest.fixture(scope="module")
def site_cache(small_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache for the small site: the session's trained model plus the user image probed and rendered
    (the first `mkdocs build` does that; every later one hits the cache)."""
    root = tmp_path_factory.mktemp("site-cache")
    (root / "photos").mkdir()
    _rgb(120, 90, seed=3).save(root / USER_IMAGE)
    cache = root / "cache"
    (cache / "train").mkdir(parents=True)
    train_dir = latest(small_cache, "train")
    shutil.copytree(train_dir, cache / "train" / train_dir.name)
    return cache


def _site(tmp_path: Path, site_cache: Path, pages: dict[str, str], **options: object) -> Path:
    site = tmp_path / "site"
    shutil.copytree(site_cache.parent / "photos", site / "photos")
    _write_site(site, site_cache, pages, **options)
    return site


def test_site_with_a_user_image_named_in_unicode_builds(site_cache: Path, tmp_path: Path) -> None:
    site = _site(tmp_path, site_cache, {"index.md": GOOD_PAGE})
    proc = mkdocs(site, timeout=900)
    assert proc.returncode == 0, proc.stdout
    html = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert f"figures/{USER_SLUG}/overview.png" in html
    assert (site / "site" / "figures" / USER_SLUG / "overview.png").is_file()
    assert "{{" not in html


BAD_SHORTCODES = {
    "unknown figure kind": ("{{ figure conv-overviews layer=conv_1_1 }}",
                            ["unknown figure kind 'conv-overviews'"]),
    "unknown value": ("{{ value test-accuracyy }}", ["unknown value 'test-accuracyy'"]),
    "unknown parameter": ("{{ figure overview colour=red }}", ["unknown parameter colour"]),
    "neuron out of range": ("{{ figure conv-overview layer=conv_1_1 neuron=10 }}",
                            ["neuron 10 out of range"]),
    "unknown layer": ("{{ figure relu layer=conv_1_1 }}", ["unknown layer 'conv_1_1'"]),
    "unknown image": ("{{ figure input image=dog }}", ["unknown image 'dog'"]),
    "not an integer": ("{{ value bias layer=conv_1_1 neuron=one }}", ["neuron"]),
    "unknown shortcode": ("{{ figures overview }}", ["unknown shortcode 'figures'"]),
}


@pytest.mark.parametrize("case", list(BAD_SHORTCODES))
def test_bad_shortcode_names_page_and_line_and_writes_no_page(case: str, site_cache: Path,
                                                              tmp_path: Path) -> None:
    code, needles = BAD_SHORTCODES[case]
    bad = f"# Chapter\n\nSome text.\n\nMore text: {code}\n"
    site = _site(tmp_path, site_cache, {"index.md": GOOD_PAGE, "chapter.md": bad})
    # A previous good build left a complete site behind; the failing build must not leave half of one.
    (site / "site").mkdir()
    (site / "site" / "old.html").write_text("<p>an earlier build</p>")
    proc = mkdocs(site)
    build_error(proc, "chapter.md:5", *needles)
    written = [p for p in (site / "site").rglob("*") if p.is_file()]
    assert written == [], f"a failing build wrote {written}"


def test_every_bad_shortcode_of_a_page_is_reported_at_once(site_cache: Path, tmp_path: Path) -> None:
    bad = "# C\n\n{{ figure nope }}\n\n`{{ figure in-code-is-fine }}`\n\n{{ value nope }}\n"
    site = _site(tmp_path, site_cache, {"index.md": GOOD_PAGE, "c.md": bad})
    line = build_error(mkdocs(site), "c.md:3", "c.md:7")
    assert "in-code-is-fine" not in line


BAD_OPTIONS = {
    "negative epochs": ({"epochs": -1}, ["epochs", "-1"]),
    "zero epochs": ({"epochs": 0}, ["epochs"]),
    "unknown dataset": ({"dataset": "imagenet"}, ["dataset", "imagenet"]),
    "missing image": ({"images": ["photos/missing.png"]}, ["images", "missing.png"]),
    "bad image": ({"images": ["photos/broken.jpg"]}, ["broken.jpg", "truncated"]),
    "unknown featured": ({"featured": "dog"}, ["featured", "dog"]),
    "negative max_samples": ({"max_samples": -2}, ["max_samples"]),
    "wrong type": ({"workers": "two"}, ["workers"]),
    "folder without path": ({"dataset": "folder", "images_per_class": None}, ["dataset_path"]),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_plugin_option_names_the_option(case: str, site_cache: Path, tmp_path: Path) -> None:
    options, needles = BAD_OPTIONS[case]
    site = _site(tmp_path, site_cache, {"index.md": "# Home\n"}, **options)
    (site / "photos" / "broken.jpg").write_bytes(_jpeg_bytes(_rgb())[:500])
    before = sorted(str(p) for p in site_cache.rglob("*"))
    build_error(mkdocs(site), *needles)
    assert not (site / "site").exists() or not any((site / "site").rglob("*.html"))
    assert_cache_clean(site_cache)
    if case != "unknown featured":  # a bad featured slug is only known once the sample images are probed
        after = sorted(str(p) for p in site_cache.rglob("*"))
        assert after == before, "a refused build changed the cache"


# -- bad options through the CLI --------------------------------------------------------------------------

def _folder_dataset(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            _rgb(64, 64, seed=i).save(root / name / f"{i}.png")
    return root


BAD_CLI = {
    "negative epochs": (["--epochs", "-1"], ["epochs", "-1"]),
    "unknown dataset": (["--dataset", "imagenet"], ["--dataset", "imagenet"]),
    "unknown profile": (["--profile", "huge"], ["--profile"]),
    "epochs not a number": (["--epochs", "many"], ["--epochs", "many"]),
    "negative workers": (["--workers", "-1"], ["workers"]),
    "negative max samples": (["--max-samples", "-1"], ["max_samples"]),
    "folder without path": (["--dataset", "folder"], ["dataset_path"]),
    "folder missing": (["--dataset", "folder", "--dataset-path", "nowhere"], ["nowhere", "not found"]),
    "folder of one class": (["--dataset", "folder", "--dataset-path", "one-class"],
                            ["one-class", "at least 2"]),
    "folder with an empty class": (["--dataset", "folder", "--dataset-path", "empty-class"],
                                   ["empty-class", "'dog' has no images"]),
    "folder with a tiny class": (["--dataset", "folder", "--dataset-path", "tiny-class"],
                                 ["tiny-class", "'dog' has 1 image"]),
    "archive missing": (["--dataset", "tiny-imagenet-10", "--dataset-path", "no.zip"],
                        ["no.zip", "not found"]),
    "archive not a zip": (["--dataset", "tiny-imagenet-10", "--dataset-path", "fake.zip"],
                          ["fake.zip", "zip"]),
    "archive escaping its folder": (["--dataset", "tiny-imagenet-10", "--dataset-path", "evil.zip"],
                                    ["evil.zip", "../escaped.txt"]),
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


@pytest.mark.parametrize("case", list(BAD_CLI))
def test_bad_cli_option_names_the_option(case: str, bad_data: Path) -> None:
    args, needles = BAD_CLI[case]
    cache = bad_data / f"cache-{case.replace(' ', '-')}"
    proc = gen("build", "--quiet", "--cache-dir", cache, *args, cwd=bad_data)
    one_error(proc, *needles)
    assert not (bad_data.parent / "escaped.txt").exists()
    if cache.exists():
        assert_cache_clean(cache)
        assert not any(stage_dirs(cache, s) for s in ("train", "probe", "render"))


def test_figure_options_are_checked_before_training(tmp_path: Path) -> None:
    """--layer nope / --neuron 99 fail at once (an empty cache: nothing is trained for nothing)."""
    cache = tmp_path / "cache"
    for args, needles in ((["conv-detail", "--layer", "nope"], ["layer", "'nope'"]),
                          (["conv-detail", "--layer", "conv_2_1", "--neuron", "99"],
                           ["neuron 99", "conv_2_1"]),
                          (["kernels", "--neuron", "3"], ["kernels", "neuron"]),
                          (["hyperparameter"], ["hyper"])):
        out = tmp_path / ("x.gif" if args[0] != "kernels" else "x.png")
        proc = gen("figure", *args, "-o", out, "--cache-dir", cache, "--quiet", cwd=tmp_path, timeout=60)
        one_error(proc, *needles)
        assert not out.exists()
    assert not stage_dirs(cache, "train")


def test_output_neuron_out_of_range_via_figure(small_cache: Path, tmp_path: Path) -> None:
    """The output layer's size comes from the trained model: checked after loading it, still one error."""
    out = tmp_path / "a.png"
    proc = gen("figure", "activation", "--layer", "output", "--neuron", "99", "-o", out, *SMALL, "--quiet",
               "--cache-dir", small_cache, cwd=tmp_path)
    one_error(proc, "neuron 99", "output")
    assert not out.exists()


# -- downloads and weights --------------------------------------------------------------------------------

@pytest.fixture()
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
        download(url=f"{url}/archive.zip", dest=dest, size=len(payload) - 10, md5=expected_md5,
                 progress=False)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["archive.zip.lock"]  # no archive, no .part
    right = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    assert download(url=f"{url}/archive.zip", dest=dest, size=len(payload), md5=right, progress=False) == dest
    assert dest.read_bytes() == payload


def _other_architecture(folder: Path) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir()
    rng = np.random.default_rng(0)
    state = {"conv_1_1.weight": rng.normal(size=(16, 3, 5, 5)).astype(np.float32),
             "conv_1_1.bias": np.zeros(16, np.float32),
             "output.weight": rng.normal(size=(10, 4096)).astype(np.float32),
             "output.bias": np.zeros(10, np.float32)}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "meta.json").write_text(json.dumps({"classes": [f"c{i}" for i in range(10)]}))
    return folder / "model.safetensors"


class _Trap:
    """Unpickling this creates a marker file: proof that a pickle was (not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_checkpoint_of_another_architecture_is_refused(tmp_path: Path) -> None:
    weights = _other_architecture(tmp_path / "other")
    image = tmp_path / "cat.png"
    _rgb(64, 64).save(image)
    for given in (weights, weights.parent):  # the file, or its checkpoint directory
        proc = gen("predict", "--weights", given, image, cwd=tmp_path)
        one_error(proc, str(given), "another architecture", "conv_1_1.weight")


def test_pickles_are_refused_and_never_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Pickles by content (whatever their name), by suffix, and torch.save's zip format are refused
    before anything parses them. Two through a subprocess; the rest through cli.main in-process (the
    same code path, without paying for another interpreter and torch import each)."""
    from generator import cli

    marker = tmp_path / "UNPICKLED"
    blob = pickle.dumps({"conv_1_1.weight": _Trap(marker)}, protocol=4)
    assert not marker.exists()
    image = tmp_path / "cat.png"
    _rgb(64, 64).save(image)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(blob)
    (tmp_path / "ckpt" / "meta.json").write_text(json.dumps({"classes": ["a", "b"]}))
    (tmp_path / "model.pt").write_bytes(blob)
    (tmp_path / "disguised.safetensors").write_bytes(blob)  # a pickle under an innocent name
    (tmp_path / "weights.bin").write_bytes(b"\0" * 64)  # a pickle-family suffix
    with zipfile.ZipFile(tmp_path / "torch_save.pth", "w") as zf:  # torch.save's format: a zip of pickles
        zf.writestr("archive/data.pkl", blob)
    for given in ("model.pt", "ckpt"):
        one_error(gen("predict", "--weights", given, image.name, cwd=tmp_path), given, "refused")
    monkeypatch.chdir(tmp_path)
    for given in ("disguised.safetensors", "weights.bin", "torch_save.pth"):
        capsys.readouterr()
        assert cli.main(["predict", "--weights", given, image.name]) == 2
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {given}: refused"), lines
    assert not marker.exists(), "a pickle was unpickled"
