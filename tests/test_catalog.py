"""The figure catalogue: how many figures of each kind a build has, stable unique ids and files,
and a ShortcodeError naming the bad parameter for every invalid figure."""

from __future__ import annotations

from collections import Counter

import pytest

from generator.arch import CONV_LAYERS, LAYER_NAMES, POOL_LAYERS, RELU_LAYERS
from generator.catalog import ACTIVATION_LAYERS, HYPERS, KINDS, RENDERERS, build_catalog, make_spec
from generator.errors import ShortcodeError

SLUGS = ["circle", "square", "triangle", "star", "cross", "ring", "crescent", "stripes", "checkerboard", "dots"]
MODEL_FIGURES = {
    "relu-graph": 1,
    "kernel-evolution": 1,
    "training-curves": 1,
    "confusion-matrix": 1,
    "logo": 1,
    "kernels": 4,
    "hyperparameter": 3,
}


def _counts(specs, image=None) -> Counter:
    return Counter(s.kind for s in specs if image is None or s.image == image)


def test_counts_per_kind_for_ten_images() -> None:
    specs = build_catalog(SLUGS, featured="star", langs=("en",))
    counts = _counts(specs)
    n = len(SLUGS)
    assert counts["activation"] == 113 * n  # 3 input + 10 layers x 10 + 10 output, per image
    assert counts["activation-grid"] == 12 * n  # input, 10 layers, output
    assert counts["activation"] + counts["activation-grid"] == 125 * n
    assert counts["conv-overview"] == 40 * n
    assert counts["conv-detail"] == 40  # the featured image only
    assert counts["relu"] == len(RELU_LAYERS) * n
    assert counts["pool"] == len(POOL_LAYERS) * n
    for kind in ("input", "overview", "flatten", "softmax", "photo"):
        assert counts[kind] == n, kind
    assert counts["tile"] == 103 * n  # the HTML overview's maps: 3 input channels + 10 layers x 10
    for kind, count in MODEL_FIGURES.items():
        assert counts[kind] == count, kind
    assert set(counts) == set(KINDS)
    assert len(specs) == sum(MODEL_FIGURES.values()) + n * (5 + 113 + 12 + 40 + 4 + 2 + 103) + 40


def test_per_image_counts() -> None:
    specs = build_catalog(["a", "b", "c"], featured="b", detail_images=("c",), langs=("en",))
    for slug in ("a", "b", "c"):
        counts = _counts(specs, slug)
        assert counts["activation"] == 113
        assert counts["conv-overview"] == 40
        assert counts["conv-detail"] == (0 if slug == "a" else 40)
        layers = Counter(s.layer for s in specs if s.image == slug and s.kind == "activation")
        assert layers["input"] == 3 and layers["output"] == 10
        assert all(layers[name] == 10 for name in LAYER_NAMES)
    detail = [s for s in specs if s.kind == "conv-detail" and s.image == "b"]
    assert sorted((s.layer, s.neuron) for s in detail) == sorted((lay, n) for lay in CONV_LAYERS for n in range(10))


def test_output_neurons_follow_class_count() -> None:
    specs = build_catalog(["x"], featured="x", num_classes=4, langs=("en",))
    outputs = [s for s in specs if s.kind == "activation" and s.layer == "output"]
    assert [s.neuron for s in outputs] == [0, 1, 2, 3]
    assert _counts(specs)["activation"] == 3 + 100 + 4
    with pytest.raises(ShortcodeError, match="neuron 4 out of range for output"):
        make_spec("activation", image="x", layer="output", neuron=4, num_classes=4)


def test_no_images() -> None:
    specs = build_catalog([], featured="", langs=("en",))
    assert _counts(specs) == Counter(MODEL_FIGURES)


def test_ids_and_files_are_unique_and_stable() -> None:
    specs = build_catalog(SLUGS, featured="circle", detail_images=("dots",))
    ids = [s.id for s in specs]
    files = [s.file for s in specs]
    assert len(set(ids)) == len(ids)
    assert len(set(files)) == len(files)
    again = build_catalog(SLUGS, featured="circle", detail_images=("dots",))
    assert [(s.id, s.file, s.kind) for s in again] == list(zip(ids, files, [s.kind for s in specs], strict=True))
    for s in specs:
        assert s.file.startswith(s.id + ".")
        assert s.file.endswith("." + KINDS[s.kind][3])
        assert s.kind in RENDERERS
        if KINDS[s.kind][0] == "model":
            assert s.image is None and s.id.startswith("model/")
        else:
            assert s.id.startswith(s.image + "/")


