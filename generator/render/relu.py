"""ReLU on one neuron: the conv output before and the map after max(0, x), on one shared colour
range so the surviving positive values keep their colour and the negatives turn white (0)."""

from __future__ import annotations

import numpy as np

from generator.arch import RELU_LAYERS, previous_stage
from generator.examples import relu_examples
from generator.records import FigureSpec, ProbeResult, RenderContext, Rendered
from generator.render.colors import ACTIVATION, stage_scale
from generator.render.common import (
    BAR,
    PAD,
    below_bar,
    fmt_ascii,
    layer_of,
    map_palette,
    neuron_of,
    probe_for,
    ticks,
    upscale_factor,
)
from generator.render.text import Canvas


def relu_counts(probe: ProbeResult, layer: str, neuron: int) -> tuple[int, int]:
    """(values set to zero, total values): the conv output's negative entries become 0."""
    before = probe.stages[previous_stage(layer)][neuron]
    return int(np.count_nonzero(before < 0)), int(before.size)


def relu_stats(probe: ProbeResult, layer: str, neuron: int) -> dict:
    """What the figure shows (manifest `stats`): the shares of positive values before and after ReLU
    (equal: ReLU keeps them), of values set to 0, whether both colours show (examples.relu_visible) and
    whether this is the example `neuron=auto` picks."""
    before, after = probe.stages[previous_stage(layer)][neuron], probe.stages[layer][neuron]
    chosen = relu_examples(probe.stages)["layers"][layer]
    return {
        "positive_before": float(np.count_nonzero(before > 0) / before.size),
        "positive_after": float(np.count_nonzero(after > 0) / after.size),
        "zeroed": float(np.count_nonzero(before < 0) / before.size),
        "visible": chosen["visible"][neuron],  # red and blue both show on the layer's colour range
        "example": chosen["neuron"] == neuron,
    }


def render_relu(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """conv map -> max(0, x) -> relu map, side by side, with one colour bar."""
    probe = probe_for(spec, ctx)
    layer = layer_of(spec, RELU_LAYERS)
    neuron = neuron_of(spec, len(probe.stages[layer]))
    conv = previous_stage(layer)
    before, after = probe.stages[conv][neuron], probe.stages[layer][neuron]  # (H, W) each
    _, lo, hi = stage_scale(probe.stages, conv, neuron, ctx.scale)  # the conv range covers both
    h, w = before.shape
    side = h * upscale_factor(h, 200)
    gap = 110
    width = 2 * PAD + 2 * side + gap
    top = PAD + 22
    bar_y = top + side + 12
    c = Canvas(width, below_bar(bar_y), map_palette(ACTIVATION))
    x2 = PAD + side + gap
    c.text(PAD, PAD, f"{conv} #{neuron}  {h}×{w}", 13, bold=True)
    c.text(x2, PAD, f"{layer} #{neuron}  {h}×{w}", 13, bold=True)
    c.heatmap(before, PAD, top, side, side, ACTIVATION, lo, hi)
    c.heatmap(after, x2, top, side, side, ACTIVATION, lo, hi)
    c.text(PAD + side + gap // 2, top + side // 2 - 10, "max(0, x)", 13, anchor="mm", bold=True)
    c.text(PAD + side + gap // 2, top + side // 2 + 12, "→", 22, anchor="mm", bold=True)
    c.colorbar(PAD, bar_y, width - 2 * PAD, BAR, ACTIVATION, lo, hi, ticks(lo, hi))
    zeroed, total = relu_counts(probe, layer, neuron)
    share = 100.0 * zeroed / total
    slug = probe.image.slug
    alt = {
        "zh": f"图像 {slug} 的 {conv} 第 {neuron} 个神经元输出"
        f"（左，取值 {fmt_ascii(before.min())} 到 {fmt_ascii(before.max())}）"
        f"经过 ReLU 后（右，{layer}，取值 {fmt_ascii(after.min())} 到 {fmt_ascii(after.max())}）。"
        f"{total} 个值中有 {zeroed} 个（{share:.1f}%）为负，被置为 0（白色）；正值保持不变。"
        f"两图使用同一颜色范围 ±{fmt_ascii(hi)}。",
        "en": f"The output of neuron {neuron} of {conv} for image {slug} "
        f"(left, values {fmt_ascii(before.min())} to {fmt_ascii(before.max())}) "
        f"and after ReLU (right, {layer}, values {fmt_ascii(after.min())} to {fmt_ascii(after.max())}). "
        f"{zeroed} of {total} values ({share:.1f}%) were negative and became 0 (white); "
        f"positive values are unchanged. Both use the colour range ±{fmt_ascii(hi)}.",
    }
    cap = {
        "zh": f"ReLU 把 {layer} 第 {neuron} 个神经元的 {zeroed} 个负值（{share:.1f}%）变为 0。",
        "en": f"ReLU sets {zeroed} negative values ({share:.1f}%) of neuron {neuron} in {layer} to 0.",
    }
    return Rendered(c.png(), c.width, c.height, alt, cap, relu_stats(probe, layer, neuron))
