"""Each stage's cache key hashes the source of every module it imports (cache.module_closure), so no
edit to code that shapes the output can leave a stale entry; and imports only go down the pipeline."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from generator import cache as cachemod
from generator.build import STAGE_ROOTS, figure_keys, stage_keys
from generator.cache import module_closure
from generator.catalog import build_catalog
from generator.config import BuildConfig
from generator.output import BuildOutput

PACKAGE = cachemod.PACKAGE_DIR
# Modules that run on every build and are never cached: nothing they do can go stale.
EVERY_BUILD = {
    "templates.py",
    "__main__.py",
    "build.py",
    "cli.py",
    "markup.py",
    "pages.py",
    "plugin.py",
    "pool.py",
    "stages/trainer.py",  # carries the data to the train stage and its result back: shapes no byte of it
    "output.py",
    "predict.py",
    "i18n.py",
    "interactive.py",
    "legible.py",
    "overview_html.py",
    "progress.py",
    "reference.py",
    "shortcodes.py",
    "site_checks.py",
    "steps.py",
    "usage.py",
    "values.py",
}


def _rel(paths: list[Path], root: Path = PACKAGE) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


def test_every_module_belongs_to_a_stage_or_runs_every_build() -> None:
    roots = [*STAGE_ROOTS.values(), ("generator.export",)]  # the export stage keys itself (export.code_hash)
    staged = set().union(*(_rel(module_closure(r)) for r in roots))
    every = _rel(sorted(PACKAGE.rglob("*.py")))
    orphans = every - staged - EVERY_BUILD
    assert not orphans, f"in no stage's code hash: {sorted(orphans)} (add the module to a stage or to EVERY_BUILD)"
    assert not (staged & EVERY_BUILD), f"cached after all: {sorted(staged & EVERY_BUILD)}"


def test_closures_hold_what_the_old_hand_written_lists_missed() -> None:
    render = _rel(module_closure(STAGE_ROOTS["render"]))
    assert {"names.py", "stages/render.py", "catalog.py", "render/conv.py", "render/colors.py"} <= render
    train = _rel(module_closure(STAGE_ROOTS["train"]))
    assert {
        "stages/train.py",
        "stages/common.py",
        "train.py",
        "model.py",
        "datasets/shapes.py",
        "datasets/tiny_imagenet.py",
        "datasets/folder.py",
        "images.py",
        "names.py",
    } <= train
    assert "render/conv.py" not in train and "plugin.py" not in train
    probe = _rel(module_closure(STAGE_ROOTS["probe"]))
    assert {"stages/probe.py", "probe.py", "weights.py", "tfjs.py"} <= probe


def test_the_caches_and_the_manifests_code_retrain_nothing() -> None:
    """How entries are verified (cache.py) and what the manifest holds (output.py) shape no model: editing
    them must not retrain (30 s) or probe again. The stages write through safeio.py, which they do hash."""
    for stage in ("train", "probe"):
        closure = _rel(module_closure(STAGE_ROOTS[stage]))
        assert "safeio.py" in closure
        assert not {"cache.py", "output.py", "build.py"} & closure, stage


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "generator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cachemod, "PACKAGE_DIR", copy)
    return copy


def _state(cfg: BuildConfig) -> dict[str, str]:
    """Every key a build computes: the stages', and one figure of every kind (an image's and the model's)."""
    keys = stage_keys(cfg)
    facts = {"samples": [{"slug": "a", "pixels": "p"}], "featured": "a", "classes": list("abcdefghij")}
    out = BuildOutput(facts=facts, train_dir=Path("."), probe_files={}, keys=keys)
    figures = figure_keys(cfg, out, build_catalog(["a"], "a"))
    return {"train": keys.train, "probe": keys.probe, **{f"figure {k}": v for k, v in figures.items()}}


@pytest.mark.parametrize(
    "module",
    [
        "names.py",
        "stages/render.py",
        "rendering.py",
        "stages/probe.py",
        "stages/common.py",
        "render/colors.py",
        "render/conv.py",
        "records.py",
        "arch.py",
        "naming.py",
    ],
)
def test_editing_a_module_changes_the_key_of_every_stage_that_runs_it(package_copy: Path, module: str) -> None:
    """The bug this replaces: stages.py and names.py were in no key, so edits served stale captions."""
    cfg = BuildConfig()
    before = _state(cfg)
    with open(package_copy / module, "a", encoding="utf-8") as fh:
        fh.write("\n# any edit is a change\n")
    after = _state(cfg)
    for stage, roots in STAGE_ROOTS.items():
        runs_it = module in _rel(module_closure(roots, package_copy), package_copy)
        prefix = "figure" if stage == "render" else stage
        changed = [k for k in before if k.startswith(prefix) and before[k] != after[k]]
        assert changed or not runs_it, f"{stage} runs {module} but no key of it changed"
    figures = [k for k in before if k.startswith("figure")]
    assert any(before[k] != after[k] for k in figures)  # every module here shapes some figure


def test_editing_the_worker_pool_or_the_cache_changes_no_key(package_copy: Path) -> None:
    """pool.py only schedules (output never depends on it) and cache.py only stores: editing either must
    not redraw ~1,800 figures or retrain."""
    cfg = BuildConfig()
    before = _state(cfg)
    for module in ("pool.py", "cache.py", "output.py", "build.py"):
        with open(package_copy / module, "a", encoding="utf-8") as fh:
            fh.write("\n# edited\n")
    assert _state(cfg) == before


def test_a_renderer_edit_changes_only_its_own_figures(package_copy: Path) -> None:
    cfg = BuildConfig()
    before = _state(cfg)
    with open(package_copy / "render" / "softmax.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    after = _state(cfg)
    assert {k for k in before if before[k] != after[k]} == {"figure a/softmax.zh", "figure a/softmax.en"}


def test_editing_plugin_code_changes_no_key(package_copy: Path) -> None:
    cfg = BuildConfig()
    before = _state(cfg)
    for module in EVERY_BUILD:
        with open(package_copy / module, "a", encoding="utf-8") as fh:
            fh.write("\n# not stage code\n")
    assert _state(cfg) == before


def test_closure_follows_lazy_and_from_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "generator"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "root.py").write_text("from generator.sub import leaf, other as o\n\ndef f():\n    import generator.lazy\n")
    (pkg / "sub" / "leaf.py").write_text("from generator.deep import (\n    thing,\n)\n")
    (pkg / "sub" / "other.py").write_text("X = 1\n")
    (pkg / "deep.py").write_text("def thing(): ...\n")
    (pkg / "lazy.py").write_text("")
    (pkg / "unused.py").write_text("")
    found = _rel(module_closure(("generator.root",), pkg), pkg)
    assert found == {"__init__.py", "root.py", "sub/__init__.py", "sub/leaf.py", "sub/other.py", "deep.py", "lazy.py"}


# -- the import graph ------------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _edges() -> dict[str, set[str]]:
    """module -> generator modules it imports (anywhere, lazily too), except under `if TYPE_CHECKING:`."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for n in ast.walk(node)
        }
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("generator"):
                subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                targets |= subs or {node.module}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("generator")}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycle_inside_the_package() -> None:
    graph = _edges()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_nothing_imports_the_plugin_or_the_cli() -> None:
    for name, targets in _edges().items():
        if name not in ("generator.__main__",):
            assert "generator.plugin" not in targets and "generator.cli" not in targets, name
