"""Convolution animations for one conv neuron of one image.

conv-overview (CNN Explainer's Figure 1): every input channel with its 3×3 kernel and the
intermediate result (input channel ∗ kernel); their sum plus the bias fills in the output map while
the window sweeps over the inputs.
conv-detail (Figure 2): the kernel of the channel that contributes most slides over that channel;
the window's values, the kernel, their element-wise products and the sum are written out.

All numbers come from the probe: the intermediate maps are probe.intermediates, the output map is
their sum plus the bias (equal to probe.stages[layer][neuron]), and `detail_steps` is the single
source of the numbers that the detail animation writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from generator.arch import CONV_LAYERS, previous_stage
from generator.examples import DETAIL_STEPS, detail_start, detail_stats, detail_walk
from generator.examples import detail_channel as _channel
from generator.records import FigureSpec, ProbeResult, RenderContext, Rendered
from generator.render.colors import ACTIVATION, WEIGHT, figure_palette, normalise_index, stage_scale, symmetric
from generator.render.common import (
    CHANNEL_NAMES,
    PAD,
    Box,
    below_bar_row,
    colorbar_row,
    fmt_ascii,
    layer_of,
    light_text,
    neuron_of,
    probe_for,
    reveal,
    sweep_animation,
    sweep_positions,
)
from generator.render.text import Canvas

WIN = 2  # outline width of the sliding window
# Few colour levels and few frames keep the GIFs small: LZW pays for every change and for every
# transparent run of every frame (~1 KB per frame at these sizes).
PALETTE = figure_palette(("gray", 31), (ACTIVATION, 49), (WEIGHT, 33))
MAX_FRAMES = 60
OVERVIEW_STEPS = (4, 10)  # single steps, then jumps to the end (frames cost bytes: 400 of these per site; with
# the finished maps leading the loop, 4 + 10 keeps them the size 5 + 15 had without)


def input_scale(probe: ProbeResult, layer: str) -> tuple[str, float, float]:
    """Colours of the input channels: greys 0..1 for image channels, else RdBu over the whole
    previous layer (one range for all channels, so a single colour bar describes them)."""
    prev = previous_stage(layer)
    if prev == "input":
        return "gray", 0.0, 1.0
    return stage_scale(probe.stages, prev, None, "layer")


def channel_label(layer: str, k: int) -> str:
    return CHANNEL_NAMES[k] if previous_stage(layer) == "input" else str(k)


# ---- conv-overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewLayout:
    inputs: list[Box]
    kernels: list[Box]
    mids: list[Box]
    output: Box
    zoom: int  # screen pixels per map pixel for inputs and intermediate maps
    out_zoom: int
    width: int
    height: int


def overview_layout(in_c: int, size_in: int) -> OverviewLayout:
    """Where everything goes, for in_c input channels of size_in×size_in pixels."""
    zoom = max(1, round((128 if in_c <= 3 else 62) / size_in))
    s_in, s_mid = size_in * zoom, (size_in - 2) * zoom
    cell = max(8, min(20, s_in // 6))
    out_zoom = max(zoom, round(180 / (size_in - 2)))
    s_out = (size_in - 2) * out_zoom
    row, top = s_in + 10, PAD + 40
    x_in = PAD + 18
    x_k = x_in + s_in + 26
    x_mid = x_k + 3 * cell + 26
    x_out = x_mid + s_mid + 74
    inputs = [Box(x_in, top + i * row, s_in, s_in) for i in range(in_c)]
    kernels = [Box(x_k, top + i * row + (s_in - 3 * cell) // 2, 3 * cell, 3 * cell) for i in range(in_c)]
    mids = [Box(x_mid, top + i * row + zoom, s_mid, s_mid) for i in range(in_c)]
    body = in_c * row - 10
    out = Box(x_out, top + max(0, (body - s_out) // 2), s_out, s_out)
    width = max(x_out + s_out + PAD, 470)
    height = below_bar_row(top + max(body, s_out + 30) + 16)
    return OverviewLayout(inputs, kernels, mids, out, zoom, out_zoom, width, height)


def conv_output(probe: ProbeResult, weights: dict[str, np.ndarray], layer: str, neuron: int) -> np.ndarray:
    """The neuron's output map as the animation builds it: sum of its intermediate maps + bias."""
    inter = probe.intermediates[layer][neuron]  # (in_c, H, W)
    return inter.sum(axis=0) + weights[f"{layer}.bias"][neuron]  # (H, W)


