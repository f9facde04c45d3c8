"""Cache entries are verified, not trusted: a damaged entry is a miss that is computed again with one
log line, never published and never a traceback. A read-only cache serves what it holds."""

from __future__ import annotations

import json
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


def test_truncated_png_is_rendered_again_not_published(small_cache: Path, tmp_path: Path) -> None:
    cache = _copy(small_cache, tmp_path)
    render = latest(cache, "render")
    manifest = json.loads((render / "figures" / "manifest.json").read_text())["figures"]
    entry = next(e for e in manifest if e["file"].endswith(".png"))
    png = render / "figures" / entry["file"]
    png.write_bytes(png.read_bytes()[:100])
    proc = _build(cache, tmp_path)
    ok(proc)
    log = proc.stdout + proc.stderr
    assert log.count("is damaged") == 1 and f"{entry['file']} has 100 bytes" in log, log
    assert png.stat().st_size == entry["bytes"]


def test_deleted_gif_is_rendered_again(small_cache: Path, tmp_path: Path) -> None:
    cache = _copy(small_cache, tmp_path)
    render = latest(cache, "render")
    gif = next((render / "figures").rglob("*.gif"))
    size = gif.stat().st_size
    gif.unlink()
    proc = _build(cache, tmp_path)
    ok(proc)
    assert "is missing" in proc.stdout + proc.stderr
    assert gif.stat().st_size == size


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
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True,
                          text=True, check=False)
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
        facts = json.loads((latest(cache, "render") / "facts.json").read_text())
        assert [s["source"] for s in facts["samples"] if s["label"] is None] == ["pics/a b.png", "pics/a-b.png"]
    assert "stages run: none (all cached)" in outputs[1], outputs[1]
    assert not any(str(tmp_path) in p.read_text(errors="replace")
                   for p in latest(cache, "render").rglob("*.json")), "an absolute path was published"
