"""Memory and hostile paths for image loading (issue 10, item 9 and the red-team pass): anything the
loader accepts decodes within 1 GB of address space, and paths that are not regular files (FIFOs,
devices) are refused at once with one DataError."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generator import images
from generator.errors import DataError
from generator.images import MAX_PIXELS, load_image

REPO = Path(__file__).resolve().parents[1]
LIMIT = 1 << 30  # 1 GiB above what the interpreter holds once numpy and Pillow are imported


def decode_under_limit(path: Path) -> str:
    """load_image(path) in a child whose address space may grow by at most LIMIT: 'ok' or the error."""
    code = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from generator.images import load_image
        from generator.errors import DataError
        size = next(int(x.split()[1]) * 1024 for x in Path("/proc/self/status").read_text().splitlines()
                    if x.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (size + {LIMIT}, size + {LIMIT}))
        try:
            out = load_image({str(path)!r})
            print("ok", out.shape, out.dtype)
        except DataError as exc:
            print("DataError:", exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    return (proc.stdout + proc.stderr).strip()


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
W, H = 8_000, 5_000  # 40 MP, the most the loader accepts at full size
assert W * H == MAX_PIXELS


@needs_proc
def test_40_megapixel_float_tiff_decodes_within_1_gb(tmp_path: Path) -> None:
    """The old conversion made several float64 copies (2.1 GB peak) and failed under this limit."""
    path = tmp_path / "float.tif"
    Image.fromarray(np.linspace(-3.0, 5000.0, W * H, dtype=np.float32).reshape(H, W), "F").save(path)
    assert decode_under_limit(path) == "ok (64, 64, 3) uint8"


@needs_proc
def test_40_megapixel_rgba_png_decodes_within_1_gb(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    pixels = np.zeros((H, W, 4), dtype=np.uint8)
    pixels[:, :, 0] = 200
    pixels[:, : W // 2, 3] = 255  # left half opaque red, right half transparent (white)
    Image.fromarray(pixels, "RGBA").save(path, compress_level=1)
    del pixels
    assert decode_under_limit(path) == "ok (64, 64, 3) uint8"


def _reference_wide(arr: np.ndarray) -> np.ndarray:
    """The conversion rule on a whole array at once (what the strip-wise code must reproduce)."""
    a = arr.astype(np.float64)
    finite = a[np.isfinite(a)]
    low, top = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if low >= 0 and top <= 1:
        scaled = a * 255.0
    elif low >= 0 and top <= 255:
        scaled = a
    elif low >= 0 and top <= 65535:
        scaled = a * (255.0 / 65535.0)
    else:
        scaled = (a - low) * (255.0 / max(top - low, 1e-12))
    return np.clip(np.nan_to_num(scaled) + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "values",
    [
        np.linspace(0, 1, 37 * 53),
        np.linspace(-2.5, 9e5, 37 * 53),
        np.linspace(0, 60000, 37 * 53),
        np.concatenate([np.linspace(-1, 3, 37 * 53 - 3), [np.nan, np.inf, -np.inf]]),
        np.full(37 * 53, np.nan),
    ],
)
def test_strip_wise_conversion_equals_the_whole_image_rule(monkeypatch, values: np.ndarray) -> None:
    monkeypatch.setattr(images, "STRIP_BYTES", 37 * 8 * 3)  # three rows a strip: many strips, a short last one
    arr = values.astype(np.float32).reshape(53, 37)
    got = images._wide_to_uint8(Image.fromarray(arr, "F"))
    assert np.array_equal(got, _reference_wide(arr))


def test_strip_wise_compositing_equals_whole_image(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    rgba = Image.fromarray(rng.integers(0, 256, (41, 29, 4), dtype=np.uint8), "RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    expected = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    monkeypatch.setattr(images, "STRIP_BYTES", 29 * 4 * 5)
    assert np.array_equal(np.asarray(images._on_white(rgba)), expected)
    palette = rgba.convert("RGB").convert("P")
    palette.info["transparency"] = 7
    expected = np.asarray(Image.alpha_composite(white, palette.convert("RGBA")).convert("RGB"))
    assert np.array_equal(np.asarray(images._on_white(palette)), expected)


# --- hostile paths ------------------------------------------------------------------------------------


def test_fifo_named_like_an_image_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"photo\.png: is a named pipe \(FIFO\), not a regular file"):
        load_image(fifo)


def test_device_is_refused_not_called_missing() -> None:
    with pytest.raises(DataError, match=r"/dev/zero: is a character device, not a regular file"):
        load_image("/dev/zero")
