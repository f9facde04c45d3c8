"""The pipeline without MkDocs: dataset -> train -> probe (+ one entry per user image) -> figures.

Every stage is cached. Stage keys are computed without importing torch or decoding a single image.
Figures are cached one entry each, keyed by exactly what they read (the renderer's code, the figure's
parameters, the model, that image's pixels, the colour scale), and only the figures a site uses are
rendered: a warm build costs hashes and small JSON reads, and adding an image renders its figures only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Container, Generator, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from generator import cache as cachemod
from generator.cache import Cache, Sources, atomic_write, digest, stage_code_version
from generator.catalog import MPL_KINDS, RENDERERS, build_catalog, dark_file
from generator.config import BuildConfig, image_name
from generator.errors import ConfigError
from generator.examples import choose_featured, featured_stats
from generator.naming import user_slug
from generator.output import BuildOutput, Keys, ManifestEntry, Pending
from generator.records import FigureSpec, Rendered

if TYPE_CHECKING:
    from generator.stages.trainer import Trainer

# Each stage's code: its module and everything it imports (cache.module_closure). Upstream code reaches
# a stage's key through the upstream stage's key.
STAGE_ROOTS: dict[str, tuple[str, ...]] = {
    "train": ("generator.stages.train",),
    "probe": ("generator.stages.probe",),
    "render": ("generator.stages.render", "generator.rendering", "generator.render"),
}
ENTRY = "entry.json"  # a figure entry's record: its manifest entry (size, alt text, caption...)
USED = "used.json"  # under <cache>/figure: the keys the last build used (for `clean --unused`)
Log = Callable[[str], object]


def stage_keys(cfg: BuildConfig) -> Keys:
    """Content hashes of every stage's inputs (cheap: no torch, no image decoding)."""
    from generator.datasets import dataset_spec

    data_spec = dataset_spec(cfg.data)
    sources = Sources()
    train_code = stage_code_version(STAGE_ROOTS["train"], sources=sources)
    train = digest({"data": data_spec, "train": asdict(cfg.train), "code": train_code})
    probe_code = stage_code_version(STAGE_ROOTS["probe"], sources=sources)
    ref = cachemod.file_digest(Path(cfg.reference_weights)) if cfg.reference_weights else None
    probe = digest({"train": train, "reference": ref, "max_samples": cfg.max_samples, "code": probe_code})
    images = []
    for path in cfg.images:
        if not Path(path).is_file():
            raise ConfigError(f"images: {path} does not exist (paths are relative to mkdocs.yml)")
        key = digest({"train": train, "file": cachemod.file_digest(Path(path)), "code": probe_code})
        images.append((Path(path), image_name(cfg, path), key))
    return Keys(train=train, probe=probe, images=tuple(images))


def prepare(
    cfg: BuildConfig, progress: bool = True, log: Log = print, meanwhile: Callable[[], object] | None = None
) -> BuildOutput:
    """Bring the model stages up to date (train, probe, the user's images) and assemble the facts.
    `meanwhile`: the caller's own work for when the model trains (after the renderers are loaded)."""
    store = Cache(cfg.cache_dir, log=log)
    with store.lock():
        return _prepare(cfg, store, progress, log, meanwhile)


