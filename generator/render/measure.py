"""How small the text of a figure is: every renderer's text goes through here, so the build can record
each figure's smallest text (`min_text_px`, in the figure's own pixels) and the pages can keep it legible.

Canvas.text (render/text.py) notes the font's pixel size of every string it draws; matplotlib figures
note the size of every text artist Agg draws (points at the figure's DPI, in pixels). rendering.render_one
resets the record before a renderer runs and reads it after. One record per process: the render workers
draw one figure at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.backend_bases import GraphicsContextBase
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

_smallest: float | None = None


def note(px: float) -> None:
    """Text of `px` pixels (font size) was drawn."""
    global _smallest
    if px > 0 and (_smallest is None or px < _smallest):
        _smallest = float(px)


def take() -> float | None:
    """The smallest text drawn since the last take (None: no text at all), and start afresh."""
    global _smallest
    out, _smallest = _smallest, None
    return out


def watch_agg(renderer: RendererAgg) -> None:
    """Make a matplotlib Agg renderer note the size of every non-blank string it draws (plain text and
    mathtext both go through draw_text). Idempotent."""
    if getattr(renderer, "_tv_measured", False):
        return
    draw_text = renderer.draw_text

    def measured(
        gc: GraphicsContextBase,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        angle: float,
        ismath: bool | str = False,
        mtext: Text | None = None,
    ) -> None:
        if s.strip():
            note(prop.get_size_in_points() * renderer.dpi / 72.0)
        draw_text(gc, x, y, s, prop, angle, ismath, mtext)

    setattr(renderer, "draw_text", measured)  # noqa: B010 (mypy refuses assigning to a method)
    setattr(renderer, "_tv_measured", True)  # noqa: B010
