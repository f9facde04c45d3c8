"""`{{ overview }}`: the network overview composed in HTML. The maps are small text-free PNGs (catalogue
kinds `tile` and `photo`, scaled up nearest-neighbour by the browser); every label is real text in the
page's language, so it stays crisp and legible at any width: layer names and shapes, the R/G/B
channels, the class names with their probabilities, the colour legends. Each tile links to what the site
has on that neuron: its layer on the image's explore page, or (without explore pages) the neuron's
activation figure. The whole overview as one picture (the raster `overview` figure, for embedding)
opens from the caption. No JavaScript; on a narrow screen the overview scrolls sideways in its own box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mkdocs.utils import get_relative_url

from generator.arch import LAYER_NAMES, layer_shapes
from generator.catalog import make_spec, overview_tiles
from generator.errors import ShortcodeError
from generator.legible import HINT
from generator.markup import Html, el
from generator.records import FigureSpec, Sample
from generator.values import class_name

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

    from generator.records import Facts
    from generator.shortcodes import Shortcode
    from generator.usage import SiteFigures

PHOTO_ROW = 3  # the photo and its channels sit on rows 3..6 of the ten, as in the raster overview
# ColorBrewer's RdBu and Oranges (what matplotlib samples for the figures): the legends' gradients and
# the class bars' colours, without importing matplotlib into the page build.
RDBU = (
    "#67001f",
    "#b2182b",
    "#d6604d",
    "#f4a582",
    "#fddbc7",
    "#f7f7f7",
    "#d1e5f0",
    "#92c5de",
    "#4393c3",
    "#2166ac",
    "#053061",
)
ORANGES = ("#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704")
TEXT = {
    "zh": {
        "classes": "{n} 个类别 · softmax",
        "neuron": "{layer} 第 {n} 个神经元",
        "channel": "输入的 {c} 通道",
        "photo": "输入图片",
        "class": "{name}：概率 {p}",
        "act": "激活值：红色为负，蓝色为正（每层各自的范围，以 0 为中心）",
        "logit": "类别得分（logit）：颜色越深越高；条长为概率",
        "full": "查看整张图（PNG）",
        "caption": "网络总览：每列一层，每个方块是一个神经元的激活图，点击方块查看它的图；预测：{name}，{p}。",
        "label": "网络总览",
    },
    "en": {
        "classes": "{n} classes · softmax",
        "neuron": "{layer} neuron {n}",
        "channel": "the input's {c} channel",
        "photo": "the input image",
        "class": "{name}: probability {p}",
        "act": "activations: red negative, blue positive (each layer's own range, centred at 0)",
        "logit": "class scores (logits): darker is higher; bar length is the probability",
        "full": "view it as one picture (PNG)",
        "caption": "Network overview: one column per layer, one square per neuron (click one for its figures); "
        "prediction: {name} ({p}).",
        "label": "Network overview",
    },
}
PARAMS = ("image",)


def overview_specs(facts: Facts, image: str, explore_pages: bool, lang: str = "en") -> list[FigureSpec]:
    """Every figure an overview of `image` uses: its tiles, the photo, the raster overview it opens (the
    featured image's only: ten images' rasters in two languages would cost 7 MB of a 60 MB site), and
    (without explore pages, which the tiles link to otherwise) every neuron's activation figure."""
    specs = [*overview_tiles(image), make_spec("photo", image=image)]
    if image == facts["featured"]:
        specs.append(make_spec("overview", image=image, lang=lang))
    if not explore_pages:
        specs.append(make_spec("input", image=image))
        for layer in LAYER_NAMES:
            specs += [make_spec("activation", image=image, layer=layer, neuron=n) for n in range(10)]
        n_out = len(facts["classes"])
        specs += [
            make_spec("activation", image=image, layer="output", neuron=i, num_classes=n_out, lang=lang)
            for i in range(n_out)
        ]
    return specs


def image_param(code: Shortcode, facts: Facts) -> str:
    """The image an `{{ overview image=... }}` shortcode names (default: the featured image)."""
    extra = set(code.params) - set(PARAMS)
    if code.arg or extra:
        raise ShortcodeError("overview takes one parameter, image= (the featured image by default)")
    image = code.params.get("image", "featured")
    if image == "featured":
        image = facts["featured"]
    slugs = [s["slug"] for s in facts["samples"]]
    if image not in slugs:
        raise ShortcodeError(f"unknown image {image!r}; sample images: featured, {', '.join(slugs)}")
    return image


def _gradient(stops: tuple[str, ...]) -> str:
    return f"background: linear-gradient(to right, {', '.join(stops)})"


def _orange(t: float) -> str:
    """The Oranges colour at t in [0, 1] (linear between the ColorBrewer stops)."""
    t = min(max(t, 0.0), 1.0) * (len(ORANGES) - 1)
    i = min(int(t), len(ORANGES) - 2)
    a, b = ORANGES[i], ORANGES[i + 1]
    mix = [round(int(a[k : k + 2], 16) * (1 - (t - i)) + int(b[k : k + 2], 16) * (t - i)) for k in (1, 3, 5)]
    return "#" + "".join(f"{v:02x}" for v in mix)


class _Links:
    """Where each tile leads: the layer's tab on the image's explore page, or the neuron's own figure."""

    def __init__(self, figs: SiteFigures, page: Page, image: str, lang: str) -> None:
        self.figs, self.page, self.image, self.lang = figs, page, image, lang
        self.explore = None
        if figs.explore_pages:
            self.explore = get_relative_url(f"{figs.lang_prefix(lang)}explore/{image}/", page.url or ".")

    def figure(self, spec: FigureSpec) -> str:
        return self.figs.url(self.figs.entry_for(spec), self.page.url)

    def neuron(self, layer: str, n: int, classes: int = 10) -> str:
        if self.explore is not None:
            return f"{self.explore}#{layer}"  # the explore page's first tab set: one tab per layer
        spec = make_spec("activation", image=self.image, layer=layer, neuron=n, num_classes=classes, lang=self.lang)
        return self.figure(spec)

    def photo(self) -> str:
        if self.explore is not None:
            return f"{self.explore}#input"
        return self.figure(make_spec("input", image=self.image))


