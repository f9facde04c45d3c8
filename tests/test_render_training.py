"""Training curves and the confusion matrix."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from render_fixtures import render_context, spec

from generator.errors import DataError
from generator.render.training import accuracy, render_confusion_matrix, render_training_curves


def test_training_curves():
    ctx = render_context()
    r = render_training_curves(spec("training-curves", image=None), ctx)
    assert r.data == render_training_curves(spec("training-curves", image=None), ctx).data
    assert Image.open(io.BytesIO(r.data)).size == (r.width, r.height)
    h = ctx.history
    best_val = f"{100 * h.val_acc[h.best_epoch - 1]:.1f}"
    for lang in ("zh", "en"):
        assert str(len(h.train_loss)) in r.caption[lang] and best_val in r.caption[lang]


def test_broken_history_is_a_data_error():
    ctx = render_context()
    bad = dataclasses.replace(ctx, history=dataclasses.replace(ctx.history, val_acc=[0.5]))
    with pytest.raises(DataError, match="history"):
        render_training_curves(spec("training-curves", image=None), bad)


def test_confusion_matrix_accuracy():
    ctx = render_context()
    r = render_confusion_matrix(spec("confusion-matrix", image=None), ctx)
    assert r.data == render_confusion_matrix(spec("confusion-matrix", image=None), ctx).data
    assert Image.open(io.BytesIO(r.data)).size == (r.width, r.height)
    acc = np.trace(ctx.confusion) / ctx.confusion.sum()
    assert accuracy(ctx.confusion) == pytest.approx(acc)
    assert f"{100 * acc:.1f} %" in r.caption["en"] and f"{100 * acc:.1f}%" in r.caption["zh"]
    assert f"{int(np.trace(ctx.confusion))}/{int(ctx.confusion.sum())}" in r.alt["en"]


def test_confusion_matrix_errors():
    ctx = render_context()
    with pytest.raises(DataError, match="empty"):
        render_confusion_matrix(
            spec("confusion-matrix", image=None), dataclasses.replace(ctx, confusion=np.zeros((10, 10), np.int64))
        )
    with pytest.raises(DataError, match=r"\(10, 10\)"):
        render_confusion_matrix(
            spec("confusion-matrix", image=None), dataclasses.replace(ctx, confusion=np.ones((3, 3), np.int64))
        )
