"""Colour scales as lookup tables, and the palettes that indexed figures are drawn with.

CNN Explainer's conventions: activations RdBu centred at 0 (negative = red, positive = blue), kernel
weights BrBG centred at 0, logits Oranges, input channels black-to-R/G/B tints (or grey). Not
CNN Explainer's: the flatten figure's products x*w are PiYG (render/flatten.py), and the hyperparameter
animations' made-up inputs sit on light Greys (DENSE). Matplotlib colormaps are sampled once into
uint8 tables; everything after that is numpy indexing, which is what makes bulk heatmaps fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from generator.errors import ConfigError

# Names the renderers use. "tint:R/G/B" are black -> pure channel colour (the light that channel
# adds); "gray" is black -> white (an image channel as a photo shows it); "Greys" is white -> black
# (matplotlib's, used for dense values and as the ink ramp for text on white).
ACTIVATION = "RdBu"
WEIGHT = "BrBG"
LOGIT = "Oranges"
DENSE = "Greys"
CHANNEL_TINTS = ("tint:R", "tint:G", "tint:B")
_TINT_RGB = {"R": (220, 30, 30), "G": (20, 160, 40), "B": (30, 70, 220)}

WHITE = (255, 255, 255)
INK = (34, 34, 34)  # text: near-black reads softer than pure black at small sizes
# The dark variant of every figure (Material's slate scheme): its background is slate's page colour,
# hsl(225, 15%, 14%), so a figure sits on the page with no card around it; text is a soft near-white.
DARK_PAPER = (30, 33, 41)
DARK_INK = (214, 217, 224)
ACCENT = (255, 170, 0)  # highlights (sliding window, kept maximum); absent from every scale above
MARK = (0, 0, 0)


@lru_cache(maxsize=64)
def lut(name: str, n: int = 256) -> np.ndarray:
    """(n, 3) uint8 colours sampled evenly from colormap `name`, low end first. Read-only."""
    if n < 2 or n > 4096:
        raise ConfigError(f"colour scale {name!r}: number of levels must be in 2..4096, got {n}")
    t = np.linspace(0.0, 1.0, n)
    if name.startswith("tint:"):
        rgb = _TINT_RGB.get(name[5:])
        if rgb is None:
            raise ConfigError(f"colour scale {name!r}: tints are tint:R, tint:G, tint:B")
        table = np.outer(t, rgb)
    elif name == "gray":
        table = np.outer(t, (255, 255, 255))
    else:
        import matplotlib  # only here: lookups are cached, so the import cost is paid once

        try:
            cmap = matplotlib.colormaps[name]
        except KeyError:
            raise ConfigError(f"colour scale {name!r}: not a matplotlib colormap name") from None
        table = cmap(t)[:, :3] * 255.0
    out = np.clip(np.round(table), 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def normalise_index(values: np.ndarray, lo: float, hi: float, n: int) -> np.ndarray:
    """Values -> integer levels 0..n-1 (uint16), lo -> 0 and hi -> n-1, clipped outside.
    With a symmetric range and odd n, 0 lands exactly on the middle level."""
    span = float(hi) - float(lo)
    if not np.isfinite(span) or span <= 0:
        span = 1.0
    pos = (np.asarray(values, dtype=np.float32) - np.float32(lo)) * np.float32((n - 1) / span)
    return np.clip(np.rint(pos), 0, n - 1).astype(np.uint16)


def apply(values: np.ndarray, lo: float, hi: float, table: np.ndarray) -> np.ndarray:
    """Values (...) -> RGB (..., 3) uint8 through lookup table `table` over [lo, hi]."""
    return table[normalise_index(values, lo, hi, len(table))]


def symmetric(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest |value|; (-1, 1) for an all-zero array (so it draws white)."""
    m = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if not np.isfinite(m) or m <= 0.0:
        m = 1.0
    return -m, m


