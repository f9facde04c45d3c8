"""The render stage: every figure of the catalogue, its manifest entry, and the final facts.json."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from generator.cache import write_json
from generator.catalog import build_catalog
from generator.config import BuildConfig
from generator.errors import ConfigError
from generator.probe import probe
from generator.records import History, ProbeResult, RenderContext, SampleImage
from generator.rendering import render_many
from generator.stages.common import load_model
from generator.stages.probe import user_samples

_RENDERING = False  # True while render_stage's worker pool may fork


def _die_with_parent() -> None:
    """In a render worker (a child forked while _RENDERING): die when the build process dies.

    A build killed with SIGKILL cannot shut its worker pool down; without this, the workers would
    linger forever, blocked on a pipe nobody reads. Linux only (prctl); elsewhere a no-op."""
    if not _RENDERING or sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


os.register_at_fork(after_in_child=_die_with_parent)


def load_probes(probe_dir: Path, facts: dict) -> dict[str, ProbeResult]:
    probes = {}
    for s in facts["samples"]:
        arrays = load_file(str(probe_dir / "samples" / f"{s['slug']}.safetensors"))
        image = SampleImage(slug=s["slug"], pixels=arrays["pixels"], source=s["source"], label=s["label"])
        stages = {k[6:]: v for k, v in arrays.items() if k.startswith("stage.")}
        inter = {k[6:]: v for k, v in arrays.items() if k.startswith("inter.")}
        probes[s["slug"]] = ProbeResult(image=image, stages=stages, intermediates=inter)
    return probes


def make_context(cfg: BuildConfig, train_dir: Path, facts: dict, probes: dict[str, ProbeResult]) -> RenderContext:
    weights = load_file(str(train_dir / "model.safetensors"))
    kernels = load_file(str(train_dir / "history.safetensors"))["kernels"]
    h = facts["history"]
    history = History(train_loss=h["train_loss"], train_acc=h["train_acc"], val_loss=h["val_loss"],
                      val_acc=h["val_acc"], kernels=kernels, best_epoch=h["best_epoch"])
    featured = cfg.render.featured or next(iter(probes))
    if featured not in probes:
        raise ConfigError(f"featured: unknown sample image {featured!r}; sample images: {', '.join(probes)}")
    return RenderContext(classes=tuple(facts["classes"]), weights=weights, probes=probes, history=history,
                         confusion=np.array(facts["confusion"]), scale=cfg.render.scale, featured=featured)


def render_stage(cfg: BuildConfig, train_dir: Path, probe_dir: Path, out: Path, progress: bool) -> None:
    global _RENDERING
    facts = json.loads((probe_dir / "facts.json").read_text(encoding="utf-8"))
    probes = load_probes(probe_dir, facts)
    ctx = make_context(cfg, train_dir, facts, probes)
    unknown = [s for s in cfg.render.detail_images if s not in probes]
    if unknown:
        raise ConfigError(f"detail_images: unknown sample image(s) {', '.join(unknown)}; "
                          f"sample images: {', '.join(probes)}")
    specs = build_catalog(list(probes), ctx.featured, cfg.render.detail_images, len(facts["classes"]))
    manifest = []
    _RENDERING = True  # the render workers forked from here die with this process
    try:
        for spec, rendered in render_many(specs, ctx, cfg.render.workers, progress):
            path = out / "figures" / spec.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rendered.data)
            manifest.append({
                "id": spec.id, "kind": spec.kind, "image": spec.image, "layer": spec.layer, "neuron": spec.neuron,
                **spec.params, "file": spec.file, "bytes": len(rendered.data), "width": rendered.width,
                "height": rendered.height, "alt": rendered.alt, "caption": rendered.caption,
                "hash": hashlib.sha256(rendered.data).hexdigest()[:16],
            })
    finally:
        _RENDERING = False
    facts["featured"] = ctx.featured
    write_json(out / "facts.json", facts)
    write_json(out / "figures" / "manifest.json", {"version": 1, "featured": ctx.featured, "figures": manifest})


def render_single(cfg: BuildConfig, train_dir: Path, probe_dir: Path, kind: str, image: Path | None,
                  layer: str | None, neuron: int | None, hyper: str | None):
    """One figure for any image (a user's own too), from the cached model: (spec, Rendered)."""
    from generator.catalog import KINDS, make_spec
    from generator.rendering import render_one

    facts = json.loads((probe_dir / "facts.json").read_text(encoding="utf-8"))
    probes = load_probes(probe_dir, facts)
    slug = None
    if image is not None:
        model, _ = load_model(train_dir)
        (sample,) = user_samples(cfg, (image,), set(probes))
        probes = {sample.slug: probe(model, [sample])[0], **probes}
        slug = sample.slug
    elif kind in KINDS and KINDS[kind][0] == "image":
        slug = cfg.render.featured or next(iter(probes))
    ctx = make_context(cfg, train_dir, facts, probes)
    ctx = dataclasses.replace(ctx, featured=slug or ctx.featured)
    spec = make_spec(kind, image=slug, layer=layer, neuron=neuron, hyper=hyper, num_classes=len(facts["classes"]))
    return spec, render_one(spec, ctx)