def _prepare(
    cfg: BuildConfig, store: Cache, progress: bool, log: Log, meanwhile: Callable[[], object] | None = None
) -> BuildOutput:
    t0 = time.perf_counter()
    keys = stage_keys(cfg)
    timings = {"keys": time.perf_counter() - t0}

    def while_training() -> None:
        _load_renderers()
        if meanwhile is not None:
            meanwhile()

    train_dir, probe_dir, ran = _upstream(cfg, store, keys, progress, log, timings, while_training)
    image_dirs = []
    for path, _, key in keys.images:
        hit = store.get("image", key)
        if hit is None:
            from generator.stages.probe import image_stage  # NumPy only (generator/inference.py)

            def probe_image(out: Path, path: Path = path) -> None:
                image_stage(train_dir, path, out)

            t = time.perf_counter()
            hit = store.put("image", key, probe_image)
            timings["images"] = timings.get("images", 0.0) + time.perf_counter() - t
            if "images" not in ran:
                ran.append("images")
        image_dirs.append(hit)
    facts = json.loads((probe_dir / "facts.json").read_text(encoding="utf-8"))
    files = {s["slug"]: probe_dir / "samples" / f"{s['slug']}.safetensors" for s in facts["samples"]}
    taken = set(files)
    for (path, name, _), folder in zip(keys.images, image_dirs, strict=True):
        sample = json.loads((folder / "sample.json").read_text(encoding="utf-8"))
        sample.update(slug=user_slug(path, name, taken), source=name, label=None)
        facts["samples"].append(sample)
        files[sample["slug"]] = folder / "probe.safetensors"
    slugs = list(files)
    featured = cfg.render.featured or choose_featured(facts["samples"])
    if featured not in files:
        raise ConfigError(f"featured: unknown sample image {featured!r}; sample images: {', '.join(slugs)}")
    unknown = [s for s in cfg.render.detail_images if s not in files]
    if unknown:
        raise ConfigError(
            f"detail_images: unknown sample image(s) {', '.join(unknown)}; sample images: {', '.join(slugs)}"
        )
    facts["featured"] = featured
    facts["featured_stats"] = {
        **featured_stats(next(s for s in facts["samples"] if s["slug"] == featured)),
        "chosen": "config" if cfg.render.featured else "auto",
    }
    return BuildOutput(facts=facts, train_dir=train_dir, probe_files=files, keys=keys, timings=timings, stages_run=ran)


PROBE_CODE = "stages.probe"  # code_versions()'s entry for the probe stage (no renderer module is named so)


def code_versions() -> dict[str, str]:
    """Each renderer module's code version (its import closure with the render stage's), by module, and
    the probe stage's (PROBE_CODE): every figure of an image depends on it. Each file is read once."""
    sources = Sources()
    versions = {
        module: stage_code_version(
            ("generator.stages.render", "generator.rendering", f"generator.render.{module}"), sources=sources
        )
        for module in sorted(set(RENDERERS.values()))
    }
    return {**versions, PROBE_CODE: stage_code_version(STAGE_ROOTS["probe"], sources=sources)}


def figure_keys(
    cfg: BuildConfig,
    out: BuildOutput,
    specs: Iterable[FigureSpec],
    dark: Container[str] | None = None,
    code: dict[str, str] | None = None,
) -> dict[str, str]:
    """figure id -> cache key: the renderer's code, the spec (its language too), the model, that image's
    pixels, the scale, and for the kinds drawn with matplotlib whether their dark variant is drawn (`dark`:
    the ids that get one, None: every one). Nothing else: another image, `featured` or a Markdown edit
    leaves a figure's key alone. `code`: code_versions(), when the caller has it already."""
    code = code or code_versions()
    probe_code = code[PROBE_CODE]
    pixels = {s["slug"]: s["pixels"] for s in out.facts["samples"]}
    keys = {}
    for spec in specs:
        redraw = {"dark": dark is None or spec.id in dark} if spec.kind in MPL_KINDS else {}
        keys[spec.id] = digest(
            {
                **redraw,
                "kind": spec.kind,
                "image": spec.image,
                "layer": spec.layer,
                "neuron": spec.neuron,
                "params": spec.params,
                "lang": spec.lang,
                "code": code[RENDERERS[spec.kind]],
                "model": out.keys.train,
                "pixels": pixels[spec.image] if spec.image else None,
                "probe_code": probe_code if spec.image else None,
                "scale": cfg.render.scale,
            }
        )
    return keys


