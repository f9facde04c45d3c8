"""Render a list of figure specs, in parallel across cores.

Workers are forked after the RenderContext is set, so the probe's arrays are shared copy-on-write
rather than pickled; only the encoded bytes travel back. Output order never depends on scheduling.
"""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from generator.catalog import RENDERERS, VECTOR_KINDS
from generator.records import FigureSpec, RenderContext, Rendered

_CTX: RenderContext | None = None
# The kinds drawn with matplotlib: their dark variant is drawn again in the dark style (render/mpl.py's
# scheme); every other figure's is its palette swapped (render/dark.py), which costs next to nothing.
MPL_KINDS = frozenset((*VECTOR_KINDS, "hyperparameter", "kernel-evolution"))


def renderer(kind: str) -> Callable[[FigureSpec, RenderContext], Rendered]:
    """The pure function drawing `kind`: generator.render.<module>.render_<kind>."""
    module = importlib.import_module(f"generator.render.{RENDERERS[kind]}")
    return getattr(module, "render_" + kind.replace("-", "_"))


def render_one(spec: FigureSpec, ctx: RenderContext, dark: bool = False) -> Rendered:
    """Draw one figure; dark: with its dark variant (Rendered.dark) when it has one."""
    draw = renderer(spec.kind)
    fig = draw(spec, ctx)
    if not dark or fig.dark is not None:  # (a renderer may draw its own: a photo in an indexed picture)
        return fig
    from generator.render.dark import swap

    variant = swap(fig.data)
    if variant is None and spec.kind in MPL_KINDS:
        from generator.render import mpl

        with mpl.scheme(dark=True):
            variant = draw(spec, ctx).data
    return dataclasses.replace(fig, dark=variant)


def _work(spec: FigureSpec) -> Rendered:
    assert _CTX is not None
    return render_one(spec, _CTX, dark=True)


def render_many(
    specs: list[FigureSpec], ctx: RenderContext, workers: int = 0, progress: bool = True
) -> Iterator[tuple[FigureSpec, Rendered]]:
    """Yield (spec, rendered) in catalogue order."""
    global _CTX
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(specs), desc="render", unit="fig", disable=not progress, leave=False, dynamic_ncols=True)
    try:
        if workers == 1 or len(specs) < 8:
            for spec in specs:
                yield spec, render_one(spec, ctx, dark=True)
                bar.update()
            return
        _CTX = ctx
        for kind in {spec.kind for spec in specs}:  # import each renderer (matplotlib too) once, before the
            renderer(kind)  # fork: every worker inherits it instead of importing it again
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            for spec, rendered in zip(specs, pool.map(_work, specs, chunksize=4), strict=True):
                yield spec, rendered
                bar.update()
    finally:
        _CTX = None
        bar.close()
