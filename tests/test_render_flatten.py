"""Flatten figure: the unrolled vector and the rebuilt logit against the model's own numbers."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from render_fixtures import render_context, spec

from generator.errors import DataError
from generator.render.flatten import flatten_numbers, render_flatten


def test_vector_is_the_models_flatten_and_logit_its_output():
    ctx = render_context()
    w = torch.from_numpy(ctx.weights["output.weight"])
    b = torch.from_numpy(ctx.weights["output.bias"])
    for probe in ctx.probes.values():
        n = flatten_numbers(probe, ctx.weights)
        pool = torch.from_numpy(probe.stages["max_pool_2"])[None]  # (1, 10, 13, 13)
        flat = torch.nn.Flatten()(pool)[0]
        np.testing.assert_array_equal(n.vector, flat.numpy())
        np.testing.assert_array_equal(n.vector, probe.stages["flatten"])
        assert n.vector[3 * 169 + 13 * 4 + 7] == probe.stages["max_pool_2"][3, 4, 7]  # channel-major
        assert n.pred == int(np.argmax(probe.stages["output"]))
        assert n.logit == pytest.approx(float(probe.stages["output"][n.pred]), abs=1e-5)
        assert n.logit == pytest.approx(float(torch.nn.functional.linear(flat, w, b)[n.pred]), abs=1e-5)
        np.testing.assert_allclose(n.products.sum(), n.dot)


def test_png_size_determinism_and_words():
    ctx = render_context()
    r = render_flatten(spec("flatten", image="ladybug"), ctx)
    assert r.data == render_flatten(spec("flatten", image="ladybug"), ctx).data
    im = Image.open(io.BytesIO(r.data))
    assert im.format == "PNG" and im.size == (r.width, r.height)
    n = flatten_numbers(ctx.probes["ladybug"], ctx.weights)
    for lang in ("zh", "en"):
        assert f"{n.logit:.3f}" in r.alt[lang] and f"{n.logit:.3f}" in r.caption[lang]
        assert ctx.classes[n.pred] in r.alt[lang]


def test_weights_of_another_model_are_a_data_error():
    ctx = render_context()
    weights = {**ctx.weights, "output.weight": np.zeros((10, 100), np.float32)}
    with pytest.raises(DataError, match=r"output\.weight"):
        flatten_numbers(ctx.probes["ladybug"], weights)
