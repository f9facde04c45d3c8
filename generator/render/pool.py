"""Max pooling (2×2, stride 2) animated on one neuron: the window steps over the ReLU map, its four
values are written out with the maximum highlighted, and the pooled map fills in. The walk and the
example neuron come from generator/examples.py: the single steps cross the windows with something in
them, not a blank corner. The first frame (what a still shows) is the finished map with the window
on its largest value."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from generator.arch import POOL_LAYERS, previous_stage
from generator.examples import POOL_STEPS, pool_examples, pool_start, pool_walk
from generator.records import FigureSpec, ProbeResult, RenderContext, Rendered
from generator.render.colors import ACTIVATION, figure_palette, stage_scale
from generator.render.common import (
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
)
from generator.render.text import Canvas

PALETTE = figure_palette((ACTIVATION, 49))
STEPS = POOL_STEPS  # windows one by one, then jumps to the end
CELL = 56


class PoolStep(NamedTuple):
    """One window: output position (row, col), the 2×2 input values, where the max is, its value."""

    row: int
    col: int
    window: np.ndarray  # (2, 2) input values at rows 2*row.., cols 2*col..
    argmax: tuple[int, int]  # (i, j) inside the window; the first one on ties (row-major)
    value: float  # the kept maximum = the pooled map at (row, col)


def pool_steps(probe: ProbeResult, layer: str, neuron: int) -> list[PoolStep]:
    """The numbers the animation writes, one entry per frame with a window (examples.pool_walk)."""
    x = probe.stages[previous_stage(layer)][neuron]  # (H, W)
    pooled = probe.stages[layer][neuron]  # (H/2, W/2)
    ow = pooled.shape[1]
    steps = []
    for p in pool_walk(pooled):
        r, c = divmod(p, ow)
        window = x[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].copy()
        i, j = divmod(int(np.argmax(window)), 2)
        steps.append(PoolStep(r, c, window, (i, j), float(window[i, j])))
    return steps


def poster_step(steps: list[PoolStep]) -> PoolStep:
    """The window the still shows: the walk's largest maximum (the first of equals)."""
    return max(steps, key=lambda s: s.value)


def pool_stats(probe: ProbeResult, layer: str, neuron: int) -> dict:
    """What the animation shows (manifest `stats`): how many of its windows keep a non-zero maximum,
    and whether this neuron is the example `neuron=auto` picks."""
    steps = pool_steps(probe, layer, neuron)
    nonzero = sum(1 for s in steps if s.value != 0)
    pooled = probe.stages[layer][neuron]
    best = poster_step(steps)
    return {
        "steps": len(steps),
        "nonzero_steps": nonzero,
        "nonzero_share": nonzero / len(steps),
        "map_nonzero_share": float(np.count_nonzero(pooled) / pooled.size),
        "single_steps_from": list(divmod(pool_start(pooled), pooled.shape[1])),
        "poster": [best.row, best.col],
        "positions": [
            int(p) for p in pool_walk(pooled)
        ],  # the walk itself: the in-page player steps through the same windows
        "example": pool_examples(probe.stages)["layers"][layer]["neuron"] == neuron,
    }


