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
import os
import re
from pathlib import Path, PurePosixPath

import numpy as np

from generator.arch import ARCH, CONV_LAYERS, FILTERS, FLAT_FEATURES
from generator.datasets.tiny_imagenet import CLASSES
from generator.errors import ModelError
from generator.safeio import describe, open_regular, read_at_most

# The order of CNN Explainer's output units (its class list), i.e. the dense layer's columns: the order
# of the tiny-imagenet-10 dataset's classes.
REFERENCE_CLASSES: tuple[str, ...] = CLASSES
POOLED = 13  # max_pool_2's output is 13 x 13 x FILTERS
_NOT_TINYVGG = "not a TinyVGG model"
# TinyVGG's model.json is ~5 KB; a topology this large is not one (and is not read in full).
MAX_MODEL_JSON_BYTES = 4 << 20


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
        with open_regular(path) as fh:
            data = read_at_most(fh, MAX_MODEL_JSON_BYTES)
    except FileNotFoundError:
        raise ModelError(f"{path}: file not found") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the TF.js model file ({describe(exc)})") from exc
    if len(data) > MAX_MODEL_JSON_BYTES:
        raise ModelError(
            f"{path}: larger than {MAX_MODEL_JSON_BYTES >> 20} MB, far too large for a TinyVGG "
            "model.json; pass the model.json written by the TensorFlow.js converter"
        )
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a TF.js layers model (model.json)"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "expected a TF.js layers model (model.json)"
        ) from exc
    except RecursionError as exc:
        raise ModelError(
            f"{path}: JSON nested too deeply to be a TF.js layers model; "
            "pass the model.json written by the TensorFlow.js converter"
        ) from exc
    if not isinstance(doc, dict) or "weightsManifest" not in doc or "modelTopology" not in doc:
        raise ModelError(
            f"{path}: not a TF.js layers model (no 'modelTopology' and 'weightsManifest'); "
            "pass the model.json written by the TensorFlow.js converter"
        )
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
    expected: list[tuple[str, str | None]] = []
    for name, kind in ARCH:
        expected.append(({"conv": "Conv2D", "relu": "Activation", "pool": "MaxPooling2D"}[kind], name))
    expected += [("Flatten", "flatten"), ("Dense", "output")]
    names: list[tuple[str, str | None]] = [
        (cls, cfg.get("name") if isinstance(cfg, dict) else None) for cls, cfg in got
    ]
    if names != expected:
        raise ModelError(
            f"{path}: {_NOT_TINYVGG}: layers are {_cut(_fmt_layers(names), 400)}, expected {_fmt_layers(expected)}"
        )
    wanted: dict[str, dict[str, object]] = {
        "Conv2D": {
            "kernel_size": [3, 3],
            "strides": [1, 1],
            "padding": "valid",
            "activation": "linear",
            "use_bias": True,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "filters": FILTERS,
        },
        "Activation": {"activation": "relu"},
        "MaxPooling2D": {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid", "data_format": "channels_last"},
        "Flatten": {"data_format": "channels_last"},
        # Softmax is applied outside our module, so a dense layer exported with logits fits too.
        "Dense": {"activation": ("softmax", "linear"), "use_bias": True},
    }
    for cls, cfg in got:
        for key, value in wanted[cls].items():
            allowed = value if isinstance(value, tuple) else (value,)
            if key in cfg and cfg[key] not in allowed:  # a missing key is the Keras default, which fits
                raise ModelError(
                    f"{path}: {_NOT_TINYVGG}: layer {cfg['name']} has {key}={_short(cfg[key])}, "
                    f"TinyVGG needs {' or '.join(map(repr, allowed))}"
                )


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
        shard_names, specs = _read_group(path, group, shapes, arrays)
        need = sum(math.prod(shape) for _, shape in specs) * 4
        buffer = _read_shards(path, shard_names, need)
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


def _short(value: object, limit: int = 60) -> str:
    """repr() cut to `limit` characters: hostile JSON must not turn into a page-long error line."""
    return _cut(repr(value), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_group(
    path: Path, group: object, shapes: dict[str, tuple[int, ...]], done: dict[str, np.ndarray]
) -> tuple[list[str], list[tuple[str, tuple[int, ...]]]]:
    """One weightsManifest group -> (shard paths, [(weight name, Keras shape)]), every field type-checked."""
    paths = group.get("paths") if isinstance(group, dict) else None
    entries = group.get("weights") if isinstance(group, dict) else None
    if not isinstance(paths, list) or not isinstance(entries, list):
        raise ModelError(f"{path}: every weightsManifest group needs 'paths' and 'weights' lists; got {_short(group)}")
    specs: list[tuple[str, tuple[int, ...]]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ModelError(
                f"{path}: a weightsManifest entry must be an object with name, shape and dtype; got {_short(entry)}"
            )
        name, shape, dtype = entry.get("name"), entry.get("shape"), entry.get("dtype", "float32")
        if not isinstance(name, str) or name not in shapes:
            raise ModelError(f"{path}: {_NOT_TINYVGG}: unexpected weight {_short(name)}; expected {', '.join(shapes)}")
        if not isinstance(shape, list) or not all(type(n) is int for n in shape) or tuple(shape) != shapes[name]:
            raise ModelError(
                f"{path}: {_NOT_TINYVGG}: weight {name} has shape {_short(shape)}, expected {list(shapes[name])}"
            )
        if dtype != "float32" or "quantization" in entry:
            raise ModelError(
                f"{path}: weight {name} is stored as {_short(entry.get('quantization', dtype))}; "
                "only unquantized float32 weights are supported"
            )
        if name in done or any(name == s[0] for s in specs):
            raise ModelError(f"{path}: weight {name} is listed twice in the manifest")
        specs.append((name, shapes[name]))
    return [_shard_name(path, shard) for shard in paths], specs


def _shard_name(path: Path, shard: object) -> str:
    """A shard path from the manifest, refused unless it stays inside model.json's own folder."""
    if not isinstance(shard, str) or not shard or "\0" in shard:
        raise ModelError(f"{path}: weightsManifest paths must be file names next to model.json; got {_short(shard)}")
    rel = PurePosixPath(shard.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or re.match(r"^[A-Za-z]:", shard):
        raise ModelError(
            f"{path}: refused weight shard path {_short(shard)}: shards must lie in the folder "
            "of model.json (no absolute paths, no '..'); keep the .bin files next to model.json"
        )
    return shard


def _read_shards(path: Path, shard_names: list[str], need: int) -> bytes:
    """Concatenate a group's shards in manifest order, reading at most `need` + 1 bytes in all.

    Shards must be regular files inside model.json's folder (after resolving symlinks): a manifest
    must not make the loader read /etc/shadow, wait on a FIFO or stream /dev/zero."""
    folder = path.parent.resolve()
    parts, sizes, left = [], 0, need + 1
    for shard in shard_names:
        shard_path = path.parent / shard
        if not shard_path.resolve().is_relative_to(folder):
            raise ModelError(
                f"{path}: refused weight shard {shard}: it links outside {folder}; "
                "keep the .bin files next to model.json"
            )
        try:
            with open_regular(shard_path) as fh:
                sizes += os.fstat(fh.fileno()).st_size
                data = read_at_most(fh, left - 1) if left > 0 else b""
        except FileNotFoundError:
            raise ModelError(
                f"{path}: weight shard {shard_path} is missing; keep the .bin files next to model.json"
            ) from None
        except OSError as exc:
            raise ModelError(f"{path}: cannot read weight shard {shard_path} ({describe(exc)})") from exc
        parts.append(data)
        left -= len(data)
    buffer = b"".join(parts)
    if len(buffer) != need or sizes != need:
        raise ModelError(
            f"{path}: the shards {', '.join(shard_names)} hold {sizes:,} bytes but the "
            f"manifest describes {need:,} bytes of float32 weights; the download is "
            "truncated or the shard belongs to another model"
        )
    return buffer


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
    if (
        not isinstance(classes, list)
        or not classes
        or not all(isinstance(c, str) and c for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ModelError(f"{path}: userDefinedMetadata.classes must be a list of distinct class names")
    topology = doc["modelTopology"]
    config = topology.get("model_config", topology)["config"]
    layers = config["layers"] if isinstance(config, dict) else config
    units = layers[-1]["config"].get("units")
    if units is not None and units != len(classes):
        raise ModelError(
            f"{path}: userDefinedMetadata.classes names {len(classes)} classes but the output layer has {units} units"
        )
    return classes


def load_tfjs(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """A TinyVGG model.json (CNN Explainer's or ours) -> (TinyVGG state dict, meta with the class names)."""
    state = keras_to_torch(read_keras_weights(path))
    classes = model_classes(Path(path), _read_json(Path(path)))
    meta = {"classes": classes, "format": "tfjs", "source": str(path)}
    return state, meta
