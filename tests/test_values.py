"""Value shortcodes resolved from a realistic facts dict: every value, its formatting, both languages,
the errors for unknown names, parameters, classes and images, and the network table."""

from __future__ import annotations

import html

import pytest
from test_docs import stand_in_examples

from generator.arch import CONV_LAYERS, LAYER_NAMES, base_facts
from generator.errors import ShortcodeError
from generator.values import ALL_LAYERS, VALUES, class_name, network_table, resolve_value

CLASSES = [
    "lifeboat",
    "ladybug",
    "pizza",
    "bell pepper",
    "school bus",
    "koala",
    "espresso",
    "red panda",
    "orange",
    "sports car",
]
CLASSES_ZH = ["救生艇", "瓢虫", "披萨", "甜椒", "校车", "考拉", "浓缩咖啡", "小熊猫", "橙子", "跑车"]


def _probs(top: int, p: float) -> list[float]:
    rest = (1.0 - p) / 9
    return [p if i == top else rest for i in range(10)]


@pytest.fixture
def facts() -> dict:
    """What the probe and render stages write to facts.json, with made-up but consistent numbers."""
    f = base_facts(CLASSES, CLASSES_ZH)
    f.update(
        {
            "dataset": "tiny-imagenet-10",
            "profile": "full",
            "featured": "ladybug",
            "metrics": {
                "test_acc": 0.934,
                "val_acc": 0.8767,
                "epochs": 23,
                "best_epoch": 17,
                "train_images": 5400,
                "val_images": 600,
                "test_images": 1000,
                "train_seconds": 81.2,
            },
            "biases": {
                layer: [round(0.01 * (i + 1) * (j + 1), 4) for j in range(10)]
                for i, layer in enumerate([*CONV_LAYERS, "output"])
            },
            "samples": [
                {
                    "slug": "lifeboat",
                    "source": "test:val_12",
                    "label": 0,
                    "predicted": 0,
                    "logits": [4.5678, *[-1.0] * 9],
                    "probs": _probs(0, 0.9),
                },
                {
                    "slug": "ladybug",
                    "source": "test:val_40",
                    "label": 1,
                    "predicted": 1,
                    "logits": [0.25, 6.127, *[-0.5] * 8],
                    "probs": _probs(1, 0.975),
                },
                {
                    "slug": "my-cat",
                    "source": "/photos/my-cat.jpg",
                    "label": None,
                    "predicted": 5,
                    "logits": [-2.0] * 5 + [3.456] + [-2.0] * 4,
                    "probs": _probs(5, 0.5),
                },
            ],
            "reference": None,
        }
    )
    return f


def v(facts: dict, name: str, lang: str = "en", **params: str) -> str:
    """The value as the reader sees it (resolve_value returns Markdown with data escaped)."""
    return html.unescape(resolve_value(name, params, facts, lang))


def test_values_from_data_are_escaped_for_markdown(facts: dict) -> None:
    facts["classes"] = ["<img src=x onerror=alert(1)>", "[a](javascript:x)", *facts["classes"][2:]]
    raw = resolve_value("class-names", {}, facts, "en")
    assert "<" not in raw and "[" not in raw and "(" not in raw
    assert html.unescape(raw).startswith("<img src=x onerror=alert(1)>, [a](javascript:x), ")


# Parameters that make every value resolvable, for the exhaustive check.
EXAMPLE_PARAMS = {
    "layer-params": {"layer": "conv_1_1"},
    "layer-shape": {"layer": "conv_1_1"},
    "kernel-count": {"layer": "conv_1_2"},
    "bias": {"layer": "conv_1_1", "neuron": "0"},
    "example-layer": {"kind": "relu"},
    "example-neuron": {"kind": "pool"},
    "detail-row": {"layer": "conv_1_1"},
    "detail-col": {"layer": "conv_2_2", "neuron": "9"},
}


