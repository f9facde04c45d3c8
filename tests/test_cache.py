"""The content-addressed stage cache: hits and misses, atomic publication, the build lock, sweeping
what killed builds left behind, code versions, and clear errors for unusable cache directories."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import cache as cachemod
from generator.cache import Cache, atomic_write, digest, file_digest
from generator.errors import CacheError

REPO = Path(__file__).resolve().parents[1]


def _write_files(files: dict[str, bytes]):
    """A stage writer that creates the given files in the temp directory."""

    def write(tmp: Path) -> None:
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)

    return write


def _child(script: str) -> subprocess.Popen:
    """A separate Python process running `script` with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _leftovers(root: Path) -> list[Path]:
    return sorted(root.rglob(".tmp-*"))


# -- hits, misses and publication ------------------------------------------------------------------


def _published(tmp_path: Path) -> tuple[Cache, Path, list[str]]:
    logged: list[str] = []
    store = Cache(tmp_path / "cache", log=logged.append)
    out = store.put(
        "render",
        "k",
        _write_files(
            {
                "figures/a.png": b"\x89PNG" + bytes(range(200)),
                "figures/b.gif": b"GIF89a" + bytes(100),
                "facts.json": b"{}",
            }
        ),
    )
    return store, out, logged


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda d: (d / "figures/a.png").write_bytes(b"\x89PNG"), "figures/a.png has 4 bytes, 204 were written"),
        (lambda d: (d / "figures/b.gif").unlink(), "figures/b.gif is missing"),
        (lambda d: (d / "facts.json").write_bytes(b"[]"), "facts.json was changed after it was written"),
        (lambda d: (d / ".complete").write_text("{not json"), "unreadable .complete record"),
    ],
)
def test_damaged_entry_is_a_logged_miss_and_is_rebuilt(tmp_path: Path, damage, why: str) -> None:
    store, out, logged = _published(tmp_path)
    assert store.get("render", "k") == out and not logged
    damage(out)
    assert store.get("render", "k") is None
    assert logged == [f"cache entry render/k is damaged ({why}); computing it again"]
    rebuilt = store.put("render", "k", _write_files({"figures/a.png": b"new"}))
    assert store.get("render", "k") == rebuilt
    assert sorted(p.name for p in rebuilt.rglob("*") if p.is_file()) == [".complete", "a.png"]


CHANGED = "%s was changed after it was written"


def test_get_with_hands_back_the_bytes_it_verified(tmp_path: Path) -> None:
    """The figure stage reads each entry's entry.json once: the bytes that were hashed are the bytes used."""
    store, out, logged = _published(tmp_path)
    assert store.get_with("render", "k", "facts.json") == (out, b"{}")
    assert store.get_with("render", "k", "figures/b.gif") == (out, b"GIF89a" + bytes(100))
    assert store.get_with("render", "other", "facts.json") is None  # a plain miss
    (out / "facts.json").write_bytes(b"[]")  # same size, other bytes
    assert store.get_with("render", "k", "facts.json") is None
    assert logged == [f"cache entry render/k is damaged ({CHANGED % 'facts.json'}); computing it again"]


def test_get_with_a_file_the_entry_does_not_record_is_a_miss(tmp_path: Path) -> None:
    store, out, logged = _published(tmp_path)
    (out / "extra.json").write_bytes(b"{}")  # there, but never recorded: not verified, so not served
    assert store.get_with("render", "k", "extra.json") is None
    assert logged == ["cache entry render/k is damaged (extra.json is missing); computing it again"]


def test_large_files_are_verified_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cachemod, "STREAMED", 10)  # every file above 10 bytes is hashed streaming
    store, out, logged = _published(tmp_path)
    assert store.get("render", "k") == out
    data = bytearray((out / "figures/a.png").read_bytes())
    data[-1] ^= 1
    (out / "figures/a.png").write_bytes(bytes(data))
    assert store.get("render", "k") is None
    assert logged == [f"cache entry render/k is damaged ({CHANGED % 'figures/a.png'}); computing it again"]


@pytest.mark.parametrize(
    "files",
    [[], {"a": "not a pair"}, {"a": [1]}, {"a": ["x", "y"]}, "text"],
)
def test_malformed_inventories_are_unreadable_records(tmp_path: Path, files: object) -> None:
    store, out, logged = _published(tmp_path)
    (out / ".complete").write_text(json.dumps({"stage": "render", "key": "k", "files": files}))
    assert store.get("render", "k") is None
    assert logged == ["cache entry render/k is damaged (unreadable .complete record); computing it again"]


