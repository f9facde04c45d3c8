"""Build settings: profiles (option and environment variable), path resolution, and a ConfigError
that names the option for every invalid value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from generator.config import (
    PROFILE_ENV,
    BuildConfig,
    DataConfig,
    RenderConfig,
    TrainConfig,
    make_build_config,
    profile_defaults,
    resolve_profile,
    with_overrides,
)
from generator.errors import ConfigError, GeneratorError


@pytest.fixture(autouse=True)
def no_profile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_ENV, raising=False)


def test_quick_profile_is_the_default(tmp_path: Path) -> None:
    cfg = make_build_config(tmp_path)
    assert isinstance(cfg, BuildConfig)
    assert cfg.profile == "quick"
    assert cfg.data == DataConfig(name="shapes", path=None, per_class=600, val_fraction=0.1, seed=0)
    assert cfg.train == TrainConfig()
    assert cfg.render == RenderConfig()
    assert cfg.cache_dir == tmp_path / ".cache" / "plugin" / "tinyvgg"
    assert cfg.images == () and cfg.reference_weights is None


def test_full_profile(tmp_path: Path) -> None:
    cfg = make_build_config(tmp_path, profile="full")
    assert cfg.profile == "full"
    assert cfg.data.name == "tiny-imagenet-10"
    assert (cfg.train.epochs, cfg.train.patience, cfg.train.schedule) == (30, 10, "cosine")


def test_environment_variable_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, "full")
    assert PROFILE_ENV == "TINYVGG_PROFILE"
    assert resolve_profile(None) == "full"
    cfg = make_build_config(tmp_path)
    assert cfg.profile == "full" and cfg.data.name == "tiny-imagenet-10"
    # An explicit option (CLI flag, mkdocs.yml) wins over the environment.
    assert make_build_config(tmp_path, profile="quick").profile == "quick"
    assert resolve_profile("quick") == "quick"
    monkeypatch.setenv(PROFILE_ENV, "")
    assert resolve_profile(None) == "quick"


def test_bad_environment_profile_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, "fast")
    with pytest.raises(ConfigError) as info:
        make_build_config(tmp_path)
    assert "'fast'" in str(info.value) and PROFILE_ENV in str(info.value)


def test_overrides_and_seed(tmp_path: Path) -> None:
    cfg = make_build_config(
        tmp_path,
        profile="full",
        dataset="shapes",
        epochs=3,
        seed=42,
        scale="neuron",
        featured="koala",
        detail_images=("cat",),
        workers=2,
        cache_dir="build/cache",
    )
    assert cfg.data.name == "shapes" and cfg.data.seed == 42
    assert cfg.train.epochs == 3 and cfg.train.seed == 42
    assert cfg.train.patience == 10  # the rest of the full profile stays
    assert cfg.render == RenderConfig(scale="neuron", featured="koala", detail_images=("cat",), workers=2)
    assert cfg.cache_dir == tmp_path / "build" / "cache"


def test_relative_paths_are_resolved_against_base(tmp_path: Path) -> None:
    cfg = make_build_config(
        tmp_path,
        dataset="folder",
        dataset_path="data/pets",
        images=("img/cat.png", str(tmp_path / "abs.jpg")),
        reference_weights="ref/model.json",
    )
    assert cfg.data.path == str((tmp_path / "data" / "pets").resolve())
    assert cfg.images == ((tmp_path / "img" / "cat.png").resolve(), (tmp_path / "abs.jpg").resolve())
    assert cfg.reference_weights == str((tmp_path / "ref" / "model.json").resolve())
    full = make_build_config(tmp_path, profile="full", dataset_path="archive.zip")
    assert full.data.name == "tiny-imagenet-10" and full.data.path == str((tmp_path / "archive.zip").resolve())


def test_configs_are_frozen() -> None:
    cfg = make_build_config(Path("."))
    for obj, attr in ((cfg, "profile"), (cfg.train, "epochs"), (cfg.data, "name"), (cfg.render, "scale")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"epochs": -1}, ["epochs:", "-1"]),
        ({"epochs": 0}, ["epochs:", "positive"]),
        ({"dataset": "mnist"}, ["dataset:", "'mnist'", "shapes, tiny-imagenet-10, folder"]),
        ({"dataset": "folder"}, ["dataset_path:", "folder"]),
        ({"dataset": "shapes", "dataset_path": "x"}, ["dataset_path:", "shapes"]),
        ({"dataset_path": "x"}, ["dataset_path:", "shapes"]),  # quick profile = shapes
        ({"profile": "medium"}, ["profile:", "'medium'", "quick", "full", PROFILE_ENV]),
        ({"scale": "global"}, ["scale:", "'global'"]),
        ({"workers": -2}, ["workers:", "-2"]),
    ],
)
def test_make_build_config_errors_name_the_option(tmp_path: Path, kwargs: dict, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        make_build_config(tmp_path, **kwargs)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
    assert isinstance(info.value, GeneratorError)


@pytest.mark.parametrize(
    ("factory", "kwargs", "option"),
    [
        (DataConfig, {"per_class": 5}, "images_per_class:"),
        (DataConfig, {"val_fraction": 0.0}, "val_fraction:"),
        (DataConfig, {"val_fraction": 0.5}, "val_fraction:"),
        (DataConfig, {"name": "cifar"}, "dataset:"),
        (TrainConfig, {"batch_size": 0}, "batch_size:"),
        (TrainConfig, {"lr": 0.0}, "lr:"),
        (TrainConfig, {"lr": -1e-3}, "lr:"),
        (TrainConfig, {"patience": 0}, "patience:"),
        (TrainConfig, {"threads": -1}, "threads:"),
        (TrainConfig, {"schedule": "step"}, "schedule:"),
        (TrainConfig, {"warmup": 0.0}, "warmup:"),
        (TrainConfig, {"warmup": 1.0}, "warmup:"),
        (TrainConfig, {"shift": -1}, "shift:"),
        (TrainConfig, {"shift": 17}, "shift:"),
        (RenderConfig, {"workers": -1}, "workers:"),
    ],
)
def test_dataclass_validation(factory, kwargs: dict, option: str) -> None:
    with pytest.raises(ConfigError, match=f"^{option}"):
        factory(**kwargs)


def test_valid_edge_values() -> None:
    DataConfig(per_class=10, val_fraction=0.01)
    DataConfig(name="folder", path="/data")
    TrainConfig(epochs=1, batch_size=1, patience=1, threads=1)


def test_profile_defaults() -> None:
    assert profile_defaults("quick") == (DataConfig(), TrainConfig())
    data, train = profile_defaults("full")
    assert data.name == "tiny-imagenet-10" and train.epochs == 30
    with pytest.raises(ConfigError, match="profile: unknown profile 'slow'"):
        profile_defaults("slow")


def test_with_overrides() -> None:
    base = TrainConfig()
    assert with_overrides(base, epochs=None, seed=None) == base
    assert with_overrides(base, epochs=2).epochs == 2
    with pytest.raises(ConfigError, match="epochs:"):
        with_overrides(base, epochs=-5)
    with pytest.raises(ConfigError, match="'epoch'"):
        with_overrides(base, epoch=3)
