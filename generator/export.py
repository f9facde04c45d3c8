"""The export stage: the trained TinyVGG as a TF.js layers model, plus what the in-page view needs.

Written into the cache like every stage and copied into the site by the plugin:

    model/<hash>/model.json            Keras topology + weights manifest (CNN Explainer's format)
    model/<hash>/group1-shard1of1.bin  every weight, little-endian float32, in manifest order
    live/colors-<hash>.json            the colour tables the Python renderers draw with
    live/samples/<slug>-<hash>.png     each sample image's 64x64 pixels (lossless)
    export.json                        where those files are, for the plugin

<hash> is a content hash of the files it names, so browsers may cache them forever. Only numpy,
safetensors and Pillow are used: a warm build never imports torch. The layout is the one
generator/tfjs.py reads: HWIO conv kernels and a dense kernel whose rows follow Keras' channels-last
flatten, (h, w, c); `python -m generator predict --weights site/model/<hash>/model.json` runs it.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.arch import ARCH, CONV_LAYERS, FILTERS, FLAT_FEATURES, INPUT_SIZE
from generator.cache import Cache, atomic_write, digest, file_digest, stage_code_version

SHARD = "group1-shard1of1.bin"  # CNN Explainer's shard name: its app and the TF.js loader expect this form
LEVELS = 201  # levels of every table: render/activations.LEVELS, so canvases match the PNGs exactly
TABLES = ("RdBu", "BrBG", "Oranges", "tint:R", "tint:G", "tint:B")  # the scales the live view draws (Oranges: logits)


@dataclass(frozen=True)
class Exported:
    """A finished export stage: its directory and export.json's content."""

    root: Path
    index: dict

    def files(self) -> list[str]:
        """Every file's path relative to the site root (and to the stage directory)."""
        return [self.index["model"], self.index["shard"], self.index["colors"], *self.index["samples"].values()]


def keras_topology(num_classes: int) -> dict:
    """A Keras Sequential model config for TinyVGG, as the TF.js converter writes it."""
    layers: list[dict] = []
    for name, kind in ARCH:
        if kind == "conv":
            cfg = {
                "name": name,
                "trainable": True,
                "dtype": "float32",
                "filters": FILTERS,
                "kernel_size": [3, 3],
                "strides": [1, 1],
                "padding": "valid",
                "data_format": "channels_last",
                "dilation_rate": [1, 1],
                "activation": "linear",
                "use_bias": True,
            }
            if not layers:
                cfg["batch_input_shape"] = [None, INPUT_SIZE, INPUT_SIZE, 3]
            layers.append({"class_name": "Conv2D", "config": cfg})
        elif kind == "relu":
            layers.append(
                {
                    "class_name": "Activation",
                    "config": {"name": name, "trainable": True, "dtype": "float32", "activation": "relu"},
                }
            )
        else:
            layers.append(
                {
                    "class_name": "MaxPooling2D",
                    "config": {
                        "name": name,
                        "trainable": True,
                        "dtype": "float32",
                        "pool_size": [2, 2],
                        "padding": "valid",
                        "strides": [2, 2],
                        "data_format": "channels_last",
                    },
                }
            )
    layers.append(
        {
            "class_name": "Flatten",
            "config": {"name": "flatten", "trainable": True, "dtype": "float32", "data_format": "channels_last"},
        }
    )
    # Softmax inside the model, as CNN Explainer's: its app reads probabilities from model.predict.
    layers.append(
        {
            "class_name": "Dense",
            "config": {
                "name": "output",
                "trainable": True,
                "dtype": "float32",
                "units": num_classes,
                "activation": "softmax",
                "use_bias": True,
            },
        }
    )
    return {"class_name": "Sequential", "config": {"name": "tinyvgg", "layers": layers}}


