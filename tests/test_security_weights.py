"""Hostile checkpoint files (red-team pass over generator/weights.py): a safetensors header that
declares huge tensors is refused from the header alone, meta.json reads are bounded, and paths that
are not regular files are named as such."""

from __future__ import annotations

import json
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from generator.errors import ModelError
from generator.weights import expected_shapes, load_weights

pytest.importorskip("safetensors")


def checkpoint(folder: Path, classes: int = 3) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir()
    rng = np.random.default_rng(0)
    save_file(
        {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, shape in expected_shapes(classes).items()},
        str(folder / "model.safetensors"),
    )
    (folder / "meta.json").write_text(json.dumps({"classes": [f"c{i}" for i in range(classes)]}))
    return folder


def test_a_good_checkpoint_loads(tmp_path: Path) -> None:
    state, meta = load_weights(checkpoint(tmp_path / "ck"))
    assert meta["classes"] == ["c0", "c1", "c2"] and state["output.weight"].shape == (3, 1690)


def test_huge_declared_output_layer_is_refused_from_the_header(tmp_path: Path) -> None:
    """20,000 classes: 135 MB of float32 that the old loader read in full before checking anything."""
    folder = checkpoint(tmp_path / "ck")
    shapes = dict(expected_shapes(20_000))
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path = folder / "model.safetensors"
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + offset)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=r"output\.weight has shape \(20000, 1690\).*1 to 10,000 classes"):
            load_weights(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak / 1e6:.0f} MB"


def test_oversized_meta_json_is_refused(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ck")
    meta = folder / "meta.json"
    meta.write_text(json.dumps({"classes": ["c0", "c1", "c2"]}) + " " * (17 << 20))
    with pytest.raises(ModelError, match=r"meta\.json: larger than 16 MB"):
        load_weights(folder)


def test_deeply_nested_meta_json_is_one_error(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ck")
    (folder / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError, match=r"meta\.json: cannot read the checkpoint metadata"):
        load_weights(folder)


def test_fifo_weights_path_is_named_as_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match=r"is a named pipe \(FIFO\), not a weights file"):
        load_weights(fifo)
