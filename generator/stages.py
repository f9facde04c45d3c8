"""The stages that need torch, each writing into a fresh directory that the cache publishes.

Only imported on a cache miss (see build.run), so warm builds never import torch.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import re
import signal
import sys
from pathlib import Path

import numpy as np

# libgomp's threads spin ~300,000 times before sleeping. When the machine has other work (a second
# build, a test run) that spinning steals the cores torch needs: training steps were measured up to 4x
# slower. A short spin keeps the quiet-machine speed and wins under load (one epoch beside two busy
# processes: 10.2 s, against 12.9 s fully passive and 14.1 s default). It does not change any result.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")
import torch  # noqa: E402
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from generator.arch import CONV_LAYERS
from generator.build import base_facts, write_json
from generator.catalog import build_catalog
from generator.config import BuildConfig, image_name
from generator.datasets import CLASS_NAMES_ZH, Dataset, load_dataset
from generator.errors import ConfigError
from generator.images import load_image, slugify
from generator.model import TinyVGG
from generator.probe import confusion_matrix, default_samples, probe
from generator.records import History, ProbeResult, RenderContext, SampleImage
from generator.rendering import render_many
from generator.train import predict_all, train

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


def train_stage(cfg: BuildConfig, data: Dataset, out: Path, progress: bool) -> None:
    result = train(data, cfg.train, progress=progress)
    save_arrays(result.state, out / "model.safetensors")
    save_arrays({"kernels": result.history.kernels.astype(np.float32)}, out / "history.safetensors")
    h = result.history
    write_json(out / "meta.json", {
        "architecture": "TinyVGG",
        "classes": list(data.classes),
        "classes_zh": [CLASS_NAMES_ZH.get(c, c) for c in data.classes],
        "dataset": data.name,
        "data_spec": data.spec,
        "train_config": cfg.train.__dict__,
        "history": {"train_loss": h.train_loss, "train_acc": h.train_acc, "val_loss": h.val_loss,
                    "val_acc": h.val_acc, "best_epoch": h.best_epoch},
        "metrics": {"test_acc": result.test_acc, "val_acc": h.val_acc[h.best_epoch - 1],
                    "epochs": len(h.train_loss), "best_epoch": h.best_epoch,
                    "train_seconds": round(result.seconds, 2), "train_images": int(len(data.train_y)),
                    "val_images": int(len(data.val_y)), "test_images": int(len(data.test_y))},
        "torch_threads": torch.get_num_threads(),
    })


def load_model(train_dir: Path) -> tuple[TinyVGG, dict]:
    meta = json.loads((train_dir / "meta.json").read_text(encoding="utf-8"))
    model = TinyVGG(num_classes=len(meta["classes"]))
    state = {k: torch.from_numpy(v) for k, v in load_file(str(train_dir / "model.safetensors")).items()}
    model.load_state_dict(state)
    return model.eval(), meta


def user_samples(cfg: BuildConfig, paths: tuple[Path, ...], taken: set[str]) -> list[SampleImage]:
    """The user's own images (mkdocs.yml `images`), slugged from their file names. Names are relative to
    mkdocs.yml, so the slugs and sources do not depend on where the project is checked out."""
    samples = []
    for path in paths:
        name = image_name(cfg, path)
        slug = slugify(Path(path).stem) or "image"
        if slug in taken:
            slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
        taken.add(slug)
        samples.append(SampleImage(slug=slug, pixels=load_image(Path(path)), source=name, label=None))
    return samples


def _reference_accuracy(cfg: BuildConfig, data: Dataset) -> dict | None:
    """CNN Explainer's own model on the same test images (full profile with reference_weights)."""
    if not cfg.reference_weights:
        return None
    from generator.weights import load_weights, to_module

    state, meta = load_weights(Path(cfg.reference_weights))
    if list(meta.get("classes", [])) != list(data.classes):
        raise ConfigError(f"reference_weights: {cfg.reference_weights} was trained on other classes "
                          f"({', '.join(meta.get('classes', []))}); use it with the tiny-imagenet-10 dataset")
    model = to_module(state, len(data.classes))
    pred = predict_all(model, data.test_x)
    return {"name": "CNN Explainer", "test_acc": float((pred == data.test_y).mean())}


def probe_stage(cfg: BuildConfig, data: Dataset, train_dir: Path, out: Path) -> None:
    model, meta = load_model(train_dir)
    predicted = predict_all(model, data.test_x)
    samples = default_samples(data.test_x, data.test_y, predicted, data.classes, data.test_ids, slugify)
    if cfg.max_samples:
        samples = samples[: cfg.max_samples]
    samples += user_samples(cfg, cfg.images, {s.slug for s in samples})
    results = probe(model, samples)
    (out / "samples").mkdir()
    for r in results:
        arrays = {"pixels": r.image.pixels}
        arrays.update({f"stage.{k}": v for k, v in r.stages.items()})
        arrays.update({f"inter.{k}": v for k, v in r.intermediates.items()})
        path = out / "samples" / f"{r.image.slug}.safetensors"
        save_arrays({k: np.ascontiguousarray(v) for k, v in arrays.items()}, path)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    facts = base_facts(meta["classes"], meta["classes_zh"])
    facts.update({
        "dataset": meta["dataset"], "profile": cfg.profile, "metrics": meta["metrics"],
        "history": meta["history"],
        "confusion": confusion_matrix(data.test_y, predicted, len(data.classes)).tolist(),
        "biases": {layer: state[f"{layer}.bias"].tolist() for layer in [*CONV_LAYERS, "output"]},
        "samples": [{"slug": r.image.slug, "source": r.image.source, "label": r.image.label,
                     "predicted": r.predicted, "logits": r.stages["output"].tolist(),
                     "probs": r.stages["softmax"].tolist()} for r in results],
        "reference": _reference_accuracy(cfg, data),
    })
    write_json(out / "facts.json", facts)


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