def render_conv_overview(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """Input channels ∗ kernels = intermediate maps; Σ + bias = output, filled in as the window sweeps."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, CONV_LAYERS)
    kernels = ctx.weights[f"{layer}.weight"]  # (out_c, in_c, 3, 3)
    neuron = neuron_of(spec, kernels.shape[0])
    prev = previous_stage(layer)
    x_in = probe.stages[prev]  # (in_c, H, W)
    inter = probe.intermediates[layer][neuron]  # (in_c, H-2, W-2)
    bias = float(ctx.weights[f"{layer}.bias"][neuron])
    out = conv_output(probe, ctx.weights, layer, neuron)  # (H-2, W-2)
    in_c, size_in = x_in.shape[0], x_in.shape[1]
    lay = overview_layout(in_c, size_in)
    oh, ow = out.shape
    klo, khi = symmetric(kernels[neuron])
    mlo, mhi = symmetric(inter)
    _, olo, ohi = stage_scale(probe.stages, layer, neuron, ctx.scale)
    iscale, ilo, ihi = input_scale(probe, layer)

    base = Canvas(lay.width, lay.height, PALETTE)
    base.text(PAD, PAD, f"{layer} #{neuron}", 16, bold=True)
    base.text(lay.width - PAD, PAD + 2, f"{in_c} × 3×3  →  {oh}×{ow}", 13, anchor="rt")
    top = lay.inputs[0].y
    base.text(lay.inputs[0].x, top - 18, prev, 12, bold=True)
    base.text(lay.kernels[0].x, top - 18, "w", 12, bold=True)
    base.text(lay.mids[0].x, top - 18, "x ∗ w", 12, bold=True)
    for k in range(in_c):
        bi, bk, bm = lay.inputs[k], lay.kernels[k], lay.mids[k]
        base.heatmap(x_in[k], bi.x, bi.y, bi.w, bi.h, iscale, ilo, ihi)
        base.text(bi.x - 5, bi.y + bi.h // 2, channel_label(layer, k), 11, anchor="rm", bold=True)
        base.heatmap(kernels[neuron, k], bk.x, bk.y, bk.w, bk.h, WEIGHT, klo, khi)
        base.frame(bk.x, bk.y, bk.w, bk.h, "ink")
        base.text((bi.x + bi.w + bk.x) // 2, bi.y + bi.h // 2, "∗", 15, anchor="mm", bold=True)
        base.text((bk.x + bk.w + bm.x) // 2, bi.y + bi.h // 2, "=", 15, anchor="mm", bold=True)
        base.frame(bm.x, bm.y, bm.w, bm.h, "ink")
    bo = lay.output
    mid_x = (lay.mids[0].x + lay.mids[0].w + bo.x) // 2
    base.text(mid_x, bo.y + bo.h // 2 - 14, "Σ", 22, anchor="mm", bold=True)
    bias_text = f"+ ({fmt_ascii(bias)})" if bias < 0 else f"+ {fmt_ascii(bias)}"
    base.text(mid_x, bo.y + bo.h // 2 + 14, bias_text, 11, anchor="mm")
    base.text(bo.x, bo.y - 18, f"{layer} #{neuron}", 12, bold=True)
    base.frame(bo.x, bo.y, bo.w, bo.h, "ink")
    colorbar_row(
        base,
        [
            (prev, iscale, ilo, ihi),
            ("w", WEIGHT, klo, khi),
            ("x ∗ w", ACTIVATION, mlo, mhi),
            (layer, ACTIVATION, olo, ohi),
        ],
    )

    z, zo = lay.zoom, lay.out_zoom
    full_mid = [PALETTE.index(np.repeat(np.repeat(inter[k], z, 0), z, 1), mlo, mhi, ACTIVATION) for k in range(in_c)]
    full_out = PALETTE.index(np.repeat(np.repeat(out, zo, 0), zo, 1), olo, ohi, ACTIVATION)
    n = oh * ow
    ends = sweep_positions(n, OVERVIEW_STEPS[0], sum(OVERVIEW_STEPS))

    def draw(c: Canvas, p: int) -> None:
        for k in range(in_c):
            reveal(c, full_mid[k], lay.mids[k], z, ow, p)
        reveal(c, full_out, bo, zo, ow, p)
        r, col = divmod(p, ow)
        if p < n - 1:  # the window and the pixel it produces (the last frame shows the result alone)
            for k in range(in_c):
                bi = lay.inputs[k]
                c.frame(bi.x + col * z, bi.y + r * z, 3 * z, 3 * z, "accent", WIN)
            c.frame(bo.x + col * zo, bo.y + r * zo, zo, zo, "accent", 2)
        c.text(bo.x, bo.y + bo.h + 6, f"[{r}, {col}] = {fmt_ascii(out[r, col])}", 12, crisp=True)

    # The finished maps lead the loop (gif.poster_first): a still, a print or a reduced-motion reader
    # sees the result, not empty boxes.
    data = sweep_animation(base, ends, draw, 700, lambda e: 300 if e < OVERVIEW_STEPS[0] else 120)
    vmin, vmax = float(out.min()), float(out.max())
    slug = probe.image.slug
    src_zh = "输入图像的 R、G、B 三个通道" if prev == "input" else f"{prev} 的 {in_c} 个通道"
    src_en = "the R, G and B channels of the input image" if prev == "input" else f"the {in_c} channels of {prev}"
    alt = {
        "zh": f"动画：图像 {slug} 在 {layer} 第 {neuron} 个神经元的卷积。"
        f"{in_c} 个 3×3 卷积核分别在{src_zh}上滑动，得到 {in_c} 个中间结果；"
        f"它们相加再加上偏置 {fmt_ascii(bias)}，逐步填满 {oh}×{ow} 的输出，"
        f"取值 {fmt_ascii(vmin)} 到 {fmt_ascii(vmax)}。",
        "en": f"Animation: the convolution of neuron {neuron} in {layer} on image {slug}. {in_c} kernels "
        f"of 3×3 slide over {src_en}, giving {in_c} intermediate maps; their sum plus the bias "
        f"{fmt_ascii(bias)} fills in the {oh}×{ow} output, values {fmt_ascii(vmin)} to {fmt_ascii(vmax)}.",
    }
    cap = {
        "zh": f"{layer} 第 {neuron} 个神经元：{in_c} 个中间结果之和加上偏置 {fmt_ascii(bias)} 即为输出。",
        "en": f"{layer}, neuron {neuron}: the sum of {in_c} intermediate results plus the bias "
        f"{fmt_ascii(bias)} is the output.",
    }
    return Rendered(data, lay.width, lay.height, alt, cap)


# ---- conv-detail --------------------------------------------------------------------------------

CELL = 50  # one number cell of the 3×3 grids


class DetailStep(NamedTuple):
    """What one frame of the detail animation writes: the window at output position (row, col)."""

    row: int
    col: int
    window: np.ndarray  # (3, 3) input values under the kernel
    kernel: np.ndarray  # (3, 3) weights
    products: np.ndarray  # (3, 3) window * kernel
    total: float  # products.sum(): the intermediate map's value at (row, col)


def detail_channel(probe: ProbeResult, layer: str, neuron: int) -> int:
    """The input channel whose intermediate map contributes most (largest sum of |values|)."""
    return _channel(probe.intermediates[layer][neuron])


def detail_steps(probe: ProbeResult, weights: dict[str, np.ndarray], layer: str, neuron: int) -> list[DetailStep]:
    """The numbers written by the detail animation, one entry per frame with a window: the top-left
    corner, then (examples.detail_walk) single steps across the row segment that varies most."""
    k = detail_channel(probe, layer, neuron)
    x = probe.stages[previous_stage(layer)][k]  # (H, W)
    kernel = weights[f"{layer}.weight"][neuron, k]  # (3, 3)
    ow = x.shape[1] - 2
    steps = []
    for p in detail_walk(probe.intermediates[layer][neuron, k]):
        r, c = divmod(p, ow)
        window = x[r : r + 3, c : c + 3]
        products = window * kernel
        steps.append(DetailStep(r, c, window.copy(), kernel.copy(), products, float(products.sum(dtype=np.float64))))
    return steps


def conv_detail_stats(probe: ProbeResult, layer: str, neuron: int) -> dict:
    """What the detail animation crosses (manifest `stats`): its input channel, where its single steps
    are, and the spread of the intermediate values there next to the whole map's."""
    k = detail_channel(probe, layer, neuron)
    mid = probe.intermediates[layer][neuron, k]
    # positions: the walk itself, so the in-page player (steps.js) steps through the same windows
    return {"channel": k, **detail_stats(mid), "positions": [int(p) for p in detail_walk(mid)]}


def _decimals(grid: np.ndarray) -> int:
    """A grid's numbers get as many decimals as its largest value needs for 3 significant digits (at
    most 4), so a column of numbers reads like a table and fits its cell."""
    top = float(np.abs(grid).max())
    return 3 if top == 0 else min(4, max(0, 2 - math.floor(math.log10(top))))


def _format(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def _grid(c: Canvas, x: int, y: int, values: np.ndarray, scale: str, lo: float, hi: float) -> None:
    """A 3×3 grid of coloured cells with the values written in them (white on dark cells). Cells use
    every third level of the scale: fewer colour changes between frames keep the GIF small."""
    start, size = PALETTE.part(scale)
    level = normalise_index(values, lo, hi, size).astype(np.int32)
    idx = (start + np.minimum(np.rint(level / 6) * 6, size - 1)).astype(np.uint8)
    light = light_text(PALETTE.colors[idx])
    decimals = _decimals(values)  # once a grid, not once a cell
    for i in range(3):
        for j in range(3):
            cx, cy = x + j * CELL, y + i * CELL
            c.fill(cx, cy, CELL, CELL, int(idx[i, j]))
            c.text(
                cx + CELL // 2,
                cy + CELL // 2,
                _format(float(values[i, j]), decimals),
                10,
                bold=True,
                crisp=True,
                color="white" if light[i, j] else "mark",
                anchor="mm",
            )
    _grid_lines(c, x, y)


def _grid_lines(c: Canvas, x: int, y: int) -> None:
    for t in range(4):
        c.fill(x + t * CELL, y, 1, 3 * CELL, "ink")
        c.fill(x, y + t * CELL, 3 * CELL + 1, 1, "ink")


@dataclass(frozen=True)
class DetailLayout:
    input: Box  # the input channel
    mid: Box  # its intermediate map (input channel ∗ kernel)
    grids: tuple[Box, Box, Box]  # window values, kernel, products
    sum_y: int  # top of the "Σ = ..." line
    zoom: int
    width: int
    height: int


def detail_layout(h: int, w: int) -> DetailLayout:
    """Maps on top (input -> intermediate), the arithmetic of one window below."""
    z = max(1, round(124 / h))
    grid_w = 3 * CELL
    width = 2 * PAD + 3 * grid_w + 2 * 30
    top = PAD + 48
    x_in = PAD + (width - 2 * PAD - (w * z + 90 + (w - 2) * z)) // 2
    x_mid = x_in + w * z + 90
    gy = top + h * z + 40
    g0, g1, g2 = (Box(PAD + i * (grid_w + 30), gy, grid_w, grid_w) for i in range(3))
    grids = (g0, g1, g2)
    sum_y = gy + grid_w + 16
    return DetailLayout(
        Box(x_in, top, w * z, h * z),
        Box(x_mid, top + z, (w - 2) * z, (h - 2) * z),
        grids,
        sum_y,
        z,
        width,
        below_bar_row(sum_y + 24 + 14),
    )


def render_conv_detail(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """One kernel sliding over one input channel, with the arithmetic of each window written out."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, CONV_LAYERS)
    neuron = neuron_of(spec, ctx.weights[f"{layer}.weight"].shape[0])
    prev = previous_stage(layer)
    k = detail_channel(probe, layer, neuron)
    x = probe.stages[prev][k]  # (H, W)
    inter = probe.intermediates[layer][neuron, k]  # (H-2, W-2)
    kernel = ctx.weights[f"{layer}.weight"][neuron, k]  # (3, 3)
    steps = detail_steps(probe, ctx.weights, layer, neuron)
    h, w = x.shape
    oh, ow = inter.shape
    iscale, ilo, ihi = input_scale(probe, layer)
    klo, khi = symmetric(kernel)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3))  # (oh, ow, 3, 3)
    plo, phi = symmetric(windows * kernel)  # every product of the sweep, so frames share one scale
    mlo, mhi = symmetric(inter)

    lay = detail_layout(h, w)
    z, (gx0, gx1, gx2), gy, grid_w = lay.zoom, lay.grids, lay.grids[0].y, lay.grids[0].w
    bi, bm, width = lay.input, lay.mid, lay.width
    base = Canvas(lay.width, lay.height, PALETTE)
    label = channel_label(layer, k)
    base.text(PAD, PAD, f"{layer} #{neuron}", 16, bold=True)
    base.text(width - PAD, PAD + 2, f"{prev} [{label}]  ∗  w[{label}]", 13, anchor="rt")
    base.text(bi.x, bi.y - 18, f"{prev} [{label}]  {h}×{w}", 12, bold=True)
    base.heatmap(x, bi.x, bi.y, bi.w, bi.h, iscale, ilo, ihi)
    base.text(bm.x, bi.y - 18, f"x ∗ w  {oh}×{ow}", 12, bold=True)
    base.frame(bm.x, bm.y, bm.w, bm.h, "ink")
    base.text((bi.x + bi.w + bm.x) // 2, bi.y + bi.h // 2, "∗ w →", 15, anchor="mm", bold=True)
    for g, name in zip(lay.grids, ("x", "w", "x · w"), strict=True):
        base.text(g.x, gy - 18, name, 12, bold=True)
    base.text(gx0.x + grid_w + 15, gy + grid_w // 2, "×", 18, anchor="mm", bold=True)
    base.text(gx1.x + grid_w + 15, gy + grid_w // 2, "=", 18, anchor="mm", bold=True)
    _grid(base, gx1.x, gy, kernel, WEIGHT, klo, khi)
    _grid_lines(base, gx0.x, gy)  # empty until the first window
    _grid_lines(base, gx2.x, gy)
    colorbar_row(
        base,
        [
            (prev, iscale, ilo, ihi),
            ("w", WEIGHT, klo, khi),
            ("x · w", ACTIVATION, plo, phi),
            ("x ∗ w", ACTIVATION, mlo, mhi),
        ],
    )

    full = PALETTE.index(np.repeat(np.repeat(inter, z, 0), z, 1), mlo, mhi, ACTIVATION)

    def draw(c: Canvas, st: DetailStep, upto: int | None = None) -> None:
        reveal(c, full, bm, z, ow, st.row * ow + st.col if upto is None else upto)
        c.frame(bi.x + st.col * z, bi.y + st.row * z, 3 * z, 3 * z, "accent", 2)
        c.frame(bm.x + st.col * z, bm.y + st.row * z, z, z, "accent", 2)
        _grid(c, gx0.x, gy, st.window, iscale, ilo, ihi)
        _grid(c, gx2.x, gy, st.products, ACTIVATION, plo, phi)
        # Crisp (1-bit) glyphs for text that changes every frame: antialiased text costs ~1 KB a frame.
        c.text(
            width // 2,
            lay.sum_y,
            f"Σ (x · w) = {fmt_ascii(st.total, 4)}   →   x ∗ w [{st.row}, {st.col}]",
            14,
            anchor="mt",
            bold=True,
            crisp=True,
        )

    start = detail_start(inter)
    single = {i for i, st in enumerate(steps) if start <= st.row * ow + st.col < start + DETAIL_STEPS[0]}
    first_single = min(single)
    # The still: the finished map, the arithmetic of the walk's strongest window (the first of equals).
    best = max(steps, key=lambda st: abs(st.total))
    data = sweep_animation(
        base,
        steps,
        draw,
        800,
        lambda i: 900 if i == 0 or i in (first_single, first_single + 1) else 500 if i in single else 120,
        still=lambda c: draw(c, best, oh * ow - 1),
    )
    stats = conv_detail_stats(probe, layer, neuron)
    slug = probe.image.slug
    first = steps[0]
    at = steps[first_single]
    src_zh = f"输入的 {label} 通道" if prev == "input" else f"{prev} 的第 {k} 个通道"
    src_en = f"the input's {label} channel" if prev == "input" else f"channel {k} of {prev}"
    alt = {
        "zh": f"动画：{layer} 第 {neuron} 个神经元的 3×3 卷积核在{src_zh}（贡献最大的通道）上滑动"
        f"（图像 {slug}）。每一步写出窗口中的 9 个数值、卷积核权重、逐元素乘积及其和；"
        f"例如第一个窗口的和为 {fmt_ascii(first.total, 4)}。窗口从左上角出发，跳到第 {at.row} 行"
        f"第 {at.col} 列起数值变化最大的一段，逐个展示 {DETAIL_STEPS[0]} 步"
        f"（取值 {fmt_ascii(stats['walk_min'])} 到 {fmt_ascii(stats['walk_max'])}），"
        f"之后快进，直到填满 {oh}×{ow} 的中间结果。",
        "en": f"Animation: the 3×3 kernel of neuron {neuron} in {layer} sliding over {src_en}, "
        f"the channel that contributes most (image {slug}). "
        f"Each step writes out the 9 input values under the window, the kernel weights, "
        f"their element-wise products and the sum; the first window sums to {fmt_ascii(first.total, 4)}. "
        f"From the top-left corner the window jumps to row {at.row}, column {at.col}, where the values "
        f"change most ({fmt_ascii(stats['walk_min'])} to {fmt_ascii(stats['walk_max'])}), goes "
        f"{DETAIL_STEPS[0]} steps one by one, then fast-forwards "
        f"until the {oh}×{ow} intermediate map is complete.",
    }
    cap = {
        "zh": f"{layer} 第 {neuron} 个神经元在{src_zh}上的卷积：窗口与卷积核逐元素相乘再求和。"
        "该神经元的输出还要加上其他通道的中间结果和偏置。",
        "en": f"{layer}, neuron {neuron}, on {src_en}: multiply the window and the kernel element by "
        "element, then add up. The neuron's output also adds the other channels' results and the "
        "bias.",
    }
    return Rendered(data, lay.width, lay.height, alt, cap, stats)
