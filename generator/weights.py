"""Load TinyVGG weights from a file the user names: our safetensors checkpoint or CNN Explainer's TF.js
model. Nothing is ever unpickled: pickle-based formats (torch.save, .pkl, .ckpt) can run arbitrary
code when loaded, so they are refused before a single byte of them is interpreted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generator.arch import CONV_LAYERS, FILTERS, FLAT_FEATURES
from generator.errors import ModelError
from generator.safeio import describe, kind_of, open_regular, read_at_most

if TYPE_CHECKING:
    from generator.model import TinyVGG

CHECKPOINT_FILE = "model.safetensors"  # what train.py writes into a checkpoint directory
META_FILE = "meta.json"
# Suffixes of formats built on pickle (".bin" also covers PyTorch's pytorch_model.bin).
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar", ".joblib"})
ACCEPTED = (
    "Only safetensors checkpoints (model.safetensors + meta.json, or a checkpoint directory) "
    "and TF.js layers models (model.json) are accepted"
)
_PICKLE_NOTE = "loading a pickle can run arbitrary code, so it is never unpickled"
MAX_CLASSES = 10_000  # output layer units: bounds what a checkpoint header may make us allocate
MAX_META_BYTES = 16 << 20  # meta.json holds class names and metrics: a few KB


def expected_shapes(num_classes: int) -> dict[str, tuple[int, ...]]:
    """TinyVGG's state dict: parameter name -> PyTorch shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_channels = 3
    for name in CONV_LAYERS:
        shapes[f"{name}.weight"] = (FILTERS, in_channels, 3, 3)
        shapes[f"{name}.bias"] = (FILTERS,)
        in_channels = FILTERS
    shapes["output.weight"] = (num_classes, FLAT_FEATURES)
    shapes["output.bias"] = (num_classes,)
    return shapes


def check_shapes(got: dict[str, tuple[int, ...]], source: str | Path) -> int:
    """Check parameter names and shapes against TinyVGG's; return num_classes. Works from a file's
    header alone, so a checkpoint declaring huge tensors is refused before any of them is read."""
    out = got.get("output.weight")
    num_classes = int(out[0]) if out is not None and len(out) == 2 and 0 < out[0] <= MAX_CLASSES else 0
    shapes = expected_shapes(num_classes)
    problems = []  # wrong shapes first: they say most about what the file holds
    for name, shape in shapes.items():
        if name not in got or tuple(got[name]) == shape:
            continue
        if name.startswith("output.") and not num_classes:  # the class count is unknown: say the rule
            if name == "output.weight":
                problems.append(
                    f"output.weight has shape {tuple(got[name])}, "
                    f"TinyVGG needs (num_classes, {FLAT_FEATURES}) with 1 to {MAX_CLASSES:,} classes"
                )
            continue
        problems.append(f"{name} has shape {tuple(got[name])}, TinyVGG needs {shape}")
    problems += [f"missing {name}" for name in shapes if name not in got]
    problems += [f"unexpected {name[:60]}" for name in got if name not in shapes]
    if problems:
        more = f" (and {len(problems) - 6} more)" if len(problems) > 6 else ""
        raise ModelError(f"{source}: checkpoint of another architecture: {'; '.join(problems[:6])}{more}")
    return num_classes


def validate_state(state: dict[str, np.ndarray], source: str | Path) -> int:
    """Check that `state` fits TinyVGG exactly (names, shapes, finite floats); return num_classes."""
    num_classes = check_shapes({name: tuple(value.shape) for name, value in state.items()}, source)
    for name, value in state.items():
        if not np.issubdtype(value.dtype, np.floating):
            raise ModelError(f"{source}: {name} holds {value.dtype} values; TinyVGG's weights are floats")
        if not np.isfinite(value).all():
            raise ModelError(f"{source}: {name} contains NaN or infinite values; the checkpoint is broken")
    return num_classes


