"""scripts/fetch-reference.sh and the Pages workflow: the pinned sha256 values are those of CNN
Explainer's files (the copy in ../shared/reference), the script refuses anything else, and the
workflow hands the fetched model.json to the build (mkdocs.yml's reference_weights)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import REPO, SHARED

SCRIPT = REPO / "scripts" / "fetch-reference.sh"
WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"
REF = SHARED / "reference" / "cnn-explainer"
ENV_VAR = "TINYVGG_REFERENCE_WEIGHTS"

needs_ref = pytest.mark.skipif(
    not REF.is_dir(), reason=f"{REF} is absent: CNN Explainer's model files are not on this machine"
)
needs_tools = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("sha256sum") and shutil.which("bash")),
    reason="the script needs bash, curl and sha256sum",
)


def pinned() -> dict[str, str]:
    """Repository path -> sha256, as the script's FILES table pins them."""
    text = SCRIPT.read_text(encoding="utf-8")
    return dict((path, sha) for sha, path in re.findall(r'^\s*"([0-9a-f]{64}) (\S+)"\s*$', text, re.M))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_script_pins_a_commit_and_the_model_files() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert re.search(r"^COMMIT=[0-9a-f]{40}$", text, re.M), "the commit must be a full 40-hex hash"
    assert "https://raw.githubusercontent.com/poloclub/cnn-explainer/$COMMIT" in text
    assert set(pinned()) == {"public/assets/data/model.json", "public/assets/data/group1-shard1of1.bin", "LICENSE"}


@needs_ref
def test_pinned_sha256_values_are_those_of_cnn_explainers_files() -> None:
    for path, sha in pinned().items():
        assert sha256(REF / Path(path).name) == sha, path


def _mirror(tmp_path: Path) -> Path:
    """The repository layout of the pinned files, as a file:// source for the script."""
    src = tmp_path / "src"
    for path in pinned():
        target = src / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REF / Path(path).name, target)
    return src


def _run(src: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), str(dest)],
        env={"PATH": "/usr/bin:/bin", "CNN_EXPLAINER_BASE": src.as_uri()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_ref
@needs_tools
def test_the_script_fetches_and_verifies(tmp_path: Path) -> None:
    src, dest = _mirror(tmp_path), tmp_path / "out"
    done = _run(src, dest)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{dest}/model.json"
    for path, sha in pinned().items():
        assert sha256(dest / Path(path).name) == sha


@needs_ref
@needs_tools
def test_the_script_refuses_a_file_with_another_hash(tmp_path: Path) -> None:
    src, dest = _mirror(tmp_path), tmp_path / "out"
    (src / "public/assets/data/group1-shard1of1.bin").write_bytes(b"not the weights")
    done = _run(src, dest)
    assert done.returncode != 0
    assert "sha256 mismatch for public/assets/data/group1-shard1of1.bin" in done.stderr
    assert not (dest / "group1-shard1of1.bin").exists()
    assert not list(dest.glob("*.part"))


def test_the_workflow_fetches_the_reference_and_passes_it_to_the_build() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["build"]["steps"]
    runs = [str(s.get("run", "")) for s in steps]
    fetch = next(i for i, r in enumerate(runs) if "scripts/fetch-reference.sh" in r)
    build = next(i for i, r in enumerate(runs) if "mkdocs build" in r)
    assert fetch < build
    dest = runs[fetch].split("scripts/fetch-reference.sh", 1)[1].split()[0]
    assert steps[build]["env"][ENV_VAR] == f"{dest}/model.json"
    assert steps[build]["env"]["TINYVGG_PROFILE"] == "full"  # the comparison needs CNN Explainer's classes


def test_mkdocs_yml_reads_reference_weights_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.utils.yaml import get_yaml_loader

    def plugin_option() -> object:
        with open(REPO / "mkdocs.yml", encoding="utf-8") as f:
            config = yaml.load(f, Loader=get_yaml_loader())  # MkDocs' own loader (!ENV, !relative)
        (tinyvgg,) = [p["tinyvgg"] for p in config["plugins"] if isinstance(p, dict) and "tinyvgg" in p]
        return tinyvgg.get("reference_weights")

    monkeypatch.setenv(ENV_VAR, "somewhere/model.json")
    assert plugin_option() == "somewhere/model.json"
    monkeypatch.delenv(ENV_VAR)
    assert plugin_option() is None  # local builds (quick profile) compare nothing