def test_every_value_resolves(facts: dict) -> None:
    facts["reference"] = {"name": "CNN Explainer", "test_acc": 0.71}
    for i, sample in enumerate(facts["samples"]):
        sample["examples"] = stand_in_examples(i)
    for name in VALUES:
        for lang in ("zh", "en"):
            text = resolve_value(name, EXAMPLE_PARAMS.get(name, {}), facts, lang)
            assert isinstance(text, str) and text.strip(), name


def test_metrics(facts: dict) -> None:
    assert v(facts, "test-accuracy") == "93.4 %"
    assert v(facts, "val-accuracy") == "87.7 %"
    assert v(facts, "epochs") == "23"
    assert v(facts, "best-epoch") == "17"
    assert v(facts, "dataset") == "ten Tiny ImageNet classes (tiny-imagenet-10)"
    assert v(facts, "dataset", lang="zh").startswith("Tiny ImageNet 的 10 个类别")
    assert v(facts, "num-classes") == "10"
    assert v(facts, "train-images") == "5,400"
    assert v(facts, "val-images") == "600"
    assert v(facts, "test-images") == "1,000"
    assert v(facts, "sample-count") == "3"


def test_reference_accuracy(facts: dict) -> None:
    with pytest.raises(ShortcodeError, match="reference_weights"):
        v(facts, "reference-accuracy")
    facts["reference"] = {"name": "CNN Explainer", "test_acc": 0.7137}
    assert v(facts, "reference-accuracy") == "71.4 %"


def test_architecture_numbers(facts: dict) -> None:
    assert v(facts, "param-count") == "19,920"
    assert v(facts, "layer-params", layer="conv_1_1") == "280"
    assert v(facts, "layer-params", layer="conv_2_2") == "910"
    assert v(facts, "layer-params", layer="relu_1_1") == "0"
    assert v(facts, "layer-params", layer="output") == "16,910"
    assert v(facts, "layer-shape", layer="input") == "64 × 64 × 3"
    assert v(facts, "layer-shape", layer="conv_1_1") == "62 × 62 × 10"
    assert v(facts, "layer-shape", layer="max_pool_1") == "30 × 30 × 10"
    assert v(facts, "layer-shape", layer="max_pool_2") == "13 × 13 × 10"
    assert v(facts, "layer-shape", layer="flatten") == "1,690"
    assert v(facts, "layer-shape", layer="output") == "10"
    assert v(facts, "kernel-count", layer="conv_1_1") == "30"
    for layer in CONV_LAYERS[1:]:
        assert v(facts, "kernel-count", layer=layer) == "100"
    assert v(facts, "kernel-size") == "3 × 3"
    assert v(facts, "filters") == "10"
    assert v(facts, "flatten-size") == "1,690"
    assert v(facts, "pool-dropped") == "75 %"


def test_param_count_follows_class_count() -> None:
    f = base_facts(["a", "b"], ["甲", "乙"])
    assert resolve_value("param-count", {}, f, "en") == f"{280 + 910 * 3 + 1690 * 2 + 2:,}"
    assert resolve_value("layer-shape", {"layer": "output"}, f, "en") == "2"
    assert resolve_value("num-classes", {}, f, "zh") == "2"


def test_class_names_by_language(facts: dict) -> None:
    assert v(facts, "class-names", "en") == ", ".join(CLASSES)
    assert v(facts, "class-names", "zh") == "、".join(CLASSES_ZH)
    assert class_name(facts, 3, "zh") == "甜椒"
    assert class_name(facts, 3, "en") == "bell pepper"
    facts["classes_zh"] = []  # no translations: fall back to the dataset's names
    assert v(facts, "class-names", "zh") == "、".join(CLASSES)


