"""Bad input, weights: a checkpoint of another architecture is refused with the offending tensors
named; pickles (by content, by suffix, torch.save's zip) are refused before anything parses them.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_support import gen, one_error, rgb_image

pytestmark = pytest.mark.slow  # each test starts `generator predict`, which loads torch, in subprocesses


def _other_architecture(folder: Path) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir()
    rng = np.random.default_rng(0)
    state = {
        "conv_1_1.weight": rng.normal(size=(16, 3, 5, 5)).astype(np.float32),
        "conv_1_1.bias": np.zeros(16, np.float32),
        "output.weight": rng.normal(size=(10, 4096)).astype(np.float32),
        "output.bias": np.zeros(10, np.float32),
    }
    save_file(state, str(folder / "model.safetensors"))
    (folder / "meta.json").write_text(json.dumps({"classes": [f"c{i}" for i in range(10)]}))
    return folder / "model.safetensors"


class _Trap:
    """Unpickling this creates a marker file: proof that a pickle was (not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_checkpoint_of_another_architecture_is_refused(tmp_path: Path) -> None:
    weights = _other_architecture(tmp_path / "other")
    image = tmp_path / "cat.png"
    rgb_image(64, 64).save(image)
    for given in (weights, weights.parent):  # the file, or its checkpoint directory
        proc = gen("predict", "--weights", given, image, cwd=tmp_path)
        one_error(proc, str(given), "another architecture", "conv_1_1.weight")


def test_pickles_are_refused_and_never_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pickles by content (whatever their name), by suffix, and torch.save's zip format are refused
    before anything parses them. Two through a subprocess; the rest through cli.main in-process (the
    same code path, without paying for another interpreter and torch import each)."""
    from generator import cli

    marker = tmp_path / "UNPICKLED"
    blob = pickle.dumps({"conv_1_1.weight": _Trap(marker)}, protocol=4)
    assert not marker.exists()
    image = tmp_path / "cat.png"
    rgb_image(64, 64).save(image)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(blob)
    (tmp_path / "ckpt" / "meta.json").write_text(json.dumps({"classes": ["a", "b"]}))
    (tmp_path / "model.pt").write_bytes(blob)
    (tmp_path / "disguised.safetensors").write_bytes(blob)  # a pickle under an innocent name
    (tmp_path / "weights.bin").write_bytes(b"\0" * 64)  # a pickle-family suffix
    with zipfile.ZipFile(tmp_path / "torch_save.pth", "w") as zf:  # torch.save's format: a zip of pickles
        zf.writestr("archive/data.pkl", blob)
    for given in ("model.pt", "ckpt"):
        one_error(gen("predict", "--weights", given, image.name, cwd=tmp_path), given, "refused")
    monkeypatch.chdir(tmp_path)
    for given in ("disguised.safetensors", "weights.bin", "torch_save.pth"):
        capsys.readouterr()
        assert cli.main(["predict", "--weights", given, image.name]) == 2
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {given}: refused"), lines
    assert not marker.exists(), "a pickle was unpickled"