def render(
    cfg: BuildConfig,
    out: BuildOutput,
    specs: Iterable[FigureSpec],
    progress: bool = True,
    log: Log = print,
    dark: Container[str] | None = None,
    later: Container[str] = (),
    files_later: bool = False,
) -> tuple[int, int]:
    """Make sure every figure of `specs` is in the cache (rendering the misses) and add them to `out`, with
    their dark variants (`dark`: the ids whose matplotlib dark variant is drawn too; None: every one).
    Returns (rendered now, served from the cache).

    What the caller does not need yet may still be drawing when this returns (the workers go on while it
    builds pages); `finish` waits for it:
    - `later`: languages whose pages come later (a bilingual site builds its second language after the
      first): their figures are neither in `out` nor in the cache until finish(out).
    - `files_later`: the caller reads the figures' files only after its pages (MkDocs copies them after
      converting every page). A figure whose light picture is cached and whose dark variant is missing
      is in `out` at once, with the paths its files will have; finish(out, files_only=True) waits for them."""
    finish(out)
    store = Cache(cfg.cache_dir, log=log)
    with store.lock():
        return _render(cfg, store, out, specs, progress, dark, later, files_later)


def finish(out: BuildOutput, files_only: bool = False) -> int:
    """Wait for the figures render() left drawing and store them, adding those not in `out` yet; returns how
    many were finished. files_only: only those whose files were promised (render's `files_later`), not the
    later languages'. Raises what drawing them raised."""
    done = 0
    while out.pending is not None and out.pending.steps and not (files_only and out.pending.steps[0][0] != "files"):
        _, step = out.pending.steps.pop(0)
        try:
            done += step()
        except BaseException:
            abandon(out)
            raise
    if out.pending is not None and not out.pending.steps:
        out.pending.close()  # every group is in: the workers go
        out.pending = None
    return done


def abandon(out: BuildOutput) -> None:
    """Stop drawing what render() left drawing, unfinished (a build that failed): queued figures are
    dropped; nothing more is added to `out` or to the cache."""
    if out.pending is not None:
        out.pending.close()
        out.pending = None


