"""Colour tables, ranges, palettes, text masks and PNG encoding."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from render_fixtures import render_context

from generator.errors import ConfigError
from generator.render import colors, png
from generator.render.text import Canvas, resize_nearest, text_mask


def _chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(data[pos + 4 : pos + 8 + length]) == crc
        out.append(kind)
        pos += 12 + length
    return out


def test_rdbu_endpoints_and_centre():
    table = colors.lut(colors.ACTIVATION, 201)
    lo, hi = colors.symmetric(np.array([-2.0, 0.5, 1.0]))
    assert (lo, hi) == (-2.0, 2.0)
    most_neg, zero, most_pos = colors.apply(np.array([-2.0, 0.0, 2.0]), lo, hi, table)
    assert (most_neg == table[0]).all() and most_neg[0] > 2 * most_neg[2]  # red end: negative
    assert (most_pos == table[-1]).all() and most_pos[2] > 2 * most_pos[0]  # blue end: positive
    assert (zero == table[100]).all() and zero.min() >= 240  # white-ish centre at exactly 0


def test_other_scales_have_the_documented_ends():
    brbg = colors.lut(colors.WEIGHT, 65)
    assert brbg[0][0] > brbg[0][2] and brbg[-1][1] > brbg[-1][0]  # brown -> blue-green
    oranges = colors.lut(colors.LOGIT, 32)
    assert oranges[0].min() > 230 and oranges[-1][0] > 2 * oranges[-1][2]  # near white -> dark orange
    assert (colors.lut("gray", 3) == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]).all()
    assert (colors.lut("tint:R", 2)[-1] == [220, 30, 30]).all() and (colors.lut("tint:G", 2)[0] == 0).all()
    with pytest.raises(ConfigError, match="not a matplotlib colormap"):
        colors.lut("NoSuchMap")
    with pytest.raises(ConfigError, match="tint"):
        colors.lut("tint:X")


def test_normalise_index_clips_and_survives_flat_ranges():
    idx = colors.normalise_index(np.array([-5.0, -1.0, 0.0, 1.0, 5.0]), -1.0, 1.0, 5)
    assert idx.tolist() == [0, 0, 2, 4, 4]
    assert colors.normalise_index(np.array([3.0]), 3.0, 3.0, 5).tolist() == [0]
    assert colors.symmetric(np.zeros((2, 2))) == (-1.0, 1.0)
    assert colors.span(np.array([2.0, 2.0])) == (1.5, 2.5)


def test_stage_scale_layer_versus_neuron():
    stages = render_context().probes["ladybug"].stages
    name, lo, hi = colors.stage_scale(stages, "conv_1_1", 3, "layer")
    assert name == "RdBu" and hi == pytest.approx(np.abs(stages["conv_1_1"]).max()) and lo == -hi
    _, lo_n, hi_n = colors.stage_scale(stages, "conv_1_1", 3, "neuron")
    assert hi_n == pytest.approx(np.abs(stages["conv_1_1"][3]).max()) and hi_n <= hi
    assert lo_n == -hi_n  # a diverging scale is centred on 0 for one neuron too
    assert colors.stage_scale(stages, "input", 1, "layer") == ("tint:G", 0.0, 1.0)
    assert colors.stage_scale(stages, "output", 0, "layer") == ("Oranges", *colors.span(stages["output"]))
    with pytest.raises(ConfigError, match="scale"):
        colors.stage_scale(stages, "conv_1_1", 0, "global")


def test_palette_parts_and_limits():
    pal = colors.figure_palette(("RdBu", 11))
    start, size = pal.part("RdBu")
    assert size == 11 and (pal.colors[start : start + 11] == colors.lut("RdBu", 11)).all()
    assert pal.index(np.array([-1.0, 0.0, 1.0]), -1, 1, "RdBu").tolist() == [start, start + 5, start + 10]
    assert tuple(pal.colors[pal.solid("white")]) == (255, 255, 255)
    with pytest.raises(ValueError, match="at most 256"):
        colors.figure_palette(("RdBu", 200), ("BrBG", 100))


def test_png_is_deterministic_palette_mode_without_metadata():
    pal = colors.figure_palette(("RdBu", 51))
    c = Canvas(120, 60, pal)
    c.heatmap(np.linspace(-1, 1, 100).reshape(10, 10), 5, 5, 50, 50, "RdBu", -1, 1)
    c.text(60, 10, "conv_1_1 62×62", 12)
    a, b = c.png(), c.png()
    assert a == b
    assert _chunks(a) == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    im = Image.open(io.BytesIO(a))
    assert im.mode == "P" and im.size == (120, 60)
    assert (np.asarray(im.convert("RGB")) == c.rgb()).all()


def test_encode_rgb_is_lossless_either_way():
    few = np.zeros((20, 30, 3), np.uint8)
    few[:, 10:] = (10, 200, 30)
    data = png.encode_rgb(few)
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert (np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) == few).all()
    many = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    data = png.encode_rgb(many)
    assert Image.open(io.BytesIO(data)).mode == "RGB" and _chunks(data) == [b"IHDR", b"IDAT", b"IEND"]
    assert (np.asarray(Image.open(io.BytesIO(data))) == many).all()


def test_text_masks_share_a_line_height_and_draw_cjk():
    assert text_mask("0.1", 12).shape[0] == text_mask("gy", 12).shape[0]
    assert text_mask("卷积", 14).max() == 255  # Noto Sans CJK (or DejaVu boxes) draws something
    crisp = text_mask("-0.25", 11, crisp=True)
    assert set(np.unique(crisp)) <= {0, 255}


def test_resize_nearest_repeats_pixels():
    a = np.arange(6).reshape(2, 3)
    assert (resize_nearest(a, 4, 6) == np.repeat(np.repeat(a, 2, 0), 2, 1)).all()
