"""Weights loading and prediction: reference images, JSON output, safetensors round trip, refusal of
pickles (without ever unpickling them) and of checkpoints of another architecture."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from safetensors.numpy import save_file  # noqa: E402

from generator.errors import ModelError  # noqa: E402
from generator.predict import format_json, format_text, predict  # noqa: E402
from generator.tfjs import REFERENCE_CLASSES  # noqa: E402
from generator.weights import expected_shapes, load_weights, to_module  # noqa: E402

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cnn-explainer"
needs_ref = pytest.mark.skipif(
    not (REF / "model.json").is_file(), reason=f"CNN Explainer reference model not found at {REF}"
)
# The eight images CNN Explainer's overview offers, and the class each shows.
OFFERED = {
    "espresso_1": "espresso",
    "panda_1": "red panda",
    "car_1": "sport car",
    "boat_1": "lifeboat",
    "koala_1": "koala",
    "pizza_1": "pizza",
    "pepper_1": "bell pepper",
    "bug_1": "ladybug",
}


def random_state(num_classes: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, shape in expected_shapes(num_classes).items()}


def write_checkpoint(folder: Path, state: dict[str, np.ndarray], classes: list[str]) -> Path:
    """What train.py writes: <folder>/model.safetensors + <folder>/meta.json."""
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "model.safetensors"))
    (folder / "meta.json").write_text(json.dumps({"classes": classes}))
    return folder


# --- prediction ---------------------------------------------------------------------------------


@needs_ref
def test_predict_reference_images() -> None:
    images = sorted((REF / "images").glob("*.jpeg"))
    results = predict(REF / "model.json", images)
    assert [r["path"] for r in results] == [str(p) for p in images]
    for result in results:
        assert set(result) == {"path", "class", "probabilities"}
        probs = result["probabilities"]
        assert list(probs) == list(REFERENCE_CLASSES)
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probs.values())
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-9)
        assert result["class"] == max(probs, key=probs.get)
    by_stem = {Path(r["path"]).stem: r["class"] for r in results}
    assert {stem: by_stem[stem] for stem in OFFERED} == OFFERED


def test_predict_empty_list(tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path / "ckpt", random_state(), [f"c{i}" for i in range(10)])
    assert predict(folder, []) == []


def test_format_json_round_trip() -> None:
    results = [{"path": "图片/瓢虫.png", "class": "瓢虫", "probabilities": {"瓢虫": 0.75, "pizza": 0.25}}]
    text = format_json(results)
    assert text.endswith("\n") and "瓢虫" in text  # readable, not \\u escapes
    assert json.loads(text) == results


@needs_ref
def test_format_json_of_real_predictions() -> None:
    results = predict(REF / "model.json", [REF / "images" / "bug_1.jpeg"])
    assert json.loads(format_json(results)) == results


def test_format_text() -> None:
    results = [{"path": "a.png", "class": "x", "probabilities": {"y": 0.2, "x": 0.7, "z": 0.1}}]
    assert format_text(results, top=2) == "a.png: x 70.0 %, y 20.0 %\n"


# --- safetensors checkpoints --------------------------------------------------------------------


@needs_ref
def test_safetensors_round_trip(tmp_path: Path) -> None:
    state, meta = load_weights(REF / "model.json")
    folder = write_checkpoint(tmp_path / "ckpt", state, meta["classes"])
    for source in (folder, folder / "model.safetensors"):
        loaded, loaded_meta = load_weights(source)
        assert loaded_meta["classes"] == meta["classes"]
        assert loaded.keys() == state.keys()
        for name in state:
            np.testing.assert_array_equal(loaded[name], state[name])
    images = [REF / "images" / "pizza_1.jpeg", REF / "images" / "koala_1.jpeg"]
    assert predict(folder, images) == predict(REF / "model.json", images)


def test_sibling_stem_json(tmp_path: Path) -> None:
    state = random_state(3)
    save_file(state, str(tmp_path / "shapes.safetensors"))
    (tmp_path / "shapes.json").write_text(json.dumps({"classes": ["circle", "square", "triangle"]}))
    loaded, meta = load_weights(tmp_path / "shapes.safetensors")
    assert meta["classes"] == ["circle", "square", "triangle"]
    model = to_module(loaded, 3)
    with torch.no_grad():
        assert tuple(model(torch.rand(1, 3, 64, 64)).shape) == (1, 3)


def test_missing_meta(tmp_path: Path) -> None:
    save_file(random_state(), str(tmp_path / "model.safetensors"))
    with pytest.raises(ModelError, match=r"no class names found; put model\.json or meta\.json beside it"):
        load_weights(tmp_path / "model.safetensors")
    with pytest.raises(ModelError, match=r"meta\.json is missing"):
        load_weights(tmp_path)


def test_meta_class_count_mismatch(tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path, random_state(10), ["a", "b"])
    with pytest.raises(ModelError, match=r"meta\.json: lists 2 classes but the checkpoint's output layer has 10"):
        load_weights(folder)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.update({"conv_1_1.weight": np.zeros((16, 3, 3, 3), np.float32)}),
            r"conv_1_1\.weight has shape \(16, 3, 3, 3\), TinyVGG needs \(10, 3, 3, 3\)",
        ),
        (lambda s: s.update({"fc.weight": np.zeros((4, 4), np.float32)}), r"unexpected fc\.weight"),
        (lambda s: s.pop("conv_2_2.bias"), r"missing conv_2_2\.bias"),
        (
            lambda s: s.update({"output.weight": np.zeros((10, 2560), np.float32)}),
            r"output\.weight has shape \(10, 2560\), TinyVGG needs \(10, 1690\)",
        ),
    ],
)
def test_wrong_architecture_refused(tmp_path: Path, edit, message: str) -> None:
    state = random_state()
    edit(state)
    folder = write_checkpoint(tmp_path, state, [f"c{i}" for i in range(10)])
    with pytest.raises(ModelError, match=r"model\.safetensors: checkpoint of another architecture: .*" + message):
        load_weights(folder)


def test_non_finite_weights_refused(tmp_path: Path) -> None:
    state = random_state()
    state["conv_1_2.bias"][3] = np.nan
    folder = write_checkpoint(tmp_path, state, [f"c{i}" for i in range(10)])
    with pytest.raises(ModelError, match=r"conv_1_2\.bias contains NaN"):
        load_weights(folder)


def test_corrupt_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ModelError, match=r"not a readable safetensors file"):
        load_weights(path)


def test_to_module_class_count_mismatch() -> None:
    with pytest.raises(ModelError, match=r"output layer has 10 units, but 4 classes"):
        to_module(random_state(10), 4)


# --- refusals -----------------------------------------------------------------------------------


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every way of unpickling record the call and fail, so a refusal can be checked to
    happen before anything is unpickled."""
    calls: list[str] = []

    def trap(name: str):
        def called(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} must never be called")

        return called

    monkeypatch.setattr(pickle, "load", trap("pickle.load"))
    monkeypatch.setattr(pickle, "loads", trap("pickle.loads"))
    monkeypatch.setattr(pickle, "Unpickler", trap("pickle.Unpickler"))
    monkeypatch.setattr(torch, "load", trap("torch.load"))
    monkeypatch.setattr(np, "load", trap("numpy.load"))
    return calls


