"""TinyVGG's architecture as data, importable without torch (warm builds never import torch)."""

from __future__ import annotations

# Architecture as data: ("conv", filters) | ("relu",) | ("pool",). Names follow CNN Explainer.
ARCH: list[tuple[str, str]] = [
    ("conv_1_1", "conv"),
    ("relu_1_1", "relu"),
    ("conv_1_2", "conv"),
    ("relu_1_2", "relu"),
    ("max_pool_1", "pool"),
    ("conv_2_1", "conv"),
    ("relu_2_1", "relu"),
    ("conv_2_2", "conv"),
    ("relu_2_2", "relu"),
    ("max_pool_2", "pool"),
]
FILTERS = 10
INPUT_SIZE = 64
LAYER_NAMES: list[str] = [name for name, _ in ARCH]
CONV_LAYERS: list[str] = [name for name, kind in ARCH if kind == "conv"]
RELU_LAYERS: list[str] = [name for name, kind in ARCH if kind == "relu"]
POOL_LAYERS: list[str] = [name for name, kind in ARCH if kind == "pool"]
# Every stage whose neurons have a map or a value to show: the input channels, each layer, the logits.
ACTIVATION_LAYERS: list[str] = ["input", *LAYER_NAMES, "output"]
FLAT_FEATURES = FILTERS * 13 * 13  # 1690


def previous_stage(layer: str) -> str:
    """The stage a layer reads: "input" for the first layer, else the layer before it."""
    i = LAYER_NAMES.index(layer)
    return "input" if i == 0 else LAYER_NAMES[i - 1]


def layer_shapes() -> dict[str, tuple[int, int, int]]:
    """(channels, height, width) of every stage's output, computed from the architecture."""
    shapes = {"input": (3, INPUT_SIZE, INPUT_SIZE)}
    size = INPUT_SIZE
    for name, kind in ARCH:
        if kind == "conv":
            size -= 2
        elif kind == "pool":
            size //= 2
        shapes[name] = (FILTERS, size, size)
    return shapes


def param_counts(num_classes: int = 10) -> dict[str, int]:
    """Learnable parameters per layer (weights + biases), computed from the architecture."""
    counts: dict[str, int] = {}
    in_channels = 3
    for name, kind in ARCH:
        if kind == "conv":
            counts[name] = in_channels * FILTERS * 9 + FILTERS
            in_channels = FILTERS
        else:
            counts[name] = 0
    counts["output"] = FLAT_FEATURES * num_classes + num_classes
    return counts


def base_facts(classes: list[str], classes_zh: list[str]) -> dict:
    """Architecture facts that follow from the class count alone."""
    shapes = layer_shapes()
    params = param_counts(len(classes))
    layers: dict[str, dict] = {"input": {"shape": list(shapes["input"]), "params": 0, "in_channels": 0}}
    in_channels = 3
    for name in LAYER_NAMES:
        layers[name] = {"shape": list(shapes[name]), "params": params[name], "in_channels": in_channels}
        if name in CONV_LAYERS:
            in_channels = FILTERS
    layers["flatten"] = {"shape": [FLAT_FEATURES], "params": 0, "in_channels": FILTERS}
    layers["output"] = {"shape": [len(classes)], "params": params["output"], "in_channels": FLAT_FEATURES}
    return {"classes": classes, "classes_zh": classes_zh, "layers": layers, "param_count": sum(params.values())}