def render_pool(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """ReLU map with the 2×2 window | the four values, max framed | pooled map filling in."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, POOL_LAYERS)
    neuron = neuron_of(spec, len(probe.stages[layer]))
    prev = previous_stage(layer)
    x, out = probe.stages[prev][neuron], probe.stages[layer][neuron]  # (H, W), (H/2, W/2)
    h, w = x.shape
    oh, ow = out.shape
    _, lo, hi = stage_scale(probe.stages, prev, neuron, ctx.scale)  # pooled values lie within it
    z = max(1, round(180 / h))
    side, oside = h * z, oh * 2 * z
    width = 2 * PAD + side + 2 * CELL + oside + 2 * 56
    top = PAD + 46
    x_cells = PAD + side + 56
    x_out = x_cells + 2 * CELL + 56
    y_cells = top + (side - 2 * CELL) // 2
    height = below_bar_row(top + side + 16)
    base = Canvas(width, height, PALETTE)
    base.text(PAD, PAD, f"{layer} #{neuron}", 16, bold=True)
    # "S = 2" as the hyperparameter figures write the stride: no word, so one GIF serves both languages
    base.text(width - PAD, PAD + 2, f"2×2, S = 2:  {h}×{w} → {oh}×{ow}", 13, anchor="rt")
    base.text(PAD, top - 18, f"{prev} #{neuron}", 12, bold=True)
    base.heatmap(x, PAD, top, side, side, ACTIVATION, lo, hi)
    base.text(x_cells + CELL, y_cells - 18, "max", 12, bold=True, anchor="mt")
    base.text(x_out, top - 18, f"{layer} #{neuron}", 12, bold=True)
    base.frame(x_out, top, oside, oside, "ink")
    base.text(x_cells - 28, top + side // 2, "→", 20, anchor="mm", bold=True)
    base.text(x_out - 28, top + side // 2, "→", 20, anchor="mm", bold=True)
    colorbar_row(base, [(f"{prev} / {layer}", ACTIVATION, lo, hi)])

    full = PALETTE.index(np.repeat(np.repeat(out, 2 * z, 0), 2 * z, 1), lo, hi, ACTIVATION)
    box = Box(x_out, top, oside, oside)
    steps = pool_steps(probe, layer, neuron)

    def draw(c: Canvas, st: PoolStep, upto: int | None = None) -> None:
        reveal(c, full, box, 2 * z, ow, st.row * ow + st.col if upto is None else upto)
        c.frame(PAD + 2 * st.col * z, top + 2 * st.row * z, 2 * z, 2 * z, "accent", 2)
        c.frame(x_out + 2 * st.col * z, top + 2 * st.row * z, 2 * z, 2 * z, "accent", 2)
        idx = PALETTE.index(st.window, lo, hi, ACTIVATION)
        light = light_text(PALETTE.colors[idx])
        for i in range(2):
            for j in range(2):
                cx, cy = x_cells + j * CELL, y_cells + i * CELL
                c.fill(cx, cy, CELL, CELL, int(idx[i, j]))
                c.frame(cx, cy, CELL, CELL, "ink")
                c.text(
                    cx + CELL // 2,
                    cy + CELL // 2,
                    fmt_ascii(st.window[i, j]),
                    11,
                    anchor="mm",
                    crisp=True,
                    bold=(i, j) == st.argmax,
                    color="white" if light[i, j] else "mark",
                )
        i, j = st.argmax
        c.frame(x_cells + j * CELL + 1, y_cells + i * CELL + 1, CELL - 2, CELL - 2, "accent", 3)
        c.text(x_cells + CELL, y_cells + 2 * CELL + 10, f"= {fmt_ascii(st.value)}", 14, anchor="mt", bold=True)

    start = pool_start(out)
    single = {i for i, st in enumerate(steps) if i == 0 or start <= st.row * ow + st.col < start + STEPS[0]}
    best = poster_step(steps)
    data = sweep_animation(
        base,
        steps,
        draw,
        700,
        lambda i: 700 if i in single else 120,
        still=lambda c: draw(c, best, out.size - 1),  # the finished map, the window on its largest value
    )
    stats = pool_stats(probe, layer, neuron)
    kept = 100.0 * out.size / x.size
    slug = probe.image.slug
    alt = {
        "zh": f"动画：图像 {slug} 的 {layer} 第 {neuron} 个神经元的最大池化。"
        f"2×2 窗口以步长 2 在 {prev} 的 {h}×{w} 激活图上移动，每次写出 4 个值并保留其中最大的一个，"
        f"逐步填满 {oh}×{ow} 的输出（只保留 {kept:.0f}% 的数值），"
        f"输出取值 {fmt_ascii(out.min())} 到 {fmt_ascii(out.max())}。"
        f"动画展示的 {stats['steps']} 个窗口中有 {stats['nonzero_steps']} 个的最大值不为 0。",
        "en": f"Animation: max pooling for neuron {neuron} of {layer} on image {slug}. A 2×2 window moves "
        f"with stride 2 over the {h}×{w} map of {prev}; each step writes the 4 values and keeps the "
        f"largest, "
        f"filling in the {oh}×{ow} output ({kept:.0f}% of the values remain), values "
        f"{fmt_ascii(out.min())} to {fmt_ascii(out.max())}. {stats['nonzero_steps']} of the "
        f"{stats['steps']} windows shown have a maximum other than 0.",
    }
    cap = {
        "zh": f"最大池化：每个 2×2 窗口只保留最大值，{h}×{w} 变为 {oh}×{ow}。",
        "en": f"Max pooling: each 2×2 window keeps only its maximum; {h}×{w} becomes {oh}×{ow}.",
    }
    return Rendered(data, width, height, alt, cap, stats)