def to_keras(state: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """Our PyTorch state dict -> Keras weights in manifest order (the inverse of tfjs.keras_to_torch)."""
    weights: list[tuple[str, np.ndarray]] = []
    for name in CONV_LAYERS:
        weights.append((f"{name}/kernel", state[f"{name}.weight"].transpose(2, 3, 1, 0)))  # OIHW -> HWIO
        weights.append((f"{name}/bias", state[f"{name}.bias"]))
    dense = state["output.weight"]  # (C, 1690), column = c * 169 + h * 13 + w
    classes = dense.shape[0]
    side = int(round((FLAT_FEATURES // FILTERS) ** 0.5))  # 13
    rows = dense.T.reshape(FILTERS, side, side, classes).transpose(1, 2, 0, 3).reshape(FLAT_FEATURES, classes)
    weights.append(("output/kernel", rows))  # (1690, C), row = (h * 13 + w) * 10 + c
    weights.append(("output/bias", state["output.bias"]))
    return [(name, np.ascontiguousarray(value, dtype="<f4")) for name, value in weights]


def tfjs_files(state: dict[str, np.ndarray], classes: list[str]) -> tuple[bytes, bytes]:
    """(model.json, shard) bytes for a TinyVGG state dict. The shard is named SHARD beside model.json."""
    weights = to_keras(state)
    shard = b"".join(value.tobytes() for _, value in weights)
    doc = {
        "format": "layers-model",
        "generatedBy": "tinyvgg-explainer",
        "convertedBy": "generator/export.py",
        "modelTopology": {
            "keras_version": "2.2.4-tf",
            "backend": "tensorflow",
            "model_config": keras_topology(len(classes)),
        },
        "weightsManifest": [
            {
                "paths": [SHARD],
                "weights": [{"name": name, "shape": list(value.shape), "dtype": "float32"} for name, value in weights],
            }
        ],
        "userDefinedMetadata": {"classes": list(classes)},
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), shard


def color_tables() -> dict:
    """Every colour scale the activation and kernel figures use, LEVELS levels each, as flat RGB lists."""
    from generator.render.colors import lut

    return {"levels": LEVELS, "tables": {name: lut(name, LEVELS).reshape(-1).tolist() for name in TABLES}}


def png_bytes(pixels: np.ndarray) -> bytes:
    """(64, 64, 3) uint8 -> a plain RGB PNG (no gamma or colour profile chunk: browsers decode it exactly)."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


def _short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def write_export(train_dir: Path, samples: dict[str, Path], out: Path) -> None:
    """The stage's work: read the checkpoint and each sample's pixels (`samples`: slug -> its probe's
    safetensors, which holds "pixels"), write the files and export.json."""
    from safetensors.numpy import load_file

    meta = json.loads((train_dir / "meta.json").read_text(encoding="utf-8"))
    state = load_file(str(train_dir / "model.safetensors"))
    model_json, shard = tfjs_files(state, meta["classes"])
    tag = _short(model_json + shard)
    colors = json.dumps(color_tables(), separators=(",", ":")).encode("utf-8")
    sample_files: dict[str, str] = {}
    index = {
        "model": f"model/{tag}/model.json",
        "shard": f"model/{tag}/{SHARD}",
        "colors": f"live/colors-{_short(colors)}.json",
        "samples": sample_files,
    }
    files = {
        f"model/{tag}/model.json": model_json,
        f"model/{tag}/{SHARD}": shard,
        f"live/colors-{_short(colors)}.json": colors,
    }
    for slug, probe_file in samples.items():
        data = png_bytes(load_file(str(probe_file))["pixels"])
        sample_files[slug] = f"live/samples/{slug}-{_short(data)}.png"
        files[sample_files[slug]] = data
    for rel, data in files.items():
        atomic_write(out / rel, data)
    atomic_write(out / "export.json", json.dumps(index, indent=1, sort_keys=True).encode("utf-8"))


def code_hash() -> str:
    """Every module the export imports (cache.module_closure), as for every stage."""
    return stage_code_version(("generator.export",))


def export_stage(cache_dir: Path, train_dir: Path, train_key: str, samples: dict[str, Path]) -> Exported:
    """Bring the export stage up to date and return it: keyed by the model (its train key), every sample's
    probe file and this stage's code. No torch is imported."""
    store = Cache(cache_dir)
    key = digest(
        {
            "train": train_key,
            "code": code_hash(),
            "samples": {slug: file_digest(path) for slug, path in samples.items()},
        }
    )
    with store.lock():
        hit = store.get("export", key)
        if hit is None:
            hit = store.put("export", key, lambda d: write_export(train_dir, samples, d))
    return Exported(root=hit, index=json.loads((hit / "export.json").read_text(encoding="utf-8")))
