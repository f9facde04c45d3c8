"""generator/images.py: every kind of user image becomes (64, 64, 3) uint8, or one clear DataError."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generator.errors import DataError
from generator.images import MAX_PIXELS, load_image, load_image_bytes, slugify, unique_slugs

REPO = Path(__file__).resolve().parents[1]


def _check(arr: np.ndarray) -> np.ndarray:
    assert arr.shape == (64, 64, 3) and arr.dtype == np.uint8
    return arr


def test_rgb_64_is_returned_unchanged(tmp_path):
    src = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(src).save(tmp_path / "a.png")
    assert np.array_equal(_check(load_image(tmp_path / "a.png")), src)


def test_greyscale_becomes_three_equal_channels(tmp_path):
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1)), "L").save(tmp_path / "g.png")
    out = _check(load_image(tmp_path / "g.png"))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert out[0, 0, 0] == 0 and out[0, 63, 0] == 252


def test_bilevel_image(tmp_path):
    Image.new("1", (80, 80), 1).save(tmp_path / "b.png")
    assert (_check(load_image(tmp_path / "b.png")) == 255).all()


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[:, :32] = (255, 0, 0, 255)  # left half opaque red, right half fully transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    out = _check(load_image(tmp_path / "t.png"))
    assert (out[:, :30] == (255, 0, 0)).all()
    assert (out[:, 34:] == 255).all()


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 255] + [0, 255, 0] * 255)
    img.paste(1, (0, 0, 64, 32))
    img.save(tmp_path / "p.png", transparency=0)  # index 0 (blue) is transparent
    out = _check(load_image(tmp_path / "p.png"))
    assert (out[:30] == (0, 255, 0)).all() and (out[34:] == 255).all()


def test_palette_gif_takes_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 40), c).convert("P") for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    out = _check(load_image(tmp_path / "anim.gif"))
    assert out[..., 0].min() > 200 and out[..., 2].max() < 50


def test_cmyk_jpeg_is_converted(tmp_path):
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)  # pure red ink
    out = _check(load_image(tmp_path / "c.jpg")).reshape(-1, 3).mean(0)
    assert out[0] > 200 and out[1] < 60 and out[2] < 60


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    arr = np.full((64, 64), 32768, dtype=np.uint16)  # half of the 16-bit range
    arr[:, 32:] = 65535
    Image.fromarray(arr).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as check:
        assert check.mode.startswith("I")  # really a wide mode on disk
    out = _check(load_image(tmp_path / "deep.png"))
    assert abs(int(out[10, 5, 0]) - 128) <= 1  # clipping would give 255
    assert out[10, 60, 0] == 255


def test_float_tiff_in_unit_range(tmp_path):
    Image.fromarray(np.full((64, 64), 0.5, dtype=np.float32), "F").save(tmp_path / "f.tif")
    assert abs(int(_check(load_image(tmp_path / "f.tif"))[0, 0, 0]) - 128) <= 1


def test_non_square_is_centre_cropped(tmp_path):
    wide = np.zeros((64, 192, 3), dtype=np.uint8)
    wide[:, :64] = (255, 0, 0)
    wide[:, 64:128] = (0, 255, 0)  # the centre square
    wide[:, 128:] = (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    out = _check(load_image(tmp_path / "wide.png"))
    assert (out[:, 4:60] == (0, 255, 0)).all()
    tall = np.ascontiguousarray(wide.transpose(1, 0, 2))
    Image.fromarray(tall).save(tmp_path / "tall.png")
    assert (_check(load_image(tmp_path / "tall.png"))[4:60] == (0, 255, 0)).all()


@pytest.mark.parametrize("size", [(1, 1), (3000, 17), (63, 65), (640, 480)])
def test_any_size(tmp_path, size):
    Image.new("RGB", size, (10, 20, 30)).save(tmp_path / "s.png")
    out = _check(load_image(tmp_path / "s.png"))
    assert np.abs(out.astype(int) - (10, 20, 30)).max() <= 1


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((32, 64, 3), dtype=np.uint8)
    img[:, :32] = 255  # left half white in the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(img).save(tmp_path / "o.jpg", exif=exif, quality=95)
    out = _check(load_image(tmp_path / "o.jpg"))
    assert out[5:25, 32].mean() > 200 and out[40:60, 32].mean() < 50  # white ends up on top


def test_names_with_spaces_and_non_ascii(tmp_path):
    path = tmp_path / "我的 猫 photo (1).PNG"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(path, format="PNG")
    assert (_check(load_image(path)) == (1, 2, 3)).all()
    assert (_check(load_image(str(path))) == (1, 2, 3)).all()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"hello, this is not a picture\n", "not a readable image"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, content, fragment):
    path = tmp_path / "bad photo.jpg"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment) as info:
        load_image(path)
    assert "bad photo.jpg" in str(info.value) and "replace it" in str(info.value)


def test_truncated_jpeg(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.jpg"):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(DataError, match=r"archive\.zip:x\.jpg"):
        load_image_bytes(data[:300], "archive.zip:x.jpg")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_image(tmp_path / "nope.png")


def _png(path: Path, width: int, height: int, depth: int, colour_type: int, row: bytes) -> None:
    """Write a PNG by hand (any size, bit depth, colour type) with every row equal to `row`.

    Rows are streamed through zlib, so a 20,000 x 20,000 image costs a few MB to write.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(b"\0" + row) for _ in range(height)) + comp.flush()  # filter 0 per row
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _bilevel_png(path: Path, width: int, height: int) -> None:
    """A valid all-black 1-bit greyscale PNG of any size."""
    _png(path, width, height, 1, 0, b"\0" * ((width + 7) // 8))


def test_16_bit_rgb_and_grey_alpha_pngs(tmp_path):
    _png(tmp_path / "rgb48.png", 8, 8, 16, 2, struct.pack(">HHH", 0x8000, 0xFFFF, 0x0000) * 8)
    out = _check(load_image(tmp_path / "rgb48.png"))
    assert abs(int(out[0, 0, 0]) - 128) <= 1 and out[0, 0, 1] == 255 and out[0, 0, 2] == 0
    _png(tmp_path / "la.png", 8, 8, 8, 4, bytes([0, 0]) * 8)  # black, fully transparent
    assert (_check(load_image(tmp_path / "la.png")) == 255).all()
    _png(tmp_path / "grey16.png", 8, 8, 16, 0, struct.pack(">H", 0x4000) * 8)
    assert abs(int(_check(load_image(tmp_path / "grey16.png"))[0, 0, 0]) - 64) <= 1


def _extra_peak_mb(path: Path) -> tuple[str, float]:
    """Load `path` in a fresh interpreter; return its outcome and how far loading raised peak memory (MB).

    VmHWM (Linux) is the process's peak resident size; it restarts at exec, unlike ru_maxrss.
    """
    status = Path("/proc/self/status")
    if not status.exists() or "VmHWM" not in status.read_text():
        pytest.skip("needs Linux /proc/self/status to measure peak memory")
    code = textwrap.dedent(f"""
        from pathlib import Path
        from generator.images import load_image
        from generator.errors import DataError
        def hwm():
            lines = Path("/proc/self/status").read_text().splitlines()
            return int(next(x for x in lines if x.startswith("VmHWM")).split()[1]) / 1024
        before = hwm()
        try:
            load_image({str(path)!r}); outcome = "ok"
        except DataError as exc:
            outcome = "DataError: " + str(exc)
        print(outcome)
        print(hwm() - before)
    """)
    out = (
        subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
        .stdout.strip()
        .splitlines()
    )
    return out[0], float(out[1])


def test_huge_png_is_refused_without_allocating(tmp_path):
    path = tmp_path / "huge.png"
    _bilevel_png(path, 20_000, 20_000)  # 400 MP: Pillow would need 400 MB for the pixels alone
    with pytest.raises(DataError, match=r"huge\.png") as info:
        load_image(path)
    assert "downscale" in str(info.value)
    outcome, extra = _extra_peak_mb(path)
    assert outcome.startswith("DataError") and extra < 50, (outcome, extra)


def test_png_over_our_limit_but_under_pillows(tmp_path):
    path = tmp_path / "big.png"
    _bilevel_png(path, 10_000, 8_000)  # 80 MP: Pillow only warns; our 40 MP limit refuses it
    assert MAX_PIXELS < 10_000 * 8_000
    with pytest.raises(DataError, match="megapixel limit"):
        load_image(path)


def test_huge_jpeg_header_is_refused(tmp_path):
    small = tmp_path / "small.jpg"
    Image.new("L", (16, 16), 128).save(small)
    data = bytearray(small.read_bytes())
    sof = data.index(b"\xff\xc0")  # baseline SOF0: length(2) precision(1) height(2) width(2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", 20_000, 20_000)
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"bomb\.jpg"):
        load_image(tmp_path / "bomb.jpg")


def test_large_jpeg_is_draft_decoded_with_bounded_memory(tmp_path):
    path = tmp_path / "photo.jpg"
    img = Image.new("L", (10_000, 8_000), 90)  # 80 MP, above MAX_PIXELS: only draft mode can read it
    img.paste(200, (4_000, 0, 6_000, 8_000))  # a bright band through the centre
    img.save(path, quality=60)
    del img
    out = _check(load_image(path))
    assert out[32, 32, 0] > 180 and out[32, 2, 0] < 110
    outcome, extra = _extra_peak_mb(path)
    assert outcome == "ok" and extra < 50, (outcome, extra)  # a full decode would need 80 MB, as RGB 240


def test_slugify():
    assert slugify("My Cat.jpg") == "my-cat-jpg"
    assert slugify("koala_1") == "koala-1"
    cafe = slugify("café")
    assert cafe.startswith("cafe-") and len(cafe) == len("cafe-") + 8
    assert slugify("猫").startswith("image-") and slugify("猫") != slugify("狗")
    assert slugify("!!!").startswith("image-")
    # The NFD spelling macOS uses gives the same slug as NFC.
    assert slugify("cafe\u0301") == cafe
    for name in ["My Cat.jpg", "猫", "café", "x" * 300, "a/b\\c?d#e"]:
        s = slugify(name)
        assert s.isascii() and s == s.lower() and all(c.isalnum() or c == "-" for c in s) and len(s) <= 69
        assert slugify(name) == s  # stable


def test_unique_slugs_never_collide():
    names = ["My Cat", "my-cat", "my_cat", "猫", "猫 "]
    slugs = unique_slugs(names)
    assert len(set(slugs)) == len(names)
    assert unique_slugs(["a", "b"]) == ["a", "b"]


def test_unopenable_file(tmp_path):
    path = tmp_path / "locked.png"
    Image.new("RGB", (8, 8)).save(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        with pytest.raises(DataError, match=r"locked\.png"):
            load_image(path)
    finally:
        path.chmod(0o644)
