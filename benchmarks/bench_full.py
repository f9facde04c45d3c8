"""Row 6 (--full): train the full profile on CNN Explainer's ten Tiny ImageNet classes and compare
top-1 accuracy on their 500 val images with CNN Explainer's own model on the same images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.common import REPO, Row, check, run_timed

DATASET = REPO.parent / "shared" / "datasets" / "tiny-imagenet-10.zip"
REFERENCE = REPO.parent / "shared" / "reference" / "cnn-explainer" / "model.json"


def full_rows(cache: Path, dataset: Path, reference: Path, epochs: int | None) -> list[Row]:
    if not dataset.is_file():
        return [
            Row(
                "6",
                "full profile",
                "skipped",
                target=">= 72 % in <= 4 min",
                ok=None,
                note=f"{dataset} not found; pass --dataset-path",
            )
        ]
    cmd = [
        sys.executable,
        "-m",
        "generator",
        "train",
        "--profile",
        "full",
        "--dataset-path",
        str(dataset),
        "--cache-dir",
        str(cache),
        "--quiet",
    ]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    proc = run_timed(cmd, cache.parent)  # not the checkout: `-m` would import its generator/
    if proc.returncode != 0:
        raise RuntimeError(f"full-profile training failed (exit {proc.returncode}):\n{proc.tail()}")
    train_dirs = [d for d in (cache / "train").iterdir() if (d / ".complete").is_file()]
    meta = json.loads((train_dirs[0] / "meta.json").read_text())
    m = meta["metrics"]
    ours, secs, n = m["test_acc"], m["train_seconds"], m["test_images"]
    note = (
        f"{m['epochs']} epochs (best {m['best_epoch']}); `generator train` took {proc.seconds:.0f} s with data loading"
    )
    if epochs:
        note += f"; --epochs {epochs} overrides the profile, so the targets do not apply"
    rows = [
        Row(
            "6",
            "full profile: training time",
            f"{secs:.0f} s",
            secs,
            "s",
            "<= 240 s",
            None if epochs else check(secs, 240),
            note,
            {"metrics": m},
        ),
        Row(
            "6",
            f"  top-1 on the {n} Tiny ImageNet val images",
            f"{100 * ours:.1f} %",
            100 * ours,
            "%",
            ">= 72 %",
            None if epochs else check(100 * ours, 72, at_most=False),
        ),
    ]
    rows.append(_reference_row(train_dirs[0], dataset, reference, n))
    return rows


def _reference_row(train_dir: Path, dataset: Path, reference: Path, n: int) -> Row:
    """CNN Explainer's weights through the project's own loader and predict_all, same test split."""
    if not reference.is_file():
        return Row("6", "  CNN Explainer's model, same images", "skipped", note=f"{reference} not found")
    from generator.config import DataConfig
    from generator.datasets import load_dataset
    from generator.train import predict_all
    from generator.weights import load_weights, to_module

    data = load_dataset(DataConfig(name="tiny-imagenet-10", path=str(dataset)), progress=False)
    state, meta = load_weights(reference)
    classes = json.loads((train_dir / "meta.json").read_text())["classes"]
    if list(meta.get("classes", data.classes)) != list(data.classes) or list(data.classes) != classes:
        return Row(
            "6",
            "  CNN Explainer's model, same images",
            "class mismatch",
            ok=False,
            note=f"reference classes {meta.get('classes')} vs dataset {list(data.classes)}",
        )
    pred = predict_all(to_module(state, len(data.classes)), data.test_x)
    acc = float((pred == data.test_y).mean())
    return Row(
        "6",
        f"  CNN Explainer's model on the same {len(data.test_y)} images",
        f"{100 * acc:.1f} %",
        100 * acc,
        "%",
        note="for comparison; weights: ../shared/reference/cnn-explainer/model.json",
    )
