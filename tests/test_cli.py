"""The command line as a user runs it (`python -m generator ...` subprocesses): help, build, train,
clean, figure and predict, on one small model shared by the session (conftest.small_cache)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_support import SMALL, gen, latest, ok, one_error
from PIL import Image
from test_tfjs import TRUE_CLASS

REPO = Path(__file__).resolve().parents[1]
REF = REPO.parent / "shared" / "reference" / "cnn-explainer"
COMMANDS = ("build", "train", "predict", "figure", "clean")
USER_IMAGE = "my photo 猫 café.png"  # spaces and non-ASCII characters


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(folder / USER_IMAGE)
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8), "L").save(folder / "grey.jpg")
    return folder


# -- help -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help(command: str, tmp_path: Path) -> None:
    out = ok(gen(*([command] if command else []), "--help", cwd=tmp_path, timeout=60))
    assert out.startswith("usage: python -m generator")
    if command:
        assert f"python -m generator {command}" in out.splitlines()[0]
    else:
        assert all(c in out for c in COMMANDS)
    if command in ("build", "train", "predict", "figure"):
        assert "--cache-dir" in out and "--epochs" in out
    assert not any(tmp_path.iterdir()), "--help wrote files"


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    one_error(gen(cwd=tmp_path, timeout=60), "command")
    one_error(gen("bulid", cwd=tmp_path, timeout=60), "bulid")


# -- build, train, clean ------------------------------------------------------------------------------


def test_build_prints_figure_count_and_stages(small_cache: Path, tmp_path: Path) -> None:
    """A warm build: the figure count and 'none (all cached)'; the session's cold build listed every
    stage with its time, and apart from training the data's wait for the trainer to import torch (test_faults.py
    checks a build that runs only the render stage)."""
    cold = small_cache.with_suffix(".log").read_text()
    assert re.search(
        r"^stages run: train, probe, render \| keys \d+\.\d s, data \d+\.\d s, torch \d+\.\d s, train \d+\.\d s, "
        r"probe \d+\.\d s, render \d+\.\d s$",
        cold,
        re.M,
    ), cold
    out = ok(gen("build", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=tmp_path))
    match = re.search(r"^figures: (\d+) \((\d+) from the cache\) in (.+)$", out, re.M)
    assert match, out
    assert Path(match.group(3)) == small_cache / "figure"
    assert match.group(1) == match.group(2)  # warm: every figure from the cache
    assert re.search(r"^figures: (\d+) \(0 from the cache\) in ", cold, re.M).group(1) == match.group(1)
    entries = [d for d in (small_cache / "figure").iterdir() if (d / "entry.json").is_file()]
    assert int(match.group(1)) == len(entries) > 200
    assert re.search(r"^test accuracy: \d+\.\d% after 1 epochs on shapes$", out, re.M), out
    assert re.search(r"^stages run: none \(all cached\) \| keys \d+\.\d s, render \d+\.\d s$", out, re.M), out


def test_train_prints_the_checkpoint_and_metrics(small_cache: Path, tmp_path: Path) -> None:
    out = ok(gen("train", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=tmp_path))
    assert f"checkpoint: {latest(small_cache, 'train')}" in out
    assert re.search(r"test accuracy \d+\.\d%, best val accuracy \d+\.\d% at epoch 1 of 1", out), out


def test_clean_empties_the_cache(small_cache: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    out = ok(gen("clean", "--cache-dir", cache, cwd=tmp_path, timeout=60))
    assert out.strip() == f"emptied {cache} ({size / 1e6:.1f} MB)"
    assert [p.name for p in cache.iterdir()] in ([], ["build.lock"])
    out = ok(gen("clean", "--cache-dir", tmp_path / "never-made", cwd=tmp_path, timeout=60))
    assert "0.0 MB" in out and not (tmp_path / "never-made").exists()


# -- figure -----------------------------------------------------------------------------------------------

FIGURES = [
    # kind, extra options, file name, whether it is about the image given with --image
    ("overview", ["--image", USER_IMAGE], "overview.png", True),
    ("conv-detail", ["--image", USER_IMAGE, "--layer", "conv_1_2", "--neuron", "3"], "detail.gif", True),
    ("hyperparameter", ["--hyper", "stride"], "stride.gif", False),
]


@pytest.mark.parametrize(("kind", "options", "name", "about_image"), FIGURES, ids=[f[0] for f in FIGURES])
def test_figure_writes_a_valid_file_of_its_kind(
    kind: str, options: list[str], name: str, about_image: bool, small_cache: Path, photos: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "out dir" / name  # the folder does not exist yet
    stdout = ok(
        gen("figure", kind, *options, "-o", out_file, *SMALL, "--quiet", "--cache-dir", small_cache, cwd=photos)
    )
    size = re.search(rf"^{re.escape(str(out_file))}: {kind} (\d+)×(\d+), \d+ KiB$", stdout, re.M)
    assert size, stdout
    with Image.open(out_file) as img:
        assert img.format == ("GIF" if name.endswith(".gif") else "PNG")
        assert img.size == (int(size.group(1)), int(size.group(2)))
        if img.format == "GIF":
            assert img.n_frames > 1 and img.info.get("loop") == 0  # an animation that loops forever
        img.load()
    assert [p.name for p in out_file.parent.iterdir()] == [name]  # no temp file beside it
    caption = stdout.strip().splitlines()[-1]
    assert len(caption) > 20
    if kind == "conv-detail":
        assert "conv_1_2" in caption


def test_figure_output_extension_must_match_the_kind(small_cache: Path, tmp_path: Path) -> None:
    for kind, wrong in (("softmax", "s.png"), ("overview", "o.gif"), ("kernels", "k.jpg"), ("input", "x")):
        proc = gen("figure", kind, "-o", tmp_path / wrong, "--cache-dir", small_cache, cwd=tmp_path, timeout=60)
        one_error(proc, "-o", wrong)
        assert not (tmp_path / wrong).exists()


def test_figure_unwritable_output_is_one_error(small_cache: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = gen("figure", "input", "-o", blocker / "x.png", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=tmp_path)
    one_error(proc, "-o", str(blocker / "x.png"), "cannot write")
    assert blocker.read_text() == "not a folder"


def test_figure_unknown_kind(tmp_path: Path) -> None:
    proc = gen("figure", "heatmap", "-o", tmp_path / "h.png", cwd=tmp_path, timeout=60)
    one_error(proc, "heatmap", "kinds")


# -- predict -------------------------------------------------------------------------------------------


def test_predict_json_schema(small_cache: Path, photos: Path) -> None:
    """Default weights (the model the pipeline options train, here cached): one entry per image, in order."""
    names = [USER_IMAGE, "grey.jpg"]
    out = ok(gen("predict", *names, "--json", *SMALL, "--quiet", "--cache-dir", small_cache, cwd=photos))
    results = json.loads(out)
    facts = json.loads((latest(small_cache, "probe") / "facts.json").read_text())
    assert [r["path"] for r in results] == names
    for r in results:
        assert set(r) == {"path", "class", "probabilities"}
        assert list(r["probabilities"]) == facts["classes"]  # the model's class order
        probs = np.array(list(r["probabilities"].values()))
        assert ((probs >= 0) & (probs <= 1)).all() and probs.sum() == pytest.approx(1.0, abs=1e-9)
        assert r["class"] == max(r["probabilities"], key=r["probabilities"].get)
    text = ok(gen("predict", *names, *SMALL, "--quiet", "--cache-dir", small_cache, cwd=photos))
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{USER_IMAGE}: {results[0]['class']} (")


def _reference_forward(model_json: Path, pixels: np.ndarray) -> np.ndarray:
    """CNN Explainer's Tiny VGG in plain numpy, straight from the TF.js files, in Keras' own layout
    (channels last, valid 3x3 convolutions, 2x2 max pooling, (h, w, c) flatten). (N, 64, 64, 3) -> (N, 10)."""
    doc = json.loads(model_json.read_text())
    (group,) = doc["weightsManifest"]
    blob = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
    weights, offset = {}, 0
    for w in group["weights"]:
        count = int(np.prod(w["shape"]))
        weights[w["name"]] = np.frombuffer(blob, "<f4", count, offset).reshape(w["shape"]).astype(np.float64)
        offset += 4 * count
    layers = [layer["config"] for layer in doc["modelTopology"]["model_config"]["config"]["layers"]]
    x = pixels.astype(np.float64) / 255.0  # (N, 64, 64, 3)
    for layer in layers:
        name = layer["name"]
        if "filters" in layer:  # Conv2D, valid padding, stride 1
            # (N, H-2, W-2, C, 3, 3): every 3x3 window of every channel
            windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
            x = np.einsum("nhwcij,ijcf->nhwf", windows, weights[f"{name}/kernel"]) + weights[f"{name}/bias"]
        elif layer.get("activation") == "relu" and "units" not in layer:
            x = np.maximum(x, 0)
        elif "pool_size" in layer:
            n, h, w, c = x.shape
            x = x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        elif "units" in layer:  # the dense output layer; Flatten before it is a reshape in (h, w, c) order
            x = x.reshape(len(x), -1) @ weights[f"{name}/kernel"] + weights[f"{name}/bias"]
    x = x - x.max(axis=1, keepdims=True)
    return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)


@pytest.mark.slow  # `generator predict` loads torch in a subprocess
@pytest.mark.skipif(not (REF / "model.json").is_file(), reason=f"CNN Explainer's model not found at {REF}")
def test_predict_with_cnn_explainer_weights_matches_an_independent_forward_pass(tmp_path: Path) -> None:
    images = sorted((REF / "images").glob("*.jpeg"))
    assert len(images) == 20
    rel_weights = os.path.relpath(REF / "model.json", REPO)  # ../shared/reference/cnn-explainer/model.json
    out = ok(gen("predict", "--weights", rel_weights, "--json", *images, cwd=REPO))
    results = json.loads(out)
    assert [r["path"] for r in results] == [str(p) for p in images]
    pixels = []
    for path in images:
        with Image.open(path) as img:
            assert img.size == (64, 64)
            pixels.append(np.asarray(img.convert("RGB")))
    expected = _reference_forward(REF / "model.json", np.stack(pixels))
    classes = list(results[0]["probabilities"])
    for r, want in zip(results, expected, strict=True):
        got = np.array([r["probabilities"][c] for c in classes])
        np.testing.assert_allclose(got, want, atol=1e-4, err_msg=r["path"])
        assert r["class"] == classes[int(np.argmax(want))], r["path"]
    # The file-name prefix is the true class for most of CNN Explainer's example images (test_tfjs.TRUE_CLASS).
    right = sum(TRUE_CLASS[Path(r["path"]).stem.split("_")[0]] == r["class"] for r in results)
    assert right >= 14, f"only {right} of 20 example images classified as their file name says"
