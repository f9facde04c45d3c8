"""The examples the chapters show, chosen from the data instead of fixed numbers (numpy only).

A chapter that shows "neuron 0" shows whatever neuron 0 happens to do on this model and image: a map
that ReLU leaves blank, a pooling animation of `0 0 0 0 = 0` windows. So the examples are chosen here,
deterministically, from the probe's arrays:

- ReLU: in each ReLU layer, the neuron whose conv map is closest to half positive (ties: lowest index)
  among those RELU_RANGE positive whose red and blue both show on the layer's colour range; the example
  layer is the first with such a neuron (falling back to RELU_RANGE alone, then to the closest).
- Pooling: the walk over the pooled map shows the top-left window, jumps to the row segment with the
  most non-zero windows, steps through it one window at a time, then jumps to the end, each jump
  landing on a non-zero window where its stretch has one; the example neuron is the one whose walk
  shows the most non-zero windows (ties: lowest index), the example layer the first where that is at
  least half of them.
- Convolution detail: the same kind of walk over the intermediate map, its single steps on the row
  segment whose values vary most (largest standard deviation): where an edge or texture is.

The probe stage records every choice with its statistics in facts.json (`examples` of each sample), the
renderers draw and report (manifest `stats`) from these same functions, and `neuron=auto` in a shortcode
resolves to the recorded choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generator.arch import CONV_LAYERS, POOL_LAYERS, RELU_LAYERS, previous_stage

RELU_RANGE = (0.2, 0.8)  # share of positive values that makes a readable before/after pair
RELU_VISIBLE = 0.25  # ... and its extremes reach this share of the layer's largest |value| (both colours show)
POOL_STEPS = (8, 16)  # pool animation: windows one by one, then jumps to the end
DETAIL_STEPS = (12, 14)  # conv-detail animation: the same


# ---- walks --------------------------------------------------------------------------------------


def best_segment(score: np.ndarray, first: int, tie: np.ndarray | None = None) -> int:
    """Start (row-major index) of the `first` consecutive positions of a (rows, cols) map whose summed
    `score` is largest (then summed `tie`, then the lowest index); segments stay within one row when a
    row is long enough."""
    cols = score.shape[1]
    first = min(first, score.size)
    ones = np.ones(first)
    sums = np.convolve(score.reshape(-1).astype(np.float64), ones, "valid")  # (n - first + 1,)
    ties = np.zeros_like(sums) if tie is None else np.convolve(tie.reshape(-1).astype(np.float64), ones, "valid")
    starts = np.arange(len(sums))
    ok = (starts % cols) + first <= cols if cols >= first else np.ones(len(sums), bool)
    order = np.lexsort((-starts[ok], ties[ok], sums[ok]))  # last = largest sum, largest tie, lowest start
    return int(starts[ok][order[-1]])


def walk_positions(n: int, start: int, first: int, frames: int, good: np.ndarray | None = None) -> list[int]:
    """The positions (row-major, 0..n-1) a sweep animation shows, at most `frames` of them: the top-left
    corner, jumps up to `start`, `first` single steps from `start`, then jumps to the last position (so
    the map is complete at the end). Each jump lands on the first `good` position of its stretch, if
    any. Strictly increasing, so the map revealed up to each position only grows."""
    first = min(first, n)
    start = int(np.clip(start, 0, n - first))
    jumps = max(0, frames - first)
    before, after = start, n - start - first
    kb = ka = 0
    if jumps:
        if before and after:
            kb = min(before, max(1, round(jumps * before / (before + after))))
            ka = min(after, max(1, jumps - kb))
            kb = min(before, max(1, jumps - ka))
        elif before:
            kb = min(before, jumps)
        elif after:
            ka = min(after, jumps)
    lead = [(before * j) // kb for j in range(kb)] if kb else []
    if before and not kb:
        lead = [0]
    singles = list(range(start, start + first))
    tail = [start + first + (after * (j + 1)) // ka - 1 for j in range(ka)] if ka else []
    if after and not ka:
        tail = [n - 1]
    pos = lead + singles + tail
    if good is not None:
        good = np.asarray(good, bool).reshape(-1)
        jumped = set(lead[1:]) | set(tail[:-1])  # the corner and the last position stay where they are
        for i, p in enumerate(pos):
            if p in jumped and not good[p]:
                stop = pos[i + 1] if i + 1 < len(pos) else n
                hits = np.flatnonzero(good[p:stop])
                if hits.size:
                    pos[i] = p + int(hits[0])
    return pos


# ---- ReLU ---------------------------------------------------------------------------------------


def relu_shares(conv: np.ndarray) -> tuple[list[float], list[float]]:
    """conv (neurons, H, W) -> (share of values > 0, share of values < 0) per neuron: ReLU keeps the
    first unchanged and sets the second to 0."""
    flat = conv.reshape(len(conv), -1)
    return [float(v) for v in (flat > 0).mean(axis=1)], [float(v) for v in (flat < 0).mean(axis=1)]


def relu_visible(conv: np.ndarray) -> list[bool]:
    """conv (neurons, H, W) -> per neuron: do both its positive and its negative extremes reach
    RELU_VISIBLE of the layer's largest |value|? On the layer's one colour range (the figures' default)
    a map whose values are all small is near white: 30 % positive, and still nothing to see after ReLU."""
    flat = conv.reshape(len(conv), -1).astype(np.float64)
    top = RELU_VISIBLE * float(np.abs(flat).max())
    return [bool(hi >= top and -lo >= top) for hi, lo in zip(flat.max(axis=1), flat.min(axis=1), strict=True)]


def relu_choice(positive: Sequence[float], visible: Sequence[bool] | None = None) -> int:
    """The neuron whose share of positive values is closest to 1/2 (ties: the lowest index), among those
    RELU_RANGE positive and visible, else among those RELU_RANGE positive, else among all."""
    share = np.asarray(positive, np.float64)
    shown = np.ones(len(share), bool) if visible is None else np.asarray(visible, bool)
    fits = (share >= RELU_RANGE[0]) & (share <= RELU_RANGE[1])
    for pool in (fits & shown, fits, np.ones(len(share), bool)):
        if pool.any():
            return int(np.argmin(np.where(pool, np.abs(share - 0.5), np.inf)))
    raise ValueError("relu_choice: no neurons")


def in_relu_range(share: float) -> bool:
    return RELU_RANGE[0] <= share <= RELU_RANGE[1]


def relu_examples(stages: dict[str, np.ndarray]) -> dict:
    """{"layer", "neuron", "layers": {relu layer: {"neuron", "positive": [...], "zeroed": [...],
    "visible": [...]}}}: the example layer is the first whose choice is RELU_RANGE positive and visible,
    else the first whose choice is RELU_RANGE positive, else the one closest to half positive."""
    layers: dict[str, Any] = {}
    for layer in RELU_LAYERS:
        conv = stages[previous_stage(layer)]
        positive, zeroed = relu_shares(conv)
        visible = relu_visible(conv)
        n = relu_choice(positive, visible)
        layers[layer] = {"neuron": n, "positive": positive, "zeroed": zeroed, "visible": visible}

    def share(layer: str) -> float:
        return layers[layer]["positive"][layers[layer]["neuron"]]

    def shown(layer: str) -> bool:
        return layers[layer]["visible"][layers[layer]["neuron"]]

    fits = [layer for layer in RELU_LAYERS if in_relu_range(share(layer))]
    good = [layer for layer in fits if shown(layer)]
    layer = (good or fits or [min(RELU_LAYERS, key=lambda name: abs(share(name) - 0.5))])[0]
    return {"layer": layer, "neuron": layers[layer]["neuron"], "layers": layers}


# ---- pooling ------------------------------------------------------------------------------------


def pool_start(pooled: np.ndarray) -> int:
    """Where the pool animation's single steps begin (row-major over the pooled (h, w) map): the row
    segment with the most non-zero windows (then the largest values, then the lowest start)."""
    return best_segment(pooled != 0, POOL_STEPS[0], tie=np.abs(pooled))


def pool_walk(pooled: np.ndarray) -> list[int]:
    """The window positions (row-major over the pooled map) the pool animation shows."""
    return walk_positions(pooled.size, pool_start(pooled), POOL_STEPS[0], sum(POOL_STEPS), good=pooled != 0)


def pool_walk_nonzero(pooled: np.ndarray) -> tuple[int, int]:
    """(windows the animation shows whose maximum is not 0, windows it shows)."""
    walk = pool_walk(pooled)
    return int(np.count_nonzero(pooled.reshape(-1)[walk])), len(walk)


def pool_examples(stages: dict[str, np.ndarray]) -> dict:
    """{"layer", "neuron", "layers": {pool layer: {"neuron", "nonzero": [...], "steps": [...]}}}: per
    neuron, the non-zero windows of its walk and the walk's length."""
    layers: dict[str, Any] = {}
    for layer in POOL_LAYERS:
        counts = [pool_walk_nonzero(m) for m in stages[layer]]
        nonzero, steps = [c[0] for c in counts], [c[1] for c in counts]
        share = np.array(nonzero, np.float64) / np.maximum(1, steps)
        layers[layer] = {"neuron": int(np.argmax(share)), "nonzero": nonzero, "steps": steps}

    def half(layer: str) -> bool:
        info = layers[layer]
        return 2 * info["nonzero"][info["neuron"]] >= info["steps"][info["neuron"]]

    fits = [layer for layer in POOL_LAYERS if half(layer)]
    layer = fits[0] if fits else POOL_LAYERS[0]
    return {"layer": layer, "neuron": layers[layer]["neuron"], "layers": layers}


# ---- convolution detail -------------------------------------------------------------------------


def detail_channel(inter: np.ndarray) -> int:
    """The input channel whose intermediate map contributes most (largest sum of |values|), of one
    neuron's (in_c, H, W) intermediate maps."""
    return int(np.argmax(np.abs(inter).sum(axis=(1, 2))))


def detail_start(mid: np.ndarray) -> int:
    """Where the detail animation's single steps begin (row-major over the intermediate (h, w) map):
    the segment of DETAIL_STEPS[0] positions, within one row when rows are long enough, whose values
    have the largest standard deviation (ties: the lowest start)."""
    w = mid.shape[1]
    first = min(DETAIL_STEPS[0], mid.size)
    flat = mid.reshape(-1).astype(np.float64)
    spread = np.lib.stride_tricks.sliding_window_view(flat, first).std(axis=1)  # (n - first + 1,)
    starts = np.arange(len(spread))
    if w >= first:
        spread = np.where((starts % w) + first <= w, spread, -np.inf)
    return int(np.argmax(spread))


def detail_walk(mid: np.ndarray, start: int | None = None) -> list[int]:
    """The window positions (row-major over the intermediate map) the detail animation shows (`start`:
    detail_start(mid), when the caller has it)."""
    start = detail_start(mid) if start is None else start
    return walk_positions(mid.size, start, DETAIL_STEPS[0], sum(DETAIL_STEPS))


def detail_stats(mid: np.ndarray) -> dict:
    """What the detail walk crosses: where its single steps are and how much the map varies there,
    next to the whole map."""
    first = min(DETAIL_STEPS[0], mid.size)
    start = detail_start(mid)
    seg = mid.reshape(-1)[start : start + first].astype(np.float64)
    row, col = divmod(start, mid.shape[1])
    return {
        "row": row,
        "col": col,
        "single_steps": first,
        "steps": len(detail_walk(mid, start)),
        "walk_std": float(seg.std()),
        "map_std": float(mid.astype(np.float64).std()),
        "walk_min": float(seg.min()),
        "walk_max": float(seg.max()),
    }


def detail_examples(intermediates: dict[str, np.ndarray]) -> dict:
    """{"layers": {conv layer: [{"channel", "row", "col", ...} per neuron]}}."""
    layers: dict[str, Any] = {}
    for layer in CONV_LAYERS:
        rows = []
        for inter in intermediates[layer]:  # (in_c, H, W) per neuron
            k = detail_channel(inter)
            rows.append({"channel": k, **detail_stats(inter[k])})
        layers[layer] = rows
    return {"layers": layers}


def sample_examples(stages: dict[str, np.ndarray], intermediates: dict[str, np.ndarray]) -> dict:
    """Every example choice for one probed image, with its statistics (facts.json `examples`)."""
    return {
        "relu": relu_examples(stages),
        "pool": pool_examples(stages),
        "conv-detail": detail_examples(intermediates),
    }


# ---- the featured image -------------------------------------------------------------------------

FEATURED_CONFIDENCE = 0.75  # "clear confidence": the model gives the true class at least this probability


def featured_stats(sample: dict) -> dict:
    """The featured image's class and the model's confidence (facts `featured_stats`, manifest too)."""
    label, predicted = sample.get("label"), sample["predicted"]
    return {
        "slug": sample["slug"],
        "label": label,
        "predicted": predicted,
        "confidence": float(sample["probs"][predicted]),
        "correct": None if label is None else label == predicted,
    }


def choose_featured(samples: Sequence[dict]) -> str:
    """The image the chapters feature, when the site names none: the first test image (in sample order:
    by class) the model gets right with probability >= FEATURED_CONFIDENCE; else the one it gets right
    most confidently (the first of equals); else the first sample."""
    right = [s for s in samples if s.get("label") is not None and s["label"] == s["predicted"]]
    for s in right:
        if s["probs"][s["predicted"]] >= FEATURED_CONFIDENCE:
            return str(s["slug"])
    if right:
        return str(max(right, key=lambda s: s["probs"][s["predicted"]])["slug"])
    return str(samples[0]["slug"])
