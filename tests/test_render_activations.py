"""Activation maps: right pixels, right colours, deterministic, honest alt text."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from render_fixtures import render_context, spec

from generator.errors import FigureSpecError
from generator.render import activations as act
from generator.render import common
from generator.render.colors import lut
from generator.render.text import resize_nearest


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_single_map_pixels_are_the_stage_through_the_colour_table():
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    r = act.render_activation(spec("activation", "ladybug", "conv_1_2", 4), ctx)
    img = _rgb(r.data)
    assert img.shape == (r.height, r.width, 3)
    values = probe.stages["conv_1_2"][4]  # (60, 60)
    side = 60 * common.upscale_factor(60, 248)
    x0, y0 = (r.width - side) // 2, common.PAD + 20
    m = float(np.abs(probe.stages["conv_1_2"]).max())  # layer scale: one range for the layer
    pal = common.map_palette("RdBu")
    want = pal.colors[pal.index(resize_nearest(values, side, side), -m, m, "RdBu")]
    assert (img[y0 : y0 + side, x0 : x0 + side] == want).all()


def test_colour_endpoints_in_neuron_scale():
    ctx = replace(render_context(), scale="neuron")
    values = ctx.probes["ladybug"].stages["conv_1_1"][1]
    img = _rgb(act.render_activation(spec("activation", "ladybug", "conv_1_1", 1), ctx).data)
    table = lut("RdBu", common.LEVELS)
    end = table[0] if -values.min() >= values.max() else table[-1]  # the largest |value| hits an end
    assert (img.reshape(-1, 3) == end).all(axis=1).any()


def test_input_output_and_sizes():
    ctx = render_context()
    r = act.render_activation(spec("activation", "ladybug", "input", 0), ctx)
    assert r.width == 256 + 2 * common.PAD and "R" in r.alt["en"] and "0 to 1" in r.alt["en"]
    logits = ctx.probes["ladybug"].stages["output"]
    r = act.render_activation(spec("activation", "ladybug", "output", 2), ctx)
    assert ctx.classes[2] in r.alt["en"] and common.fmt_ascii(logits[2]) in r.alt["zh"]
    for layer, size in (("conv_1_1", 62), ("max_pool_1", 30), ("max_pool_2", 13)):
        r = act.render_activation(spec("activation", "ladybug", layer, 0), ctx)
        assert 220 <= r.width <= 290 and f"{size}×{size}" in r.alt["en"]
        assert len(r.data) < 20_000


def test_deterministic_and_alt_numbers_are_real():
    ctx = render_context()
    s = spec("activation", "school-bus", "relu_2_1", 7)
    a, b = act.render_activation(s, ctx), act.render_activation(s, ctx)
    assert a == b
    v = ctx.probes["school-bus"].stages["relu_2_1"][7]
    assert f"values {common.fmt_ascii(v.min())} to {common.fmt_ascii(v.max())}" in a.alt["en"]
    assert set(a.alt) == set(a.caption) == {"zh", "en"}


def test_bad_specs_name_the_figure():
    ctx = render_context()
    with pytest.raises(FigureSpecError, match="layer='conv_9'"):
        act.render_activation(spec("activation", "ladybug", "conv_9", 0), ctx)
    with pytest.raises(FigureSpecError, match="neuron=10 is out of range"):
        act.render_activation(spec("activation", "ladybug", "conv_1_1", 10), ctx)
    with pytest.raises(FigureSpecError, match="neuron=3 is out of range"):
        act.render_activation(spec("activation", "ladybug", "input", 3), ctx)
    with pytest.raises(FigureSpecError, match="unknown image 'cat'"):
        act.render_activation(spec("activation", "cat", "conv_1_1", 0), ctx)


@pytest.mark.parametrize("layer", ["input", "conv_1_1", "max_pool_2", "output"])
def test_grids(layer):
    ctx = render_context()
    r = act.render_activation_grid(spec("activation-grid", "ladybug", layer), ctx)
    assert r.width >= 400 and r.height >= 250 and len(r.data) < 60_000
    assert Image.open(io.BytesIO(r.data)).mode == "P"
    if layer == "output":
        pred = ctx.probes["ladybug"].predicted
        assert ctx.classes[pred] in r.alt["en"]


def test_grid_neuron_scale_differs_from_layer_scale():
    ctx = render_context()
    a = act.render_activation_grid(spec("activation-grid", "ladybug", "conv_2_1"), ctx)
    per_neuron = replace(ctx, scale="neuron")
    b = act.render_activation_grid(spec("activation-grid", "ladybug", "conv_2_1"), per_neuron)
    assert a.data != b.data and "shared across the layer" in a.alt["en"] and "this neuron" in b.alt["en"]


def test_batch_is_identical_to_single_renders():
    """(Its speed, one image's 113 maps within 1 s, is a benchmark row: benchmarks/bench_render.py.)"""
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    batch = act.render_activation_batch(probe, classes=ctx.classes)
    assert len(batch) == 113
    assert batch[("relu_1_2", 5)] == act.render_activation(spec("activation", "ladybug", "relu_1_2", 5), ctx)
