"""Plain data passed between stages (numpy only, no torch): what the probe measured and what the
renderers return. Renderers are pure: (FigureSpec, RenderContext) -> Rendered."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, Protocol, TypedDict

import numpy as np


@dataclass(frozen=True)
class SampleImage:
    """One image the site explains."""

    slug: str  # stable, URL-safe id: the class name for default samples ("ladybug"), file stem for user images
    pixels: np.ndarray  # (64, 64, 3) uint8
    source: str  # "test:<id>" for dataset samples, the path for user images
    label: int | None  # true class index when known


@dataclass(frozen=True)
class ProbeResult:
    """Every intermediate tensor of one forward pass (float32, channel-major, batch dim dropped).

    stages: "input" (3, 64, 64) in [0, 1]; "conv_1_1" (10, 62, 62) ... "max_pool_2" (10, 13, 13);
            "flatten" (1690,); "output" (C,) logits; "softmax" (C,) probabilities.
    intermediates: conv layer name -> (out_c, in_c, H, W): kernel k of neuron o applied to input
            channel k alone, before summation and without bias. Sum over axis 1 + bias = the conv output.
    """

    image: SampleImage
    stages: dict[str, np.ndarray]
    intermediates: dict[str, np.ndarray]

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.stages["output"]))


@dataclass(frozen=True)
class History:
    """Per-epoch training record. kernels[e] is conv_1_1's weight (10, 3, 3, 3) after epoch e
    (kernels[0] = initialisation), so len(kernels) == len(train_loss) + 1."""

    train_loss: list[float]
    train_acc: list[float]
    val_loss: list[float]
    val_acc: list[float]
    kernels: np.ndarray  # (epochs + 1, 10, 3, 3, 3)
    best_epoch: int  # 1-based epoch whose weights were kept


@dataclass(frozen=True)
class RenderContext:
    """Everything a renderer may read. Weights use PyTorch layout: "conv_1_1.weight" (10, 3, 3, 3),
    "conv_1_1.bias" (10,), ..., "output.weight" (C, 1690), "output.bias" (C,)."""

    classes: tuple[str, ...]
    weights: dict[str, np.ndarray]
    probes: dict[str, ProbeResult]  # by image slug, in sample order
    history: History
    confusion: np.ndarray  # (C, C) int: rows = true class, columns = predicted, on the test split
    classes_zh: tuple[str, ...] = ()  # Chinese class names (facts["classes_zh"]) for the zh figures
    scale: str = "layer"  # "layer": one colour range per layer per image; "neuron": per map
    featured: str = ""  # slug of the featured image
    # `figure` only (the build always draws each kind's own format at its own size): "svg" or "pdf" for
    # the kinds drawn with matplotlib (catalog.VECTOR_KINDS; softmax then draws its last frame as a still),
    # and `zoom` times the pixels for their PNGs.
    output: str = ""
    zoom: int = 1


@dataclass(frozen=True)
class FigureSpec:
    """One entry of the figure catalogue. id and file never depend on the model's numbers."""

    id: str  # e.g. "ladybug/conv/conv_1_1-0"
    kind: str  # e.g. "conv-overview"
    file: str  # path under figures/, e.g. "ladybug/conv/conv_1_1-0.gif"
    image: str | None = None  # sample image slug, None for once-per-build figures
    layer: str | None = None
    neuron: int | None = None
    params: dict = field(default_factory=dict)  # kind-specific extras (e.g. {"hyper": "padding"})
    lang: str = "any"  # "zh" or "en" for figures with words in them (their id ends in ".zh"/".en"), else "any"


@dataclass(frozen=True)
class Rendered:
    """A renderer's result: encoded bytes plus the words that go with them."""

    data: bytes
    width: int
    height: int
    alt: dict[str, str]  # {"zh": ..., "en": ...}: what the picture shows, with the real numbers
    caption: dict[str, str]  # {"zh": ..., "en": ...}
    stats: dict = field(default_factory=dict)  # what the figure shows, measured (manifest `stats`)
    # Height in the figure's own pixels of its smallest text (the font size drawn); None: no text (a pure
    # heatmap). rendering.render_one fills it in from what the renderer drew (render/measure.py).
    min_text_px: float | None = None
    # The same picture for a dark page (Material's slate scheme): background and text in dark colours,
    # every data colour unchanged. None for figures that sit on any background (transparent ones).
    dark: bytes | None = None


class Sample(TypedDict):
    """One sample image in facts.json: a test image of the dataset, or one of the user's own."""

    slug: str
    source: str  # "test:<id>", or the image's path relative to mkdocs.yml
    label: int | None  # the true class, when known
    predicted: int
    logits: list[float]
    probs: list[float]
    pixels: str  # sha256 (16 hex) of the 64x64x3 input: what identifies its probe for a model
    examples: NotRequired[dict]  # the examples chosen from its probe, with their statistics (examples.py)


class TrainingRecord(TypedDict):
    """Per-epoch losses and accuracies in facts.json (records.History adds the kernels)."""

    train_loss: list[float]
    train_acc: list[float]
    val_loss: list[float]
    val_acc: list[float]
    best_epoch: int


class Metrics(TypedDict):
    """How training went, in facts.json."""

    test_acc: float
    val_acc: float
    epochs: int
    best_epoch: int
    train_seconds: float
    train_images: int
    val_images: int
    test_images: int


class Facts(TypedDict):
    """What the pages quote (the probe stage's facts.json, plus the build's choices)."""

    classes: list[str]
    classes_zh: list[str]
    layers: dict[str, dict]  # layer -> {"shape": [...], "params": int, "in_channels": int}
    param_count: int
    dataset: str
    profile: str
    metrics: Metrics
    history: TrainingRecord
    confusion: list[list[int]]
    biases: dict[str, list[float]]
    samples: list[Sample]
    reference: dict | None  # CNN Explainer's accuracy on the same test images, when measured
    featured: NotRequired[str]  # set by build.prepare
    featured_stats: NotRequired[dict]  # its class and the model's confidence (examples.featured_stats)


class ModelFiles(Protocol):
    """Where the render stage finds the model and the probes (output.BuildOutput is one). A protocol, so
    that the render stage's code hash leaves out the manifest's code."""

    @property
    def facts(self) -> Facts: ...
    @property
    def train_dir(self) -> Path: ...
    @property
    def probe_files(self) -> dict[str, Path]: ...
