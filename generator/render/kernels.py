"""Learned kernels: a conv layer's weights (kind "kernels"), conv_1_1's kernels over training
(kind "kernel-evolution"), and the site's logo drawn from conv_1_1's strongest kernel (kind "logo").
Kernel weights use BrBG centred at 0 everywhere."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from generator.arch import CONV_LAYERS
from generator.errors import DataError
from generator.records import FigureSpec, RenderContext, Rendered
from generator.render import colors, gif
from generator.render.common import CHANNEL_NAMES, layer_of, say
from generator.render.mpl import Blitter, figure, fmt_fixed, gap_cmap, index_frames, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

CELL = 3  # kernel size
GAP = 1  # blank cells between kernels in the mosaic
LOGO_SIZE = 256


def mosaic(weight: np.ndarray) -> np.ndarray:
    """(out_c, in_c, 3, 3) -> one image, a column per neuron and a row per input channel, kernels
    separated by NaN (drawn blank): (in_c*4-1, out_c*4-1)."""
    out_c, in_c = weight.shape[:2]
    step = CELL + GAP
    img = np.full((in_c * step - GAP, out_c * step - GAP), np.nan)
    for o in range(out_c):
        for k in range(in_c):
            img[k * step : k * step + CELL, o * step : o * step + CELL] = weight[o, k]
    return img


def _channel_names(layer: str, in_c: int, zh: bool = False) -> list[str]:
    """Row labels: R, G, B for the input; else the input channel's number ("in 3", "输入 3")."""
    if layer == CONV_LAYERS[0] and in_c == 3:
        return list(CHANNEL_NAMES)
    return [f"输入 {k}" if zh else f"in {k}" for k in range(in_c)]


def _size(weight: np.ndarray, cell: int | None = None) -> tuple[int, int, int]:
    """(width, height, pixels per kernel cell) that fit the mosaic snugly."""
    out_c, in_c = weight.shape[:2]
    cell = cell or 14
    step = CELL + GAP
    return 80 + (out_c * step - GAP) * cell + 110, 66 + (in_c * step - GAP) * cell + 54, cell


def _layout(
    fig: Figure,
    weight: np.ndarray,
    layer: str,
    lo: float,
    hi: float,
    title: str,
    cell: int,
    bottom_px: int = 40,
    spec: FigureSpec | None = None,
) -> tuple[Axes, AxesImage]:
    """Axes with the mosaic, labels and colour bar: (axes, axes image)."""
    out_c, in_c = weight.shape[:2]
    step = CELL + GAP
    rows, cols = in_c * step - GAP, out_c * step - GAP
    width, height = fig.bbox.width, fig.bbox.height
    left, bottom = 80 / width, bottom_px / height
    ax = fig.add_axes((left, bottom, cols * cell / width, rows * cell / height))
    im = ax.imshow(mosaic(weight), cmap=gap_cmap(colors.WEIGHT), vmin=lo, vmax=hi)
    ax.set_xticks([o * step + 1 for o in range(out_c)], [str(o) for o in range(out_c)], fontsize=10)
    ax.xaxis.tick_top()
    zh = spec is not None and spec.lang == "zh"
    ax.set_yticks([k * step + 1 for k in range(in_c)], _channel_names(layer, in_c, zh), fontsize=10)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("神经元（卷积核）" if zh else "neuron (filter)", fontsize=10, labelpad=4)
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("输入通道" if zh else "input channel", fontsize=10)
    fig.text(0.5, 1 - 10 / height, title, ha="center", va="top", fontsize=14)
    cax = fig.add_axes(((80 + cols * cell + 24) / width, bottom, 14 / width, rows * cell / height))
    bar = fig.colorbar(im, cax=cax)
    bar.ax.tick_params(labelsize=9, length=2)
    bar.set_label("权重" if zh else "weight", fontsize=10)
    return ax, im


