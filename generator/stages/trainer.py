"""The train stage in a process of its own (`python -m generator.stages.trainer`).

Why a process: importing torch takes 1.2 to 1.8 s and an interpreter that has trained takes another
~0.8 s to exit (libtorch's and OpenMP's teardown). The trainer is started before the data is drawn, so
torch loads while the build draws it (the child reads its data once torch is in); it leaves with
os._exit once the checkpoint is written; and the build process never imports torch at all. Nothing is
pickled either way:

- stdin: one JSON line (the TrainConfig, the output directory, the dataset's names and the arrays'
  dtypes and shapes), then each array's raw bytes in that order;
- the file descriptor named by --result: one JSON line, {"ok": true} or {"error": {...}} describing the
  exception (an OSError keeps its errno and file name, the project's errors their type).

Progress bars and epoch lines go to the build's stderr (its stdout is for results only).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
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
        read, self._write_end = os.pipe()
        env = dict(os.environ)
        # The child imports the same generator package as this process, wherever that came from.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "generator.stages.trainer"),
                    *("--result", str(self._write_end), "--parent", str(os.getpid())),
                ],
                stdin=subprocess.PIPE,
                stdout=_stderr_fd(),  # progress only: stdout carries results (`predict --json`, `figure -o -`)
                pass_fds=(self._write_end,),
                env=env,
            )
        finally:
            os.close(self._write_end)
        self._result = os.fdopen(read, "rb")

    def train(
        self, cfg: TrainConfig, data: Dataset, out: Path, progress: bool, meanwhile: Callable[[], object] | None = None
    ) -> None:
        """Train on `data` into `out` (the train stage's temporary directory) and wait for it, running
        `meanwhile` (this process has nothing else to do while the trainer works). Raises
        what the trainer raised: an OSError with its errno and file name, the project's own errors as
        themselves, anything else as a ModelError with the trainer's traceback. `ready_after`: the seconds
        the data waited for the trainer (it reads the pipe once torch is in), so that this wait counts as
        overhead, not as training."""
        try:
            t = time.perf_counter()
            self._send(cfg, data, out, progress)
            self.ready_after = time.perf_counter() - t
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
        header = {
            "train": asdict(cfg),
            "out": str(out),
            "progress": progress,
            "data": {"name": data.name, "classes": list(data.classes), "test_ids": list(data.test_ids)},
            "spec": data.spec,
            "arrays": [[a.dtype.str, list(a.shape)] for a in arrays],
        }
        pipe = self.proc.stdin
        assert pipe is not None
        try:
            pipe.write(json.dumps(header).encode() + b"\n")
            for a in arrays:
                pipe.write(a.data.cast("B"))
            pipe.close()
        except BrokenPipeError:
            pass  # the trainer died first: its exit status tells why

    def close(self) -> None:
        """Stop the trainer (an abandoned build) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self._result):
            if stream is not None and not stream.closed:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()


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


def _read(stream: io.BufferedReader) -> tuple[dict, list[np.ndarray]]:
    """The header and the arrays, as _send wrote them."""
    header = json.loads(stream.readline() or b"null")
    if not isinstance(header, dict):
        raise EOFError("the build closed the data pipe before sending the data")
    arrays = []
    for dtype, shape in header["arrays"]:
        a = np.empty(shape, dtype=np.dtype(dtype))
        view = a.data.cast("B")
        got = 0
        while got < len(view):
            n = stream.readinto(view[got:])
            if not n:
                raise EOFError("the build closed the data pipe early")
            got += n
        arrays.append(a)
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
    p.add_argument("--parent", type=int, required=True, help="the build's process id (we die with it)")
    args = p.parse_args()
    result = os.fdopen(args.result, "w", encoding="utf-8")
    _die_with_parent(args.parent)
    try:
        # torch first: it loads while the build draws the data (the pipe holds the build's writes back)
        from generator.stages.train import train_stage

        with open(sys.stdin.fileno(), "rb", closefd=False) as stdin:
            header, arrays = _read(stdin)
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
