"""Activation maps: one neuron ("activation") or a whole layer ("activation-grid") of one image.

Bulk work (113 maps per image): colours come from lookup tables through a fixed palette, maps are
upscaled by integer nearest-neighbour repetition, text masks are cached, and PNGs are written in
palette mode. No matplotlib figure is ever created here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from generator.arch import ACTIVATION_LAYERS
from generator.errors import DataError
from generator.names import zh_label
from generator.records import FigureSpec, ProbeResult, RenderContext, Rendered
from generator.render.colors import ACTIVATION, CHANNEL_TINTS, LOGIT, figure_palette, stage_scale
from generator.render.common import (
    BAR,
    CHANNEL_NAMES,
    PAD,
    below_bar,
    class_names,
    fmt_ascii,
    layer_of,
    map_palette,
    neuron_of,
    probe_for,
    ticks,
    upscale_factor,
)
from generator.render.text import Canvas

CHANNEL_ZH = {"R": "红", "G": "绿", "B": "蓝"}
SINGLE_BAR_LABELS = 20  # one map's bar patch: its labels need a little less room than the grids'


def range_words(lo: float, hi: float, scale: str, layer: str) -> tuple[str, str]:
    """How the colour range was chosen, in (zh, en)."""
    if layer == "input":
        return "颜色范围 0 到 1", "colour range 0 to 1"
    if layer == "output":
        return (
            f"颜色范围 {fmt_ascii(lo)} 到 {fmt_ascii(hi)}（本图全部 logit）",
            f"colour range {fmt_ascii(lo)} to {fmt_ascii(hi)} (all logits)",
        )
    if scale == "layer":
        return f"颜色范围 ±{fmt_ascii(hi)}（整层共用）", f"colour range ±{fmt_ascii(hi)}, shared across the layer"
    return f"颜色范围 ±{fmt_ascii(hi)}（本神经元）", f"colour range ±{fmt_ascii(hi)} for this neuron alone"


# ---- one neuron -------------------------------------------------------------------------------


def _single(
    probe: ProbeResult,
    layer: str,
    neuron: int,
    scale: str,
    classes: tuple[str, ...],
    names: tuple[str, ...] | None = None,
) -> Rendered:
    """One map with its title and colour bar (see render_activation); `names`: the class names drawn
    (the figure's language), `classes` those of the alt text."""
    names = names or classes
    cmap, lo, hi = stage_scale(probe.stages, layer, neuron, scale)
    pal = map_palette(cmap)
    slug = probe.image.slug
    if layer == "output":
        values = probe.stages["output"][neuron : neuron + 1].reshape(1, 1)
        zoom = 96
        title = f"output #{neuron}"
    else:
        values = probe.stages[layer][neuron]
        zoom = upscale_factor(values.shape[0], 248)
        title = f"{layer} {CHANNEL_NAMES[neuron]}" if layer == "input" else f"{layer} #{neuron}"
    h, w = values.shape
    side = h * zoom
    width = max(side, 200) + 2 * PAD
    top = PAD + 20
    extra = 22 if layer == "output" else 0
    bar_y = top + side + extra + 8
    height = below_bar(bar_y, labels=SINGLE_BAR_LABELS)
    c = Canvas(width, height, pal)
    c.text(PAD, PAD, title, 14, bold=True)
    c.text(width - PAD, PAD + 2, f"{h}×{w}", 12, anchor="rt")
    x0 = (width - side) // 2
    c.heatmap(values, x0, top, side, side, cmap, lo, hi)
    if layer == "output":
        c.frame(x0, top, side, side, "ink")
        c.text(width // 2, top + side + 4, f"{names[neuron]}  {fmt_ascii(values[0, 0])}", 12, anchor="mt")
    c.blit(_bar(cmap, lo, hi, width - 2 * PAD), 0, bar_y)
    vmin, vmax = float(values.min()), float(values.max())
    rz, ren = range_words(lo, hi, scale, layer)
    if layer == "output":
        name = classes[neuron]
        alt = {
            "zh": f"图像 {slug} 的输出层第 {neuron} 个神经元（类别 {zh_label(name)}）的 logit："
            f"{fmt_ascii(vmax)}，以橙色色块表示；{rz}。",
            "en": f"Output neuron {neuron} (class {name}) for image {slug}: logit {fmt_ascii(vmax)}, "
            f"shown as an orange swatch; {ren}.",
        }
        cap = {
            "zh": f"输出层神经元 {neuron}（{zh_label(name)}）的 logit 为 {fmt_ascii(vmax)}。",
            "en": f"Output neuron {neuron} ({name}): logit {fmt_ascii(vmax)}.",
        }
    elif layer == "input":
        ch = CHANNEL_NAMES[neuron]
        alt = {
            "zh": f"图像 {slug} 的输入{CHANNEL_ZH[ch]}色（{ch}）通道，{h}×{w} 像素，取值 {fmt_ascii(vmin)} 到 "
            f"{fmt_ascii(vmax)}；{rz}。",
            "en": f"The {ch} channel of input image {slug}, {h}×{w} pixels, values {fmt_ascii(vmin)} to "
            f"{fmt_ascii(vmax)}; {ren}.",
        }
        cap = {"zh": f"输入的 {ch} 通道（{h}×{w}）。", "en": f"Input channel {ch} ({h}×{w})."}
    else:
        alt = {
            "zh": f"图像 {slug} 在 {layer} 层第 {neuron} 个神经元的激活图，{h}×{w}，取值 {fmt_ascii(vmin)} 到 "
            f"{fmt_ascii(vmax)}；红色为负、蓝色为正，{rz}。",
            "en": f"Activation map of neuron {neuron} in {layer} for image {slug}, {h}×{w}, values "
            f"{fmt_ascii(vmin)} to {fmt_ascii(vmax)}; red is negative, blue positive, {ren}.",
        }
        cap = {
            "zh": f"{layer} 第 {neuron} 个神经元的激活图（{h}×{w}），取值 {fmt_ascii(vmin)} 到 {fmt_ascii(vmax)}。",
            "en": f"{layer}, neuron {neuron} ({h}×{w}): values {fmt_ascii(vmin)} to {fmt_ascii(vmax)}.",
        }
    # zlib level 3: a third of level 6's time for ~15% more bytes; this runs 1,130 times a build.
    return Rendered(c.png(compress_level=3), c.width, c.height, alt, cap)


@lru_cache(maxsize=256)
def _bar(cmap: str, lo: float, hi: float, length: int) -> np.ndarray:
    """A colour bar with ticks as a ready index patch (full canvas width): maps of one layer share it."""
    c = Canvas(length + 2 * PAD, BAR + SINGLE_BAR_LABELS, map_palette(cmap))
    c.colorbar(PAD, 0, length, BAR, cmap, lo, hi, ticks(lo, hi))
    c.pix.setflags(write=False)
    return c.pix


def _count(layer: str, probe: ProbeResult) -> int:
    return len(probe.stages[layer]) if layer != "input" else 3


def render_activation(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """One neuron's map of one layer ("input" channel, conv/relu/pool map, or "output" logit),
    nearest-neighbour upscaled, with a colour bar."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, ACTIVATION_LAYERS)
    neuron = neuron_of(spec, _count(layer, probe))
    return _single(probe, layer, neuron, ctx.scale, ctx.classes, class_names(spec, ctx))


def render_activation_batch(
    probe: ProbeResult,
    layers: Sequence[str] = tuple(ACTIVATION_LAYERS),
    scale: str = "layer",
    classes: tuple[str, ...] = (),
) -> dict[tuple[str, int], Rendered]:
    """Every neuron's map of `layers` for one probe: {(layer, neuron): Rendered}. Same bytes as
    render_activation; handy for benchmarks and bulk builds."""
    if "output" in layers and len(classes) != len(probe.stages["output"]):
        raise DataError("activation batch: the output layer needs the class names")
    return {
        (layer, n): _single(probe, layer, n, scale, classes) for layer in layers for n in range(_count(layer, probe))
    }


# ---- a whole layer ----------------------------------------------------------------------------


def _grid_layer(probe: ProbeResult, layer: str, scale: str) -> tuple[Canvas, str, str]:
    """All maps of a conv/relu/pool layer, 5 per row, neuron index above each, one colour bar."""
    maps = probe.stages[layer]  # (10, H, W)
    n, h, w = maps.shape
    side = h * max(1, 128 // h)  # at most 128 px a map: five in a row stay legible in a 688 px column
    cols, gap, label_h = 5, 14, 18
    rows = -(-n // cols)
    width = 2 * PAD + cols * side + (cols - 1) * gap
    top = PAD + 26
    bar_y = top + rows * (side + label_h + gap)
    pal = map_palette(ACTIVATION)
    c = Canvas(width, below_bar(bar_y), pal)
    c.text(PAD, PAD, layer, 16, bold=True)
    c.text(width - PAD, PAD + 2, f"{h}×{w}×{n}", 13, anchor="rt")
    for i in range(n):
        _, lo, hi = stage_scale(probe.stages, layer, i, scale)
        x = PAD + (i % cols) * (side + gap)
        y = top + (i // cols) * (side + label_h + gap)
        c.text(x, y, f"#{i}", 12, bold=True)
        if scale == "neuron":
            c.text(x + side, y, f"±{fmt_ascii(hi)}", 12, anchor="rt")
        c.heatmap(maps[i], x, y + label_h, side, side, ACTIVATION, lo, hi)
    _, lo, hi = stage_scale(probe.stages, layer, None, "layer")
    if scale == "neuron":  # each map has its own range: the bar shows the shape of the scale only
        c.colorbar(PAD, bar_y, width - 2 * PAD, BAR, ACTIVATION, -1.0, 1.0, [(-1.0, "-max"), (0.0, "0"), (1.0, "+max")])
    else:
        c.colorbar(PAD, bar_y, width - 2 * PAD, BAR, ACTIVATION, lo, hi, ticks(lo, hi))
    rz, ren = range_words(lo, hi, scale, layer)
    vmin, vmax = float(maps.min()), float(maps.max())
    zh = (
        f"{layer} 层全部 {n} 个神经元的激活图（每个 {h}×{w}），取值 {fmt_ascii(vmin)} 到 {fmt_ascii(vmax)}；"
        f"红色为负、蓝色为正，{rz}。"
    )
    en = (
        f"Activation maps of all {n} neurons of {layer} ({h}×{w} each), values {fmt_ascii(vmin)} to "
        f"{fmt_ascii(vmax)}; red is negative, blue positive, {ren}."
    )
    return c, zh, en


def _grid_input(probe: ProbeResult) -> tuple[Canvas, str, str]:
    """The three input channels side by side, each in its own tint with a 0..1 bar."""
    x_in = probe.stages["input"]  # (3, 64, 64)
    side, gap = 192, 18
    pal = figure_palette(*((t, 64) for t in CHANNEL_TINTS))
    width = 2 * PAD + 3 * side + 2 * gap
    top = PAD + 26
    bar_y = top + 18 + side + 8
    c = Canvas(width, below_bar(bar_y), pal)
    c.text(PAD, PAD, "input", 16, bold=True)
    c.text(width - PAD, PAD + 2, "64×64×3", 13, anchor="rt")
    for i, tint in enumerate(CHANNEL_TINTS):
        x = PAD + i * (side + gap)
        c.text(x, top, CHANNEL_NAMES[i], 12, bold=True)
        c.heatmap(x_in[i], x, top + 18, side, side, tint, 0.0, 1.0)
        c.colorbar(x, bar_y, side, BAR, tint, 0.0, 1.0, [(0.0, "0"), (1.0, "1")])
    means = ", ".join(f"{ch} {fmt_ascii(float(x_in[i].mean()))}" for i, ch in enumerate(CHANNEL_NAMES))
    zh = f"输入图像的红、绿、蓝三个通道（各 64×64），取值 0 到 1，平均值 {means}。"
    en = f"The red, green and blue channels of the input (64×64 each), values 0 to 1; means {means}."
    return c, zh, en


def output_rows(
    c: Canvas, probe: ProbeResult, classes: tuple[str, ...], x: int, y: int, width: int, row_h: int, size: int = 13
) -> None:
    """One row per class: Oranges swatch (logit), class name, logit and probability; the predicted
    class in bold with an accent frame."""
    logits, probs = probe.stages["output"], probe.stages["softmax"]
    _, lo, hi = stage_scale(probe.stages, "output", None, "layer")
    sw = row_h - 6
    for i, name in enumerate(classes):
        ry = y + i * row_h
        c.heatmap(logits[i : i + 1].reshape(1, 1), x, ry, sw, sw, LOGIT, lo, hi)
        c.frame(x, ry, sw, sw, "ink")
        bold = i == probe.predicted
        if bold:
            c.frame(x, ry, sw, sw, "accent", 3)
        c.text(x + sw + 8, ry + sw // 2, name, size, anchor="lm", bold=bold)
        c.text(
            x + width, ry + sw // 2, f"{fmt_ascii(logits[i])}  {100 * probs[i]:.1f}%", size - 1, anchor="rm", bold=bold
        )


def _grid_output(probe: ProbeResult, classes: tuple[str, ...], names: tuple[str, ...]) -> tuple[Canvas, str, str]:
    row_h, width = 34, 420
    pal = figure_palette((LOGIT, 128))
    top = PAD + 30
    n = len(classes)
    bar_y = top + n * row_h + 8
    c = Canvas(width, below_bar(bar_y), pal)
    c.text(PAD, PAD, "output", 16, bold=True)
    c.text(width - PAD, PAD + 2, "logit  softmax", 12, anchor="rt")
    output_rows(c, probe, names, PAD, top, width - 2 * PAD, row_h)
    _, lo, hi = stage_scale(probe.stages, "output", None, "layer")
    c.colorbar(PAD, bar_y, width - 2 * PAD, BAR, LOGIT, lo, hi, ticks(lo, hi))
    p = probe.predicted
    prob = 100 * float(probe.stages["softmax"][p])
    zh = (
        f"输出层 {n} 个类别的 logit（橙色深浅）与 softmax 概率；预测类别为 {zh_label(classes[p])}"
        f"（logit {fmt_ascii(probe.stages['output'][p])}，概率 {prob:.1f}%）。"
    )
    en = (
        f"The {n} output logits (orange shade) and softmax probabilities; the prediction is "
        f"{classes[p]} (logit {fmt_ascii(probe.stages['output'][p])}, probability {prob:.1f}%)."
    )
    return c, zh, en


def render_activation_grid(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """All neurons of one layer for one image, labelled, with a colour bar."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, ACTIVATION_LAYERS)
    if layer == "input":
        c, zh, en = _grid_input(probe)
    elif layer == "output":
        if len(ctx.classes) != len(probe.stages["output"]):
            raise DataError(
                f"figure {spec.id!r}: {len(ctx.classes)} class names for {len(probe.stages['output'])} outputs"
            )
        c, zh, en = _grid_output(probe, ctx.classes, class_names(spec, ctx))
    else:
        c, zh, en = _grid_layer(probe, layer, ctx.scale)
    slug = probe.image.slug
    alt = {"zh": f"图像 {slug}：{zh}", "en": f"Image {slug}: {en}"}
    cap = {"zh": zh, "en": en}
    return Rendered(c.png(), c.width, c.height, alt, cap)
