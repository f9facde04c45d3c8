"""Reading any user image as a 64x64 RGB array, and URL-safe slugs for image names.

Users bring whatever they have: phone photos (EXIF-rotated, huge JPEGs), screenshots with alpha,
palette GIFs, 16-bit scientific PNGs, CMYK print JPEGs, files with spaces or Chinese names. Every
failure becomes one DataError that names the file and says what to do.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from generator.errors import DataError
from generator.safeio import NotRegularFileError, describe, open_regular

SIZE = 64
# Largest image decoded at full size: 40 MP is ~160 MB as RGBA. Bigger JPEGs (e.g. 50 MP phone photos)
# are decoded at 1/2..1/8 scale by libjpeg (Image.draft), so they never reach that size in memory.
MAX_PIXELS = 40_000_000
# Conversions run in horizontal strips of about this many bytes, so that a 40 MP image (160 MB as
# RGBA or float32) needs its own pixels, the 8-bit result and one strip, not several full copies.
STRIP_BYTES = 8 << 20
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
_FIX = "replace it with a PNG or JPEG image, or remove it"


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file -> (64, 64, 3) uint8 RGB: centre crop to a square, then resize."""
    path = Path(path)
    try:
        fh = open_regular(path)  # never blocks on a FIFO, refuses devices such as /dev/zero
    except FileNotFoundError:
        raise DataError(f"image {path}: file not found; check the path") from None
    except NotRegularFileError as exc:
        if path.is_dir():
            raise DataError(f"image {path}: is a folder, not an image file; check the path") from None
        raise DataError(f"image {path}: {exc}; {_FIX}") from None
    except OSError as exc:  # permissions, a path through a file...
        raise DataError(f"image {path}: cannot be opened ({describe(exc)}); check its permissions") from exc
    with fh:
        if os.fstat(fh.fileno()).st_size == 0:
            raise DataError(f"image {path}: the file is empty; {_FIX}")
        return decode_image(fh, str(path))


def load_image_bytes(data: bytes, name: str) -> np.ndarray:
    """Like load_image, for bytes already in memory (e.g. a zip member); `name` is used in errors."""
    if not data:
        raise DataError(f"image {name}: the file is empty; {_FIX}")
    return decode_image(io.BytesIO(data), name)


def decode_image(fh: BinaryIO, name: str) -> np.ndarray:
    """Decode an open binary file -> (64, 64, 3) uint8. All Pillow failures become a DataError."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above ~89 MP; we apply our own limit (after draft) below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fh) as img:  # reads the header only
                _open_bounded(img, name)
                img.load()
                # Everything below works on copies; finish before `with` closes the original.
                return fit_square(_to_rgb(_upright(img), name))
    except DataError:
        raise
    except Image.DecompressionBombError as exc:
        raise DataError(
            f"image {name}: too large to decode safely ({exc}); downscale it to at most "
            f"{MAX_PIXELS // 1_000_000} megapixels first"
        ) from exc
    except UnidentifiedImageError as exc:
        raise DataError(f"image {name}: not a readable image (unknown or corrupt format); {_FIX}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError, struct.error) as exc:
        # Truncated JPEGs ("image file is truncated"), broken PNG chunks, bad TIFF or EXIF tags...
        raise DataError(f"image {name}: damaged or truncated image ({exc}); {_FIX}") from exc
    except Exception as exc:
        raise DataError(f"image {name}: cannot be decoded ({type(exc).__name__}: {exc}); {_FIX}") from exc


def _open_bounded(img: Image.Image, name: str) -> None:
    """Check the header size before decoding; let libjpeg downscale huge JPEGs while decoding."""
    width, height = img.size
    if width < 1 or height < 1:
        raise DataError(f"image {name}: has no pixels ({width} x {height}); {_FIX}")
    if img.format == "JPEG" and width * height > MAX_PIXELS:
        # Only above the limit: decode at a 1/2..1/8 scale that still leaves >= 4x the output resolution.
        # Below it, JPEGs decode at full size as browsers decode them, so that the page's live view
        # (generator/assets/image.js) gets the same 64x64 input as Python.
        img.draft(img.mode if img.mode in ("RGB", "L") else None, (SIZE * 4, SIZE * 4))
        width, height = img.size
    if width * height > MAX_PIXELS:
        raise DataError(
            f"image {name}: {width} x {height} pixels is larger than the "
            f"{MAX_PIXELS // 1_000_000} megapixel limit; downscale it first (or save it as JPEG)"
        )


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation. exif_transpose always returns a copy; skip it when nothing turns."""
    if img.getexif().get(0x0112, 1) in (None, 1):  # 0x0112: Orientation, 1 = upright
        return img
    return ImageOps.exif_transpose(img)


