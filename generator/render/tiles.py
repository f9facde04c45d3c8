"""Text-free pieces of the network overview that the pages compose in HTML (generator/overview_html.py):
one neuron's map (`tile`) at its own resolution on the overview's colour scale, and the input photo
(`photo`). The page scales them up nearest-neighbour and sets every label as real text beside them."""

from __future__ import annotations

from generator.arch import LAYER_NAMES
from generator.names import zh_label
from generator.records import FigureSpec, RenderContext, Rendered
from generator.render.colors import ACTIVATION, stage_scale
from generator.render.common import CHANNEL_NAMES, fmt_ascii, layer_of, map_palette, neuron_of, probe_for
from generator.render.png import encode_rgb
from generator.render.text import Canvas

TILE_LAYERS = ("input", *LAYER_NAMES)
LEVELS = 101  # the overview's activation levels (render/overview.py)


def render_tile(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """One neuron's map, one pixel per value, coloured as in the overview (RdBu centred at 0, or the
    input channel's tint over 0..1)."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, TILE_LAYERS)
    maps = probe.stages[layer]
    n = neuron_of(spec, maps.shape[0])
    scale, lo, hi = stage_scale(probe.stages, layer, n, ctx.scale)
    levels = LEVELS if scale == ACTIVATION else 32
    c = Canvas(maps.shape[2], maps.shape[1], map_palette(scale, levels))
    c.heatmap(maps[n], 0, 0, c.width, c.height, scale, lo, hi)
    slug = probe.image.slug
    if layer == "input":
        what_en = f"the {CHANNEL_NAMES[n]} channel of image {slug} (0 to 1)"
        what_zh = f"图像 {slug} 的 {CHANNEL_NAMES[n]} 通道（0 到 1）"
    else:
        span = f"{fmt_ascii(lo)}..{fmt_ascii(hi)}"
        what_en = f"{layer} neuron {n} of image {slug}: red negative, blue positive ({span})"
        what_zh = f"图像 {slug} 在 {layer} 第 {n} 个神经元的激活图：红色为负、蓝色为正（{span}）"
    alt = {"zh": what_zh, "en": what_en}
    return Rendered(c.png(), c.width, c.height, alt, dict(alt))


def render_photo(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """The input image as it is, 64 × 64 pixels."""
    probe = probe_for(spec, ctx)
    pixels = probe.image.pixels
    h, w = pixels.shape[:2]
    label = probe.image.label
    name_en = f" ({ctx.classes[label]})" if label is not None else ""
    name_zh = f"（{zh_label(ctx.classes[label])}）" if label is not None else ""
    alt = {
        "zh": f"输入图像 {probe.image.slug}{name_zh}，{h}×{w} 像素",
        "en": f"Input image {probe.image.slug}{name_en}, {h}×{w} pixels",
    }
    return Rendered(encode_rgb(pixels), w, h, alt, dict(alt))