def pickle_files(tmp_path: Path) -> list[Path]:
    """Real pickle and torch.save files, under honest and misleading names."""
    state = random_state()
    files = []
    for name in ("weights.pkl", "weights-renamed.safetensors", "weights-renamed.json"):
        with (tmp_path / name).open("wb") as fh:
            pickle.dump(state, fh)
        files.append(tmp_path / name)
    tensors = {k: torch.from_numpy(v) for k, v in state.items()}
    for name in ("model.pt", "model.pth", "torch-renamed.safetensors", "torch-renamed.json"):
        torch.save(tensors, tmp_path / name)
        files.append(tmp_path / name)
    (tmp_path / "old.ckpt").write_bytes(pickle.dumps(state, protocol=0))  # no magic: refused by name
    files.append(tmp_path / "old.ckpt")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    torch.save(tensors, folder / "model.safetensors")
    (folder / "meta.json").write_text(json.dumps({"classes": [f"c{i}" for i in range(10)]}))
    files.append(folder)
    return files


def test_pickles_refused_without_unpickling(tmp_path: Path, no_unpickling: list[str]) -> None:
    files = pickle_files(tmp_path)  # written before any trap fires: torch.save only pickles
    for path in files:
        with pytest.raises(ModelError) as err:
            load_weights(path)
        message = str(err.value)
        assert "refused" in message and "never unpickled" in message, message
        assert "safetensors" in message and "model.json" in message, message
        assert str(path) in message or str(path / "model.safetensors") in message, message
    assert no_unpickling == []


def test_predict_refuses_pickle(tmp_path: Path, no_unpickling: list[str]) -> None:
    torch.save({k: torch.from_numpy(v) for k, v in random_state().items()}, tmp_path / "model.pt")
    with pytest.raises(ModelError, match=r"never unpickled"):
        predict(tmp_path / "model.pt", [tmp_path / "whatever.png"])
    assert no_unpickling == []


def test_tfjs_shard_passed_instead_of_model_json(tmp_path: Path) -> None:
    shard = tmp_path / "group1-shard1of1.bin"
    shard.write_bytes(np.zeros(16, "<f4").tobytes())
    with pytest.raises(ModelError, match=r"pass model\.json, not its weight shard"):
        load_weights(shard)


def test_other_formats_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ModelError, match=r"unsupported weights file type '\.h5'\. Only safetensors"):
        load_weights(path)
    with pytest.raises(ModelError, match=r"missing\.safetensors: file not found"):
        load_weights(tmp_path / "missing.safetensors")
