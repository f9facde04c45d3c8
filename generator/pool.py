"""Draw a list of figures in parallel across cores (build.render's misses).

Workers are forked after the RenderContext is set, so the probe's arrays are shared copy-on-write
rather than pickled; only the encoded bytes travel back. Output never depends on scheduling: this
module decides only who draws what and when, so it is no part of any figure's cache key (what shapes a
figure is rendering.render_one and the renderers).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Container, Generator, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from generator.catalog import MPL_KINDS
from generator.config import BuildConfig
from generator.output import BuildOutput
from generator.records import FigureSpec, RenderContext, Rendered
from generator.rendering import render_one, renderer
from generator.stages.render import make_context

SLOW_KINDS = MPL_KINDS | {"overview"}  # 0.3-0.5 s a figure, measured; a GIF takes 0.02-0.1 s
_CTX: RenderContext | None = None
_REDRAW: Container[str] | None = None  # ids whose matplotlib dark variant is drawn (None: every one)
_ONLY_DARK: Container[str] = ()  # ids whose light picture is cached already: draw the dark one alone
_RENDERING = False  # True while render_figures' worker pool may fork


def _die_with_parent() -> None:
    """In a render worker (a child forked while _RENDERING): die when the build process dies.

    A build killed with SIGKILL cannot shut its worker pool down; without this, the workers would
    linger forever, blocked on a pipe nobody reads. Linux only (prctl); elsewhere a no-op."""
    if not _RENDERING or sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


os.register_at_fork(after_in_child=_die_with_parent)


def render_figures(
    cfg: BuildConfig,
    out: BuildOutput,
    specs: list[FigureSpec],
    progress: bool,
    dark: Container[str] | None = None,
    only_dark: Container[str] = (),
    rank: Mapping[str, int] | None = None,
    preload: bool = True,
) -> Generator[tuple[FigureSpec, Rendered], None, None]:
    """Start drawing `specs` (in parallel across cores) and return a generator yielding each with its
    picture (order, `dark`, `only_dark` and `rank`: see render_many). Closing the generator
    early drops the figures not drawn yet."""
    global _RENDERING
    ctx = make_context(cfg, out, {spec.image for spec in specs if spec.image})
    _RENDERING = True  # the render workers forked from here die with this process
    try:
        return render_many(specs, ctx, cfg.render.workers, progress, dark, only_dark, rank, preload)
    finally:
        _RENDERING = False  # the workers are forked by now (render_many starts them at once)


def slow_first(specs: list[FigureSpec], rank: Mapping[str, int] | None = None) -> list[FigureSpec]:
    """The specs by `rank` (id -> 0, 1, 2...: drawn in that order; absent: 0), the slow kinds first within
    each rank, each group in its given order."""
    rank = rank or {}
    return sorted(specs, key=lambda spec: (rank.get(spec.id, 0), spec.kind not in SLOW_KINDS))


def _load(kinds: list[str]) -> None:
    """A worker's start: the renderers it will need (already there when the parent preloaded them)."""
    for kind in kinds:
        renderer(kind)


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
    rank: Mapping[str, int] | None = None,
    preload: bool = True,
) -> Generator[tuple[FigureSpec, Rendered], None, None]:
    """Start drawing every spec and return a generator of (spec, rendered), with dark variants (`dark`: the
    ids whose matplotlib dark variant is drawn too; None: every one; `only_dark`: the ids to draw in the
    dark scheme alone). `rank` orders them (see slow_first; the slow kinds go first only in a small
    batch: a big one keeps its given order within each rank).

    With a worker pool, every figure is queued before this returns: the workers keep drawing while the
    caller handles what came back, or while it does something else before asking for the rest
    (build.render's `later`). Closing the generator early drops what is still queued. `preload`: import
    the renderers here, before forking, so that every worker inherits them; without it each worker
    imports them as it starts, and this process returns at once (build.render goes on checking the cache
    meanwhile)."""
    global _CTX, _REDRAW, _ONLY_DARK
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(specs), desc="render", unit="fig", disable=not progress, leave=False, dynamic_ncols=True)
    if workers == 1 or len(specs) < 8:
        return _drawn_here(slow_first(specs, rank) if rank else specs, ctx, dark, only_dark, bar)
    _CTX, _REDRAW, _ONLY_DARK = ctx, dark, only_dark
    try:
        kinds = sorted({spec.kind for spec in specs})
        for kind in kinds if preload else ():  # import each renderer (matplotlib too) once, before the fork:
            renderer(kind)  # every worker inherits it instead of importing it again
        # Chunks of 4 save messages in a cold build. A small batch (an added image, another featured one)
        # goes one figure at a time, its slow figures (matplotlib and the raster overview: 0.3-0.5 s each,
        # five times a GIF) first: they end up on different cores, and the quick ones fill in behind them
        # instead of one slow figure finishing alone at the end.
        chunk = 4 if len(specs) > 400 else 1
        ranks = rank or {}
        order = sorted(specs, key=lambda spec: ranks.get(spec.id, 0)) if chunk > 1 else slow_first(specs, rank)
        # Without preload, a worker starts with the renderers of the first rank (what the caller waits
        # for); the others' (matplotlib's, maybe) load when their first figure comes, while the caller is busy.
        first = sorted({s.kind for s in specs if not rank or rank.get(s.id, 0) == 0}) or kinds
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("fork"), initializer=_load, initargs=(first,)
        )
        results = pool.map(_work, order, chunksize=chunk)  # forks the workers and queues every figure
    except BaseException:
        bar.close()
        raise
    finally:
        _CTX, _REDRAW, _ONLY_DARK = None, None, ()  # the workers have their copies
    return _drawn_there(order, results, pool, bar)


def _drawn_here(
    specs: list[FigureSpec], ctx: RenderContext, dark: Container[str] | None, only_dark: Container[str], bar: tqdm
) -> Generator[tuple[FigureSpec, Rendered], None, None]:
    with bar:
        for spec in specs:
            redraw = dark is None or spec.id in dark
            yield spec, render_one(spec, ctx, dark=True, redraw=redraw, only_dark=spec.id in only_dark)
            bar.update()


def _drawn_there(
    order: list[FigureSpec], results: Iterator[Rendered], pool: ProcessPoolExecutor, bar: tqdm
) -> Generator[tuple[FigureSpec, Rendered], None, None]:
    try:
        for spec, rendered in zip(order, results, strict=True):
            yield spec, rendered
            bar.update()
    finally:  # finished, failed or closed early: drop what is still queued, wait for what is drawing
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
