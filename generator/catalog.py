"""The figure catalogue: every figure the site has, with a stable id and file name.

Ids and file names depend only on (kind, image, layer, neuron, hyper) — never on the model's
numbers — so a figure's URL survives retraining. Validation errors name the bad parameter.
"""

from __future__ import annotations

from generator.arch import ACTIVATION_LAYERS, CONV_LAYERS, FILTERS, LAYER_NAMES, POOL_LAYERS, RELU_LAYERS
from generator.errors import FigureSpecError
from generator.records import FigureSpec

# The hyperparameter animations, one figure each (render/hyper.py draws them).
HYPERS = ("padding", "kernel-size", "stride")

# kind -> (scope, layers it accepts or None, takes a neuron, file extension)
KINDS: dict[str, tuple[str, list[str] | None, bool, str]] = {
    "input": ("image", None, False, "png"),
    "overview": ("image", None, False, "png"),
    "activation": ("image", ACTIVATION_LAYERS, True, "png"),
    "activation-grid": ("image", ACTIVATION_LAYERS, False, "png"),
    "conv-overview": ("image", CONV_LAYERS, True, "gif"),
    "conv-detail": ("image", CONV_LAYERS, True, "gif"),
    "relu": ("image", RELU_LAYERS, True, "png"),
    "pool": ("image", POOL_LAYERS, True, "gif"),
    "flatten": ("image", None, False, "png"),
    "softmax": ("image", None, False, "gif"),
    "relu-graph": ("model", None, False, "png"),
    "kernels": ("model", CONV_LAYERS, False, "png"),
    "kernel-evolution": ("model", None, False, "gif"),
    "hyperparameter": ("model", None, False, "gif"),
    "training-curves": ("model", None, False, "png"),
    "confusion-matrix": ("model", None, False, "png"),
    "logo": ("model", None, False, "png"),
    # the text-free pieces of the overview the pages compose in HTML ({{ overview }}, overview_html.py)
    "tile": ("image", ["input", *LAYER_NAMES], True, "png"),
    "photo": ("image", None, False, "png"),
}
# The kinds drawn with matplotlib: `figure` can also write them as SVG or PDF (softmax: its last frame,
# as a still) and redraw their PNGs at 2 or 3 times the pixels (render/mpl.py's save).
VECTOR_KINDS = ("relu-graph", "kernels", "training-curves", "confusion-matrix", "flatten", "softmax")
# Every kind drawn with matplotlib: its dark variant is drawn a second time in a dark style (render/mpl.py),
# so a build draws it only for the figures that publish it. The other kinds' dark variant is their palette
# swapped (render/dark.py), which costs nothing: every figure has one.
MPL_KINDS = frozenset((*VECTOR_KINDS, "hyperparameter", "kernel-evolution"))


# Languages of the figures with words in them; a figure drawn only with language-neutral text (layer ids,
# shapes, numbers, formulas) is one file for every page, lang "any".
FIGURE_LANGS = ("zh", "en")
ANY = "any"


def worded(kind: str, layer: str | None = None) -> bool:
    """Does a figure of `kind` hold words (class names, axis titles, legends, hyperparameter names)? Those
    come in a zh and an en version; the rest (layer ids, shapes, numbers, formulas) serve every language."""
    if kind in ("activation", "activation-grid"):
        return layer == "output"  # the output layer's maps are labelled with class names
    return kind in WORDED_KINDS


# The kinds whose every figure holds words: class names (overview, flatten, softmax, confusion matrix),
# axis titles and legends (kernels, training curves), "epoch" (kernel evolution). The hyperparameter
# animations and the pooling ones only write symbols (P = 1, W, K, S = 2) and formulas: "any".
WORDED_KINDS = frozenset(
    (
        "overview",
        "flatten",
        "softmax",
        "kernels",
        "kernel-evolution",
        "training-curves",
        "confusion-matrix",
    )
)