def _strips(img: Image.Image, bytes_per_pixel: int) -> Iterator[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) of horizontal strips of about STRIP_BYTES each."""
    width, height = img.size
    rows = max(1, STRIP_BYTES // max(1, width * bytes_per_pixel))
    for top in range(0, height, rows):
        yield (0, top, width, min(height, top + rows))


def _to_rgb(img: Image.Image, name: str) -> Image.Image:
    """Any Pillow mode -> RGB. Transparency is composited on white; 16/32-bit data is rescaled."""
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return Image.fromarray(_wide_to_uint8(img), "L").convert("RGB")
    if (
        mode in ("RGBA", "LA", "La", "RGBa", "PA")
        or (mode == "P" and "transparency" in img.info)
        or (mode in ("L", "RGB") and "transparency" in img.info)
    ):
        return _on_white(img)
    try:
        return img.convert("RGB")  # 1, L, P, CMYK (Pillow handles Adobe's inverted CMYK), YCbCr, HSV
    except (ValueError, OSError) as exc:
        raise DataError(f"image {name}: unsupported colour mode {mode!r}; save it as an RGB PNG or JPEG") from exc


def _on_white(img: Image.Image) -> Image.Image:
    """Composite an image with transparency on white -> RGB, one strip at a time (a per-pixel
    operation, so the result equals compositing the whole image at once)."""
    out = Image.new("RGB", img.size)
    for box in _strips(img, 4):
        rgba = img.crop(box).convert("RGBA")  # crop keeps the palette and the transparency info
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        out.paste(Image.alpha_composite(white, rgba).convert("RGB"), box[:2])
    return out


def _wide_to_uint8(img: Image.Image) -> np.ndarray:
    """16-bit, 32-bit integer or float greyscale -> (H, W) uint8, scaled rather than clipped.

    Two passes over strips (range, then scale), so memory stays at the image plus its 8-bit result
    instead of several float64 copies of it."""
    low, top = np.inf, -np.inf
    for box in _strips(img, 8):
        strip = np.asarray(img.crop(box), dtype=np.float64)
        finite = strip[np.isfinite(strip)]
        if finite.size:
            low, top = min(low, float(finite.min())), max(top, float(finite.max()))
    if low > top:  # no finite value at all
        low = top = 0.0
    if low >= 0 and top <= 1.0:
        scale, offset = 255.0, 0.0  # float images in [0, 1] (also integers that are all 0 or 1)
    elif low >= 0 and top <= 255:
        scale, offset = 1.0, 0.0  # 8-bit data stored in a wide mode
    elif low >= 0 and top <= 65535:
        scale, offset = 255.0 / 65535.0, 0.0  # 16-bit: full scale maps to full scale
    else:
        scale, offset = 255.0 / max(top - low, 1e-12), low  # anything else: stretch to fit
    width, height = img.size
    out = np.empty((height, width), dtype=np.uint8)
    for box in _strips(img, 8):
        strip = np.asarray(img.crop(box), dtype=np.float64)
        scaled = (strip - offset) * scale if offset else strip * scale
        out[box[1] : box[3]] = np.clip(np.nan_to_num(scaled) + 0.5, 0, 255).astype(np.uint8)
    return out


def fit_square(img: Image.Image) -> np.ndarray:
    """RGB image of any size -> centre-cropped, area-averaged (64, 64, 3) uint8.

    Area averaging in integer arithmetic: every output pixel is the mean of the source pixels its
    cell covers, each weighted by the exact overlap, rounded half up. The page's JavaScript
    (generator/assets/image.js) computes the same integers, so an image gives the same
    input in the browser and in `predict`. (A Lanczos filter could not be reproduced bit for bit.)"""
    width, height = img.size
    if (width, height) == (SIZE, SIZE):
        return np.asarray(img, dtype=np.uint8).copy()
    side = min(width, height)
    wy, y0 = area_weights(height, side), (height - side) // 2
    wx, x0 = area_weights(width, side), (width - side) // 2
    # Sums of integer products stay below 2**53, so float64 adds them exactly, in any order.
    num = np.zeros((SIZE, wx.shape[1], 3))
    for start in range(0, wy.shape[1], 256):  # row bands: a big photo is never copied whole
        stop = min(start + 256, wy.shape[1])
        band = np.asarray(img.crop((x0, y0 + start, x0 + wx.shape[1], y0 + stop)), dtype=np.float64)
        num += np.tensordot(wy[:, start:stop], band, axes=(1, 0))  # (64, cols, 3)
    num = np.tensordot(wx, num, axes=(1, 1)).transpose(1, 0, 2)  # (64 rows, 64 cols, 3)
    den = (2 * side) ** 2
    return ((2 * num.astype(np.int64) + den) // (2 * den)).astype(np.uint8)


def area_weights(length: int, side: int) -> np.ndarray:
    """(64, n) integer weights along one axis: how much of output cell j source pixel i covers.

    In units of 1/128 source pixel (so the half-pixel offset of an odd crop is exact): pixel i spans
    [128 i, 128 i + 128), cell j spans [64 (length - side) + 2 j side, ... + 2 side), measured from
    the first source pixel the crop touches. Each row sums to 2 * side."""
    offset = 64 * (length - side) - 128 * ((length - side) // 2)  # 0 or 64: the crop's half pixel
    n = -(-(offset + 2 * side * SIZE) // 128)  # source pixels touched
    starts = offset + 2 * side * np.arange(SIZE, dtype=np.int64)[:, None]
    pix = 128 * np.arange(n, dtype=np.int64)[None, :]
    overlap = np.minimum(starts + 2 * side, pix + 128) - np.maximum(starts, pix)
    return np.clip(overlap, 0, None).astype(np.float64)


def is_image_file(path: Path) -> bool:
    """A visible file with an image suffix (hidden files such as .DS_Store are skipped)."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


