"""Flatten: max_pool_2's ten 13x13 maps unrolled (channel-major, as TinyVGG flattens) into the
1,690-vector, and how the predicted class's logit is formed from it: vector x, the class's dense
weights w, their products x*w, and z = sum(x*w) + b with the real numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from generator.errors import DataError
from generator.names import zh_label
from generator.records import FigureSpec, ProbeResult, RenderContext, Rendered
from generator.render import colors
from generator.render.common import class_names, fmt_ascii, probe_for
from generator.render.mpl import escape_text, figure, fmt_fixed, gap_cmap, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT = 760, 960  # tall enough for a 9 pt per-channel sum beside each of a strip's 10 rows
PRODUCT = "PiYG"  # x*w: its own diverging scale, distinct from activations (RdBu) and weights (BrBG)


@dataclass(frozen=True)
class FlattenNumbers:
    """What the figure shows. Row c of every (10, 169) array is channel c: index = c*169 + 13*y + x."""

    pred: int
    maps: np.ndarray  # (10, 13, 13) max_pool_2 output
    vector: np.ndarray  # (1690,) flatten, channel-major
    weights: np.ndarray  # (1690,) output.weight[pred]
    products: np.ndarray  # (1690,) vector * weights (float64)
    bias: float
    dot: float  # sum of products (float64)
    logit: float  # dot + bias


def flatten_numbers(probe: ProbeResult, weights: dict[str, np.ndarray]) -> FlattenNumbers:
    """The predicted class's logit rebuilt from max_pool_2 and the dense layer."""
    maps = probe.stages["max_pool_2"]  # (10, 13, 13)
    vector = maps.reshape(-1)  # C order = channel-major, exactly nn.Flatten on (N, C, H, W)
    pred = probe.predicted
    w = weights["output.weight"]  # (classes, 1690)
    if w.shape[1] != vector.size:
        raise DataError(
            f"flatten figure: output.weight has {w.shape[1]} inputs, max_pool_2 gives "
            f"{vector.size}; the weights do not belong to this model, retrain it"
        )
    products = vector.astype(np.float64) * w[pred].astype(np.float64)
    bias = float(weights["output.bias"][pred])
    dot = float(products.sum())
    return FlattenNumbers(
        pred=pred, maps=maps, vector=vector, weights=w[pred], products=products, bias=bias, dot=dot, logit=dot + bias
    )


