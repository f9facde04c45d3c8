"""One forward pass per sample image, keeping every stage's output and, for every conv neuron,
the per-kernel intermediate results (kernel k applied to input channel k, before the sum)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from generator.arch import ARCH
from generator.model import TinyVGG
from generator.records import ProbeResult, SampleImage
from generator.train import to_tensor


def per_kernel(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (1, in_c, H, W), weight (out_c, in_c, 3, 3) -> (out_c, in_c, H-2, W-2), no bias.

    A grouped convolution computes all out_c * in_c single-channel convolutions in one call.
    """
    out_c, in_c = weight.shape[:2]
    w = weight.transpose(0, 1).reshape(in_c * out_c, 1, *weight.shape[2:])  # group g = input channel g
    y = F.conv2d(x.contiguous(), w, groups=in_c)  # (1, in_c * out_c, H', W')
    return y.reshape(in_c, out_c, *y.shape[2:]).transpose(0, 1).contiguous()


@torch.no_grad()
def probe(model: TinyVGG, samples: list[SampleImage]) -> list[ProbeResult]:
    """Run each sample through the model once, recording everything the figures show."""
    model = model.eval().to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # torch's stubs omit it
    results = []
    for sample in samples:
        x = to_tensor(sample.pixels[None]).contiguous()  # (1, 3, 64, 64)
        stages = {"input": x[0].numpy().copy()}
        inter = {}
        for name, kind in ARCH:
            layer = getattr(model, name)
            if kind == "conv":
                inter[name] = per_kernel(x, layer.weight).numpy()
            x = layer(x)
            stages[name] = x[0].numpy().copy()  # (10, H, W)
        flat = model.flatten(x)  # (1, 1690)
        logits = model.output(flat)
        stages["flatten"] = flat[0].numpy().copy()
        stages["output"] = logits[0].numpy().copy()
        stages["softmax"] = torch.softmax(logits, dim=1)[0].numpy().copy()
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
