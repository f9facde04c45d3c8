"""Datasets: 64x64 RGB uint8 images, integer labels, class names and a cheap content spec.

Three sources share one result type: `shapes` (procedural, embedded, offline), `tiny-imagenet-10`
(CNN Explainer's ten classes from the official Tiny ImageNet zip) and `folder` (a user's ImageFolder).
`dataset_spec` describes the content without decoding a single image (the build's cache key);
`load_dataset` produces the arrays. No torch here: warm builds must not pay for importing it.
"""

from __future__ import annotations

from generator.config import DataConfig
from generator.datasets.base import Dataset, carve_validation, stratified_split  # noqa: F401  (re-exported)
from generator.names import CLASS_NAMES_ZH  # noqa: F401  (re-exported)

SPEC_VERSION = 1  # bump when the Dataset layout or the split rule changes


def dataset_spec(cfg: DataConfig) -> dict:
    """Everything that determines the dataset's content, computed without decoding any image."""
    if cfg.name == "shapes":
        from generator.datasets import shapes

        source = {
            "generator_version": shapes.SHAPES_VERSION,
            "per_class": cfg.per_class,
            "test_per_class": shapes.TEST_PER_CLASS,
            "classes": list(shapes.CLASSES),
        }
    elif cfg.name == "tiny-imagenet-10":
        from generator.datasets import tiny_imagenet

        source = tiny_imagenet.source_spec(cfg.path)
    else:
        from generator.datasets import folder

        source = folder.source_spec(cfg.path)
    return {
        "name": cfg.name,
        "spec_version": SPEC_VERSION,
        "seed": cfg.seed,
        "val_fraction": cfg.val_fraction,
        "source": source,
    }


def load_dataset(cfg: DataConfig, progress: bool = True, threads: int | None = None) -> Dataset:
    """Build or read the dataset `cfg` names. Same config and same files => identical arrays, whatever
    `threads` (how many threads may draw the generated shapes; None: one per core)."""
    spec = dataset_spec(cfg)
    if cfg.name == "shapes":
        from generator.datasets import shapes

        return shapes.load(cfg, spec, progress, threads)
    if cfg.name == "tiny-imagenet-10":
        from generator.datasets import tiny_imagenet

        return tiny_imagenet.load(cfg, spec, progress)
    from generator.datasets import folder

    return folder.load(cfg, spec, progress)
