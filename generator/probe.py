"""One forward pass per sample image, keeping every stage's output and, for every conv neuron,
the per-kernel intermediate results (kernel k applied to input channel k, before the sum)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from generator.arch import ARCH
from generator.inference import State, max_pool, per_kernel, softmax, to_input
from generator.records import ProbeResult, SampleImage


def probe(state: State, samples: list[SampleImage]) -> list[ProbeResult]:
    """Run each sample through the model once, recording everything the figures show (NumPy: no torch).

    A conv layer's output is the sum of its per-kernel intermediates plus the bias, so the convolution
    figures' arithmetic adds up exactly to the activation maps they sit beside."""
    results = []
    for sample in samples:
        x = to_input(sample.pixels).transpose(2, 0, 1).copy()  # (3, 64, 64)
        stages = {"input": x}
        inter = {}
        for name, kind in ARCH:
            if kind == "conv":
                inter[name] = per_kernel(x, state[f"{name}.weight"])
                x = inter[name].sum(axis=1) + state[f"{name}.bias"][:, None, None]
            elif kind == "relu":
                x = np.maximum(x, np.float32(0.0))
            else:  # inference.max_pool works channels last, on a batch
                x = max_pool(x.transpose(1, 2, 0)[None])[0].transpose(2, 0, 1)
            stages[name] = np.ascontiguousarray(x, dtype=np.float32)  # (10, H, W)
        flat = x.reshape(-1)  # (1690,), channel-major as in PyTorch
        logits = (state["output.weight"] @ flat + state["output.bias"]).astype(np.float32)
        stages["flatten"] = flat.astype(np.float32)
        stages["output"] = logits
        stages["softmax"] = softmax(logits)
        results.append(ProbeResult(image=sample, stages=stages, intermediates=inter))
    return results


def default_samples(
    test_x: np.ndarray,
    test_y: np.ndarray,
    predicted: np.ndarray,
    classes: tuple[str, ...],
    test_ids: tuple[str, ...],
    slugify: Callable[[str], str],
) -> list[SampleImage]:
    """One correctly classified test image per class: the first in test order (deterministic).
    A class the model never gets right falls back to its first test image."""
    samples = []
    for c, name in enumerate(classes):
        members = np.flatnonzero(test_y == c)
        if len(members) == 0:
            continue
        right = members[predicted[members] == c]
        i = int(right[0] if len(right) else members[0])
        samples.append(SampleImage(slug=slugify(name), pixels=test_x[i], source=f"test:{test_ids[i]}", label=c))
    return samples


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n: int) -> np.ndarray:
    """(n, n) counts: rows = true class, columns = predicted class."""
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (true.astype(np.int64), predicted.astype(np.int64)), 1)
    return m