def test_known_file_names() -> None:
    by_id = {s.id: s for s in build_catalog(["ladybug"], featured="ladybug", langs=("en",))}
    expected = {
        "ladybug/input": "ladybug/input.png",
        "ladybug/overview.en": "ladybug/overview.en.png",
        "ladybug/activations/conv_1_1-0": "ladybug/activations/conv_1_1-0.png",
        "ladybug/activations/input-2": "ladybug/activations/input-2.png",
        "ladybug/activations/output-9.en": "ladybug/activations/output-9.en.png",
        "ladybug/activations/relu_2_2": "ladybug/activations/relu_2_2.png",
        "ladybug/conv/conv_2_2-9": "ladybug/conv/conv_2_2-9.gif",
        "ladybug/conv-detail/conv_1_1-0": "ladybug/conv-detail/conv_1_1-0.gif",
        "ladybug/relu/relu_1_1-0": "ladybug/relu/relu_1_1-0.png",
        "ladybug/pool/max_pool_1-0": "ladybug/pool/max_pool_1-0.gif",
        "ladybug/flatten.en": "ladybug/flatten.en.png",
        "ladybug/softmax.en": "ladybug/softmax.en.gif",
        "model/relu-graph": "model/relu-graph.png",
        "model/kernels-conv_1_2.en": "model/kernels-conv_1_2.en.png",
        "model/kernel-evolution.en": "model/kernel-evolution.en.gif",
        "model/hyperparameter-kernel-size": "model/hyperparameter-kernel-size.gif",
        "model/training-curves.en": "model/training-curves.en.png",
        "model/confusion-matrix.en": "model/confusion-matrix.en.png",
        "model/logo": "model/logo.png",
    }
    for fig_id, file in expected.items():
        assert by_id[fig_id].file == file
    assert by_id["model/hyperparameter-stride"].params == {"hyper": "stride"}
    assert by_id["ladybug/conv/conv_2_2-9"].layer == "conv_2_2"
    assert by_id["ladybug/conv/conv_2_2-9"].neuron == 9


def test_make_spec_defaults_and_model_scope() -> None:
    spec = make_spec("conv-overview", image="cat")
    assert (spec.layer, spec.neuron, spec.id) == ("conv_1_1", 0, "cat/conv/conv_1_1-0")
    assert make_spec("activation-grid", image="cat").layer == "input"
    assert make_spec("activation", image="cat").layer == "input"
    assert make_spec("relu", image="cat").layer == "relu_1_1"
    assert make_spec("pool", image="cat").layer == "max_pool_1"
    assert make_spec("kernels").id == "model/kernels-conv_1_1.en"
    # Once-per-build figures ignore the page's image: the same file for every page.
    assert make_spec("logo", image="cat") == make_spec("logo")
    assert make_spec("input", image="cat").params == {}
    assert make_spec("hyperparameter", hyper="padding").params == {"hyper": "padding"}
    assert ["input", *LAYER_NAMES, "output"] == ACTIVATION_LAYERS


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"kind": "heatmap", "image": "cat"}, ["unknown figure kind", "'heatmap'", "conv-overview"]),
        ({"kind": "conv-overview", "image": "cat", "layer": "relu_1_1"}, ["unknown layer", "'relu_1_1'", "conv_2_2"]),
        ({"kind": "conv-detail", "image": "cat", "layer": "conv_3_1"}, ["unknown layer", "'conv_3_1'"]),
        ({"kind": "relu", "image": "cat", "layer": "conv_1_1"}, ["unknown layer", "'conv_1_1'", "relu_1_1"]),
        ({"kind": "pool", "image": "cat", "layer": "relu_2_2"}, ["unknown layer", "'relu_2_2'", "max_pool_2"]),
        ({"kind": "kernels", "layer": "output"}, ["unknown layer", "'output'"]),
        ({"kind": "activation", "image": "cat", "layer": "flatten"}, ["unknown layer", "'flatten'"]),
        (
            {"kind": "activation", "image": "cat", "layer": "conv_1_1", "neuron": 10},
            ["neuron 10 out of range", "conv_1_1", "0 to 9"],
        ),
        ({"kind": "activation", "image": "cat", "layer": "input", "neuron": 3}, ["neuron 3 out of range", "input"]),
        ({"kind": "conv-overview", "image": "cat", "layer": "conv_2_1", "neuron": -1}, ["neuron -1 out of range"]),
        ({"kind": "hyperparameter"}, ["needs hyper=", "padding", "None"]),
        ({"kind": "hyperparameter", "hyper": "dilation"}, ["needs hyper=", "'dilation'"]),
        ({"kind": "overview", "image": "cat", "layer": "conv_1_1"}, ["takes no layer", "layer=conv_1_1"]),
        ({"kind": "logo", "layer": "conv_1_1"}, ["'logo' takes no layer"]),
        ({"kind": "activation-grid", "image": "cat", "neuron": 2}, ["takes no neuron", "neuron=2"]),
        ({"kind": "kernels", "neuron": 0}, ["'kernels' takes no neuron"]),
        ({"kind": "softmax", "image": "cat", "hyper": "stride"}, ["takes no hyper", "hyper=stride"]),
        ({"kind": "conv-overview", "image": "cat", "hyper": "padding"}, ["takes no hyper"]),
        ({"kind": "input"}, ["'input' needs an image"]),
        ({"kind": "conv-overview", "image": ""}, ["needs an image"]),
    ],
)
def test_validation_errors_name_the_bad_thing(kwargs: dict, needles: list[str]) -> None:
    with pytest.raises(ShortcodeError) as info:
        make_spec(**kwargs)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


