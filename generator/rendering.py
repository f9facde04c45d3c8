"""Draw one figure: the renderer of its kind, the size of its smallest text, its dark variant.

The code here shapes every figure's bytes, so it is part of every figure's cache key (build.code_versions);
drawing many figures in parallel is pool.py's job, which shapes nothing.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

from generator.catalog import MPL_KINDS, RENDERERS
from generator.records import FigureSpec, RenderContext, Rendered
from generator.render import measure


def renderer(kind: str) -> Callable[[FigureSpec, RenderContext], Rendered]:
    """The pure function drawing `kind`: generator.render.<module>.render_<kind>."""
    module = importlib.import_module(f"generator.render.{RENDERERS[kind]}")
    return getattr(module, "render_" + kind.replace("-", "_"))


def render_one(
    spec: FigureSpec, ctx: RenderContext, dark: bool = False, redraw: bool = True, only_dark: bool = False
) -> Rendered:
    """Draw one figure, with the size of the smallest text it drew (min_text_px; None if none); dark: with
    its dark variant (Rendered.dark) when it has one. redraw=False leaves out the dark variants that would
    be drawn a second time (catalog.MPL_KINDS); palette swaps cost nothing. only_dark (catalog.MPL_KINDS):
    draw the dark variant alone, returned as Rendered.dark with empty `data` (the caller has the light one)."""
    draw = renderer(spec.kind)
    if only_dark:
        from generator.render import mpl

        with mpl.scheme(dark=True):
            fig = draw(spec, ctx)
        measure.take()
        return dataclasses.replace(fig, data=b"", dark=fig.data)
    measure.take()  # forget whatever was drawn before
    fig = draw(spec, ctx)
    drawn = measure.take()
    if fig.min_text_px is None and drawn is not None:
        fig = dataclasses.replace(fig, min_text_px=round(drawn, 2))
    if not dark or fig.dark is not None:  # (a renderer may draw its own: a photo in an indexed picture)
        return fig
    from generator.render.dark import swap

    variant = swap(fig.data)
    if variant is None and spec.kind in MPL_KINDS and redraw:
        from generator.render import mpl

        with mpl.scheme(dark=True):
            variant = draw(spec, ctx).data
        measure.take()  # the dark redraw's text is the same size: not a second measurement
    return dataclasses.replace(fig, dark=variant)
