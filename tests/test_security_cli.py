"""Command-line output (issue 10, item 11): only results on stdout, progress and logs on stderr, and a
reader that closes the pipe early (`predict ... | head`) ends the command quietly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import SMALL, child_env, gen

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cnn-explainer"
IMAGES = sorted((REF / "images").glob("*.jpeg"))


@pytest.mark.slow
def test_predict_json_on_a_cold_cache_prints_only_json(tmp_path: Path) -> None:
    """Training runs first (epoch lines, bars); stdout must still be exactly one JSON document."""
    image = tmp_path / "dot.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(image)
    proc = gen("predict", image, "--json", *SMALL, "--cache-dir", tmp_path / "cache", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)  # the old CLI printed "epoch 1: loss ..." before the JSON
    assert [r["path"] for r in results] == [str(image)]
    assert "epoch 1:" in proc.stderr  # progress is not lost, it goes to stderr


@pytest.mark.skipif(not IMAGES, reason=f"CNN Explainer demo images not found in {REF}")
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_predict_into_a_closed_pipe_ends_quietly(tmp_path: Path, json_flag: list[str]) -> None:
    """`predict ... | head -0`: the reader is gone before anything is written."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator",
            "predict",
            *map(str, IMAGES),
            "--weights",
            str(REF / "model.json"),
            *json_flag,
        ],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # like `head` exiting: every write to stdout now fails with EPIPE
    _, err = proc.communicate(timeout=300)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert proc.returncode in (0, 141), (proc.returncode, err)


@pytest.mark.skipif(not IMAGES, reason=f"CNN Explainer demo images not found in {REF}")
def test_predict_piped_into_head_keeps_the_first_lines(tmp_path: Path) -> None:
    """4,000 result lines (~100 KB, more than a pipe buffers): head exits while predict still writes."""
    shutil.copyfile(IMAGES[0], tmp_path / "a.jpeg")
    images = " ".join(["a.jpeg"] * 4000)
    shell = f"{sys.executable} -m generator predict {images} --weights {REF / 'model.json'} | head -n 2"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.splitlines()[0].startswith("a.jpeg: ") and len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 141)


def test_results_go_to_stdout_and_stray_prints_to_stderr(monkeypatch, capsys) -> None:
    """In process: what a command prints itself ends on stderr; only args.out reaches stdout."""
    from generator import cli

    def fake_clean(args):
        print("some progress line")  # e.g. tqdm.write during training
        print("the result", file=args.out)
        return 0

    parser = cli.parser
    monkeypatch.setattr(cli, "parser", lambda: _with(parser(), "clean", fake_clean))
    assert cli.main(["clean", "--cache-dir", "unused"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "the result\n"
    assert "some progress line" in captured.err


def _with(p, command: str, func):
    p.parse_args([command, "--cache-dir", "x"])  # the subparser exists
    for action in p._subparsers._group_actions:
        action.choices[command].set_defaults(func=func)
    return p


@pytest.mark.parametrize(("cwd", "target"), [("project", "."), ("project", ".."), (".", "project")])
def test_clean_refuses_folders_that_are_not_a_cache(tmp_path: Path, monkeypatch, capsys, cwd: str, target: str) -> None:
    """`clean --cache-dir .` used to delete the whole project (docs, code, .git)."""
    from generator import cli

    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "mkdocs.yml").write_text("site_name: x\n")
    monkeypatch.chdir(tmp_path / cwd)
    assert cli.main(["clean", "--cache-dir", target]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"--cache-dir {target}" in err
    assert (project / "mkdocs.yml").exists() and (project / "docs").is_dir()


def test_clean_still_empties_a_real_cache(tmp_path: Path, monkeypatch, capsys) -> None:
    from generator import cli
    from generator.config import DEFAULT_CACHE_DIR

    cache = tmp_path / DEFAULT_CACHE_DIR
    (cache / "train" / "abc").mkdir(parents=True)
    (cache / "build.lock").write_text("")
    (cache / "manifest.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["clean"]) == 0
    assert sorted(p.name for p in cache.iterdir()) == ["build.lock"]
    assert capsys.readouterr().out.startswith(f"emptied {DEFAULT_CACHE_DIR}")
