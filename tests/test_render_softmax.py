"""Softmax animation: its numbers against torch.softmax, and the GIF it encodes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from render_fixtures import render_context, spec

from generator.errors import DataError, FigureSpecError
from generator.names import CLASS_NAMES_ZH
from generator.render.softmax import render_softmax, softmax_numbers


def test_numbers_match_torch_softmax():
    ctx = render_context()
    for probe in ctx.probes.values():
        logits = probe.stages["output"]
        n = softmax_numbers(logits)
        expected = torch.softmax(torch.from_numpy(logits).double(), dim=0).numpy()
        np.testing.assert_allclose(n.probs, expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(n.probs, probe.stages["softmax"], rtol=0, atol=1e-6)
        assert n.probs.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(n.exps, np.exp(logits.astype(np.float64)), rtol=1e-12)
        assert n.total == pytest.approx(n.exps.sum(), rel=1e-12)
        assert n.shift == 0.0


def test_huge_logits_stay_finite():
    logits = np.array([120.0, 118.5, -3.0, 0.0], dtype=np.float32)
    n = softmax_numbers(logits)
    assert n.shift == 120.0 and np.all(np.isfinite(n.exps))
    expected = torch.softmax(torch.from_numpy(logits).double(), dim=0).numpy()
    np.testing.assert_allclose(n.probs, expected, atol=1e-12)


def test_bad_logits_raise_data_error():
    with pytest.raises(DataError, match="logits"):
        softmax_numbers(np.array([1.0, np.nan]))


def test_gif_frames_loop_size_and_determinism():
    ctx = render_context()
    first = render_softmax(spec("softmax", image="ladybug"), ctx)
    again = render_softmax(spec("softmax", image="ladybug"), ctx)
    assert first.data == again.data
    assert first.data[:6] == b"GIF89a"
    assert len(first.data) <= 150 * 1024
    im = Image.open(io.BytesIO(first.data))
    assert im.size == (first.width, first.height)
    # logits alone, exponentials, one frame per class, the final prediction
    assert im.n_frames == len(ctx.classes) + 3 <= 30
    assert im.info["loop"] == 0


def test_alt_and_caption_quote_the_numbers():
    ctx = render_context()
    probe = ctx.probes["school-bus"]
    r = render_softmax(spec("softmax", image="school-bus"), ctx)
    pred = probe.predicted
    name, p = ctx.classes[pred], float(probe.stages["softmax"][pred])
    for lang in ("zh", "en"):
        assert name in r.alt[lang] and name in r.caption[lang]
        assert f"{100 * p:.1f}" in r.alt[lang]
        assert f"{probe.stages['output'][pred]:.2f}" in r.caption[lang]
    assert CLASS_NAMES_ZH[name] in r.alt["zh"] and CLASS_NAMES_ZH[name] in r.caption["zh"]
    assert CLASS_NAMES_ZH[name] not in r.alt["en"] + r.caption["en"]
    assert render_softmax(spec("softmax", image="ladybug"), ctx).data != r.data


def test_unknown_image_is_a_figure_spec_error():
    with pytest.raises(FigureSpecError, match="unknown image 'nope'"):
        render_softmax(spec("softmax", image="nope"), render_context())


def test_index_frames_is_exact_for_few_colours_and_replays_changes():
    """render/mpl.py's palette mapping, which every R2 animation goes through."""
    from generator.render.mpl import index_frames

    rng = np.random.default_rng(0)
    colours = rng.integers(0, 32, (40, 3)).astype(np.uint8) * 8  # on the 5-bit grid: mapped exactly
    frames = [colours[rng.integers(0, 40, (20, 30))] for _ in range(4)]
    frames[2] = frames[1].copy()
    frames[2][5:9, 3:7] = colours[0]
    index, palette = index_frames(frames)
    assert len(palette) <= 40
    for frame, idx in zip(frames, index, strict=True):
        np.testing.assert_array_equal(palette[idx], frame)
    many = [rng.integers(0, 256, (30, 40, 3)).astype(np.uint8) for _ in range(3)]  # > 255 colours
    index, palette = index_frames(many)
    assert len(palette) == 255
    assert all(np.abs(palette[i].astype(int) - f).mean() < 40 for i, f in zip(index, many, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(index, index_frames(many)[0], strict=True))


def test_number_format_in_figures():
    from generator.render.mpl import fmt_sig

    assert fmt_sig(10.0002) == "10.00"
    assert fmt_sig(0.95512) == "0.9551"
    assert fmt_sig(4.339e8) == "4.339\u00d710\u2078"
    assert fmt_sig(2.381e-7) == "2.381\u00d710\u207b\u2077"
