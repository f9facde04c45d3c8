"""Hyperparameter animations (kind "hyperparameter"): padding, kernel size and stride on a small
input. Independent of the trained model, but still computed: the output cells are the real
convolution (cross-correlation, as PyTorch's conv2d) of the input and kernel shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from matplotlib.patches import Rectangle

from generator.catalog import HYPERS
from generator.errors import ConfigError, FigureSpecError
from generator.records import FigureSpec, RenderContext, Rendered
from generator.render import colors, gif
from generator.render.common import light_text
from generator.render.mpl import ON_DATA, Blitter, figure, fmt_fixed, index_frames

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CELL = 30  # pixels per grid cell
STEP_MS, HOLD_MS = 140, 1800
INVALID = "#d62728"
ACCENT = np.array(colors.ACCENT) / 255


@dataclass(frozen=True)
class Setting:
    w: int  # input width (square)
    k: int  # kernel size
    p: int  # padding
    s: int  # stride


# Each animation varies one hyperparameter; the other values are fixed and small enough to read.
# Padding uses a 4 x 4 input: 2 x 2, 4 x 4 ("same") and 6 x 6 outputs, 56 kernel positions (5 x 5 made 83
# and a 210 KiB GIF; every GIF of the site stays within 150 KiB).
SETTINGS: dict[str, list[Setting]] = {
    "padding": [Setting(4, 3, p, 1) for p in (0, 1, 2)],
    "kernel-size": [Setting(5, k, 0, 1) for k in (2, 3, 4, 5)],
    "stride": [Setting(7, 3, 0, s) for s in (1, 2, 3)],
}
SYMBOL = {"padding": "P", "kernel-size": "K", "stride": "S"}


def output_size(w: int, k: int, p: int, s: int) -> int | None:
    """(W - K + 2P) / S + 1, or None when the kernel does not fit a whole number of steps."""
    if w < 1 or k < 1 or p < 0 or s < 1:
        raise ConfigError(f"output size: need W, K, S >= 1 and P >= 0, got W={w} K={k} P={p} S={s}")
    span = w - k + 2 * p
    if span < 0 or span % s:
        return None
    return span // s + 1


def sample_input(w: int) -> np.ndarray:
    """A fixed small-integer input (w, w), 0..4: diagonal stripes, not noise."""
    i, j = np.mgrid[0:w, 0:w]
    return (2 * i + 3 * j) % 5


def sample_kernel(k: int) -> np.ndarray:
    """A fixed kernel (k, k): +1 on the diagonal, -1 on the anti-diagonal (a diagonal-edge detector)."""
    i, j = np.mgrid[0:k, 0:k]
    return np.where(i == j, 1, np.where(i + j == k - 1, -1, 0))


def convolve(x: np.ndarray, kernel: np.ndarray, p: int, s: int) -> np.ndarray:
    """Cross-correlation with zero padding p and stride s, like torch.nn.functional.conv2d:
    (w, w), (k, k) -> (o, o) with o = floor((w - k + 2p) / s) + 1 (leftover cells are ignored)."""
    padded = np.pad(x, p)
    k = kernel.shape[0]
    o = (padded.shape[0] - k) // s + 1
    out = np.zeros((o, o), dtype=np.int64)
    for r in range(o):
        for c in range(o):
            out[r, c] = int((padded[r * s : r * s + k, c * s : c * s + k] * kernel).sum())
    return out


def _cells(
    ax: Axes, x0: float, y0: float, values: np.ndarray, rgb: np.ndarray, ink: str = "#222222", animated: bool = False
) -> list[list]:
    """A grid of coloured squares with their numbers; returns [patch, text] per cell (row-major)."""
    out = []
    longest = max(len(fmt_fixed(v, 0)) for v in values.reshape(-1))
    size = {1: 13, 2: 11}.get(longest, 10)  # "−12" must fit a cell
    light = light_text(rgb, 110)
    for r in range(values.shape[0]):
        for c in range(values.shape[1]):
            patch = ax.add_patch(
                Rectangle(
                    (x0 + c * CELL, y0 + r * CELL),
                    CELL,
                    CELL,
                    facecolor=rgb[r, c] / 255,
                    edgecolor="#bbbbbb",
                    lw=0.8,
                    animated=animated,
                    gid=ON_DATA,
                )
            )
            text = ax.text(
                x0 + (c + 0.5) * CELL,
                y0 + (r + 0.5) * CELL,
                fmt_fixed(values[r, c], 0),
                ha="center",
                va="center",
                fontsize=size,
                color="white" if light[r, c] else ink,
                animated=animated,
                gid=ON_DATA,
            )
            out.append([patch, text])
    return out


def _formula(st: Setting) -> tuple[str, bool]:
    """The output-size formula with the numbers, and whether it is valid."""
    o = output_size(st.w, st.k, st.p, st.s)
    head = f"(W \u2212 K + 2P) / S + 1 = ({st.w} \u2212 {st.k} + 2\u00b7{st.p}) / {st.s} + 1 = "
    if o is None:
        value = (st.w - st.k + 2 * st.p) / st.s + 1
        return head + f"{value:.2f}  \u2209 \u2124  \u2717", False
    return head + str(o), True


def _overflow(st: Setting) -> int:
    """Cells by which the first stride that does not fit sticks out of the padded input (0 if valid)."""
    n = st.w + 2 * st.p
    return 0 if output_size(st.w, st.k, st.p, st.s) else ((n - st.k) // st.s + 1) * st.s + st.k - n


def _frames_for(
    st: Setting,
    hyper: str,
    width: int,
    height: int,
    pad_max: int,
    gap: int,
) -> tuple[list[np.ndarray], list[int]]:
    """One setting: the kernel sweeping the padded input while the output fills in."""
    x, kernel = sample_input(st.w), sample_kernel(st.k)
    padded = np.pad(x, st.p)
    n = padded.shape[0]
    out = convolve(x, kernel, st.p, st.s)
    valid = output_size(st.w, st.k, st.p, st.s) is not None
    o_lo, o_hi = colors.symmetric(out) if valid else (-1.0, 1.0)
    greys = colors.lut(colors.DENSE)
    in_rgb = greys[np.clip(padded * 20, 0, 255)]  # light greys: the numbers stay readable
    in_rgb[: st.p], in_rgb[n - st.p :], in_rgb[:, : st.p], in_rgb[:, n - st.p :] = 255, 255, 255, 255
    k_rgb = colors.apply(kernel, -1.5, 1.5, colors.lut(colors.WEIGHT))

    with figure(width, height) as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.axis("off")
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)  # pixel coordinates, y down
        top = 78
        in_x = 40 + (pad_max - n) * CELL / 2
        k_x = 40 + pad_max * CELL + gap
        k_y = top + (pad_max * CELL - st.k * CELL) / 2
        o_x = k_x + 5 * CELL + 80
        sym = SYMBOL[hyper]
        value = {"P": st.p, "K": st.k, "S": st.s}[sym]
        ax.text(width / 2, 30, f"{sym} = {value}", ha="center", va="center", fontsize=20, fontweight="bold")
        others = ", ".join(
            f"{name} = {v}" for name, v in (("W", st.w), ("K", st.k), ("P", st.p), ("S", st.s)) if name != sym
        )
        ax.text(width / 2, 56, others, ha="center", va="center", fontsize=12, color="#666666")

        cells = _cells(ax, in_x, top, padded, in_rgb)
        for r in range(n):  # padding: zeros that are not part of the image
            for c in range(n):
                if min(r, c) < st.p or max(r, c) >= n - st.p:
                    cells[r * n + c][0].set(edgecolor="#cccccc", linestyle=(0, (2, 2)))
                    cells[r * n + c][1].set(color="#aaaaaa", fontsize=11)
        ax.text(
            in_x + n * CELL / 2,
            top + n * CELL + 18,
            f"{st.w} \u00d7 {st.w}" + (f" + P = {st.p}" if st.p else ""),
            ha="center",
            va="center",
            fontsize=11,
            color="#444444",
        )
        _cells(ax, k_x, k_y, kernel, k_rgb)
        ax.text(k_x - 40, top + pad_max * CELL / 2, "\u2217", ha="center", va="center", fontsize=26)
        ax.text(
            k_x + st.k * CELL / 2,
            k_y + st.k * CELL + 18,
            f"{st.k} \u00d7 {st.k}",
            ha="center",
            va="center",
            fontsize=11,
            color="#444444",
        )
        ax.text(o_x - 40, top + pad_max * CELL / 2, "=", ha="center", va="center", fontsize=26)
        text, ok = _formula(st)
        ax.text(
            width / 2,
            height - 30,
            text,
            ha="center",
            va="center",
            fontsize=15,
            color="#222222" if ok else INVALID,
            fontweight="normal" if ok else "bold",
        )

        o = out.shape[0]
        o_y = top + (pad_max * CELL - o * CELL) / 2
        window = cast(Rectangle, ax.add_patch(Rectangle((0, 0), st.k * CELL, st.k * CELL, fill=False, lw=3, ec=ACCENT)))
        focus = cast(Rectangle, ax.add_patch(Rectangle((0, 0), CELL, CELL, fill=False, lw=3, ec=ACCENT)))
        out_cells: list[list] = []
        if valid:
            o_rgb = colors.apply(out, o_lo, o_hi, colors.lut(colors.ACTIVATION))
            out_cells = _cells(ax, o_x, o_y, out, o_rgb)
            ax.text(
                o_x + o * CELL / 2,
                o_y + o * CELL + 18,
                f"{o} \u00d7 {o}",
                ha="center",
                va="center",
                fontsize=11,
                color="#444444",
            )
            for r in range(o):  # empty slots, filled as the kernel moves
                for c in range(o):
                    ax.add_patch(
                        Rectangle(
                            (o_x + c * CELL, o_y + r * CELL),
                            CELL,
                            CELL,
                            fill=False,
                            ec="#cccccc",
                            lw=0.8,
                            linestyle=(0, (2, 2)),
                        )
                    )
        else:
            ax.text(
                o_x + 2.5 * CELL,
                top + pad_max * CELL / 2,
                "\u2717",
                ha="center",
                va="center",
                fontsize=60,
                color=INVALID,
            )
        for cell in out_cells:
            for artist in cell:
                artist.set_animated(True)
        blit = Blitter(fig, [window, focus])

        frames, durations = [], []
        positions = [(r, c) for r in range(o) for c in range(o)] if valid else [(0, c) for c in range(o)]
        for i, (r, c) in enumerate(positions):
            window.set_xy((in_x + c * st.s * CELL, top + r * st.s * CELL))
            artists = [window]
            if valid:
                blit.commit(out_cells[i])
                focus.set_xy((o_x + c * CELL, o_y + r * CELL))
                artists.append(focus)
            frames.append(blit.frame(artists))
            durations.append(STEP_MS * 3 if i == 0 else STEP_MS)
        if valid:
            frames.append(blit.frame([]))
        else:  # the next step would leave the input: drawn in red, crossed out
            window.set(xy=(in_x + o * st.s * CELL, top), ec=INVALID, linestyle=(0, (4, 3)))
            frames.append(blit.frame([window]))
        durations.append(HOLD_MS)
    return frames, durations


def render_hyperparameter(spec: FigureSpec, ctx: RenderContext) -> Rendered:
    """One hyperparameter's animation (spec.params["hyper"] in padding, kernel-size, stride)."""
    hyper = spec.params.get("hyper")
    if hyper not in SETTINGS:
        raise FigureSpecError(
            f"hyperparameter figure {spec.id!r}: hyper must be one of {', '.join(HYPERS)}, got {hyper!r}"
        )
    settings = SETTINGS[hyper]
    pad_max = max(st.w + 2 * st.p for st in settings)
    gap = max(80, 40 + max(_overflow(st) for st in settings) * CELL + 30)  # room for a red overflow
    width = 40 + pad_max * CELL + gap + 5 * CELL + 80 + max(pad_max, 7) * CELL + 40
    height = 78 + pad_max * CELL + 100
    frames, durations = [], []
    lead = -1  # the last frame of the first valid setting: its finished output
    for st in settings:
        f, d = _frames_for(st, hyper, width, height, pad_max, gap)
        frames += f
        durations += d
        if lead < 0 and output_size(st.w, st.k, st.p, st.s) is not None:
            lead = len(frames) - 1
    # That finished output leads the loop, then the animation plays from its start: a still shows a whole
    # result, not the first window. (Cheaper than starting the loop there: the padding GIF stays < 150 KiB.)
    lead = max(lead, 0)
    frames, durations = [frames[lead], *frames], [HOLD_MS, *durations]
    data = gif.encode_gif(*index_frames(frames), durations)
    sym = SYMBOL[hyper]
    lines = []
    for st in settings:
        o = output_size(st.w, st.k, st.p, st.s)
        value = {"P": st.p, "K": st.k, "S": st.s}[sym]
        floor = (st.w - st.k + 2 * st.p) // st.s + 1  # what PyTorch's conv2d gives when o is None
        left = st.w + 2 * st.p - ((floor - 1) * st.s + st.k)  # rows (and columns) never visited
        lines.append((value, o, floor, left))
    fixed = ", ".join(
        f"{n} = {v}"
        for n, v in (("W", settings[0].w), ("K", settings[0].k), ("P", settings[0].p), ("S", settings[0].s))
        if n != sym
    )
    en_cases = "; ".join(
        f"{sym} = {v}: "
        + (
            f"{o} × {o}"
            if o
            else f"not a whole number of steps (frameworks round down: {f} × {f}, the last {left} row(s) "
            f"and column(s) never visited)"
        )
        for v, o, f, left in lines
    )
    zh_cases = "；".join(
        f"{sym} = {v}："
        + (f"{o} × {o}" if o else f"步数不是整数（框架向下取整：{f} × {f}，最后 {left} 行和 {left} 列扫不到）")
        for v, o, f, left in lines
    )
    name_zh = {"padding": "填充", "kernel-size": "卷积核大小", "stride": "步长"}[hyper]
    name_en = {"padding": "padding", "kernel-size": "kernel size", "stride": "stride"}[hyper]
    alt = {
        "zh": f"{name_zh}（{sym}）动画：{fixed}，卷积核在输入上滑动，逐格算出输出。输出尺寸：{zh_cases}。",
        "en": f"{name_en.capitalize()} ({sym}) animation with {fixed}: the kernel slides over the input and "
        f"the output fills in cell by cell. Output size: {en_cases}.",
    }
    caption = {
        "zh": f"{name_zh}如何改变输出尺寸：(W − K + 2P) / S + 1。",
        "en": f"How {name_en} changes the output size: (W − K + 2P) / S + 1.",
    }
    return Rendered(data=data, width=width, height=height, alt=alt, caption=caption)
