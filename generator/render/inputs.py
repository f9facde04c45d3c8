"""The input figure: the 64×64 photo (nearest-neighbour upscaled) and its red, green and blue
channels, each as the network sees it (values 0..1) in its own tint, with colour bars."""

from __future__ import annotations

import numpy as np

from generator.records import FigureSpec, RenderContext, Rendered
from generator.render.colors import CHANNEL_TINTS, figure_palette
from generator.render.common import BAR, CHANNEL_NAMES, PAD, below_bar, fmt_ascii, probe_for
from generator.render.png import encode_rgb
from generator.render.text import Canvas, resize_nearest

SIDE = 192  # 3 screen pixels per image pixel
GAP = 22


def render_input(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """Photo + three channel maps in one row."""
    probe = probe_for(spec, ctx)
    x_in = probe.stages["input"]  # (3, 64, 64) in [0, 1]
    pixels = probe.image.pixels  # (64, 64, 3) uint8
    pal = figure_palette(*((t, 64) for t in CHANNEL_TINTS))
    width = 2 * PAD + 4 * SIDE + 3 * GAP + 14  # the "=" between photo and channels
    top = PAD + 22
    bar_y = top + SIDE + 8
    c = Canvas(width, below_bar(bar_y), pal)
    h, w = x_in.shape[1:]
    c.text(PAD, PAD, f"RGB  {h}×{w}×3", 14, bold=True)
    xs = [PAD + (SIDE + GAP) * i + (14 if i else 0) for i in range(4)]
    c.text(xs[0] + SIDE + (xs[1] - xs[0] - SIDE) // 2, top + SIDE // 2, "=", 20, anchor="mm", bold=True)
    for i, tint in enumerate(CHANNEL_TINTS):
        x = xs[i + 1]
        c.text(x, PAD, f"{CHANNEL_NAMES[i]}  {h}×{w}", 14, bold=True)
        c.heatmap(x_in[i], x, top, SIDE, SIDE, tint, 0.0, 1.0)
        c.colorbar(x, bar_y, SIDE, BAR, tint, 0.0, 1.0, [(0.0, "0"), (0.5, "0.5"), (1.0, "1")], size=14)
    rgb, dark = c.rgb(), c.rgb(dark=True)
    for im in (rgb, dark):
        im[top : top + SIDE, xs[0] : xs[0] + SIDE] = resize_nearest(pixels, SIDE, SIDE)  # the photo itself
    stats = {
        ch: (float(x_in[i].min()), float(x_in[i].mean()), float(x_in[i].max())) for i, ch in enumerate(CHANNEL_NAMES)
    }
    en_stats = "; ".join(
        f"{ch} {fmt_ascii(lo)} to {fmt_ascii(hi)} (mean {fmt_ascii(m)})" for ch, (lo, m, hi) in stats.items()
    )
    zh_stats = "；".join(
        f"{ch} 通道 {fmt_ascii(lo)} 到 {fmt_ascii(hi)}（平均 {fmt_ascii(m)}）" for ch, (lo, m, hi) in stats.items()
    )
    slug = probe.image.slug
    alt = {
        "zh": f"输入图像 {slug}（{h}×{w} 像素，放大显示）及其红、绿、蓝三个通道，"
        f"每个通道的取值在 0 到 1 之间：{zh_stats}。",
        "en": f"Input image {slug} ({h}×{w} pixels, enlarged) and its red, green and blue channels, "
        f"values between 0 and 1: {en_stats}.",
    }
    cap = {
        "zh": f"网络的输入：{h}×{w}×3 的数组，即红、绿、蓝三个通道。",
        "en": f"The network's input: an array of {h}×{w}×3, i.e. three channels (red, green, blue).",
    }
    data = encode_rgb(np.ascontiguousarray(rgb))
    return Rendered(data, c.width, c.height, alt, cap, dark=encode_rgb(np.ascontiguousarray(dark)))
