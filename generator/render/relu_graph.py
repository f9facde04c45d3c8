"""The ReLU function graphed (the article's Figure 3): max(0, x), computed on a grid."""

from __future__ import annotations

import numpy as np

from generator.records import FigureSpec, RenderContext, Rendered
from generator.render.mpl import figure, save

WIDTH, HEIGHT = 640, 480
X_RANGE = 4.0


def relu(x: np.ndarray) -> np.ndarray:
    """The function itself, as relu_1_1 etc. apply it: negative inputs become 0."""
    return np.maximum(x, 0.0)


def render_relu_graph(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """ReLU's graph with axes (kind "relu-graph"); independent of the model's numbers."""
    x = np.linspace(-X_RANGE, X_RANGE, 801)  # includes 0 exactly: the kink is drawn sharp
    y = relu(x)
    with figure(WIDTH, HEIGHT) as fig:
        ax = fig.add_axes((0.12, 0.12, 0.82, 0.78))
        ax.axvspan(-X_RANGE, 0, color="#f4f4f4", lw=0)  # the half that ReLU discards
        ax.axhline(0, color="#888888", lw=0.8)
        ax.axvline(0, color="#888888", lw=0.8)
        ax.plot(x, y, color="#2166ac", lw=2.6)
        ax.set_xlim(-X_RANGE, X_RANGE)
        ax.set_ylim(-1.0, X_RANGE)
        ax.set_xlabel("x", fontsize=13)
        ax.set_ylabel("ReLU(x)", fontsize=13)
        ax.set_title("ReLU(x) = max(0, x)", fontsize=16, pad=10)
        ax.grid(True, color="#e0e0e0", lw=0.6)
        ax.set_axisbelow(True)
        ax.text(-X_RANGE / 2, 0.35, "x < 0  \u2192  0", ha="center", fontsize=12, color="#555555")
        ax.text(X_RANGE / 2 + 0.3, X_RANGE / 2 - 0.6, "x \u2265 0  \u2192  x", ha="left", fontsize=12, color="#2166ac")
        data, width, height = save(fig, ctx)
    alt = {
        "zh": f"ReLU 函数图像：横轴 x 从 −{X_RANGE:g} 到 {X_RANGE:g}；x 小于 0 时输出 0（水平线），"
        "x 大于等于 0 时输出等于 x（斜率为 1 的直线）。",
        "en": f"Graph of the ReLU function for x from −{X_RANGE:g} to {X_RANGE:g}: the output is 0 for "
        "negative x (a flat line) and equal to x for x ≥ 0 (a line of slope 1).",
    }
    caption = {
        "zh": "ReLU(x) = max(0, x)：负数变为 0，正数原样通过。",
        "en": "ReLU(x) = max(0, x): negative values become 0, positive values pass unchanged.",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)
