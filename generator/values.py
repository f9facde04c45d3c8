"""Value shortcodes: numbers quoted in the text, computed from the build's facts (facts.json).

Pure and torch-free, so a warm rebuild resolves every value without touching the model.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.arch import CONV_LAYERS, FILTERS, LAYER_NAMES, POOL_LAYERS, RELU_LAYERS
from generator.errors import ShortcodeError
from generator.markup import md_text
from generator.records import Facts, Sample

ALL_LAYERS = ["input", *LAYER_NAMES, "flatten", "output"]
# The layers each value with a `layer=` key accepts (the shortcode reference lists them from here).
LAYER_CHOICES: dict[str, list[str]] = {
    "layer-params": ALL_LAYERS,
    "layer-shape": ALL_LAYERS,
    "kernel-count": CONV_LAYERS,
    "bias": [*CONV_LAYERS, "output"],
    "detail-row": CONV_LAYERS,
    "detail-col": CONV_LAYERS,
    "example-neuron": ["auto", *RELU_LAYERS, *POOL_LAYERS],
    "relu-positive": ["auto", *RELU_LAYERS],
    "relu-zeroed": ["auto", *RELU_LAYERS],
    "pool-steps": ["auto", *POOL_LAYERS],
    "pool-nonzero": ["auto", *POOL_LAYERS],
}


def _int(n: int) -> str:
    return f"{n:,}"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def _shape(shape: list[int]) -> str:
    if len(shape) == 1:
        return _int(shape[0])
    c, h, w = shape
    return f"{h} × {w} × {c}"


def _layer(params: dict, facts: Facts, allowed: list[str]) -> str:
    layer = params.get("layer")
    if layer not in allowed:
        raise ShortcodeError(f"needs layer= one of {', '.join(allowed)} (got {layer!r})")
    return layer


def _sample(params: dict, facts: Facts) -> Sample:
    slug = params.get("image", "featured")
    if slug == "featured":
        slug = facts["featured"]
    for s in facts["samples"]:
        if s["slug"] == slug:
            return s
    raise ShortcodeError(
        f"unknown image {slug!r}; sample images: featured, " + ", ".join(s["slug"] for s in facts["samples"])
    )


def _class_index(params: dict, facts: Facts, sample: Sample) -> int:
    cls = params.get("class")
    if cls is None:
        return sample["predicted"]
    names = facts["classes"]
    if cls.isdigit() and int(cls) < len(names):
        return int(cls)
    if cls in names:
        return names.index(cls)
    raise ShortcodeError(f"unknown class {cls!r}; classes: {', '.join(names)} (or an index)")


def class_name(facts: Facts, index: int, lang: str) -> str:
    if lang == "zh" and facts.get("classes_zh"):
        return facts["classes_zh"][index]
    return facts["classes"][index]


DATASET_NAMES = {
    "shapes": {"zh": "程序生成的图形数据集（shapes）", "en": "the procedurally generated shapes dataset"},
    "tiny-imagenet-10": {
        "zh": "Tiny ImageNet 的 10 个类别（tiny-imagenet-10）",
        "en": "ten Tiny ImageNet classes (tiny-imagenet-10)",
    },
    "folder": {"zh": "你自己的图片文件夹", "en": "your own image folder"},
}


def _dataset(facts: Facts, lang: str) -> str:
    return DATASET_NAMES.get(facts["dataset"], {}).get(lang, facts["dataset"])


def _pool_dropped(facts: Facts) -> str:
    before = facts["layers"][LAYER_NAMES[LAYER_NAMES.index(POOL_LAYERS[0]) - 1]]["shape"]
    after = facts["layers"][POOL_LAYERS[0]]["shape"]
    kept = (after[1] * after[2]) / (before[1] * before[2])
    return _pct(1 - kept, 0)


def _reference(facts: Facts) -> str:
    ref = facts.get("reference")
    if not ref:
        raise ShortcodeError("reference-accuracy needs the full profile with reference_weights set")
    return _pct(ref["test_acc"])


def _examples(params: dict, facts: Facts, kind: str) -> dict:
    """The chosen examples of `kind` (facts `examples`, see generator/examples.py) for image=."""
    sample = _sample(params, facts)
    chosen = sample.get("examples", {}).get(kind)
    if chosen is None:
        raise ShortcodeError(f"image {sample['slug']!r} has no chosen {kind} example; rebuild to re-probe it")
    return chosen


def _example_kind(params: dict) -> str:
    kind = params.get("kind")
    if kind not in EXAMPLE_KINDS:
        raise ShortcodeError(f"needs kind= one of {', '.join(EXAMPLE_KINDS)} (got {kind!r})")
    return kind


def _example_layer(params: dict, facts: Facts, kind: str) -> tuple[dict, str]:
    """(that layer's recorded choice and statistics, the layer): layer= auto (default) is the example's."""
    chosen = _examples(params, facts, kind)
    layer = params.get("layer", "auto")
    layer = chosen["layer"] if layer == "auto" else layer
    if layer not in chosen["layers"]:
        raise ShortcodeError(f"needs layer= auto or one of {', '.join(chosen['layers'])} (got {layer!r})")
    return chosen["layers"][layer], layer


def _example_neuron(params: dict, info: dict) -> int:
    """neuron= auto (default): the example's; else a number."""
    neuron = params.get("neuron", "auto")
    if neuron == "auto":
        return int(info["neuron"])
    if not neuron.isdigit() or int(neuron) >= FILTERS:
        raise ShortcodeError(f"neuron must be auto or 0 to {FILTERS - 1} (got {neuron!r})")
    return int(neuron)


def _relu_share(params: dict, facts: Facts, key: str) -> str:
    info, _ = _example_layer(params, facts, "relu")
    return _pct(info[key][_example_neuron(params, info)])


def _pool_count(params: dict, facts: Facts, key: str) -> str:
    info, _ = _example_layer(params, facts, "pool")
    return str(info[key][_example_neuron(params, info)])


def _detail(params: dict, facts: Facts, key: str) -> str:
    layer = _layer(params, facts, CONV_LAYERS)
    rows = _examples(params, facts, "conv-detail")["layers"][layer]
    return str(rows[_neuron(params, layer, len(rows))][key])


def _neuron(params: dict, layer: str, count: int) -> int:
    """The `neuron=` parameter (0 when absent), checked against the layer's `count` neurons."""
    try:
        n = int(params.get("neuron", "0"))
    except ValueError as exc:
        raise ShortcodeError(f"neuron must be an integer (got {params.get('neuron')!r})") from exc
    if not 0 <= n < count:
        raise ShortcodeError(f"neuron {n} out of range for {layer} (0 to {count - 1})")
    return n


Resolver = Callable[[dict, Facts, str], str]
VALUES: dict[str, tuple[tuple[str, ...], Resolver]] = {
    # name: (accepted keys, resolver(params, facts, lang))
    "test-accuracy": ((), lambda p, f, lang: _pct(f["metrics"]["test_acc"])),
    "val-accuracy": ((), lambda p, f, lang: _pct(f["metrics"]["val_acc"])),
    "reference-accuracy": ((), lambda p, f, lang: _reference(f)),
    "epochs": ((), lambda p, f, lang: str(f["metrics"]["epochs"])),
    "best-epoch": ((), lambda p, f, lang: str(f["metrics"]["best_epoch"])),
    "dataset": ((), lambda p, f, lang: _dataset(f, lang)),
    "num-classes": ((), lambda p, f, lang: str(len(f["classes"]))),
    "train-images": ((), lambda p, f, lang: _int(f["metrics"]["train_images"])),
    "val-images": ((), lambda p, f, lang: _int(f["metrics"]["val_images"])),
    "test-images": ((), lambda p, f, lang: _int(f["metrics"]["test_images"])),
    "class-names": (
        (),
        lambda p, f, lang: ("、" if lang == "zh" else ", ").join(
            class_name(f, i, lang) for i in range(len(f["classes"]))
        ),
    ),
    "param-count": ((), lambda p, f, lang: _int(f["param_count"])),
    "layer-params": (
        ("layer",),
        lambda p, f, lang: _int(f["layers"][_layer(p, f, LAYER_CHOICES["layer-params"])]["params"]),
    ),
    "layer-shape": (
        ("layer",),
        lambda p, f, lang: _shape(f["layers"][_layer(p, f, LAYER_CHOICES["layer-shape"])]["shape"]),
    ),
    "kernel-count": (
        ("layer",),
        lambda p, f, lang: _int(f["layers"][_layer(p, f, LAYER_CHOICES["kernel-count"])]["in_channels"] * FILTERS),
    ),
    "kernel-size": ((), lambda p, f, lang: "3 × 3"),
    "filters": ((), lambda p, f, lang: str(FILTERS)),
    "flatten-size": ((), lambda p, f, lang: _int(f["layers"]["flatten"]["shape"][0])),
    "pool-dropped": ((), lambda p, f, lang: _pool_dropped(f)),
    "sample-count": ((), lambda p, f, lang: str(len(f["samples"]))),
    "image-class": (
        ("image",),
        lambda p, f, lang: class_name(f, s["label"], lang) if (s := _sample(p, f))["label"] is not None else s["slug"],
    ),
    "predicted-class": (("image",), lambda p, f, lang: class_name(f, _sample(p, f)["predicted"], lang)),
    "probability": (("image", "class"), lambda p, f, lang: _pct((s := _sample(p, f))["probs"][_class_index(p, f, s)])),
    "logit": (("image", "class"), lambda p, f, lang: f"{(s := _sample(p, f))['logits'][_class_index(p, f, s)]:.2f}"),
    "bias": (("layer", "neuron"), lambda p, f, lang: _bias(p, f)),
    # The examples chosen from the data (generator/examples.py), and what they show.
    "example-layer": (("kind", "image"), lambda p, f, lang: _examples(p, f, _example_kind(p))["layer"]),
    "example-neuron": (
        ("kind", "layer", "image"),
        lambda p, f, lang: str(_example_layer(p, f, _example_kind(p))[0]["neuron"]),
    ),
    "relu-positive": (("layer", "neuron", "image"), lambda p, f, lang: _relu_share(p, f, "positive")),
    "relu-zeroed": (("layer", "neuron", "image"), lambda p, f, lang: _relu_share(p, f, "zeroed")),
    "pool-steps": (("layer", "neuron", "image"), lambda p, f, lang: _pool_count(p, f, "steps")),
    "pool-nonzero": (("layer", "neuron", "image"), lambda p, f, lang: _pool_count(p, f, "nonzero")),
    "detail-row": (("layer", "neuron", "image"), lambda p, f, lang: _detail(p, f, "row")),
    "detail-col": (("layer", "neuron", "image"), lambda p, f, lang: _detail(p, f, "col")),
}
EXAMPLE_KINDS = ("relu", "pool")  # the figure kinds whose example `neuron=auto` picks
# The values whose layer= and neuron= default to auto, the example's (the reference says so).
EXAMPLE_VALUES = ("example-neuron", "relu-positive", "relu-zeroed", "pool-steps", "pool-nonzero")


def _bias(params: dict, facts: Facts) -> str:
    layer = _layer(params, facts, LAYER_CHOICES["bias"])
    biases = facts["biases"][layer]
    return f"{biases[_neuron(params, layer, len(biases))]:.3f}"


def resolve_value(name: str, params: dict[str, str], facts: Facts, lang: str) -> str:
    """The text for `{{ value NAME key=value ... }}`, escaped for Markdown (class names come from data);
    ShortcodeError for anything unknown."""
    if name not in VALUES:
        raise ShortcodeError(f"unknown value {name!r}; known values: {', '.join(VALUES)}")
    keys, resolver = VALUES[name]
    extra = set(params) - set(keys)
    if extra:
        raise ShortcodeError(
            f"value {name!r}: unknown parameter {', '.join(sorted(extra))}"
            + (f"; it takes {', '.join(keys)}" if keys else "; it takes none")
        )
    return md_text(resolver(params, facts, lang))


def network_table(facts: Facts, lang: str) -> str:
    """Markdown table of the architecture: layer, output shape, parameters."""
    head = "| 层 | 输出形状 | 参数 |" if lang == "zh" else "| Layer | Output shape | Parameters |"
    rows = [head, "|---|---|--:|"]
    for layer in ALL_LAYERS:
        info = facts["layers"][layer]
        rows.append(f"| `{layer}` | {_shape(info['shape'])} | {_int(info['params'])} |")
    total = "合计" if lang == "zh" else "Total"
    rows.append(f"| **{total}** | | **{_int(facts['param_count'])}** |")
    return "\n".join(rows)
