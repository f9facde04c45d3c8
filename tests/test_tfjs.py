"""CNN Explainer parity: its TF.js Tiny VGG, loaded into our PyTorch TinyVGG, must give the
probabilities of an independent numpy forward pass that follows Keras' channels-last semantics with
the raw weights read straight from the shard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from generator.errors import ModelError
from generator.tfjs import REFERENCE_CLASSES, keras_to_torch, load_tfjs, read_keras_weights

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cnn-explainer"
pytestmark = pytest.mark.skipif(
    not (REF / "model.json").is_file(), reason=f"CNN Explainer reference model not found at {REF}"
)

# The eight images CNN Explainer's overview offers to pick from.
OFFERED = ("espresso_1", "panda_1", "car_1", "boat_1", "koala_1", "pizza_1", "pepper_1", "bug_1")
# File name prefix of the demo images -> CNN Explainer class.
TRUE_CLASS = {
    "boat": "lifeboat",
    "bug": "ladybug",
    "bus": "school bus",
    "car": "sport car",
    "espresso": "espresso",
    "koala": "koala",
    "orange": "orange",
    "panda": "red panda",
    "pepper": "bell pepper",
    "pizza": "pizza",
}


def raw_shard_weights() -> dict[str, np.ndarray]:
    """The Keras weights straight from the shard, with no code from generator.tfjs (float64)."""
    doc = json.loads((REF / "model.json").read_text())
    (group,) = doc["weightsManifest"]
    buffer = b"".join((REF / name).read_bytes() for name in group["paths"])
    raw, offset = {}, 0
    for entry in group["weights"]:
        count = int(np.prod(entry["shape"]))
        values = np.frombuffer(buffer, dtype="<f4", count=count, offset=offset)
        raw[entry["name"]] = values.reshape(entry["shape"]).astype(np.float64)
        offset += 4 * count
    assert offset == len(buffer)
    return raw


def keras_forward(pixels: np.ndarray, raw: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 64, 64, 3) uint8 -> (N, 10) softmax probabilities, computed channels-last like Keras."""
    a = pixels.astype(np.float64) / 255.0  # (N, 64, 64, 3)

    def conv(a: np.ndarray, name: str) -> np.ndarray:  # valid 3x3 cross-correlation + bias, then ReLU
        kernel, bias = raw[f"{name}/kernel"], raw[f"{name}/bias"]  # (3, 3, in, out), (out,)
        windows = np.lib.stride_tricks.sliding_window_view(a, (3, 3), axis=(1, 2))  # (N, H, W, in, 3, 3)
        windows = windows.transpose(0, 1, 2, 4, 5, 3)  # (N, H, W, 3, 3, in): HWI like the kernel
        n, h, w = windows.shape[:3]
        out = windows.reshape(n * h * w, -1) @ kernel.reshape(-1, kernel.shape[3]) + bias
        return np.maximum(out.reshape(n, h, w, -1), 0.0)

    def pool(a: np.ndarray) -> np.ndarray:  # 2x2 max, stride 2
        n, h, w, c = a.shape
        return a.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    a = pool(conv(conv(a, "conv_1_1"), "conv_1_2"))  # (N, 30, 30, 10)
    a = pool(conv(conv(a, "conv_2_1"), "conv_2_2"))  # (N, 13, 13, 10)
    flat = a.reshape(len(a), -1)  # (N, 1690) in Keras' (h, w, c) order
    logits = flat @ raw["output/kernel"] + raw["output/bias"]  # (N, 10)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def reference_images() -> tuple[list[Path], np.ndarray]:
    from PIL import Image

    files = sorted((REF / "images").glob("*.jpeg"))
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])  # (20, 64, 64, 3)
    return files, pixels


def test_parity_with_keras_channels_last_forward_pass() -> None:
    torch = pytest.importorskip("torch")
    from generator.weights import to_module

    files, pixels = reference_images()
    assert len(files) == 20
    expected = keras_forward(pixels, raw_shard_weights())

    state, meta = load_tfjs(REF / "model.json")
    model = to_module(state, len(meta["classes"]))
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0  # (20, 3, 64, 64)
    with torch.no_grad():
        ours = torch.softmax(model(x).double(), dim=1).numpy()

    diff = float(np.abs(ours - expected).max())
    assert diff < 1e-4, f"max |p_ours - p_keras| = {diff:.2e}"
    assert (ours.argmax(1) == expected.argmax(1)).all()

    predicted = [meta["classes"][i] for i in ours.argmax(1)]
    truth = [TRUE_CLASS[f.stem.split("_")[0]] for f in files]
    correct = sum(p == t for p, t in zip(predicted, truth, strict=True))
    print(f"\nCNN Explainer parity: max abs prob diff {diff:.2e}, top-1 agreement 20/20, correct {correct}/20")
    # CNN Explainer's model is a 10-class Tiny ImageNet classifier, not perfect: most demo images are
    # right, and the eight its overview offers are all right.
    assert correct >= 12, list(zip([f.name for f in files], predicted, strict=True))
    offered = [p == t for f, p, t in zip(files, predicted, truth, strict=True) if f.stem in OFFERED]
    assert len(offered) == 8 and all(offered)


