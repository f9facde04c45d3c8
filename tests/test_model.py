"""TinyVGG's structure: stage shapes, parameter counts and CNN Explainer's layer names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from generator.arch import LAYER_NAMES, layer_shapes, param_counts  # noqa: E402
from generator.model import TinyVGG, count_parameters  # noqa: E402

REF_MODEL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cnn-explainer" / "model.json"

# Written out by hand from the CNN Explainer paper (64 -> 62 -> 60 -> 30 -> 28 -> 26 -> 13).
EXPECTED_SHAPES = {
    "conv_1_1": (10, 62, 62),
    "relu_1_1": (10, 62, 62),
    "conv_1_2": (10, 60, 60),
    "relu_1_2": (10, 60, 60),
    "max_pool_1": (10, 30, 30),
    "conv_2_1": (10, 28, 28),
    "relu_2_1": (10, 28, 28),
    "conv_2_2": (10, 26, 26),
    "relu_2_2": (10, 26, 26),
    "max_pool_2": (10, 13, 13),
}


def test_stage_shapes() -> None:
    model = TinyVGG().eval()
    x = torch.rand(2, 3, 64, 64)
    seen = {}
    with torch.no_grad():
        for name in LAYER_NAMES:
            x = getattr(model, name)(x)
            seen[name] = tuple(x.shape[1:])
        flat = model.flatten(x)
        out = model.output(flat)
    assert seen == EXPECTED_SHAPES
    assert {k: v for k, v in layer_shapes().items() if k != "input"} == EXPECTED_SHAPES
    assert layer_shapes()["input"] == (3, 64, 64)
    assert tuple(flat.shape) == (2, 1690) and tuple(out.shape) == (2, 10)


def test_flatten_is_channel_major() -> None:
    model = TinyVGG()
    x = torch.arange(1690.0).reshape(1, 10, 13, 13)
    flat = model.flatten(x)[0]
    assert flat[2 * 169 + 4 * 13 + 7] == x[0, 2, 4, 7]


def test_parameter_count() -> None:
    model = TinyVGG()
    assert count_parameters(model) == 19_920
    assert sum(param_counts(10).values()) == 19_920
    per_layer = {name: sum(p.numel() for p in getattr(model, name).parameters()) for name in [*LAYER_NAMES, "output"]}
    assert per_layer == param_counts(10)
    assert per_layer["conv_1_1"] == 280 and per_layer["conv_1_2"] == 910 and per_layer["output"] == 16_910


@pytest.mark.parametrize("num_classes", [2, 3, 200])
def test_output_sized_to_num_classes(num_classes: int) -> None:
    model = TinyVGG(num_classes).eval()
    with torch.no_grad():
        out = model(torch.rand(4, 3, 64, 64))
    assert tuple(out.shape) == (4, num_classes)
    assert count_parameters(model) == 3_010 + 1690 * num_classes + num_classes
    assert count_parameters(model) == sum(param_counts(num_classes).values())


def test_layer_names() -> None:
    model = TinyVGG()
    children = [name for name, _ in model.named_children()]
    assert children == [
        "conv_1_1",
        "relu_1_1",
        "conv_1_2",
        "relu_1_2",
        "max_pool_1",
        "conv_2_1",
        "relu_2_1",
        "conv_2_2",
        "relu_2_2",
        "max_pool_2",
        "flatten",
        "output",
    ]
    assert list(model.state_dict()) == [
        f"{layer}.{p}"
        for layer in ("conv_1_1", "conv_1_2", "conv_2_1", "conv_2_2", "output")
        for p in ("weight", "bias")
    ]


@pytest.mark.skipif(not REF_MODEL.is_file(), reason=f"CNN Explainer reference model not found at {REF_MODEL}")
def test_layer_names_match_cnn_explainer() -> None:
    doc = json.loads(REF_MODEL.read_text())
    names = [layer["config"]["name"] for layer in doc["modelTopology"]["model_config"]["config"]["layers"]]
    assert names == [name for name, _ in TinyVGG().named_children()]
