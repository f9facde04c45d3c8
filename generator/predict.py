"""Classify image files with a TinyVGG checkpoint or CNN Explainer's TF.js model.

Preprocessing matches CNN Explainer's: the 64x64 RGB pixels divided by 255, nothing else (no mean
subtraction), which is also what our training feeds the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from generator.errors import ModelError
from generator.images import load_image
from generator.inference import forward
from generator.weights import load_weights, validate_state

BATCH = 256  # images per forward pass: bounds memory for long file lists


def predict(weights_path: str | Path, image_paths: list[str | Path]) -> list[dict]:
    """Top-1 class and every class probability for each image, in the order given.

    Each result: {"path": str, "class": str, "probabilities": {class name: float}}, the
    probabilities listed in the model's class order."""
    state, meta = load_weights(weights_path)
    classes: list[str] = list(meta["classes"])
    units = validate_state(state, weights_path)
    if units != len(classes):
        raise ModelError(
            f"{weights_path}: the output layer has {units} units, but its metadata names {len(classes)} classes"
        )
    results: list[dict] = []
    for start in range(0, len(image_paths), BATCH):
        chunk = list(image_paths[start : start + BATCH])
        pixels = np.stack([load_image(path) for path in chunk])  # (N, 64, 64, 3) uint8
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, as one error
            logits = forward(state, pixels)[0].astype(np.float64)  # (N, C), NumPy: no torch to import
            # Softmax in float64 so that tiny probabilities keep their digits in the JSON output.
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)  # (N, C)
        if not np.isfinite(probs).all():
            # Finite but huge weights (e.g. 3e38) overflow float32 in the forward pass: inf logits,
            # NaN probabilities. Say so rather than print "nan %" or invalid JSON.
            raise ModelError(
                f"{weights_path}: the weights overflow the network's arithmetic (infinite "
                "outputs); the file is damaged or does not hold trained TinyVGG weights"
            )
        for path, row in zip(chunk, probs, strict=True):
            results.append(
                {
                    "path": str(path),
                    "class": classes[int(np.argmax(row))],
                    "probabilities": {name: float(p) for name, p in zip(classes, row, strict=True)},
                }
            )
    return results


def format_json(results: list[dict]) -> str:
    """The results as pretty-printed JSON (UTF-8 class names kept readable), ending in a newline."""
    return json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n"  # NaN is not JSON


def format_text(results: list[dict], top: int = 3) -> str:
    """One line per image for people: the path, then the `top` most likely classes with percentages."""
    lines = []
    for result in results:
        ranked = sorted(result["probabilities"].items(), key=lambda item: -item[1])[:top]
        scores = ", ".join(f"{name} {p * 100:.1f} %" for name, p in ranked)
        lines.append(f"{result['path']}: {scores}")
    return "\n".join(lines) + ("\n" if lines else "")
