"""The render stage: draws the figures the build asks for (build.render caches each on its own)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from generator.config import BuildConfig, image_name
from generator.errors import ConfigError
from generator.images import load_image
from generator.naming import user_slug
from generator.records import (
    FigureSpec,
    History,
    ModelFiles,
    ProbeResult,
    RenderContext,
    Rendered,
    Sample,
    SampleImage,
)


def load_probe(path: Path, sample: Sample) -> ProbeResult:
    arrays = load_file(str(path))
    image = SampleImage(slug=sample["slug"], pixels=arrays["pixels"], source=sample["source"], label=sample["label"])
    stages = {k[6:]: v for k, v in arrays.items() if k.startswith("stage.")}
    inter = {k[6:]: v for k, v in arrays.items() if k.startswith("inter.")}
    return ProbeResult(image=image, stages=stages, intermediates=inter)


def make_context(cfg: BuildConfig, out: ModelFiles, slugs: set[str]) -> RenderContext:
    """What the renderers read, with the probes of `slugs` only (a figure reads its own image)."""
    facts = out.facts
    probes = {s["slug"]: load_probe(out.probe_files[s["slug"]], s) for s in facts["samples"] if s["slug"] in slugs}
    weights = load_file(str(out.train_dir / "model.safetensors"))
    kernels = load_file(str(out.train_dir / "history.safetensors"))["kernels"]
    h = facts["history"]
    history = History(
        train_loss=h["train_loss"],
        train_acc=h["train_acc"],
        val_loss=h["val_loss"],
        val_acc=h["val_acc"],
        kernels=kernels,
        best_epoch=h["best_epoch"],
    )
    return RenderContext(
        classes=tuple(facts["classes"]),
        classes_zh=tuple(facts.get("classes_zh") or facts["classes"]),
        weights=weights,
        probes=probes,
        history=history,
        confusion=np.array(facts["confusion"]),
        scale=cfg.render.scale,
        featured=facts["featured"],
    )


def render_single(
    cfg: BuildConfig,
    out: ModelFiles,
    kind: str,
    image: Path | None,
    layer: str | None,
    neuron: int | None,
    hyper: str | None,
    fmt: str = "",
    zoom: int = 1,
    lang: str = "en",
) -> tuple[FigureSpec, Rendered]:
    """One figure for any image (a user's own too), from the cached model, not cached itself. `fmt` is one
    of catalog.formats(kind) ("" = the kind's own); `zoom` (PNG only) multiplies its pixels: the kinds
    drawn with matplotlib are redrawn at that resolution, the others enlarged pixel by pixel. `lang`: the
    language of the words in the figure (catalog.worded kinds)."""
    from generator.catalog import KINDS, VECTOR_KINDS, make_spec
    from generator.render.png import enlarge
    from generator.rendering import render_one

    slug = None
    if image is not None:
        from generator.inference import load_state
        from generator.probe import probe

        state, _ = load_state(out.train_dir)
        name = image_name(cfg, image)
        slug = user_slug(image, name, set(out.probe_files))
        sample = SampleImage(slug=slug, pixels=load_image(image), source=name, label=None)
        ctx = make_context(cfg, out, set())
        ctx = dataclasses.replace(ctx, probes={slug: probe(state, [sample])[0]}, featured=slug)
    else:
        if kind in KINDS and KINDS[kind][0] == "image":
            slug = out.facts["featured"]
        ctx = make_context(cfg, out, {slug} if slug else set())
    classes = len(out.facts["classes"])
    spec = make_spec(kind, image=slug, layer=layer, neuron=neuron, hyper=hyper, num_classes=classes, lang=lang)
    if kind in VECTOR_KINDS:
        return spec, render_one(spec, dataclasses.replace(ctx, output=fmt, zoom=zoom))
    if zoom != 1 and KINDS[kind][3] != "png":
        raise ConfigError(f"zoom: only PNG figures can be enlarged; {kind!r} is a {KINDS[kind][3].upper()}")
    rendered = render_one(spec, ctx)
    if zoom == 1:
        return spec, rendered
    return spec, dataclasses.replace(
        rendered,
        data=enlarge(rendered.data, zoom),
        width=rendered.width * zoom,
        height=rendered.height * zoom,
        min_text_px=None if rendered.min_text_px is None else rendered.min_text_px * zoom,
    )
