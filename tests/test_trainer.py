"""The train stage in its own process (generator/stages/trainer.py): the same checkpoint bytes as training
in-process, the trainer's errors raised in the build as the right type, a killed trainer reported in one
clear line, and a build that trains without importing torch itself."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from generator import errors
from generator.config import TrainConfig
from generator.datasets import Dataset
from generator.stages.trainer import Trainer, describe, raise_reported

ROOT = Path(__file__).resolve().parents[1]
CFG = TrainConfig(epochs=1, batch_size=16)


@pytest.fixture(scope="module")
def data() -> Dataset:
    """2 classes, 24 training images: enough for one epoch, in a second."""
    rng = np.random.default_rng(3)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(np.arange(2, dtype=np.int64), n)
        x = rng.integers(0, 256, (2 * n, 64, 64, 3), dtype=np.uint8)
        x[y == 1] //= 2  # class 1 is darker
        return x, y

    (tx, ty), (vx, vy), (sx, sy) = split(12), split(3), split(3)
    return Dataset(
        name="toy",
        classes=("light", "dark"),
        train_x=tx,
        train_y=ty,
        val_x=vx,
        val_y=vy,
        test_x=sx,
        test_y=sy,
        test_ids=tuple(f"t{i}" for i in range(len(sx))),
        spec={"toy": 1},
    )


@pytest.mark.slow  # trains twice (torch in a subprocess and here)
def test_trainer_writes_what_training_in_process_writes(data: Dataset, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from generator.stages.train import train_stage

    ran: list[str] = []
    child, here = tmp_path / "child", tmp_path / "here"
    child.mkdir()
    here.mkdir()
    trainer = Trainer()
    trainer.train(CFG, data, child, progress=False, meanwhile=lambda: ran.append("meanwhile"))
    train_stage(CFG, data, here, progress=False)
    assert ran == ["meanwhile"]
    # A trainer started just now reads its data only once torch is in (~1 s): the wait is measured
    # (build.py reports it as `torch`, apart from the training).
    assert trainer.ready_after > 0.2
    assert sorted(p.name for p in child.iterdir()) == sorted(p.name for p in here.iterdir())
    for name in ("model.safetensors", "history.safetensors"):
        assert (child / name).read_bytes() == (here / name).read_bytes(), name
    meta = [json.loads((d / "meta.json").read_text(encoding="utf-8")) for d in (child, here)]
    for m in meta:
        m["metrics"].pop("train_seconds")
    assert meta[0] == meta[1]
    assert meta[0]["classes"] == ["light", "dark"] and meta[0]["data_spec"] == {"toy": 1}


@pytest.mark.slow  # imports torch in a subprocess
def test_a_write_that_fails_in_the_trainer_is_an_oserror_naming_the_file(data: Dataset, tmp_path: Path) -> None:
    missing = tmp_path / "gone"  # never created: the checkpoint cannot be written there
    with pytest.raises(FileNotFoundError) as caught:
        Trainer().train(CFG, data, missing, progress=False)
    assert caught.value.errno == errno.ENOENT
    assert str(missing) in str(caught.value.filename)


@pytest.mark.slow  # starts a trainer (it imports torch at once)
def test_a_killed_trainer_is_one_clear_error(data: Dataset, tmp_path: Path) -> None:
    trainer = Trainer()
    timer = threading.Timer(0.5, lambda: os.kill(trainer.proc.pid, signal.SIGKILL))
    timer.start()
    try:
        with pytest.raises(errors.ModelError, match="killed by signal 9") as caught:
            trainer.train(TrainConfig(epochs=50), data, tmp_path, progress=False)
    finally:
        timer.cancel()
    assert "run the build again" in str(caught.value)
    assert trainer.proc.returncode == -signal.SIGKILL


@pytest.mark.slow  # starts a trainer
def test_close_stops_an_unused_trainer() -> None:
    trainer = Trainer()
    trainer.close()
    assert trainer.proc.returncode is not None
    trainer.close()  # twice is harmless


def test_reported_errors_are_raised_as_their_type() -> None:
    raise_reported({"ok": True})
    with pytest.raises(errors.DataError, match="bad image"):
        raise_reported({"error": describe(errors.DataError("bad image"))})
    with pytest.raises(OSError, match="No space left") as caught:
        raise_reported({"error": describe(OSError(errno.ENOSPC, "No space left on device", "/x/model.safetensors"))})
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, "/x/model.safetensors")
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        report = describe(exc)
    with pytest.raises(errors.ModelError, match=r"(?s)training failed \(ValueError\).*a bug"):
        raise_reported({"error": report})
    assert "Traceback" in report["message"]  # a bug keeps its traceback for the report
    with pytest.raises(errors.ModelError, match="training failed"):
        raise_reported({"error": {"type": "SystemExit", "message": "1"}})  # not a project error: not raised as such
    with pytest.raises(errors.ModelError):
        raise_reported({})


def _bare_trainer(data: bytes) -> tuple[subprocess.Popen, int]:
    """A trainer started by hand, with `data` in its data file; returns it and its result's read end."""
    from generator.stages.trainer import data_file

    read, write = os.pipe()
    fd = data_file()
    os.pwrite(fd, data, 0)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "generator.stages.trainer"),
            *("--result", str(write), "--data", str(fd), "--parent", str(os.getpid())),
        ],
        stdin=subprocess.PIPE,
        pass_fds=(write, fd),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    os.close(write)
    os.close(fd)
    return proc, read


