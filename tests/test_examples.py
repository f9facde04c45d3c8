"""Examples chosen by the data (generator/examples.py), the statistics the figures report about them, and
the first frame of every GIF, which is all a still (print, slides, previews, reduced motion) shows."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image, ImageSequence
from render_fixtures import render_context, spec
from test_docs import stand_in_facts

from generator import examples
from generator.arch import CONV_LAYERS, POOL_LAYERS, RELU_LAYERS, previous_stage
from generator.catalog import build_catalog
from generator.errors import ShortcodeError
from generator.records import FigureSpec, RenderContext
from generator.render import conv, hyper, kernels, pool, relu, softmax
from generator.usage import spec_for

# ---- walks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "start", "first", "frames"),
    [(900, 0, 8, 24), (900, 455, 8, 24), (3844, 3000, 12, 26), (10, 3, 8, 24), (169, 160, 8, 24)],
)
def test_walks_sweep_the_whole_map_in_order(n: int, start: int, first: int, frames: int) -> None:
    walk = examples.walk_positions(n, start, first, frames)
    assert walk[0] == 0 and walk[-1] == n - 1 and len(walk) <= max(frames, first)
    assert all(a < b for a, b in itertools.pairwise(walk))  # the revealed map only grows
    lo = min(start, n - first)
    assert set(range(lo, lo + first)) <= set(walk)  # the single steps


def test_jumps_land_on_good_positions() -> None:
    good = np.zeros(900, bool)
    good[::7] = True
    walk = examples.walk_positions(900, 300, 8, 24, good=good)
    jumps = [p for p in walk[1:-1] if not 300 <= p < 308]
    assert jumps and all(good[p] for p in jumps)


# ---- ReLU ---------------------------------------------------------------------------------------


def test_relu_choice_is_closest_to_half_positive_ties_lowest() -> None:
    assert examples.relu_choice([0.0, 1.0, 0.3, 0.7, 0.45, 0.55]) == 4
    assert examples.relu_choice([1.0, 0.05, 0.0]) == 1  # nothing in range: still the closest
    assert examples.relu_choice([0.6, 0.4]) == 0


def test_relu_example_layer_is_the_first_with_a_neuron_in_range() -> None:
    shapes = {"conv_1_1": (3, 8, 8), "conv_1_2": (3, 8, 8), "conv_2_1": (3, 8, 8), "conv_2_2": (3, 8, 8)}
    stages = {name: np.ones(shape, np.float32) for name, shape in shapes.items()}  # all positive
    stages["conv_1_2"][1, :5] = -1.0  # 5/8 rows negative: 37.5 % positive
    stages["conv_2_1"][2, :4] = -1.0  # 50 %, but a later layer
    chosen = examples.relu_examples(stages)
    assert (chosen["layer"], chosen["neuron"]) == ("relu_1_2", 1)
    assert chosen["layers"]["relu_1_2"]["positive"][1] == 0.375
    assert chosen["layers"]["relu_1_2"]["zeroed"][1] == 0.625


@pytest.mark.parametrize("slug", ["ladybug", "school-bus"])
def test_relu_example_of_a_real_probe_is_20_to_80_percent_positive(slug: str) -> None:
    ctx = render_context()
    probe = ctx.probes[slug]
    chosen = examples.relu_examples(probe.stages)
    layer, neuron = chosen["layer"], chosen["neuron"]
    before = probe.stages[previous_stage(layer)][neuron]
    share = float((before > 0).mean())
    assert 0.2 <= share <= 0.8, (layer, neuron, share)
    stats = relu.render_relu(spec("relu", slug, layer, neuron), ctx).stats
    assert stats == {
        "positive_before": share,
        "positive_after": share,
        "zeroed": float((before < 0).mean()),
        "visible": True,
        "example": True,
    }
    # and the "after" map is not blank on the layer's colour range: its largest value shows
    top = float(np.abs(probe.stages[previous_stage(layer)]).max())
    assert probe.stages[layer][neuron].max() >= examples.RELU_VISIBLE * top


def test_relu_choice_prefers_a_neuron_whose_colours_show() -> None:
    """30 % positive but with tiny values (white on the layer's range) loses to 25 % with real ones."""
    conv = np.ones((3, 10, 10), np.float32)
    conv[0, :7] = -1.0  # 30 % positive, but its positives are 0.01
    conv[0, 7:] = 0.01
    conv[1, :] = 5.0  # the layer's largest value: every neuron is measured against it
    conv[2, :2] = 4.0
    conv[2, 2:] = -4.0  # 20 % positive, both colours strong
    positive, _ = examples.relu_shares(conv)
    assert examples.relu_visible(conv) == [False, False, True]
    assert examples.relu_choice(positive) == 0 and examples.relu_choice(positive, examples.relu_visible(conv)) == 2


# ---- pooling ------------------------------------------------------------------------------------


def test_pool_walk_finds_the_content_of_a_mostly_empty_map() -> None:
    """A map that is zero but for a blob: sweeping from the corner (the old walk) shows zeros."""
    pooled = np.zeros((30, 30), np.float32)
    pooled[12:20, 9:21] = np.arange(96, dtype=np.float32).reshape(8, 12) + 1
    nonzero, steps = examples.pool_walk_nonzero(pooled)
    assert 2 * nonzero >= steps, (nonzero, steps)
    old = [p for p in examples.walk_positions(900, 0, 8, 24)]
    assert 2 * int(np.count_nonzero(pooled.reshape(-1)[old])) < len(old)  # the corner sweep would not


@pytest.mark.parametrize("slug", ["ladybug", "school-bus"])
@pytest.mark.parametrize("layer", POOL_LAYERS)
def test_pool_example_shows_at_least_half_non_zero_windows(slug: str, layer: str) -> None:
    ctx = render_context()
    probe = ctx.probes[slug]
    neuron = examples.pool_examples(probe.stages)["layers"][layer]["neuron"]
    steps = pool.pool_steps(probe, layer, neuron)
    nonzero = sum(1 for s in steps if s.value > 0)
    assert 2 * nonzero >= len(steps), (nonzero, len(steps))
    stats = pool.render_pool(spec("pool", slug, layer, neuron), ctx).stats
    assert (stats["nonzero_steps"], stats["steps"], stats["example"]) == (nonzero, len(steps), True)
    assert stats["nonzero_share"] == nonzero / len(steps)


# ---- convolution detail -------------------------------------------------------------------------


@pytest.mark.parametrize("layer", CONV_LAYERS)
def test_detail_walk_crosses_where_the_map_varies(layer: str) -> None:
    ctx = render_context()
    probe = ctx.probes["ladybug"]
    k = conv.detail_channel(probe, layer, 0)
    mid = probe.intermediates[layer][0, k]
    stats = conv.render_conv_detail(spec("conv-detail", "ladybug", layer, 0), ctx).stats
    seg = mid[stats["row"], stats["col"] : stats["col"] + examples.DETAIL_STEPS[0]].astype(np.float64)
    assert stats["channel"] == k and stats["walk_std"] == pytest.approx(seg.std())
    # the single steps cross the most varied stretch of a row: at least as varied as the map, and
    # more than the first row's corner, where the old walk went
    assert stats["walk_std"] >= stats["map_std"]
    assert stats["walk_std"] >= mid[0, : examples.DETAIL_STEPS[0]].std()
    steps = conv.detail_steps(probe, ctx.weights, layer, 0)
    cols = [(s.row, s.col) for s in steps]
    first = examples.DETAIL_STEPS[0]
    assert [(stats["row"], stats["col"] + i) for i in range(first)] == cols[cols.index((stats["row"], stats["col"])) :][
        :first
    ]


# ---- the featured image -------------------------------------------------------------------------


def _sample(slug: str, label: int | None, predicted: int, p: float) -> dict:
    probs = [(1 - p) / 9] * 10
    probs[predicted] = p
    return {"slug": slug, "label": label, "predicted": predicted, "probs": probs}


def test_featured_is_right_and_confident() -> None:
    samples = [_sample("a", 0, 3, 0.9), _sample("b", 1, 1, 0.5), _sample("c", 2, 2, 0.8), _sample("d", 3, 3, 0.99)]
    assert examples.choose_featured(samples) == "c"  # the first right one with >= 75 %
    assert examples.choose_featured(samples[:2]) == "b"  # else the most confident right one
    assert examples.choose_featured([_sample("x", None, 1, 0.99), samples[0]]) == "x"  # none right: the first
    stats = examples.featured_stats(samples[2])
    assert stats == {"slug": "c", "label": 2, "predicted": 2, "confidence": 0.8, "correct": True}


# ---- shortcodes: neuron=auto --------------------------------------------------------------------


def test_auto_resolves_to_the_recorded_example() -> None:
    facts = stand_in_facts()
    chosen = facts["samples"][0]["examples"]
    s = spec_for("relu", {"layer": "auto", "neuron": "auto"}, facts)
    assert (s.layer, s.neuron) == (chosen["relu"]["layer"], chosen["relu"]["neuron"])
    s = spec_for("pool", {"layer": "max_pool_2", "neuron": "auto"}, facts)
    assert s.neuron == chosen["pool"]["layers"]["max_pool_2"]["neuron"]
    s = spec_for("relu", {"neuron": "auto"}, facts)  # the default layer
    assert (s.layer, s.neuron) == ("relu_1_1", chosen["relu"]["layers"]["relu_1_1"]["neuron"])
    assert spec_for("relu", {"layer": "relu_2_1", "neuron": "4"}, facts).neuron == 4  # numbers still work
    with pytest.raises(ShortcodeError, match="auto"):
        spec_for("conv-overview", {"neuron": "auto"}, facts)
    catalog = build_catalog(["sample"], "sample", (), 10, {"sample": chosen})
    relus = {(s.layer, s.neuron) for s in catalog if s.kind == "relu"}
    assert relus == {(layer, chosen["relu"]["layers"][layer]["neuron"]) for layer in RELU_LAYERS}


# ---- first frames -------------------------------------------------------------------------------


def frames_of(data: bytes) -> tuple[list[np.ndarray], list[int]]:
    im = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for f in ImageSequence.Iterator(im):
        frames.append(np.asarray(f.convert("RGB")).copy())
        durations.append(int(f.info.get("duration", 0)))
    return frames, durations


def ink(frame: np.ndarray) -> int:
    """Pixels that differ from the background (the top-left pixel's colour)."""
    return int(np.any(frame != frame[0, 0], axis=-1).sum())


def assert_full_first_frame(data: bytes) -> list[np.ndarray]:
    """A first frame is "not empty" when it holds (nearly) as much as the fullest frame of the loop:
    a frame whose maps are still blank, or whose table lacks its probabilities, holds less."""
    frames, _ = frames_of(data)
    assert len(frames) > 2
    fullest = max(ink(f) for f in frames)
    assert ink(frames[0]) >= 0.97 * fullest, (ink(frames[0]), fullest, [ink(f) for f in frames[:4]])
    assert not np.array_equal(frames[0], frames[1])
    return frames


def _ctx() -> RenderContext:
    return render_context()


@pytest.mark.parametrize("layer", ["conv_1_1", "conv_2_2"])
def test_conv_overview_opens_on_the_finished_maps(layer: str) -> None:
    ctx = _ctx()
    r = conv.render_conv_overview(spec("conv-overview", "ladybug", layer, 1), ctx)
    frames = assert_full_first_frame(r.data)
    probe = ctx.probes["ladybug"]
    lay = conv.overview_layout(*probe.stages[previous_stage(layer)].shape[:2])
    box = lay.output
    first = frames[0][box.y : box.y + box.h, box.x : box.x + box.w]
    blank = frames[1][box.y : box.y + box.h, box.x : box.x + box.w]  # the base: before the sweep
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 3  # the output map, not a uniform box
    assert len(np.unique(blank.reshape(-1, 3), axis=0)) == 1


def test_conv_detail_and_pool_open_on_the_finished_map_with_a_telling_window() -> None:
    ctx = _ctx()
    frames, _ = frames_of(conv.render_conv_detail(spec("conv-detail", "ladybug", "conv_1_1", 0), ctx).data)
    m = conv.detail_layout(64, 64).mid
    first, blank, last = (
        f[m.y : m.y + m.h, m.x : m.x + m.w].reshape(-1, 3) for f in (frames[0], frames[1], frames[-1])
    )
    assert len(np.unique(first, axis=0)) > 1 and len(np.unique(blank, axis=0)) == 1  # filled in, then blank
    assert np.all(first == last, axis=1).mean() > 0.95  # the finished map (but for the window highlights)
    probe = ctx.probes["school-bus"]
    neuron = examples.pool_examples(probe.stages)["layers"]["max_pool_1"]["neuron"]
    r = pool.render_pool(spec("pool", "school-bus", "max_pool_1", neuron), ctx)
    assert_full_first_frame(r.data)
    best = pool.poster_step(pool.pool_steps(probe, "max_pool_1", neuron))
    assert best.value > 0 and r.stats["poster"] == [best.row, best.col]


def test_softmax_opens_on_every_probability() -> None:
    ctx = _ctx()
    r = softmax.render_softmax(FigureSpec(id="x", kind="softmax", file="x.gif", image="ladybug"), ctx)
    assert_full_first_frame(r.data)
    _, durations = frames_of(r.data)
    assert durations[0] == 3000  # the finished table with the prediction marked
    probs = ctx.probes["ladybug"].stages["softmax"]
    assert r.stats["confidence"] == pytest.approx(float(probs.max()))
    assert r.stats["label"] == ctx.classes[1] and r.stats["correct"] == (int(np.argmax(probs)) == 1)


@pytest.mark.parametrize("which", ["padding", "kernel-size", "stride"])
def test_hyperparameter_opens_on_a_finished_output(which: str) -> None:
    """Each setting ends on a frame held HOLD_MS; the loop opens on the first setting's finished output,
    then plays that setting from its first window (which holds less: one window, one output cell)."""
    r = hyper.render_hyperparameter(
        FigureSpec(id="x", kind="hyperparameter", file="x.gif", params={"hyper": which}), _ctx()
    )
    frames, durations = frames_of(r.data)
    assert durations[0] == hyper.HOLD_MS
    end = next(i for i in range(1, len(durations)) if durations[i] == hyper.HOLD_MS)
    first_setting = frames[1 : end + 1]
    assert len(first_setting) > 2 and np.array_equal(frames[0], frames[end])
    assert ink(frames[0]) >= 0.97 * max(ink(f) for f in first_setting)  # those also draw the window
    assert ink(frames[0]) > ink(first_setting[0])  # the old first frame


def test_kernel_evolution_opens_on_the_trained_kernels() -> None:
    ctx = _ctx()
    r = kernels.render_kernel_evolution(FigureSpec(id="x", kind="kernel-evolution", file="x.gif"), ctx)
    frames, durations = frames_of(r.data)
    assert durations[0] == 2500 and durations[1] == 1500  # the last epoch (held), then initialisation
    assert len(frames) == len(ctx.history.kernels)