def span(values: np.ndarray) -> tuple[float, float]:
    """(min, max), widened to a non-empty interval when all values are equal."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def stage_scale(stages: dict[str, np.ndarray], layer: str, neuron: int | None, scale: str) -> tuple[str, float, float]:
    """(colormap, lo, hi) for one map of `layer` (or the whole layer when neuron is None).

    "layer" scale: one symmetric range over all neurons of the layer for this image, so maps of a
    layer are comparable; "neuron": each map its own range. Input is 0..1, output logits min..max.
    """
    if scale not in ("layer", "neuron"):
        raise ConfigError(f"scale: must be 'layer' or 'neuron', got {scale!r}")
    if layer == "input":
        name = CHANNEL_TINTS[neuron] if neuron is not None else "gray"
        return name, 0.0, 1.0
    if layer == "output":
        return (LOGIT, *span(stages["output"]))
    data = stages[layer]
    if scale == "neuron" and neuron is not None:
        data = data[neuron]
    return (ACTIVATION, *symmetric(data))


class Palette:
    """An indexed-colour palette built from named parts: colour scales (several levels) and single
    colours. Indices are uint8, so a palette holds at most 256 colours (255 for GIFs, which keep
    one slot for transparency)."""

    def __init__(self, parts: Sequence[tuple[str, np.ndarray | tuple[int, int, int]]]) -> None:
        colours: list[np.ndarray] = []
        self._parts: dict[str, tuple[int, int]] = {}
        for name, value in parts:
            arr = np.asarray(value, dtype=np.uint8).reshape(-1, 3)
            if name in self._parts:
                raise ValueError(f"palette part {name!r} given twice")
            self._parts[name] = (sum(len(c) for c in colours), len(arr))
            colours.append(arr)
        self.colors = np.concatenate(colours)  # (N, 3) uint8
        if len(self.colors) > 256:
            raise ValueError(f"palette needs {len(self.colors)} colours; at most 256 fit")

    def __len__(self) -> int:
        return len(self.colors)

    def __contains__(self, name: str) -> bool:
        return name in self._parts

    def part(self, name: str) -> tuple[int, int]:
        """(first index, number of levels) of part `name`."""
        return self._parts[name]

    def solid(self, name: str) -> int:
        """The index of a one-colour part (or the last level of a scale)."""
        start, size = self._parts[name]
        return start + size - 1

    def index(self, values: np.ndarray, lo: float, hi: float, name: str) -> np.ndarray:
        """Values -> uint8 palette indices on scale part `name` over [lo, hi]."""
        start, size = self._parts[name]
        return (normalise_index(values, lo, hi, size) + start).astype(np.uint8)


INK_LEVELS = 16


def ink_ramp(paper: tuple[int, int, int], ink: tuple[int, int, int]) -> np.ndarray:
    """(INK_LEVELS, 3) uint8: paper -> ink, the antialiasing levels of text on the background."""
    t = np.linspace(0, 1, INK_LEVELS)[:, None]
    return np.round(t * (np.array(ink, float) - paper) + paper).astype(np.uint8)


def figure_palette(*scales: tuple[str, int]) -> Palette:
    """The standard palette: "paper" (the background), the ink ramp for antialiased text on it ("ink":
    paper -> INK, 16 levels), ACCENT, MARK and "white" (text on dark cells), then the given (colormap,
    levels) scales. Paper and ink come first (indices 0..16) so that dark_palette can swap them."""
    parts: list[tuple[str, np.ndarray | tuple[int, int, int]]] = [
        ("paper", WHITE),
        ("ink", ink_ramp(WHITE, INK)),
        ("accent", ACCENT),
        ("mark", MARK),
        ("white", WHITE),
    ]
    parts += [(name, lut(name, n)) for name, n in scales]
    return Palette(parts)


# The colours every figure_palette starts with, and what the dark variant puts in their place:
# background and text swap, ACCENT, MARK, white and every colour scale stay exactly as they are.
LIGHT_HEAD = np.concatenate([[WHITE], ink_ramp(WHITE, INK), [ACCENT, MARK, WHITE]]).astype(np.uint8)
DARK_HEAD = np.concatenate([[DARK_PAPER], ink_ramp(DARK_PAPER, DARK_INK), [ACCENT, MARK, WHITE]]).astype(np.uint8)


def dark_palette(colors: np.ndarray) -> np.ndarray | None:
    """A figure_palette's colours (or a prefix of them: PNGs drop unused trailing entries) with paper and
    ink swapped for their dark counterparts; None if `colors` is not such a palette."""
    colors = np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
    n = min(len(colors), len(LIGHT_HEAD))
    if n == 0 or not np.array_equal(colors[:n], LIGHT_HEAD[:n]):
        return None
    out = colors.copy()
    out[:n] = DARK_HEAD[:n]
    return out
