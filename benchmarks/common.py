"""Shared pieces of the benchmarks: result rows, timed subprocesses with memory sampling, the
environment builds run in, and machine details."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1_000_000  # targets in MB are SI megabytes (10^6 bytes); MiB are shown beside them
KIB = 1024


@dataclass
class Row:
    """One line of the results table. ok is None for rows without a target (information only)."""

    row: str  # the brief's row number, e.g. "1"
    name: str
    measured: str  # human-readable
    value: float | None = None  # machine-readable, in `unit`
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def snapshot_code(dest: Path) -> dict:
    """Copy generator/ to dest/generator and put dest first on the import path of this process and
    of every build it starts: edits to the checkout during a run (the stage keys hash the source)
    then neither invalidate the cache between rows nor mix two versions of the code."""
    shutil.copytree(REPO / "generator", dest / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    return use_code(dest)


def use_code(dest: Path) -> dict:
    """Import generator/ from dest (a snapshot), here and in every build started from now on."""
    sys.path.insert(0, str(dest))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(dest), os.environ.get("PYTHONPATH")) if p)
    git = {}
    for key, cmd in (
        ("commit", ["git", "rev-parse", "--short", "HEAD"]),
        ("changed_files", ["git", "status", "--porcelain", "--", "generator"]),
    ):
        try:
            out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        git[key] = out if key == "commit" else len(out.splitlines())
    return {"snapshot": str(dest / "generator"), "git": git}


def check(value: float, limit: float, at_most: bool = True) -> bool:
    return value <= limit if at_most else value >= limit


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def build_env() -> dict[str, str]:
    """The environment every build runs in: the default (quick) profile, no MkDocs 2 banner, no
    site_url override, so the numbers do not depend on the caller's shell."""
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    for name in ("TINYVGG_PROFILE", "SITE_URL"):
        env.pop(name, None)
    return env


@dataclass
class Proc:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system time of the whole process tree (less load-sensitive than wall)
    peak_pss: int | None = None  # bytes, sum over the process tree, sampled
    samples: int = 0

    def tail(self, lines: int = 25) -> str:
        return "\n".join((self.stderr + self.stdout).strip().splitlines()[-lines:])


def _children_map() -> dict[int, list[int]]:
    """ppid -> child pids, from /proc/<pid>/stat (this kernel has no /proc/<pid>/task/*/children)."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: fields start after the last ')'
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree_pss(root: int) -> int:
    """Proportional set size of `root` and its descendants: shared copy-on-write pages of forked
    render workers count once, unlike a sum of RSS."""
    kids, total, todo = _children_map(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def run_timed(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, sample_memory: bool = False, interval: float = 0.5
) -> Proc:
    """Run cmd to completion; wall time, output and (optionally) the peak PSS of its process tree."""
    peak, samples, done = [0], [0], threading.Event()
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or build_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], _tree_pss(proc.pid))
            samples[0] += 1

    sampler = threading.Thread(target=sample, daemon=True) if sample_memory else None
    if sampler:
        sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    if sampler:
        sampler.join()
    return Proc(
        seconds, proc.returncode, out, err, children_cpu() - cpu0, peak[0] if sample_memory else None, samples[0]
    )


def children_cpu() -> float:
    """User + system seconds of every reaped child (and their reaped children) so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_and_children_cpu() -> float:
    """CPU seconds of this process plus its reaped children (e.g. a finished process pool)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime + children_cpu()


def children_maxrss() -> int:
    """ru_maxrss of the largest child process reaped so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def machine() -> dict:
    """Where the numbers were measured: they only compare within one run on one machine."""
    import matplotlib
    import mkdocs
    import numpy
    import PIL
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "memory_bytes": mem,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "pillow": PIL.__version__,
        "mkdocs": mkdocs.__version__,
        "load_average": list(os.getloadavg()),
    }


def fmt_bytes(n: float) -> str:
    if n >= MB:
        return f"{n / MB:.2f} MB"
    return f"{n / KIB:.1f} KiB"
