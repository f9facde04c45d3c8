"""Rows 3 and 4: activation maps against naive matplotlib, and the convolution animations.

Both render from the cold build's own cache (its probe and weights), in this process.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass

from benchmarks.bench_site import Workspace
from benchmarks.common import KIB, Row, check, median, self_and_children_cpu
from generator.records import FigureSpec, RenderContext

NAIVE_SAMPLE = 113  # one image's maps: every layer size, 3 + 10 × 10 + 10
TINTS = {"tint:R": "Reds_r", "tint:G": "Greens_r", "tint:B": "Blues_r", "gray": "gray"}


@dataclass
class Loaded:
    ctx: RenderContext
    specs: list[FigureSpec]
    manifest: dict[str, dict]  # figure id -> the cold build's manifest entry


def load(ws: Workspace) -> Loaded:
    """The cold build's probes and weights as a RenderContext, and its figure catalogue."""
    from generator.build import catalog, prepare
    from generator.config import make_build_config
    from generator.stages.render import make_context

    manifest = ws.manifest()
    cfg = make_build_config(ws.root, featured=manifest["featured"])
    out = prepare(cfg, progress=False, log=lambda message: None)  # the cold build's cache: all hits
    ctx = make_context(cfg, out, {s["slug"] for s in out.facts["samples"]})
    return Loaded(ctx, catalog(cfg, out), {e["id"]: e for e in manifest["figures"]})


