"""Shared matplotlib setup for the renderers that need axes, text and formulas.

No pyplot: figures are plain `Figure` objects on an explicit Agg canvas, so nothing depends on the
user's backend and no global figure registry grows. rcParams are global and matplotlib is not
thread-safe, so every figure is built and drawn under one lock and one rc_context.
Pixels leave as arrays (to_rgb, Blitter); encoding goes through render/png.py or render/gif.py
(deterministic, no metadata). The one use of savefig is vector output (save, for `figure -o x.svg`),
written without a date and with fixed ids, so it is deterministic too. Animations draw their static
part once and blit the moving artists per frame; index_frames maps the frames onto one GIF palette.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import matplotlib.colors
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from generator.records import RenderContext
from generator.render import measure, png
from generator.render.colors import DARK_INK, DARK_PAPER
from generator.render.text import cjk_font_error

DPI = 100
VECTOR_FORMATS = ("svg", "pdf")
# DejaVu Sans first, because Noto CJK draws '×', '·', '−' full-width; CJK characters (the zh figures'
# words, a user's class names) fall back to Noto Sans CJK glyph by glyph.
FONT_FAMILY = ["DejaVu Sans", "Noto Sans CJK SC"]
CJK_FAMILY = "Noto Sans CJK SC"
# gid of an artist that shows data or sits on it: a cell of a grid (its face colour) or the number on it
# (its colour, chosen by the cell's luminance). The dark variant keeps both, and mirrors every other
# neutral grey of text, lines and frames (see _darken).
ON_DATA = "data"
STYLE: dict[str, Any] = {
    "font.family": FONT_FAMILY,  # a list: matplotlib falls back glyph by glyph (a single family would not)
    "font.size": 10,
    "mathtext.fontset": "dejavusans",
    "axes.unicode_minus": True,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "image.interpolation": "nearest",  # cells stay crisp squares, never smoothed
    "image.resample": False,
    "path.simplify": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

_LOCK = threading.RLock()
_quiet_fonts = False
_dark = False  # drawing the dark variant (see `scheme`)
PAPER_DARK = "#{:02x}{:02x}{:02x}".format(*DARK_PAPER)
DARK_STYLE: dict[str, Any] = {"figure.facecolor": PAPER_DARK, "axes.facecolor": PAPER_DARK}


@contextmanager
def scheme(dark: bool) -> Iterator[None]:
    """Figures made inside are drawn for a dark page (dark=True): the background is colors.DARK_PAPER,
    neutral text, lines and frames are mirrored towards colors.DARK_INK, data colours stay exactly."""
    global _dark
    with _LOCK:
        before, _dark = _dark, dark
        try:
            yield
        finally:
            _dark = before


def _has_cjk(text: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in text)


_cjk_checked = False


def check_cjk_font(texts: Sequence[str]) -> None:
    """FontError if one of `texts` holds CJK characters and Noto Sans CJK is not installed: matplotlib
    would draw them as empty boxes."""
    global _cjk_checked
    if _cjk_checked or not any(_has_cjk(t) for t in texts):
        return
    from matplotlib import font_manager

    try:
        font_manager.fontManager.findfont(CJK_FAMILY, fallback_to_default=False)
    except ValueError:
        raise cjk_font_error(CJK_FAMILY) from None
    _cjk_checked = True


def _mirror(color: Any) -> Any:  # noqa: ANN401  (any matplotlib colour spec)
    """A neutral grey for the dark variant: white -> DARK_PAPER, black -> DARK_INK, linearly between;
    any other colour (and "none") unchanged."""
    try:
        rgba = matplotlib.colors.to_rgba(color)
    except ValueError:
        return color
    r, g, b, a = rgba
    if max(r, g, b) - min(r, g, b) > 0.025 or a == 0:
        return color
    v = (r + g + b) / 3
    paper, ink = np.array(DARK_PAPER) / 255, np.array(DARK_INK) / 255
    return (*(paper + (1 - v) * (ink - paper)), a)


def _darken(artists: Sequence[Artist]) -> None:
    """Mirror the neutral greys of `artists` for the dark variant (each artist once)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    for artist in artists:
        if getattr(artist, "_tv_dark", False):
            continue
        artist._tv_dark = True  # type: ignore[attr-defined]
        if isinstance(artist, Text):
            if artist.get_gid() != ON_DATA:
                artist.set_color(_mirror(artist.get_color()))
        elif isinstance(artist, Line2D):
            artist.set_color(_mirror(artist.get_color()))
            artist.set_markeredgecolor(_mirror(artist.get_markeredgecolor()))
            artist.set_markerfacecolor(_mirror(artist.get_markerfacecolor()))
        elif isinstance(artist, Patch):
            artist.set_edgecolor(_mirror(artist.get_edgecolor()))
            if artist.get_gid() != ON_DATA:
                artist.set_facecolor(_mirror(artist.get_facecolor()))
        elif isinstance(artist, AxesImage):
            cmap = artist.get_cmap()
            if tuple(cmap.get_bad()) == (1.0, 1.0, 1.0, 1.0):  # gap_cmap's gaps
                artist.set_cmap(cmap.with_extremes(bad=PAPER_DARK))


