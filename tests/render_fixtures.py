"""A real RenderContext for renderer tests: a seeded TinyVGG, briefly trained on random data, probed
on two procedural images with torch. Nothing is faked: every array comes from a forward pass.

Shared by the renderer tests (R1 and R2). Built once per test session (`render_context()` is cached);
takes well under 2 s on 2 cores.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from generator.arch import CONV_LAYERS, LAYER_NAMES
from generator.datasets.tiny_imagenet import CLASSES  # CNN Explainer's ten, in its order
from generator.model import TinyVGG
from generator.records import FigureSpec, History, ProbeResult, RenderContext, SampleImage

SEED = 0


def procedural_images() -> list[SampleImage]:
    """Two deterministic 64x64 RGB pictures with structure (edges, blobs), not noise."""
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    # A red disc with black dots on green grass: something ladybug-like.
    lady = np.zeros((64, 64, 3), np.float32)
    lady[..., 1] = 0.55 + 0.15 * np.sin(xx / 3.0)
    disc = (yy - 32) ** 2 + (xx - 30) ** 2 < 20**2
    lady[disc] = (0.85, 0.1, 0.08)
    for cy, cx in ((25, 24), (38, 36), (28, 40), (40, 22)):
        lady[(yy - cy) ** 2 + (xx - cx) ** 2 < 3.5**2] = 0.05
    # A yellow bus-like box with dark windows over a grey road and blue sky.
    bus = np.zeros((64, 64, 3), np.float32)
    bus[:32] = (0.45, 0.65, 0.95)
    bus[32:] = (0.4, 0.4, 0.42)
    bus[18:46, 6:58] = (0.95, 0.75, 0.1)
    for x0 in range(10, 54, 10):
        bus[22:30, x0 : x0 + 7] = (0.15, 0.2, 0.25)
    bus[44:50, 12:20] = bus[44:50, 44:52] = 0.05
    return [
        SampleImage("ladybug", np.round(lady * 255).astype(np.uint8), "test:ladybug", 1),
        SampleImage("school-bus", np.round(bus * 255).astype(np.uint8), "test:school-bus", 4),
    ]


def _per_kernel(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Every kernel applied to its own input channel: (in_c, H, W), (out_c, in_c, 3, 3) ->
    (out_c, in_c, H-2, W-2), computed as one grouped convolution."""
    out_c, in_c = weight.shape[:2]
    tiled = x.repeat(out_c, 1, 1)[None]  # (1, out_c*in_c, H, W): group o*in_c+k sees channel k
    res = F.conv2d(tiled, weight.reshape(out_c * in_c, 1, 3, 3), groups=out_c * in_c)
    return res[0].reshape(out_c, in_c, *res.shape[-2:])


def probe_image(model: TinyVGG, image: SampleImage) -> ProbeResult:
    """A forward pass keeping every stage and every conv neuron's per-kernel results."""
    x = torch.from_numpy(np.array(image.pixels)).permute(2, 0, 1).float().div(255.0)  # (3, 64, 64)
    stages: dict[str, np.ndarray] = {"input": x.numpy().copy()}
    inter: dict[str, np.ndarray] = {}
    with torch.no_grad():
        h = x
        for name in LAYER_NAMES:
            layer = getattr(model, name)
            if name in CONV_LAYERS:
                inter[name] = _per_kernel(h, layer.weight).numpy()
            h = layer(h[None])[0]
            stages[name] = h.numpy().copy()
        flat = model.flatten(h[None])  # (1, 1690)
        logits = model.output(flat)[0]
        stages["flatten"] = flat[0].numpy().copy()
        stages["output"] = logits.numpy().copy()
        stages["softmax"] = torch.softmax(logits, 0).numpy().copy()
    return ProbeResult(image=image, stages=stages, intermediates=inter)


def _train(model: TinyVGG, epochs: int = 2) -> History:
    """A tiny real training run on seeded random data, recording conv_1_1's kernels per epoch."""
    gen = torch.Generator().manual_seed(SEED)
    xs = torch.rand(24, 3, 64, 64, generator=gen)
    ys = torch.randint(0, len(CLASSES), (24,), generator=gen)
    kernels = [model.conv_1_1.weight.detach().numpy().copy()]
    hist: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for _ in range(epochs):
        model.train()
        losses, correct = [], 0
        for i in range(0, 16, 8):
            model.zero_grad()
            out = model(xs[i : i + 8])
            loss = F.cross_entropy(out, ys[i : i + 8])
            loss.backward()
            with torch.no_grad():  # plain SGD by hand: torch.optim's first use imports dynamo (~1 s)
                for p in model.parameters():
                    p -= 0.05 * p.grad
            losses.append(loss.item())
            correct += int((out.argmax(1) == ys[i : i + 8]).sum())
        model.eval()
        with torch.no_grad():
            out = model(xs[16:])
            hist["val_loss"].append(float(F.cross_entropy(out, ys[16:])))
            hist["val_acc"].append(float((out.argmax(1) == ys[16:]).float().mean()))
        hist["train_loss"].append(float(np.mean(losses)))
        hist["train_acc"].append(correct / 16)
        kernels.append(model.conv_1_1.weight.detach().numpy().copy())
    best = int(np.argmax(hist["val_acc"])) + 1
    return History(**hist, kernels=np.stack(kernels), best_epoch=best)


@cache
def render_context(scale: str = "layer") -> RenderContext:
    """The shared test context (cached: build it once per session, never mutate it)."""
    torch.manual_seed(SEED)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bitwise-stable results regardless of the machine's core count
    try:
        model = TinyVGG(num_classes=len(CLASSES))
        history = _train(model)
        model.eval()
        probes = {img.slug: probe_image(model, img) for img in procedural_images()}
        gen = torch.Generator().manual_seed(SEED + 1)
        xs = torch.rand(20, 3, 64, 64, generator=gen)
        ys = torch.randint(0, len(CLASSES), (20,), generator=gen)
        with torch.no_grad():
            pred = model(xs).argmax(1)
    finally:
        torch.set_num_threads(threads)
    confusion = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    np.add.at(confusion, (ys.numpy(), pred.numpy()), 1)
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return RenderContext(
        classes=CLASSES,
        weights=weights,
        probes=probes,
        history=history,
        confusion=confusion,
        scale=scale,
        featured="ladybug",
    )


def spec(
    kind: str, image: str | None = "ladybug", layer: str | None = None, neuron: int | None = None, **params
) -> FigureSpec:
    """A FigureSpec as the catalogue would make it (the file name only matters to the cache)."""
    parts = [p for p in (image, kind, layer, None if neuron is None else str(neuron)) if p is not None]
    return FigureSpec(
        id="/".join(parts),
        kind=kind,
        file="/".join(parts) + ".bin",
        image=image,
        layer=layer,
        neuron=neuron,
        params=dict(params),
    )
