"""One table of pipeline options (config.OPTIONS): the command line's flags and the plugin's options
must name the same options with the same defaults and choices, and give the same BuildConfig for the
same values. Also: `--version`, and the usage line naming the command the way it was run."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import child_env, gen, ok, one_error
from mkdocs.config import config_options as c

from generator import __version__, cli
from generator.config import DATASETS, OPTIONS, PROFILE_ENV, PROFILES, SCALES
from generator.plugin import TinyVGGConfig, build_config

PIPELINE_COMMANDS = ("build", "train", "predict", "figure")
PLUGIN_ONLY = {"explore_pages", "figures"}  # what the site shows: no meaning without MkDocs
CLI_ONLY = {"quiet"}
# Both sides have it, outside config.OPTIONS, with one default: config.DEFAULT_CACHE_DIR.
OWN_DEFAULTS = {"cache_dir"}


@pytest.fixture(autouse=True)
def no_profile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_ENV, raising=False)


def _subcommand(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _cli_options(command: str) -> dict[str, argparse.Action]:
    """dest -> action of the 'pipeline options' group of one subcommand."""
    parser = _subcommand(command)
    (group,) = [g for g in parser._action_groups if g.title and g.title.startswith("pipeline options")]
    return {a.dest: a for a in group._group_actions}


def _plugin_options() -> dict[str, tuple[object, tuple | None, bool]]:
    """name -> (default, choices, optional) of every option of the MkDocs plugin, read from its schema."""
    out = {}
    for name, option in TinyVGGConfig._schema:
        optional = isinstance(option, c.Optional)
        inner = option.option if optional else option
        choices = tuple(inner.choices) if isinstance(inner, c.Choice) else None
        out[name] = (option.default, choices, optional)
    return out


@pytest.mark.parametrize("command", PIPELINE_COMMANDS)
def test_plugin_and_cli_have_the_same_pipeline_options(command: str) -> None:
    flags = _cli_options(command)
    plugin = _plugin_options()
    assert set(plugin) - PLUGIN_ONLY == set(flags) - CLI_ONLY, "an option exists on one side only"
    for name, (default, choices, optional) in plugin.items():
        if name in PLUGIN_ONLY:
            continue
        action = flags[name]
        assert action.option_strings == ["--" + name.replace("_", "-")], name
        if name not in OWN_DEFAULTS:
            cli_default = action.default if action.nargs != "*" else list(action.default)
            assert cli_default == default, (name, cli_default, default)
        assert (tuple(action.choices) if action.choices else None) == choices, name
        assert optional == (default is None), name


def test_choices_come_from_the_config_module() -> None:
    plugin = _plugin_options()
    assert plugin["profile"][1] == PROFILES
    assert plugin["dataset"][1] == DATASETS
    assert plugin["scale"][1] == SCALES
    assert {o.name for o in OPTIONS} == set(plugin) - PLUGIN_ONLY - OWN_DEFAULTS


def test_readme_lists_every_plugin_option() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", readme, re.M))
    assert set(_plugin_options()) <= rows, sorted(set(_plugin_options()) - rows)


def test_the_same_values_give_the_same_build_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every option, set to something other than its default, on both sides: the same BuildConfig."""
    values = {
        "profile": "full",
        "dataset": "shapes",
        "dataset_path": None,
        "epochs": 3,
        "images_per_class": 40,
        "seed": 7,
        "images": ["photos/cat.png", "dog.jpg"],
        "max_samples": 2,
        "featured": "cat",
        "detail_images": ["cat", "dog"],
        "scale": "neuron",
        "workers": 2,
        "reference_weights": "ref/model.json",
    }
    assert set(values) == {o.name for o in OPTIONS}, "a new option: give it a value here"
    argv = ["build", "--cache-dir", "cache"]
    for opt in OPTIONS:
        value = values[opt.name]
        if value is not None:
            argv += [opt.flag, *value] if isinstance(value, list) else [opt.flag, str(value)]
    monkeypatch.chdir(tmp_path)
    from_cli = cli._cfg(cli.parser().parse_args(argv))

    plugin = TinyVGGConfig(config_file_path=str(tmp_path / "mkdocs.yml"))
    plugin.load_dict({**{k: v for k, v in values.items() if v is not None}, "cache_dir": "cache"})
    errors, warnings = plugin.validate()
    assert not errors and not warnings
    from_plugin = build_config(plugin, str(tmp_path / "mkdocs.yml"))
    assert from_cli == from_plugin
    # the two options the command line lacked before the table
    assert from_cli.render.scale == "neuron" and from_cli.render.detail_images == ("cat", "dog")
    assert from_cli.images == ((tmp_path / "photos" / "cat.png").resolve(), (tmp_path / "dog.jpg").resolve())


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--scale", "global"], ["--scale", "'global'", "layer", "neuron"]),
        (["--dataset", "mnist"], ["--dataset", "shapes", "tiny-imagenet-10", "folder"]),
        (["--profile", "huge"], ["--profile", "quick", "full"]),
    ],
)
def test_a_bad_choice_names_the_flag_and_the_choices(args: list[str], needles: list[str], tmp_path: Path) -> None:
    proc = gen("build", *args, "--cache-dir", tmp_path / "cache", cwd=tmp_path, timeout=60)
    one_error(proc, *needles)
    assert proc.returncode == 2
    assert not (tmp_path / "cache").exists()


def test_plugin_bad_choice_names_the_choices() -> None:
    plugin = TinyVGGConfig()
    plugin.load_dict({"scale": "global"})
    errors, _ = plugin.validate()
    assert [name for name, _ in errors] == ["scale"]
    assert "layer" in str(errors[0][1]) and "neuron" in str(errors[0][1])


def test_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "--version"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=False,
    )
    assert ok(proc).strip() == f"python -m generator {__version__}"


def test_the_console_script_names_itself(tmp_path: Path) -> None:
    """What pip's console-script launcher does: import generator.cli and call main, run as `tinyvgg-explainer`."""
    script = tmp_path / "tinyvgg-explainer"
    script.write_text("import sys\nfrom generator.cli import main\nsys.exit(main())\n")
    run = [sys.executable, str(script)]
    version = ok(
        subprocess.run([*run, "--version"], capture_output=True, text=True, env=child_env(), timeout=60, check=False)
    )
    assert version.strip() == f"tinyvgg-explainer {__version__}"
    usage = ok(
        subprocess.run(
            [*run, "figure", "--help"], capture_output=True, text=True, env=child_env(), timeout=60, check=False
        )
    )
    assert usage.startswith("usage: tinyvgg-explainer figure ")
    assert "python -m generator" not in usage
    bad = subprocess.run(
        [*run, "build", "--scale", "x"], capture_output=True, text=True, env=child_env(), timeout=60, check=False
    )
    assert one_error(bad, "--scale").startswith("tinyvgg-explainer build: error:")
