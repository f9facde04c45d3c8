"""Render a list of figure specs, in parallel across cores.

Workers are forked after the RenderContext is set, so the probe's arrays are shared copy-on-write
rather than pickled; only the encoded bytes travel back. Output never depends on scheduling.
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

SLOW_KINDS = MPL_KINDS | {"overview"}  # 0.3-0.5 s a figure, measured; a GIF takes 0.02-0.1 s
_CTX: RenderContext | None = None
_REDRAW: Container[str] | None = None  # ids whose matplotlib dark variant is drawn (None: every one)
_ONLY_DARK: Container[str] = ()  # ids whose light picture is cached already: draw the dark one alone


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


def slow_first(specs: list[FigureSpec]) -> list[FigureSpec]:
    """The specs with the slow kinds first, each group in its given order."""
    return sorted(specs, key=lambda spec: spec.kind not in SLOW_KINDS)


def _work(spec: FigureSpec) -> Rendered:
    assert _CTX is not None
    redraw = _REDRAW is None or spec.id in _REDRAW
    return render_one(spec, _CTX, dark=True, redraw=redraw, only_dark=spec.id in _ONLY_DARK)


def render_many(
    specs: list[FigureSpec],
    ctx: RenderContext,
    workers: int = 0,
    progress: bool = True,
    dark: Container[str] | None = None,
    only_dark: Container[str] = (),
) -> Iterator[tuple[FigureSpec, Rendered]]:
    """Yield (spec, rendered) for every spec (a small batch: SLOW_KINDS first), with dark
    variants (`dark`: the ids whose matplotlib dark variant is drawn too; None: every one; `only_dark`:
    the ids to draw in the dark scheme alone)."""
    global _CTX, _REDRAW, _ONLY_DARK
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(specs), desc="render", unit="fig", disable=not progress, leave=False, dynamic_ncols=True)
    try:
        if workers == 1 or len(specs) < 8:
            for spec in specs:
                redraw = dark is None or spec.id in dark
                yield spec, render_one(spec, ctx, dark=True, redraw=redraw, only_dark=spec.id in only_dark)
                bar.update()
            return
        _CTX, _REDRAW, _ONLY_DARK = ctx, dark, only_dark
        for kind in {spec.kind for spec in specs}:  # import each renderer (matplotlib too) once, before the
            renderer(kind)  # fork: every worker inherits it instead of importing it again
        # Chunks of 4 save messages in a cold build. A small batch (an added image, another featured one)
        # goes one figure at a time, its slow figures (matplotlib and the raster overview: 0.3-0.5 s each,
        # five times a GIF) first: they end up on different cores, and the quick ones fill in behind them
        # instead of one slow figure finishing alone at the end.
        chunk = 4 if len(specs) > 400 else 1
        order = specs if chunk > 1 else slow_first(specs)
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            for spec, rendered in zip(order, pool.map(_work, order, chunksize=chunk), strict=True):
                yield spec, rendered
                bar.update()
    finally:
        _CTX, _REDRAW, _ONLY_DARK = None, None, ()
        bar.close()
