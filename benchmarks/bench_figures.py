"""Row 8: one cache entry per figure. What an author's everyday changes cost on a warm cache (a new
image, another featured image), and a cold build of a site that uses two figures.

Each scenario runs `mkdocs build` in a subprocess on a fresh copy of the cold build's workspace, and
reads the plugin's INFO line `tinyvgg: rendered N of M figures (K from cache)`: N - K figures were drawn.
Each runs `runs` times (run.py's --runs), each time on a new copy, and the row shows the median with the
range beside it: one build of a few seconds moves by half a second with whatever else the host is doing.
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_site import Workspace, mkdocs_build, parse_stage_log
from benchmarks.common import Proc, Row, check, run_timed
from generator.examples import choose_featured

RENDERED = re.compile(r"tinyvgg: rendered (\d+) of (\d+) figures \((\d+) from cache\)")
# An explore page's figures: input, flatten and softmax (those two in both languages), 11 grids (the output
# layer's in both languages), 40 conv animations, 4 relu, 2 pool, and the HTML overview's 103 tiles and photo.
PER_IMAGE = 168
# The new featured image's 40 step-by-step convolution animations, its raster overview (zh, en), and the
# dark variants of its flatten and softmax figures (zh, en), which the chapters show: matplotlib draws those
# in the dark style, beside the light pictures cached from its explore page (palette-swapped figures get
# theirs for free).
DETAIL = 46


def _drawn(stderr: str) -> tuple[int, int]:
    found = RENDERED.findall(stderr)
    if len(found) != 1:
        raise RuntimeError("the plugin's 'tinyvgg: rendered N of M figures' line is missing:\n" + stderr[-2000:])
    used, _, cached = map(int, found[0])
    return used - cached, used


def _copy(ws: Workspace, root: Path, options: str) -> Path:
    """A copy of the workspace (its warm cache too) with extra plugin options in mkdocs.yml."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copytree(ws.root / "docs", root / "docs")
    shutil.copytree(ws.root / ".cache", root / ".cache", ignore=shutil.ignore_patterns("build.lock"))
    config = (ws.root / "mkdocs.yml").read_text(encoding="utf-8")
    if "\n  - tinyvgg:\n" not in config:
        raise RuntimeError("mkdocs.yml has no `  - tinyvgg:` block to add options to")
    config = config.replace("\n  - tinyvgg:\n", "\n  - tinyvgg:\n" + textwrap.indent(options, " " * 6), 1)
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    return root


def _image(path: Path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)  # non-square: the loader crops it
    Image.fromarray(pixels).save(path)


def _runs(setup: Callable[[], Path], runs: int, what: str, cmd: list[str] | None = None) -> list[Proc]:
    """`runs` builds, each in the fresh folder that setup() makes; every one must succeed."""
    procs = []
    for _ in range(runs):
        proc = run_timed(cmd or mkdocs_build(), setup())
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed:\n" + proc.tail())
        procs.append(proc)
    return procs


def _spread(values: list[float]) -> str:
    return f"{len(values)} runs, {min(values):.1f} to {max(values):.1f} s" if len(values) > 1 else "1 run"


def _scenario(
    name: str, setup: Callable[[], Path], runs: int, limit: float, expected: int, note: str, what: str
) -> Row:
    procs = _runs(setup, runs, what)
    counts = {_drawn(p.stderr) for p in procs}
    drawn, used = sorted(counts)[0]
    seconds = statistics.median(p.seconds for p in procs)
    return Row(
        "8",
        f"{name}: drew {drawn} of {used} figures",
        f"{seconds:.1f} s",
        seconds,
        "s",
        f"<= {limit:g} s, {expected} drawn",
        check(seconds, limit) and counts == {(expected, used)},
        f"{note}; median of {_spread([p.seconds for p in procs])}",
        {"drawn": drawn, "used": used, "seconds": [round(p.seconds, 2) for p in procs]},
    )


def scenario_rows(ws: Workspace, tmp: Path, runs: int = 1) -> list[Row]:
    def with_image() -> Path:
        root = _copy(ws, tmp / "new-image", 'images: ["bench photo.png"]\n')
        _image(root / "bench photo.png")
        return root

    samples = ws.facts()["samples"]
    chosen = choose_featured(samples)  # the default featured image: take another one
    featured = next(s["slug"] for s in samples if s["slug"] != chosen)
    return [
        _scenario(
            "add one image to a warm build",
            with_image,
            runs,
            8,
            PER_IMAGE,
            "probe of that image + its explore page's figures; every other figure from the cache",
            "build with a new image",
        ),
        _scenario(
            "change `featured` on a warm build",
            lambda: _copy(ws, tmp / "featured", f"featured: {featured}\n"),
            runs,
            5,
            DETAIL,
            "the new featured image's conv-detail animations, raster overview and chapter figures' dark variants",
            "build with another featured image",
        ),
    ]


TWO_FIGURES = """\
site_name: Two figures
theme:
  name: material
  font: false
plugins:
  - tinyvgg
"""


def two_figure_rows(tmp: Path, runs: int = 1) -> list[Row]:
    """Another author's site: one page, two figures, an empty cache (so it trains). Each run starts from
    nothing; the row is the median run by its time beyond training."""
    root = tmp / "two-figures"

    def setup() -> Path:
        shutil.rmtree(root, ignore_errors=True)
        (root / "docs").mkdir(parents=True)
        (root / "docs" / "index.md").write_text(
            "# Two figures\n\n{{ figure input }}\n\n{{ figure kernels }}\n", encoding="utf-8"
        )
        (root / "mkdocs.yml").write_text(TWO_FIGURES, encoding="utf-8")
        return root

    results = []
    for proc in _runs(setup, runs, "two-figure site", [sys.executable, "-m", "mkdocs", "build"]):
        stages = parse_stage_log(proc.stderr)
        drawn, used = _drawn(proc.stderr)
        figures = [p for p in (root / "site" / "figures").rglob("*") if p.is_file() and p.name != "manifest.json"]
        results.append((proc.seconds - stages.get("train", 0.0), proc, stages, drawn, used, len(figures)))
    rests = [r[0] for r in results]
    rest, proc, stages, _, used, _ = sorted(results, key=lambda r: r[0])[len(results) // 2]
    right = all(r[3] == 2 and r[5] == 2 for r in results)
    return [
        Row(
            "8",
            f"two-figure site, cold: total {proc.seconds:.1f} s, training {stages.get('train', 0):.1f} s",
            f"+{rest:.1f} s",
            rest,
            "s",
            "training + <= 3 s; 2 figure files",
            check(rest, 3) and right,
            f"the rest: data {stages.get('data', 0):.1f} s, then waiting for the trainer's torch "
            f"{stages.get('torch', 0):.1f} s, probe {stages.get('probe', 0):.1f} s, render "
            f"{stages.get('render', 0):.1f} s, MkDocs and imports; {results[0][5]} figure files; the median of "
            f"{_spread(rests)} beyond training",
            {"stages": stages, "figure_files": results[0][5], "used": used, "beyond_training": rests},
        ),
    ]
