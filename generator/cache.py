"""Content-addressed cache: one directory per (stage, key), made complete by an atomic rename.

A stage's key hashes everything that shapes its output (inputs, options, the source of the code
that computes it, upstream keys). A directory that exists is complete: it is written under a
temporary name and renamed into place, so a killed build leaves only a temp directory that the
next build removes. A file lock serialises builds on the same cache (a second build waits).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from generator.errors import CacheError

PACKAGE_DIR = Path(__file__).resolve().parent
LOCK_TIMEOUT_S = 1800.0


def digest(obj: object, length: int = 16) -> str:
    """Stable short hash of a JSON-able object (keys sorted)."""
    blob = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def file_digest(path: Path, length: int = 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:length]


def code_version(*relative: str) -> str:
    """Hash of the source of the given modules/packages (paths under generator/): a code change
    invalidates exactly the stages that use that code."""
    h = hashlib.sha256()
    for rel in relative:
        target = PACKAGE_DIR / rel
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for f in files:
            h.update(f.relative_to(PACKAGE_DIR).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path via a temp file + rename in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _explain(exc: OSError, where: Path) -> CacheError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "it is not writable; fix its permissions or choose another cache_dir / --cache-dir"
    elif exc.errno == errno.ENOSPC:
        hint = "the disk is full; free some space or choose another cache_dir / --cache-dir"
    else:
        hint = exc.strerror or str(exc)
    return CacheError(f"cache directory {where}: {hint}")


class Cache:
    """The build cache under `root` (by default .cache/ beside mkdocs.yml)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- locking -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the build lock; a concurrent build waits for it (up to 30 minutes)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.root / "build.lock"), timeout=LOCK_TIMEOUT_S)
            lock.acquire()
        except Timeout as exc:  # before OSError: filelock's Timeout is a TimeoutError, an OSError
            raise CacheError(f"cache directory {self.root}: another build has held the lock for "
                             f"{LOCK_TIMEOUT_S:.0f} s; stop it or remove {self.root / 'build.lock'}") from exc
        except OSError as exc:
            raise _explain(exc, self.root) from exc
        try:
            self._sweep_temps()
            yield
        finally:
            lock.release()

    def _sweep_temps(self) -> None:
        """Remove what killed builds left behind (only ever under the lock)."""
        for tmp in self.root.glob("*/.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        for tmp in self.root.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- stages --------------------------------------------------------------------------------
    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def get(self, stage: str, key: str) -> Path | None:
        """The complete directory of (stage, key), or None on a miss."""
        final = self.path(stage, key)
        return final if (final / ".complete").is_file() else None

    def put(self, stage: str, key: str, write: Callable[[Path], None]) -> Path:
        """Run write(tmp_dir) and publish tmp_dir as (stage, key) atomically."""
        final = self.path(stage, key)
        tmp = final.parent / f".tmp-{key}-{os.getpid()}"
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            write(tmp)
            (tmp / ".complete").write_text(json.dumps({"stage": stage, "key": key, "time": time.time()}))
            if final.exists():  # an incomplete leftover of an older code version
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if self._inside(exc.filename) or exc.errno in (errno.ENOSPC, errno.EROFS):
                raise _explain(exc, self.root) from exc
            raise  # not the cache's fault (e.g. a data file): the stage reports it
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._record(stage, key)
        return final

    def _inside(self, filename: object) -> bool:
        if not filename:
            return True  # an OSError with no file name came from our own mkdir/rename/write
        try:
            return Path(str(filename)).resolve().is_relative_to(self.root.resolve())
        except (OSError, ValueError):
            return False

    # -- manifest ------------------------------------------------------------------------------
    def _record(self, stage: str, key: str) -> None:
        """manifest.json: the newest key of every stage, for people and for `clean --keep-latest`."""
        path = self.root / "manifest.json"
        try:
            data = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            data = {}
        data.setdefault(stage, {})[key] = {"time": round(time.time(), 3)}
        try:
            atomic_write(path, json.dumps(data, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise _explain(exc, self.root) from exc

    def clean(self) -> int:
        """Empty the cache; returns the number of bytes freed."""
        if not self.root.exists():
            return 0
        freed = sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())
        try:
            with self.lock():
                for child in self.root.iterdir():
                    if child.name == "build.lock":
                        continue
                    if child.is_dir():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        except OSError as exc:
            raise _explain(exc, self.root) from exc
        return freed
