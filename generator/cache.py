"""Content-addressed cache: one directory per (stage, key), made complete by an atomic rename.

A stage's key hashes everything that shapes its output (inputs, options, the source of the code
that computes it, upstream keys). A directory that exists is complete: it is written under a
temporary name and renamed into place, so a killed build leaves only a temp directory that the
next build removes. A file lock serialises builds on the same cache (a second build waits).

Entries are verified, not trusted: `.complete` records the size and sha256 of every file, and `get`
checks them. A truncated, deleted or altered file makes the entry a miss (logged in one line), so the
stage is computed again instead of serving damaged output. A cache whose lock cannot be taken
because it is read-only still serves complete entries; only writing one is an error.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from generator.errors import CacheError
from generator.safeio import atomic_write

PACKAGE_DIR = Path(__file__).resolve().parent
LOCK_TIMEOUT_S = 1800.0
READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)  # what a cache nobody may write gives


def digest(obj: object, length: int = 16) -> str:
    """Stable short hash of a JSON-able object (keys sorted)."""
    blob = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def file_digest(path: Path | str, length: int = 16) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:length]


def _module_file(name: str, package_dir: Path) -> Path | None:
    """generator.a.b -> <package_dir>/a/b.py or <package_dir>/a/b/__init__.py (None if neither)."""
    parts = name.split(".")[1:]
    base = package_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and candidate.is_file():
            return candidate
    return package_dir / "__init__.py" if not parts else None


_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\w+(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)"
    r"|import[ \t]+(\w+(?:\.\w+)*))",
    re.M,
)


def _imports(source: bytes, package: str) -> set[str]:
    """Every `package` module that `source` imports, at the top or inside a function (the stages import
    lazily). `from generator.render import colors` names the module generator.render.colors. A regex,
    not ast: ten times faster, and an import-like line in a docstring only adds a file to the hash."""
    found: set[str] = set()
    for module, names, plain in _IMPORT.findall(source.decode("utf-8")):
        module = module or plain
        if module.split(".")[0] != package:
            continue
        found.add(module)
        for name in names.strip("() \n").replace("\n", " ").split(","):
            word = name.split()[0] if name.split() else ""
            if word.isidentifier():
                found.add(f"{module}.{word}")
    return found


class Sources:
    """The package's source files as read once (their bytes and the modules they import): the code
    versions of one build hash ~20 overlapping closures. Make one per build, not one per process: a
    file edited since is read again by the next build."""

    def __init__(self, package_dir: Path | None = None) -> None:
        self.package_dir = package_dir or PACKAGE_DIR
        self._files: dict[str, Path | None] = {}
        self._bytes: dict[Path, bytes] = {}
        self._imports: dict[Path, set[str]] = {}

    def module_file(self, name: str) -> Path | None:
        if name not in self._files:
            self._files[name] = _module_file(name, self.package_dir)
        return self._files[name]

    def read(self, path: Path) -> bytes:
        if path not in self._bytes:
            self._bytes[path] = path.read_bytes()
        return self._bytes[path]

    def imports(self, path: Path) -> set[str]:
        if path not in self._imports:
            self._imports[path] = _imports(self.read(path), self.package_dir.name)
        return self._imports[path]


def module_closure(
    roots: tuple[str, ...], package_dir: Path | None = None, sources: Sources | None = None
) -> list[Path]:
    """The source files of `roots` and of every generator module they import, transitively, with the
    packages' __init__ files. A root that is a package brings all its modules (renderers are looked up
    by name at run time, which no import statement shows)."""
    sources = sources or Sources(package_dir)
    package_dir = sources.package_dir
    todo = list(roots)
    for root in roots:
        folder = package_dir.joinpath(*root.split(".")[1:])
        if folder.is_dir():
            todo += [f"{root}.{f.stem}" for f in sorted(folder.glob("*.py")) if f.stem != "__init__"]
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = sources.module_file(name)
        if path is None:  # `from generator.x import function`: the name is not a module
            continue
        seen[name] = path
        parents = name.split(".")
        todo += [".".join(parents[:i]) for i in range(1, len(parents))]  # importing a.b runs a/__init__
        todo += sorted(sources.imports(path))
    return sorted(set(seen.values()))


def stage_code_version(roots: tuple[str, ...], package_dir: Path | None = None, sources: Sources | None = None) -> str:
    """Hash of every source file a stage runs (module_closure of its roots): editing any module a
    stage imports, however indirectly, invalidates that stage and no other. `sources`: files already
    read by this build (Sources)."""
    sources = sources or Sources(package_dir)
    h = hashlib.sha256()
    for f in module_closure(roots, sources=sources):
        h.update(f.relative_to(sources.package_dir).as_posix().encode())
        h.update(sources.read(f))
    return h.hexdigest()[:16]


def explain(exc: OSError, where: Path) -> CacheError:
    """An OSError met in the cache, as one CacheError that says what to do."""
    if exc.errno in READ_ONLY:
        hint = "it is not writable; fix its permissions or choose another cache_dir / --cache-dir"
    elif exc.errno == errno.ENOSPC:
        hint = "the disk is full; free some space or choose another cache_dir / --cache-dir"
    else:
        hint = exc.strerror or str(exc)
    return CacheError(f"cache directory {where}: {hint}")


MARKER = ".complete"
# The top-level entries a cache writes: its stage folders and manifest.json (plus build.lock, which stays).
STAGES = ("train", "probe", "image", "figure", "export", "render")  # render: the figure stage of older caches
OWNED = frozenset({*STAGES, "manifest.json", "templates"})  # templates: compiled Jinja (generator/templates.py)


def _inventory(directory: Path) -> dict[str, list]:
    """{relative path: [size, sha256]} of every file under directory except the marker."""
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != MARKER:
            files[path.relative_to(directory).as_posix()] = [path.stat().st_size, file_digest(path, 64)]
    return files


STREAMED = 1 << 20  # files larger than this are hashed in pieces; smaller ones are read whole, once


def damage(directory: Path | str, keep: dict[str, bytes | None] | None = None) -> str | None:
    """Why the entry at directory cannot be served (None: it is complete and intact). `keep`: files
    (relative paths) whose verified bytes are wanted; they are filled in, so the caller does not read a
    file a second time after it was checked. Plain os calls: this runs for every figure of every build."""
    base = os.fspath(directory)
    try:
        record = json.loads(_read_whole(os.path.join(base, MARKER)))
        files = record["files"]
        checks = [(rel, int(size), str(sha)) for rel, (size, sha) in files.items()]
    except FileNotFoundError:
        return "incomplete"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"unreadable {MARKER} record"
    for rel, size, sha in checks:
        data: bytes | None = None
        try:
            fd = os.open(os.path.join(base, rel), os.O_RDONLY)
        except OSError:
            return f"{rel} is missing"
        try:
            actual = os.fstat(fd).st_size
            if actual != size:
                return f"{rel} has {actual:,} bytes, {size:,} were written"
            if size > STREAMED:
                with os.fdopen(os.dup(fd), "rb") as fh:
                    found = hashlib.file_digest(fh, "sha256").hexdigest()
            else:
                data = _read_fd(fd, size)
                found = hashlib.sha256(data).hexdigest()
        except OSError:
            return f"{rel} is unreadable"
        finally:
            os.close(fd)
        if found != sha:
            return f"{rel} was changed after it was written"
        if keep is not None and rel in keep:
            keep[rel] = data
    if keep is not None and None in keep.values():
        return next(f"{rel} is missing" for rel, data in keep.items() if data is None)
    return None


def _read_fd(fd: int, size: int) -> bytes:
    """Up to `size` bytes from fd (fewer only at the end of the file)."""
    parts, left = [], size
    while left > 0:
        part = os.read(fd, left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_whole(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


class Cache:
    """The build cache under `root` (by default .cache/plugin/tinyvgg/ beside mkdocs.yml)."""

    def __init__(self, root: Path, log: Callable[[str], object] | None = None) -> None:
        self.root = Path(root)
        self.log = log or (lambda message: None)
        self.read_only = False  # set by lock() when the lock cannot be taken on a read-only cache

    # -- locking -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the build lock; a concurrent build waits for it (up to 30 minutes)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.root / "build.lock"), timeout=LOCK_TIMEOUT_S)
            lock.acquire()
        except Timeout as exc:  # before OSError: filelock's Timeout is a TimeoutError, an OSError
            raise CacheError(
                f"cache directory {self.root}: another build has held the lock for "
                f"{LOCK_TIMEOUT_S:.0f} s; stop it or remove {self.root / 'build.lock'}"
            ) from exc
        except OSError as exc:
            if exc.errno in READ_ONLY and self.root.is_dir():
                # Nobody can write here, so nobody can change an entry under us: serve it unlocked.
                self.read_only = True
                yield
                return
            raise explain(exc, self.root) from exc
        try:
            self._sweep_temps()
            yield
        finally:
            lock.release()

    def _sweep_temps(self) -> None:
        """Remove what killed builds left behind (only ever under the lock)."""
        for tmp in self.root.glob("*/.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        for tmp in (*self.root.glob(".*.tmp"), *self.root.glob("templates/.*.tmp")):
            tmp.unlink(missing_ok=True)

    # -- stages --------------------------------------------------------------------------------
    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def get(self, stage: str, key: str) -> Path | None:
        """The complete, intact directory of (stage, key), or None on a miss (a damaged entry is one)."""
        return self._verified(stage, key, None)

    def get_with(self, stage: str, key: str, name: str) -> tuple[Path, bytes] | None:
        """get(), and the verified bytes of its file `name` (read once: to check it and to use it)."""
        keep: dict[str, bytes | None] = {name: None}
        found = self._verified(stage, key, keep)
        data = keep[name]
        return None if found is None or data is None else (found, data)

    def _verified(self, stage: str, key: str, keep: dict[str, bytes | None] | None) -> Path | None:
        final = os.path.join(self.root, stage, key)
        if not os.path.isdir(final):
            return None
        why = damage(final, keep)
        if why is None:
            return Path(final)
        if why != "incomplete":
            self.log(f"cache entry {stage}/{key} is damaged ({why}); computing it again")
        return None

    def put(self, stage: str, key: str, write: Callable[[Path], None], record: bool = True) -> Path:
        """Run write(tmp_dir) and publish tmp_dir as (stage, key) atomically. `record=False` keeps the
        key out of manifest.json (figures: thousands of entries, listed in figure/used.json instead)."""
        final = self.path(stage, key)
        tmp = final.parent / f".tmp-{key}-{os.getpid()}"
        if self.read_only:
            raise explain(OSError(errno.EROFS, "read-only", str(self.root)), self.root)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            write(tmp)
            marker = {"stage": stage, "key": key, "time": time.time(), "files": _inventory(tmp)}
            (tmp / MARKER).write_text(json.dumps(marker, indent=0, sort_keys=True), encoding="utf-8")
            if final.exists():  # an incomplete or damaged leftover
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if self._inside(exc.filename) or exc.errno in (errno.ENOSPC, errno.EROFS):
                raise explain(exc, self.root) from exc
            raise  # not the cache's fault (e.g. a data file): the stage reports it
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if record:
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
            raise explain(exc, self.root) from exc

    def remove_except(self, keep: dict[str, set[str]]) -> int:
        """Remove every entry of the stages in `keep` whose key is not kept; returns the bytes freed."""
        freed = 0
        try:
            with self.lock():
                for stage, keys in keep.items():
                    folder = self.root / stage
                    if not folder.is_dir():
                        continue
                    for entry in folder.iterdir():
                        if entry.is_dir() and entry.name not in keys and not entry.name.startswith("."):
                            freed += sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
                            shutil.rmtree(entry)
        except OSError as exc:
            raise explain(exc, self.root) from exc
        return freed

    def clean(self) -> int:
        """Remove this cache's own entries (OWNED); returns the number of bytes freed. Anything else under
        the root stays: cache_dir may be a folder other tools share (e.g. .cache, with .cache/plugin/social)."""
        if not self.root.exists():
            return 0
        freed = 0
        try:
            with self.lock():
                for child in self.root.iterdir():
                    if not self.owns(child.name):
                        continue
                    if child.is_dir():
                        freed += sum(f.stat().st_size for f in child.rglob("*") if f.is_file())
                        shutil.rmtree(child)
                    else:
                        freed += child.stat().st_size
                        child.unlink()
        except OSError as exc:
            raise explain(exc, self.root) from exc
        return freed

    @staticmethod
    def owns(name: str) -> bool:
        """A top-level name this cache writes: a stage folder, the manifest or its temp file (not the lock,
        which clean holds)."""
        return name in OWNED or (name.startswith(".manifest.json.") and name.endswith(".tmp"))
