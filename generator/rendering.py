"""Render a list of figure specs, in parallel across cores.

Workers are forked after the RenderContext is set, so the probe's arrays are shared copy-on-write
rather than pickled; only the encoded bytes travel back. Output order never depends on scheduling.
"""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing as mp
import os
from collections.abc import Callable, Container, Iterator
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from generator.catalog import MPL_KINDS, RENDERERS
from generator.records import FigureSpec, RenderContext, Rendered
from generator.render import measure

_CTX: RenderContext | None = None
_REDRAW: Container[str] | None = None  # ids whose matplotlib dark variant is drawn (None: every one)


def renderer(kind: str) -> Callable[[FigureSpec, RenderContext], Rendered]:
    """The pure function drawing `kind`: generator.render.<module>.render_<kind>."""
    module = importlib.import_module(f"generator.render.{RENDERERS[kind]}")
    return getattr(module, "render_" + kind.replace("-", "_"))


def render_one(spec: FigureSpec, ctx: RenderContext, dark: bool = False, redraw: bool = True) -> Rendered:
    """Draw one figure, with the size of the smallest text it drew (min_text_px; None if none); dark: with
    its dark variant (Rendered.dark) when it has one. redraw=False leaves out the dark variants that would
    be drawn a second time (catalog.MPL_KINDS); palette swaps cost nothing."""
    draw = renderer(spec.kind)
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


def _work(spec: FigureSpec) -> Rendered:
    assert _CTX is not None
    return render_one(spec, _CTX, dark=True, redraw=_REDRAW is None or spec.id in _REDRAW)


def render_many(
    specs: list[FigureSpec],
    ctx: RenderContext,
    workers: int = 0,
    progress: bool = True,
    dark: Container[str] | None = None,
) -> Iterator[tuple[FigureSpec, Rendered]]:
    """Yield (spec, rendered) in catalogue order, with dark variants (`dark`: the ids whose matplotlib
    dark variant is drawn too; None: every one)."""
    global _CTX, _REDRAW
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(specs), desc="render", unit="fig", disable=not progress, leave=False, dynamic_ncols=True)
    try:
        if workers == 1 or len(specs) < 8:
            for spec in specs:
                yield spec, render_one(spec, ctx, dark=True, redraw=dark is None or spec.id in dark)
                bar.update()
            return
        _CTX, _REDRAW = ctx, dark
        for kind in {spec.kind for spec in specs}:  # import each renderer (matplotlib too) once, before the
            renderer(kind)  # fork: every worker inherits it instead of importing it again
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            for spec, rendered in zip(specs, pool.map(_work, specs, chunksize=4), strict=True):
                yield spec, rendered
                bar.update()
    finally:
        _CTX, _REDRAW = None, None
        bar.close()
