"""Drawing on indexed canvases: text from TrueType fonts, boxes, nearest-neighbour map blits and
colour bars. Every renderer that draws its own pixels (PNG or GIF) uses `Canvas`; frames are palette
indices from the start, so GIF frames need no quantisation and PNGs come out in palette mode.

Fonts: DejaVu Sans from matplotlib's data (always present with matplotlib); strings containing CJK
characters use Noto Sans CJK SC (fonts-noto-cjk); without it they raise FontError, never draw boxes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from generator.errors import FontError
from generator.render import measure
from generator.render.colors import Palette, dark_palette
from generator.render.png import encode_indexed

_CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_CJK_FONT_BOLD = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
_CJK_SC_INDEX = 2  # face order in the .ttc: JP, KR, SC, TC, HK
CJK_PACKAGE = "fonts-noto-cjk"


def cjk_font_error(family: str = "Noto Sans CJK SC") -> FontError:
    """The one error for Chinese text without a Chinese font (instead of empty boxes in the figure)."""
    return FontError(
        f"the Chinese figures need the font {family!r}, which is not installed: install the {CJK_PACKAGE} "
        f"package (sudo apt-get install {CJK_PACKAGE}; Homebrew: font-noto-sans-cjk), then build again"
    )


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False, cjk: bool = False) -> ImageFont.FreeTypeFont:
    """A cached TrueType font at `size` pixels (FontError when CJK text needs Noto Sans CJK and it is
    not installed)."""
    if cjk:
        path = _CJK_FONT_BOLD if bold else _CJK_FONT
        if not path.exists():
            raise cjk_font_error()
        return ImageFont.truetype(str(path), size, index=_CJK_SC_INDEX)
    import matplotlib  # its bundled DejaVu Sans: present wherever the project's dependencies are

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _has_cjk(text: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in text)


# Characters around the numbers that animations write in every frame. A crisp string with digits is put
# together from cached pieces at FreeType's pen positions: every character of a number is a piece, and so
# is every run of other characters (a constant label such as "Σ (x · w) = ", drawn once by Pillow). DejaVu
# Sans kerns no pair of COMPOSED characters; the tests compare every pair, many numbers and the
# animations' lines with Pillow's own drawing. A GIF writes hundreds of distinct numbers, and Pillow's layout costs
# ~0.2 ms a string, the composition ~25 us.
COMPOSED = frozenset("0123456789.,-−+=[]() ")
PIECE = re.compile(r"[0-9.\-−+]|[^0-9.\-−+]+")  # one character of a number, or a run of others


@lru_cache(maxsize=8192)
def text_mask(text: str, size: int, bold: bool = False, crisp: bool = False) -> np.ndarray:
    """(h, w) uint8 coverage of `text`; h is the font's line height (ascent + descent), so strings
    of one size align on a common baseline. crisp: hinted 1-bit glyphs (for text on colour, where
    antialiasing would need colours the palette lacks). Cached: numbers and labels repeat a lot."""
    if crisp and len(text) > 1 and any(ch.isdigit() for ch in text) and not _has_cjk(text):
        return _composed_mask(text, size, bold)
    return _drawn_mask(text, size, bold, crisp)


@lru_cache(maxsize=4096)
def _piece(text: str, size: int, bold: bool, phase: int) -> tuple[np.ndarray, int, int]:
    """One crisp character or run, drawn with its pen `phase`/64 of a pixel right of a pixel's edge (as
    FreeType places it inside a longer string): its mask cut to its ink, the ink's first column relative
    to the pen's pixel, and its advance in 1/64 pixel (FreeType's 26.6 fixed point)."""
    f = font(size, bold)
    ascent, descent = f.getmetrics()
    advance = round(f.getlength(text, mode="1") * 64)
    pad = 2 * size  # room for bearings on either side
    im = Image.new("L", (2 * pad + (advance >> 6) + 2, ascent + descent), 0)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"
    draw.text((pad + phase / 64, ascent), text, fill=255, font=f, anchor="ls")
    mask = np.asarray(im)
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:  # white space: an advance, no ink
        return mask[:, :0], 0, advance
    return mask[:, cols[0] : cols[-1] + 1], int(cols[0]) - pad, advance


def _composed_mask(text: str, size: int, bold: bool) -> np.ndarray:
    """text_mask(text, size, bold, crisp=True) assembled from cached pieces (PIECE), each drawn at its
    pen position's fraction of a pixel, so every glyph lands where FreeType puts it in the whole string.
    The pixels are Pillow's; the box ends at the pen's last position or the last ink, whichever is
    further right (Pillow's may differ by a blank column or two, or cut a bold glyph's last one)."""
    placed, pen = [], 0
    for part in PIECE.findall(text):
        ink, start, advance = _piece(part, size, bold, pen & 63)
        placed.append((ink, (pen >> 6) + start))
        pen += advance
    inked = [(ink, x) for ink, x in placed if ink.shape[1]]
    height = font(size, bold).getmetrics()
    if not inked:
        return np.zeros((sum(height), max(1, (pen + 32) >> 6)), np.uint8)
    x0 = -min(0, min(x for _, x in inked))
    width = max(max(x + ink.shape[1] for ink, x in inked), (pen + 32) >> 6) + x0  # white space counts too
    mask = np.zeros((sum(height), width), np.uint8)
    for ink, x in inked:
        np.maximum(mask[:, x + x0 : x + x0 + ink.shape[1]], ink, out=mask[:, x + x0 : x + x0 + ink.shape[1]])
    mask.setflags(write=False)
    return mask


def _drawn_mask(text: str, size: int, bold: bool, crisp: bool) -> np.ndarray:
    """text_mask drawn by Pillow (every string that is not composed)."""
    if _has_cjk(text):  # runs of CJK in Noto Sans CJK, the rest (×, −, digits) in DejaVu Sans
        runs = [
            (cjk, "".join(ch for _, ch in group))
            for cjk, group in groupby(((_has_cjk(ch), ch) for ch in text), key=lambda t: t[0])
        ]
    else:
        runs = [(False, text)]
    fonts = [font(size, bold, cjk) for cjk, _ in runs]
    ascent = max(f.getmetrics()[0] for f in fonts)
    descent = max(f.getmetrics()[1] for f in fonts)
    parts = []
    for f, (_, run) in zip(fonts, runs, strict=True):
        left, _, right, _ = f.getbbox(run, anchor="ls")
        advance = f.getlength(run) if len(runs) > 1 else right
        im = Image.new("L", (max(1, int(round(max(right, advance) - min(left, 0)))), ascent + descent), 0)
        draw = ImageDraw.Draw(im)
        if crisp:
            draw.fontmode = "1"
        draw.text((-min(left, 0), ascent), run, fill=255, font=f, anchor="ls")
        parts.append(np.asarray(im))
    mask = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0].copy()
    mask.setflags(write=False)
    return mask


def text_size(text: str, size: int, bold: bool = False) -> tuple[int, int]:
    """(width, height) in pixels of `text` as Canvas.text draws it."""
    h, w = text_mask(text, size, bold).shape
    return w, h


def resize_nearest(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D array (pixel i takes source floor(i * H / height))."""
    h, w = values.shape[:2]
    if height % h == 0 and width % w == 0:  # integer zoom: repeat is ~10x faster than fancy indexing
        return np.repeat(np.repeat(values, height // h, axis=0), width // w, axis=1)
    rows = np.arange(height) * values.shape[0] // height
    cols = np.arange(width) * values.shape[1] // width
    return values[rows[:, None], cols[None, :]]


class Canvas:
    """An (H, W) uint8 image of palette indices with a few drawing operations."""

    def __init__(self, width: int, height: int, palette: Palette, background: str = "paper") -> None:
        self.palette = palette
        self.pix = np.full((height, width), palette.solid(background), np.uint8)
        self.white = palette.solid("paper")  # the background (white, or dark in the dark variant)

    def copy(self) -> Canvas:
        """A canvas with the same palette and a copy of the pixels (animation frames start here)."""
        out = Canvas.__new__(Canvas)
        out.palette, out.white, out.pix = self.palette, self.white, self.pix.copy()
        return out

    @property
    def width(self) -> int:
        return self.pix.shape[1]

    @property
    def height(self) -> int:
        return self.pix.shape[0]

    def color(self, color: int | str) -> int:
        return color if isinstance(color, int) else self.palette.solid(color)

    def fill(self, x: int, y: int, w: int, h: int, color: int | str) -> None:
        self.pix[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = self.color(color)

    def frame(self, x: int, y: int, w: int, h: int, color: int | str, width: int = 1) -> None:
        """Outline of the box (x, y, w, h), drawn `width` pixels outwards from its edge."""
        c = self.color(color)
        self.fill(x - width, y - width, w + 2 * width, width, c)
        self.fill(x - width, y + h, w + 2 * width, width, c)
        self.fill(x - width, y, width, h, c)
        self.fill(x + w, y, width, h, c)

    def blit(self, index: np.ndarray, x: int, y: int, width: int | None = None, height: int | None = None) -> None:
        """Paste an index array at (x, y), resized nearest-neighbour to width x height if given."""
        if width is not None or height is not None:
            index = resize_nearest(index, height or index.shape[0], width or index.shape[1])
        h, w = index.shape
        self.pix[y : y + h, x : x + w] = index

    def heatmap(
        self, values: np.ndarray, x: int, y: int, width: int, height: int, scale: str, lo: float, hi: float
    ) -> None:
        """Colour a 2-D array on palette scale `scale` over [lo, hi] and paste it resized."""
        self.blit(self.palette.index(values, lo, hi, scale), x, y, width, height)

    def text(
        self,
        x: int,
        y: int,
        text: str,
        size: int = 13,
        color: str = "ink",
        anchor: str = "lt",
        bold: bool = False,
        crisp: bool = False,
    ) -> tuple[int, int, int, int]:
        """Draw `text` anchored at (x, y): anchor[0] in l/m/r, anchor[1] in t/m/b (of the line box).
        On white, "ink" text is antialiased through the ink ramp; elsewhere (or in other colours)
        glyph pixels are thresholded to the solid colour, which keeps the palette fixed (crisp=True
        gives hinted 1-bit glyphs, which read better there). Returns the (x, y, w, h) box drawn."""
        mask = text_mask(text, size, bold, crisp)
        h, w = mask.shape
        x0 = x - {"l": 0, "m": w // 2, "r": w}[anchor[0]]
        y0 = y - {"t": 0, "m": h // 2, "b": h}[anchor[1]]
        # Clip to the canvas.
        mx0, my0 = max(0, -x0), max(0, -y0)
        mx1, my1 = min(w, self.width - x0), min(h, self.height - y0)
        if mx1 <= mx0 or my1 <= my0:
            return x0, y0, w, h
        if text.strip():
            measure.note(size)  # the font's pixel size: the figure's min_text_px (render/measure.py)
        m = mask[my0:my1, mx0:mx1]
        region = self.pix[y0 + my0 : y0 + my1, x0 + mx0 : x0 + mx1]
        solid = np.uint8(self.palette.solid(color))
        if color == "ink" or f"{color}-ramp" in self.palette:
            start, levels = self.palette.part(color if color == "ink" else f"{color}-ramp")
            level = (m.astype(np.uint16) * (levels - 1) + 127) // 255
            on_white = (region == self.white) & (level > 0)
            region[on_white] = (start + level[on_white]).astype(np.uint8)
            region[(~on_white) & (m >= 128)] = solid
        else:
            region[m >= 128] = solid
        return x0, y0, w, h

    def colorbar(
        self,
        x: int,
        y: int,
        length: int,
        thickness: int,
        scale: str,
        lo: float,
        hi: float,
        ticks: list[tuple[float, str]],
        vertical: bool = False,
        size: int = 12,
    ) -> None:
        """A colour strip for palette scale `scale` over [lo, hi] with labelled ticks.
        Horizontal: low end on the left, labels below. Vertical: low end at the bottom, labels right."""
        ramp = self.palette.index(np.linspace(lo, hi, length), lo, hi, scale)
        ink = self.palette.solid("ink")
        if vertical:
            self.blit(np.repeat(ramp[::-1, None], thickness, axis=1), x, y)
            self.frame(x, y, thickness, length, ink)
        else:
            self.blit(np.repeat(ramp[None, :], thickness, axis=0), x, y)
            self.frame(x, y, length, thickness, ink)
        span = (hi - lo) or 1.0
        for value, label in ticks:
            pos = int(round((value - lo) / span * (length - 1)))
            if vertical:
                py = y + length - 1 - pos
                self.fill(x + thickness, py, 4, 1, ink)
                self.text(x + thickness + 6, py, label, size, anchor="lm")
            else:
                px = x + pos
                self.fill(px, y + thickness, 1, 4, ink)
                anchor = "lt" if pos == 0 else "rt" if pos == length - 1 else "mt"
                self.text(px, y + thickness + 5, label, size, anchor=anchor)

    def rgb(self, dark: bool = False) -> np.ndarray:
        """(H, W, 3) uint8 colours; dark: of the dark variant (colors.dark_palette)."""
        colors = dark_palette(self.palette.colors) if dark else None
        return (self.palette.colors if colors is None else colors)[self.pix]

    def png(self, compress_level: int = 6) -> bytes:
        return encode_indexed(self.pix, self.palette.colors, compress_level)
