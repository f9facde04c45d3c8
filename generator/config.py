"""Frozen, validated settings for every stage. Errors name the option and say what to do."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from generator.errors import ConfigError

DATASETS = ("shapes", "tiny-imagenet-10", "folder")
PROFILES = ("quick", "full")
SCALES = ("layer", "neuron")
SCHEDULES = ("constant", "cosine")
PROFILE_ENV = "TINYVGG_PROFILE"
# Material's convention for plugin caches (its social plugin uses .cache/plugin/social): the folder is
# ours alone, so `clean` never touches another plugin's files.
DEFAULT_CACHE_DIR = ".cache/plugin/tinyvgg"


@dataclass(frozen=True)
class Option:
    """One pipeline option, written once: `dataset_path` in mkdocs.yml, `--dataset-path` on the command line
    (cli.py and plugin.py both build theirs from OPTIONS). Values reach make_build_config unchanged."""

    name: str
    type: type  # str, int, or list (a list of strings)
    default: Any = None  # None: unset, the profile (or the environment) decides; a list option: a tuple
    choices: tuple[str, ...] | None = None
    help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    # -- what to train on --
    Option(
        "profile",
        str,
        None,
        PROFILES,
        f"quick (shapes, seconds) or full (Tiny ImageNet, minutes); default ${PROFILE_ENV} or quick",
    ),
    Option("dataset", str, None, DATASETS, "override the profile's dataset"),
    Option(
        "dataset_path",
        str,
        None,
        None,
        "tiny-imagenet-10: a local tiny-imagenet-200.zip; folder: an image folder with one sub-folder per class",
    ),
    # -- training --
    Option("epochs", int, None, None, "maximum training epochs (early stopping may end sooner)"),
    Option("images_per_class", int, None, None, "shapes only: training images generated per class (default 600)"),
    Option("seed", int, 0, None, "seed for data generation, splits, initialisation and shuffling"),
    # -- sample images and figures --
    Option("images", list, (), None, "your own images to explain, besides one test image per class"),
    Option("max_samples", int, 0, None, "explain only the first N classes' test images (0 = one image per class)"),
    Option(
        "featured",
        str,
        "",
        None,
        "slug of the image the chapters feature (default: the first sample image the model gets right with a "
        "probability of 0.75 or more)",
    ),
    Option("detail_images", list, (), None, "more images (slugs) that get every step-by-step convolution animation"),
    Option(
        "scale",
        str,
        "layer",
        SCALES,
        "activation colour range: shared by the neurons of a 'layer' (comparable) or one per 'neuron'",
    ),
    Option("workers", int, 0, None, "render processes (0 = one per core)"),
    Option(
        "reference_weights",
        str,
        None,
        None,
        "CNN Explainer's model.json, to quote its accuracy on the same test images",
    ),
)


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, where it lives, and how it is split."""

    name: str = "shapes"
    path: str | None = None  # tiny-imagenet-10: local archive; folder: the image folder
    per_class: int = 600  # shapes: training images generated per class
    val_fraction: float = 0.1  # share of the training images held out for early stopping
    seed: int = 0

    def __post_init__(self) -> None:
        if self.name not in DATASETS:
            raise ConfigError(f"dataset: unknown dataset {self.name!r}; choose one of {', '.join(DATASETS)}")
        if self.name == "folder" and not self.path:
            raise ConfigError("dataset_path: the 'folder' dataset needs the path of an image folder")
        if self.per_class < 10:
            raise ConfigError(f"images_per_class: must be at least 10, got {self.per_class}")
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction: must be between 0 and 0.5, got {self.val_fraction}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule. Same config + same machine => bitwise-identical weights."""

    epochs: int = 6
    batch_size: int = 64
    lr: float = 6e-3
    weight_decay: float = 0.0
    patience: int = 3  # early stopping: epochs without a better val accuracy
    augment: bool = True
    seed: int = 0
    threads: int = 0  # torch threads; 0 = all cores
    schedule: str = "cosine"  # learning rate: 'constant' lr, or 'cosine' (warm-up to lr, cosine decay to 0)
    warmup: float = 0.1  # cosine: share of the steps spent rising to lr
    shift: int = 4  # augmentation: largest random shift in pixels (reflect-padded)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr: must be positive, got {self.lr}")
        if self.patience < 1:
            raise ConfigError(f"patience: must be a positive integer, got {self.patience}")
        if self.threads < 0:
            raise ConfigError(f"threads: must be 0 (all cores) or positive, got {self.threads}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"schedule: unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}"
            )
        if not 0.0 < self.warmup < 1.0:
            raise ConfigError(f"warmup: must be between 0 and 1 (a share of the steps), got {self.warmup}")
        if not 0 <= self.shift <= 16:
            raise ConfigError(f"shift: must be between 0 and 16 pixels, got {self.shift}")


@dataclass(frozen=True)
class RenderConfig:
    """What the renderers draw and how."""

    scale: str = "layer"  # activation colour range shared per 'layer' or per 'neuron'
    featured: str = ""  # slug of the featured sample image; '' = the first one
    detail_images: tuple[str, ...] = ()  # extra images that get every detail animation
    workers: int = 0  # render processes; 0 = one per core

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ConfigError(f"scale: must be 'layer' or 'neuron', got {self.scale!r}")
        if self.workers < 0:
            raise ConfigError(f"workers: must be 0 (one per core) or positive, got {self.workers}")


@dataclass(frozen=True)
class BuildConfig:
    """Everything one build needs."""

    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    profile: str = "quick"
    cache_dir: Path = Path(DEFAULT_CACHE_DIR)
    images: tuple[Path, ...] = ()  # the user's own sample images (absolute)
    base_dir: Path = Path(".")  # where relative paths start (mkdocs.yml's folder): names images, never hashed
    reference_weights: str | None = None  # CNN Explainer's model.json, for the accuracy comparison
    max_samples: int = 0  # default sample images (one test image per class); 0 = every class

    def __post_init__(self) -> None:
        if self.max_samples < 0:
            raise ConfigError(f"max_samples: must be 0 (one image per class) or positive, got {self.max_samples}")


def image_name(cfg: BuildConfig, path: Path) -> str:
    """A user image's name as written relative to mkdocs.yml (or the CWD): what slugs, sources and cache
    keys use, so that two checkouts of the same project give the same URLs and manifests."""
    try:
        return Path(path).resolve().relative_to(Path(cfg.base_dir).resolve()).as_posix()
    except ValueError:  # outside the project: its absolute path is all there is
        return Path(path).as_posix()


def profile_defaults(name: str) -> tuple[DataConfig, TrainConfig]:
    """The two documented profiles: 'quick' (shapes, seconds) and 'full' (Tiny ImageNet, minutes)."""
    if name not in PROFILES:
        raise ConfigError(
            f"profile: unknown profile {name!r}; choose 'quick' or 'full' "
            f"(option 'profile' or environment variable {PROFILE_ENV})"
        )
    if name == "quick":
        return DataConfig(), TrainConfig()
    return (
        DataConfig(name="tiny-imagenet-10", val_fraction=0.1),
        TrainConfig(
            epochs=30, batch_size=64, lr=4e-3, patience=10, augment=True, schedule="cosine", warmup=0.1, shift=4
        ),
    )


def resolve_profile(explicit: str | None) -> str:
    """CLI flag or plugin option wins, then the environment variable, then 'quick'."""
    return explicit or os.environ.get(PROFILE_ENV) or "quick"


T = TypeVar("T")


def with_overrides(cfg: T, **changes: object) -> T:
    """dataclasses.replace that turns a bad value into a ConfigError naming the option."""
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return replace(cfg, **changes)  # type: ignore[type-var]  # cfg is one of the dataclasses above
    except TypeError as exc:
        raise ConfigError(str(exc)) from exc


def from_options(base: Path, values: Mapping[str, Any], cache_dir: str = DEFAULT_CACHE_DIR) -> BuildConfig:
    """Every option of OPTIONS by name (the CLI's parsed flags, the plugin's validated config) -> BuildConfig."""
    kwargs: dict[str, Any] = {o.name: tuple(values[o.name]) if o.type is list else values[o.name] for o in OPTIONS}
    return make_build_config(base, cache_dir=cache_dir, **kwargs)


def make_build_config(
    base: Path,
    *,
    profile: str | None = None,
    dataset: str | None = None,
    dataset_path: str | None = None,
    epochs: int | None = None,
    seed: int = 0,
    images: tuple[str, ...] = (),
    featured: str = "",
    detail_images: tuple[str, ...] = (),
    scale: str = "layer",
    workers: int = 0,
    reference_weights: str | None = None,
    cache_dir: str = DEFAULT_CACHE_DIR,
    images_per_class: int | None = None,
    max_samples: int = 0,
) -> BuildConfig:
    """Options as the plugin (mkdocs.yml) and the CLI take them -> BuildConfig.
    Relative paths are resolved against `base` (the directory of mkdocs.yml, or the CWD)."""

    def rel(value: str | None) -> str | None:
        return None if value is None else str((base / value).resolve())

    profile = resolve_profile(profile)
    data, train = profile_defaults(profile)
    name = dataset or data.name
    if name == "shapes" and dataset_path:
        raise ConfigError(
            "dataset_path: the shapes dataset is generated in memory; remove dataset_path "
            "or choose dataset tiny-imagenet-10 or folder"
        )
    if images_per_class is not None and name != "shapes":
        raise ConfigError("images_per_class: only the generated shapes dataset can be sized; remove it")
    data = DataConfig(
        name=name,
        path=rel(dataset_path),
        per_class=images_per_class or data.per_class,
        val_fraction=data.val_fraction,
        seed=seed,
    )
    train = with_overrides(train, epochs=epochs, seed=seed)
    render = RenderConfig(scale=scale, featured=featured, detail_images=tuple(detail_images), workers=workers)
    return BuildConfig(
        data=data,
        train=train,
        render=render,
        profile=profile,
        cache_dir=base / cache_dir,
        base_dir=base,
        images=tuple(Path(base / p).resolve() for p in images),
        reference_weights=rel(reference_weights),
        max_samples=max_samples,
    )
