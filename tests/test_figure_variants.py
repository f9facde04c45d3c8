"""Figures in the page's language and in a dark variant: the zh/en plumbing (specs, cache keys, the
shortcode's resolution, the manifest), Chinese text without missing glyphs or with one clear error when
the font is absent, and dark variants that change the background and text but never a data colour."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from render_fixtures import render_context

from generator.build import figure_keys, stage_keys
from generator.catalog import make_spec
from generator.config import BuildConfig
from generator.errors import FontError
from generator.names import CLASS_NAMES_ZH
from generator.output import BuildOutput, ManifestEntry
from generator.records import RenderContext
from generator.render import mpl, text
from generator.render.colors import DARK_HEAD, DARK_INK, DARK_PAPER, LIGHT_HEAD, WHITE
from generator.rendering import render_one
from generator.usage import spec_for


@pytest.fixture(scope="module")
def ctx() -> RenderContext:
    base = render_context()
    return dataclasses.replace(base, classes_zh=tuple(CLASS_NAMES_ZH[c] for c in base.classes))


def _frames(data: bytes) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(palette indices, RGB) of every frame of a PNG or GIF."""
    idx, rgb = [], []
    with Image.open(io.BytesIO(data)) as im:
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            if im.mode == "P":
                idx.append(np.asarray(im).copy())
            rgb.append(np.asarray(im.convert("RGB")).copy())
    return idx, rgb


