"""Figures stay legible: every figure records the height of its smallest text (min_text_px, in its own
pixels) as the renderer drew it, pure heatmaps record none, and the page gets the widths below which a
figure's box scrolls instead of shrinking its text (generator/legible.py, plugin.figure_html)."""

from __future__ import annotations

from typing import Any

import matplotlib.text
import pytest
from render_fixtures import render_context, spec

from generator import legible
from generator.markup import el
from generator.plugin import figure_html
from generator.render import measure
from generator.render.text import Canvas
from generator.rendering import render_one


class Drawn:
    """Every text size the renderers hand to the drawing code, recorded independently of measure.py."""

    def __init__(self) -> None:
        self.sizes: list[float] = []


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Drawn:
    record = Drawn()
    canvas_text = Canvas.text

    def text(self: Canvas, x: int, y: int, s: str, size: int = 13, *args: Any, **kw: Any) -> Any:
        box = canvas_text(self, x, y, s, size, *args, **kw)
        bx, by, bw, bh = box
        on_canvas = bx < self.width and by < self.height and bx + bw > 0 and by + bh > 0
        if s.strip() and on_canvas:
            record.sizes.append(float(size))
        return box

    text_draw = matplotlib.text.Text.draw

    def mpl_draw(self: matplotlib.text.Text, renderer: Any) -> Any:
        if renderer is not None and self.get_visible() and self.get_text().strip():
            record.sizes.append(self.get_fontsize() * renderer.dpi / 72.0)
        return text_draw(self, renderer)

    monkeypatch.setattr(Canvas, "text", text)
    monkeypatch.setattr(matplotlib.text.Text, "draw", mpl_draw)
    return record


@pytest.mark.parametrize(
    ("kind", "image", "layer", "neuron", "params"),
    [
        ("input", "ladybug", None, None, {}),  # an indexed canvas
        ("activation-grid", "ladybug", "conv_1_1", None, {}),
        ("pool", "ladybug", "max_pool_1", 0, {}),  # an animation on a canvas
        ("kernels", None, "conv_1_1", None, {}),  # matplotlib
        ("training-curves", None, None, None, {}),
        ("softmax", "ladybug", None, None, {}),  # a matplotlib animation (blitted frames)
    ],
)
def test_min_text_px_is_the_smallest_text_the_renderer_drew(
    drawn: Drawn, kind: str, image: str | None, layer: str | None, neuron: int | None, params: dict
) -> None:
    fig = render_one(spec(kind, image=image, layer=layer, neuron=neuron, **params), render_context())
    assert drawn.sizes, "the renderer drew no text"
    assert fig.min_text_px == pytest.approx(min(drawn.sizes), abs=0.01)
    assert fig.min_text_px >= legible.DESKTOP_PX  # never under 11 px in its own pixels


def test_the_figures_bumped_for_the_desktop_column_fit_it() -> None:
    """Where the smallest text reaches 11 CSS px, the figure is no wider than Material's 688 px column."""
    ctx = render_context()
    for s in [
        spec("input"),
        spec("flatten"),
        spec("softmax"),
        spec("kernels", image=None, layer="conv_1_1"),
        spec("kernels", image=None, layer="conv_2_1"),
        spec("kernel-evolution", image=None),
        spec("training-curves", image=None),
        spec("confusion-matrix", image=None),
        *(spec("activation-grid", layer=layer) for layer in ("conv_1_1", "conv_2_1", "max_pool_2")),
    ]:
        fig = render_one(s, ctx)
        entry = {"width": fig.width, "min_text_px": fig.min_text_px}
        assert legible.min_width(entry, legible.DESKTOP_PX) <= 688, (s.id, fig.width, fig.min_text_px)


def test_pure_heatmaps_have_no_min_text_px() -> None:
    ctx = render_context()
    assert render_one(spec("tile", layer="conv_1_1", neuron=3), ctx).min_text_px is None
    assert render_one(spec("tile", layer="input", neuron=0), ctx).min_text_px is None
    assert render_one(spec("photo"), ctx).min_text_px is None
    assert render_one(spec("logo", image=None), ctx).min_text_px is None


def test_a_renderer_starts_with_a_clean_record() -> None:
    measure.note(3.0)  # text drawn outside any figure must not count for the next one
    fig = render_one(spec("tile", layer="conv_1_1", neuron=0), render_context())
    assert fig.min_text_px is None
    assert measure.take() is None


def test_zoomed_figures_scale_their_min_text_px() -> None:
    ctx = render_context()
    import dataclasses

    one = render_one(spec("kernels", image=None, layer="conv_1_1"), ctx)
    two = render_one(spec("kernels", image=None, layer="conv_1_1"), dataclasses.replace(ctx, zoom=2))
    assert two.width == 2 * one.width
    assert two.min_text_px == pytest.approx(2 * one.min_text_px)


def entry(kind: str, width: int, min_text_px: float | None) -> dict:
    return {
        "id": f"x/{kind}",
        "kind": kind,
        "image": "x",
        "layer": None,
        "neuron": None,
        "file": f"x/{kind}.png",
        "bytes": 1,
        "width": width,
        "height": 100,
        "alt": {"zh": "图", "en": "alt"},
        "caption": {"zh": "图注", "en": "caption"},
        "hash": "0" * 16,
        "min_text_px": min_text_px,
    }


def test_figure_html_sets_the_legible_widths_of_a_figure_with_text() -> None:
    html = figure_html(entry("input", 872, 14.0), "x.png", "en")  # type: ignore[arg-type]
    assert 'class="tv-figure tv-input tv-text"' in html
    # 872 * 11 / 14 = 685.1 and 872 * 9 / 14 = 560.6, rounded up
    assert 'style="--tv-min: 686px; --tv-min-phone: 561px"' in html


def test_figure_html_marks_pure_heatmaps_pixelated_without_a_minimum() -> None:
    html = figure_html(entry("activation", 272, None), "x.png", "en")  # type: ignore[arg-type]
    assert 'class="tv-figure tv-activation tv-pixel"' in html
    assert "style=" not in html
    old = entry("activation", 272, None)
    del old["min_text_px"]  # a cache entry written before min_text_px existed
    assert "tv-pixel" in figure_html(old, "x.png", "en")  # type: ignore[arg-type]


def test_the_style_attribute_is_numbers_only() -> None:
    # widths come from the manifest's numbers; a bad value is refused, never spliced into CSS
    assert legible.min_text({"min_text_px": "1px; background: url(x)"}) is None
    assert legible.figure_attrs({"width": 100, "min_text_px": "evil"}) == ("tv-pixel", None)
    assert str(el("figure", {"style": legible.figure_attrs({"width": 100, "min_text_px": 10})[1]})) == (
        '<figure style="--tv-min: 110px; --tv-min-phone: 90px"></figure>'
    )


def test_a_figure_that_scrolls_on_a_phone_says_so_below_its_caption() -> None:
    """561 px at 9 px text is wider than a 375 px phone's 343 px column: a hint follows the caption, in the
    page's language; a figure that fits (or a heatmap, which shrinks freely) gets none."""
    wide = figure_html(entry("input", 872, 14.0), "x.png", "zh")  # type: ignore[arg-type]
    assert f'</figcaption><p class="tv-scroll-hint">{legible.HINT["zh"]}</p></figure>' in wide
    narrow = figure_html(entry("relu", 300, 12.0), "x.png", "en")  # type: ignore[arg-type]  # 225 px on a phone
    assert "tv-scroll-hint" not in narrow
    assert "tv-scroll-hint" not in figure_html(entry("activation", 872, None), "x.png", "en")  # type: ignore[arg-type]