def _refuse_if_pickle(path: Path) -> None:
    """Refuse pickle-like files by name and by their first bytes, before anything parses them."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the weights file ({exc})") from exc
    # Pickle protocol 2+ starts with PROTO (0x80) + version; torch.save's default format is a zip.
    is_pickle = len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5
    is_zip = head == b"PK\x03\x04"
    if is_pickle or is_zip:
        raise ModelError(f"{path}: refused: this is a pickle or torch.save file; {_PICKLE_NOTE}. {ACCEPTED}")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        hint = "; pass model.json, not its weight shard" if path.suffix.lower() == ".bin" else ""
        raise ModelError(f"{path}: refused: {path.suffix} files are usually pickles; {_PICKLE_NOTE}. {ACCEPTED}{hint}")


def _read_meta(meta_path: Path, num_classes: int) -> dict:
    try:
        with open_regular(meta_path) as fh:
            data = read_at_most(fh, MAX_META_BYTES)
        if len(data) > MAX_META_BYTES:
            raise ModelError(
                f"{meta_path}: larger than {MAX_META_BYTES >> 20} MB, not checkpoint metadata; "
                'it should hold {"classes": [...]}'
            )
        meta = json.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = describe(exc) if isinstance(exc, OSError) else str(exc) or type(exc).__name__
        raise ModelError(f"{meta_path}: cannot read the checkpoint metadata ({reason})") from exc
    classes = meta.get("classes") if isinstance(meta, dict) else None
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise ModelError(f'{meta_path}: needs "classes": a list of class names, one per output unit')
    if len(classes) != num_classes:
        raise ModelError(
            f"{meta_path}: lists {len(classes)} classes but the checkpoint's output layer has {num_classes} units"
        )
    if len(set(classes)) != len(classes):
        raise ModelError(f"{meta_path}: class names must be unique")
    return meta


def _load_safetensors(path: Path, meta_path: Path | None) -> tuple[dict[str, np.ndarray], dict]:
    from safetensors import SafetensorError, safe_open
    from safetensors.numpy import load_file

    try:
        with safe_open(str(path), framework="numpy") as header:  # reads the JSON header only
            declared = {name: tuple(header.get_slice(name).get_shape()) for name in header.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from exc
    check_shapes(declared, path)
    try:
        raw = load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from exc
    num_classes = validate_state(raw, path)
    state = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in raw.items()}
    if meta_path is None:
        candidates = [path.with_suffix(".json"), path.parent / META_FILE]
        meta_path = next((c for c in candidates if c.is_file()), None)
        if meta_path is None:
            raise ModelError(
                f"{path}: no class names found; put {candidates[0].name} or {META_FILE} "
                'beside it, containing {"classes": [...]}'
            )
    meta = dict(_read_meta(meta_path, num_classes))
    meta.setdefault("format", "safetensors")
    meta["source"] = str(path)
    return state, meta


def load_weights(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Weights for TinyVGG from a checkpoint directory, a .safetensors file or a TF.js model.json.

    Returns (state dict in PyTorch layout as float32 numpy arrays, meta with at least "classes").
    Anything else, pickles above all, is refused with a ModelError; nothing is ever unpickled."""
    path = Path(path)
    if path.is_dir():
        checkpoint, meta_path = path / CHECKPOINT_FILE, path / META_FILE
        for needed in (checkpoint, meta_path):
            if not needed.is_file():
                raise ModelError(f"{path}: not a checkpoint directory: {needed.name} is missing. {ACCEPTED}")
        _refuse_if_pickle(checkpoint)
        return _load_safetensors(checkpoint, meta_path)
    if not path.is_file():
        what = f"is {kind_of(path.stat().st_mode)}, not a weights file" if path.exists() else "file not found"
        raise ModelError(f"{path}: {what}. {ACCEPTED}")
    _refuse_if_pickle(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return _load_safetensors(path, None)
    if suffix == ".json":
        from generator.tfjs import load_tfjs

        return load_tfjs(path)
    raise ModelError(f"{path}: unsupported weights file type {suffix or '(no suffix)'!r}. {ACCEPTED}")


def to_module(state: dict[str, np.ndarray], num_classes: int) -> TinyVGG:
    """A TinyVGG (eval mode) holding `state`. Imports torch only when called."""
    import torch

    from generator.model import TinyVGG

    validate_state(state, "weights")
    if state["output.weight"].shape[0] != num_classes:
        raise ModelError(
            f"weights: the output layer has {state['output.weight'].shape[0]} units, "
            f"but {num_classes} classes were asked for"
        )
    model = TinyVGG(num_classes)
    # torch.tensor copies, so read-only numpy arrays (e.g. memory-mapped) are fine.
    model.load_state_dict(
        {name: torch.tensor(value, dtype=torch.float32) for name, value in state.items()}, strict=True
    )
    return model.eval()
