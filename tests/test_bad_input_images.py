"""Bad input, images: broken files give ONE clear error naming the file, a non-zero exit, no traceback
and no partial file; huge images are refused or decoded at reduced scale in bounded memory; the odd but
valid images users bring (modes, sizes, names) are converted and classified like their plain twins.

The CLI runs as `python -m generator ...` subprocesses, like a user runs it, against the session's small
trained model (conftest.small_cache).
"""

from __future__ import annotations

import json
import resource
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_support import SMALL, assert_cache_clean, gen, jpeg_bytes, latest, one_error, rgb_image, stage_dirs
from PIL import Image
from support import SHARED

REF = SHARED / "reference" / "cnn-explainer"
MEMORY_LIMIT = 2_000_000_000  # bytes of address space for the huge-image checks


@pytest.fixture(scope="session")
def checkpoint(small_cache: Path) -> Path:
    return latest(small_cache, "train")


# -- images that must be refused ------------------------------------------------------------------------


def _bad_image(kind: str, folder: Path) -> Path:
    jpeg = jpeg_bytes(rgb_image())
    if kind == "truncated jpeg":
        path, data = folder / "truncated.jpg", jpeg[: len(jpeg) // 2]
    elif kind == "corrupt jpeg":  # the JPEG start marker, then garbage where the headers should be
        path, data = (
            folder / "corrupt.jpg",
            jpeg[:2] + bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)),
        )
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
    proc = gen(
        "figure",
        "overview",
        "--image",
        image,
        "-o",
        tmp_path / "out.png",
        *SMALL,
        "--quiet",
        "--cache-dir",
        small_cache,
        cwd=tmp_path,
    )
    one_error(proc, str(image))
    assert not (tmp_path / "out.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == [image.name]  # no temp file either


@pytest.mark.slow  # the `generator build` subprocess loads torch before it reads the image
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
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


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
    proc = gen("predict", "--weights", checkpoint, "--json", photo.name, cwd=tmp_path, preexec_fn=_limit_memory)
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
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


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
    save("half transparent.png", Image.fromarray(np.dstack([base, np.full((64, 64), 128, np.uint8)]), "RGBA"), None)
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
            np.testing.assert_allclose(probs(name), probs(twin), rtol=0, atol=1e-4, err_msg=f"{name} vs {twin}")
    # The comparison is sensitive: the left crop of the wide image is not its centre crop.
    assert np.abs(probs("left-crop.png") - probs("wide.png")).max() > 1e-3