def figure_lang(kind: str, layer: str | None, lang: str) -> str:
    """The language of the figure a page in `lang` shows: `lang` for worded figures, else "any"."""
    if lang not in (*FIGURE_LANGS, ANY):
        raise FigureSpecError(f"unknown figure language {lang!r}; choose one of {', '.join(FIGURE_LANGS)}")
    if not worded(kind, layer):
        return ANY
    return lang if lang != ANY else "en"


def dark_file(file: str) -> str:
    """Where a figure's dark-palette variant lies: 'circle/softmax.zh.gif' -> 'circle/softmax.zh.dark.gif'."""
    stem, dot, ext = file.rpartition(".")
    return f"{stem}.dark{dot}{ext}"


def formats(kind: str) -> tuple[str, ...]:
    """The file formats `figure` can write `kind` in: its own first."""
    return (KINDS[kind][3], *(("svg", "pdf") if kind in VECTOR_KINDS else ()))


# Which module renders each kind (imported lazily, in the render workers only).
RENDERERS: dict[str, str] = {
    "input": "inputs",
    "overview": "overview",
    "activation": "activations",
    "activation-grid": "activations",
    "conv-overview": "conv",
    "conv-detail": "conv",
    "relu": "relu",
    "pool": "pool",
    "flatten": "flatten",
    "softmax": "softmax",
    "relu-graph": "relu_graph",
    "kernels": "kernels",
    "kernel-evolution": "kernels",
    "hyperparameter": "hyper",
    "training-curves": "training",
    "confusion-matrix": "training",
    "logo": "kernels",
    "tile": "tiles",
    "photo": "tiles",
}


def neuron_count(layer: str, num_classes: int) -> int:
    return {"input": 3, "output": num_classes}.get(layer, FILTERS)


def default_layer(kind: str) -> str | None:
    layers = KINDS[kind][1]
    return layers[0] if layers and kind != "activation-grid" else ("input" if layers else None)


def make_spec(
    kind: str,
    image: str | None = None,
    layer: str | None = None,
    neuron: int | None = None,
    hyper: str | None = None,
    num_classes: int = 10,
    lang: str = "en",
) -> FigureSpec:
    """Validate one figure's parameters and return its spec (id and file included). `lang` is the page's
    language: a figure with words gets that language (its id and file end in ".zh" / ".en"), any other
    figure is "any" (no suffix)."""
    if kind not in KINDS:
        raise FigureSpecError(f"unknown figure kind {kind!r}; known kinds: {', '.join(KINDS)}")
    scope, layers, takes_neuron, ext = KINDS[kind]
    if layers is None:
        if layer is not None:
            raise FigureSpecError(f"figure {kind!r} takes no layer (got layer={layer})")
    else:
        layer = layer or default_layer(kind)
        if layer not in layers:
            raise FigureSpecError(f"figure {kind!r}: unknown layer {layer!r}; choose one of {', '.join(layers)}")
    if takes_neuron:
        assert layer is not None  # every kind that takes a neuron takes a layer (KINDS)
        neuron = 0 if neuron is None else neuron
        count = neuron_count(layer, num_classes)
        if not 0 <= neuron < count:
            raise FigureSpecError(
                f"figure {kind!r}: neuron {neuron} out of range for {layer} (it has {count} neurons: 0 to {count - 1})"
            )
    elif neuron is not None:
        raise FigureSpecError(f"figure {kind!r} takes no neuron (got neuron={neuron})")
    if kind == "hyperparameter":
        if hyper not in HYPERS:
            raise FigureSpecError(f"figure 'hyperparameter' needs hyper= one of {', '.join(HYPERS)} (got {hyper!r})")
    elif hyper is not None:
        raise FigureSpecError(f"figure {kind!r} takes no hyper (got hyper={hyper})")
    if scope == "model":
        image = None
        stem = "model/" + {"kernels": f"kernels-{layer}", "hyperparameter": f"hyperparameter-{hyper}"}.get(kind, kind)
    else:
        if not image:
            raise FigureSpecError(f"figure {kind!r} needs an image")
        stem = f"{image}/" + {
            "activation": f"activations/{layer}-{neuron}",
            "activation-grid": f"activations/{layer}",
            "conv-overview": f"conv/{layer}-{neuron}",
            "conv-detail": f"conv-detail/{layer}-{neuron}",
            "relu": f"relu/{layer}-{neuron}",
            "pool": f"pool/{layer}-{neuron}",
            "tile": f"tiles/{layer}-{neuron}",
        }.get(kind, kind)
    params = {"hyper": hyper} if hyper else {}
    fig_lang = figure_lang(kind, layer, lang)
    if fig_lang != ANY:
        stem += f".{fig_lang}"
    return FigureSpec(
        id=stem, kind=kind, file=f"{stem}.{ext}", image=image, layer=layer, neuron=neuron, params=params, lang=fig_lang
    )