def test_conversion_layout() -> None:
    keras = read_keras_weights(REF / "model.json")
    state = keras_to_torch(keras)
    assert sum(v.size for v in state.values()) == 19_920
    # Conv: torch weight[o, i, y, x] == Keras kernel[y, x, i, o].
    assert state["conv_1_2.weight"][7, 4, 2, 0] == keras["conv_1_2/kernel"][2, 0, 4, 7]
    # Dense: our input c*169 + h*13 + w is Keras' input (h*13 + w)*10 + c.
    c, h, w, k = 3, 5, 11, 8
    assert state["output.weight"][k, c * 169 + h * 13 + w] == keras["output/kernel"][(h * 13 + w) * 10 + c, k]
    for value in state.values():
        assert value.dtype == np.float32 and value.flags.c_contiguous


def test_class_names() -> None:
    _, meta = load_tfjs(REF / "model.json")
    assert meta["classes"] == list(REFERENCE_CLASSES)
    assert meta["classes"][:3] == ["lifeboat", "ladybug", "pizza"] and meta["classes"][-1] == "sport car"


# --- errors -------------------------------------------------------------------------------------


def copy_model(tmp_path: Path, doc_edit=None, shard_bytes: bytes | None = None) -> Path:
    """A copy of the reference model in tmp_path, optionally with an edited model.json or shard."""
    doc = json.loads((REF / "model.json").read_text())
    if doc_edit:
        doc_edit(doc)
    target = tmp_path / "model.json"
    target.write_text(json.dumps(doc))
    shard = tmp_path / "group1-shard1of1.bin"
    if shard_bytes is None:
        shutil.copyfile(REF / "group1-shard1of1.bin", shard)
    else:
        shard.write_bytes(shard_bytes)
    return target


def test_truncated_shard(tmp_path: Path) -> None:
    data = (REF / "group1-shard1of1.bin").read_bytes()
    path = copy_model(tmp_path, shard_bytes=data[:-40])
    with pytest.raises(ModelError, match=r"truncated") as err:
        load_tfjs(path)
    assert str(path) in str(err.value) and "79,640" in str(err.value) and "79,680" in str(err.value)


def test_oversized_shard(tmp_path: Path) -> None:
    data = (REF / "group1-shard1of1.bin").read_bytes()
    with pytest.raises(ModelError, match=r"79,684 bytes"):
        load_tfjs(copy_model(tmp_path, shard_bytes=data + b"\0\0\0\0"))


def test_missing_shard(tmp_path: Path) -> None:
    path = copy_model(tmp_path)
    (tmp_path / "group1-shard1of1.bin").unlink()
    with pytest.raises(ModelError, match=r"group1-shard1of1\.bin is missing"):
        load_tfjs(path)


def test_wrong_shape(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["weightsManifest"][0]["weights"][0]["shape"] = [5, 5, 3, 10]

    with pytest.raises(ModelError, match=r"not a TinyVGG model: weight conv_1_1/kernel has shape \[5, 5, 3, 10\]"):
        load_tfjs(copy_model(tmp_path, edit))


def test_unexpected_weight(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["weightsManifest"][0]["weights"][1]["name"] = "conv_1_1/gamma"

    with pytest.raises(ModelError, match=r"not a TinyVGG model: unexpected weight 'conv_1_1/gamma'"):
        load_tfjs(copy_model(tmp_path, edit))


def test_unexpected_layer(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        del doc["modelTopology"]["model_config"]["config"]["layers"][1]  # drop relu_1_1

    with pytest.raises(ModelError, match=r"not a TinyVGG model: layers are conv_1_1\(Conv2D\), conv_1_2"):
        load_tfjs(copy_model(tmp_path, edit))


def test_wrong_hyperparameter(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["modelTopology"]["model_config"]["config"]["layers"][0]["config"]["padding"] = "same"

    with pytest.raises(ModelError, match=r"layer conv_1_1 has padding='same'"):
        load_tfjs(copy_model(tmp_path, edit))


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": "layers-model", "modelTopology": ')
    with pytest.raises(ModelError, match=r"malformed JSON at line 1") as err:
        load_tfjs(path)
    assert str(path) in str(err.value)


def test_json_that_is_not_a_tfjs_model(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"classes": ["a", "b"]}')
    with pytest.raises(ModelError, match=r"not a TF\.js layers model"):
        load_tfjs(path)


def test_quantized_weights_refused(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["weightsManifest"][0]["weights"][0]["quantization"] = {"dtype": "uint8", "min": 0, "scale": 1}

    with pytest.raises(ModelError, match=r"only unquantized float32"):
        load_tfjs(copy_model(tmp_path, edit))
