"""The export stage: our TinyVGG as a TF.js layers model in CNN Explainer's layout. Written, read back
by generator/tfjs.py, it must give the same weights and the same predictions as the checkpoint; its
topology must pass the same checks as CNN Explainer's own model.json; and no torch is needed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from generator.config import DEFAULT_CACHE_DIR
from generator.export import SHARD, color_tables, export_stage, tfjs_files, to_keras, write_export
from generator.tfjs import keras_to_torch, load_tfjs
from generator.weights import expected_shapes

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cnn-explainer"


def random_state(num_classes: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, shape in expected_shapes(num_classes).items()}


def write_model(folder: Path, state: dict[str, np.ndarray], classes: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model_json, shard = tfjs_files(state, classes)
    (folder / "model.json").write_bytes(model_json)
    (folder / SHARD).write_bytes(shard)
    return folder / "model.json"


@pytest.mark.parametrize("num_classes", [10, 4])
def test_round_trip_gives_back_every_weight_bit_for_bit(tmp_path: Path, num_classes: int) -> None:
    state = random_state(num_classes)
    classes = [f"class {i}" for i in range(num_classes)]
    loaded, meta = load_tfjs(write_model(tmp_path, state, classes))
    assert meta["classes"] == classes
    assert set(loaded) == set(state)
    for name, value in state.items():
        assert loaded[name].dtype == np.float32
        assert np.array_equal(loaded[name], value), name


def test_shard_holds_keras_layout(tmp_path: Path) -> None:
    """HWIO kernels and a dense kernel whose rows follow Keras' (h, w, c) flatten, checked by value."""
    state = random_state()
    keras = dict(to_keras(state))
    assert keras["conv_1_2/kernel"].shape == (3, 3, 10, 10)
    # kernel[y, x, i, o] == weight[o, i, y, x]
    assert keras["conv_1_2/kernel"][2, 0, 7, 3] == state["conv_1_2.weight"][3, 7, 2, 0]
    # dense row (h * 13 + w) * 10 + c is our column c * 169 + h * 13 + w
    h, w, c, k = 5, 11, 6, 2
    assert keras["output/kernel"][(h * 13 + w) * 10 + c, k] == state["output.weight"][k, c * 169 + h * 13 + w]
    assert all(
        np.array_equal(a, b)
        for a, b in zip(keras_to_torch(keras).values(), (state[n] for n in keras_to_torch(keras)), strict=True)
    )


def test_topology_matches_cnn_explainers_model() -> None:
    """Layer for layer the same classes and hyperparameters as CNN Explainer's model.json."""
    if not (REF / "model.json").is_file():
        pytest.skip(f"CNN Explainer reference model not found at {REF}")
    theirs = json.loads((REF / "model.json").read_text())
    ours = json.loads(tfjs_files(random_state(), [str(i) for i in range(10)])[0])
    keys = (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "activation",
        "use_bias",
        "pool_size",
        "units",
        "batch_input_shape",
        "dilation_rate",
    )

    def summary(doc: dict) -> list:
        layers = doc["modelTopology"]["model_config"]["config"]["layers"]
        return [
            (layer["class_name"], layer["config"]["name"], {k: layer["config"].get(k) for k in keys})
            for layer in layers
        ]

    assert summary(ours) == summary(theirs)
    assert ours["format"] == theirs["format"] == "layers-model"
    assert [(w["name"], w["shape"]) for w in ours["weightsManifest"][0]["weights"]] == [
        (w["name"], w["shape"]) for w in theirs["weightsManifest"][0]["weights"]
    ]


def test_predict_from_exported_model_matches_the_checkpoint(tmp_path: Path) -> None:
    """`predict --weights model.json` and `predict --weights <checkpoint dir>` agree on real images."""
    pytest.importorskip("torch")
    from PIL import Image

    from generator.predict import predict

    state = random_state(3, seed=1)
    classes = ["circle", "square", "star"]
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    save_file(state, str(ckpt / "model.safetensors"))
    (ckpt / "meta.json").write_text(json.dumps({"classes": classes}))
    model = write_model(tmp_path / "export", state, classes)
    rng = np.random.default_rng(3)
    images = []
    for i, size in enumerate([(64, 64), (90, 70), (33, 120)]):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)).save(path)
        images.append(path)
    a, b = predict(model, images), predict(ckpt, images)
    for x, y in zip(a, b, strict=True):
        assert x["class"] == y["class"]
        assert list(x["probabilities"]) == classes
        assert np.allclose(list(x["probabilities"].values()), list(y["probabilities"].values()), atol=1e-6)


