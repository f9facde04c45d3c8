"""Cache entries are verified, not trusted: a damaged entry is a miss that is computed again with one
log line, never published and never a traceback. A read-only cache serves what it holds."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_support import SMALL, gen, latest, ok

pytestmark = [pytest.mark.slow]


def _copy(small_cache: Path, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache, ignore=shutil.ignore_patterns("build.lock"))
    return cache


def _build(cache: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return gen("build", *SMALL, "--quiet", "--cache-dir", cache, *extra, cwd=cwd)


def _entries(cache: Path) -> list[tuple[Path, dict]]:
    """Every cached figure: (its entry directory, its manifest entry)."""
    return [
        (d, json.loads((d / "entry.json").read_text()))
        for d in sorted((cache / "figure").iterdir())
        if (d / "entry.json").is_file()
    ]


def _renders(out: str) -> int:
    """How many figures a build drew, from `figures: N (K from the cache)`."""
    found = re.search(r"^figures: (\d+) \((\d+) from the cache\)", out, re.M)
    assert found, out
    return int(found.group(1)) - int(found.group(2))


def test_truncated_png_is_rendered_again_not_published(small_cache: Path, tmp_path: Path) -> None:
    cache = _copy(small_cache, tmp_path)
    folder, entry = next((d, e) for d, e in _entries(cache) if e["file"].endswith(".png"))
    png = folder / "figure.png"
    png.write_bytes(png.read_bytes()[:100])
    proc = _build(cache, tmp_path)
    out = ok(proc)
    assert proc.stderr.count("is damaged") == 1 and "figure.png has 100 bytes" in proc.stderr, proc.stderr
    assert _renders(out) == 1  # that figure only
    assert png.stat().st_size == entry["bytes"]


def test_deleted_gif_is_rendered_again(small_cache: Path, tmp_path: Path) -> None:
    cache = _copy(small_cache, tmp_path)
    folder, entry = next((d, e) for d, e in _entries(cache) if e["file"].endswith(".gif"))
    (folder / "figure.gif").unlink()
    proc = _build(cache, tmp_path)
    assert _renders(ok(proc)) == 1
    assert "figure.gif is missing" in proc.stderr
    assert (folder / "figure.gif").stat().st_size == entry["bytes"]


@pytest.mark.parametrize("command", [("figure", "input", "-o", "out.png"), ("build", "--featured", "circle")])
def test_truncated_model_is_trained_again(small_cache: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    """A truncated model.safetensors used to give SafetensorError tracebacks in `figure` and `build`."""
    cache = _copy(small_cache, tmp_path)
    model = latest(cache, "train") / "model.safetensors"
    model.write_bytes(model.read_bytes()[:1000])
    proc = gen(*command, *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    ok(proc)
    assert "model.safetensors has 1,000 bytes" in proc.stdout + proc.stderr
    assert model.stat().st_size > 1000


def test_read_only_cache_serves_a_warm_build(small_cache: Path, tmp_path: Path) -> None:
    """A complete cache on a read-only file system builds (nothing needs writing)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        cache = mnt / "cache"
        shutil.copytree(small_cache, cache)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, capture_output=True)
        proc = _build(cache, tmp_path)
        assert "stages run: none (all cached)" in ok(proc)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_output_does_not_depend_on_the_checkout_path(small_cache: Path, tmp_path: Path) -> None:
    """Slugs of `a b.png` and `a-b.png` collide; the tie-break hashed the absolute path, which no cache
    key held. Two checkouts of one project now share the cache and publish the same names."""
    from PIL import Image

    cache = _copy(small_cache, tmp_path)
    outputs = []
    for checkout in ("one", "two/deeper"):
        project = tmp_path / checkout
        (project / "pics").mkdir(parents=True)
        for i, name in enumerate(("a b.png", "a-b.png")):
            Image.new("RGB", (64, 64), (40 * i, 90, 200)).save(project / "pics" / name)
        proc = _build(cache, project, "--images", "pics/a b.png", "pics/a-b.png")
        outputs.append(ok(proc))
    assert "stages run: none (all cached)" in outputs[1], outputs[1]
    assert _renders(outputs[1]) == 0
    ids = {e["id"] for _, e in _entries(cache)}
    clash = hashlib.sha256(b"pics/a-b.png").hexdigest()[:6]
    assert {"a-b/input", f"a-b-{clash}/input"} <= ids
    assert not any(str(tmp_path) in p.read_text(errors="replace") for p in cache.rglob("*.json")), (
        "an absolute path reached the cache"
    )