@pytest.mark.slow  # the trainer imports torch before reading
@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"", "closed the data pipe before sending the data"),
        # the header promises 4 images, the file holds 100 bytes
        (b'{"arrays": [["|u1", [4, 64, 64, 3], 0]]}\n', "wrote 100 bytes of data, 49152 expected"),
    ],
)
def test_the_trainer_refuses_missing_data(header: bytes, message: str) -> None:
    """The build died before sending its data, or sent less than it announced: the trainer reports it and
    exits, training nothing and never saying it is ready."""
    proc, read = _bare_trainer(b"\0" * 100)
    assert proc.stdin is not None
    proc.stdin.write(header)
    proc.stdin.close()
    with os.fdopen(read, "rb") as result:
        lines = result.read().splitlines()
    assert proc.wait(timeout=120) == 0
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert answer["error"]["type"] == "EOFError" and message in answer["error"]["message"]


def test_the_trainer_maps_its_data_writable_and_leaves_the_file_alone() -> None:
    """The child's arrays are copy-on-write views of the data file: torch may write them (from_numpy wants
    writable arrays), the file keeps the build's bytes."""
    import io

    from generator.stages.trainer import _read, data_file

    a = np.arange(5 * 7, dtype=np.int64).reshape(5, 7)
    b = np.arange(3, dtype=np.uint8)
    fd = data_file()
    try:
        os.pwrite(fd, a.tobytes(), 0)
        os.pwrite(fd, b.tobytes(), 320)
        header = json.dumps({"arrays": [["<i8", [5, 7], 0], ["|u1", [3], 320]]}).encode() + b"\n"
        _, (x, y) = _read(io.BufferedReader(io.BytesIO(header)), fd)  # type: ignore[arg-type]
        np.testing.assert_array_equal(x, a)
        np.testing.assert_array_equal(y, b)
        assert x.flags.writeable and y.flags.writeable
        x[0, 0] = 99
        assert os.pread(fd, 8, 0) == a[0, 0].tobytes()
    finally:
        os.close(fd)


@pytest.mark.slow  # trains a small model
def test_a_build_that_trains_never_imports_torch_itself(tmp_path: Path) -> None:
    """The probe, the figures and everything after training run in NumPy: torch stays in the trainer."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from generator.build import ensure_model\n"
        "from generator.config import BuildConfig, DataConfig, TrainConfig\n"
        f"cfg = BuildConfig(data=DataConfig(per_class=30), train=TrainConfig(epochs=1), max_samples=1,"
        f" cache_dir=Path({str(tmp_path / 'cache')!r}))\n"
        "train_dir, probe_dir = ensure_model(cfg, progress=False, log=lambda m: None)\n"
        "assert (train_dir / 'model.safetensors').is_file() and (probe_dir / 'facts.json').is_file()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