def test_every_kind_accepts_its_documented_parameters() -> None:
    for kind, (scope, layers, takes_neuron, _) in KINDS.items():
        image = "cat" if scope == "image" else None
        hyper = HYPERS[0] if kind == "hyperparameter" else None
        for layer in layers or [None]:
            spec = make_spec(kind, image=image, layer=layer, neuron=0 if takes_neuron else None, hyper=hyper)
            assert spec.kind == kind and spec.layer == layer


# ---- languages ----------------------------------------------------------------------------------

WORDED = {"overview", "flatten", "softmax", "kernels", "kernel-evolution", "training-curves", "confusion-matrix"}


def test_worded_kinds_come_in_both_languages_and_the_rest_once() -> None:
    specs = build_catalog(SLUGS, featured="star")
    english = build_catalog(SLUGS, featured="star", langs=("en",))
    for spec in specs:
        words = spec.kind in WORDED or (spec.kind.startswith("activation") and spec.layer == "output")
        assert spec.lang == (spec.lang if words else "any"), spec.id
        assert (spec.lang in ("zh", "en")) == words, spec.id
    worded = [s for s in english if s.lang == "en"]
    assert len(specs) == len(english) + len(worded)
    assert {s.id for s in specs if s.lang == "zh"} == {s.id[: -len(".en")] + ".zh" for s in worded}
    # the 400 conv-overview GIFs (most of the site's weight) are language-neutral
    assert all(s.lang == "any" for s in specs if s.kind in ("conv-overview", "conv-detail", "hyperparameter", "pool"))


def test_zh_spec_names_the_zh_file_and_neutral_figures_ignore_the_language() -> None:
    zh = make_spec("softmax", image="circle", lang="zh")
    assert (zh.id, zh.file, zh.lang) == ("circle/softmax.zh", "circle/softmax.zh.gif", "zh")
    en = make_spec("softmax", image="circle", lang="en")
    assert (en.id, en.file, en.lang) == ("circle/softmax.en", "circle/softmax.en.gif", "en")
    assert make_spec("confusion-matrix", lang="zh").file == "model/confusion-matrix.zh.png"
    assert make_spec("activation-grid", image="c", layer="output", lang="zh").file == "c/activations/output.zh.png"
    for kind, kw in (("conv-overview", {}), ("input", {}), ("activation-grid", {"layer": "conv_1_1"})):
        assert make_spec(kind, image="c", lang="zh", **kw) == make_spec(kind, image="c", lang="en", **kw)
        assert make_spec(kind, image="c", lang="zh", **kw).lang == "any"
    with pytest.raises(ShortcodeError, match="unknown figure language 'fr'"):
        make_spec("softmax", image="c", lang="fr")


def test_dark_file_names() -> None:
    from generator.catalog import dark_file

    assert dark_file("circle/softmax.zh.gif") == "circle/softmax.zh.dark.gif"
    assert dark_file("circle/conv/conv_1_1-0.gif") == "circle/conv/conv_1_1-0.dark.gif"