def test_image_values(facts: dict) -> None:
    # Default image = the featured one.
    assert v(facts, "image-class") == "ladybug"
    assert v(facts, "image-class", "zh") == "瓢虫"
    assert v(facts, "image-class", image="featured") == "ladybug"
    assert v(facts, "image-class", "zh", image="lifeboat") == "救生艇"
    assert v(facts, "image-class", image="my-cat") == "my-cat"  # no label: the image's name
    assert v(facts, "predicted-class", image="my-cat") == "koala"
    assert v(facts, "predicted-class", "zh", image="my-cat") == "考拉"
    assert v(facts, "predicted-class") == "ladybug"


def test_probability_and_logit(facts: dict) -> None:
    assert v(facts, "probability") == "97.5 %"  # featured image, predicted class
    assert v(facts, "probability", image="lifeboat") == "90.0 %"
    assert v(facts, "probability", image="my-cat", **{"class": "koala"}) == "50.0 %"
    assert v(facts, "probability", image="my-cat", **{"class": "5"}) == "50.0 %"
    assert v(facts, "probability", image="ladybug", **{"class": "lifeboat"}) == f"{100 * 0.025 / 9:.1f} %"
    assert v(facts, "logit") == "6.13"
    assert v(facts, "logit", image="lifeboat") == "4.57"
    assert v(facts, "logit", image="ladybug", **{"class": "0"}) == "0.25"
    assert v(facts, "logit", image="my-cat", **{"class": "red panda"}) == "-2.00"


def test_bias(facts: dict) -> None:
    assert v(facts, "bias", layer="conv_1_1", neuron="0") == "0.010"
    assert v(facts, "bias", layer="conv_1_2", neuron="4") == "0.100"
    assert v(facts, "bias", layer="output", neuron="9") == "0.500"
    assert v(facts, "bias", layer="conv_2_1") == "0.030"  # neuron defaults to 0


@pytest.mark.parametrize(
    ("name", "params", "needles"),
    [
        ("accuracy", {}, ["unknown value", "'accuracy'", "test-accuracy"]),
        ("test-accuracy", {"layer": "conv_1_1"}, ["'test-accuracy'", "unknown parameter layer", "takes none"]),
        ("layer-shape", {"layer": "conv_1_1", "neuron": "2"}, ["unknown parameter neuron", "it takes layer"]),
        ("probability", {"image": "ladybug", "colour": "red", "size": "2"}, ["unknown parameter colour, size"]),
        ("layer-shape", {}, ["needs layer=", "None"]),
        ("layer-shape", {"layer": "conv_9"}, ["needs layer=", "'conv_9'", "max_pool_2"]),
        ("kernel-count", {"layer": "relu_1_1"}, ["'relu_1_1'", "conv_1_1, conv_1_2, conv_2_1, conv_2_2"]),
        ("bias", {"layer": "max_pool_1"}, ["'max_pool_1'", "output"]),
        ("bias", {"layer": "conv_1_1", "neuron": "10"}, ["neuron 10 out of range for conv_1_1", "0 to 9"]),
        ("bias", {"layer": "conv_1_1", "neuron": "-1"}, ["neuron -1 out of range"]),
        ("bias", {"layer": "output", "neuron": "two"}, ["neuron must be an integer", "'two'"]),
        ("probability", {"class": "giraffe"}, ["unknown class", "'giraffe'", "ladybug"]),
        ("probability", {"class": "10"}, ["unknown class", "'10'"]),
        ("logit", {"class": "Ladybug"}, ["unknown class", "'Ladybug'"]),
        ("image-class", {"image": "dog"}, ["unknown image", "'dog'", "featured, lifeboat, ladybug, my-cat"]),
        ("predicted-class", {"image": "Ladybug"}, ["unknown image"]),
    ],
)
def test_errors_name_the_bad_thing(facts: dict, name: str, params: dict, needles: list[str]) -> None:
    with pytest.raises(ShortcodeError) as info:
        resolve_value(name, params, facts, "en")
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


