"""The train stage: fit TinyVGG on the dataset and write the checkpoint, its history and meta.json."""

from __future__ import annotations

import os
from pathlib import Path

# libgomp's threads spin ~300,000 times before sleeping. When the machine has other work (a second
# build, a test run) that spinning steals the cores torch needs: training steps were measured up to 4x
# slower. A short spin keeps the quiet-machine speed and wins under load (one epoch beside two busy
# processes: 10.2 s, against 12.9 s fully passive and 14.1 s default). It does not change any result.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")
import numpy as np
import torch

from generator.config import TrainConfig
from generator.datasets import CLASS_NAMES_ZH, Dataset
from generator.safeio import write_json
from generator.stages.common import save_arrays
from generator.train import train


def train_stage(cfg: TrainConfig, data: Dataset, out: Path, progress: bool) -> None:
    result = train(data, cfg, progress=progress)
    save_arrays(result.state, out / "model.safetensors")
    save_arrays(
        {
            "kernels": result.history.kernels.astype(np.float32),
            "test_predicted": result.test_predicted.astype(np.int32),  # the probe stage's confusion matrix
        },
        out / "history.safetensors",
    )
    h = result.history
    write_json(
        out / "meta.json",
        {
            "architecture": "TinyVGG",
            "classes": list(data.classes),
            "classes_zh": [CLASS_NAMES_ZH.get(c, c) for c in data.classes],
            "dataset": data.name,
            "data_spec": data.spec,
            "train_config": cfg.__dict__,
            "history": {
                "train_loss": h.train_loss,
                "train_acc": h.train_acc,
                "val_loss": h.val_loss,
                "val_acc": h.val_acc,
                "best_epoch": h.best_epoch,
            },
            "metrics": {
                "test_acc": result.test_acc,
                "val_acc": h.val_acc[h.best_epoch - 1],
                "epochs": len(h.train_loss),
                "best_epoch": h.best_epoch,
                "train_seconds": round(result.seconds, 2),
                "train_images": len(data.train_y),
                "val_images": len(data.val_y),
                "test_images": len(data.test_y),
            },
            "torch_threads": torch.get_num_threads(),
        },
    )
