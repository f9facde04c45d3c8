"""The pipeline without MkDocs: dataset -> train -> probe -> render, each stage cached.

Stage keys are computed without importing torch or decoding a single image, so a warm build
(nothing changed but Markdown) costs a few hashes and a JSON read.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from generator import cache as cachemod
from generator.cache import Cache, digest, stage_code_version
from generator.config import BuildConfig, image_name
from generator.errors import ConfigError

# Each stage's code: its module and everything it imports (cache.module_closure). Upstream code reaches
# a stage's key through the upstream stage's key.
STAGE_ROOTS: dict[str, tuple[str, ...]] = {
    "train": ("generator.stages.train",),
    "probe": ("generator.stages.probe",),
    "render": ("generator.stages.render", "generator.render"),
}


@dataclass
class BuildOutput:
    """A finished render stage: figures/ + manifest.json + facts.json under `root`."""

    root: Path
    facts: dict
    manifest: list[dict]
    timings: dict[str, float] = field(default_factory=dict)
    stages_run: list[str] = field(default_factory=list)

    @property
    def figures_dir(self) -> Path:
        return self.root / "figures"

    def figure(self, fig_id: str) -> dict | None:
        return self._by_id.get(fig_id)

    def __post_init__(self) -> None:
        self._by_id = {entry["id"]: entry for entry in self.manifest}

    @classmethod
    def load(cls, root: Path) -> BuildOutput:
        facts = json.loads((root / "facts.json").read_text(encoding="utf-8"))
        manifest = json.loads((root / "figures" / "manifest.json").read_text(encoding="utf-8"))["figures"]
        return cls(root=root, facts=facts, manifest=manifest)


@dataclass(frozen=True)
class Keys:
    train: str
    probe: str
    render: str


def stage_keys(cfg: BuildConfig) -> Keys:
    """Content hashes of every stage's inputs (cheap: no torch, no image decoding)."""
    from generator.datasets import dataset_spec

    data_spec = dataset_spec(cfg.data)
    train = digest({"data": data_spec, "train": asdict(cfg.train), "code": stage_code_version(STAGE_ROOTS["train"])})
    images = []
    for path in cfg.images:
        if not Path(path).is_file():
            raise ConfigError(f"images: {path} does not exist (paths are relative to mkdocs.yml)")
        images.append([image_name(cfg, path), cachemod.file_digest(Path(path))])
    ref = cachemod.file_digest(Path(cfg.reference_weights)) if cfg.reference_weights else None
    probe = digest({"train": train, "images": images, "reference": ref, "max_samples": cfg.max_samples,
                    "code": stage_code_version(STAGE_ROOTS["probe"])})
    render = digest({"probe": probe, "render": asdict(cfg.render), "code": stage_code_version(STAGE_ROOTS["render"])})
    return Keys(train=train, probe=probe, render=render)


def run(cfg: BuildConfig, progress: bool = True, log=print) -> BuildOutput:
    """Bring every stage up to date and return the render stage (figures, manifest, facts)."""
    store = Cache(cfg.cache_dir, log=log)
    with store.lock():
        t0 = time.perf_counter()
        keys = stage_keys(cfg)
        keys_s = time.perf_counter() - t0
        hit = store.get("render", keys.render)
        if hit is not None:
            out = BuildOutput.load(hit)
            out.timings = {"keys": keys_s}
            return out
        from generator.stages.render import render_stage  # imports torch: only on a miss

        train_dir, probe_dir, timings, ran = _upstream(cfg, store, keys, progress, log)
        timings["keys"] = keys_s
        t = time.perf_counter()
        render_dir = store.put("render", keys.render,
                               lambda d: render_stage(cfg, train_dir, probe_dir, d, progress))
        timings["render"] = time.perf_counter() - t
        ran.append("render")
    out = BuildOutput.load(render_dir)
    out.timings, out.stages_run = timings, ran
    return out


def ensure_model(cfg: BuildConfig, progress: bool = True, log=print) -> tuple[Path, Path]:
    """The train and probe stages only (for `train`, `predict` and `figure`): their directories."""
    store = Cache(cfg.cache_dir, log=log)
    with store.lock():
        train_dir, probe_dir, _, _ = _upstream(cfg, store, stage_keys(cfg), progress, log)
    return train_dir, probe_dir


def _upstream(cfg: BuildConfig, store: Cache, keys: Keys, progress: bool, log) -> tuple[Path, Path, dict, list]:
    from generator.stages.common import load_data  # imports torch: only on a miss
    from generator.stages.probe import probe_stage
    from generator.stages.train import train_stage

    timings: dict[str, float] = {}
    ran: list[str] = []
    train_dir = store.get("train", keys.train)
    probe_dir = store.get("probe", keys.probe)
    data = None
    if train_dir is None or probe_dir is None:
        t = time.perf_counter()
        data = load_data(cfg, progress)
        timings["data"] = time.perf_counter() - t
    if train_dir is None:
        t = time.perf_counter()
        log(f"training TinyVGG on {cfg.data.name} ({cfg.profile} profile)")
        train_dir = store.put("train", keys.train, lambda d: train_stage(cfg, data, d, progress))
        timings["train"] = time.perf_counter() - t
        ran.append("train")
    if probe_dir is None:
        t = time.perf_counter()
        probe_dir = store.put("probe", keys.probe, lambda d: probe_stage(cfg, data, train_dir, d))
        timings["probe"] = time.perf_counter() - t
        ran.append("probe")
    return train_dir, probe_dir, timings, ran