def test_network_table(facts: dict) -> None:
    for lang, head, total in (
        ("en", "| Layer | Output shape | Parameters |", "Total"),
        ("zh", "| 层 | 输出形状 | 参数 |", "合计"),
    ):
        lines = network_table(facts, lang).split("\n")
        assert lines[0] == head
        assert lines[1] == "|---|---|--:|"
        rows = lines[2:-1]
        assert [r.split("|")[1].strip().strip("`") for r in rows] == ALL_LAYERS
        assert ["input", *LAYER_NAMES, "flatten", "output"] == ALL_LAYERS
        assert lines[-1] == f"| **{total}** | | **19,920** |"
        by_layer = {r.split("|")[1].strip().strip("`"): [c.strip() for c in r.split("|")[2:4]] for r in rows}
        assert by_layer["input"] == ["64 × 64 × 3", "0"]
        assert by_layer["conv_1_1"] == ["62 × 62 × 10", "280"]
        assert by_layer["max_pool_2"] == ["13 × 13 × 10", "0"]
        assert by_layer["flatten"] == ["1,690", "0"]
        assert by_layer["output"] == ["10", "16,910"]
        assert sum(int(p.replace(",", "")) for _, p in by_layer.values()) == 19920
        assert all(line.startswith("|") and line.endswith("|") for line in lines)


def _examples() -> dict:
    """A sample's `examples` with round numbers (the shape generator/examples.py records)."""
    relu = {
        layer: {"neuron": 3, "positive": [0.125 * (j % 8) for j in range(10)], "zeroed": [0.5] * 10}
        for layer in ("relu_1_1", "relu_1_2", "relu_2_1", "relu_2_2")
    }
    pool = {
        layer: {"neuron": 7, "nonzero": list(range(10, 20)), "steps": [24] * 10}
        for layer in ("max_pool_1", "max_pool_2")
    }
    detail = {layer: [{"row": 40 + j, "col": j} for j in range(10)] for layer in CONV_LAYERS}
    return {
        "relu": {"layer": "relu_1_2", "neuron": 3, "layers": relu},
        "pool": {"layer": "max_pool_1", "neuron": 7, "layers": pool},
        "conv-detail": {"layers": detail},
    }


def test_example_values_quote_the_recorded_choice(facts: dict) -> None:
    facts["samples"][1]["examples"] = _examples()  # ladybug, the featured image
    assert v(facts, "example-layer", kind="relu") == "relu_1_2"
    assert v(facts, "example-layer", kind="pool") == "max_pool_1"
    assert v(facts, "example-neuron", kind="relu") == "3"
    assert v(facts, "example-neuron", kind="pool", layer="max_pool_2") == "7"
    assert v(facts, "relu-positive") == "37.5 %"  # relu_1_2 (the example layer), neuron 3
    assert v(facts, "relu-positive", layer="relu_1_1", neuron="4") == "50.0 %"
    assert v(facts, "relu-zeroed") == "50.0 %"
    assert v(facts, "pool-nonzero", layer="max_pool_1") == "17"
    assert v(facts, "pool-nonzero", layer="max_pool_1", neuron="0") == "10"
    assert v(facts, "pool-steps") == "24"
    assert v(facts, "detail-row", layer="conv_1_1") == "40"
    assert v(facts, "detail-col", layer="conv_2_1", neuron="5") == "5"
    for name, params, message in [
        ("example-layer", {}, "kind="),
        ("example-neuron", {"kind": "conv-detail"}, "kind="),
        ("relu-positive", {"layer": "conv_1_1"}, "layer="),
        ("relu-positive", {"neuron": "10"}, "neuron"),
        ("pool-steps", {"layer": "relu_1_1"}, "layer="),
        ("detail-row", {}, "layer="),
    ]:
        with pytest.raises(ShortcodeError, match=message):
            resolve_value(name, params, facts, "en")
    with pytest.raises(ShortcodeError, match="no chosen relu example"):
        resolve_value("relu-positive", {"image": "lifeboat"}, facts, "en")