def _packed(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (...) int: one number per colour."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


# ---- languages ----------------------------------------------------------------------------------


def _facts() -> dict:
    return {
        "samples": [{"slug": "circle", "pixels": "p"}],
        "featured": "circle",
        "classes": list("abcdefghij"),
    }


def test_cache_keys_differ_by_language_only_for_worded_figures() -> None:
    cfg = BuildConfig()
    out = BuildOutput(facts=_facts(), train_dir=Path("."), probe_files={}, keys=stage_keys(cfg))  # type: ignore[arg-type]
    specs = [make_spec(k, image="circle", lang=lang) for k in ("softmax", "input") for lang in ("zh", "en")]
    keys = figure_keys(cfg, out, specs)
    assert keys["circle/softmax.zh"] != keys["circle/softmax.en"]
    assert set(keys) == {"circle/softmax.zh", "circle/softmax.en", "circle/input"}  # input: one figure


def test_a_shortcode_resolves_to_the_figure_in_the_page_language() -> None:
    facts = _facts()
    zh = spec_for("softmax", {}, facts, "zh")  # type: ignore[arg-type]
    en = spec_for("softmax", {"image": "circle"}, facts, "en")  # type: ignore[arg-type]
    assert (zh.file, zh.lang) == ("circle/softmax.zh.gif", "zh")
    assert (en.file, en.lang) == ("circle/softmax.en.gif", "en")
    conv = spec_for("conv-overview", {"layer": "conv_1_2", "neuron": "3"}, facts, "zh")  # type: ignore[arg-type]
    assert (conv.file, conv.lang) == ("circle/conv/conv_1_2-3.gif", "any")


def test_manifest_records_language_and_only_the_published_dark_files() -> None:
    def entry(fig_id: str, lang: str) -> ManifestEntry:
        e = {"id": fig_id, "kind": "softmax", "file": fig_id + ".gif", "lang": lang, "bytes": 1}
        return {**e, "dark": fig_id + ".dark.gif", "dark_bytes": 1}  # type: ignore[return-value]

    out = BuildOutput(facts={**_facts()}, train_dir=Path("."), probe_files={}, keys=stage_keys(BuildConfig()))  # type: ignore[arg-type]
    out.facts["featured"] = "circle"
    out.manifest = [entry("circle/softmax.zh", "zh"), entry("ring/softmax.en", "en")]
    import json

    figures = json.loads(out.manifest_json(dark={"circle/softmax.zh"}))["figures"]
    assert [(f["id"], f["lang"]) for f in figures] == [("circle/softmax.zh", "zh"), ("ring/softmax.en", "en")]
    assert figures[0]["dark"] == "circle/softmax.zh.dark.gif"
    assert "dark" not in figures[1] and "dark_bytes" not in figures[1]


@pytest.mark.parametrize("kind", ["overview", "confusion-matrix", "softmax", "kernels"])
def test_zh_figures_differ_from_en_ones(ctx: RenderContext, kind: str) -> None:
    image = "ladybug" if kind in ("overview", "softmax") else None
    zh = render_one(make_spec(kind, image=image, lang="zh"), ctx).data
    en = render_one(make_spec(kind, image=image, lang="en"), ctx).data
    assert zh != en


# ---- Chinese glyphs -----------------------------------------------------------------------------


def _cmap(path: str, number: int = 0) -> set[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=number, lazy=True) as font:
        return set(font.getBestCmap())


@pytest.mark.skipif(not text._CJK_FONT.exists(), reason="fonts-noto-cjk is not installed")
@pytest.mark.parametrize("kind", ["confusion-matrix", "training-curves", "kernels", "kernel-evolution", "softmax"])
def test_every_character_of_a_zh_matplotlib_figure_has_a_glyph(
    ctx: RenderContext, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every character drawn is in one of the fonts of mpl.FONT_FAMILY (matplotlib falls back glyph by
    glyph through that list), so none is drawn as the missing-glyph box."""
    from matplotlib import font_manager

    drawn: list[str] = []
    check = mpl.check_cjk_font
    monkeypatch.setattr(mpl, "check_cjk_font", lambda texts: (drawn.extend(texts), check(texts))[1])
    monkeypatch.setattr(mpl, "_cjk_checked", False)
    render_one(make_spec(kind, image="ladybug" if kind == "softmax" else None, lang="zh"), ctx)
    chars = {ch for t in drawn for ch in t if not ch.isspace() and ch not in "$\\{}^_"}
    assert any(ord(ch) >= 0x2E80 for ch in chars), "the zh figure should hold Chinese text"
    covered: set[int] = set()
    for family in mpl.FONT_FAMILY:
        path = font_manager.fontManager.findfont(family, fallback_to_default=False)
        covered |= _cmap(path, 2 if path.endswith(".ttc") else 0)
    missing = sorted(ch for ch in chars if ord(ch) not in covered)
    assert not missing, missing


@pytest.mark.skipif(not text._CJK_FONT.exists(), reason="fonts-noto-cjk is not installed")
def test_canvas_chinese_text_has_glyphs_and_keeps_dejavu_for_symbols() -> None:
    """The indexed canvases draw CJK runs in Noto Sans CJK SC, which has every class name's glyph; no
    character renders as the font's .notdef box."""
    cjk = _cmap(str(text._CJK_FONT), text._CJK_SC_INDEX)
    words = [*CLASS_NAMES_ZH.values(), "10 个类别，softmax", "z = output 层的 logit"]
    for word in words:
        for ch in word:
            if ord(ch) >= 0x2E80:
                assert ord(ch) in cjk, ch
    f = text.font(15, False, True)
    notdef = np.asarray(f.getmask("\U0010fffd"))  # a private-use code point: the .notdef glyph
    for ch in "".join(CLASS_NAMES_ZH.values()):
        assert not np.array_equal(np.asarray(f.getmask(ch)), notdef), ch
    # a mixed string: '×' stays DejaVu's narrow sign, not Noto CJK's full-width one
    mixed = text.text_mask("2×2，步幅", 13).shape[1]
    assert abs(mixed - text.text_mask("2×2", 13).shape[1] - text.text_mask("，步幅", 13).shape[1]) <= 2


def test_missing_cjk_font_is_one_clear_error(ctx: RenderContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import font_manager

    real = font_manager.fontManager.findfont

    def without_noto(prop: object, *args: object, **kwargs: object) -> str:
        if "CJK" in str(prop):
            raise ValueError("not found")
        return real(prop, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(font_manager.fontManager, "findfont", without_noto)
    monkeypatch.setattr(mpl, "_cjk_checked", False)
    with pytest.raises(FontError) as info:
        render_one(make_spec("confusion-matrix", lang="zh"), ctx)
    assert "Noto Sans CJK" in str(info.value) and "fonts-noto-cjk" in str(info.value)
    render_one(make_spec("confusion-matrix", lang="en"), ctx)  # the English figure needs no such font

    monkeypatch.setattr(text, "_CJK_FONT", Path("/nonexistent/NotoSansCJK-Regular.ttc"))
    text.font.cache_clear()
    text.text_mask.cache_clear()
    try:
        with pytest.raises(FontError, match="fonts-noto-cjk"):
            render_one(make_spec("overview", image="ladybug", lang="zh"), ctx)
        render_one(make_spec("overview", image="ladybug", lang="en"), ctx)
    finally:
        text.font.cache_clear()
        text.text_mask.cache_clear()


# ---- dark variants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "layer", "neuron"),
    [("relu", "relu_1_1", 0), ("conv-overview", "conv_1_1", 2), ("pool", "max_pool_1", 0), ("conv-detail", None, 0)],
)
def test_palette_swap_keeps_every_data_colour(ctx: RenderContext, kind: str, layer: str | None, neuron: int) -> None:
    spec = make_spec(kind, image="ladybug", layer=layer, neuron=neuron)
    fig = render_one(spec, ctx, dark=True)
    assert fig.dark is not None and len(fig.dark) == len(fig.data)  # the same file, another palette
    (light_idx, light_rgb), (dark_idx, dark_rgb) = _frames(fig.data), _frames(fig.dark)
    head = len(LIGHT_HEAD)
    li, di = light_idx[0], dark_idx[0]  # (Pillow gives the later GIF frames as RGB)
    assert np.array_equal(li, di)  # the same pixels
    data = li >= head  # every colour-scale entry: identical colours
    assert data.any() and np.array_equal(light_rgb[0][data], dark_rgb[0][data])
    head_colours = _packed(LIGHT_HEAD)
    for lr, dr in zip(light_rgb, dark_rgb, strict=True):  # every frame: only paper and ink change
        keep = ~np.isin(_packed(lr), head_colours)
        assert keep.mean() > 0.1
        assert np.array_equal(lr[keep], dr[keep])
        assert tuple(lr[0, 0]) == WHITE and tuple(dr[0, 0]) == DARK_PAPER  # the background is dark
    assert np.array_equal(DARK_HEAD[head - 3 :], LIGHT_HEAD[head - 3 :])  # accent, mark, white kept


def test_dark_text_is_light_on_the_dark_background(ctx: RenderContext) -> None:
    fig = render_one(make_spec("relu", image="ladybug", layer="relu_1_1", neuron=0), ctx, dark=True)
    assert fig.dark is not None
    _, (rgb,) = _frames(fig.dark)
    title = rgb[:30, :200].reshape(-1, 3)  # the title line: text on the background
    lum = title.astype(float) @ (0.299, 0.587, 0.114)
    assert lum.max() > 170 and np.isclose(np.median(lum), np.dot(DARK_PAPER, (0.299, 0.587, 0.114)), atol=1)
    assert tuple(int(v) for v in title[np.argmax(lum)]) == DARK_INK


@pytest.mark.parametrize("kind", ["input", "overview"])
def test_figures_with_a_photo_have_a_dark_variant_too(ctx: RenderContext, kind: str) -> None:
    fig = render_one(make_spec(kind, image="ladybug", lang="en"), ctx, dark=True)
    assert fig.dark is not None
    (light,), (dark,) = _frames(fig.data)[1], _frames(fig.dark)[1]
    assert tuple(light[0, 0]) == WHITE and tuple(dark[0, 0]) == DARK_PAPER
    photo = ~np.all(light == WHITE, axis=2) & (np.abs(light.astype(int) - dark).sum(axis=2) == 0)
    assert photo.mean() > 0.3  # maps, bars and the photo are untouched


def test_matplotlib_dark_variant_keeps_the_heatmap(ctx: RenderContext) -> None:
    fig = render_one(make_spec("confusion-matrix", lang="zh"), ctx, dark=True)
    assert fig.dark is not None
    (light,), (dark,) = _frames(fig.data)[1], _frames(fig.dark)[1]
    assert light.shape == dark.shape
    assert tuple(light[2, 2]) == WHITE and tuple(dark[2, 2]) == DARK_PAPER
    count, cell, left, bottom = len(ctx.classes), 46, 170, 120  # render/training.py's layout
    top = light.shape[0] - bottom - count * cell
    for r in range(count):
        for c in range(count):
            y, x = top + int((r + 0.2) * cell), left + int((c + 0.2) * cell)  # off the cell's number
            assert tuple(light[y, x]) == tuple(dark[y, x]), (r, c)
    # and the axis labels are light on dark
    labels = dark[top : top + count * cell, : left - 10].reshape(-1, 3).astype(float) @ (0.299, 0.587, 0.114)
    assert labels.max() > 170


@pytest.mark.parametrize("kind", ["flatten", "softmax"])
def test_dark_variant_drawn_alone_is_the_one_drawn_after_the_light_one(ctx: RenderContext, kind: str) -> None:
    """Changing `featured` draws only the dark variants of the new featured image's chapter figures (their
    light pictures are cached from its explore page): the bytes must be those a full drawing makes."""
    spec = make_spec(kind, image="ladybug", lang="zh")
    both = render_one(spec, ctx, dark=True)
    alone = render_one(spec, ctx, dark=True, only_dark=True)
    assert both.dark is not None and alone.data == b""
    assert alone.dark == both.dark
    assert (alone.alt, alone.caption, alone.width, alone.height) == (both.alt, both.caption, both.width, both.height)


def test_figure_command_draws_no_dark_variant(ctx: RenderContext) -> None:
    assert render_one(make_spec("relu-graph"), ctx).dark is None
    assert render_one(make_spec("logo"), ctx, dark=True).dark is None  # transparent: fits any page


def test_matplotlib_dark_variants_are_drawn_only_where_published(ctx: RenderContext) -> None:
    """A matplotlib figure's dark variant costs a second drawing: a build asks for it only for the figures
    that publish one, and that choice is part of the figure's cache key; palette swaps cost nothing."""
    cfg = BuildConfig()
    out = BuildOutput(facts=_facts(), train_dir=Path("."), probe_files={}, keys=stage_keys(cfg))  # type: ignore[arg-type]
    specs = [make_spec("softmax", image="circle", lang="en"), make_spec("input", image="circle")]
    every, some = figure_keys(cfg, out, specs), figure_keys(cfg, out, specs, dark={"circle/input"})
    assert every["circle/softmax.en"] != some["circle/softmax.en"]
    assert every["circle/input"] == some["circle/input"]
    assert render_one(make_spec("relu-graph"), ctx, dark=True, redraw=False).dark is None
    assert render_one(make_spec("relu", image="ladybug"), ctx, dark=True, redraw=False).dark is not None
