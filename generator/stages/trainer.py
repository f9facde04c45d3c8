"""The train stage in a process of its own (`python -m generator.stages.trainer`).

Why a process: importing torch takes 1.2 to 1.8 s and an interpreter that has trained takes another
~0.8 s to exit (libtorch's and OpenMP's teardown). The trainer is started before the data is drawn, so
torch loads while the build draws it (the child reads its data once torch is in); it leaves with
os._exit once the checkpoint is written; and the build process never imports torch at all. Nothing is
pickled either way:

- the file named by --data (a memfd on Linux, else an unlinked temporary file, both opened before the
  child starts): each array's raw bytes, at the offsets the header gives. The child maps it copy-on-write,
  so ~90 MB of images cost neither a pipe's copy (0.2 to 0.4 s measured through one) nor memory of its own;
- stdin: one JSON line, written once the data is in that file (the TrainConfig, the output directory, the
  dataset's names and each array's dtype, shape and offset);
- the file descriptor named by --result: {"ready": true} once the child has its data (the build measures
  how long its data waited for torch), then one JSON line, {"ok": true} or {"error": {...}} describing the
  exception (an OSError keeps its errno and file name, the project's errors their type).

Progress bars and epoch lines go to the build's stderr (its stdout is for results only).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import mmap
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from generator import errors
from generator.config import TrainConfig
from generator.datasets import Dataset

ARRAYS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding generator/


class Trainer:
    """A trainer process, started early (it imports torch at once) and given its data later."""

    def __init__(self) -> None:
        self.ready_after = 0.0  # (train)
        read, write = os.pipe()
        self._data = data_file()
        env = dict(os.environ)
        # The child imports the same generator package as this process, wherever that came from.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "generator.stages.trainer"),
                    *("--result", str(write), "--data", str(self._data), "--parent", str(os.getpid())),
                ],
                stdin=subprocess.PIPE,
                stdout=_stderr_fd(),  # progress only: stdout carries results (`predict --json`, `figure -o -`)
                pass_fds=(write, self._data),
                env=env,
            )
        except BaseException:
            os.close(self._data)
            os.close(read)
            raise
        finally:
            os.close(write)
        self._result = os.fdopen(read, "rb")

    def train(
        self, cfg: TrainConfig, data: Dataset, out: Path, progress: bool, meanwhile: Callable[[], object] | None = None
    ) -> None:
        """Train on `data` into `out` (the train stage's temporary directory) and wait for it, running
        `meanwhile` (this process has nothing else to do while the trainer works). Raises
        what the trainer raised: an OSError with its errno and file name, the project's own errors as
        themselves, anything else as a ModelError with the trainer's traceback. `ready_after`: the seconds
        the data waited for the trainer (it reads the header once torch is in), so that this wait counts as
        overhead, not as training."""
        try:
            t = time.perf_counter()
            self._send(cfg, data, out, progress)
            raw = self._result.readline()
            self.ready_after = time.perf_counter() - t
            if raw.strip() == READY:
                if meanwhile is not None:
                    meanwhile()
                raw = self._result.readline()
            code = self.proc.wait()
        except BaseException:  # Ctrl-C, or a write into a trainer that died: it goes too
            self.close()
            raise
        self._result.close()
        if not raw:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise errors.ModelError(
                f"training stopped: its process {how} before writing the model (out of memory?); run the "
                "build again, and with fewer `epochs` or images if it happens again"
            )
        raise_reported(json.loads(raw))

    def _send(self, cfg: TrainConfig, data: Dataset, out: Path, progress: bool) -> None:
        arrays = [np.ascontiguousarray(getattr(data, name)) for name in ARRAYS]
        offsets = []
        try:
            end = 0
            for a in arrays:
                offsets.append(end)
                _write_at(self._data, a.data.cast("B"), end)
                end = _aligned(end + a.nbytes)
        finally:
            os.close(self._data)  # the child has its own descriptor of the file
            self._data = -1
        header = {
            "train": asdict(cfg),
            "out": str(out),
            "progress": progress,
            "data": {"name": data.name, "classes": list(data.classes), "test_ids": list(data.test_ids)},
            "spec": data.spec,
            "arrays": [[a.dtype.str, list(a.shape), at] for a, at in zip(arrays, offsets, strict=True)],
        }
        pipe = self.proc.stdin
        assert pipe is not None
        try:
            pipe.write(json.dumps(header).encode() + b"\n")
            pipe.close()
        except BrokenPipeError:
            pass  # the trainer died first: its exit status tells why

    def close(self) -> None:
        """Stop the trainer (an abandoned build) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self._data >= 0:
            os.close(self._data)
            self._data = -1
        for stream in (self.proc.stdin, self._result):
            if stream is not None and not stream.closed:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()


READY = b'{"ready": true}'
ALIGN = 64  # each array starts on a cache line


def data_file() -> int:
    """A file for the data, in memory where Linux offers it (memfd), else an unlinked temporary file."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("tinyvgg-train-data", os.MFD_CLOEXEC)
        except OSError:  # a kernel or sandbox without memfd
            pass
    with tempfile.TemporaryFile() as f:
        return os.dup(f.fileno())


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while data:
        n = os.pwrite(fd, data, offset)
        data, offset = data[n:], offset + n


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # a captured stderr (tests) has no descriptor
        return 2


def raise_reported(result: dict) -> None:
    """The trainer's result line -> nothing (success) or the exception it describes."""
    if result.get("ok"):
        return
    err = result.get("error") or {}
    kind, message = str(err.get("type", "")), str(err.get("message", "the trainer reported no error text"))
    if kind == "OSError":
        code = err.get("errno")
        raise OSError(code, err.get("strerror") or message, err.get("filename")) if code else OSError(message)
    project = getattr(errors, kind, None)
    if isinstance(project, type) and issubclass(project, errors.GeneratorError):
        raise project(message)
    raise errors.ModelError(f"training failed ({kind}): {message}")


def describe(exc: BaseException) -> dict:
    if isinstance(exc, OSError):
        return {
            "type": "OSError",
            "errno": exc.errno,
            "strerror": exc.strerror,
            "filename": exc.filename,
            "message": str(exc),
        }
    if isinstance(exc, errors.GeneratorError):
        return {"type": type(exc).__name__, "message": str(exc)}
    return {"type": type(exc).__name__, "message": "".join(traceback.format_exception(exc)).rstrip()}


# -- the child ---------------------------------------------------------------------------------------------


def _read(stream: io.BufferedReader, data_fd: int) -> tuple[dict, list[np.ndarray]]:
    """The header and the arrays, as _send wrote them: views of the data file, mapped copy-on-write (the
    arrays are writable, and writing them changes nothing in the file)."""
    header = json.loads(stream.readline() or b"null")
    if not isinstance(header, dict):
        raise EOFError("the build closed the data pipe before sending the data")
    layout = [(np.dtype(dtype), tuple(shape), int(at)) for dtype, shape, at in header["arrays"]]
    end = max((at + dtype.itemsize * int(np.prod(shape)) for dtype, shape, at in layout), default=0)
    size = os.fstat(data_fd).st_size
    if size < end:
        raise EOFError(f"the build wrote {size} bytes of data, {end} expected")
    if end == 0:
        return header, [np.empty(shape, dtype) for dtype, shape, _ in layout]
    buffer = mmap.mmap(data_fd, end, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    arrays = [np.frombuffer(buffer, dtype, int(np.prod(shape)), at).reshape(shape) for dtype, shape, at in layout]
    return header, arrays


def _die_with_parent(parent: int) -> None:
    """Linux: die with the build process (a build killed with SIGKILL cannot stop us)."""
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m generator.stages.trainer", description=__doc__)
    p.add_argument("--result", type=int, required=True, help="file descriptor for the result line")
    p.add_argument("--data", type=int, required=True, help="file descriptor of the data file")
    p.add_argument("--parent", type=int, required=True, help="the build's process id (we die with it)")
    args = p.parse_args()
    result = os.fdopen(args.result, "w", encoding="utf-8")
    _die_with_parent(args.parent)
    try:
        # torch first: it loads while the build draws the data
        from generator.stages.train import train_stage

        with open(sys.stdin.fileno(), "rb", closefd=False) as stdin:
            header, arrays = _read(stdin, args.data)
        os.close(args.data)  # the mapping keeps the data
        result.write(READY.decode() + "\n")
        result.flush()
        names = header["data"]
        data = Dataset(
            name=names["name"],
            classes=tuple(names["classes"]),
            test_ids=tuple(names["test_ids"]),
            spec=header["spec"],
            **dict(zip(ARRAYS, arrays, strict=True)),
        )
        train_stage(TrainConfig(**header["train"]), data, Path(header["out"]), header["progress"])
        answer: dict = {"ok": True}
    except BaseException as exc:  # reported to the build, which raises it
        answer = {"error": describe(exc)}
    result.write(json.dumps(answer) + "\n")
    result.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip libtorch's and OpenMP's teardown (~0.8 s): everything is written and flushed


if __name__ == "__main__":
    main()