def test_entry_of_an_older_version_without_inventory_is_a_miss(tmp_path: Path) -> None:
    store, out, logged = _published(tmp_path)
    (out / ".complete").write_text(json.dumps({"stage": "render", "key": "k", "time": 0}))
    assert store.get("render", "k") is None
    assert logged and "unreadable .complete record" in logged[0]


def test_miss_then_hit(tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    assert store.get("train", "abc") is None
    with store.lock():
        out = store.put("train", "abc", _write_files({"model.bin": b"\x00\x01", "sub/meta.json": b"{}"}))
    assert out == store.path("train", "abc") == tmp_path / "cache" / "train" / "abc"
    hit = store.get("train", "abc")
    assert hit == out
    assert (hit / "model.bin").read_bytes() == b"\x00\x01"
    assert (hit / "sub" / "meta.json").read_text() == "{}"
    marker = json.loads((hit / ".complete").read_text())
    assert marker["stage"] == "train" and marker["key"] == "abc"
    # Other keys and stages are still misses.
    assert store.get("train", "abd") is None
    assert store.get("probe", "abc") is None
    assert _leftovers(store.root) == []


def test_manifest_records_every_stage_key(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    store.put("train", "k1", _write_files({"a": b"1"}))
    store.put("train", "k2", _write_files({"a": b"2"}))
    store.put("render", "r1", _write_files({"b": b"3"}))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {"train", "render"}
    assert set(manifest["train"]) == {"k1", "k2"}
    assert set(manifest["render"]) == {"r1"}
    assert isinstance(manifest["train"]["k1"]["time"], float)


def test_corrupt_manifest_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    Cache(tmp_path).put("train", "k", _write_files({}))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest) == ["train"] and list(manifest["train"]) == ["k"]


def test_directory_without_marker_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    stale = store.path("train", "k")
    stale.mkdir(parents=True)
    (stale / "old.bin").write_bytes(b"half written by an older version")
    assert store.get("train", "k") is None
    out = store.put("train", "k", _write_files({"new.bin": b"new"}))
    assert sorted(p.name for p in out.iterdir()) == [".complete", "new.bin"]


def test_failing_writer_leaves_nothing(tmp_path: Path) -> None:
    store = Cache(tmp_path)

    def write(tmp: Path) -> None:
        (tmp / "partial.bin").write_bytes(b"x" * 100)
        raise ValueError("training diverged")

    with pytest.raises(ValueError, match="training diverged"):
        store.put("train", "k", write)
    assert not store.path("train", "k").exists()
    assert store.get("train", "k") is None
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "manifest.json").exists()


