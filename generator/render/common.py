"""What the figure renderers share, so that no renderer imports another.

- spec lookups: the probe, layer and neuron a FigureSpec names, or a FigureSpecError saying why not;
- numbers as text (`fmt_ascii`) and colour-bar ticks;
- layout of the indexed-canvas figures: the margin, a colour bar at the bottom, a row of colour bars;
- text colour on a coloured cell, chosen by the cell's luminance;
- the sweep animations (convolution, pooling): positions, the map revealed so far, the frame loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple, TypeVar

import numpy as np

from generator.errors import FigureSpecError
from generator.records import FigureSpec, ProbeResult, RenderContext
from generator.render.colors import Palette, figure_palette
from generator.render.gif import encode_gif, poster_first
from generator.render.text import Canvas

PAD = 12  # margin around the canvas figures
CHANNEL_NAMES = ("R", "G", "B")
LEVELS = 201  # odd, so 0 of a symmetric range is exactly the scale's middle colour
BAR = 10  # thickness of a figure's colour bar
BAR_LABELS = 22  # room under a colour bar for its tick marks and one line of labels
BAR_ROW = 45  # height of a colorbar_row: label line, bar, tick labels
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights of R, G, B

Step = TypeVar("Step")


# ---- spec lookups -------------------------------------------------------------------------------


def probe_for(spec: FigureSpec, ctx: RenderContext) -> ProbeResult:
    """The probe of the spec's image (the featured one when the spec names none)."""
    slug = spec.image or ctx.featured
    if slug not in ctx.probes:
        known = ", ".join(ctx.probes) or "none"
        raise FigureSpecError(f"figure {spec.id!r}: unknown image {slug!r}; sample images are: {known}")
    return ctx.probes[slug]


def layer_of(spec: FigureSpec, allowed: Sequence[str]) -> str:
    """The spec's layer, which must be one of `allowed`."""
    if spec.layer not in allowed:
        raise FigureSpecError(
            f"figure {spec.id!r} ({spec.kind}): layer={spec.layer!r} is not valid; use one of {', '.join(allowed)}"
        )
    assert spec.layer is not None  # it is one of `allowed`
    return spec.layer


def neuron_of(spec: FigureSpec, count: int) -> int:
    """The spec's neuron, which must be an int in 0..count-1."""
    n = spec.neuron
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < count:
        raise FigureSpecError(
            f"figure {spec.id!r} ({spec.kind}): neuron={n!r} is out of range; "
            f"layer {spec.layer} has neurons 0..{count - 1}"
        )
    return n


# ---- words ------------------------------------------------------------------------------------


def say(spec: FigureSpec, en: str, zh: str) -> str:
    """The words of a figure in its language (catalog.worded figures are "zh" or "en")."""
    return zh if spec.lang == "zh" else en


def class_names(spec: FigureSpec, ctx: RenderContext) -> tuple[str, ...]:
    """The class names a figure shows: Chinese in a zh figure (a user's folder classes without a Chinese
    name keep theirs), else the dataset's own."""
    if spec.lang == "zh" and len(ctx.classes_zh) == len(ctx.classes):
        return ctx.classes_zh
    return ctx.classes


# ---- numbers as text ----------------------------------------------------------------------------


def fmt_ascii(value: float, digits: int = 3) -> str:
    """A number for canvas labels, alt text and captions: `digits` significant digits, no exponent,
    ASCII '-' for negatives (it renders in every font and reads the same in alt text)."""
    v = float(value)
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else str(v)
    mag = abs(v)
    if mag >= 1000:
        return f"{v:,.0f}"
    decimals = max(0, digits - 1 - int(np.floor(np.log10(mag))))
    text = f"{v:.{min(decimals, 6)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def end_ticks(lo: float, hi: float, digits: int = 3) -> list[tuple[float, str]]:
    """Tick marks for the two ends of a colour bar, labelled with `digits` significant digits."""
    return [(lo, fmt_ascii(lo, digits)), (hi, fmt_ascii(hi, digits))]


def ticks(lo: float, hi: float, zero_last: bool = False) -> list[tuple[float, str]]:
    """Tick marks for a colour bar: the ends, and 0 when it lies inside. Ticks are drawn in list
    order, so where labels collide the later one is on top: zero_last puts 0 after the ends
    (the colour-bar rows of the sweep animations), else it stands between them."""
    out = end_ticks(lo, hi)
    if lo < 0 < hi:
        out.insert(len(out) if zero_last else 1, (0.0, "0"))
    return out