def _render(
    cfg: BuildConfig,
    store: Cache,
    out: BuildOutput,
    specs: Iterable[FigureSpec],
    progress: bool,
    dark: Container[str] | None = None,
    later: Container[str] = (),
    files_later: bool = False,
) -> tuple[int, int]:
    unique = list({spec.id: spec for spec in specs if spec.id not in out.paths}.values())
    out.reserve(spec.id for spec in unique)  # the manifest's order, whatever is drawn when
    rendered = cached = 0
    t = time.perf_counter()
    code = code_versions()
    keys = figure_keys(cfg, out, unique, dark, code)
    # A matplotlib figure drawn with its dark variant also serves a page that wants it without one (the
    # plugin publishes a dark file only for the ids in `dark`): when the featured image changes, the old
    # one's chapter figures, cached with dark variants, serve its explore page instead of being redrawn.
    plain = [s for s in unique if s.kind in MPL_KINDS and dark is not None and s.id not in dark]
    richer = figure_keys(cfg, out, plain, None, code) if plain else {}
    # The other way round: a chapter figure whose light picture is cached without its dark variant (the
    # new featured image's, from its explore page) gets the dark one drawn alone, beside the cached light one.
    themed = [s for s in unique if s.kind in MPL_KINDS and dark is not None and s.id in dark]
    lighter = figure_keys(cfg, out, themed, (), code) if themed else {}
    upgrade: dict[str, Path] = {}  # id -> the cached entry that has its light picture
    found: dict[str, tuple[ManifestEntry, Path]] = {}

    def served(spec: FigureSpec) -> bool:
        """Is it in the cache, intact (noted in `found`)? If not: is its light picture (noted in `upgrade`)?"""
        hit = store.get_with("figure", keys[spec.id], ENTRY)
        if hit is None and spec.id in richer:
            hit = store.get_with("figure", richer[spec.id], ENTRY)
            if hit is not None:
                keys[spec.id] = richer[spec.id]  # the entry used (kept by `clean --unused`)
        if hit is None:
            light = store.get("figure", lighter[spec.id]) if spec.id in lighter else None
            if light is not None:
                upgrade[spec.id] = light
            return False
        folder, raw = hit
        entry = json.loads(raw)
        found[spec.id] = (entry, folder / _name(spec))
        if "dark" in entry:
            out.dark_paths[spec.id] = folder / _name(spec, dark=True)
        return True

    def there(spec: FigureSpec) -> bool:
        return any(os.path.isdir(store.path("figure", k[spec.id])) for k in (keys, richer) if spec.id in k)

    # A figure with no entry at all is a miss for sure: those start drawing before the other entries are
    # checked (~1,700 hashed), and the workers load the renderers meanwhile.
    todo = [spec for spec in unique if not there(spec)]
    missing = {spec.id for spec in todo}
    for spec in todo:
        served(spec)  # (notes its cached light picture, if any)
    now, soon, deferred = _groups(todo, later, set(upgrade) if files_later else set())
    drawn = _start(cfg, out, now, soon, deferred, progress, dark, set(upgrade)) if todo else None
    damaged = []
    for spec in unique:
        if spec.id in missing:
            continue
        if served(spec):
            cached += 1
        else:
            damaged.append(spec)
    out.used_keys.update(keys.values())
    if not store.read_only:
        _record_used(store, out)
    for spec in soon:  # in `out` at once: the light picture's entry, and the paths the new entry will have
        light = upgrade[spec.id]
        entry = json.loads((light / ENTRY).read_text(encoding="utf-8"))
        folder = store.path("figure", keys[spec.id])
        entry["dark"], entry["dark_bytes"] = dark_file(spec.file), 0  # its size once drawn (finish)
        found[spec.id] = (entry, folder / _name(spec))
        out.dark_paths[spec.id] = folder / _name(spec, dark=True)

    def store_one(spec: FigureSpec, fig: Rendered) -> None:
        if spec.id in upgrade:  # its light picture and words from the cache, its dark one just drawn
            light = upgrade[spec.id]
            cached_entry = json.loads((light / ENTRY).read_text(encoding="utf-8"))
            fig = dataclasses.replace(
                fig,
                data=(light / _name(spec)).read_bytes(),
                min_text_px=cached_entry["min_text_px"],
                stats=cached_entry.get("stats", {}),
            )
        entry = ManifestEntry(
            id=spec.id,
            kind=spec.kind,
            image=spec.image,
            layer=spec.layer,
            neuron=spec.neuron,
            file=spec.file,
            lang=spec.lang,
            bytes=len(fig.data),
            width=fig.width,
            height=fig.height,
            alt=fig.alt,
            caption=fig.caption,
            hash=hashlib.sha256(fig.data).hexdigest()[:16],
            min_text_px=fig.min_text_px,
        )
        if "hyper" in spec.params:
            entry["hyper"] = spec.params["hyper"]
        if fig.stats:
            entry["stats"] = fig.stats
        if fig.dark is not None:
            entry["dark"], entry["dark_bytes"] = dark_file(spec.file), len(fig.dark)

        def write(d: Path) -> None:
            (d / _name(spec)).write_bytes(fig.data)
            if fig.dark is not None:
                (d / _name(spec, dark=True)).write_bytes(fig.dark)
            (d / ENTRY).write_text(json.dumps(entry, ensure_ascii=False, sort_keys=True), encoding="utf-8")

        folder = store.put("figure", keys[spec.id], write, record=False)
        promised = out.figure(spec.id)
        if promised is not None:  # in `out` since render() returned (`soon`): complete it in place
            promised.update(entry)
        found[spec.id] = (entry, folder / _name(spec))
        if fig.dark is not None:
            out.dark_paths[spec.id] = folder / _name(spec, dark=True)

    if drawn is not None:
        try:
            for _ in now:  # the workers draw `now` first, then go on with the rest while we return
                store_one(*next(drawn))
                rendered += 1
        except BaseException:
            drawn.close()  # a failed figure or write: nothing else is drawn, the workers go at once
            raise
    if damaged:  # entries that failed their check (rare): drawn at once, all of them
        from generator.pool import render_figures

        for spec, fig in render_figures(cfg, out, damaged, progress, dark, set(upgrade) & {s.id for s in damaged}):
            store_one(spec, fig)
            rendered += 1
    if (todo or damaged) and "render" not in out.stages_run:
        out.stages_run.append("render")
    waiting = {spec.id for spec in deferred}
    for spec in unique:  # in the order asked, whatever came from the cache
        if spec.id not in waiting:
            out.add(*found[spec.id])
    out.timings["render"] = out.timings.get("render", 0.0) + time.perf_counter() - t
    out.rendered += rendered
    out.cached += cached

    def rest(group: list[FigureSpec], add: bool) -> Callable[[], int]:
        def step() -> int:
            job = drawn
            assert job is not None  # (a group to wait for was queued)
            t = time.perf_counter()
            with store.lock():
                for _ in group:
                    store_one(*next(job))
            if add:
                for spec in group:
                    out.add(*found[spec.id])
            out.rendered += len(group)
            out.timings["render"] = out.timings.get("render", 0.0) + time.perf_counter() - t
            return len(group)

        return step

    steps = [("files", rest(soon, add=False))] if soon else []
    steps += [("later", rest(deferred, add=True))] if deferred else []
    if steps:
        assert drawn is not None
        out.pending = Pending(steps, drawn)
    elif drawn is not None:
        drawn.close()  # everything is in: the workers go now, not when the generator is collected
    return rendered, cached


