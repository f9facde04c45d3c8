"""Animated GIF writer: one global palette, changed-rectangle frames, loop forever, deterministic.

Frames arrive already indexed against one palette, so nothing is quantised per frame. Each frame
after the first is stored as the bounding box of the pixels that changed; inside that box, pixels
that did not change are written as the transparent index, which LZW compresses into long runs.
Every frame uses disposal 1 ("leave in place"), so a browser composites exactly the frame we drew.
The container (header, NETSCAPE loop block, graphic control blocks) is written here byte by byte;
Pillow only supplies the LZW-compressed pixel data of each rectangle.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from PIL import GifImagePlugin, Image

MIN_DELAY_MS = 20  # browsers replace shorter delays (0-10 ms) with 100 ms


def _image_block(sub: np.ndarray, x: int, y: int) -> bytes:
    """Image descriptor + LZW data of one rectangle (no local colour table)."""
    im = Image.fromarray(np.ascontiguousarray(sub, dtype=np.uint8), mode="L")
    return b"".join(GifImagePlugin.getdata(im, offset=(x, y)))


def _control_block(delay_ms: int, transparent: int | None) -> bytes:
    """Graphic control extension: disposal 1 (keep), delay in centiseconds, optional transparency."""
    packed = (1 << 2) | (1 if transparent is not None else 0)
    delay = max(MIN_DELAY_MS, int(delay_ms)) // 10
    return b"\x21\xf9\x04" + struct.pack("<BHB", packed, min(delay, 65535), transparent or 0) + b"\x00"


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the True pixels, or None."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def poster_first(frames: list, durations: list[int]) -> tuple[list, list[int]]:
    """Start the loop at its last frame, the finished result, instead of at the empty start.

    The animation plays the same (the loop only begins at another point), but everything that shows a
    GIF's first frame alone (slides, PDFs, previews, reduced-motion readers) shows the result instead
    of blank output boxes."""
    return frames[-1:] + frames[:-1], durations[-1:] + durations[:-1]


def encode_gif(
    frames: Sequence[np.ndarray], colors: np.ndarray, durations: Sequence[int] | int, loop: int = 0
) -> bytes:
    """Frames (each (H, W) uint8 indices into `colors`, (N, 3) uint8, N <= 255 to leave a slot for
    transparency; 256 works without it) -> GIF bytes. durations: ms per frame (or one for all).
    loop=0 repeats forever. Consecutive identical frames are merged (their durations add up)."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    colors = np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
    if len(colors) > 256:
        raise ValueError(f"a GIF palette holds at most 256 colours, got {len(colors)}")
    if isinstance(durations, int):
        durations = [durations] * len(frames)
    if len(durations) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(durations)} durations")
    height, width = frames[0].shape
    if any(f.shape != (height, width) for f in frames):
        raise ValueError("all GIF frames must have the same size")
    if max(int(f.max()) for f in frames) >= len(colors):
        raise ValueError("a GIF frame uses a colour index beyond its palette")

    # Merge repeats: a frame identical to the previous one only lengthens its display time.
    merged: list[tuple[np.ndarray, int]] = []
    for frame, ms in zip(frames, durations, strict=True):
        if merged and np.array_equal(merged[-1][0], frame):
            merged[-1] = (merged[-1][0], merged[-1][1] + int(ms))
        else:
            merged.append((frame, int(ms)))

    transparent = len(colors) if len(colors) < 256 else None
    table = np.zeros((256, 3), np.uint8)  # global colour table, padded to 256 entries
    table[: len(colors)] = colors
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0xF7, 0, 0), table.tobytes()]
    if len(merged) > 1:
        out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00")

    prev: np.ndarray | None = None
    for frame, ms in merged:
        if prev is None:
            out += [_control_block(ms, None), _image_block(frame, 0, 0)]
        else:
            changed = frame != prev
            box = _bbox(changed)
            assert box is not None  # repeats were merged above
            y0, y1, x0, x1 = box
            sub = frame[y0:y1, x0:x1]
            if transparent is not None:
                sub = np.where(changed[y0:y1, x0:x1], sub, np.uint8(transparent))
            out += [_control_block(ms, transparent), _image_block(sub, x0, y0)]
        prev = frame
    out.append(b"\x3b")
    return b"".join(out)


def encode_gif_rgb(frames: Sequence[np.ndarray], durations: Sequence[int] | int, loop: int = 0) -> bytes:
    """RGB frames ((H, W, 3) uint8) -> GIF with one global palette. Exact when all frames together
    use <= 255 colours; otherwise one shared 255-colour palette is computed from every frame
    (median cut, deterministic) and each frame is mapped onto it without dithering."""
    stack = np.stack([np.asarray(f, dtype=np.uint8) for f in frames])  # (F, H, W, 3)
    packed = (stack[..., 0].astype(np.uint32) << 16) | (stack[..., 1].astype(np.uint32) << 8) | stack[..., 2]
    flat = packed.reshape(-1)
    if flat.size <= 4096 or len(np.unique(flat[::11])) <= 255:
        uniq, inverse = np.unique(flat, return_inverse=True)
        if len(uniq) <= 255:
            colors = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.uint8)
            index = inverse.reshape(packed.shape).astype(np.uint8)
            return encode_gif(list(index), colors, durations, loop)
    # All frames side by side in one image, so the palette serves the whole animation.
    mosaic = Image.fromarray(stack.reshape(-1, stack.shape[2], 3), mode="RGB")
    pal_img = mosaic.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    index = np.asarray(pal_img).reshape(stack.shape[:3])
    palette = pal_img.getpalette()
    assert palette is not None  # quantize() always makes a palette image
    colors = np.asarray(palette[: 255 * 3], dtype=np.uint8).reshape(-1, 3)
    return encode_gif(list(index), colors[: int(index.max()) + 1], durations, loop)