def _check_texts(artists: Sequence[Artist]) -> None:
    from matplotlib.text import Text

    if not _cjk_checked:
        check_cjk_font([a.get_text() for a in artists if isinstance(a, Text)])


def _prepare(fig: Figure) -> None:
    """Before a figure is drawn: the CJK font check, and the dark variant's colours."""
    _check_texts(fig.findobj())
    if _dark:
        fig.set_facecolor(PAPER_DARK)
        _darken(fig.findobj())


def _silence_font_warnings() -> None:
    """Without fonts-noto-cjk, matplotlib would log 'findfont: not found' for every figure; DejaVu
    (shipped with matplotlib) still draws all the Latin text, so that is not worth a warning."""
    global _quiet_fonts
    if not _quiet_fonts:
        import logging

        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        _quiet_fonts = True


def _agg(fig: Figure) -> FigureCanvasAgg:
    """The figure's Agg canvas (every figure here gets one in figure())."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    return canvas


@contextmanager
def figure(width_px: int, height_px: int) -> Iterator[Figure]:
    """A white Agg figure of exactly width_px x height_px pixels, released when the block ends."""
    style = {**STYLE, **DARK_STYLE} if _dark else STYLE
    with _LOCK, matplotlib.rc_context(style):  # type: ignore[arg-type]  # the stubs want literal rc keys
        _silence_font_warnings()
        fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor=style["figure.facecolor"])
        FigureCanvasAgg(fig)
        try:
            yield fig
        finally:
            # No pyplot, so no registry to close the figure in; swapping in a bare canvas frees the Agg
            # pixel buffer now (fig.clear() would cost ~40 ms re-creating every axis' ticks).
            FigureCanvasBase(fig)


def _measured(fig: Figure) -> FigureCanvasAgg:
    """The figure's Agg canvas, its renderer noting the size of the text it draws (render/measure.py)."""
    canvas = _agg(fig)
    measure.watch_agg(canvas.get_renderer())
    return canvas


def to_rgb(fig: Figure) -> np.ndarray:
    """Draw the figure and return its pixels: (H, W, 3) uint8."""
    _prepare(fig)
    canvas = _measured(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save(fig: Figure, ctx: RenderContext) -> tuple[bytes, int, int]:
    """The finished figure as (data, width, height): a deterministic PNG with ctx.zoom times the pixels
    in each direction (redrawn at that resolution, not enlarged), or the SVG or PDF that `figure` asks for
    (ctx.output; width and height are then its size in pixels at zoom 1)."""
    if ctx.output in VECTOR_FORMATS:
        return vector(fig, ctx.output), round(fig.bbox.width), round(fig.bbox.height)
    if ctx.zoom != 1:
        fig.set_dpi(DPI * ctx.zoom)  # positions are fractions and sizes points: everything scales alike
    rgb = to_rgb(fig)  # (H, W, 3)
    return png.encode_rgb(rgb), rgb.shape[1], rgb.shape[0]


def vector(fig: Figure, fmt: str) -> bytes:
    """SVG or PDF bytes, identical for identical figures: no date, ids from a fixed salt, text as paths
    (SVG) or embedded subsets (PDF), so the file shows the same everywhere without our fonts."""
    for image in fig.findobj(AxesImage):
        image.set_interpolation("none")  # heatmap cells embedded at their own resolution, not resampled
    _check_texts(fig.findobj())
    metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None}
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "tinyvgg", "svg.fonttype": "path"}):
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    return buf.getvalue()


