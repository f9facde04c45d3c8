"""Softmax (the article's Figure 4): one image's logits -> exponentials -> sum -> probabilities,
animated class by class, with the formula written with the real numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from matplotlib.patches import FancyBboxPatch, Rectangle

from generator.errors import DataError
from generator.names import zh_label
from generator.records import FigureSpec, RenderContext, Rendered
from generator.render import colors, gif
from generator.render.common import class_names, probe_for, say
from generator.render.mpl import (
    ON_DATA,
    VECTOR_FORMATS,
    Blitter,
    escape_text,
    figure,
    fmt_fixed,
    fmt_sig,
    index_frames,
    vector,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH, HEIGHT = 860, 600
MAX_PLAIN_LOGIT = 80.0  # e^80 ~ 5.5e34 still prints; beyond, exponentials are shown shifted by max(z)
BAR_COLOR = "#8c8c8c"


@dataclass(frozen=True)
class SoftmaxNumbers:
    """Every number the figure shows, in float64. probs = exps / total."""

    logits: np.ndarray  # (C,)
    shift: float  # subtracted from every logit before exp (0 unless the logits are huge)
    exps: np.ndarray  # (C,) e^(z - shift)
    total: float  # sum of exps
    probs: np.ndarray  # (C,)


def softmax_numbers(logits: np.ndarray) -> SoftmaxNumbers:
    """Softmax step by step. The shift changes no probability; it only keeps e^z finite."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)  # (C,)
    if z.size == 0 or not np.all(np.isfinite(z)):
        raise DataError("softmax figure: the model's logits are empty or not finite; retrain the model")
    shift = float(z.max()) if z.max() > MAX_PLAIN_LOGIT else 0.0
    exps = np.exp(z - shift)
    total = float(exps.sum())
    return SoftmaxNumbers(logits=z, shift=shift, exps=exps, total=total, probs=exps / total)


def _exp_label(n: SoftmaxNumbers) -> str:
    """Column header; mathtext strings are parsed once per process, then cached by matplotlib."""
    return "$e^{z}$" if n.shift == 0 else f"$e^{{z - {n.shift:.2f}}}$"


def _sum_label(n: SoftmaxNumbers) -> str:
    return r"$\Sigma_j\, e^{z_j}$" if n.shift == 0 else f"$\\Sigma_j\\, e^{{z_j - {n.shift:.2f}}}$"


def _percent(p: float) -> str:
    """'62.8 %'; a tiny non-zero probability is not printed as a flat '0.0 %'."""
    return "< 0.1 %" if 0 < p < 0.0005 else f"{100 * p:.1f} %"


def short(name: str, limit: int = 18) -> str:
    """Class names from a user's folder can be long: keep figure columns aligned."""
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


class _Formula:
    """'p(class) = e^z / Σ e^z = a / S = p' laid out by hand from plain-text pieces, so a new class
    only changes four strings (no mathtext parse per frame)."""

    def __init__(self, ax: Axes, n: SoftmaxNumbers, y: float) -> None:
        x0 = 290  # widths fit the longest numbers, e.g. '2.381×10⁻¹⁵' over '6.912×10⁸'
        kw: dict[str, Any] = {"va": "center", "fontsize": 15}
        self.name = ax.text(x0, y, "", ha="right", **kw)
        self.e = ax.text(x0 + 50, y - 14, "e", ha="right", **kw)
        self.z = ax.text(x0 + 51, y - 22, "", ha="left", va="center", fontsize=10)
        self.parts = [
            ax.plot([x0 + 8, x0 + 102], [y, y], color="#222222", lw=1.1)[0],
            ax.text(x0 + 55, y + 17, _sum_label(n), ha="center", **{**kw, "fontsize": 13}),
            ax.text(x0 + 118, y, "=", ha="center", **kw),
            ax.plot([x0 + 134, x0 + 276], [y, y], color="#222222", lw=1.1)[0],
            ax.text(x0 + 205, y + 16, fmt_sig(n.total), ha="center", **kw),
            ax.text(x0 + 292, y, "=", ha="center", **kw),
        ]
        self.exp = ax.text(x0 + 205, y - 15, "", ha="center", **kw)
        self.p = ax.text(x0 + 308, y, "", ha="left", fontweight="bold", **kw)
        self.n = n

    def artists(self) -> list:
        return [self.name, self.e, self.z, *self.parts, self.exp, self.p]

    def show(self, i: int, name: str) -> list:
        self.name.set_text(f"p({name}) =")
        self.z.set_text(fmt_fixed(self.n.logits[i] - self.n.shift))
        self.exp.set_text(fmt_sig(float(self.n.exps[i])))
        self.p.set_text(f"{self.n.probs[i]:.4f}")
        return self.artists()


