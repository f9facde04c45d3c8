"""What the renderers share (render/common.py), and the rule that keeps it shared: no renderer
imports another renderer."""

from __future__ import annotations

import ast
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence
from render_fixtures import render_context, spec

from generator.errors import FigureSpecError, ShortcodeError
from generator.render import common
from generator.render.colors import ACTIVATION, figure_palette
from generator.render.text import Canvas

RENDER = Path(common.__file__).parent
# Shared infrastructure: any renderer may import these. Everything else in render/ is a renderer.
SHARED = {"common", "colors", "png", "gif", "text", "mpl", "measure"}
LOW_LEVEL = SHARED - {"common"}


def render_imports(path: Path) -> set[str]:
    """The generator.render modules that `path` imports (absolute or relative imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            # relative: inside generator/render
            base = (
                ("generator.render" + (f".{node.module}" if node.module else "")) if node.level else node.module or ""
            )
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["generator", "render"] and len(parts) > 2 and (RENDER / f"{parts[2]}.py").exists():
                found.add(parts[2])
    return found


def test_renderers_import_only_shared_modules():
    modules = sorted(p for p in RENDER.glob("*.py") if p.name != "__init__.py")
    assert {"activations", "conv", "pool", "common"} <= {p.stem for p in modules}
    imports = {p.stem: render_imports(p) - {p.stem} for p in modules}
    assert "common" in imports["pool"] and "common" in imports["conv"]  # the walk sees real imports
    bad = {name: sorted(found - SHARED) for name, found in imports.items() if found - SHARED}
    assert not bad, f"renderers importing other renderers: {bad}"
    low = {name: sorted(imports[name] - LOW_LEVEL) for name in LOW_LEVEL if imports[name] - LOW_LEVEL}
    assert not low, f"shared low-level modules importing above themselves: {low}"


def test_spec_lookups_raise_figure_spec_errors_that_shortcodes_report():
    assert issubclass(FigureSpecError, ShortcodeError)  # the plugin reports these with page and line
    ctx = render_context()
    assert common.probe_for(spec("input", image=None), ctx) is ctx.probes[ctx.featured]
    with pytest.raises(FigureSpecError, match="unknown image 'cat'; sample images are: ladybug, school-bus"):
        common.probe_for(spec("input", image="cat"), ctx)
    with pytest.raises(FigureSpecError, match="unknown image 'ladybug'; sample images are: none"):
        common.probe_for(spec("input"), replace(ctx, probes={}))
    s = spec("relu", layer="relu_1_1", neuron=9)
    assert common.layer_of(s, ["relu_1_1"]) == "relu_1_1" and common.neuron_of(s, 10) == 9
    with pytest.raises(FigureSpecError, match="layer='relu_1_1' is not valid; use one of a, b"):
        common.layer_of(s, ("a", "b"))
    with pytest.raises(FigureSpecError, match=r"neuron=9 is out of range; layer relu_1_1 has neurons 0\.\.8"):
        common.neuron_of(s, 9)
    with pytest.raises(FigureSpecError, match="neuron=True"):
        common.neuron_of(replace(s, neuron=True), 10)


def test_fmt_ascii_is_short_and_exact_enough():
    assert [common.fmt_ascii(v) for v in (0.0, 0.12345, -1.5, 123.456, 0.000123, 12345.6, -0.0000001)] == [
        "0",
        "0.123",
        "-1.5",
        "123",
        "0.000123",
        "12,346",
        "0",
    ]
    assert common.fmt_ascii(-0.012345, 2) == "-0.012"


def test_ticks():
    assert common.ticks(-1.5, 2.0) == [(-1.5, "-1.5"), (0.0, "0"), (2.0, "2")]
    assert common.ticks(-1.5, 2.0, zero_last=True) == [(-1.5, "-1.5"), (2.0, "2"), (0.0, "0")]
    assert common.ticks(0.0, 1.0) == [(0.0, "0"), (1.0, "1")]  # 0 at an end is not repeated
    assert common.end_ticks(-0.12345, 3.21, 2) == [(-0.12345, "-0.12"), (3.21, "3.2")]


def test_light_text_follows_luminance():
    rgb = np.array([[255, 255, 255], [0, 0, 0], [128, 128, 128], [0, 0, 255]], np.uint8)
    assert common.light_text(rgb).tolist() == [False, True, False, True]
    assert common.light_text(rgb, threshold=130).tolist() == [False, True, True, True]
    assert common.light_text(rgb.reshape(2, 2, 3)).shape == (2, 2)


def test_bar_layout():
    assert common.below_bar(100) == 100 + common.BAR + common.BAR_LABELS + common.PAD
    assert common.below_bar(100, pad=16, labels=20) == 100 + common.BAR + 20 + 16
    c = Canvas(400, common.below_bar_row(50), figure_palette((ACTIVATION, 49)))
    white = c.palette.solid("paper")
    common.colorbar_row(c, [("a", ACTIVATION, -1.0, 1.0), ("b", ACTIVATION, -2.0, 2.0)])
    assert (c.pix[:50] == white).all()  # the row starts at `top`, at the bottom of the canvas
    assert (c.pix[50 : 50 + 17] != white).any() and (c.pix[50 + 17 + 3] != white).sum() > 300  # labels, bars
    assert (c.pix[-common.PAD :] == white).all()


def test_sweep_positions():
    assert common.sweep_positions(10, 3, 6) == [0, 1, 2, 4, 6, 9]
    assert common.sweep_positions(4, 12, 20) == [0, 1, 2, 3]
    ends = common.sweep_positions(3844, 8, 30)
    assert len(ends) == 30 and ends[-1] == 3843 and ends == sorted(set(ends))


def test_reveal_copies_positions_up_to_the_step():
    c = Canvas(10, 10, figure_palette((ACTIVATION, 9)))
    full = np.arange(1, 17, dtype=np.uint8).reshape(4, 4)  # a 2x2 map at zoom 2
    common.reveal(c, full, common.Box(3, 2, 4, 4), 2, 2, 2)  # positions 0, 1 (row 0) and 2 (row 1, col 0)
    white = c.palette.solid("paper")
    assert (c.pix[2:4, 3:7] == full[:2]).all() and (c.pix[4:6, 3:5] == full[2:, :2]).all()
    assert (c.pix[4:6, 5:7] == white).all()


@pytest.mark.parametrize("poster", [False, True])
def test_sweep_animation_frames_and_timing(poster):
    base = Canvas(8, 4, figure_palette((ACTIVATION, 9)))
    drawn = []

    def draw(c: Canvas, step: int) -> None:
        drawn.append(step)
        c.fill(step, 0, 1, 4, "ink")

    data = common.sweep_animation(base, [0, 2, 4], draw, 700, lambda i: 300 + 100 * i, poster=poster)
    assert drawn == [0, 2, 4] and (base.pix == base.palette.solid("paper")).all()  # the base stays blank
    im = Image.open(io.BytesIO(data))
    frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    inked = [sorted(set(np.flatnonzero((f != 255).any(axis=2).any(axis=0)))) for f in frames]
    want_ink, want_ms = [[], [0], [2], [4]], [700, 300, 400, 2000]  # the base, a frame a step, held 2 s
    if poster:  # the loop opens on the finished picture
        want_ink, want_ms = want_ink[-1:] + want_ink[:-1], want_ms[-1:] + want_ms[:-1]
    assert inked == want_ink and durations == want_ms


def test_composed_numbers_match_pillows_drawing() -> None:
    """Crisp text with numbers is assembled from cached pieces (render/text.py PIECE). Every pair of
    COMPOSED characters, hundreds of numbers and the animations' own lines, at the sizes figures use,
    must give Pillow's pixels. The box may differ by blank columns, or by a bold glyph's last column,
    which Pillow cuts off (its box is the antialiased one) and the composition keeps."""
    import itertools
    import random

    from generator.render.text import COMPOSED, _drawn_mask, text_mask

    rng = random.Random(5)
    strings = ["".join(pair) for pair in itertools.product(sorted(COMPOSED), repeat=2) if "".join(pair).strip()]
    strings += [f"{rng.uniform(-99, 99):.{rng.randint(0, 4)}f}" for _ in range(200)]
    strings += [f"[{rng.randint(0, 61)}, {rng.randint(0, 61)}] = {rng.uniform(-9, 9):.3f}" for _ in range(50)]
    strings += [f"Σ (x · w) = {rng.uniform(-5, 5):.4f}   →   x ∗ w [{rng.randint(0, 61)}, 7]" for _ in range(50)]
    for size, bold in [(10, True), (12, False), (14, True), (9, True), (8, True)]:
        for text in strings:
            text_mask.cache_clear()
            drawn, composed = _drawn_mask(text, size, bold, True), text_mask(text, size, bold, True)
            width = min(drawn.shape[1], composed.shape[1])
            where = f"{text!r} at {size} px{' bold' if bold else ''}"
            assert drawn.shape[0] == composed.shape[0], where
            assert abs(drawn.shape[1] - composed.shape[1]) <= 2, where
            assert np.array_equal(drawn[:, :width], composed[:, :width]), where
            assert not drawn[:, width:].any(), where  # Pillow's extra column is blank


def test_text_mask_composes_only_crisp_text_with_numbers() -> None:
    from generator.render import text

    text.text_mask.cache_clear()
    text._piece.cache_clear()
    text.text_mask("x ∗ w [3, 4]", 10, True, True)
    assert text._piece.cache_info().currsize > 0  # composed from pieces
    text._piece.cache_clear()
    text.text_mask("-0.1234", 10, True, False)  # antialiased: drawn by Pillow
    text.text_mask("x ∗ w", 10, True, True)  # no number: drawn by Pillow
    text.text_mask("第 3 层", 10, True, True)  # Chinese: drawn by Pillow, in Noto Sans CJK
    assert text._piece.cache_info().currsize == 0


def test_a_small_batch_starts_with_its_slow_figures() -> None:
    """The 0.3-0.5 s figures go to the workers first, so that none of them finishes alone at the end."""
    from generator.pool import slow_first

    kinds = ["conv-detail", "conv-detail", "softmax", "pool", "overview", "conv-detail", "flatten"]
    specs = [spec(kind, image="circle") for kind in kinds]
    assert [s.kind for s in slow_first(specs)] == [
        "softmax",
        "overview",
        "flatten",
        "conv-detail",
        "conv-detail",
        "pool",
        "conv-detail",
    ]