def _tile(href: str, src: str, label: str, badge: str | None = None) -> Html:
    parts: list[object] = [el("img", {"src": src, "alt": label, "loading": "lazy", "class": "skip-lightbox"})]
    if badge:
        parts.append(el("span", {"class": "tv-ov-badge", "aria-hidden": "true"}, badge))
    return el("a", {"class": "tv-ov-tile", "href": href, "title": label}, *parts)


def _head(name: str, shape: str, wide: bool = False) -> Html:
    return el(
        "div",
        {"class": "tv-ov-head tv-ov-wide" if wide else "tv-ov-head"},
        el("span", {"class": "tv-ov-name"}, name),
        el("span", {"class": "tv-ov-shape"}, shape),
    )


def _class_row(facts: Facts, sample: Sample, i: int, href: str, lang: str) -> Html:
    p = sample["probs"][i]
    logits = sample["logits"]
    lo, hi = min(logits), max(logits)
    t = (logits[i] - lo) / ((hi - lo) or 1.0)
    pred = i == sample["predicted"]
    name = class_name(facts, i, lang)
    prob = f"{p * 100:.1f}%"
    bar = el("span", {"class": "tv-ov-bar", "style": f"width: {max(p * 100, 1.5):.1f}%; background: {_orange(t)}"})
    return el(
        "a",
        {
            "class": "tv-ov-class tv-ov-pred" if pred else "tv-ov-class",
            "href": href,
            "title": TEXT[lang]["class"].format(name=name, p=prob),
        },
        el("span", {"class": "tv-ov-cname"}, name),
        el("span", {"class": "tv-ov-score"}, el("span", {"class": "tv-ov-track"}, bar), el("span", None, prob)),
    )


def overview_block(figs: SiteFigures, code: Shortcode, page: Page, lang: str) -> Html:
    """The overview of one image as a grid: a header row, ten rows of tiles (one column per layer, then
    the class scores), and the colour legends."""
    facts = figs.facts
    image = image_param(code, facts)
    sample = next(s for s in facts["samples"] if s["slug"] == image)
    t = TEXT[lang]
    links = _Links(figs, page, image, lang)
    shapes = layer_shapes()
    tiles = {(s.layer, s.neuron): s for s in overview_tiles(image)}

    def tile_src(layer: str, n: int) -> str:
        return links.figure(tiles[(layer, n)])

    n_classes = len(facts["classes"])
    rows = max(10, n_classes)
    cells: list[Html] = [_head("input", "64×64×3")]
    for layer in LAYER_NAMES:
        c, h, w = shapes[layer]
        cells.append(_head(layer, f"{h}×{w}×{c}"))
    cells.append(_head("output", t["classes"].format(n=n_classes), wide=True))
    for r in range(rows):
        k = r - PHOTO_ROW - 1
        if r == PHOTO_ROW:
            cells.append(_tile(links.photo(), links.figure(make_spec("photo", image=image)), t["photo"]))
        elif 0 <= k < 3:
            channel = "RGB"[k]
            cells.append(_tile(links.neuron("input", k), tile_src("input", k), t["channel"].format(c=channel), channel))
        else:
            cells.append(el("span", {"class": "tv-ov-empty"}))
        for layer in LAYER_NAMES:
            if r < shapes[layer][0]:
                label = t["neuron"].format(layer=layer, n=r)
                badge = str(r) if layer == LAYER_NAMES[0] else None
                cells.append(_tile(links.neuron(layer, r), tile_src(layer, r), label, badge))
            else:
                cells.append(el("span", {"class": "tv-ov-empty"}))
        if r < n_classes:
            cells.append(_class_row(facts, sample, r, links.neuron("output", r, n_classes), lang))
        else:
            cells.append(el("span", {"class": "tv-ov-empty"}))
    legend = el(
        "div",
        {"class": "tv-ov-legend"},
        el(
            "span",
            {"class": "tv-ov-key"},
            el("span", {"class": "tv-ov-ramp", "style": _gradient(RDBU)}),
            el("span", {"class": "tv-ov-ticks"}, "− 0 +"),
            el("span", None, t["act"]),
        ),
        el(
            "span",
            {"class": "tv-ov-key"},
            el("span", {"class": "tv-ov-ramp", "style": _gradient(ORANGES)}),
            el("span", None, t["logit"]),
        ),
    )
    pred = int(sample["predicted"])
    words: list[object] = [
        t["caption"].format(name=class_name(facts, pred, lang), p=f"{100 * sample['probs'][pred]:.1f}%")
    ]
    if image == facts["featured"]:  # the raster overview is published for the featured image (overview_specs)
        raster_url = figs.url(figs.entry_for(make_spec("overview", image=image, lang=lang)), page.url)
        words += [" ", el("a", {"class": "glightbox", "href": raster_url, "data-type": "image"}, t["full"])]
    caption = el("figcaption", None, *words)
    grid = el("div", {"class": "tv-ov", "role": "group", "aria-label": t["label"]}, *cells)
    return el(
        "figure",
        {"class": "tv-overview-html"},  # not a tv-figure: a composition of many images, not one figure
        el("div", {"class": "tv-ov-box"}, grid, legend),
        caption,
        el("p", {"class": "tv-scroll-hint"}, HINT[lang]),  # the grid is 620 px wide
    )