def test_interrupted_writer_leaves_nothing(tmp_path: Path) -> None:
    store = Cache(tmp_path)

    def write(tmp: Path) -> None:
        (tmp / "partial.bin").write_bytes(b"x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.put("render", "k", write)
    assert not store.path("render", "k").exists()
    assert _leftovers(tmp_path) == []


def test_writer_os_error_becomes_cache_error(tmp_path: Path) -> None:
    store = Cache(tmp_path)

    def write(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(CacheError, match="disk is full") as info:
        store.put("train", "k", write)
    assert str(tmp_path) in str(info.value)
    assert _leftovers(tmp_path) == []


def test_killed_build_leftover_is_never_returned_and_swept_under_lock(tmp_path: Path) -> None:
    """A build killed in the middle of put() leaves a .tmp-* directory; get() ignores it and the next
    build removes it as soon as it holds the lock."""
    root = tmp_path / "cache"
    proc = _child(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from generator.cache import Cache\n"
        "def write(tmp):\n"
        "    (tmp / 'model.bin').write_bytes(b'half')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        f"Cache(Path({str(root)!r})).put('train', 'k1', write)\n"
    )
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    left = _leftovers(root)
    assert len(left) == 1 and left[0].parent == root / "train"
    assert (left[0] / "model.bin").read_bytes() == b"half"
    store = Cache(root)
    assert store.get("train", "k1") is None
    assert store.get("train", left[0].name) is None  # no .complete marker in a temp dir
    with store.lock():
        assert _leftovers(root) == []
        assert store.get("train", "k1") is None
    # A later build publishes normally.
    with store.lock():
        store.put("train", "k1", _write_files({"model.bin": b"full"}))
    assert (store.get("train", "k1") / "model.bin").read_bytes() == b"full"


def test_sweep_keeps_published_directories(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    store.put("probe", "good", _write_files({"f": b"1"}))
    (tmp_path / "probe" / ".tmp-bad-123").mkdir()
    (tmp_path / "render" / ".tmp-other-9").mkdir(parents=True)
    with store.lock():
        pass
    assert _leftovers(tmp_path) == []
    assert store.get("probe", "good") is not None


# -- the build lock --------------------------------------------------------------------------------


def test_second_build_waits_for_the_lock(tmp_path: Path) -> None:
    """Another process holding the lock makes this build wait, then it sees that build's result."""
    root = tmp_path / "cache"
    proc = _child(
        "import time\n"
        "from pathlib import Path\n"
        "from generator.cache import Cache\n"
        f"store = Cache(Path({str(root)!r}))\n"
        "with store.lock():\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(0.8)\n"
        "    store.put('train', 'k', lambda d: (d / 'by-child').write_text('1'))\n"
    )
    try:
        assert proc.stdout.readline().strip() == "locked", proc.stderr.read()
        start = time.perf_counter()
        store = Cache(root)
        with store.lock():
            waited = time.perf_counter() - start
            hit = store.get("train", "k")
    finally:
        proc.wait(timeout=20)
    assert proc.returncode == 0, proc.stderr.read()
    assert waited > 0.4, f"the second build did not wait for the lock (waited {waited:.2f} s)"
    assert hit is not None and (hit / "by-child").read_text() == "1"


def test_lock_timeout_is_a_clear_cache_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    proc = _child(
        "import time\n"
        "from pathlib import Path\n"
        "from generator.cache import Cache\n"
        f"with Cache(Path({str(root)!r})).lock():\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    try:
        assert proc.stdout.readline().strip() == "locked", proc.stderr.read()
        monkeypatch.setattr(cachemod, "LOCK_TIMEOUT_S", 0.2)
        with pytest.raises(CacheError, match="another build has held the lock") as info, Cache(root).lock():
            pass
        assert str(root / "build.lock") in str(info.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # The dead holder's lock is released by the OS: the next build gets it at once.
    with Cache(root).lock():
        pass


def test_lock_is_released_after_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Cache(tmp_path)
    with pytest.raises(RuntimeError), store.lock():
        raise RuntimeError("stage failed")
    monkeypatch.setattr(cachemod, "LOCK_TIMEOUT_S", 0.5)
    with store.lock():
        pass


# -- hashing ---------------------------------------------------------------------------------------


def test_digest_is_stable_and_order_independent() -> None:
    obj = {"train": {"epochs": 8, "lr": 0.002}, "data": ["shapes", 600], "code": "abc"}
    reordered = {"code": "abc", "data": ["shapes", 600], "train": {"lr": 0.002, "epochs": 8}}
    assert digest(obj) == digest(reordered)
    expected = hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert digest(obj) == expected[:16]
    assert digest(obj, length=40) == expected[:40]
    assert digest({**obj, "code": "abd"}) != digest(obj)
    assert digest({"data": ["shapes", 601]}) != digest({"data": ["shapes", 600]})
    # Non-JSON values (paths) hash through str(), stably.
    assert digest({"p": Path("/a/b")}) == digest({"p": "/a/b"})
    # Non-ASCII text is hashed as UTF-8, not as \u escapes: spelled out byte for byte here.
    assert digest({"name": "小猫"}) == hashlib.sha256(b'{"name": "\xe5\xb0\x8f\xe7\x8c\xab"}').hexdigest()[:16]


def test_file_digest(tmp_path: Path) -> None:
    f = tmp_path / "weights.json"
    f.write_bytes(b"x" * (3 << 20))  # more than one read block
    assert file_digest(f) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()[:16]
    f.write_bytes(b"y")
    assert file_digest(f) == hashlib.sha256(b"y").hexdigest()[:16]


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "facts.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["facts.json"]


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "facts.json"
    atomic_write(target, b"old")

    def boom(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(cachemod.os, "replace", boom)
    with pytest.raises(OSError, match="I/O error"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facts.json"]


# -- unusable cache directories --------------------------------------------------------------------


def test_cache_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache should go")
    root = blocker / "cache"
    with pytest.raises(CacheError) as info, Cache(root).lock():
        pass
    assert str(root) in str(info.value)
    with pytest.raises(CacheError) as info:
        Cache(root).put("train", "k", _write_files({}))
    assert str(root) in str(info.value)


def test_read_only_cache_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EACCES from the file system (what a read-only directory gives a normal user) -> CacheError."""
    root = tmp_path / "cache"

    class DeniedLock:
        def __init__(self, path: str, timeout: float) -> None:
            self.path = path

        def acquire(self) -> None:
            raise PermissionError(errno.EACCES, "Permission denied", self.path)

    Cache(root).put("train", "k", _write_files({"model.bin": b"weights"}))  # written while it was writable
    monkeypatch.setattr(cachemod, "FileLock", DeniedLock)
    store = Cache(root)
    with store.lock():  # a read-only cache serves what it holds...
        assert store.read_only
        assert store.get("train", "k") is not None
        with pytest.raises(CacheError, match="not writable") as info:  # ...and refuses to grow
            store.put("train", "other", _write_files({}))
    assert str(root) in str(info.value)
    assert "cache_dir" in str(info.value)

    def denied_mkdir(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", denied_mkdir)
    with pytest.raises(CacheError, match="not writable") as info:
        Cache(root).put("train", "k", _write_files({}))
    assert str(root) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions only")
def test_read_only_cache_for_real(tmp_path: Path) -> None:
    """A directory the user cannot write. Root ignores permissions, so as root the check runs in a
    child process that drops to user 'nobody' (skipped where that is not allowed)."""
    root = tmp_path / "cache"
    Cache(root).put("train", "k", _write_files({"model.bin": b"weights"}))
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    if os.geteuid() != 0:
        root.chmod(0o555)
        try:
            store = Cache(root)
            with store.lock():
                assert store.get("train", "k") is not None
                with pytest.raises(CacheError, match="not writable") as info:
                    store.put("train", "new", _write_files({}))
            assert str(root) in str(info.value)
        finally:
            root.chmod(0o755)
        return
    tmp_path.chmod(0o755)
    root.chmod(0o555)
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from generator.cache import Cache\n"
        "from generator.errors import CacheError\n"
        "try:\n"
        "    os.setgid(65534); os.setuid(65534)\n"
        "except OSError:\n"
        "    print('SKIP'); sys.exit(0)\n"
        "store = Cache(Path(" + repr(str(root)) + "))\n"
        "try:\n"
        "    with store.lock():\n"
        "        print('SERVES', store.get('train', 'k') is not None)\n"
        "        store.put('train', 'new', lambda d: None)\n"
        "except CacheError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    proc = _child(script)
    out, err = proc.communicate(timeout=30)
    if out.startswith("SKIP") or (not out and "Permission denied" in err):
        pytest.skip("cannot drop root privileges here")
    assert out.startswith("SERVES True\nERROR"), (out, err)
    assert str(root) in out and "not writable" in out


# -- clean -----------------------------------------------------------------------------------------


def test_clean_empties_the_cache(tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    with store.lock():
        store.put("train", "k", _write_files({"model.bin": b"m" * 1000}))
        store.put("render", "r", _write_files({"figures/a.png": b"p" * 500}))
        store.put("export", "e", _write_files({"model.json": b"j" * 300}))  # the in-page model
    (store.root / "templates").mkdir()  # compiled Jinja (generator/templates.py)
    (store.root / "templates" / "abc.jbc").write_bytes(b"t" * 200)
    (store.root / "train" / ".tmp-dead-1").mkdir()
    freed = store.clean()
    assert freed >= 2000
    assert [p.name for p in store.root.iterdir()] in ([], ["build.lock"])
    assert store.get("train", "k") is None and store.get("render", "r") is None
    assert store.clean() == 0 or [p.name for p in store.root.iterdir()] in ([], ["build.lock"])


def test_clean_missing_cache_is_a_no_op(tmp_path: Path) -> None:
    assert Cache(tmp_path / "never-built").clean() == 0
    assert not (tmp_path / "never-built").exists()