def build_catalog(
    slugs: list[str],
    featured: str,
    detail_images: tuple[str, ...] = (),
    num_classes: int = 10,
    examples: dict[str, dict] | None = None,
    langs: tuple[str, ...] = FIGURE_LANGS,
) -> list[FigureSpec]:
    """Every figure of a build, in a deterministic order, in `langs` (a figure without words once).
    `examples`: each slug's chosen examples (the `examples` of its facts sample): the ReLU and pooling
    figures show those neurons (else neuron 0)."""
    specs = _catalog(slugs, featured, detail_images, num_classes, langs[0], examples or {})
    for lang in langs[1:]:
        specs += [
            s for s in _catalog(slugs, featured, detail_images, num_classes, lang, examples or {}) if s.lang == lang
        ]
    return specs


def _catalog(
    slugs: list[str],
    featured: str,
    detail_images: tuple[str, ...],
    num_classes: int,
    lang: str,
    examples: dict[str, dict],
) -> list[FigureSpec]:
    def spec(kind: str, **kw: object) -> FigureSpec:
        return make_spec(kind, num_classes=num_classes, lang=lang, **kw)  # type: ignore[arg-type]

    def chosen(slug: str, kind: str, layer: str) -> int:
        return int(examples.get(slug, {}).get(kind, {}).get("layers", {}).get(layer, {}).get("neuron", 0))

    specs = [spec(k) for k in ("relu-graph", "kernel-evolution", "training-curves", "confusion-matrix", "logo")]
    specs += [spec("kernels", layer=layer) for layer in CONV_LAYERS]
    specs += [spec("hyperparameter", hyper=h) for h in HYPERS]
    detailed = {featured, *detail_images}
    for slug in slugs:
        specs += [spec(k, image=slug) for k in ("input", "overview", "flatten", "softmax", "photo")]
        specs += overview_tiles(slug)
        for layer in ACTIVATION_LAYERS:
            specs.append(spec("activation-grid", image=slug, layer=layer))
            specs += [
                spec("activation", image=slug, layer=layer, neuron=n) for n in range(neuron_count(layer, num_classes))
            ]
        for layer in CONV_LAYERS:
            specs += [spec("conv-overview", image=slug, layer=layer, neuron=n) for n in range(FILTERS)]
            if slug in detailed:
                specs += [spec("conv-detail", image=slug, layer=layer, neuron=n) for n in range(FILTERS)]
        specs += [spec("relu", image=slug, layer=layer, neuron=chosen(slug, "relu", layer)) for layer in RELU_LAYERS]
        specs += [spec("pool", image=slug, layer=layer, neuron=chosen(slug, "pool", layer)) for layer in POOL_LAYERS]
    return specs


def overview_tiles(image: str) -> list[FigureSpec]:
    """The tiles of one image's HTML overview: every channel and neuron map up to max_pool_2."""
    layers = KINDS["tile"][1]
    assert layers is not None
    return [
        make_spec("tile", image=image, layer=layer, neuron=n)
        for layer in layers
        for n in range(neuron_count(layer, 10))
    ]
