"""The probe stage: every intermediate tensor of every sample image, and the facts the pages quote."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from generator.arch import CONV_LAYERS, base_facts
from generator.cache import write_json
from generator.config import BuildConfig, image_name
from generator.datasets import Dataset
from generator.errors import ConfigError
from generator.images import load_image, slugify
from generator.probe import confusion_matrix, default_samples, probe
from generator.records import SampleImage
from generator.stages.common import load_model, save_arrays
from generator.train import predict_all


def user_samples(cfg: BuildConfig, paths: tuple[Path, ...], taken: set[str]) -> list[SampleImage]:
    """The user's own images (mkdocs.yml `images`), slugged from their file names. Names are relative to
    mkdocs.yml, so the slugs and sources do not depend on where the project is checked out."""
    samples = []
    for path in paths:
        name = image_name(cfg, path)
        slug = slugify(Path(path).stem) or "image"
        if slug in taken:
            slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
        taken.add(slug)
        samples.append(SampleImage(slug=slug, pixels=load_image(Path(path)), source=name, label=None))
    return samples


def _reference_accuracy(cfg: BuildConfig, data: Dataset) -> dict | None:
    """CNN Explainer's own model on the same test images (full profile with reference_weights)."""
    if not cfg.reference_weights:
        return None
    from generator.weights import load_weights, to_module

    state, meta = load_weights(Path(cfg.reference_weights))
    if list(meta.get("classes", [])) != list(data.classes):
        raise ConfigError(f"reference_weights: {cfg.reference_weights} was trained on other classes "
                          f"({', '.join(meta.get('classes', []))}); use it with the tiny-imagenet-10 dataset")
    model = to_module(state, len(data.classes))
    pred = predict_all(model, data.test_x)
    return {"name": "CNN Explainer", "test_acc": float((pred == data.test_y).mean())}


def probe_stage(cfg: BuildConfig, data: Dataset, train_dir: Path, out: Path) -> None:
    model, meta = load_model(train_dir)
    predicted = predict_all(model, data.test_x)
    samples = default_samples(data.test_x, data.test_y, predicted, data.classes, data.test_ids, slugify)
    if cfg.max_samples:
        samples = samples[: cfg.max_samples]
    samples += user_samples(cfg, cfg.images, {s.slug for s in samples})
    results = probe(model, samples)
    (out / "samples").mkdir()
    for r in results:
        arrays = {"pixels": r.image.pixels}
        arrays.update({f"stage.{k}": v for k, v in r.stages.items()})
        arrays.update({f"inter.{k}": v for k, v in r.intermediates.items()})
        path = out / "samples" / f"{r.image.slug}.safetensors"
        save_arrays({k: np.ascontiguousarray(v) for k, v in arrays.items()}, path)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    facts = base_facts(meta["classes"], meta["classes_zh"])
    facts.update({
        "dataset": meta["dataset"], "profile": cfg.profile, "metrics": meta["metrics"],
        "history": meta["history"],
        "confusion": confusion_matrix(data.test_y, predicted, len(data.classes)).tolist(),
        "biases": {layer: state[f"{layer}.bias"].tolist() for layer in [*CONV_LAYERS, "output"]},
        "samples": [{"slug": r.image.slug, "source": r.image.source, "label": r.image.label,
                     "predicted": r.predicted, "logits": r.stages["output"].tolist(),
                     "probs": r.stages["softmax"].tolist()} for r in results],
        "reference": _reference_accuracy(cfg, data),
    })
    write_json(out / "facts.json", facts)


