"""Row 1's data stage on its own: the embedded shapes dataset drawn in this process.

The cold build's `data` time also holds the split and the spec; this row times the generator alone,
at the size the dataset tests use, against a fixed budget.
"""

from __future__ import annotations

import time

from benchmarks.common import Row, check, self_and_children_cpu

PER_CLASS = 100  # 1,000 images: the ten classes


def shapes_rows(per_class: int = PER_CLASS) -> list[Row]:
    from generator.datasets import shapes

    t, c = time.perf_counter(), self_and_children_cpu()
    x, _ = shapes.generate(per_class, 0, "train")
    seconds, cpu = time.perf_counter() - t, self_and_children_cpu() - c
    return [
        Row(
            "1",
            f"  shapes generator alone: {len(x):,} images ({per_class} a class), in this process",
            f"{seconds:.2f} s",
            seconds,
            "s",
            "<= 3 s",
            check(seconds, 3.0),
            f"{1000 * seconds / len(x):.2f} ms an image; CPU {cpu:.2f} s",
            {"images": len(x), "cpu_s": cpu},
        )
    ]