def _draw(ctx: RenderContext, n: SoftmaxNumbers, pred: int, spec: FigureSpec) -> bytes:
    """The animation as a GIF, or (ctx.output svg or pdf) its last frame as a vector still."""
    classes = [escape_text(short(c)) for c in class_names(spec, ctx)]
    count = len(classes)
    lo, hi = colors.span(n.logits)
    table = colors.lut(colors.LOGIT)
    with figure(WIDTH, HEIGHT) as fig:
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.axis("off")
        top = 112
        row_h = min(32.0, 320.0 / count)
        ys = [top + row_h * (i + 0.5) for i in range(count)]
        bottom = top + row_h * count
        x_name, x_logit, x_exp, x_div, x_bar, bar_w = 150, 205, 330, 435, 525, 230

        ax.text(
            WIDTH / 2,
            34,
            r"softmax:  $p_i = \frac{e^{z_i}}{\Sigma_j\, e^{z_j}}$",
            ha="center",
            va="center",
            fontsize=18,
        )
        head: dict[str, Any] = {"fontsize": 11, "color": "#555555", "ha": "center", "va": "center"}
        ax.text(x_logit, top - 18, "logit z", **head)
        ax.text(x_exp, top - 18, _exp_label(n), **{**head, "fontsize": 13})
        ax.text(x_div, top - 18, r"$\div\ \Sigma_j\, e^{z_j}$", **head)
        ax.text(x_bar + bar_w / 2, top - 18, "p", **{**head, "fontsize": 13})
        for p in (0.0, 0.5, 1.0):  # the bars' scale: 0 to 1
            ax.plot([x_bar + bar_w * p] * 2, [top, bottom], color="#d0d0d0", lw=0.8)
            ax.text(x_bar + bar_w * p, bottom + 10, f"{p:g}", ha="center", va="center", fontsize=10, color="#777777")
        for i, y in enumerate(ys):
            weight = "bold" if i == pred else "normal"
            ax.text(x_name, y, classes[i], ha="right", va="center", fontsize=11, fontweight=weight)
            level = int(colors.normalise_index(n.logits[i], lo, hi, len(table)))
            ax.add_patch(
                Rectangle(
                    (x_logit - 42, y - row_h / 2 + 1.5), 84, row_h - 3, color=table[level] / 255.0, lw=0, gid=ON_DATA
                )
            )
            ink = "white" if level > len(table) * 0.55 else "#222222"
            ax.text(x_logit, y, fmt_fixed(n.logits[i]), ha="center", va="center", fontsize=11, color=ink, gid=ON_DATA)

        # Colour bar of the logit scale (Oranges over this image's min..max logit).
        cb_y = bottom + 14
        ax.imshow(table[None], extent=(x_logit - 60, x_logit + 60, cb_y + 9, cb_y), aspect="auto")
        ax.text(x_logit - 64, cb_y + 4.5, fmt_fixed(lo), ha="right", va="center", fontsize=10)
        ax.text(x_logit + 64, cb_y + 4.5, fmt_fixed(hi), ha="left", va="center", fontsize=10)
        ax.set_xlim(0, WIDTH)
        ax.set_ylim(HEIGHT, 0)  # pixel coordinates, y down: the layout reads like the picture

        # Animated artists.
        exp_txt = [
            ax.text(x_exp, y, fmt_sig(float(e)), ha="center", va="center", fontsize=11)
            for e, y in zip(n.exps, ys, strict=True)
        ]
        div_txt = [
            ax.text(x_div, y, "/ " + fmt_sig(n.total), ha="center", va="center", fontsize=10, color="#666666")
            for y in ys
        ]
        orange = table[190] / 255.0
        bars = [
            ax.add_patch(
                Rectangle(
                    (x_bar, y - row_h / 2 + 4), bar_w * p, row_h - 8, lw=0, color=orange if i == pred else BAR_COLOR
                )
            )
            for i, (p, y) in enumerate(zip(n.probs, ys, strict=True))
        ]
        prob_txt = [
            ax.text(
                x_bar + bar_w * p + 6,
                y,
                _percent(p),
                ha="left",
                va="center",
                fontsize=10,
                fontweight="bold" if i == pred else "normal",
            )
            for i, (p, y) in enumerate(zip(n.probs, ys, strict=True))
        ]
        focus = cast(
            FancyBboxPatch,
            ax.add_patch(
                FancyBboxPatch(
                    (18, 0),
                    WIDTH - 36,
                    row_h,
                    lw=2.2,
                    fill=False,
                    boxstyle="round,pad=0,rounding_size=6",
                    ec=np.array(colors.ACCENT) / 255,
                )
            ),
        )
        sum_lbl = ax.text(x_exp + 40, bottom + 34, _sum_label(n), ha="right", va="center", fontsize=13)
        sum_txt = ax.text(x_exp + 44, bottom + 34, "= " + fmt_sig(n.total), ha="left", va="center", fontsize=12)
        pred_txt = ax.text(
            x_bar + bar_w / 2,
            bottom + 34,
            f"\u2192 {classes[pred]} ({100 * n.probs[pred]:.1f} %)",
            ha="center",
            va="center",
            fontsize=12,
            fontweight="bold",
        )
        note = ax.text(WIDTH / 2, HEIGHT - 48, "", ha="center", va="center", fontsize=14, color="#444444")
        formula = _Formula(ax, n, HEIGHT - 48)
        animated = [*exp_txt, *div_txt, *bars, *prob_txt, focus, sum_lbl, sum_txt, pred_txt, note, *formula.artists()]
        if ctx.output in VECTOR_FORMATS:  # the last frame, every artist drawn once
            focus.set_y(ys[pred] - row_h / 2)
            formula.show(pred, classes[pred])
            note.set_visible(False)
            return vector(fig, ctx.output)
        blit = Blitter(fig, animated)

        frames, durations = [], []
        # 1: the logits alone; 2: their exponentials and their sum.
        note.set_text(say(spec, "z = output (logits)", "z = output 层的 logit"))
        frames.append(blit.frame([note]))
        durations.append(1500)
        blit.commit([*exp_txt, sum_lbl, sum_txt])  # stay for the rest of the animation
        note.set_text(r"$e^{z} > 0$")
        frames.append(blit.frame([note]))
        durations.append(1500)
        # One frame per class: its division, its bar, the formula with its numbers.
        for i in range(count):
            blit.commit([div_txt[i], bars[i], prob_txt[i]])
            focus.set_y(ys[i] - row_h / 2)
            frames.append(blit.frame([focus, *formula.show(i, classes[i])]))
            durations.append(1000)
        # Last: the prediction marked, held longer.
        focus.set_y(ys[pred] - row_h / 2)
        frames.append(blit.frame([focus, pred_txt, *formula.show(pred, classes[pred])]))
        durations.append(3000)
    # The finished table leads the loop: a still (print, preview, reduced motion) shows every probability.
    frames, durations = gif.poster_first(frames, durations)
    return gif.encode_gif(*index_frames(frames), durations)


