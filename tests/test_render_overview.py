"""The network overview and the input figure."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image
from render_fixtures import render_context, spec

from generator.names import CLASS_NAMES_ZH, zh_label
from generator.render import inputs, overview
from generator.render.common import fmt_ascii
from generator.render.text import resize_nearest


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_overview_size_columns_and_words():
    ctx = render_context()
    probe = ctx.probes["school-bus"]
    r = overview.render_overview(spec("overview", "school-bus"), ctx)
    assert 1400 <= r.width <= 1600 and r.height < 1300
    img = _rgb(r.data)
    assert img.shape == (r.height, r.width, 3)
    pred = ctx.classes[probe.predicted]
    assert pred in r.alt["en"] and pred in r.caption["zh"] and ctx.classes[probe.image.label] in r.alt["en"]
    assert zh_label(pred) in r.caption["zh"] and CLASS_NAMES_ZH[pred] in r.alt["zh"]  # the reader's language
    # The photo sits in the input column, nearest-neighbour upscaled.
    top = overview.PAD + overview.HEAD
    first = top + (10 - 4) * overview.ROW // 2
    want = resize_nearest(probe.image.pixels, overview.D, overview.D)
    assert (img[first : first + overview.D, overview.PAD : overview.PAD + overview.D] == want).all()


def test_overview_deterministic_and_scale_option_matters():
    ctx = render_context()
    s = spec("overview", "ladybug")
    a = overview.render_overview(s, ctx)
    assert a == overview.render_overview(s, ctx)
    assert a.data != overview.render_overview(s, replace(ctx, scale="neuron")).data


def test_input_figure():
    ctx = render_context()
    r = inputs.render_input(spec("input", "ladybug"), ctx)
    img = _rgb(r.data)
    assert img.shape == (r.height, r.width, 3) and 700 <= r.width <= 1000
    pixels = ctx.probes["ladybug"].image.pixels
    top = inputs.PAD + 22
    want = resize_nearest(pixels, inputs.SIDE, inputs.SIDE)
    assert (img[top : top + inputs.SIDE, inputs.PAD : inputs.PAD + inputs.SIDE] == want).all()
    r_mean = ctx.probes["ladybug"].stages["input"][0].mean()
    assert fmt_ascii(float(r_mean)) in r.alt["en"]
    assert r == inputs.render_input(spec("input", "ladybug"), ctx)
