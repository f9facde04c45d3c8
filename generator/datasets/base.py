"""The result type every dataset loader returns, and the deterministic splits they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.config import DataConfig


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


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int, stream: int, min_per_class: int = 1
) -> tuple[np.ndarray, np.ndarray]:
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


def carve_validation(
    name: str,
    classes: tuple[str, ...],
    x: np.ndarray,
    y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    test_ids: tuple[str, ...],
    cfg: DataConfig,
    spec: dict,
) -> Dataset:
    """Hold out cfg.val_fraction of every class of the training images for early stopping."""
    kept, held = stratified_split(y, cfg.val_fraction, cfg.seed, stream=1)
    return Dataset(
        name=name,
        classes=classes,
        train_x=x[kept],
        train_y=y[kept],
        val_x=x[held],
        val_y=y[held],
        test_x=test_x,
        test_y=test_y,
        test_ids=test_ids,
        spec=spec,
    )
