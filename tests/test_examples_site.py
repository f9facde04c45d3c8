"""The real site's examples (generator/examples.py): the manifest records each choice with its numbers,
the numbers equal what the probe's arrays give, the chapters quote them, and every GIF of the site
opens on a frame that shows something (what print, slides, previews and reduced motion see)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from cli_support import latest
from conftest import REPO, BuiltSite
from PIL import Image, ImageSequence
from safetensors.numpy import load_file

from generator import examples
from generator.arch import layer_shapes, previous_stage
from generator.config import DEFAULT_CACHE_DIR
from generator.render import conv
from generator.render.common import Box

pytestmark = pytest.mark.slow
CACHE = REPO / DEFAULT_CACHE_DIR  # where the built_site fixture's build (the repository's mkdocs.yml) caches


def manifest(site: BuiltSite) -> dict:
    return json.loads((site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))


def stages(slug: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    arrays = load_file(str(latest(CACHE, "probe") / "samples" / f"{slug}.safetensors"))
    return (
        {k[6:]: v for k, v in arrays.items() if k.startswith("stage.")},
        {k[6:]: v for k, v in arrays.items() if k.startswith("inter.")},
    )


def test_featured_image_is_right_and_confident(built_site: BuiltSite) -> None:
    m = manifest(built_site)
    facts = json.loads((latest(CACHE, "probe") / "facts.json").read_text(encoding="utf-8"))
    sample = next(s for s in facts["samples"] if s["slug"] == m["featured"])
    stats = m["featured_stats"]
    assert stats["slug"] == m["featured"] and stats["correct"] is True
    assert sample["label"] == sample["predicted"] == stats["predicted"]
    assert stats["confidence"] == max(sample["probs"]) >= examples.FEATURED_CONFIDENCE
    assert m["featured"] == examples.choose_featured(facts["samples"])


def test_manifest_stats_equal_the_probe(built_site: BuiltSite) -> None:
    m = manifest(built_site)
    seen = set()
    for entry in m["figures"]:
        kind = entry["kind"]
        if kind not in ("relu", "pool", "conv-detail", "softmax"):
            continue
        assert "stats" in entry, entry["id"]
        st, inter = stages(entry["image"])
        stats, layer, neuron = entry["stats"], entry["layer"], entry["neuron"]
        seen.add(kind)
        if kind == "relu":
            before, after = st[previous_stage(layer)][neuron], st[layer][neuron]
            assert stats["positive_before"] == float((before > 0).mean())
            assert stats["positive_after"] == float((after > 0).mean())
            assert stats["zeroed"] == float((before < 0).mean())
        elif kind == "pool":
            nonzero, steps = examples.pool_walk_nonzero(st[layer][neuron])
            assert (stats["nonzero_steps"], stats["steps"]) == (nonzero, steps)
            assert stats["positions"] == examples.pool_walk(st[layer][neuron])  # what the player walks too
        elif kind == "conv-detail":
            k = examples.detail_channel(inter[layer][neuron])
            mid = inter[layer][neuron, k]
            walk = examples.detail_walk(mid)
            assert stats == {"channel": k, **examples.detail_stats(mid), "positions": walk}
        else:
            assert stats["confidence"] == pytest.approx(float(st["softmax"].max()))
    assert seen == {"relu", "pool", "conv-detail", "softmax"}


def _figure_ids(page: str) -> list[str]:
    """The ids of the figures a page shows (a light picture, or the only one; not the dark variants)."""
    return re.findall(r'src="[^"#]*figures/([^"#]+)\.(?:png|gif)(?:#only-light)?"', page)


@pytest.mark.parametrize("lang", ["", "en/"])
def test_chapters_show_the_chosen_examples_and_quote_their_numbers(built_site: BuiltSite, lang: str) -> None:
    m = manifest(built_site)
    by_id = {e["id"]: e for e in m["figures"]}
    featured = m["featured"]
    activation = (built_site.root / lang / "activation" / "index.html").read_text(encoding="utf-8")
    relu = [by_id[i] for i in _figure_ids(activation) if by_id[i]["kind"] == "relu"]
    assert len(relu) == 1 and relu[0]["image"] == featured
    share = relu[0]["stats"]["positive_before"]
    assert examples.RELU_RANGE[0] <= share <= examples.RELU_RANGE[1] and relu[0]["stats"]["example"]
    text = html.unescape(re.sub(r"<[^>]+>", "", activation))
    assert f"{100 * share:.1f} %" in text and f"{100 * relu[0]['stats']['zeroed']:.1f} %" in text
    assert relu[0]["layer"] in text

    pooling = (built_site.root / lang / "pooling" / "index.html").read_text(encoding="utf-8")
    pool = [by_id[i] for i in _figure_ids(pooling) if by_id[i]["kind"] == "pool"]
    assert len(pool) == 1 and pool[0]["stats"]["example"]
    stats = pool[0]["stats"]
    assert 2 * stats["nonzero_steps"] >= stats["steps"]
    text = html.unescape(re.sub(r"<[^>]+>", "", pooling))
    numbers = re.findall(r"\d+", text)
    assert str(stats["nonzero_steps"]) in numbers and str(stats["steps"]) in numbers
    assert f"max_pool_1 的第 {pool[0]['neuron']} 个" in text or f"neuron {pool[0]['neuron']} of max_pool_1" in text


def ink(frame: np.ndarray) -> int:
    """Pixels that differ from the background (the top-left pixel's colour)."""
    return int(np.any(frame != frame[0, 0], axis=-1).sum())


def map_region(frame: np.ndarray, box: Box) -> np.ndarray:
    return frame[box.y : box.y + box.h, box.x : box.x + box.w].reshape(-1, 3)


def test_every_gif_opens_on_a_frame_that_shows_something(built_site: BuiltSite) -> None:
    """Not empty, per kind: conv-overview and conv-detail open with their output (intermediate) map
    filled in (more than one colour, where the blank start that follows has one; a map may be faint,
    but it is drawn; for conv-detail, the map of the last frame, where the sweep ends); pool and
    softmax open on (nearly) their fullest frame (>= 97 % of its non-background pixels: the pooled
    map is filled in, the table has every probability); hyperparameter on the first setting's
    finished output (the frame that setting ends on); kernel-evolution on the trained kernels (the
    last epoch, held 2.5 s, then initialisation)."""
    bad = []
    for entry in manifest(built_site)["figures"]:
        if not entry["file"].endswith(".gif"):
            continue
        path = built_site.root / "figures" / entry["file"]
        frames = [np.asarray(f.convert("RGB")).copy() for f in ImageSequence.Iterator(Image.open(path))]
        durations = [int(f.info.get("duration", 0)) for f in ImageSequence.Iterator(Image.open(path))]
        kind = entry["kind"]
        if kind in ("conv-overview", "conv-detail"):
            c, h, w = layer_shapes()[previous_stage(entry["layer"])]
            box = conv.overview_layout(c, h).output if kind == "conv-overview" else conv.detail_layout(h, w).mid
            first, blank = map_region(frames[0], box), map_region(frames[1], box)
            ok = len(np.unique(first, axis=0)) > 1 and len(np.unique(blank, axis=0)) == 1
            if kind == "conv-detail":  # the finished map (but for the two frames' window highlights)
                ok = ok and np.all(first == map_region(frames[-1], box), axis=1).mean() > 0.95
        elif kind == "kernel-evolution":
            ok = durations[0] == 2500 and durations[1] == 1500
        elif kind == "hyperparameter":
            end = next(i for i in range(1, len(durations)) if durations[i] == durations[0])
            ok = np.array_equal(frames[0], frames[end]) and ink(frames[0]) > ink(frames[1])
        else:
            ok = ink(frames[0]) >= 0.97 * max(ink(f) for f in frames) and not np.array_equal(frames[0], frames[1])
        if not ok:
            bad.append(entry["id"])
    assert not bad, bad


def test_site_fits_60_mb(built_site: BuiltSite) -> None:
    size = sum(f.stat().st_size for f in built_site.root.rglob("*") if f.is_file())
    assert size < 60e6, size / 1e6
