"""Read CNN Explainer's trained Tiny VGG (a TF.js layers model) into our PyTorch layout.

A TF.js layers model is `model.json` (Keras topology + a weights manifest) plus binary shards: the
manifest lists every weight's name, shape and dtype; the shards of a group, concatenated in order,
hold those weights back to back as little-endian float32. Keras stores channels-last tensors, so two
things change on the way to PyTorch: conv kernels HWIO -> OIHW, and the dense kernel's rows follow
Keras' (h, w, c) flatten order while our model flattens (c, h, w).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from generator.arch import ARCH, CONV_LAYERS, FILTERS, FLAT_FEATURES
from generator.errors import ModelError

# The order of CNN Explainer's output units (its class list), i.e. the dense layer's columns.
REFERENCE_CLASSES: tuple[str, ...] = (
    "lifeboat", "ladybug", "pizza", "bell pepper", "school bus",
    "koala", "espresso", "red panda", "orange", "sport car",
)
POOLED = 13  # max_pool_2's output is 13 x 13 x FILTERS
_NOT_TINYVGG = "not a TinyVGG model"


def keras_shapes(num_classes: int = len(REFERENCE_CLASSES)) -> dict[str, tuple[int, ...]]:
    """The weight names and Keras (channels-last) shapes a TinyVGG layers model must have."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_channels = 3
    for name in CONV_LAYERS:
        shapes[f"{name}/kernel"] = (3, 3, in_channels, FILTERS)  # HWIO
        shapes[f"{name}/bias"] = (FILTERS,)
        in_channels = FILTERS
    shapes["output/kernel"] = (FLAT_FEATURES, num_classes)
    shapes["output/bias"] = (num_classes,)
    return shapes