def _groups(
    todo: list[FigureSpec], later: Container[str], promised: Container[str]
) -> tuple[list[FigureSpec], list[FigureSpec], list[FigureSpec]]:
    """The misses in three groups, drawn in this order: what the caller needs now; the dark variants whose
    entry is known from their cached light picture (`promised`: only their files are awaited); the later
    languages' figures."""
    deferred = [spec for spec in todo if spec.lang in later]
    soon = [spec for spec in todo if spec.lang not in later and spec.id in promised]
    now = [spec for spec in todo if spec.lang not in later and spec.id not in promised]
    return now, soon, deferred


def _start(
    cfg: BuildConfig,
    out: BuildOutput,
    now: list[FigureSpec],
    soon: list[FigureSpec],
    deferred: list[FigureSpec],
    progress: bool,
    dark: Container[str] | None,
    only_dark: Container[str],
) -> Generator[tuple[FigureSpec, Rendered], None, None]:
    """Start drawing the three groups (in their order); each worker loads the renderers it needs itself,
    while this process goes on checking the cache."""
    from generator.pool import render_figures  # matplotlib and the renderers: only on a miss

    rank = {**{s.id: 1 for s in soon}, **{s.id: 2 for s in deferred}}
    return render_figures(cfg, out, now + soon + deferred, progress, dark, only_dark, rank, preload=False)


def _name(spec: FigureSpec, dark: bool = False) -> str:
    return ("figure-dark" if dark else "figure") + Path(spec.file).suffix


def _record_used(store: Cache, out: BuildOutput) -> None:
    keys = {
        "figure": sorted(out.used_keys),
        "train": [out.keys.train],
        "probe": [out.keys.probe],
        "image": sorted(k for _, _, k in out.keys.images),
    }
    path, data = store.root / "figure" / USED, json.dumps(keys, indent=0).encode()
    try:
        if not path.is_file() or path.read_bytes() != data:  # unchanged: leave it (and its mtime) alone
            atomic_write(path, data)
    except OSError as exc:
        raise cachemod.explain(exc, store.root) from exc


