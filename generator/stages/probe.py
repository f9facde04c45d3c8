"""The probe stage (every intermediate tensor of the default sample images, and the facts the pages
quote) and the image stage (one of the user's own images, cached on its own)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from generator.arch import CONV_LAYERS, base_facts
from generator.config import BuildConfig
from generator.datasets import Dataset
from generator.errors import ConfigError
from generator.examples import sample_examples
from generator.images import load_image, slugify
from generator.inference import load_state, predict_all
from generator.probe import confusion_matrix, default_samples, probe
from generator.records import ProbeResult, SampleImage
from generator.safeio import write_json
from generator.stages.common import save_arrays


def pixels_digest(pixels: np.ndarray) -> str:
    """What identifies an image's probe for a given model: the 64x64x3 pixels it was computed from."""
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()[:16]


def _save(r: ProbeResult, path: Path) -> dict:
    """Write one image's every tensor; return what facts.json says of it."""
    arrays = {"pixels": r.image.pixels}
    arrays.update({f"stage.{k}": v for k, v in r.stages.items()})
    arrays.update({f"inter.{k}": v for k, v in r.intermediates.items()})
    save_arrays({k: np.ascontiguousarray(v) for k, v in arrays.items()}, path)
    return {
        "slug": r.image.slug,
        "source": r.image.source,
        "label": r.image.label,
        "predicted": r.predicted,
        "logits": r.stages["output"].tolist(),
        "probs": r.stages["softmax"].tolist(),
        "pixels": pixels_digest(r.image.pixels),
        "examples": sample_examples(r.stages, r.intermediates),
    }


def image_stage(train_dir: Path, path: Path, out: Path) -> None:
    """One of the user's own images (mkdocs.yml `images`), probed on its own: adding an image costs one
    forward pass, not the dataset. Its slug and source are given by the build (they depend on names)."""
    state, _ = load_state(train_dir)
    (result,) = probe(state, [SampleImage(slug="", pixels=load_image(path), source="", label=None)])
    write_json(out / "sample.json", _save(result, out / "probe.safetensors"))


def _reference_accuracy(cfg: BuildConfig, data: Dataset) -> dict | None:
    """CNN Explainer's own model on the same test images (full profile with reference_weights)."""
    if not cfg.reference_weights:
        return None
    from generator.weights import load_weights

    state, meta = load_weights(Path(cfg.reference_weights))
    if list(meta.get("classes", [])) != list(data.classes):
        raise ConfigError(
            f"reference_weights: {cfg.reference_weights} was trained on other classes "
            f"({', '.join(meta.get('classes', []))}); use it with the tiny-imagenet-10 dataset"
        )
    pred = predict_all(state, data.test_x)
    return {"name": "CNN Explainer", "test_acc": float((pred == data.test_y).mean())}


def probe_stage(cfg: BuildConfig, data: Dataset, train_dir: Path, out: Path) -> None:
    state, meta = load_state(train_dir)
    # The test images' predictions, made by the train stage with the model it measured: the confusion
    # matrix counts exactly the images behind metrics.test_acc.
    predicted = load_file(str(train_dir / "history.safetensors"))["test_predicted"].astype(np.int64)
    samples = default_samples(data.test_x, data.test_y, predicted, data.classes, data.test_ids, slugify)
    if cfg.max_samples:
        samples = samples[: cfg.max_samples]
    (out / "samples").mkdir()
    records = [_save(r, out / "samples" / f"{r.image.slug}.safetensors") for r in probe(state, samples)]
    facts = base_facts(meta["classes"], meta["classes_zh"])
    facts.update(
        {
            "dataset": meta["dataset"],
            "profile": cfg.profile,
            "metrics": meta["metrics"],
            "history": meta["history"],
            "confusion": confusion_matrix(data.test_y, predicted, len(data.classes)).tolist(),
            "biases": {layer: state[f"{layer}.bias"].tolist() for layer in [*CONV_LAYERS, "output"]},
            "samples": records,
            "reference": _reference_accuracy(cfg, data),
        }
    )
    write_json(out / "facts.json", facts)
