"""Hyperparameter animations: the output-size formula and the convolution they show."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from render_fixtures import render_context, spec

from generator.errors import ConfigError, FigureSpecError
from generator.render.hyper import SETTINGS, convolve, output_size, render_hyperparameter, sample_input, sample_kernel


@pytest.mark.parametrize(
    ("w", "k", "p", "s", "expected"),
    [
        (5, 3, 0, 1, 3),
        (5, 3, 1, 1, 5),
        (5, 3, 2, 1, 7),
        (4, 3, 0, 1, 2),
        (4, 3, 1, 1, 4),
        (4, 3, 2, 1, 6),  # padding
        (5, 2, 0, 1, 4),
        (5, 4, 0, 1, 2),
        (5, 5, 0, 1, 1),  # kernel size
        (7, 3, 0, 2, 3),
        (7, 3, 1, 3, 3),
        (64, 3, 0, 1, 62),
        (62, 2, 0, 2, 31),
        (7, 3, 0, 3, None),
        (6, 3, 0, 2, None),
        (5, 2, 0, 2, None),  # stride leaves cells over
        (4, 5, 0, 1, None),  # kernel larger than the input
    ],
)
def test_output_size(w, k, p, s, expected):
    assert output_size(w, k, p, s) == expected


def test_output_size_rejects_nonsense():
    with pytest.raises(ConfigError):
        output_size(5, 3, 0, 0)
    with pytest.raises(ConfigError):
        output_size(5, 3, -1, 1)


@pytest.mark.parametrize("st", [st for sts in SETTINGS.values() for st in sts])
def test_shown_convolution_is_torch_conv2d(st):
    x, k = sample_input(st.w), sample_kernel(st.k)
    expected = torch.nn.functional.conv2d(
        torch.tensor(x, dtype=torch.float64)[None, None],
        torch.tensor(k, dtype=torch.float64)[None, None],
        stride=st.s,
        padding=st.p,
    )[0, 0]
    out = convolve(x, k, st.p, st.s)
    np.testing.assert_array_equal(out, expected.numpy())
    size = output_size(st.w, st.k, st.p, st.s)
    assert size is None or out.shape == (size, size)


def _positions(hyper: str) -> int:
    """Frames: one per kernel position plus a held frame per setting (invalid: first row + overflow), and
    the first setting's finished output leading the loop."""
    total = 1
    for st in SETTINGS[hyper]:
        o = (st.w + 2 * st.p - st.k) // st.s + 1
        total += (o * o if output_size(st.w, st.k, st.p, st.s) else o) + 1
    return total


@pytest.mark.parametrize("hyper", ["padding", "kernel-size", "stride"])
def test_gif(hyper):
    r = render_hyperparameter(spec("hyperparameter", image=None, hyper=hyper), render_context())
    im = Image.open(io.BytesIO(r.data))
    assert im.format == "GIF" and im.size == (r.width, r.height)
    assert im.n_frames == _positions(hyper)
    assert im.info["loop"] == 0
    assert len(r.data) <= 150 * 1024  # the site's rule for every GIF
    assert "(W − K + 2P) / S + 1" in r.caption["en"]
    if hyper == "stride":
        # S = 3 on 7 x 7 with K = 3: floor(4 / 3) + 1 = 2, the last row and column are never visited
        assert "round down: 2 × 2, the last 1 row(s)" in r.alt["en"] and "向下取整：2 × 2，最后 1 行" in r.alt["zh"]


def test_deterministic_and_unknown_hyper():
    ctx = render_context()
    s = spec("hyperparameter", image=None, hyper="kernel-size")
    assert render_hyperparameter(s, ctx).data == render_hyperparameter(s, ctx).data
    with pytest.raises(FigureSpecError, match="hyper"):
        render_hyperparameter(spec("hyperparameter", image=None, hyper="dilation"), ctx)


def test_relu_graph():
    """The other model-independent figure (relu_graph.py has no test module of its own)."""
    from generator.render.relu_graph import relu, render_relu_graph

    np.testing.assert_array_equal(relu(np.array([-2.0, 0.0, 3.5])), [0.0, 0.0, 3.5])
    ctx = render_context()
    r = render_relu_graph(spec("relu-graph", image=None), ctx)
    assert r.data == render_relu_graph(spec("relu-graph", image=None), ctx).data
    assert Image.open(io.BytesIO(r.data)).size == (r.width, r.height)
    assert "max(0, x)" in r.caption["zh"] and "max(0, x)" in r.caption["en"]
