"""The embedded default dataset: ten procedurally drawn classes, generated in memory, offline.

Classes differ by SHAPE (circle ... crescent) or TEXTURE (stripes, checkerboard, dots) only. Colours,
size, position, rotation, background gradient, colour blotches and pixel noise come from the same
distributions for every class, so colour says nothing about the class. Everything is vectorised:
each class is one batch of signed-distance fields turned into anti-aliased masks (~0.3 s per 1,000).

Difficulty was tuned so that TinyVGG (Adam, a few epochs over 600 images a class) lands around
93-99 % test accuracy: random rotations and colours make it non-trivial for 10 filters, while
near-centred shapes and a foreground that is always the lighter colour keep it learnable in seconds.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from generator.config import DataConfig
    from generator.datasets.base import Dataset

# Bump when the drawing code changes: it is part of the dataset spec, hence of every cache key.
SHAPES_VERSION = 1
CLASSES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "crescent",
    "stripes",
    "checkerboard",
    "dots",
)
TEST_PER_CLASS = 100
SIZE = 64
_STREAMS = {"train": 0, "test": 1}  # separate seed streams: the test set does not depend on per_class

# Drawing parameters (pixels unless noted).
RADIUS = (16.0, 24.0)  # a shape's circumscribed radius
SHIFT = 2.0  # largest offset of a shape's centre from the image centre
MIN_COLOUR_DISTANCE = 0.45  # between foreground and background, RGB in [0, 1]
NOISE = 0.05  # largest pixel-noise standard deviation, in [0, 1] units
BLOTCH = 0.05  # largest amplitude of the smooth colour blotches
GRADIENT = 0.12  # largest amplitude of the linear background gradient
TEXTURE_PERIOD = {"stripes": (12.0, 18.0), "checkerboard": (4.0, 6.0), "dots": (9.6, 14.4)}

# Pixel-centre coordinates, shared by every image.
_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5  # (64, 64) each


def load(cfg: DataConfig, spec: dict, progress: bool = True, threads: int | None = None) -> Dataset:
    """cfg.per_class training images a class (minus the validation share) and TEST_PER_CLASS test images,
    drawn by `threads` threads (None: one per core)."""
    from generator.datasets.base import carve_validation

    x, y = generate(cfg.per_class, cfg.seed, "train", progress, threads)
    test_x, test_y = generate(TEST_PER_CLASS, cfg.seed, "test", progress, threads)
    test_ids = tuple(f"{CLASSES[label]}-{i % TEST_PER_CLASS:03d}" for i, label in enumerate(test_y))
    return carve_validation("shapes", CLASSES, x, y, test_x, test_y, test_ids, cfg, spec)


def generate(
    per_class: int, seed: int, split: str, progress: bool = False, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `per_class` images of every class; returns x (N, 64, 64, 3) uint8 and y (N,) int64.

    The classes are drawn in `threads` threads (None: one per core): the drawing is NumPy array
    arithmetic, which runs without the GIL (about 1.4x faster on two cores). Each class has its own
    random stream, so the images are the same whatever the order and the number of threads."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    def draw(label: int) -> np.ndarray:
        # One independent stream per (seed, split, class): classes can be drawn in any order.
        rng = np.random.default_rng(np.random.SeedSequence([seed % 2**63, _STREAMS[split], label]))
        return _draw_class(CLASSES[label], per_class, rng)

    bar = tqdm(total=len(CLASSES), desc=f"Drawing shapes ({split})", unit="class", disable=not progress, leave=False)
    xs = []
    with bar, ThreadPoolExecutor(max_workers=min(len(CLASSES), threads or os.cpu_count() or 1)) as pool:
        for x in pool.map(draw, range(len(CLASSES))):
            xs.append(x)
            bar.update()
    ys = [np.full(per_class, label, dtype=np.int64) for label in range(len(CLASSES))]
    return np.concatenate(xs), np.concatenate(ys)


CHUNK = 32  # images composed at a time: their float arrays (~1.5 MB) stay in the CPU's cache


def _draw_class(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    fg, bg = _colour_pairs(n, rng)  # (n, 3) each, in [0, 1]
    mask = _texture(name, n, rng) if name in TEXTURE_PERIOD else _shape(name, n, rng)  # (n, 64, 64)
    field = _background_params(n, rng)
    # Grey pixel noise (one draw per pixel, shared by the channels: three times cheaper, same effect).
    sigma = rng.uniform(0.02, NOISE, (n, 1, 1, 1)).astype(np.float32)
    noise = rng.standard_normal((n, 1, SIZE, SIZE), dtype=np.float32)  # the same numbers as (n, 64, 64, 1)
    # Every random number is drawn above, in the order of the original one-pass code. The images are then
    # composed channel-first (long inner loops, not loops of 3) a chunk at a time (the arrays stay in the
    # CPU's cache): the same bytes, about twice as fast.
    out = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for a in range(0, n, CHUNK):
        b = min(a + CHUNK, n)
        img = _background_field(*(p[a:b] for p in field))  # (chunk, 3, 64, 64)
        img += bg[a:b, :, None, None]
        img += (fg - bg)[a:b, :, None, None] * mask[a:b, None]
        img += noise[a:b] * sigma[a:b]
        img *= 255.0
        img += 0.5
        out[a:b] = np.clip(img, 0, 255, out=img).transpose(0, 2, 3, 1)
    return out


def _colour_pairs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random RGB pairs, far enough apart to see; the lighter one is the foreground.

    A fixed polarity spares the ten filters from learning every edge twice (light-on-dark and
    dark-on-light); it is the same for every class, so it carries no class information.
    """
    fg = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    bg = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    low = np.linalg.norm(fg - bg, axis=1) < MIN_COLOUR_DISTANCE
    while low.any():
        fg[low] = rng.uniform(0.0, 1.0, (int(low.sum()), 3))
        bg[low] = rng.uniform(0.0, 1.0, (int(low.sum()), 3))
        low = np.linalg.norm(fg - bg, axis=1) < MIN_COLOUR_DISTANCE
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    swap = (fg @ luma) < (bg @ luma)
    fg[swap], bg[swap] = bg[swap].copy(), fg[swap].copy()
    return fg, bg


