"""Faults, end to end: builds killed mid-stage, two builds on one cache, read-only and full disks.

After every fault the cache stays consistent: no `.tmp-*` leftovers once a build has run again, every
stage directory has its `.complete` marker, nothing half-written is ever returned, and the next build
(with a usable cache) succeeds. Two cold builds in separate caches give byte-identical figures.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_support import SMALL, gen, latest, one_error, stage_dirs, start

from generator.cache import damage

REPO = Path(__file__).resolve().parents[1]


# -- helpers ------------------------------------------------------------------------------------------


def assert_consistent(cache: Path) -> None:
    """No temp leftovers; every stage directory complete; the manifest names only complete stages;
    every cached figure is exactly the one its entry describes (nothing half-written)."""
    assert not list(cache.rglob(".tmp-*")), list(cache.rglob(".tmp-*"))
    assert not list(cache.rglob("*.tmp"))
    for stage in ("train", "probe", "image", "figure"):
        for d in stage_dirs(cache, stage):
            assert (d / ".complete").is_file(), f"{d} is published without .complete"
    manifest = cache / "manifest.json"  # train, probe and image keys (figures are listed in figure/used.json)
    recorded = json.loads(manifest.read_text()) if manifest.is_file() else {}
    for stage, keys in recorded.items():
        for key in keys:
            assert (cache / stage / key / ".complete").is_file(), f"manifest names missing {stage}/{key}"
    for entry in stage_dirs(cache, "figure"):
        f = json.loads((entry / "entry.json").read_text())
        suffix = Path(f["file"]).suffix
        files = [".complete", "entry.json", "figure" + suffix] + (["figure-dark" + suffix] if "dark" in f else [])
        assert sorted(p.name for p in entry.iterdir()) == sorted(files)
        data = (entry / ("figure" + suffix)).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest()[:16] == f["hash"], f["file"]
        if "dark" in f:  # its dark variant, whole too
            assert (entry / ("figure-dark" + suffix)).stat().st_size == f["dark_bytes"], f["dark"]


def figure_hashes(cache: Path) -> dict[str, str]:
    """figure id -> hash of every cached figure."""
    entries = [json.loads((d / "entry.json").read_text()) for d in stage_dirs(cache, "figure")]
    return {f["id"]: f["hash"] for f in entries}


def seed(cache: Path, source: Path, *stages: str) -> None:
    """Copy the newest stage directories of `source` into `cache`, as if an earlier build had made them."""
    for stage in stages:
        d = latest(source, stage)
        shutil.copytree(d, cache / stage / d.name)


def wait_for(predicate, proc: subprocess.Popen[str], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"the build ended (exit {proc.returncode}) before {what}:\n{proc.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def live_session_members(sid: int) -> list[int]:
    """Processes (not zombies) in session `sid`, from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            pids.append(int(stat.parent.name))
    return pids