# ---- layout -------------------------------------------------------------------------------------


class Box(NamedTuple):
    x: int
    y: int
    w: int
    h: int


def upscale_factor(size: int, target: int) -> int:
    """Integer zoom that brings `size` pixels closest to `target` (at least 1)."""
    return max(1, int(round(target / size)))


@lru_cache(maxsize=16)
def map_palette(scale: str, levels: int = LEVELS) -> Palette:
    """The palette of a figure that shows maps on one colour scale."""
    return figure_palette((scale, levels))


def below_bar(bar_y: int, pad: int = PAD, labels: int = BAR_LABELS) -> int:
    """The height of a canvas that ends with a colour bar at bar_y: the bar, its labels, the margin."""
    return bar_y + BAR + labels + pad


def below_bar_row(top: int) -> int:
    """The height of a canvas that ends with a colorbar_row starting at `top`."""
    return top + BAR_ROW + PAD


def colorbar_row(c: Canvas, items: list[tuple[str, str, float, float]]) -> None:
    """A row of labelled colour bars along the bottom of the canvas: (label, scale, lo, hi) each."""
    y = c.height - PAD - BAR_ROW
    n = len(items)
    w = (c.width - 2 * PAD - (n - 1) * 18) // n
    for i, (label, scale, lo, hi) in enumerate(items):
        x = PAD + i * (w + 18)
        c.text(x, y, label, 11, bold=True)
        c.colorbar(x, y + 17, w, 8, scale, lo, hi, ticks(lo, hi, zero_last=True), size=11)


# ---- colour -------------------------------------------------------------------------------------


def light_text(rgb: np.ndarray, threshold: float = 120.0) -> np.ndarray:
    """(...) bool: where text on these (..., 3) uint8 colours should be white rather than dark,
    i.e. where their luminance is below `threshold` (0..255)."""
    return rgb.astype(np.float32) @ np.array(LUMA, np.float32) < threshold


# ---- sweep animations ---------------------------------------------------------------------------


def sweep_positions(n: int, first: int, frames: int) -> list[int]:
    """Last position index shown by each animation step over n positions (row-major): `first`
    single steps, then even jumps so that the whole sweep takes at most `frames` steps."""
    first = min(first, n)
    ends = list(range(1, first + 1))
    rest = n - first
    jumps = max(1, min(frames - first, rest)) if rest else 0
    ends += [first + (rest * (j + 1)) // jumps for j in range(jumps)]
    return [e - 1 for e in ends]


def reveal(c: Canvas, full: np.ndarray, box: Box, zoom: int, cols: int, upto: int) -> None:
    """Copy the display pixels of map positions 0..upto (row-major) from `full` into the canvas."""
    r, col = divmod(upto, cols)
    c.pix[box.y : box.y + r * zoom, box.x : box.x + box.w] = full[: r * zoom]
    c.pix[box.y + r * zoom : box.y + (r + 1) * zoom, box.x : box.x + (col + 1) * zoom] = full[
        r * zoom : (r + 1) * zoom, : (col + 1) * zoom
    ]


def sweep_animation(
    base: Canvas,
    steps: Sequence[Step],
    draw: Callable[[Canvas, Step], None],
    first_ms: int,
    step_ms: Callable[[int], int],
    poster: bool = True,
    still: Callable[[Canvas], None] | None = None,
) -> bytes:
    """A GIF: the base canvas alone, then one frame per step (drawn on a copy of the base by
    `draw`), the last frame held 2 s. poster: start the loop at the finished picture, for everything
    that shows a GIF's first frame alone (see gif.poster_first). still: draw that first picture
    (on a copy of the base) instead of repeating the last step, e.g. the finished map with its most
    telling window; it is held 2 s and the last step 1 s."""
    frames, durations = [base.pix.copy()], [first_ms]
    for i, step in enumerate(steps):
        c = base.copy()
        draw(c, step)
        frames.append(c.pix)
        durations.append(step_ms(i))
    durations[-1] = 2000
    if still is not None:
        c = base.copy()
        still(c)
        durations[-1] = 1000
        frames, durations = [c.pix, *frames], [2000, *durations]
    elif poster:
        frames, durations = poster_first(frames, durations)
    return encode_gif(frames, base.palette.colors, durations)