def _background_params(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The random numbers of n background fields (see _background_field), in their drawing order."""
    angle = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    gradient = rng.uniform(0.0, GRADIENT, (n, 1, 1, 1)).astype(np.float32)
    coarse = rng.standard_normal((n, 3, 6, 6), dtype=np.float32)
    blotch = rng.uniform(0.0, BLOTCH, (n, 1, 1, 1)).astype(np.float32)
    return angle, gradient, coarse, blotch


def _background_field(angle: np.ndarray, gradient: np.ndarray, coarse: np.ndarray, blotch: np.ndarray) -> np.ndarray:
    """A linear gradient plus smooth colour blotches, added to shape and background alike: (n, 3, 64, 64)."""
    ramp = (np.cos(angle) * (_XX - 32) + np.sin(angle) * (_YY - 32)) / 32  # (n, 64, 64)
    grad = ramp[:, None] * gradient  # (n, 1, 64, 64)
    # Blotches: a 6x6 grid of random values per channel, upsampled bilinearly by two small matmuls.
    up = _bilinear_matrix(6, SIZE)  # (64, 6)
    return grad + (up @ coarse @ up.T) * blotch


def _bilinear_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) matrix that linearly interpolates `src` samples onto `dst` pixel centres."""
    pos = (np.arange(dst) + 0.5) * (src - 1) / dst
    lo = np.floor(pos).astype(int).clip(0, src - 2)
    frac = pos - lo
    mat = np.zeros((dst, src), dtype=np.float32)
    mat[np.arange(dst), lo] = 1 - frac
    mat[np.arange(dst), lo + 1] = frac
    return mat


def _rotated_coords(n: int, rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image coordinates (u, v) in pixels, rotated by a random angle around (cx, cy)."""
    # float32 throughout: float64 parameters would silently promote every (n, 64, 64) array.
    theta = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    c, s = np.cos(theta), np.sin(theta)
    dx, dy = _XX - cx.astype(np.float32), _YY - cy.astype(np.float32)  # (n, 64, 64)
    return c * dx + s * dy, c * dy - s * dx


def _coverage(sd_pixels: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage from a signed distance in pixels (negative inside)."""
    return np.clip(0.5 - sd_pixels, 0.0, 1.0).astype(np.float32)


def _shape(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 64, 64) coverage masks of one shape class at random sizes, rotations and small offsets."""
    r = rng.uniform(*RADIUS, (n, 1, 1)).astype(np.float32)
    cx = SIZE / 2 + rng.uniform(-SHIFT, SHIFT, (n, 1, 1))
    cy = SIZE / 2 + rng.uniform(-SHIFT, SHIFT, (n, 1, 1))
    u, v = _rotated_coords(n, rng, cx, cy)
    p, q = u / r, v / r  # normalised: the shape's circumscribed circle has radius 1
    rho = np.hypot(p, q)
    if name == "circle":
        sd = rho - 0.8
    elif name == "square":
        sd = np.maximum(np.abs(p), np.abs(q)) - 0.68
    elif name == "triangle":  # equilateral, circumradius 1 -> inradius 0.5
        normals = [math.pi / 2 + 2 * math.pi * k / 3 for k in range(3)]
        sd = np.max([p * math.cos(a) + q * math.sin(a) for a in normals], axis=0) - 0.5
    elif name == "star":
        sd = _star_sd(p, q, points=5, outer=1.0, inner=0.42)
    elif name == "cross":
        arm, half = 0.9, rng.uniform(0.2, 0.3, (n, 1, 1)).astype(np.float32)
        ap, aq = np.abs(p), np.abs(q)
        sd = np.minimum(np.maximum(ap - arm, aq - half), np.maximum(ap - half, aq - arm))
    elif name == "ring":  # thin, so that it never looks like a thick crescent
        sd = np.abs(rho - 0.72) - rng.uniform(0.08, 0.14, (n, 1, 1)).astype(np.float32)
    elif name == "crescent":  # a disk with an offset disk bitten out of it
        shift = rng.uniform(0.5, 0.6, (n, 1, 1)).astype(np.float32)
        sd = np.maximum(rho - 0.85, 0.7 - np.hypot(p - shift, q))
    else:
        raise ValueError(f"unknown shape {name!r}")
    return _coverage(sd * r)


def _star_sd(p: np.ndarray, q: np.ndarray, points: int, outer: float, inner: float) -> np.ndarray:
    """Signed distance to a star polygon, by folding every point into half of one spike."""
    sector = 2 * np.pi / points
    a = np.mod(np.arctan2(q, p), sector)
    a = np.minimum(a, sector - a)  # 0 = towards a tip, sector/2 = towards an inner corner
    rho = np.hypot(p, q)
    x, y = rho * np.cos(a), rho * np.sin(a)
    # The edge from the tip (outer, 0) to the inner corner; its unit normal points away from the centre.
    ex, ey = inner * math.cos(sector / 2) - outer, inner * math.sin(sector / 2)
    nx, ny = ey / math.hypot(ex, ey), -ex / math.hypot(ex, ey)
    # Inside the folded half-spike exactly when on the centre's side of that edge.
    return (x - outer) * nx + y * ny


def _texture(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 64, 64) two-colour periodic patterns filling the frame, at a random period, phase and angle."""
    u, v = _rotated_coords(n, rng, rng.uniform(0, SIZE, (n, 1, 1)), rng.uniform(0, SIZE, (n, 1, 1)))
    period = rng.uniform(*TEXTURE_PERIOD[name], (n, 1, 1)).astype(np.float32)
    fu, fv = u / period, v / period
    sd: np.ndarray  # signed distance to the pattern's edge, in pixels
    if name == "stripes":  # half light, half dark
        sd = (np.abs(np.mod(fu, 1.0) - 0.5) - 0.25) * period
    elif name == "checkerboard":  # `period` is one square's side
        dist = np.minimum(np.abs(fu - np.round(fu)), np.abs(fv - np.round(fv))) * period
        sd = np.where((np.floor(fu) + np.floor(fv)) % 2 == 0, -dist, dist)
    elif name == "dots":  # light dots on a square grid
        radius = period * rng.uniform(0.2, 0.28, (n, 1, 1)).astype(np.float32)
        sd = np.hypot(fu - np.round(fu), fv - np.round(fv)) * period - radius
    else:
        raise ValueError(f"unknown texture {name!r}")
    return _coverage(sd)
