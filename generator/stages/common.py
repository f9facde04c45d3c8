"""What the stages share: loading the data and the user's images, and writing arrays. No torch: only
the train stage imports it (stages/train.py), so a build that probes a new image never does."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import save_file

from generator.config import BuildConfig
from generator.datasets import Dataset, load_dataset
from generator.images import load_image


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    """safetensors' save_file, but a failed write (disk full, read-only) raises OSError naming the file,
    as Python's own writes do, so that the cache reports it (safetensors raises its own error type)."""
    try:
        save_file(arrays, str(path))
    except SafetensorError as exc:
        found = re.search(r"os error (\d+)", str(exc))
        code = int(found.group(1)) if found else errno.EIO
        raise OSError(code, os.strerror(code), str(path)) from exc


def load_data(cfg: BuildConfig, progress: bool, threads: int | None = None) -> Dataset:
    """The dataset (`threads`: see load_dataset), after decoding the user's images: a broken one should
    fail in a second, not after training."""
    for path in cfg.images:
        load_image(Path(path))
    return load_dataset(cfg.data, progress=progress, threads=threads)
