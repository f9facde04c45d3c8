"""What the torch stages share: loading the data and the model, the user's images, the probe's arrays.

Only imported on a cache miss (see build.run), so warm builds never import torch.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import numpy as np

# libgomp's threads spin ~300,000 times before sleeping. When the machine has other work (a second
# build, a test run) that spinning steals the cores torch needs: training steps were measured up to 4x
# slower. A short spin keeps the quiet-machine speed and wins under load (one epoch beside two busy
# processes: 10.2 s, against 12.9 s fully passive and 14.1 s default). It does not change any result.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from generator.config import BuildConfig
from generator.datasets import Dataset, load_dataset
from generator.images import load_image
from generator.model import TinyVGG


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    """safetensors' save_file, but a failed write (disk full, read-only) raises OSError naming the file,
    as Python's own writes do, so that the cache reports it (safetensors raises its own error type)."""
    try:
        save_file(arrays, str(path))
    except SafetensorError as exc:
        found = re.search(r"os error (\d+)", str(exc))
        code = int(found.group(1)) if found else errno.EIO
        raise OSError(code, os.strerror(code), str(path)) from exc


def load_data(cfg: BuildConfig, progress: bool) -> Dataset:
    # Decode the user's images first: a broken one should fail in a second, not after training.
    for path in cfg.images:
        load_image(Path(path))
    return load_dataset(cfg.data, progress=progress)


def load_model(train_dir: Path) -> tuple[TinyVGG, dict]:
    meta = json.loads((train_dir / "meta.json").read_text(encoding="utf-8"))
    model = TinyVGG(num_classes=len(meta["classes"]))
    state = {k: torch.from_numpy(v) for k, v in load_file(str(train_dir / "model.safetensors")).items()}
    model.load_state_dict(state)
    return model.eval(), meta
