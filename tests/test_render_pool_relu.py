"""Max pooling and ReLU figures: the numbers equal torch's, the pictures are what they claim."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageSequence
from render_fixtures import render_context, spec

from generator.errors import FigureSpecError
from generator.examples import pool_walk
from generator.render import pool, relu


@pytest.mark.parametrize(("layer", "neuron"), [("max_pool_1", 3), ("max_pool_2", 8)])
def test_pool_numbers_match_max_pool2d(layer, neuron):
    ctx = render_context()
    probe = ctx.probes["school-bus"]
    prev = "relu_1_2" if layer == "max_pool_1" else "relu_2_2"
    x = torch.from_numpy(probe.stages[prev][neuron])[None, None]
    ref = F.max_pool2d(x, 2, 2)[0, 0].numpy()
    assert np.array_equal(ref, probe.stages[layer][neuron])
    steps = pool.pool_steps(probe, layer, neuron)
    assert len(steps) <= sum(pool.STEPS) and (steps[0].row, steps[0].col) == (0, 0)
    ow = ref.shape[1]
    assert [s.row * ow + s.col for s in steps] == pool_walk(ref)  # the walk generator/examples.py chose
    assert (steps[-1].row, steps[-1].col) == (ref.shape[0] - 1, ref.shape[1] - 1)
    for s in steps:
        rows, cols = slice(2 * s.row, 2 * s.row + 2), slice(2 * s.col, 2 * s.col + 2)
        assert np.array_equal(s.window, probe.stages[prev][neuron][rows, cols])
        assert s.value == ref[s.row, s.col] == s.window[s.argmax]
        assert s.value == s.window.max()


def test_pool_gif_budget_and_determinism():
    ctx = render_context()
    s = spec("pool", "ladybug", "max_pool_1", 2)
    r = pool.render_pool(s, ctx)
    assert r == pool.render_pool(s, ctx)
    im = Image.open(io.BytesIO(r.data))
    assert im.info["loop"] == 0 and 10 <= im.n_frames <= 60 and len(r.data) <= 150 * 1024
    assert im.size == (r.width, r.height)
    frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    assert not (frames[1] == frames[2]).all()
    im.seek(0)
    assert im.info["duration"] == 2000  # the finished result leads the loop (a still shows it), held 2 s
    assert frames[0].sum() < frames[1].sum()  # the filled output is darker than the empty start
    assert "60×60" in r.alt["en"] and "30×30" in r.alt["zh"] and "25%" in r.alt["en"]


def test_relu_counts_and_picture():
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    zeroed, total = relu.relu_counts(probe, "relu_1_1", 4)
    conv = probe.stages["conv_1_1"][4]
    assert (zeroed, total) == (int((conv < 0).sum()), conv.size)
    assert int((probe.stages["relu_1_1"][4] == 0).sum()) >= zeroed
    r = relu.render_relu(spec("relu", "ladybug", "relu_1_1", 4), ctx)
    assert f"{zeroed} of {total}" in r.alt["en"] and f"{zeroed} 个" in r.alt["zh"]
    img = np.asarray(Image.open(io.BytesIO(r.data)).convert("RGB"))
    assert img.shape == (r.height, r.width, 3) and r.width >= 400
    assert r == relu.render_relu(spec("relu", "ladybug", "relu_1_1", 4), ctx)


def test_bad_layers():
    ctx = render_context()
    with pytest.raises(FigureSpecError, match="max_pool_1, max_pool_2"):
        pool.render_pool(spec("pool", "ladybug", "relu_1_1", 0), ctx)
    with pytest.raises(FigureSpecError, match="relu_1_1"):
        relu.render_relu(spec("relu", "ladybug", "conv_1_1", 0), ctx)
