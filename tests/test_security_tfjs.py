"""Hostile TF.js model files (issue 10, items 3 and 7): shard paths confined to model.json's folder,
regular files only, bounded reads, and one clear ModelError (CLI: one line, exit 2) for malformed
manifests instead of TypeError / AttributeError / RecursionError tracebacks or NaN output."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from cli_support import child_env, gen, one_error

from generator.errors import ModelError
from generator.tfjs import load_tfjs

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cnn-explainer"
SHARD = "group1-shard1of1.bin"
pytestmark = pytest.mark.skipif(
    not (REF / "model.json").is_file(), reason=f"CNN Explainer reference model not found at {REF}"
)


def model_dir(tmp_path: Path, paths: list | None = None, edit=None, shard: bool = True) -> Path:
    """A copy of the reference model in tmp_path/model/, its manifest paths and entries editable."""
    folder = tmp_path / "model"
    folder.mkdir()
    doc = json.loads((REF / "model.json").read_text())
    if paths is not None:
        doc["weightsManifest"][0]["paths"] = paths
    if edit:
        edit(doc)
    (folder / "model.json").write_text(json.dumps(doc))
    if shard:
        shutil.copyfile(REF / SHARD, folder / SHARD)
    return folder / "model.json"


# --- item 3: shard paths --------------------------------------------------------------------------


def test_shard_path_with_dotdot_is_refused_even_if_the_file_is_a_valid_shard(tmp_path: Path) -> None:
    shutil.copyfile(REF / SHARD, tmp_path / "outside.bin")  # a perfectly good shard, but outside the folder
    path = model_dir(tmp_path, paths=["../outside.bin"], shard=False)
    with pytest.raises(ModelError, match=r"refused weight shard path '\.\./outside\.bin'") as err:
        load_tfjs(path)
    assert str(path) in str(err.value) and "79,680" not in str(err.value)


def test_absolute_shard_path_is_refused(tmp_path: Path) -> None:
    shutil.copyfile(REF / SHARD, tmp_path / "abs.bin")
    path = model_dir(tmp_path, paths=[str(tmp_path / "abs.bin")], shard=False)
    with pytest.raises(ModelError, match=r"refused weight shard path.*no absolute paths"):
        load_tfjs(path)


def test_system_file_is_not_read_and_its_size_not_shown(tmp_path: Path) -> None:
    path = model_dir(tmp_path, paths=["../../../../../../../../etc/passwd"], shard=False)
    with pytest.raises(ModelError) as err:
        load_tfjs(path)
    size = os.path.getsize("/etc/passwd")
    assert "refused" in str(err.value) and f"{size:,}" not in str(err.value)


def test_symlink_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    shutil.copyfile(REF / SHARD, tmp_path / "real.bin")
    path = model_dir(tmp_path, shard=False)
    (path.parent / SHARD).symlink_to(tmp_path / "real.bin")
    with pytest.raises(ModelError, match=r"links outside"):
        load_tfjs(path)


def test_symlink_inside_the_folder_is_fine(tmp_path: Path) -> None:
    path = model_dir(tmp_path, shard=False)
    shutil.copyfile(REF / SHARD, path.parent / "weights.bin")
    (path.parent / SHARD).symlink_to("weights.bin")
    state, _ = load_tfjs(path)
    assert state["conv_1_1.weight"].shape == (10, 3, 3, 3)


def load_in_subprocess(path: Path, timeout: float = 60) -> tuple[str, float]:
    """load_tfjs(path) in a child process -> (the ModelError's text, seconds); fails the test on a hang."""
    code = (
        "import sys\nfrom generator.tfjs import load_tfjs\nfrom generator.errors import ModelError\n"
        "try:\n    load_tfjs(sys.argv[1])\nexcept ModelError as exc:\n    print(exc)\n"
    )
    start = time.perf_counter()
    try:  # 2 GB of address space: a regression that streams /dev/zero fails here, not on the machine
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(),
            cwd=Path(__file__).resolve().parents[1],
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {path} hangs")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, time.perf_counter() - start


def test_symlink_to_dev_zero_is_refused_without_reading(tmp_path: Path) -> None:
    path = model_dir(tmp_path, shard=False)
    (path.parent / SHARD).symlink_to("/dev/zero")
    message, _ = load_in_subprocess(path)
    assert "links outside" in message


def test_fifo_shard_is_refused_at_once(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: the old loader hung here forever."""
    path = model_dir(tmp_path, shard=False)
    os.mkfifo(path.parent / SHARD)
    message, seconds = load_in_subprocess(path)
    assert "named pipe (FIFO)" in message and str(path) in message
    assert seconds < 30


def test_huge_shard_is_not_read_in_full(tmp_path: Path) -> None:
    """A 1 GB (sparse) shard: the size mismatch is found with at most the declared bytes + 1 read."""
    path = model_dir(tmp_path, shard=False)
    with open(path.parent / SHARD, "wb") as fh:
        fh.truncate(1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=r"hold 1,073,741,824 bytes but the manifest describes 79,680"):
            load_tfjs(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak / 1e6:.1f} MB while refusing an oversized shard"


def test_model_json_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "model.json")
    message, _ = load_in_subprocess(tmp_path / "model.json")
    assert "named pipe (FIFO)" in message


def test_oversized_model_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"modelTopology": {}, "weightsManifest": [], "pad": "' + "x" * (5 << 20) + '"}')
    with pytest.raises(ModelError, match=r"larger than 4 MB"):
        load_tfjs(path)


# --- item 7: malformed manifests give one ModelError ---------------------------------------------


def _set(field: str, value):
    def edit(doc: dict) -> None:
        doc["weightsManifest"][0]["weights"][0][field] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("name", ["conv_1_1/kernel"]), r"unexpected weight \['conv_1_1/kernel'\]"),
        (_set("name", {"a": 1}), r"unexpected weight"),
        (_set("shape", "3,3,3,10"), r"weight conv_1_1/kernel has shape '3,3,3,10'"),
        (_set("shape", [[3], 3, 3, 10]), r"has shape"),
        (_set("dtype", ["float32"]), r"stored as \['float32'\]"),
        (
            lambda doc: doc["weightsManifest"][0]["weights"].__setitem__(0, "conv_1_1/kernel"),
            r"entry must be an object",
        ),
        (lambda doc: doc["weightsManifest"].__setitem__(0, "group"), r"needs 'paths' and 'weights' lists"),
        (lambda doc: doc["weightsManifest"][0].__setitem__("paths", SHARD), r"needs 'paths' and 'weights' lists"),
        (lambda doc: doc["weightsManifest"][0].__setitem__("paths", [7]), r"paths must be file names"),
        (lambda doc: doc["weightsManifest"][0].__setitem__("paths", ["a\0b"]), r"paths must be file names"),
        (
            lambda doc: doc["modelTopology"]["model_config"]["config"]["layers"][0]["config"].__setitem__(
                "padding", ["x"] * 500
            ),
            r"has padding=\['x', .*\.\.\., TinyVGG needs 'valid'",
        ),
    ],
)
def test_malformed_manifest_is_one_model_error(tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(ModelError, match=message) as err:
        load_tfjs(model_dir(tmp_path, edit=edit))
    assert len(str(err.value)) < 600 and "\n" not in str(err.value)


def test_deeply_nested_json_is_one_model_error(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    depth = 100_000
    path.write_text('{"modelTopology": ' + "[" * depth + "]" * depth + ', "weightsManifest": []}')
    with pytest.raises(ModelError, match=r"nested too deeply"):
        load_tfjs(path)


def test_binary_model_json_is_one_model_error(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ModelError, match=r"not UTF-8"):
        load_tfjs(path)


def overflowing_model(tmp_path: Path) -> Path:
    """Finite float32 weights (3e38) whose forward pass overflows to inf and then NaN."""
    path = model_dir(tmp_path, shard=False)
    (path.parent / SHARD).write_bytes(np.full(79_680 // 4, 3e38, dtype="<f4").tobytes())
    return path


def test_overflowing_weights_raise_instead_of_nan(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from generator.predict import predict

    with pytest.raises(ModelError, match=r"overflow"):
        predict(overflowing_model(tmp_path), [REF / "images" / "boat_1.jpeg"])


def test_format_json_never_writes_nan() -> None:
    from generator.predict import format_json

    with pytest.raises(ValueError, match="JSON compliant"):
        format_json([{"path": "x", "class": "a", "probabilities": {"a": float("nan")}}])


@pytest.mark.parametrize("case", ["name-list", "entry-string", "nested", "overflow"])
def test_cli_predict_with_a_hostile_model_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    if case == "overflow":
        path = overflowing_model(tmp_path)
    elif case == "nested":
        path = tmp_path / "model.json"
        path.write_text('{"modelTopology": ' + "[" * 50_000 + "]" * 50_000 + ', "weightsManifest": []}')
    else:
        path = model_dir(
            tmp_path,
            edit=_set("name", ["x"])
            if case == "name-list"
            else lambda doc: doc["weightsManifest"][0]["weights"].__setitem__(0, "x"),
        )
    proc = gen("predict", REF / "images" / "boat_1.jpeg", "--weights", path, "--json", cwd=tmp_path)
    one_error(proc, str(path))
    assert proc.returncode == 2
    assert proc.stdout == "" and "nan" not in proc.stdout.lower()
