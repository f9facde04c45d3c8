"""Deterministic training on a tiny synthetic dataset: bitwise-identical reruns, history lengths and
kernel snapshots, early stopping, best-epoch weights, and the global torch state restored."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from generator.config import TrainConfig  # noqa: E402
from generator.datasets import Dataset  # noqa: E402
from generator.model import TinyVGG  # noqa: E402
from generator.train import TrainResult, _augment, evaluate, lr_at, predict_all, to_tensor, train  # noqa: E402


def _images(rng: np.random.Generator, label: int, n: int) -> np.ndarray:
    """Class 0: dark images with a bright vertical bar; class 1: bright images with a dark bar."""
    base = np.where(label == 0, 60, 190)
    x = rng.normal(base, 25, size=(n, 64, 64, 3))
    cols = rng.integers(8, 56, size=n)
    for i, c in enumerate(cols):
        x[i, :, c - 3 : c + 3] = 255 - base
    return np.clip(x, 0, 255).astype(np.uint8)


def _split(rng: np.random.Generator, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([_images(rng, c, per_class) for c in (0, 1)])
    y = np.repeat(np.arange(2, dtype=np.int64), per_class)
    return x, y


@pytest.fixture(scope="module")
def data() -> Dataset:
    """2 classes x 40 training images, plus small validation and test splits."""
    rng = np.random.default_rng(0)
    train_x, train_y = _split(rng, 40)
    val_x, val_y = _split(rng, 10)
    test_x, test_y = _split(rng, 10)
    return Dataset(
        name="synthetic",
        classes=("dark", "bright"),
        train_x=train_x,
        train_y=train_y,
        val_x=val_x,
        val_y=val_y,
        test_x=test_x,
        test_y=test_y,
        test_ids=tuple(f"t{i}" for i in range(len(test_y))),
        spec={"name": "synthetic"},
    )


CFG = TrainConfig(epochs=2, batch_size=16, lr=2e-3, patience=3, augment=True, seed=0, threads=1, schedule="constant")


@pytest.fixture(scope="module")
def result(data: Dataset) -> TrainResult:
    return train(data, CFG, progress=False)


@pytest.mark.slow  # trains
def test_same_config_gives_bitwise_identical_weights(data: Dataset, result: TrainResult) -> None:
    again = train(data, CFG, progress=False)
    assert list(again.state) == list(result.state)
    for key, value in result.state.items():
        assert value.tobytes() == again.state[key].tobytes(), key
    assert again.history.kernels.tobytes() == result.history.kernels.tobytes()
    assert again.history.train_loss == result.history.train_loss
    assert again.test_acc == result.test_acc


@pytest.mark.slow  # trains
def test_another_seed_gives_other_weights(data: Dataset, result: TrainResult) -> None:
    other = train(data, TrainConfig(epochs=1, batch_size=16, seed=1, threads=1), progress=False)
    assert not np.array_equal(other.history.kernels[0], result.history.kernels[0])


@pytest.mark.slow  # trains
def test_state_dict_layout(result: TrainResult) -> None:
    expected = {
        f"{name}.{p}" for name in ("conv_1_1", "conv_1_2", "conv_2_1", "conv_2_2", "output") for p in ("weight", "bias")
    }
    assert set(result.state) == expected
    assert result.state["conv_1_1.weight"].shape == (10, 3, 3, 3)
    assert result.state["conv_2_2.weight"].shape == (10, 10, 3, 3)
    assert result.state["output.weight"].shape == (2, 1690)
    for value in result.state.values():
        assert value.dtype == np.float32 and value.flags["C_CONTIGUOUS"]
    model = TinyVGG(num_classes=2)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in result.state.items()})


@pytest.mark.slow  # trains
def test_history(result: TrainResult) -> None:
    h = result.history
    assert len(h.train_loss) == len(h.train_acc) == len(h.val_loss) == len(h.val_acc) == CFG.epochs
    assert h.kernels.shape == (CFG.epochs + 1, 10, 3, 3, 3)
    assert all(0.0 <= a <= 1.0 for a in h.train_acc + h.val_acc)
    assert all(loss > 0 for loss in h.train_loss + h.val_loss)
    # kernels[0] is the initialisation: the same as a fresh TinyVGG after seeding.
    torch.manual_seed(CFG.seed)
    init = TinyVGG(num_classes=2).conv_1_1.weight.detach().numpy()
    np.testing.assert_array_equal(h.kernels[0], init)
    assert not np.array_equal(h.kernels[1], h.kernels[0])  # training moved the kernels
    assert result.seconds > 0


@pytest.mark.slow  # trains
def test_best_epoch_weights_are_kept(data: Dataset, result: TrainResult) -> None:
    h = result.history
    best = h.best_epoch
    assert 1 <= best <= CFG.epochs
    assert h.val_acc[best - 1] == max(h.val_acc)
    assert h.val_acc.index(max(h.val_acc)) == best - 1  # the first epoch reaching the best accuracy
    np.testing.assert_array_equal(result.state["conv_1_1.weight"], h.kernels[best])
    # test_acc is the kept model's accuracy on the test split.
    model = TinyVGG(num_classes=2)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in result.state.items()})
    pred = predict_all(model, data.test_x)
    assert result.test_acc == pytest.approx(float((pred == data.test_y).mean()))


@pytest.mark.slow  # trains
def test_early_stopping_after_patience_epochs(data: Dataset) -> None:
    """With a vanishing learning rate the validation accuracy never improves after epoch 1, so
    training stops after 1 + patience epochs and keeps epoch 1."""
    cfg = TrainConfig(epochs=10, batch_size=40, lr=1e-12, patience=2, augment=False, seed=0, threads=1)
    res = train(data, cfg, progress=False)
    h = res.history
    assert len(h.val_acc) == 1 + cfg.patience
    assert len(set(h.val_acc)) == 1
    assert h.kernels.shape[0] == len(h.train_loss) + 1 == 4
    assert h.best_epoch == 1
    np.testing.assert_array_equal(res.state["conv_1_1.weight"], h.kernels[1])


@pytest.mark.slow  # trains
def test_global_torch_state_is_restored(data: Dataset) -> None:
    before = torch.get_num_threads()
    train(data, TrainConfig(epochs=1, batch_size=80, augment=False, threads=1), progress=False)
    assert torch.get_num_threads() == before
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory  # train() turns it off for itself only
    torch.use_deterministic_algorithms(True)  # a caller's own setting survives too
    try:
        train(data, TrainConfig(epochs=1, batch_size=80, augment=False, threads=1), progress=False)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_to_tensor() -> None:
    pixels = np.zeros((2, 64, 64, 3), dtype=np.uint8)
    pixels[1, 5, 7] = (255, 0, 51)
    x = to_tensor(pixels)
    assert x.shape == (2, 3, 64, 64) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert x[1, :, 5, 7].tolist() == pytest.approx([1.0, 0.0, 0.2])
    assert float(x[0].abs().sum()) == 0.0


def test_augment_is_deterministic_and_keeps_shape() -> None:
    x = to_tensor(np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8))
    a = _augment(x, torch.Generator().manual_seed(3))
    b = _augment(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    assert a.is_contiguous(memory_format=torch.channels_last)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_augment_without_shift_only_flips() -> None:
    x = to_tensor(np.random.default_rng(1).integers(0, 256, (16, 64, 64, 3), dtype=np.uint8))
    a = _augment(x, torch.Generator().manual_seed(0), shift=0)
    flipped = [torch.equal(a[i], x[i].flip(2)) for i in range(len(x))]
    assert all(torch.equal(a[i], x[i]) or flipped[i] for i in range(len(x)))
    assert 0 < sum(flipped) < len(x)  # per image, not per batch


def test_lr_at_constant_and_cosine() -> None:
    constant = TrainConfig(lr=3e-3, schedule="constant")
    assert [lr_at(s, 100, constant) for s in (0, 50, 99)] == [3e-3] * 3
    cfg = TrainConfig(lr=4e-3, schedule="cosine", warmup=0.1)
    lrs = [lr_at(s, 100, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(4e-3 / 25)
    assert lrs[10] == pytest.approx(4e-3) and max(lrs) == lrs[10]  # the peak ends the warm-up
    assert np.all(np.diff(lrs[:11]) > 0)  # linear rise
    assert np.all(np.diff(lrs[10:]) < 0)  # then a strictly falling cosine
    assert lrs[55] == pytest.approx(2e-3)  # half-way through the decay: half the peak
    assert 0 < lrs[-1] < 4e-3 / 500
    for total in (1, 2, 3, 7):  # short runs (e.g. --epochs 1) are well defined
        assert all(0 < lr_at(s, total, cfg) <= 4e-3 for s in range(total))


@pytest.mark.slow  # trains
def test_cosine_schedule_is_deterministic_and_recorded(data: Dataset, result: TrainResult) -> None:
    assert result.lr == [CFG.lr] * CFG.epochs  # constant schedule
    cfg = TrainConfig(epochs=2, batch_size=16, lr=4e-3, patience=3, schedule="cosine", warmup=0.2, seed=0, threads=1)
    a, b = train(data, cfg, progress=False), train(data, cfg, progress=False)
    for key, value in a.state.items():
        assert value.tobytes() == b.state[key].tobytes(), key
    steps = 80 // 16
    assert a.lr == [lr_at(steps - 1, 2 * steps, cfg), lr_at(2 * steps - 1, 2 * steps, cfg)]
    assert a.lr[0] > a.lr[1] > 0
    assert not np.array_equal(a.history.kernels[-1], result.history.kernels[-1])  # the schedule mattered


def test_evaluate_and_predict_all() -> None:
    torch.manual_seed(0)
    model = TinyVGG(num_classes=3)
    pixels = np.random.default_rng(1).integers(0, 256, (7, 64, 64, 3), dtype=np.uint8)
    pred = predict_all(model, pixels, batch=3)
    assert pred.shape == (7,)
    with torch.no_grad():
        logits = model(to_tensor(pixels))
    np.testing.assert_array_equal(pred, logits.argmax(1).numpy())
    y = torch.from_numpy(pred.astype(np.int64))
    loss, acc = evaluate(model, to_tensor(pixels), y, batch=2)
    assert acc == 1.0
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-5)
    assert predict_all(model, pixels[:0]).shape == (0,)
