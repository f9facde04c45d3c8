"""Bad input, command-line options: each bad `build` or `figure` option gives ONE clear error naming
the option, a non-zero exit, no traceback, and nothing trained or published; options that need no model
are checked before any training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import SMALL, assert_cache_clean, gen, one_error, stage_dirs

BAD_CLI = {
    "negative epochs": (["--epochs", "-1"], ["epochs", "-1"]),
    "unknown dataset": (["--dataset", "imagenet"], ["--dataset", "imagenet"]),
    "unknown profile": (["--profile", "huge"], ["--profile"]),
    "epochs not a number": (["--epochs", "many"], ["--epochs", "many"]),
    "negative workers": (["--workers", "-1"], ["workers"]),
    "negative max samples": (["--max-samples", "-1"], ["max_samples"]),
    "folder without path": (["--dataset", "folder"], ["dataset_path"]),
}


@pytest.mark.parametrize("case", list(BAD_CLI))
def test_bad_cli_option_names_the_option(case: str, tmp_path: Path) -> None:
    args, needles = BAD_CLI[case]
    cache = tmp_path / "cache"
    proc = gen("build", "--quiet", "--cache-dir", cache, *args, cwd=tmp_path)
    one_error(proc, *needles)
    if cache.exists():
        assert_cache_clean(cache)
        assert not any(stage_dirs(cache, s) for s in ("train", "probe", "image", "figure"))


def test_figure_options_are_checked_before_training(tmp_path: Path) -> None:
    """--layer nope / --neuron 99 fail at once (an empty cache: nothing is trained for nothing)."""
    cache = tmp_path / "cache"
    for args, needles in (
        (["conv-detail", "--layer", "nope"], ["layer", "'nope'"]),
        (["conv-detail", "--layer", "conv_2_1", "--neuron", "99"], ["neuron 99", "conv_2_1"]),
        (["kernels", "--neuron", "3"], ["kernels", "neuron"]),
        (["hyperparameter"], ["hyper"]),
    ):
        out = tmp_path / ("x.gif" if args[0] != "kernels" else "x.png")
        proc = gen("figure", *args, "-o", out, "--cache-dir", cache, "--quiet", cwd=tmp_path, timeout=60)
        one_error(proc, *needles)
        assert not out.exists()
    assert not stage_dirs(cache, "train")


def test_output_neuron_out_of_range_via_figure(small_cache: Path, tmp_path: Path) -> None:
    """The output layer's size comes from the trained model: checked after loading it, still one error."""
    out = tmp_path / "a.png"
    proc = gen(
        "figure",
        "activation",
        "--layer",
        "output",
        "--neuron",
        "99",
        "-o",
        out,
        *SMALL,
        "--quiet",
        "--cache-dir",
        small_cache,
        cwd=tmp_path,
    )
    one_error(proc, "neuron 99", "output")
    assert not out.exists()