def _conv_weight(ctx: RenderContext, layer: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return ctx.weights[f"{layer}.weight"], ctx.weights[f"{layer}.bias"]
    except KeyError:
        raise DataError(f"kernels figure: the weights have no {layer}.weight/.bias; retrain the model") from None


def render_kernels(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """All kernels of one conv layer (kind "kernels"), biases under their neuron."""
    layer = layer_of(spec, CONV_LAYERS)
    weight, bias = _conv_weight(ctx, layer)  # (10, in_c, 3, 3), (10,)
    out_c, in_c = weight.shape[:2]
    lo, hi = colors.symmetric(weight)
    width, height, cell = _size(weight)
    title = say(
        spec,
        f"{layer}: {out_c} neurons \u00d7 {in_c} input channels = {out_c * in_c} kernels of {CELL} \u00d7 {CELL}",
        f"{layer}：{out_c} 个神经元 \u00d7 {in_c} 个输入通道 = {out_c * in_c} 个 {CELL} \u00d7 {CELL} 卷积核",
    )
    with figure(width, height) as fig:
        ax, _ = _layout(fig, weight, layer, lo, hi, title, cell, spec=spec)
        below = in_c * (CELL + GAP) - GAP + 0.4
        ax.text(-1.2, below, say(spec, "bias", "偏置"), ha="right", va="top", fontsize=9, color="#444444")
        for o in range(out_c):  # bias of each neuron under its column
            ax.text(
                o * (CELL + GAP) + 1,
                below,
                fmt_fixed(bias[o]),
                ha="center",
                va="top",
                fontsize=9,
                color="#444444",
            )
        data, width, height = save(fig, ctx)
    norms = np.sqrt((weight.astype(np.float64) ** 2).sum(axis=(1, 2, 3)))  # (out_c,)
    strong = int(np.argmax(norms))
    alt = {
        "zh": f"{layer} 的全部卷积核：{out_c} 个神经元（列）× {in_c} 个输入通道（行），每个 {CELL}×{CELL}，"
        f"用棕-蓝绿色标表示权重（范围 ±{hi:.3f}，0 为白色）；每列下方是该神经元的偏置。"
        f"权重范数最大的是神经元 {strong}（{norms[strong]:.3f}）。",
        "en": f"All kernels of {layer}: {out_c} neurons (columns) × {in_c} input channels (rows), each "
        f"{CELL}×{CELL}, weights in brown–blue-green (range ±{hi:.3f}, 0 is white); each neuron's bias "
        f"is written under its column. Neuron {strong} has the largest weight norm ({norms[strong]:.3f}).",
    }
    caption = {
        "zh": f"{layer} 学到的 {out_c * in_c} 个 {CELL}×{CELL} 卷积核（共 {weight.size + bias.size:,} 个参数）。",
        "en": f"The {out_c * in_c} learned {CELL}×{CELL} kernels of {layer} ({weight.size + bias.size:,} parameters).",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)


def render_kernel_evolution(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """conv_1_1's kernels after every epoch, one frame each (kind "kernel-evolution")."""
    hist = ctx.history.kernels  # (epochs + 1, 10, 3, 3, 3)
    if hist.ndim != 5 or len(hist) < 1:
        raise DataError("kernel-evolution figure: the training history holds no conv_1_1 kernels; retrain")
    epochs = len(hist) - 1
    lo, hi = colors.symmetric(hist)  # one range for every frame, so colours compare across epochs
    layer = CONV_LAYERS[0]
    width, height, cell = _size(hist[0])
    height += 30  # room for the epoch label
    change = np.abs(hist[-1].astype(np.float64) - hist[0]).mean()
    with figure(width, height) as fig:
        title = say(spec, f"{layer}: epoch 0 \u2192 {epochs}", f"{layer}：训练轮次（epoch）0 \u2192 {epochs}")
        _, im = _layout(fig, hist[0], layer, lo, hi, title, cell, 60, spec=spec)
        label = fig.text(0.5, 20 / height, "", ha="center", va="center", fontsize=14)
        blit = Blitter(fig, [im, label])
        frames, durations = [], []
        for e in range(epochs + 1):
            im.set_data(mosaic(hist[e]))
            star = "  \u2605" if e == ctx.history.best_epoch else ""  # the epoch whose weights are kept
            label.set_text(say(spec, f"epoch {e} / {epochs}{star}", f"第 {e} / {epochs} 轮{star}"))
            frames.append(blit.frame([im, label]))
            durations.append(2500 if e == epochs else 1500 if e == 0 else 700)
    # The trained kernels lead the loop (then initialisation, epoch by epoch): a still shows the result.
    frames, durations = gif.poster_first(frames, durations)
    data = gif.encode_gif(*index_frames(frames), durations)
    alt = {
        "zh": f"动画：{layer} 的 30 个 3×3 卷积核在训练中的变化，共 {epochs + 1} 帧（初始化和 {epochs} 个 epoch），"
        f"所有帧使用同一色标（±{hi:.3f}）；从初始化到最后一个 epoch，权重平均变化 {change:.4f}。",
        "en": f"Animation: the 30 3×3 kernels of {layer} during training, {epochs + 1} frames (initialisation "
        f"and {epochs} epochs), one colour range for all frames (±{hi:.3f}); from initialisation to the "
        f"last epoch the weights changed by {change:.4f} on average.",
    }
    caption = {
        "zh": f"训练让随机初始化（epoch 0）的卷积核逐渐变成有用的特征检测器；共 {epochs} 个 epoch，"
        f"★ 标出权重被保留的第 {ctx.history.best_epoch} 个。",
        "en": f"Training turns randomly initialised kernels (epoch 0) into useful feature detectors; "
        f"{epochs} epochs, ★ marks epoch {ctx.history.best_epoch}, whose weights are kept.",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)


def strongest_kernel(weight: np.ndarray) -> tuple[int, int]:
    """(neuron, input channel) of the 3x3 kernel with the largest L2 norm."""
    norms = np.sqrt((weight.astype(np.float64) ** 2).sum(axis=(2, 3)))  # (out_c, in_c)
    o, k = np.unravel_index(int(np.argmax(norms)), norms.shape)
    return int(o), int(k)


def render_logo(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """A square logo (kind "logo"): conv_1_1's strongest kernel as 3x3 rounded tiles, BrBG, no text.
    Transparent background so it sits on light and dark headers alike."""
    weight, _ = _conv_weight(ctx, CONV_LAYERS[0])
    o, k = strongest_kernel(weight)
    kernel = weight[o, k]  # (3, 3)
    lo, hi = colors.symmetric(kernel)
    rgb = colors.apply(kernel, lo, hi, colors.lut(colors.WEIGHT, 255))  # (3, 3, 3)
    scale = 4  # drawn 4x larger then reduced: smooth rounded corners
    size = LOGO_SIZE * scale
    pad, gap = 10 * scale, 12 * scale
    tile = (size - 2 * pad - 2 * gap) // 3
    im = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(im)
    for y in range(3):
        for x in range(3):
            x0, y0 = pad + x * (tile + gap), pad + y * (tile + gap)
            fill = tuple(int(c) for c in rgb[y, x])
            edge = tuple(int(c * 0.8) for c in rgb[y, x])  # a darker rim keeps near-white tiles visible
            draw.rounded_rectangle(
                (x0, y0, x0 + tile, y0 + tile),
                radius=tile // 5,
                fill=(*fill, 255),
                outline=(*edge, 255),
                width=3 * scale,
            )
    im = im.resize((LOGO_SIZE, LOGO_SIZE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=9)  # fresh image: no metadata chunks
    values = ", ".join(fmt_fixed(v) for v in kernel.reshape(-1))
    channel = _channel_names(CONV_LAYERS[0], weight.shape[1])[k]
    alt = {
        "zh": f"标志：{CONV_LAYERS[0]} 中权重范数最大的 3×3 卷积核（神经元 {o}，{channel} 通道），"
        f"棕-蓝绿色表示权重：{values}。",
        "en": f"Logo: the 3×3 kernel of {CONV_LAYERS[0]} with the largest weight norm (neuron {o}, channel "
        f"{channel}) in brown–blue-green: {values}.",
    }
    caption = {
        "zh": f"由训练得到的 {CONV_LAYERS[0]} 神经元 {o} 的 {channel} 通道卷积核绘制。",
        "en": f"Drawn from the trained kernel of {CONV_LAYERS[0]} neuron {o}, channel {channel}.",
    }
    return Rendered(data=buf.getvalue(), width=LOGO_SIZE, height=LOGO_SIZE, alt=alt, caption=caption)
