"""Deterministic PNG encoding: no metadata chunks, palette mode whenever the picture fits in 256
colours (smaller and faster than RGB), byte-identical output for identical pixels."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _palette_image(index: np.ndarray, colors: np.ndarray) -> Image.Image:
    im = Image.fromarray(np.ascontiguousarray(index, dtype=np.uint8), mode="P")
    im.putpalette(np.asarray(colors, dtype=np.uint8).reshape(-1).tobytes())
    return im


def _save(im: Image.Image, compress_level: int) -> bytes:
    buf = io.BytesIO()
    # No pnginfo, no dpi/icc from im.info (fresh images carry none): only IHDR, PLTE, IDAT, IEND.
    im.save(buf, format="PNG", optimize=False, compress_level=compress_level)
    return buf.getvalue()


def encode_indexed(index: np.ndarray, colors: np.ndarray, compress_level: int = 6) -> bytes:
    """(H, W) uint8 palette indices + (N, 3) uint8 colours -> PNG bytes in palette mode. Unused
    trailing colours are dropped so that small palettes get 1/2/4-bit pixels."""
    used = int(index.max()) + 1 if index.size else 1
    return _save(_palette_image(index, np.asarray(colors)[:used]), compress_level)


def exact_palette(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(H, W, 3) uint8 -> (index (H, W) uint8, colours (N, 3)) when it has <= 256 distinct colours,
    else None. Lossless, and colours are sorted, so the result is deterministic."""
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    flat = packed.reshape(-1)
    if flat.size > 4096 and len(np.unique(flat[::7])) > 256:  # photos: reject on a cheap sample
        return None
    uniq, inverse = np.unique(flat, return_inverse=True)
    if len(uniq) > 256:
        return None
    colors = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.uint8)
    return inverse.reshape(rgb.shape[:2]).astype(np.uint8), colors


def encode_rgb(rgb: np.ndarray, compress_level: int = 6) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes: palette mode if it fits losslessly, else RGB."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    exact = exact_palette(rgb)
    if exact is not None:
        return encode_indexed(*exact, compress_level=compress_level)
    return _save(Image.fromarray(rgb, mode="RGB"), compress_level)


def encode_image(im: Image.Image, compress_level: int = 6) -> bytes:
    """A Pillow image (e.g. from a matplotlib canvas) -> deterministic PNG bytes, on white."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.new("RGB", rgba.size, (255, 255, 255))
        im.paste(rgba, mask=rgba.getchannel("A"))
    return encode_rgb(np.asarray(im.convert("RGB")), compress_level)


def enlarge(data: bytes, zoom: int) -> bytes:
    """PNG bytes -> the same picture with every pixel a zoom x zoom block (nearest neighbour: heatmap cells
    stay crisp and exact); mode, palette and transparency are kept."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        big = im.resize((im.width * zoom, im.height * zoom), Image.Resampling.NEAREST)
    return _save(big, compress_level=6)
