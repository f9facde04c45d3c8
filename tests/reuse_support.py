"""Helpers for the tests of the plugin in other people's sites: one tiny trained model per session
(train and probe only, about 20 s), and small MkDocs projects built against a copy of it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_support import SMALL, gen
from support import build_env

SITE_URL = "http://127.0.0.1:8765/"  # never served: only shapes the sitemap


@pytest.fixture(scope="session")
def trained_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the SMALL model's train and probe stages (no figures). Fixed path: a second test
    module asking for it hits the cache instead of training again."""
    cache = tmp_path_factory.getbasetemp() / "tinyvgg-reuse-cache"
    proc = gen("train", *SMALL, "--quiet", "--cache-dir", cache, cwd=cache.parent, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return cache


def copy_model(trained: Path, dest: Path) -> Path:
    """A cache with the trained model and nothing rendered yet (a cold figure cache)."""
    for stage in ("train", "probe"):
        shutil.copytree(trained / stage, dest / stage)
    return dest


def plugin_yaml(cache: Path, **extra: object) -> str:
    """The tinyvgg plugin entry (a list item under `plugins:`) for the SMALL model."""
    opts = {"max_samples": 1, "images_per_class": 30, "epochs": 1, "workers": 1, "cache_dir": str(cache), **extra}
    return "  - tinyvgg:\n" + "".join(f"      {k}: {json.dumps(v)}\n" for k, v in opts.items())


def make_project(root: Path, config: str, pages: dict[str, str]) -> Path:
    """mkdocs.yml (dedented) and docs/<name> for every page; returns mkdocs.yml's path."""
    for name, text in pages.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (root / "mkdocs.yml").write_text(textwrap.dedent(config), encoding="utf-8")
    return root / "mkdocs.yml"


def mkdocs_build(config: Path, site: Path, *flags: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m mkdocs build FLAGS` with stdout and stderr kept apart."""
    cmd = [sys.executable, "-m", "mkdocs", "build", *flags, "-f", str(config), "-d", str(site)]
    return subprocess.run(
        cmd, cwd=config.parent, env=build_env(SITE_URL), capture_output=True, text=True, timeout=timeout, check=False
    )


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The plugin's ERROR lines of a failed build (MkDocs may add its own, e.g. "Error reading page")."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    return [line for line in out.splitlines() if line.startswith("ERROR") and "tinyvgg" in line]