def test_export_stage_writes_hashed_files_without_torch(tmp_path: Path) -> None:
    """export_stage reads only safetensors + JSON, every name it writes carries a content hash, and a
    second call is a cache hit."""
    train, probe = tmp_path / "train", tmp_path / "probe"
    train.mkdir()
    probe.mkdir()
    state = random_state(2)
    save_file(state, str(train / "model.safetensors"))
    (train / "meta.json").write_text(json.dumps({"classes": ["a", "b"]}))
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save_file({"pixels": pixels}, str(probe / "a.safetensors"))
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "from pathlib import Path\nfrom generator.export import export_stage\n"
        f"out = export_stage(Path({str(tmp_path / 'cache')!r}), Path({str(train)!r}), 'k1', "
        f"{{'a': Path({str(probe / 'a.safetensors')!r})}})\n"
        "assert 'torch' not in sys.modules, 'export imported torch'\nprint(out.root)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = Path(proc.stdout.strip())
    index = json.loads((out / "export.json").read_text())
    assert index["model"].startswith("model/") and index["model"].endswith("/model.json")
    assert len(index["model"].split("/")[1]) == 12
    assert index["colors"].startswith("live/colors-")
    assert index["samples"]["a"].startswith("live/samples/a-")
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out / index["samples"]["a"])), pixels)
    loaded, meta = load_tfjs(out / index["model"])
    assert meta["classes"] == ["a", "b"]
    assert all(np.array_equal(loaded[n], state[n]) for n in state)
    again = export_stage(tmp_path / "cache", train, "k1", {"a": probe / "a.safetensors"})
    assert again.root == out and again.index == index  # a hit
    write_export(train, {"a": probe / "a.safetensors"}, tmp_path / "fresh")  # deterministic bytes
    assert (tmp_path / "fresh" / index["shard"]).read_bytes() == (out / index["shard"]).read_bytes()
    other = export_stage(tmp_path / "cache", train, "k2", {"a": probe / "a.safetensors"})
    assert other.root != out  # another model: another entry


def test_color_tables_are_the_renderers_tables() -> None:
    from generator.render.colors import lut
    from generator.render.common import LEVELS

    doc = color_tables()
    assert doc["levels"] == LEVELS
    assert doc["tables"]["RdBu"] == lut("RdBu", LEVELS).reshape(-1).tolist()
    assert doc["tables"]["tint:G"] == lut("tint:G", LEVELS).reshape(-1).tolist()


@pytest.mark.slow
def test_the_sites_model_json_reproduces_the_sites_numbers(built_site) -> None:
    """`predict --weights site/model/<hash>/model.json` on the sample images gives the probe's probabilities."""
    pytest.importorskip("torch")
    from generator.predict import predict

    (model,) = sorted(built_site.root.glob("model/*/model.json"))
    index = {p.name.rsplit("-", 1)[0]: p for p in (built_site.root / "live" / "samples").glob("*.png")}
    manifest = json.loads((built_site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert {e["image"] for e in manifest["figures"] if e["image"]} == set(index)
    from cli_support import latest

    probe = json.loads(
        (latest(Path(__file__).resolve().parents[1] / DEFAULT_CACHE_DIR, "probe") / "facts.json").read_text()
    )
    results = predict(model, [index[s["slug"]] for s in probe["samples"]])
    for sample, result in zip(probe["samples"], results, strict=True):
        probs = list(result["probabilities"].values())
        assert list(result["probabilities"]) == probe["classes"]
        assert np.abs(np.array(probs) - np.array(sample["probs"])).max() <= 1e-5, sample["slug"]


@pytest.mark.parametrize(
    ("classes", "needle"),
    [
        (["a", "b"], "names 2 classes but the output layer has 3 units"),
        (["a", "a", "b"], "distinct class names"),
        ("abc", "distinct class names"),
    ],
)
def test_bad_class_names_in_model_json_give_one_clear_error(tmp_path: Path, classes, needle: str) -> None:
    from generator.errors import ModelError

    path = write_model(tmp_path, random_state(3), ["x", "y", "z"])
    doc = json.loads(path.read_text())
    doc["userDefinedMetadata"]["classes"] = classes
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=re.escape(needle)) as info:
        load_tfjs(path)
    assert str(path) in str(info.value)
