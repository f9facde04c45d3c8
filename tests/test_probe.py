"""The probe (NumPy, generator/inference.py): per-kernel intermediates that add up to PyTorch's
convolution, every stage's shape and value against PyTorch's own forward pass, softmax, batch
predictions, the choice of default sample images, and the confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from generator.arch import ARCH, CONV_LAYERS, LAYER_NAMES, layer_shapes  # noqa: E402
from generator.inference import forward, per_kernel, predict_all  # noqa: E402
from generator.model import TinyVGG  # noqa: E402
from generator.probe import confusion_matrix, default_samples, probe  # noqa: E402
from generator.records import SampleImage  # noqa: E402


@pytest.fixture(scope="module")
def model() -> TinyVGG:
    torch.manual_seed(1234)
    m = TinyVGG(num_classes=10).eval()
    with torch.no_grad():  # non-zero biases, so a forgotten or doubled bias shows
        for name in CONV_LAYERS:
            getattr(m, name).bias.uniform_(-0.5, 0.5)
    return m


def numpy_state(model: TinyVGG) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def samples() -> list[SampleImage]:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    return [SampleImage(slug=f"img-{i}", pixels=pixels[i], source=f"test:{i}", label=i) for i in range(2)]


def test_per_kernel_sums_to_conv2d_for_every_layer(model: TinyVGG) -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for name, kind in ARCH:
            layer = getattr(model, name)
            if kind == "conv":
                w = layer.weight.numpy()
                parts = per_kernel(x[0].numpy(), w)
                out_c, in_c = w.shape[:2]
                assert parts.shape == (out_c, in_c, x.shape[2] - 2, x.shape[3] - 2)
                assert parts.dtype == np.float32
                expected = F.conv2d(x, layer.weight, layer.bias)[0].numpy()
                summed = parts.sum(axis=1) + layer.bias.numpy()[:, None, None]
                np.testing.assert_allclose(summed, expected, atol=1e-5, rtol=1e-5)
                # Each part is one single-channel convolution: kernel k of neuron o on input channel k.
                for o, k in ((0, 0), (out_c - 1, in_c - 1), (3, in_c // 2)):
                    single = F.conv2d(x[:, k : k + 1], layer.weight[o : o + 1, k : k + 1])[0, 0].numpy()
                    np.testing.assert_allclose(parts[o, k], single, atol=1e-5, rtol=1e-5)
            x = layer(x)


def test_batch_forward_matches_pytorch(model: TinyVGG) -> None:
    """inference.forward (im2col, channels last, chunks of 64) against PyTorch on 70 images: logits,
    every layer's output, and the top-1 classes."""
    pixels = np.random.default_rng(11).integers(0, 256, size=(70, 64, 64, 3), dtype=np.uint8)
    logits, stages = forward(numpy_state(model), pixels, keep=True)
    with torch.no_grad():
        x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
        expected = model(x).numpy()
        for name in LAYER_NAMES:
            x = getattr(model, name)(x)
            np.testing.assert_allclose(stages[name], x.numpy(), atol=2e-5, rtol=1e-5)
    assert logits.dtype == np.float32 and logits.shape == (70, 10)
    np.testing.assert_allclose(logits, expected, atol=2e-5, rtol=1e-5)
    np.testing.assert_array_equal(predict_all(numpy_state(model), pixels), expected.argmax(1))
    assert predict_all(numpy_state(model), pixels[:0]).shape == (0,)


@pytest.fixture(scope="module")
def results(model: TinyVGG, samples: list[SampleImage]) -> list:
    return probe(numpy_state(model), samples)