def _naive_map(plt, ctx: RenderContext, spec: FigureSpec) -> bytes:
    """What a matplotlib-per-map renderer does: new figure, imshow, colour bar, title, savefig."""
    from generator.render.colors import stage_scale

    probe = ctx.probes[spec.image]
    cmap, lo, hi = stage_scale(probe.stages, spec.layer, spec.neuron, ctx.scale)
    if spec.layer == "output":
        values = probe.stages["output"][spec.neuron : spec.neuron + 1].reshape(1, 1)
    else:
        values = probe.stages[spec.layer][spec.neuron]
    fig = plt.figure(figsize=(2.72, 3.3), dpi=100)  # about our maps' pixel size (272 × 330)
    try:
        ax = fig.add_subplot()
        im = ax.imshow(values, cmap=TINTS.get(cmap, cmap), vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{spec.layer} #{spec.neuron}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.08, pad=0.04)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


def activation_rows(data: Loaded, workers: int = 0) -> list[Row]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from generator.pool import render_many

    maps = [s for s in data.specs if s.kind == "activation"]
    images = len({s.image for s in maps})
    t, c = time.perf_counter(), self_and_children_cpu()
    pooled = list(render_many(maps, data.ctx, workers, progress=False))
    pool_s, pool_cpu = time.perf_counter() - t, self_and_children_cpu() - c
    t, c = time.perf_counter(), self_and_children_cpu()
    single = list(render_many(maps, data.ctx, 1, progress=False))
    single_s, single_cpu = time.perf_counter() - t, self_and_children_cpu() - c
    t = time.perf_counter()  # again, now that fonts, colour tables and colour bars are cached in this process
    list(render_many(maps, data.ctx, 1, progress=False))
    again_s = time.perf_counter() - t
    same = all(a[1].data == b[1].data for a, b in zip(pooled, single, strict=True))
    sample = [s for s in maps if s.image == maps[0].image][:NAIVE_SAMPLE]
    _naive_map(plt, data.ctx, sample[0])  # warm-up (font cache, colormaps): not counted against matplotlib
    t, c = time.perf_counter(), self_and_children_cpu()
    naive_bytes = sum(len(_naive_map(plt, data.ctx, s)) for s in sample)
    naive_sample_s, naive_cpu = time.perf_counter() - t, self_and_children_cpu() - c
    naive_s = naive_sample_s * len(maps) / len(sample)
    ours_bytes = sum(len(r.data) for _, r in pooled)
    speedup, speedup_single = naive_s / pool_s, naive_s / single_s
    import os

    n_workers = workers or os.cpu_count() or 1
    return [
        Row(
            "3",
            f"{len(maps):,} activation maps ({images} images), ours: render_many, {n_workers} processes",
            f"{pool_s:.2f} s",
            pool_s,
            "s",
            "<= 3 s",
            check(pool_s, 3.0),
            f"{ours_bytes / len(maps) / KIB:.1f} KiB a map; pool start-up included; CPU {pool_cpu:.2f} s",
            {"maps": len(maps), "bytes": ours_bytes, "identical_to_single_process": same, "cpu_s": pool_cpu},
        ),
        Row(
            "3",
            "  ours, single process",
            f"{single_s:.2f} s",
            single_s,
            "s",
            note=f"{1000 * single_s / len(maps):.2f} ms a map; CPU {single_cpu:.2f} s; output identical to "
            f"the pool's: {same}",
            details={"cpu_s": single_cpu},
        ),
        Row(
            "3",
            "  ours, single process, second pass (caches warm)",
            f"{again_s:.2f} s",
            again_s,
            "s",
            note="the first pass pays once per process for matplotlib's import (colour tables), fonts, "
            "colour bars; every render worker pays it too",
        ),
        Row(
            "3",
            f"  naive matplotlib (figure+imshow+colorbar+savefig), {len(sample)} timed ×{len(maps) / len(sample):g}",
            f"{naive_s:.1f} s",
            naive_s,
            "s",
            note=f"extrapolated from {naive_sample_s:.2f} s for {len(sample)} maps "
            f"(one image, every layer); {1000 * naive_sample_s / len(sample):.1f} ms a map, "
            f"{naive_bytes / len(sample) / KIB:.1f} KiB a map",
            details={"sample": len(sample), "sample_s": naive_sample_s, "sample_cpu_s": naive_cpu},
        ),
        Row(
            "3",
            "  speed-up: naive / ours (pool)",
            f"{speedup:.1f}×",
            speedup,
            "x",
            ">= 8×",
            check(speedup, 8, at_most=False),
            f"single process: {speedup_single:.1f}×; by CPU time: "
            f"{naive_cpu * len(maps) / len(sample) / single_cpu:.1f}× (single process)",
        ),
        activation_batch_row(data.ctx, maps[0].image),  # after the passes above: caches are warm
    ]


def activation_batch_row(ctx: RenderContext, image: str) -> Row:
    """One image's maps (every layer, 113 for TinyVGG) in one render_activation_batch call, in this
    process: the per-image share of row 3's budget, with room for a loaded machine."""
    from generator.render.activations import render_activation_batch

    t = time.perf_counter()
    batch = render_activation_batch(ctx.probes[image], classes=ctx.classes)
    seconds = time.perf_counter() - t
    return Row(
        "3",
        f"  one image's {len(batch)} maps, render_activation_batch, single process",
        f"{seconds:.2f} s",
        seconds,
        "s",
        "<= 1 s",
        check(seconds, 1.0),
        f"image {image}; {1000 * seconds / len(batch):.2f} ms a map",
        {"maps": len(batch)},
    )


def _gif_info(data: bytes) -> tuple[int, int | None]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.n_frames, im.info.get("loop")


def conv_rows(data: Loaded) -> list[Row]:
    from generator.rendering import render_one

    # kind -> [(seconds, bytes, frames, loop, identical to the build's)]
    stats: dict[str, list[tuple]] = {"conv-overview": [], "conv-detail": []}
    for spec in data.specs:
        if spec.kind not in stats:
            continue
        t = time.perf_counter()
        rendered = render_one(spec, data.ctx)
        dt = time.perf_counter() - t
        frames, loop = _gif_info(rendered.data)
        built = data.manifest.get(spec.id)  # None: the site does not use this one (compared with nothing)
        same = built is None or hashlib.sha256(rendered.data).hexdigest()[:16] == built["hash"]
        stats[spec.kind].append((dt, len(rendered.data), frames, loop, same))
    every = [s for v in stats.values() for s in v]
    times, sizes = [s[0] for s in every], [s[1] for s in every]
    frames = max(s[2] for s in every)
    loops = {s[3] for s in every}
    identical = sum(s[4] for s in every)
    rows = [
        Row(
            "4",
            f"conv GIF render time, median over {len(every)} (max {max(times):.3f} s)",
            f"{median(times):.3f} s",
            median(times),
            "s",
            "median <= 0.25 s",
            check(median(times), 0.25),
            "one at a time in this process, from the cold build's cache",
        ),
        Row(
            "4",
            "  conv GIF render time, max",
            f"{max(times):.3f} s",
            max(times),
            "s",
            "each <= 1 s",
            check(max(times), 1.0),
            "the slowest single GIF: no figure may stall a build",
        ),
        Row(
            "4",
            f"  conv GIF size, max (median {median(sizes) / KIB:.0f} KiB)",
            f"{max(sizes) / KIB:.1f} KiB",
            max(sizes) / KIB,
            "KiB",
            "each <= 150 KiB",
            check(max(sizes), 150 * KIB),
        ),
        Row(
            "4",
            "  conv GIF frames, max; loop",
            f"{frames}; loop={'forever' if loops == {0} else loops}",
            float(frames),
            "frames",
            "<= 60; forever",
            frames <= 60 and loops == {0},
        ),
        Row(
            "4",
            "  conv GIFs byte-identical to the cold build's",
            f"{identical}/{len(every)}",
            float(identical),
            "",
            "all (deterministic)",
            identical == len(every),
        ),
    ]
    for kind, v in stats.items():
        t, b = [s[0] for s in v], [s[1] for s in v]
        rows.append(
            Row(
                "4",
                f"  {kind} ({len(v)}): time median / max; size median / max",
                f"{median(t):.3f} / {max(t):.3f} s; {median(b) / KIB:.0f} / {max(b) / KIB:.0f} KiB",
                median(t),
                "s",
                details={"time_max_s": max(t), "bytes_median": median(b), "bytes_max": max(b)},
            )
        )
    other: dict[str, list[int]] = {}
    for e in data.manifest.values():
        if e["file"].endswith(".gif") and e["kind"] not in stats:
            other.setdefault(e["kind"], []).append(e["bytes"])
    for kind, sizes_k in sorted(other.items()):  # issue 3 names softmax; the site holds every GIF to it
        biggest = max(sizes_k)
        rows.append(
            Row(
                "4",
                f"  {kind} GIF size, max of {len(sizes_k)}",
                f"{biggest / KIB:.1f} KiB",
                biggest / KIB,
                "KiB",
                "<= 150 KiB",
                check(biggest, 150 * KIB),
            )
        )
    return rows
