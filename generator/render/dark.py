"""Dark variants of the indexed figures: the same pixels under a swapped palette.

A canvas figure (render/text.py) is palette indices from the start, and every canvas palette begins
with the same colours (colors.figure_palette: paper, the ink ramp, accent, mark, white). Its dark
variant rewrites only those entries of the PNG's PLTE chunk or the GIF's global colour table
(colors.dark_palette): background and text turn dark and light, every colour scale keeps its exact
colours, and the file keeps its size. No pixel is decoded or drawn again.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from generator.render.colors import dark_palette

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def swap_png(data: bytes) -> bytes | None:
    """A palette-mode PNG with a figure_palette -> the same PNG with the dark palette; None otherwise."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"PLTE":
            colors = np.frombuffer(data[pos + 8 : pos + 8 + length], np.uint8).reshape(-1, 3)
            dark = dark_palette(colors)
            if dark is None:
                return None
            body = dark.tobytes()
            chunk = struct.pack(">I4s", length, kind) + body + struct.pack(">I", zlib.crc32(kind + body))
            return data[:pos] + chunk + data[pos + 12 + length :]
        if kind == b"IDAT":
            return None  # no palette before the pixels: an RGB PNG (matplotlib's)
        pos += 12 + length
    return None


def swap_gif(data: bytes) -> bytes | None:
    """A GIF with a global figure_palette (render/gif.py's) -> the same GIF with the dark palette."""
    if data[:6] not in (b"GIF89a", b"GIF87a") or len(data) < 13:
        return None
    flags = data[10]
    if not flags & 0x80:
        return None
    size = 3 * (2 ** ((flags & 7) + 1))
    colors = np.frombuffer(data[13 : 13 + size], np.uint8).reshape(-1, 3)
    dark = dark_palette(colors)
    if dark is None:
        return None
    return data[:13] + dark.tobytes() + data[13 + size :]


def swap(data: bytes) -> bytes | None:
    """The dark variant of an indexed figure (PNG or GIF) drawn on a figure_palette, else None."""
    return swap_png(data) if data.startswith(PNG_SIGNATURE) else swap_gif(data)
