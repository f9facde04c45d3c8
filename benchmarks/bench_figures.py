"""Row 8: one cache entry per figure. What an author's everyday changes cost on a warm cache (a new
image, another featured image), and a cold build of a site that uses two figures.

Each scenario runs `mkdocs build` in a subprocess on a copy of the cold build's workspace, and reads
the plugin's INFO line `tinyvgg: rendered N of M figures (K from cache)`: N - K figures were drawn.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from pathlib import Path

from benchmarks.bench_site import Workspace, mkdocs_build, parse_stage_log
from benchmarks.common import Row, check, run_timed
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


def scenario_rows(ws: Workspace, tmp: Path) -> list[Row]:
    rows = []
    root = _copy(ws, tmp / "new-image", 'images: ["bench photo.png"]\n')
    _image(root / "bench photo.png")
    proc = run_timed(mkdocs_build(), root)
    if proc.returncode != 0:
        raise RuntimeError("build with a new image failed:\n" + proc.tail())
    drawn, used = _drawn(proc.stderr)
    rows.append(
        Row(
            "8",
            f"add one image to a warm build: drew {drawn} of {used} figures",
            f"{proc.seconds:.1f} s",
            proc.seconds,
            "s",
            f"<= 8 s, {PER_IMAGE} drawn",
            check(proc.seconds, 8) and drawn == PER_IMAGE,
            "probe of that image + its explore page's figures; every other figure from the cache",
            {"drawn": drawn, "used": used},
        )
    )

    samples = ws.facts()["samples"]
    chosen = choose_featured(samples)  # the default featured image: take another one
    featured = next(s["slug"] for s in samples if s["slug"] != chosen)
    root = _copy(ws, tmp / "featured", f"featured: {featured}\n")
    proc = run_timed(mkdocs_build(), root)
    if proc.returncode != 0:
        raise RuntimeError("build with another featured image failed:\n" + proc.tail())
    drawn, used = _drawn(proc.stderr)
    rows.append(
        Row(
            "8",
            f"change `featured` on a warm build: drew {drawn} of {used} figures",
            f"{proc.seconds:.1f} s",
            proc.seconds,
            "s",
            f"<= 5 s, {DETAIL} drawn",
            check(proc.seconds, 5) and drawn == DETAIL,
            "the new featured image's conv-detail animations, raster overview and chapter figures' dark variants",
            {"drawn": drawn, "used": used},
        )
    )
    return rows


TWO_FIGURES = """\
site_name: Two figures
theme:
  name: material
  font: false
plugins:
  - tinyvgg
"""


def two_figure_rows(tmp: Path) -> list[Row]:
    """Another author's site: one page, two figures, an empty cache (so it trains)."""
    root = tmp / "two-figures"
    shutil.rmtree(root, ignore_errors=True)
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text(
        "# Two figures\n\n{{ figure input }}\n\n{{ figure kernels }}\n", encoding="utf-8"
    )
    (root / "mkdocs.yml").write_text(TWO_FIGURES, encoding="utf-8")
    proc = run_timed([sys.executable, "-m", "mkdocs", "build"], root)
    if proc.returncode != 0:
        raise RuntimeError("two-figure site failed:\n" + proc.tail())
    stages = parse_stage_log(proc.stderr)
    drawn, used = _drawn(proc.stderr)
    figures = [p for p in (root / "site" / "figures").rglob("*") if p.is_file() and p.name != "manifest.json"]
    rest = proc.seconds - stages.get("train", 0.0)
    return [
        Row(
            "8",
            f"two-figure site, cold: total {proc.seconds:.1f} s, training {stages.get('train', 0):.1f} s",
            f"+{rest:.1f} s",
            rest,
            "s",
            "training + <= 3 s; 2 figure files",
            check(rest, 3) and len(figures) == 2 and drawn == 2,
            f"the rest: data {stages.get('data', 0):.1f} s, then waiting for the trainer's torch "
            f"{stages.get('torch', 0):.1f} s, probe {stages.get('probe', 0):.1f} s, render "
            f"{stages.get('render', 0):.1f} s, MkDocs and imports; {len(figures)} figure files",
            {"stages": stages, "figure_files": len(figures), "used": used},
        ),
    ]
