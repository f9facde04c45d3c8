"""Convolution animations: the numbers written and the maps drawn equal torch's convolution."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageSequence
from render_fixtures import render_context, spec

from generator.arch import CONV_LAYERS, previous_stage
from generator.errors import FigureSpecError
from generator.examples import detail_walk
from generator.render import conv
from generator.render.colors import symmetric
from generator.render.common import fmt_ascii


def _frames(data: bytes) -> list[np.ndarray]:
    return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(io.BytesIO(data)))]


def _torch_conv(ctx, probe, layer, neuron, channel=None):
    """The reference: F.conv2d on the same tensors (one channel without bias, or all with bias)."""
    x = torch.from_numpy(probe.stages[previous_stage(layer)])[None]  # (1, in_c, H, W)
    w = torch.from_numpy(ctx.weights[f"{layer}.weight"][neuron : neuron + 1])  # (1, in_c, 3, 3)
    if channel is not None:
        return F.conv2d(x[:, channel : channel + 1], w[:, channel : channel + 1])[0, 0].numpy()
    b = torch.from_numpy(ctx.weights[f"{layer}.bias"][neuron : neuron + 1])
    return F.conv2d(x, w, b)[0, 0].numpy()


@pytest.mark.parametrize(("layer", "neuron"), [("conv_1_1", 2), ("conv_2_2", 7)])
def test_detail_numbers_match_conv2d(layer, neuron):
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    k = conv.detail_channel(probe, layer, neuron)
    inter = probe.intermediates[layer][neuron]
    assert np.abs(inter[k]).sum() == np.abs(inter).sum(axis=(1, 2)).max()
    ref = _torch_conv(ctx, probe, layer, neuron, channel=k)
    steps = conv.detail_steps(probe, ctx.weights, layer, neuron)
    assert len(steps) <= sum(conv.DETAIL_STEPS) and (steps[0].row, steps[0].col) == (0, 0)
    ow = ref.shape[1]
    assert [s.row * ow + s.col for s in steps] == detail_walk(inter[k])  # the walk examples.py chose
    last = steps[-1]
    assert (last.row, last.col) == (ref.shape[0] - 1, ref.shape[1] - 1)  # and the sweep completes
    x = probe.stages[previous_stage(layer)][k]
    for s in steps:
        assert np.array_equal(s.window, x[s.row : s.row + 3, s.col : s.col + 3])
        assert np.array_equal(s.kernel, ctx.weights[f"{layer}.weight"][neuron, k])
        assert np.allclose(s.products, s.window * s.kernel)
        assert s.total == pytest.approx(float(ref[s.row, s.col]), abs=1e-5)


@pytest.mark.parametrize("layer", CONV_LAYERS)
def test_output_map_is_intermediates_plus_bias_and_equals_stages(layer):
    ctx = render_context()
    probe = ctx.probes["school-bus"]
    out = conv.conv_output(probe, ctx.weights, layer, 3)
    assert np.allclose(out, probe.stages[layer][3], atol=1e-5)
    assert np.allclose(out, _torch_conv(ctx, probe, layer, 3), atol=1e-5)


def test_overview_last_frame_shows_the_output_map():
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    r = conv.render_conv_overview(spec("conv-overview", "ladybug", "conv_1_2", 6), ctx)
    frames = _frames(r.data)
    lay = conv.overview_layout(10, 62)
    assert (r.width, r.height) == (lay.width, lay.height) == frames[0].shape[1::-1]
    o = lay.output
    values = probe.stages["conv_1_2"][6]  # (60, 60)
    m = float(np.abs(probe.stages["conv_1_2"]).max())
    z = lay.out_zoom
    want = conv.PALETTE.colors[conv.PALETTE.index(np.repeat(np.repeat(values, z, 0), z, 1), -m, m, "RdBu")]
    assert (frames[0][o.y : o.y + o.h, o.x : o.x + o.w] == want).all()  # the finished map leads the loop
    assert (frames[1][o.y : o.y + o.h, o.x : o.x + o.w] == 255).all()  # then empty, before the sweep
    bias = float(ctx.weights["conv_1_2.bias"][6])
    assert fmt_ascii(bias) in r.alt["en"] and fmt_ascii(bias) in r.alt["zh"]


@pytest.mark.parametrize(
    ("kind", "layer"),
    [
        ("conv-overview", "conv_1_1"),
        ("conv-overview", "conv_2_1"),
        ("conv-detail", "conv_1_1"),
        ("conv-detail", "conv_2_2"),
    ],
)
def test_gif_size_loop_and_determinism(kind, layer):
    """(Render time, a 0.25 s median and 1 s at most, is a benchmark row: benchmarks/bench_render.py.)"""
    ctx = render_context()
    fn = conv.render_conv_overview if kind == "conv-overview" else conv.render_conv_detail
    s = spec(kind, "ladybug", layer, 0)
    r = fn(s, ctx)
    assert r == fn(s, ctx)
    assert len(r.data) <= 150 * 1024
    im = Image.open(io.BytesIO(r.data))
    assert im.info["loop"] == 0 and 10 <= im.n_frames <= conv.MAX_FRAMES
    assert im.size == (r.width, r.height)


def test_detail_frames_show_the_kernel_and_fill_the_intermediate_map():
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    r = conv.render_conv_detail(spec("conv-detail", "ladybug", "conv_1_1", 4), ctx)
    frames = _frames(r.data)
    steps = conv.detail_steps(probe, ctx.weights, "conv_1_1", 4)
    assert len(frames) == 2 + len(steps)  # the still, the empty start, one frame per step
    lay = conv.detail_layout(64, 64)
    assert (r.width, r.height) == (lay.width, lay.height)
    g = lay.grids[1]  # the kernel grid: the same in every frame
    kernel_cells = frames[0][g.y : g.y + g.h, g.x : g.x + g.w]
    assert all((f[g.y : g.y + g.h, g.x : g.x + g.w] == kernel_cells).all() for f in frames)
    w = lay.grids[0]  # the window grid changes with the window (frame 0 is the result, i + 2 shows step i)
    i = next(i for i in range(1, len(steps)) if not np.array_equal(steps[i].window, steps[0].window))
    assert not (frames[2][w.y : w.y + w.h, w.x : w.x + w.w] == frames[i + 2][w.y : w.y + w.h, w.x : w.x + w.w]).all()
    k = conv.detail_channel(probe, "conv_1_1", 4)
    inter = probe.intermediates["conv_1_1"][4, k]  # (62, 62)
    lo, hi = symmetric(inter)
    z, m = lay.zoom, lay.mid
    want = conv.PALETTE.colors[conv.PALETTE.index(np.repeat(np.repeat(inter, z, 0), z, 1), lo, hi, "RdBu")]
    best = max(steps, key=lambda st: abs(st.total))  # the still's window: the strongest of the walk
    shown = frames[0][m.y : m.y + m.h, m.x : m.x + m.w]
    away = np.ones(shown.shape[:2], bool)  # away from that window's highlight
    away[max(0, (best.row - 1) * z) : (best.row + 2) * z, max(0, (best.col - 1) * z) : (best.col + 2) * z] = False
    assert (shown[away] == want[away]).all()  # the finished map comes first
    assert (frames[1][m.y : m.y + m.h, m.x : m.x + m.w] == 255).all()


def test_bad_layer_is_rejected():
    ctx = render_context()
    with pytest.raises(FigureSpecError, match="conv_1_1, conv_1_2"):
        conv.render_conv_overview(spec("conv-overview", "ladybug", "relu_1_1", 0), ctx)
    with pytest.raises(FigureSpecError, match="out of range"):
        conv.render_conv_detail(spec("conv-detail", "ladybug", "conv_1_1", -1), ctx)
