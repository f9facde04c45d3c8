"""CNN Explainer's main view as one static picture: every stage of the network as a column of its
neuron maps, from the input channels to the class scores, for one image."""

from __future__ import annotations

import numpy as np

from generator.arch import LAYER_NAMES
from generator.names import zh_label
from generator.records import FigureSpec, ProbeResult, RenderContext, Rendered
from generator.render.colors import ACTIVATION, CHANNEL_TINTS, LOGIT, Palette, figure_palette, stage_scale
from generator.render.common import BAR, CHANNEL_NAMES, below_bar, class_names, end_ticks, probe_for, say
from generator.render.png import encode_rgb
from generator.render.text import Canvas, resize_nearest

D = 88  # every map is shown at the same size, whatever its resolution (as CNN Explainer does)
ROW = 100  # vertical pitch of the maps
COL = 110  # horizontal pitch of the map columns
PAD = 16
OUT_W = 250  # width of the class-score column
HEAD = 56  # header height: layer name and shape


def _palette() -> Palette:
    return figure_palette(*((t, 32) for t in CHANNEL_TINTS), (ACTIVATION, 101), (LOGIT, 32))


def _draw_scores(c: Canvas, probe: ProbeResult, classes: tuple[str, ...], x: int, y: int) -> None:
    """One row per class, aligned with the map rows: name, a bar as long as its probability and
    coloured by its logit (Oranges), and the percentage. The prediction gets bold text and a frame."""
    logits, probs = probe.stages["output"], probe.stages["softmax"]
    _, lo, hi = stage_scale(probe.stages, "output", None, "layer")
    bar_max = OUT_W - 70
    for i, name in enumerate(classes):
        ry = y + i * ROW + (ROW - 12 - 48) // 2
        pred = i == probe.predicted
        c.text(x, ry, name, 15, bold=pred)
        length = max(2, int(round(float(probs[i]) * bar_max)))
        c.heatmap(logits[i : i + 1].reshape(1, 1), x, ry + 24, length, 22, LOGIT, lo, hi)
        c.frame(x, ry + 24, length, 22, "accent" if pred else "ink", 3 if pred else 1)
        c.text(x + length + 8, ry + 35, f"{100 * float(probs[i]):.1f}%", 13, anchor="lm", bold=pred)


def render_overview(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """input (photo + R, G, B) | conv_1_1 ... max_pool_2 | class scores, headed by name and shape."""
    probe = probe_for(spec, ctx)
    classes = ctx.classes
    names = class_names(spec, ctx)
    n_rows = max(10, len(classes))
    width = PAD + D + len(LAYER_NAMES) * COL + 30 + OUT_W + PAD
    top = PAD + HEAD
    bar_y = top + n_rows * ROW + 4
    height = below_bar(bar_y, pad=PAD)
    c = Canvas(width, height, _palette())

    # Input column: the photo, then its three channels, centred on the map rows.
    x_in = probe.stages["input"]  # (3, 64, 64)
    first = top + (n_rows - 4) * ROW // 2
    c.text(PAD + D // 2, PAD, "input", 16, anchor="mt", bold=True)
    c.text(PAD + D // 2, PAD + 24, f"{x_in.shape[1]}×{x_in.shape[2]}×3", 13, anchor="mt")
    for i, tint in enumerate(CHANNEL_TINTS):
        y = first + (i + 1) * ROW
        c.heatmap(x_in[i], PAD, y, D, D, tint, 0.0, 1.0)
        c.text(PAD - 3, y + D // 2, CHANNEL_NAMES[i], 12, anchor="rm", bold=True)

    # One column per layer; one colour range per layer (or per map in "neuron" scale).
    for j, layer in enumerate(LAYER_NAMES):
        x = PAD + D + j * COL + (COL - D)
        maps = probe.stages[layer]  # (10, H, W)
        n, h, w = maps.shape
        c.text(x + D // 2, PAD, layer, 16, anchor="mt", bold=True)
        c.text(x + D // 2, PAD + 24, f"{h}×{w}×{n}", 13, anchor="mt")
        for i in range(n):
            _, lo, hi = stage_scale(probe.stages, layer, i, ctx.scale)
            c.heatmap(maps[i], x, top + i * ROW, D, D, ACTIVATION, lo, hi)
        _, lo, hi = stage_scale(probe.stages, layer, None, "layer")
        if ctx.scale == "neuron":
            c.colorbar(x, bar_y, D, BAR, ACTIVATION, -1.0, 1.0, [(-1.0, "-max"), (1.0, "max")], size=11)
        else:
            c.colorbar(x, bar_y, D, BAR, ACTIVATION, lo, hi, end_ticks(lo, hi, 2), size=11)
    for i in range(n_rows):  # neuron indices down the left edge of the first layer column
        c.text(PAD + D + (COL - D) - 4, top + i * ROW + D // 2, str(i), 11, anchor="rm")

    xo = PAD + D + len(LAYER_NAMES) * COL + 30
    c.text(xo, PAD, "output", 16, bold=True)
    c.text(xo, PAD + 24, say(spec, f"{len(classes)} classes, softmax", f"{len(classes)} 个类别，softmax"), 13)
    _draw_scores(c, probe, names, xo, top)
    _, lo, hi = stage_scale(probe.stages, "output", None, "layer")
    c.colorbar(xo, bar_y, OUT_W - 70, BAR, LOGIT, lo, hi, end_ticks(lo, hi, 2), size=11)

    rgb, dark = c.rgb(), c.rgb(dark=True)
    for im in (rgb, dark):
        im[first : first + D, PAD : PAD + D] = resize_nearest(probe.image.pixels, D, D)
    pred = probe.predicted
    prob = 100 * float(probe.stages["softmax"][pred])
    slug = probe.image.slug
    truth = probe.image.label
    truth_en = f" (true class: {classes[truth]})" if truth is not None else ""
    truth_zh = f"（真实类别：{zh_label(classes[truth])}）" if truth is not None else ""
    alt = {
        "zh": f"图像 {slug} 通过 TinyVGG 的全过程：左起为输入的红、绿、蓝通道，"
        f"随后每列是一层（conv_1_1 到 max_pool_2）的 10 个神经元激活图，红色为负、蓝色为正；"
        f"最右为 {len(classes)} 个类别的得分，预测为 {zh_label(classes[pred])}，概率 {prob:.1f}%{truth_zh}。",
        "en": f"Image {slug} passing through TinyVGG: from the left, the input's red, green and blue "
        f"channels, then one column per layer (conv_1_1 to max_pool_2) with its 10 neuron maps, "
        f"red negative and blue positive; on the right the scores of the {len(classes)} classes, "
        f"predicting {classes[pred]} with probability {prob:.1f}%{truth_en}.",
    }
    cap = {
        "zh": f"网络总览：每列一层，每个方块是一个神经元的激活图；预测：{zh_label(classes[pred])}，{prob:.1f}%。",
        "en": f"Network overview: one column per layer, one square per neuron; prediction: "
        f"{classes[pred]} ({prob:.1f}%).",
    }
    dark_data = encode_rgb(np.ascontiguousarray(dark))
    return Rendered(encode_rgb(np.ascontiguousarray(rgb)), width, height, alt, cap, dark=dark_data)