def _read_json(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the TF.js model file ({exc})") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                         "expected a TF.js layers model (model.json)") from exc
    if not isinstance(doc, dict) or "weightsManifest" not in doc or "modelTopology" not in doc:
        raise ModelError(f"{path}: not a TF.js layers model (no 'modelTopology' and 'weightsManifest'); "
                         "pass the model.json written by the TensorFlow.js converter")
    return doc


def _check_topology(path: Path, doc: dict) -> None:
    """The Keras layer list must be TinyVGG's: same layers, same order, same hyperparameters.

    Weight shapes alone would not catch e.g. a ReLU missing or a conv with a stride of 2 whose
    output happens to keep the dense layer's size, so the configuration is checked too."""
    try:
        topology = doc["modelTopology"]
        config = topology.get("model_config", topology)["config"]
        layers = config["layers"] if isinstance(config, dict) else config
        got = [(layer["class_name"], layer["config"]) for layer in layers]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: {_NOT_TINYVGG}: cannot read the layer list ({exc!r} missing)") from exc
    expected: list[tuple[str, str]] = []
    for name, kind in ARCH:
        expected.append(({"conv": "Conv2D", "relu": "Activation", "pool": "MaxPooling2D"}[kind], name))
    expected += [("Flatten", "flatten"), ("Dense", "output")]
    names = [(cls, cfg.get("name") if isinstance(cfg, dict) else None) for cls, cfg in got]
    if names != expected:
        raise ModelError(f"{path}: {_NOT_TINYVGG}: layers are {_fmt_layers(names)}, "
                         f"expected {_fmt_layers(expected)}")
    wanted = {
        "Conv2D": {"kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                   "activation": "linear", "use_bias": True, "data_format": "channels_last",
                   "dilation_rate": [1, 1], "filters": FILTERS},
        "Activation": {"activation": "relu"},
        "MaxPooling2D": {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid",
                         "data_format": "channels_last"},
        "Flatten": {"data_format": "channels_last"},
        # Softmax is applied outside our module, so a dense layer exported with logits fits too.
        "Dense": {"activation": ("softmax", "linear"), "use_bias": True},
    }
    for cls, cfg in got:
        for key, value in wanted[cls].items():
            allowed = value if isinstance(value, tuple) else (value,)
            if key in cfg and cfg[key] not in allowed:  # a missing key is the Keras default, which fits
                raise ModelError(f"{path}: {_NOT_TINYVGG}: layer {cfg['name']} has {key}={cfg[key]!r}, "
                                 f"TinyVGG needs {' or '.join(map(repr, allowed))}")


def _fmt_layers(layers: list[tuple[str, str | None]]) -> str:
    return ", ".join(f"{name}({cls})" for cls, name in layers)


def read_keras_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Every weight of a TinyVGG TF.js layers model, by Keras name, in Keras layout (float32).

    Raises ModelError naming the file for a missing or wrongly sized shard, malformed JSON, or a
    model that is not TinyVGG."""
    path = Path(path)
    doc = _read_json(path)
    _check_topology(path, doc)
    shapes = keras_shapes(len(model_classes(path, doc)))
    arrays: dict[str, np.ndarray] = {}
    manifest = doc["weightsManifest"]
    if not isinstance(manifest, list):
        raise ModelError(f"{path}: 'weightsManifest' must be a list of weight groups")
    for group in manifest:
        try:
            shard_names = list(group["paths"])
            entries = list(group["weights"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"{path}: a weightsManifest group lacks 'paths' or 'weights'") from exc
        specs = []
        for entry in entries:
            name, shape, dtype = entry.get("name"), entry.get("shape"), entry.get("dtype", "float32")
            if name not in shapes:
                raise ModelError(f"{path}: {_NOT_TINYVGG}: unexpected weight {name!r}; "
                                 f"expected {', '.join(shapes)}")
            if not isinstance(shape, list) or tuple(shape) != shapes[name]:
                raise ModelError(f"{path}: {_NOT_TINYVGG}: weight {name} has shape {shape}, "
                                 f"expected {list(shapes[name])}")
            if dtype != "float32" or "quantization" in entry:
                raise ModelError(f"{path}: weight {name} is stored as {entry.get('quantization', dtype)}; "
                                 "only unquantized float32 weights are supported")
            if name in arrays or any(name == s[0] for s in specs):
                raise ModelError(f"{path}: weight {name} is listed twice in the manifest")
            specs.append((name, shapes[name]))
        buffer = _read_shards(path, shard_names)
        need = sum(math.prod(shape) for _, shape in specs) * 4
        if len(buffer) != need:
            raise ModelError(f"{path}: the shards {', '.join(shard_names)} hold {len(buffer):,} bytes but the "
                             f"manifest describes {need:,} bytes of float32 weights; the download is "
                             "truncated or the shard belongs to another model")
        offset = 0
        for name, shape in specs:
            count = math.prod(shape)
            values = np.frombuffer(buffer, dtype="<f4", count=count, offset=offset)
            arrays[name] = values.astype(np.float32).reshape(shape)  # native-endian copy, writable
            offset += count * 4
    missing = [name for name in shapes if name not in arrays]
    if missing:
        raise ModelError(f"{path}: {_NOT_TINYVGG}: the manifest has no {', '.join(missing)}")
    return arrays


def _read_shards(path: Path, shard_names: list[str]) -> bytes:
    """Concatenate a group's shards in manifest order (shard paths are relative to model.json)."""
    parts = []
    for shard in shard_names:
        shard_path = path.parent / shard
        try:
            parts.append(shard_path.read_bytes())
        except FileNotFoundError:
            raise ModelError(f"{path}: weight shard {shard_path} is missing; keep the .bin files next to "
                             "model.json") from None
        except OSError as exc:
            raise ModelError(f"{path}: cannot read weight shard {shard_path} ({exc})") from exc
    return b"".join(parts)


def keras_to_torch(keras: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras channels-last weights -> our TinyVGG state dict (PyTorch layout, float32, contiguous)."""
    state: dict[str, np.ndarray] = {}
    for name in CONV_LAYERS:
        kernel = keras[f"{name}/kernel"]  # (3, 3, in, out): HWIO
        state[f"{name}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))  # (out, in, 3, 3)
        state[f"{name}.bias"] = np.ascontiguousarray(keras[f"{name}/bias"])
    dense = keras["output/kernel"]  # (1690, C), row = (h * 13 + w) * 10 + c
    classes = dense.shape[1]
    # Reorder rows to our flatten order, row = c * 169 + h * 13 + w, then make it (C, 1690).
    rows = dense.reshape(POOLED, POOLED, FILTERS, classes).transpose(2, 0, 1, 3).reshape(FLAT_FEATURES, classes)
    state["output.weight"] = np.ascontiguousarray(rows.T)  # (C, 1690)
    state["output.bias"] = np.ascontiguousarray(keras["output/bias"])
    return state


def model_classes(path: Path, doc: dict) -> list[str]:
    """The class names of a layers model: `userDefinedMetadata.classes` (as generator/export.py writes
    them), else CNN Explainer's ten classes, whose model carries no names."""
    meta = doc.get("userDefinedMetadata")
    classes = meta.get("classes") if isinstance(meta, dict) else None
    if classes is None:
        return list(REFERENCE_CLASSES)
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes) \
            or len(set(classes)) != len(classes):
        raise ModelError(f"{path}: userDefinedMetadata.classes must be a list of distinct class names")
    topology = doc["modelTopology"]
    config = topology.get("model_config", topology)["config"]
    layers = config["layers"] if isinstance(config, dict) else config
    units = layers[-1]["config"].get("units")
    if units is not None and units != len(classes):
        raise ModelError(f"{path}: userDefinedMetadata.classes names {len(classes)} classes but the output layer "
                         f"has {units} units")
    return classes


def load_tfjs(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """A TinyVGG model.json (CNN Explainer's or ours) -> (TinyVGG state dict, meta with the class names)."""
    state = keras_to_torch(read_keras_weights(path))
    classes = model_classes(Path(path), _read_json(Path(path)))
    meta = {"classes": classes, "format": "tfjs", "source": str(path)}
    return state, meta
