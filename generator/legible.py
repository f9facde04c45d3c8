"""Figures stay legible at any column width: the smallest text of a figure (its manifest entry's
`min_text_px`, in the figure's own pixels) must show at least DESKTOP_PX CSS pixels tall on a wide
screen and PHONE_PX on a phone. A figure is shown at most at its natural width and shrinks with the
text column; below the width at which its smallest text reaches the threshold it stops shrinking and
its box scrolls sideways instead (assets/tinyvgg.css reads the widths from CSS custom properties set
here). Figures without text (pure heatmaps) shrink freely and are scaled nearest-neighbour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DESKTOP_PX = 11  # smallest text on a wide screen, CSS px
PHONE_PX = 9  # on a phone (tinyvgg.css: screens narrower than 45em)
PHONE_COLUMN = 343  # Material's text column on a 375 px phone, CSS px: a wider figure scrolls there
HINT = {"zh": "手机上可左右滑动查看整张图", "en": "On a phone, swipe the figure sideways to see all of it"}


def min_text(entry: Mapping[str, object]) -> float | None:
    """The figure's smallest text in its own pixels, or None for a figure without text."""
    value = entry.get("min_text_px")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def min_width(entry: Mapping[str, object], text_px: float) -> int:
    """The narrowest display width (CSS px) at which the figure's smallest text is `text_px` tall."""
    small = min_text(entry)
    width = entry["width"]
    assert isinstance(width, int)
    if small is None:
        return 0
    return math.ceil(width * text_px / small)


def figure_attrs(entry: Mapping[str, object]) -> tuple[str, str | None]:
    """(class, style) for a figure's <figure>: 'tv-text' with the minimum widths of a figure with text,
    'tv-pixel' (nearest-neighbour scaling, no minimum) for a pure heatmap."""
    if min_text(entry) is None:
        return "tv-pixel", None
    desktop, phone = min_width(entry, DESKTOP_PX), min_width(entry, PHONE_PX)
    return "tv-text", f"--tv-min: {desktop}px; --tv-min-phone: {phone}px"


def scrolls_on_phone(entry: Mapping[str, object]) -> bool:
    """Does the figure scroll sideways in a 375 px phone's column (its caption then says so)?"""
    return min_text(entry) is not None and min_width(entry, PHONE_PX) > PHONE_COLUMN
