"""`figure` for slides and documents: SVG and PDF of the figures drawn with matplotlib, PNG at 2 or 3 times
the pixels, the bytes alone on stdout with `-o -`, captions in either language, `--list`, and errors that
name the valid choices. The renderers' vector and zoomed output is checked in process on the shared
render context; the command line end to end on the session's small trained cache."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from cli_support import SMALL, child_env, gen, ok, one_error
from PIL import Image
from render_fixtures import render_context

from generator import cli
from generator.catalog import HYPERS, KINDS, VECTOR_KINDS, formats, make_spec
from generator.records import Rendered
from generator.render.png import enlarge
from generator.rendering import render_one

SVG_NS = "{http://www.w3.org/2000/svg}"
MPL_PNG_KINDS = [k for k in VECTOR_KINDS if KINDS[k][3] == "png"]  # softmax is a GIF on the site


def _render(kind: str, **changes: object) -> Rendered:
    spec = make_spec(kind, image="ladybug" if KINDS[kind][0] == "image" else None)
    return render_one(spec, dataclasses.replace(render_context(), **changes))


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGBA"))


# -- the renderers' output for `figure` ---------------------------------------------------------------


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_vector_kinds_write_svg_and_pdf(kind: str) -> None:
    svg = _render(kind, output="svg")
    root = ET.fromstring(svg.data)
    assert root.tag == f"{SVG_NS}svg"
    # The size of the site's PNG, at 100 px per inch (72 pt)
    site = _render(kind)
    assert float(root.get("width").removesuffix("pt")) == pytest.approx(site.width * 0.72)
    assert float(root.get("height").removesuffix("pt")) == pytest.approx(site.height * 0.72)
    assert (svg.width, svg.height) == (site.width, site.height)
    assert len(root.findall(f".//{SVG_NS}path")) > 20, "drawn as vector paths"
    assert _render(kind, output="svg").data == svg.data, "SVG output is not deterministic"
    pdf = _render(kind, output="pdf").data
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/CreationDate" not in pdf
    assert _render(kind, output="pdf").data == pdf, "PDF output is not deterministic"
    assert svg.alt == site.alt and svg.caption == site.caption


@pytest.mark.parametrize("kind", MPL_PNG_KINDS)
def test_zoom_redraws_matplotlib_figures_at_higher_resolution(kind: str) -> None:
    one = _render(kind)
    two = _render(kind, zoom=2)
    small, big = _pixels(one.data), _pixels(two.data)
    assert big.shape[:2] == (2 * small.shape[0], 2 * small.shape[1])
    assert (two.width, two.height) == (2 * one.width, 2 * one.height) == (big.shape[1], big.shape[0])
    # Redrawn, not enlarged: lines and text have detail that pixel doubling cannot give.
    assert not np.array_equal(big, np.repeat(np.repeat(small, 2, axis=0), 2, axis=1))


@pytest.mark.parametrize("mode", ["P", "RGB", "RGBA"])
def test_enlarge_is_pixel_exact(mode: str) -> None:
    rng = np.random.default_rng(1)
    if mode == "P":
        im = Image.fromarray(rng.integers(0, 7, (5, 9), dtype=np.uint8), "P")
        im.putpalette(rng.integers(0, 256, 7 * 3, dtype=np.uint8).tobytes())
    else:
        im = Image.fromarray(rng.integers(0, 256, (5, 9, len(mode)), dtype=np.uint8), mode)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    for zoom in (2, 3):
        with Image.open(io.BytesIO(enlarge(buf.getvalue(), zoom))) as big:
            assert big.mode == mode and big.size == (9 * zoom, 5 * zoom)
            expected = np.repeat(np.repeat(np.asarray(im), zoom, axis=0), zoom, axis=1)
            assert np.array_equal(np.asarray(big), expected)


# -- the command line, no model needed ------------------------------------------------------------------


def test_list_prints_every_kind_with_its_options_and_formats(tmp_path: Path) -> None:
    out = ok(gen("figure", "--list", cwd=tmp_path, timeout=60))
    rows = {line.split()[0]: line for line in out.strip().splitlines()[1:]}
    assert list(rows) == list(KINDS)
    for kind, (scope, layers, takes_neuron, _) in KINDS.items():
        assert rows[kind].split()[1] == "|".join(formats(kind))
        assert ("--image" in rows[kind]) == (scope == "image")
        assert ("--neuron" in rows[kind]) == takes_neuron
        for layer in layers or ():
            assert re.search(rf"[ |]{layer}[ |]", rows[kind]), (kind, layer)
    assert all(h in rows["hyperparameter"] for h in HYPERS)
    one = ok(gen("figure", "--list", "kernels", cwd=tmp_path, timeout=60)).strip().splitlines()
    assert len(one) == 2 and one[1].split() == rows["kernels"].split()
    assert not any(tmp_path.iterdir())


BAD = [
    # arguments, what the one error line must name
    (["heatmap", "-o", "h.png"], ["'heatmap'", "known kinds", "overview", "confusion-matrix"]),
    (["-o", "h.png"], ["kind", "overview", "--list"]),
    (["kernels"], ["-o", "--format"]),
    (["overview", "-o", "o.svg"], ["-o o.svg", "'overview'", ".png"]),
    (["input", "-o", "i.pdf"], ["-o i.pdf", "'input'", ".png"]),  # not 'a input figure'
    (["softmax", "-o", "s.png"], ["-o s.png", ".gif, .svg or .pdf"]),
    (["kernels", "-o", "-"], ["--format", "png, svg or pdf"]),
    (["kernels", "-o", "-", "--format", "gif"], ["--format gif", "png, svg or pdf"]),
    (["kernels", "-o", "k.png", "--format", "svg"], ["--format svg", "k.png"]),
    (["kernels", "-o", "k.svg", "--zoom", "2"], ["--zoom 2", "PNG"]),
    (["conv-overview", "-o", "c.gif", "--zoom", "3"], ["--zoom 3", "PNG", "GIF"]),
    (["kernels", "-o", "k.png", "--zoom", "4"], ["--zoom", "1, 2, 3"]),
    (["kernels", "-o", "k.png", "--lang", "fr"], ["--lang", "'zh', 'en'"]),
    (["kernels", "-o", "-", "--format", "tiff"], ["--format", "'png', 'gif', 'svg', 'pdf'"]),
]


@pytest.mark.parametrize(("args", "needles"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_figure_arguments_name_the_choices(args: list[str], needles: list[str], tmp_path: Path) -> None:
    proc = gen("figure", *args, "--cache-dir", tmp_path / "cache", "--quiet", cwd=tmp_path, timeout=60)
    line = one_error(proc, *needles)
    assert proc.returncode == 2 and proc.stdout == ""
    assert " a input" not in line
    assert not (tmp_path / "cache").exists(), "nothing is trained for a command that cannot succeed"


def test_stdout_that_is_a_terminal_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert cli.main(["figure", "kernels", "-o", "-", "--format", "png", "--cache-dir", str(tmp_path / "c")]) == 2
    assert "terminal" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


# -- the command line on a trained model ----------------------------------------------------------------


def _figure(*args: str | Path, cache: Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """`figure ARGS` with stdout kept as bytes."""
    cmd = [sys.executable, "-m", "generator", "figure", *map(str, args), *SMALL, "--quiet", "--cache-dir", str(cache)]
    return subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, timeout=600, check=False)


def test_svg_and_pdf_files(small_cache: Path, tmp_path: Path) -> None:
    out = ok(
        gen(
            "figure",
            "kernels",
            "--layer",
            "conv_2_1",
            "-o",
            tmp_path / "k.svg",
            *SMALL,
            "--quiet",
            "--cache-dir",
            small_cache,
            cwd=tmp_path,
        )
    )
    assert re.match(rf"{re.escape(str(tmp_path / 'k.svg'))}: kernels \d+×\d+ \(SVG\), \d+ KiB$", out.splitlines()[0])
    assert ET.parse(tmp_path / "k.svg").getroot().tag == f"{SVG_NS}svg"
    ok(gen("figure", "softmax", "-o", tmp_path / "s.pdf", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=tmp_path))
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.svg", "s.pdf"]


def test_dash_o_writes_exactly_the_figure_bytes_to_stdout(small_cache: Path, tmp_path: Path) -> None:
    to_file = _figure("relu-graph", "-o", "r.svg", cache=small_cache, cwd=tmp_path)
    assert to_file.returncode == 0, to_file.stderr.decode()
    piped = _figure("relu-graph", "-o", "-", "--format", "svg", cache=small_cache, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == (tmp_path / "r.svg").read_bytes()  # nothing before or after the figure
    report = piped.stderr.decode()  # the size and the words go to stderr instead
    assert report.startswith("-: relu-graph 640×480 (SVG)") and "caption: ReLU(x)" in report
    png = _figure(
        "activation",
        "--layer",
        "conv_1_1",
        "--neuron",
        "2",
        "-o",
        "-",
        "--format",
        "png",
        cache=small_cache,
        cwd=tmp_path,
    )
    assert png.returncode == 0 and Image.open(io.BytesIO(png.stdout)).format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.svg"]


def test_zoom_doubles_a_heatmap_pixel_by_pixel(small_cache: Path, tmp_path: Path) -> None:
    args = ("activation", "--layer", "conv_1_2", "--neuron", "4")
    one = _figure(*args, "-o", "-", "--format", "png", cache=small_cache, cwd=tmp_path)
    two = _figure(*args, "-o", "-", "--format", "png", "--zoom", "2", cache=small_cache, cwd=tmp_path)
    assert one.returncode == two.returncode == 0, two.stderr.decode()
    small, big = _pixels(one.stdout), _pixels(two.stdout)
    assert big.shape[:2] == (2 * small.shape[0], 2 * small.shape[1])
    assert np.array_equal(big, np.repeat(np.repeat(small, 2, axis=0), 2, axis=1))
    assert f"{big.shape[1]}×{big.shape[0]}" in two.stderr.decode()
    three = _figure("confusion-matrix", "-o", "-", "--format", "png", "--zoom", "3", cache=small_cache, cwd=tmp_path)
    base = _figure("confusion-matrix", "-o", "-", "--format", "png", cache=small_cache, cwd=tmp_path)
    assert _pixels(three.stdout).shape[:2] == tuple(3 * n for n in _pixels(base.stdout).shape[:2])


def test_lang_chooses_the_language_of_the_words_printed(small_cache: Path, tmp_path: Path) -> None:
    zh = ok(
        gen(
            "figure",
            "training-curves",
            "-o",
            "t.png",
            "--lang",
            "zh",
            *SMALL,
            "--quiet",
            "--cache-dir",
            small_cache,
            cwd=tmp_path,
        )
    ).splitlines()
    en = ok(
        gen("figure", "training-curves", "-o", "t.png", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=tmp_path)
    ).splitlines()
    # the same figure and size; the bytes differ: the words inside the figure follow --lang too
    assert zh[0].rsplit(",", 1)[0] == en[0].rsplit(",", 1)[0]
    assert zh[1].startswith("alt: ") and zh[2].startswith("caption: ")
    assert re.search(r"[\u4e00-\u9fff]", zh[1]) and re.search(r"[\u4e00-\u9fff]", zh[2])
    assert not re.search(r"[\u4e00-\u9fff]", en[1] + en[2])
    assert "epoch" in en[2]
