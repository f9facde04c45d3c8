"""Datasets: 64x64 RGB uint8 images, integer labels, class names and a cheap content spec.

Three sources share one result type: `shapes` (procedural, embedded, offline), `tiny-imagenet-10`
(CNN Explainer's ten classes from the official Tiny ImageNet zip) and `folder` (a user's ImageFolder).
`dataset_spec` describes the content without decoding a single image (the build's cache key);
`load_dataset` produces the arrays. No torch here: warm builds must not pay for importing it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.config import DataConfig
from generator.names import CLASS_NAMES_ZH  # noqa: F401  (re-exported)

SPEC_VERSION = 1  # bump when the Dataset layout or the split rule changes


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value; compare `spec`s instead
class Dataset:
    """One dataset, split three ways. Images are (N, 64, 64, 3) uint8 RGB; labels (N,) int64."""

    name: str
    classes: tuple[str, ...]
    train_x: np.ndarray  # (N_train, 64, 64, 3) uint8
    train_y: np.ndarray  # (N_train,) int64
    val_x: np.ndarray  # (N_val, 64, 64, 3) uint8, early-stopping split carved from train
    val_y: np.ndarray  # (N_val,) int64
    test_x: np.ndarray  # (N_test, 64, 64, 3) uint8
    test_y: np.ndarray  # (N_test,) int64
    test_ids: tuple[str, ...]  # a stable id per test image (file name, relative path or class-index)
    spec: dict  # JSON-able; equal to dataset_spec(cfg) of the config that produced it

    def __post_init__(self) -> None:
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (64, 64, 3):
                raise ValueError(f"{split}_x must be (N, 64, 64, 3) uint8, got {x.shape} {x.dtype}")
            if y.dtype != np.int64 or y.shape != (len(x),):
                raise ValueError(f"{split}_y must be ({len(x)},) int64, got {y.shape} {y.dtype}")
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(f"{split}_y has labels outside 0..{len(self.classes) - 1}")
        if len(self.test_ids) != len(self.test_x):
            raise ValueError("test_ids must name every test image")

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def dataset_spec(cfg: DataConfig) -> dict:
    """Everything that determines the dataset's content, computed without decoding any image."""
    if cfg.name == "shapes":
        from generator.datasets import shapes
        source = {"generator_version": shapes.SHAPES_VERSION, "per_class": cfg.per_class,
                  "test_per_class": shapes.TEST_PER_CLASS, "classes": list(shapes.CLASSES)}
    elif cfg.name == "tiny-imagenet-10":
        from generator.datasets import tiny_imagenet
        source = tiny_imagenet.source_spec(cfg.path)
    else:
        from generator.datasets import folder
        source = folder.source_spec(cfg.path)
    return {"name": cfg.name, "spec_version": SPEC_VERSION, "seed": cfg.seed,
            "val_fraction": cfg.val_fraction, "source": source}


def load_dataset(cfg: DataConfig, progress: bool = True) -> Dataset:
    """Build or read the dataset `cfg` names. Same config and same files => identical arrays."""
    spec = dataset_spec(cfg)
    if cfg.name == "shapes":
        from generator.datasets import shapes as module
    elif cfg.name == "tiny-imagenet-10":
        from generator.datasets import tiny_imagenet as module
    else:
        from generator.datasets import folder as module
    return module.load(cfg, spec, progress)


def stratified_split(labels: np.ndarray, fraction: float, seed: int, stream: int,
                     min_per_class: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Split indices per class into (kept, held out); `fraction` of each class (>= min_per_class) is held.

    Deterministic: a seeded generator per (seed, stream). Every class keeps at least one image.
    Both index arrays come back sorted, so the original (class-grouped) order is preserved.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed % 2**63, 7919, stream]))
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        count = min(max(min_per_class, int(round(len(idx) * fraction))), len(idx) - 1)
        held.append(rng.permutation(idx)[:count])
    held_idx = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    kept_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return kept_idx, held_idx


def carve_validation(name: str, classes: tuple[str, ...], x: np.ndarray, y: np.ndarray,
                     test_x: np.ndarray, test_y: np.ndarray, test_ids: tuple[str, ...],
                     cfg: DataConfig, spec: dict) -> Dataset:
    """Hold out cfg.val_fraction of every class of the training images for early stopping."""
    kept, held = stratified_split(y, cfg.val_fraction, cfg.seed, stream=1)
    return Dataset(name=name, classes=classes, train_x=x[kept], train_y=y[kept], val_x=x[held],
                   val_y=y[held], test_x=test_x, test_y=test_y, test_ids=test_ids, spec=spec)