def test_probe_stage_shapes_and_values(model: TinyVGG, samples: list[SampleImage], results: list) -> None:
    assert [r.image for r in results] == samples
    shapes = layer_shapes()
    expected = {name: shapes[name] for name in ["input", *LAYER_NAMES]}
    expected.update({"flatten": (1690,), "output": (10,), "softmax": (10,)})
    for r, sample in zip(results, samples, strict=True):
        assert {k: v.shape for k, v in r.stages.items()} == expected
        assert all(v.dtype == np.float32 for v in r.stages.values())
        assert {k: v.shape for k, v in r.intermediates.items()} == {
            "conv_1_1": (10, 3, 62, 62),
            "conv_1_2": (10, 10, 60, 60),
            "conv_2_1": (10, 10, 28, 28),
            "conv_2_2": (10, 10, 26, 26),
        }
        np.testing.assert_allclose(r.stages["input"], sample.pixels.transpose(2, 0, 1) / 255.0, atol=1e-7)
        with torch.no_grad():  # PyTorch's forward pass, layer by layer: the probe's independent oracle
            x = torch.from_numpy(sample.pixels[None]).permute(0, 3, 1, 2).float() / 255
            for name in LAYER_NAMES:
                x = getattr(model, name)(x)
                np.testing.assert_allclose(r.stages[name], x[0].numpy(), atol=2e-5, rtol=1e-5)
        # Intermediates + bias reproduce the conv stage; ReLU and pooling follow from it.
        for name in CONV_LAYERS:
            bias = getattr(model, name).bias.detach().numpy()
            np.testing.assert_allclose(
                r.intermediates[name].sum(1) + bias[:, None, None], r.stages[name], atol=1e-5, rtol=1e-5
            )
        np.testing.assert_array_equal(r.stages["relu_1_1"], np.maximum(r.stages["conv_1_1"], 0))
        pooled = r.stages["relu_2_2"].reshape(10, 13, 2, 13, 2).max(axis=(2, 4))
        np.testing.assert_array_equal(r.stages["max_pool_2"], pooled)
        np.testing.assert_array_equal(r.stages["flatten"], r.stages["max_pool_2"].reshape(-1))  # channel-major
        with torch.no_grad():
            x = torch.from_numpy(sample.pixels[None]).permute(0, 3, 1, 2).float() / 255
            logits = model(x)[0]
        np.testing.assert_allclose(r.stages["output"], logits.numpy(), atol=1e-5, rtol=1e-5)
        assert r.predicted == int(logits.argmax())


def test_softmax(results: list) -> None:
    for r in results:
        probs = r.stages["softmax"]
        assert probs.sum() == pytest.approx(1.0, abs=1e-6)
        assert (probs > 0).all()
        expected = torch.softmax(torch.from_numpy(r.stages["output"]), dim=0).numpy()
        np.testing.assert_allclose(probs, expected, atol=1e-7, rtol=1e-6)
        assert int(np.argmax(probs)) == r.predicted


def test_probe_is_deterministic(samples: list[SampleImage]) -> None:
    torch.manual_seed(5)
    state = numpy_state(TinyVGG(num_classes=3).eval())
    ra = probe(state, samples[:1])[0]
    assert ra.stages["output"].shape == (3,)
    again = probe(state, samples[:1])[0]
    for key in ra.stages:
        assert ra.stages[key].dtype == np.float32
        np.testing.assert_array_equal(ra.stages[key], again.stages[key])
    assert probe(state, []) == []


def test_default_samples_first_correct_per_class() -> None:
    classes = ("circle", "red panda", "square", "never seen")
    test_y = np.array([0, 1, 0, 2, 1, 2, 0, 2])
    predicted = np.array([1, 1, 0, 0, 1, 0, 0, 1])  # class 2 is never right; class 3 has no images
    test_x = np.arange(8, dtype=np.uint8)[:, None, None, None] * np.ones((1, 64, 64, 3), dtype=np.uint8)
    ids = tuple(f"val_{i}" for i in range(8))

    def slugify(name: str) -> str:
        return name.replace(" ", "-")

    picked = default_samples(test_x, test_y, predicted, classes, ids, slugify)
    assert [s.slug for s in picked] == ["circle", "red-panda", "square"]
    assert [s.source for s in picked] == ["test:val_2", "test:val_1", "test:val_3"]  # square falls back
    assert [s.label for s in picked] == [0, 1, 2]
    assert [int(s.pixels[0, 0, 0]) for s in picked] == [2, 1, 3]
    assert all(s.pixels.shape == (64, 64, 3) and s.pixels.dtype == np.uint8 for s in picked)
    again = default_samples(test_x, test_y, predicted, classes, ids, slugify)
    assert [(s.slug, s.source) for s in again] == [(s.slug, s.source) for s in picked]


def test_confusion_matrix() -> None:
    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.7, true, rng.integers(0, 4, 200))
    m = confusion_matrix(true, pred, 5)
    expected = np.zeros((5, 5), dtype=np.int64)
    for t, p in zip(true, pred, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(m, expected)
    assert m.dtype == np.int64 and m.sum() == 200
    np.testing.assert_array_equal(m.sum(axis=1)[:4], np.bincount(true, minlength=4))  # rows = true class
    np.testing.assert_array_equal(m.sum(axis=0)[:4], np.bincount(pred, minlength=4))  # columns = predicted
    assert m[4].sum() == 0 and m[:, 4].sum() == 0
    assert confusion_matrix(np.array([], dtype=int), np.array([], dtype=int), 3).sum() == 0
    np.testing.assert_array_equal(confusion_matrix(np.array([1, 1, 0]), np.array([0, 1, 0]), 2), [[1, 0], [1, 1]])
