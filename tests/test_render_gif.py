"""The GIF writer: every decoded frame equals the frame drawn, loops forever, deterministic."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from generator.render import gif
from generator.render.colors import figure_palette
from generator.render.gif import encode_gif, encode_gif_rgb
from generator.render.text import Canvas


def _frames(n: int = 6) -> tuple[list[np.ndarray], np.ndarray]:
    pal = figure_palette(("RdBu", 33))
    base = Canvas(90, 50, pal)
    base.heatmap(np.random.default_rng(1).normal(size=(10, 10)), 0, 0, 50, 50, "RdBu", -2, 2)
    frames = []
    for i in range(n):
        c = base.copy()
        c.frame(5 + 6 * i, 10, 9, 9, "accent", 2)  # a moving window: partial changes per frame
        c.fill(60, 5, 4 * i + 1, 3, "mark")
        frames.append(c.pix)
    return frames, pal.colors


def _decode(data: bytes) -> list[np.ndarray]:
    im = Image.open(io.BytesIO(data))
    return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def _blocks(data: bytes) -> list[bytes]:
    """The GIF's extension and image block introducers, in order (structure check)."""
    pos = 13 + 3 * 256  # header, screen descriptor, global colour table
    kinds = []
    while data[pos] != 0x3B:
        if data[pos] == 0x21:
            kinds.append(bytes(data[pos : pos + 2]))
            pos += 2
        else:
            assert data[pos] == 0x2C
            kinds.append(b",")
            pos += 10 + 1  # descriptor (no local table) + LZW minimum code size
        while data[pos]:  # sub-blocks
            pos += data[pos] + 1
        pos += 1
    return kinds


def test_every_frame_decodes_to_what_was_drawn():
    frames, pal = _frames()
    data = encode_gif(frames, pal, [100, 200, 300, 400, 500, 600])
    decoded = _decode(data)
    assert len(decoded) == len(frames)
    for got, want in zip(decoded, frames, strict=True):
        assert (got == pal[want]).all()


def test_loops_forever_with_per_frame_durations():
    frames, pal = _frames()
    data = encode_gif(frames, pal, [100, 200, 300, 400, 500, 600])
    assert b"NETSCAPE2.0\x03\x01\x00\x00\x00" in data  # loop count 0 = forever
    im = Image.open(io.BytesIO(data))
    assert im.info["loop"] == 0
    durations = []
    for f in ImageSequence.Iterator(im):
        durations.append(f.info["duration"])
    assert durations == [100, 200, 300, 400, 500, 600]
    assert _blocks(data)[:2] == [b"!\xff", b"!\xf9"]  # loop block first, then one control block per frame


def test_later_frames_are_changed_rectangles_with_transparency():
    frames, pal = _frames()
    data = encode_gif(frames, pal, 100)
    full = encode_gif(frames[:1], pal, 100)
    assert len(data) < len(full) * 3  # 6 frames cost far less than 6 full frames
    # Second frame's descriptor: offset and size are the changed box, not the whole picture.
    pos = data.index(b"\x21\xf9", data.index(b"\x21\xf9") + 1) + 8  # second control block, then descriptor
    assert data[pos] == 0x2C and data[pos - 5] & 1  # transparency flag set on the second frame
    x, y, w, h = np.frombuffer(data[pos + 1 : pos + 9], "<u2")
    assert (x, y, w, h) == (3, 5, 62, 16)  # window outlines at x 3..22 and 9..22, the bar up to x 65


def test_deterministic_and_repeats_merged():
    frames, pal = _frames(3)
    a = encode_gif([*frames, frames[-1]], pal, [100, 100, 100, 250])
    assert a == encode_gif([*frames, frames[-1]], pal, [100, 100, 100, 250])
    im = Image.open(io.BytesIO(a))
    assert im.n_frames == 3
    im.seek(2)
    assert im.info["duration"] == 350


def test_minimum_delay_and_errors():
    frames, pal = _frames(2)
    im = Image.open(io.BytesIO(encode_gif(frames, pal, 0)))
    assert im.info["duration"] == 20  # browsers would turn 0 into 100 ms
    with pytest.raises(ValueError, match="durations"):
        encode_gif(frames, pal, [100])
    with pytest.raises(ValueError, match="beyond its palette"):
        encode_gif([np.full((4, 4), 250, np.uint8)], pal[:10], 100)
    with pytest.raises(ValueError, match="at least one frame"):
        encode_gif([], pal, 100)


def test_rgb_frames_exact_and_quantised():
    frames, pal = _frames(3)
    rgb = [pal[f] for f in frames]
    decoded = _decode(encode_gif_rgb(rgb, 100))
    assert all((d == r).all() for d, r in zip(decoded, rgb, strict=True))
    noisy = [np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(2)]
    data = encode_gif_rgb(noisy, 100)
    assert data == encode_gif_rgb(noisy, 100)
    decoded = _decode(data)
    assert len(decoded) == 2 and np.abs(decoded[0].astype(int) - noisy[0]).mean() < 40


def test_poster_first_rotates_the_loop():
    frames, durations = ["empty", "half", "done"], [700, 120, 2000]
    assert gif.poster_first(frames, durations) == (["done", "empty", "half"], [2000, 700, 120])
    assert gif.poster_first(["only"], [5]) == (["only"], [5])
