"""The distribution: the wheel carries the package with its in-page assets and licence metadata and no
tests; the sdist leaves the tests out (they need the whole repository); the core (pipeline, CLI, plugin)
imports nothing from the `site` extra. Built from a copy of the working tree, so no build/ or *.egg-info
lands in the checkout."""

from __future__ import annotations

import ast
import email.parser
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from cli_support import child_env

from generator import __version__

REPO = Path(__file__).resolve().parents[1]
SITE_EXTRA = {"mkdocs_static_i18n": "mkdocs-static-i18n", "mkdocs_glightbox": "mkdocs-glightbox", "jieba": "jieba"}
SKIP = shutil.ignore_patterns(
    ".git",
    ".cache",
    ".venv",
    "site",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "screenshots",
    "results",
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("pkg") / "src"
    shutil.copytree(REPO, src, ignore=SKIP)
    return src


def _build(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(tree: Path) -> zipfile.ZipFile:
    out = tree.parent / "wheel"
    # No build isolation: the setuptools of this environment, no download.
    _build([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)], tree)
    (path,) = out.glob("tinyvgg_explainer-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_has_the_assets_and_no_tests(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assets = {
        p.relative_to(REPO).as_posix() for p in (REPO / "generator" / "assets").iterdir() if p.suffix in (".js", ".css")
    }
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert assets <= names, f"missing from the wheel: {sorted(assets - names)}"
    assert "generator/cli.py" in names and "generator/render/mpl.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/"))]
    assert not [n for n in names if "conftest" in n or "/test_" in n]


def test_wheel_metadata(wheel: zipfile.ZipFile) -> None:
    dist = f"tinyvgg_explainer-{__version__}.dist-info"
    meta = email.parser.Parser().parsestr(wheel.read(f"{dist}/METADATA").decode())
    assert meta["Name"] == "tinyvgg-explainer" and meta["Version"] == __version__
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert wheel.read(f"{dist}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
    assert not [c for c in meta.get_all("Classifier") if c.startswith("License ::")]  # the SPDX field says it
    assert meta["Requires-Python"] == ">=3.11"
    requires = meta.get_all("Requires-Dist")
    for dist_name in SITE_EXTRA.values():  # only through the extra
        assert [r for r in requires if r.startswith(dist_name)] == [f'{_pin(dist_name)}; extra == "site"']
    entry_points = wheel.read(f"{dist}/entry_points.txt").decode()
    assert "tinyvgg-explainer = generator.cli:main" in entry_points
    assert "tinyvgg = generator.plugin:TinyVGGPlugin" in entry_points


def _pin(dist_name: str) -> str:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [r for r in extras["site"] if r.startswith(dist_name)]
    return pin


def test_sdist_leaves_the_tests_out(tree: Path) -> None:
    out = tree.parent / "sdist"
    _build([sys.executable, "-c", f"import setuptools.build_meta as b; b.build_sdist({str(out)!r})"], tree)
    (path,) = out.glob("tinyvgg_explainer-*.tar.gz")
    with tarfile.open(path) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE", "generator/cli.py", "generator/assets/live.js"} <= names
    assert not [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "docs", "scripts")]


def test_the_core_imports_nothing_from_the_site_extra() -> None:
    """No import of the `site` extra anywhere in generator/ (the plugin reads config.plugins.get('i18n')),
    and the plugin and the CLI import with those packages made unimportable."""
    found = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in SITE_EXTRA]
    assert not found
    block = "; ".join(f"sys.modules[{m!r}] = None" for m in SITE_EXTRA)
    code = f"import sys; {block}; import generator.plugin, generator.cli, generator.build, generator.pages"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in core if any(d.startswith(name) for name in SITE_EXTRA.values())]
