"""Kernel figures: a layer's kernels, their evolution over training, and the logo."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import torch
from PIL import Image
from render_fixtures import render_context, spec

from generator.errors import FigureSpecError
from generator.render.kernels import mosaic, render_kernel_evolution, render_kernels, render_logo, strongest_kernel


def png_chunks(data: bytes) -> list[bytes]:
    """Chunk types of a PNG, in order."""
    out, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        out.append(kind)
        pos += 12 + length
    return out


def test_mosaic_places_every_kernel():
    weight = np.arange(10 * 3 * 9, dtype=np.float32).reshape(10, 3, 3, 3)
    img = mosaic(weight)
    assert img.shape == (3 * 4 - 1, 10 * 4 - 1)
    for o in range(10):
        for k in range(3):
            np.testing.assert_array_equal(img[k * 4 : k * 4 + 3, o * 4 : o * 4 + 3], weight[o, k])
    assert np.isnan(img[3]).all() and np.isnan(img[:, 3]).all()  # gaps


@pytest.mark.parametrize("layer", ["conv_1_1", "conv_2_2"])
def test_kernels_png(layer):
    ctx = render_context()
    r = render_kernels(spec("kernels", image=None, layer=layer), ctx)
    assert r.data == render_kernels(spec("kernels", image=None, layer=layer), ctx).data
    assert png_chunks(r.data)[0] == b"IHDR" and not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(png_chunks(r.data))
    assert Image.open(io.BytesIO(r.data)).size == (r.width, r.height)
    count = 30 if layer == "conv_1_1" else 100
    assert f"{count} " in r.caption["en"] and layer in r.alt["zh"]


def test_kernels_of_a_non_conv_layer():
    with pytest.raises(FigureSpecError, match="conv_1_1"):
        render_kernels(spec("kernels", image=None, layer="relu_1_1"), render_context())


def test_kernel_evolution_one_frame_per_epoch():
    ctx = render_context()
    r = render_kernel_evolution(spec("kernel-evolution", image=None), ctx)
    assert r.data == render_kernel_evolution(spec("kernel-evolution", image=None), ctx).data
    im = Image.open(io.BytesIO(r.data))
    epochs = len(ctx.history.train_loss)
    assert im.n_frames == epochs + 1 == len(ctx.history.kernels)
    assert im.info["loop"] == 0 and im.size == (r.width, r.height)
    assert f"{epochs + 1}" in r.alt["en"]


def test_logo_square_from_strongest_kernel():
    ctx = render_context()
    weight = ctx.weights["conv_1_1.weight"]
    norms = torch.linalg.vector_norm(torch.from_numpy(weight), dim=(2, 3))  # (10, 3)
    o, k = divmod(int(norms.argmax()), 3)
    assert strongest_kernel(weight) == (o, k)
    r = render_logo(spec("logo", image=None), ctx)
    assert r.data == render_logo(spec("logo", image=None), ctx).data
    im = Image.open(io.BytesIO(r.data))
    assert im.size == (r.width, r.height) == (256, 256)
    assert im.mode == "RGBA" and im.getpixel((0, 0))[3] == 0  # transparent corners
    assert f"neuron {o}" in r.alt["en"]
    assert set(png_chunks(r.data)) <= {b"IHDR", b"IDAT", b"IEND"}