def kill_build(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the build process only (as the OOM killer or a pulled plug would), then check that its
    render workers do not outlive it. The whole session is killed afterwards in any case."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    try:
        deadline = time.monotonic() + 10
        while live_session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live_session_members(proc.pid) == [], "worker processes outlived the killed build"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


# -- killed builds ------------------------------------------------------------------------------------------


def test_build_killed_during_training_then_two_rebuilds_at_once(small_cache: Path, tmp_path: Path) -> None:
    """SIGKILL while training: only a temp dir is left, never returned. Then two builds start at once on
    that cache: one waits on the lock while the other sweeps the leftover, trains from scratch and
    renders; the waiting one finds the result. Both succeed with the same figures, byte-identical to
    the session's cold build in another cache (determinism)."""
    cache = tmp_path / "cache"
    proc = start("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    try:
        wait_for(lambda: any((cache / "train").glob(".tmp-*")), proc, "training started")
        time.sleep(0.2)  # the train stage is under way (its temp dir exists only while it runs)
    finally:
        kill_build(proc)
    assert list((cache / "train").glob(".tmp-*")), "the killed build left no trace of training (too late?)"
    assert stage_dirs(cache, "train") == [], "a half-trained stage was published"

    procs = [start("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path) for _ in range(2)]
    outs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, err
            assert "Traceback" not in err
            outs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    stages = sorted(line for out in outs for line in out.splitlines() if line.startswith("stages run:"))
    assert len(stages) == 2, outs
    assert stages[0].startswith("stages run: none (all cached)"), stages  # it waited, then hit the cache
    assert stages[1].startswith("stages run: train, probe, render"), stages
    figure_lines = sorted(line for out in outs for line in out.splitlines() if line.startswith("figures:"))
    assert len(figure_lines) == 2, figure_lines
    drawn = re.match(r"figures: (\d+) \(0 from the cache\) in (.+)$", figure_lines[0])
    served = re.match(r"figures: (\d+) \((\d+) from the cache\) in (.+)$", figure_lines[1])
    assert drawn and served, figure_lines  # one build drew every figure, the other (which waited) drew none
    assert drawn.group(1) == served.group(1) == served.group(2) and drawn.group(2) == served.group(3)
    assert_consistent(cache)
    assert figure_hashes(cache) == figure_hashes(small_cache)
    ours, theirs = latest(cache, "train"), latest(small_cache, "train")
    assert (ours / "model.safetensors").read_bytes() == (theirs / "model.safetensors").read_bytes()


def test_build_killed_during_rendering_then_rebuilt(small_cache: Path, tmp_path: Path) -> None:
    """SIGKILL halfway through rendering (the model already cached): the workers die with the build,
    every figure already published is whole, and the rebuild renders only the rest."""
    cache = tmp_path / "cache"
    seed(cache, small_cache, "train", "probe")
    proc = start("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)

    def some_figures_written() -> bool:
        return len(stage_dirs(cache, "figure")) >= 20

    try:
        wait_for(some_figures_written, proc, "rendering started")
    finally:
        kill_build(proc)
    for entry in stage_dirs(cache, "figure"):  # temp folders may remain (the next build sweeps them) ...
        assert damage(entry) is None, entry  # ... but every published figure is whole
    kept = len(stage_dirs(cache, "figure"))
    rebuilt = gen("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "stages run: render" in rebuilt.stdout
    assert re.search(rf"^figures: \d+ \({kept} from the cache\)", rebuilt.stdout, re.M), (kept, rebuilt.stdout)
    assert_consistent(cache)
    assert figure_hashes(cache) == figure_hashes(small_cache)


# -- unusable caches ---------------------------------------------------------------------------------------


def test_cache_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache's parent folder should be")
    cache = blocker / "cache"
    proc = gen("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    one_error(proc, str(cache), "cache directory")
    assert blocker.read_text().startswith("a file")


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A small tmpfs mounted at tmp_path/mnt (needs root and permission to mount; skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def _remount(mnt: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mnt)], check=True, capture_output=True)


def test_full_disk_for_real(tmpfs: Path, small_cache: Path, tmp_path: Path) -> None:
    """A 1 MB file system holds the model (100 KB) but not the probe stage (3 MB): a clear error, the
    model stays intact, and once there is room the same cache carries on."""
    cache = tmpfs / "cache"
    seed(cache, small_cache, "train")
    train_dir = latest(cache, "train")
    before = {p.name: p.read_bytes() for p in train_dir.iterdir()}
    proc = gen("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    one_error(proc, str(cache), "disk is full")
    assert not list(cache.rglob(".tmp-*")), "the failed stage left a temp directory"
    assert stage_dirs(cache, "probe") == []
    assert {p.name: p.read_bytes() for p in train_dir.iterdir()} == before
    _remount(tmpfs, "size=32m")
    again = gen("train", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(stage_dirs(cache, "probe")) == 1
    assert_consistent(cache)


def test_read_only_cache_for_real(tmpfs: Path, small_cache: Path, tmp_path: Path) -> None:
    """A read-only file system (EROFS holds for root too): a clear error and nothing changed; a later
    build with a working cache succeeds (the same cache made writable again: test_full_disk_for_real)."""
    cache = tmpfs / "cache"
    seed(cache, small_cache, "train")
    _remount(tmpfs, "ro")
    listing = sorted(str(p) for p in cache.rglob("*"))
    proc = gen("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=tmp_path)
    one_error(proc, str(cache), "not writable")
    assert sorted(str(p) for p in cache.rglob("*")) == listing
    ok = gen("build", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=tmp_path)
    assert ok.returncode == 0 and "stages run: none (all cached)" in ok.stdout, ok.stderr


# -- simulated disk faults, in-process ------------------------------------------------------------------


def _fail(code: int):
    def raise_it(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(args[0]) if args else None)

    return raise_it


FAULTS = {
    "disk full on rename": ("os.replace", errno.ENOSPC, "disk is full"),
    "disk full on open": ("cache.open", errno.ENOSPC, "disk is full"),
    "disk full in safetensors": ("save_file", errno.ENOSPC, "disk is full"),
    "read-only on mkdir": ("Path.mkdir", errno.EROFS, "not writable"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_disk_faults_simulated(
    fault: str, small_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe stage's writes fail (the model is cached): one clear error from the CLI, no temp
    leftovers, the cached model untouched; without the fault the same cache carries on (checked for
    the first fault only: the others leave the cache in the same state, and each rerun costs a probe)."""
    from generator import cache as cachemod
    from generator import cli, safeio
    from generator.stages import common as stages

    cache = tmp_path / "cache"
    seed(cache, small_cache, "train")
    train_dir = latest(cache, "train")
    before = {p.name: p.read_bytes() for p in train_dir.iterdir()}
    target, code, message = FAULTS[fault]
    args = ["train", *SMALL, "--quiet", "--cache-dir", str(cache)]
    with monkeypatch.context() as patch:
        if target == "os.replace":
            patch.setattr(os, "replace", _fail(code))
        elif target == "cache.open":
            real_open = open

            def failing_open(file, mode="r", *a, **kw):
                if any(c in mode for c in "wax+"):
                    raise OSError(code, os.strerror(code), str(file))
                return real_open(file, mode, *a, **kw)

            patch.setattr(cachemod, "open", failing_open, raising=False)
            patch.setattr(safeio, "open", failing_open, raising=False)  # atomic_write, write_json
        elif target == "save_file":
            from safetensors import SafetensorError

            def failing_save(arrays, path):
                raise SafetensorError(f"Error while serializing: I/O error: {os.strerror(code)} (os error {code})")

            patch.setattr(stages, "save_file", failing_save)
        else:
            real_mkdir = Path.mkdir

            def failing_mkdir(self, *a, **kw):
                if self.name.startswith(".tmp-"):
                    raise OSError(code, os.strerror(code), str(self))
                return real_mkdir(self, *a, **kw)

            patch.setattr(Path, "mkdir", failing_mkdir)
        capsys.readouterr()
        rc = cli.main(args)
    err = capsys.readouterr().err
    assert rc != 0
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(cache) in lines[0] and message in lines[0], err
    assert not list(cache.rglob(".tmp-*")) and stage_dirs(cache, "probe") == []
    assert {p.name: p.read_bytes() for p in train_dir.iterdir()} == before
    if fault == next(iter(FAULTS)):
        assert cli.main(args) == 0
        assert len(stage_dirs(cache, "probe")) == 1
        assert not list(cache.rglob(".tmp-*"))
