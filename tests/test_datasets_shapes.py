"""generator/datasets: the Dataset contract, the spec, and the embedded procedural `shapes` dataset."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from generator.config import DataConfig
from generator.datasets import CLASS_NAMES_ZH, Dataset, dataset_spec, load_dataset, shapes, stratified_split

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small() -> Dataset:
    return load_dataset(DataConfig(per_class=40), progress=False)


def test_shapes_dtypes_and_balance(small):
    assert small.name == "shapes" and small.classes == shapes.CLASSES and small.num_classes == 10
    for split in ("train", "val", "test"):
        x, y = getattr(small, f"{split}_x"), getattr(small, f"{split}_y")
        assert x.dtype == np.uint8 and x.shape == (len(y), 64, 64, 3) and y.dtype == np.int64
    assert np.bincount(small.train_y).tolist() == [36] * 10  # 40 a class minus 10 % for validation
    assert np.bincount(small.val_y).tolist() == [4] * 10
    assert np.bincount(small.test_y).tolist() == [shapes.TEST_PER_CLASS] * 10
    assert small.test_ids[:2] == ("circle-000", "circle-001") and small.test_ids[-1] == "dots-099"
    assert len(set(small.test_ids)) == len(small.test_ids)


def test_class_names_are_lowercase_english_with_chinese_names():
    for name in shapes.CLASSES:
        assert name.isascii() and name == name.lower() and name in CLASS_NAMES_ZH
    for name in (
        "lifeboat",
        "ladybug",
        "pizza",
        "bell pepper",
        "school bus",
        "koala",
        "espresso",
        "red panda",
        "orange",
        "sport car",
    ):
        assert name in CLASS_NAMES_ZH
    assert CLASS_NAMES_ZH["red panda"] == "小熊猫" and CLASS_NAMES_ZH["espresso"] == "意式浓缩咖啡"


def test_same_config_same_arrays_other_seed_other_arrays(small):
    again = load_dataset(DataConfig(per_class=40), progress=True)
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert np.array_equal(getattr(small, field), getattr(again, field)), field
    assert not np.array_equal(shapes.generate(5, 1, "train")[0], shapes.generate(5, 0, "train")[0])


def test_one_drawing_thread_draws_the_same_arrays(small):
    # A build that trains draws the data on one core less (the trainer imports torch on the other).
    one = load_dataset(DataConfig(per_class=40), progress=False, threads=1)
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert np.array_equal(getattr(small, field), getattr(one, field)), field
    assert not np.array_equal(shapes.generate(5, 1, "test")[0], shapes.generate(5, 0, "test")[0])


def test_test_set_does_not_depend_on_per_class_and_never_overlaps_train(small):
    # The test split is drawn from its own stream, whatever per_class is.
    assert np.array_equal(shapes.generate(shapes.TEST_PER_CLASS, 0, "test")[0], small.test_x)
    seen = {hashlib.sha1(img.tobytes()).digest() for img in np.concatenate([small.train_x, small.val_x])}
    assert not any(hashlib.sha1(img.tobytes()).digest() in seen for img in small.test_x)


def test_images_show_something(small):
    spread = small.test_x.reshape(len(small.test_x), -1).astype(np.float32).std(axis=1)
    assert spread.min() > 8  # every image has a visible foreground or pattern


def test_no_colour_shortcut(small):
    """Colour says nothing about the class: per-class mean colours agree, and a classifier that only
    sees an image's mean colour is barely above chance (10 %)."""

    def mean_colour(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1, 3).mean(axis=1)  # (N, 3)

    data = load_dataset(DataConfig(per_class=120), progress=False)
    train_c, test_c = mean_colour(data.train_x), mean_colour(data.test_x)
    centroids = np.stack([train_c[data.train_y == k].mean(axis=0) for k in range(10)])  # (10, 3)
    # Textures are a little brighter on average (half of their pixels are the lighter foreground colour);
    # that is brightness from area, not colour, and the same for every colour.
    assert np.abs(centroids - train_c.mean(axis=0)).max() < 35  # of 255
    chroma = centroids - centroids.mean(axis=1, keepdims=True)  # colour with brightness removed
    assert np.abs(chroma - chroma.mean(axis=0)).max() < 15  # sampling noise alone gives ~8
    nearest = np.argmin(((test_c[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (nearest == data.test_y).mean() < 0.2


def test_spec_is_cheap_json_and_keys_the_content(small):
    cfg = DataConfig(per_class=40)
    spec = dataset_spec(cfg)
    assert spec == small.spec and json.loads(json.dumps(spec)) == spec
    assert spec["source"]["generator_version"] == shapes.SHAPES_VERSION
    others = [DataConfig(per_class=41), DataConfig(per_class=40, seed=1), DataConfig(per_class=40, val_fraction=0.2)]
    assert all(dataset_spec(o) != spec for o in others)


def test_generate_draws_per_class_images_of_every_class():
    """(Its speed, 1,000 images within 3 s, is a benchmark row: benchmarks/bench_data.py.)"""
    x, y = shapes.generate(100, 0, "train")
    assert x.shape == (1000, 64, 64, 3)
    assert x.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [100] * 10
    assert y.shape == (1000,)


def test_stratified_split_keeps_every_class():
    labels = np.repeat(np.arange(4), [1, 2, 10, 100])
    kept, held = stratified_split(labels, 0.2, seed=0, stream=0)
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(len(labels)))
    assert np.bincount(labels[held], minlength=4).tolist() == [0, 1, 2, 20]
    assert set(labels[kept]) == {0, 1, 2, 3}
    again = stratified_split(labels, 0.2, seed=0, stream=0)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(stratified_split(labels, 0.2, seed=1, stream=0)[1], held)


def test_datasets_never_import_torch():
    code = (
        "import sys\n"
        "from generator.config import DataConfig\n"
        "from generator.datasets import dataset_spec, load_dataset, shapes, tiny_imagenet, folder\n"
        "import generator.images\n"
        "dataset_spec(DataConfig()); dataset_spec(DataConfig(name='tiny-imagenet-10'))\n"
        "load_dataset(DataConfig(per_class=10), progress=False)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_dataset_rejects_inconsistent_arrays(small):
    with pytest.raises(ValueError, match="train_y"):
        Dataset(
            name="x",
            classes=small.classes,
            train_x=small.train_x,
            train_y=small.train_y[:-1],
            val_x=small.val_x,
            val_y=small.val_y,
            test_x=small.test_x,
            test_y=small.test_y,
            test_ids=small.test_ids,
            spec={},
        )


@pytest.mark.slow
def test_tinyvgg_learns_shapes():
    """The dataset's purpose: the build's TinyVGG reaches >= 90 % within the quick profile's default epochs."""
    pytest.importorskip("torch")
    from generator.config import TrainConfig
    from generator.train import train

    result = train(load_dataset(DataConfig(), progress=False), TrainConfig(threads=2), progress=False)
    assert result.test_acc >= 0.9, result.history.val_acc


@pytest.mark.parametrize("name", ["star", "stripes"])
def test_chunked_composition_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Images are composed a chunk at a time; the chunk size must not change a single byte."""

    def draw(chunk: int) -> np.ndarray:
        monkeypatch.setattr(shapes, "CHUNK", chunk)
        return shapes._draw_class(name, 70, np.random.default_rng(3))

    whole = draw(10_000)
    assert np.array_equal(draw(32), whole)
    assert np.array_equal(draw(7), whole)