def _strip(
    ax: Axes,
    values: np.ndarray,
    cmap: str,
    lo: float,
    hi: float,
    label: str,
    fig: Figure,
    cax_rect: tuple[float, float, float, float],
) -> None:
    """One (10, 169) strip: a channel per row, with its own colour bar."""
    im = ax.imshow(
        values.reshape(10, -1), cmap=cmap, vmin=lo, vmax=hi, aspect="auto", extent=(0, values.size // 10, 10, 0)
    )
    ax.set_yticks(np.arange(0, 10, 2) + 0.5, [f"{c * 169}\u2013{c * 169 + 168}" for c in range(0, 10, 2)], fontsize=9)
    offsets = [0, 13 * 4, 13 * 8, 168]  # cell centres: offset of the value inside its row
    ax.set_xticks([o + 0.5 for o in offsets], [f"+{o}" for o in offsets], fontsize=9)
    ax.tick_params(length=2, pad=2)
    ax.set_title(label, loc="left", fontsize=11, pad=4)
    cax = fig.add_axes(cax_rect)
    bar = fig.colorbar(im, cax=cax)
    bar.ax.tick_params(labelsize=9, length=2)


def _draw(n: FlattenNumbers, cls: str, scale: tuple[float, float], ctx: RenderContext) -> tuple[bytes, int, int]:
    lo, hi = scale
    with figure(WIDTH, HEIGHT) as fig:
        fig.text(
            0.5,
            0.975,
            f"max_pool_2 (10 \u00d7 13 \u00d7 13) \u2192 flatten (1,690) \u2192 output: z({escape_text(cls)})",
            ha="center",
            va="top",
            fontsize=14,
        )
        # The ten maps side by side (one image: NaN gaps stay white).
        gap = 3
        mosaic = np.full((13, 10 * 13 + 9 * gap), np.nan)
        for c in range(10):
            mosaic[:, c * (13 + gap) : c * (13 + gap) + 13] = n.maps[c]
        ax = fig.add_axes((0.09, 0.79, 0.82, 0.13))
        ax.imshow(mosaic, cmap=gap_cmap(colors.ACTIVATION), vmin=lo, vmax=hi, aspect="equal")
        ax.set_xticks([c * (13 + gap) + 6 for c in range(10)], [f"c = {c}" for c in range(10)], fontsize=9)
        ax.set_yticks([])
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        fig.text(0.09, 0.765, "index = c \u00b7 169 + 13 \u00b7 y + x", fontsize=9, color="#555555", va="top")

        x0, w, h = 0.12, 0.70, 0.13
        bar_rect = (0.9, 0, 0.012, h)
        rows = [
            (0.575, n.vector, colors.ACTIVATION, (lo, hi), "x = flatten(max_pool_2)  (1,690)"),
            (
                0.375,
                n.weights,
                colors.WEIGHT,
                colors.symmetric(n.weights),
                f"w = output.weight[{escape_text(cls)}]  (1,690)",
            ),
            (0.175, n.products, PRODUCT, colors.symmetric(n.products), "x \u00b7 w"),
        ]
        for y, values, cmap, (vlo, vhi), label in rows:
            ax = fig.add_axes((x0, y, w, h))
            _strip(ax, values, cmap, vlo, vhi, label, fig, (bar_rect[0], y, bar_rect[2], h))
        # Per-channel sums of the products, right of their row: where the logit comes from.
        sums = n.products.reshape(10, -1).sum(axis=1)
        for c, s in enumerate(sums):
            fig.text(
                0.83,
                0.175 + h * (1 - (c + 0.5) / 10),
                fmt_ascii(s),
                fontsize=9,
                va="center",
                color="#1b7837" if s > 0 else "#c51b7d" if s < 0 else "#555555",
            )
        fig.text(0.83, 0.175 + h + 0.012, "\u03a3", fontsize=9, color="#555555")
        sign = "\u2212" if n.bias < 0 else "+"
        fig.text(
            0.5,
            0.075,
            f"z({escape_text(cls)}) = \u03a3 x\u1d62 \u00b7 w\u1d62 + b = "
            f"{fmt_fixed(n.dot, 3)} {sign} {fmt_fixed(abs(n.bias), 3)} = {fmt_fixed(n.logit, 3)}",
            ha="center",
            va="center",
            fontsize=16,
        )
        return save(fig, ctx)


def render_flatten(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """The flatten figure of one image (kind "flatten")."""
    probe = probe_for(spec, ctx)
    n = flatten_numbers(probe, ctx.weights)
    cls = ctx.classes[n.pred]
    # The maps' colour range: max_pool_2's layer range for this image, as the activation figures use.
    _, lo, hi = colors.stage_scale(probe.stages, "max_pool_2", None, "layer")
    data, width, height = _draw(n, class_names(spec, ctx)[n.pred], (lo, hi), ctx)
    pos = int((n.products > 0).sum())
    alt = {
        "zh": f"展平示意：图像 {probe.image.slug} 在 max_pool_2 的 10 张 13×13 特征图按通道依次展开成 1,690 个数，"
        f"与类别 {zh_label(cls)} 的 1,690 个权重逐个相乘（{pos} 个乘积为正），乘积之和 {n.dot:.3f} 加偏置 "
        f"{n.bias:.3f} 得到 logit {n.logit:.3f}。",
        "en": f"Flatten: image {probe.image.slug}'s ten 13×13 max_pool_2 maps unrolled channel by channel into "
        f"1,690 values, multiplied one by one with the 1,690 weights of class {cls} ({pos} products "
        f"are positive); their sum {n.dot:.3f} plus the bias {n.bias:.3f} gives the logit {n.logit:.3f}.",
    }
    caption = {
        "zh": f"展平层不改变任何数值，只把三维的特征图排成一维向量；输出层再用它算出每个类别的 logit。"
        f"{zh_label(cls)}：{n.dot:.3f} + ({n.bias:.3f}) = {n.logit:.3f}。",
        "en": f"The flatten layer changes no value; it lays the 3-D maps out as one vector, from which the "
        f"output layer computes each class's logit. {cls}: {n.dot:.3f} + ({n.bias:.3f}) = {n.logit:.3f}.",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)
