"""TinyVGG's forward pass in NumPy: what the probe, `predict` and the figures need from a trained model,
without importing torch (about 1.5 s of a warm build that adds one image).

The weights are a state dict in PyTorch's layout and names (`conv_1_1.weight` (10, 3, 3, 3), ...,
`output.weight` (classes, 1690)), as the train stage saves them. Float32 throughout, as in PyTorch; the
results agree with PyTorch's to float32 rounding (tests/test_probe.py), not bit for bit: the sums are
added in another order.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from generator.arch import ARCH

State = dict[str, np.ndarray]
CHUNK = 64  # images at a time in forward(): conv_1_2's output then takes 9 MB


def load_state(train_dir: Path) -> tuple[State, dict]:
    """The train stage's checkpoint (model.safetensors) and its meta.json."""
    from safetensors.numpy import load_file

    meta = json.loads((train_dir / "meta.json").read_text(encoding="utf-8"))
    return load_file(str(train_dir / "model.safetensors")), meta


def to_input(pixels: np.ndarray) -> np.ndarray:
    """(..., 64, 64, 3) uint8 -> float32 in [0, 1], channels last (the same values as train.to_tensor)."""
    return np.asarray(pixels).astype(np.float32) / np.float32(255.0)


def conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A valid 3x3 convolution, stride 1, channels last: (N, H, W, C) -> (N, H-2, W-2, O). Nine small
    matrix products, one per kernel position, over shifted views: no im2col copy, twice as fast with
    10 channels."""
    n, h, w, _ = x.shape
    y = np.zeros((n, h - 2, w - 2, len(weight)), np.float32)
    for i in range(3):
        for j in range(3):
            y += x[:, i : i + h - 2, j : j + w - 2, :] @ weight[:, :, i, j].T
    y += bias
    return y


def max_pool(x: np.ndarray) -> np.ndarray:
    """2x2 max-pool, stride 2, channels last (an odd last row or column is dropped, as in PyTorch)."""
    n, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def forward(state: State, pixels: np.ndarray, keep: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(N, 64, 64, 3) uint8 -> logits (N, classes), and with `keep` every layer's output (N, C, H, W)."""
    logits: list[np.ndarray] = []
    stages: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(pixels), CHUNK):
        x = to_input(pixels[start : start + CHUNK])
        kept: dict[str, np.ndarray] = {}
        for name, kind in ARCH:
            if kind == "conv":
                x = conv(x, state[f"{name}.weight"], state[f"{name}.bias"])
            elif kind == "relu":
                x = np.maximum(x, np.float32(0.0))
            else:
                x = max_pool(x)
            if keep:
                kept[name] = x.transpose(0, 3, 1, 2)
        flat = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), -1)  # channel-major, as PyTorch
        logits.append(flat @ state["output.weight"].T + state["output.bias"])
        if keep:
            for name, value in kept.items():
                stages.setdefault(name, []).append(value)
    out = np.concatenate(logits) if logits else np.zeros((0, len(state["output.bias"])), np.float32)
    return out.astype(np.float32), {k: np.concatenate(v) for k, v in stages.items()}


def predict_all(state: State, pixels: np.ndarray) -> np.ndarray:
    """Top-1 class index for every image of (N, 64, 64, 3) uint8."""
    return forward(state, pixels)[0].argmax(axis=1)


def per_kernel(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x (C, H, W), weight (O, C, 3, 3) -> (O, C, H-2, W-2): kernel c of neuron o applied to input channel
    c alone, before the sum over channels and the bias (what the convolution figures show)."""
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # (C, H', W', 3, 3)
    return np.einsum("chwij,ocij->ochw", win, weight, optimize=True).astype(np.float32)
