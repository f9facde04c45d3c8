"""Helpers shared by the CLI, bad-input and fault tests: run `python -m generator` in a subprocess,
assert one clean error, find the cache's published stage directories and check that none is half
written, and make small test images."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# A build small enough for every test that needs a trained model: 1 sample image, 30 images a class, 1 epoch.
SMALL = ("--max-samples", "1", "--images-per-class", "30", "--epochs", "1")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.pop("TINYVGG_PROFILE", None)
    return env


def gen(*args: str | Path, cwd: Path, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:
    """`python -m generator ARGS` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def start(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    """`python -m generator ARGS` in the background, in its own session (so its workers can be found)."""
    return subprocess.Popen(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.stdout


def one_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Assert a clean failure: non-zero exit, no traceback, exactly one error line naming all `needles`."""
    out = proc.stdout + (proc.stderr or "")
    assert proc.returncode != 0, f"expected a failure, got exit 0:\n{out}"
    assert "Traceback" not in out, out
    lines = [line for line in (proc.stderr or proc.stdout).splitlines() if "error:" in line.lower()]
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{out}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in the error line: {lines[0]}"
    return lines[0]


def stage_dirs(cache: Path, stage: str) -> list[Path]:
    """The published (stage, key) directories; temp directories (.tmp-*) are not among them."""
    folder = cache / stage
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def latest(cache: Path, stage: str) -> Path:
    """The newest published directory of a stage (older ones exist if the code changed mid-session)."""
    dirs = stage_dirs(cache, stage)
    assert dirs, f"no {stage} stage in {cache}"
    return max(dirs, key=lambda d: (d / ".complete").stat().st_mtime)


def assert_cache_clean(cache: Path) -> None:
    """No temp leftovers, and every published stage directory is complete."""
    assert not list(cache.rglob(".tmp-*")), list(cache.rglob(".tmp-*"))
    assert not list(cache.rglob("*.tmp"))
    for stage in ("train", "probe", "image", "figure"):
        for d in stage_dirs(cache, stage):
            assert (d / ".complete").is_file(), f"{d} has no .complete"


def rgb_image(width: int = 96, height: int = 80, seed: int = 0) -> Image.Image:
    """Seeded RGB noise of the given size."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()