class Blitter:
    """Fast animation frames: the static part is drawn once, then each frame restores it and draws
    only the animated artists (about 10x faster than a full redraw per frame)."""

    def __init__(self, fig: Figure, animated: Sequence[Artist]) -> None:
        self.fig = fig
        for artist in animated:
            artist.set_animated(True)  # excluded from the full draw below
        _prepare(fig)
        _measured(fig).draw()
        self._background = _agg(fig).copy_from_bbox(fig.bbox)

    def commit(self, artists: Sequence[Artist]) -> None:
        """Draw `artists` into the background for good: later frames show them without redrawing
        (cumulative animations draw each artist once)."""
        canvas = _agg(self.fig)
        canvas.restore_region(self._background)
        _check_texts(artists)
        if _dark:
            _darken(artists)
        for artist in artists:
            self.fig.draw_artist(artist)
        self._background = canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, artists: Sequence[Artist]) -> np.ndarray:
        """The background plus `artists` (in order): (H, W, 4) uint8 RGBA (a plain copy, faster than
        slicing RGB; index_frames ignores alpha)."""
        canvas = _agg(self.fig)
        canvas.restore_region(self._background)
        _check_texts(artists)
        if _dark:
            _darken(artists)
        for artist in artists:
            self.fig.draw_artist(artist)
        return np.array(canvas.buffer_rgba())


def index_frames(frames: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB(A) frames ((H, W, 3 or 4) uint8; alpha ignored) -> (index frames (H, W) uint8, palette
    (N <= 255, 3) uint8) for render/gif.py's encode_gif: one palette for the whole animation.

    Only the first frame and each later frame's changed pixels are binned (5 bits per channel):
    animations change little per frame, so this is fast. With <= 255 occupied bins each bin is its
    mean colour (within 4 levels of every member); otherwise the 255 most used bins form the palette
    and the rare ones (antialiasing blends) map to the nearest of them. Deterministic: counts and
    stable sorts only.
    """
    first = np.ascontiguousarray(frames[0], dtype=np.uint8)
    height, width, depth = first.shape
    pixels, changes, prev = [first.reshape(-1, depth)], [], first
    for frame in frames[1:]:
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if depth == 4:  # compare whole pixels as uint32: 4x fewer comparisons
            diff = np.flatnonzero(frame.view(np.uint32) != prev.view(np.uint32))
        else:
            diff = np.flatnonzero((frame != prev).any(axis=2))
        changes.append(diff)
        pixels.append(frame.reshape(-1, depth)[diff])
        prev = frame
    rgb = np.concatenate(pixels)[:, :3]  # (P, 3): what the GIF stores
    key = ((rgb[:, 0] >> 3).astype(np.uint16) << 10) | ((rgb[:, 1] >> 3).astype(np.uint16) << 5) | (rgb[:, 2] >> 3)
    counts = np.bincount(key, minlength=1 << 15)
    sums = np.stack([np.bincount(key, weights=rgb[:, c], minlength=1 << 15) for c in range(3)], axis=1)
    used = np.flatnonzero(counts)
    order = used[np.argsort(-counts[used], kind="stable")]
    keep = order[:255]
    palette = np.clip(np.round(sums[keep] / counts[keep, None]), 0, 255)  # (N, 3) mean colour per bin
    table = np.zeros(1 << 15, np.uint8)
    table[keep] = np.arange(len(keep), dtype=np.uint8)
    rest = order[255:]
    if rest.size:  # nearest kept colour for every dropped bin
        centres = sums[rest] / counts[rest, None]  # (M, 3)
        dist = ((centres[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)  # (M, N)
        table[rest] = np.argmin(dist, axis=1).astype(np.uint8)
    index = table[key]  # (P,)
    current = index[: height * width].copy()
    out, pos = [current.reshape(height, width)], height * width
    for diff in changes:  # replay the changes on the indexed picture
        current = current.copy()
        current[diff] = index[pos : pos + diff.size]
        pos += diff.size
        out.append(current.reshape(height, width))
    return out, palette.astype(np.uint8)


def gap_cmap(name: str) -> matplotlib.colors.Colormap:
    """Colormap `name` with NaN cells (gaps between maps or kernels in a mosaic) drawn white."""
    return matplotlib.colormaps[name].with_extremes(bad="white")


def escape_text(text: str) -> str:
    """Make a user-supplied label (class names from a folder dataset) safe from mathtext parsing."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def fmt_fixed(value: float, decimals: int = 2) -> str:
    """A number for text inside matplotlib figures: fixed decimals, the true minus sign, '0.00' never
    '-0.00'."""
    text = f"{value:.{decimals}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def fmt_sig(value: float, digits: int = 4) -> str:
    """A number of any magnitude with `digits` significant digits (exponentials, sums), as plain
    text: '0.9551', '10.00', '3.271×10⁶' (plain text keeps mathtext parsing out of frame loops)."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        text = f"{value:#.{digits}g}".rstrip(".")
        if "e" not in text:
            return text.replace("-", "\u2212")
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}\u00d710{str(int(exponent)).translate(_SUPERSCRIPT)}".replace("-", "\u2212", 1)