def render_softmax(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """The softmax animation of one image (kind "softmax")."""
    probe = probe_for(spec, ctx)
    n = softmax_numbers(probe.stages["output"])
    if len(n.logits) != len(ctx.classes):
        raise DataError(f"softmax figure: {len(n.logits)} logits but {len(ctx.classes)} class names")
    pred = int(np.argmax(n.logits))
    data = _draw(ctx, n, pred, spec)
    name, p = ctx.classes[pred], n.probs[pred]
    top = ", ".join(f"{ctx.classes[i]} {n.logits[i]:.2f}" for i in np.argsort(-n.logits)[:3])
    top_zh = "，".join(f"{zh_label(ctx.classes[i])} {n.logits[i]:.2f}" for i in np.argsort(-n.logits)[:3])
    alt = {
        "zh": f"softmax 动画：图像 {probe.image.slug} 的 {len(n.logits)} 个 logit（最大的三个：{top_zh}）"
        f"取指数、求和（Σ = {fmt_sig(n.total)}）、逐类相除，得到概率；"
        f"预测为 {zh_label(name)}，概率 {100 * p:.1f}%。",
        "en": f"Softmax animation: the {len(n.logits)} logits of image {probe.image.slug} (largest three: {top}) "
        f"are exponentiated, summed (Σ = {fmt_sig(n.total)}) and divided class by class into "
        f"probabilities; the prediction is {name} with probability {100 * p:.1f} %.",
    }
    e_i = f"e^{n.logits[pred]:.2f}" if n.shift == 0 else f"e^({n.logits[pred]:.2f} − {n.shift:.2f})"
    step = f"{e_i} = {fmt_sig(float(n.exps[pred]))}，{fmt_sig(float(n.exps[pred]))} ÷ {fmt_sig(n.total)} = {p:.3f}"
    caption = {
        "zh": f"softmax 把 logit 变成总和为 1 的概率：{zh_label(name)} 的 logit 最大（{n.logits[pred]:.2f}），{step}。",
        "en": f"Softmax turns logits into probabilities that sum to 1: {name} has the largest logit, "
        f"{n.logits[pred]:.2f}; {step.replace('，', ', ')}.",
    }
    label = probe.image.label
    stats = {
        "predicted": name,
        "confidence": float(p),
        "label": None if label is None else ctx.classes[label],
        "correct": None if label is None else label == pred,
    }
    return Rendered(data=data, width=WIDTH, height=HEIGHT, alt=alt, caption=caption, stats=stats)