def slugify(name: str) -> str:
    """An ASCII, URL-safe slug ([a-z0-9-]) for a name; names with non-ASCII get a stable hash suffix.

    "My Cat.jpg" -> "my-cat-jpg"; "café" -> "cafe-<8 hex>"; "猫" -> "image-<8 hex>". The suffix hashes the
    NFC-normalised name, so macOS (NFD) and Linux spellings of one name agree and distinct names differ.
    """
    name = unicodedata.normalize("NFC", name)
    ascii_part = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "-", ascii_part.lower()).strip("-")[:60].strip("-")
    if name.isascii() and base:
        return base
    digest = hashlib.blake2s(name.encode("utf-8"), digest_size=4).hexdigest()
    return f"{base or 'image'}-{digest}"


def unique_slugs(names: Iterable[str]) -> list[str]:
    """slugify every name; names whose slugs collide ("A b", "a-b") get a hash suffix to stay distinct."""
    names = list(names)
    slugs = [slugify(n) for n in names]
    seen: dict[str, int] = {}
    for s in slugs:
        seen[s] = seen.get(s, 0) + 1
    out = []
    for name, s in zip(names, slugs, strict=True):
        if seen[s] > 1:
            s = f"{s}-{hashlib.blake2s(name.encode('utf-8'), digest_size=4).hexdigest()}"
        out.append(s)
    if len(set(out)) != len(out):
        raise DataError(f"image names {sorted(names)} do not give distinct slugs; rename the duplicates")
    return out