def catalog(cfg: BuildConfig, out: BuildOutput) -> list[FigureSpec]:
    """Every figure the build offers (`figures: all`): the default catalogue of every sample."""
    slugs = [s["slug"] for s in out.facts["samples"]]
    examples = {s["slug"]: s.get("examples", {}) for s in out.facts["samples"]}
    return build_catalog(slugs, out.facts["featured"], cfg.render.detail_images, len(out.facts["classes"]), examples)


def run(cfg: BuildConfig, progress: bool = True, log: Log = print) -> BuildOutput:
    """The whole pipeline for the whole catalogue (the command line's `build`), under one lock: a second
    build waits for all of it, then finds everything cached."""
    store = Cache(cfg.cache_dir, log=log)
    with store.lock():
        out = _prepare(cfg, store, progress, log)
        _render(cfg, store, out, catalog(cfg, out), progress)
    return out


def ensure_model(cfg: BuildConfig, progress: bool = True, log: Log = print) -> tuple[Path, Path]:
    """The train and probe stages only (for `train`, `predict` and `figure`): their directories."""
    store = Cache(cfg.cache_dir, log=log)
    with store.lock():
        train_dir, probe_dir, _ = _upstream(cfg, store, stage_keys(cfg), progress, log, {})
    return train_dir, probe_dir


def _upstream(
    cfg: BuildConfig,
    store: Cache,
    keys: Keys,
    progress: bool,
    log: Log,
    timings: dict[str, float],
    meanwhile: Callable[[], object] | None = None,
) -> tuple[Path, Path, list[str]]:
    """Train and probe, where their entries are missing. `meanwhile` runs here while the trainer trains."""
    ran: list[str] = []
    train_dir = store.get("train", keys.train)
    probe_dir = store.get("probe", keys.probe)
    if train_dir is not None and probe_dir is not None:
        return train_dir, probe_dir, ran
    from generator.stages.common import load_data
    from generator.stages.probe import probe_stage

    # The trainer process imports torch while this one draws the data (stages/trainer.py). Importing
    # torch is one thread's work: the drawing leaves it a core, or the trainer would be ready last.
    trainer = None if train_dir is not None else _trainer()
    try:
        t = time.perf_counter()
        data = load_data(cfg, progress, threads=None if trainer is None else max(1, (os.cpu_count() or 1) - 1))
        timings["data"] = time.perf_counter() - t
        if trainer is not None:
            t = time.perf_counter()
            log(f"training TinyVGG on {cfg.data.name} ({cfg.profile} profile)")
            train_dir = store.put("train", keys.train, lambda d: trainer.train(cfg.train, data, d, progress, meanwhile))
            # The data waiting for the trainer to import torch is overhead, not training: its own entry.
            timings["torch"] = trainer.ready_after
            timings["train"] = time.perf_counter() - t - trainer.ready_after
            ran.append("train")
    finally:
        if trainer is not None:
            trainer.close()
    assert train_dir is not None
    if probe_dir is None:
        t = time.perf_counter()
        probe_dir = store.put("probe", keys.probe, lambda d: probe_stage(cfg, data, train_dir, d))
        timings["probe"] = time.perf_counter() - t
        ran.append("probe")
    return train_dir, probe_dir, ran


def _trainer() -> Trainer:
    from generator.stages.trainer import Trainer

    return Trainer()


def _load_renderers() -> None:
    """A fresh model means every figure is drawn: load matplotlib and the renderers (~0.5 s) while the
    model trains, not after (render workers forked later inherit them)."""
    import importlib

    import generator.pool  # noqa: F401

    for module in sorted(set(RENDERERS.values())):
        importlib.import_module(f"generator.render.{module}")


def clean_unused(cfg_cache: Path, log: Log = print) -> int:
    """Remove the cache entries the last build did not use; returns the bytes freed."""
    store = Cache(cfg_cache, log=log)
    used_file = store.root / "figure" / USED
    try:
        used = json.loads(used_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"clean --unused: {used_file} is missing or unreadable; run a build first, then clean"
        ) from None
    return store.remove_except({stage: set(keys) for stage, keys in used.items()})
