"""Pages and blocks made from the build's data: one explore page per sample image, the list of
sample images, and the figure gallery. Everything here is Markdown that goes through the same
shortcode resolution as the hand-written chapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

from generator import i18n
from generator.arch import CONV_LAYERS, POOL_LAYERS, RELU_LAYERS
from generator.catalog import ACTIVATION_LAYERS, make_spec
from generator.errors import ShortcodeError
from generator.interactive import network_block
from generator.markup import Html, el, md_text
from generator.output import ManifestEntry
from generator.overview_html import PARAMS as OVERVIEW_PARAMS
from generator.overview_html import overview_block
from generator.records import Facts, Sample
from generator.reference import reference_html
from generator.usage import SiteFigures, gallery_specs
from generator.values import class_name

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

    from generator.shortcodes import Shortcode

LANGS = ("zh", "en")
T = {
    "title": {"zh": "探索：{name}", "en": "Explore: {name}"},
    "intro": {
        "zh": "这张图片来自{source}。模型预测为 **{pred}**（概率 {prob}）{verdict}。"
        "下面是它在网络中每一步的样子，"
        "所有图都由本次构建训练出的模型计算得到。",
        "en": "This image comes from {source}. The model predicts **{pred}** (probability {prob}){verdict}. "
        "Below is what it looks like at every step through the network; every figure is computed "
        "from the model this build trained.",
    },
    "right": {"zh": "，预测正确", "en": ", which is correct"},
    "wrong": {"zh": "，但真实类别是 **{true}**", "en": ", but the true class is **{true}**"},
    "test": {"zh": "测试集", "en": "the test set"},
    "user": {"zh": "你在 mkdocs.yml 中添加的图片", "en": "your own images listed in mkdocs.yml"},
    "prediction": {"zh": "预测", "en": "Prediction"},
    "class": {"zh": "类别", "en": "Class"},
    "logit": {"zh": "logit", "en": "Logit"},
    "prob": {"zh": "概率", "en": "Probability"},
    "input": {"zh": "输入", "en": "Input"},
    "activations": {"zh": "每一层的激活", "en": "Every layer's activations"},
    "activations_note": {"zh": "点击图片可放大。", "en": "Click a picture to enlarge it."},
    "conv": {"zh": "卷积动画", "en": "Convolution animations"},
    "conv_note": {
        "zh": "每个卷积神经元一个动画：点击缩略图在灯箱中播放。",
        "en": "One animation per convolutional neuron: click a thumbnail to play it in a lightbox.",
    },
    "detail": {"zh": "逐步计算", "en": "Step by step"},
    "relu": {"zh": "ReLU", "en": "ReLU"},
    "pool": {"zh": "最大池化", "en": "Max pooling"},
    "flatten": {"zh": "展平", "en": "Flatten"},
    "softmax": {"zh": "Softmax", "en": "Softmax"},
    "predicted": {"zh": "预测", "en": "predicted"},
    "true": {"zh": "真实", "en": "true"},
    "open": {"zh": "打开", "en": "open"},
    "download": {"zh": "下载", "en": "download"},
    "embed": {"zh": "嵌入代码", "en": "embed code"},
    "more": {
        "zh": "其余图片的全部图见各自的探索页；每张图都列在 {manifest} 中。",
        "en": "The figures of the other images are on their explore pages; every figure is listed in {manifest}.",
    },
}


def _t(key: str, lang: str, **kw: str) -> str:
    return T[key][lang].format(**kw)


def _sample_name(sample: Sample, facts: Facts, lang: str) -> str:
    """Plain text (escape it where it goes)."""
    if sample["label"] is None:
        return sample["slug"]
    return class_name(facts, sample["label"], lang)


def _tabs(items: list[tuple[str, list[str]]]) -> list[str]:
    """pymdownx.tabbed content tabs; each body line is one shortcode/HTML line."""
    lines = []
    for title, body in items:
        lines.append(f'=== "{title}"')
        lines.append("")
        lines.extend(f"    {b}" for b in body)
        lines.append("")
    return lines


def explore_markdown(facts: Facts, detailed: set[str], slug: str, lang: str) -> str:
    sample = next(s for s in facts["samples"] if s["slug"] == slug)
    img = f"image={slug}"
    pred = sample["predicted"]
    verdict = ""
    if sample["label"] is not None:
        verdict = (
            _t("right", lang)
            if sample["label"] == pred
            else _t("wrong", lang, true=md_text(class_name(facts, sample["label"], lang)))
        )
    # Generated pages stay out of the search index: they would triple it (and its download) with
    # captions the chapters already explain.
    lines = [
        "---",
        "search:",
        "  exclude: true",
        "---",
        "",
        f"# {_t('title', lang, name=md_text(_sample_name(sample, facts, lang)))}",
        "",
        _t(
            "intro",
            lang,
            source=_t("test" if sample["label"] is not None else "user", lang),
            pred=md_text(class_name(facts, pred, lang)),
            prob=f"{{{{ value probability {img} }}}}",
            verdict=verdict,
        ),
        "",
        f"{{{{ overview {img} }}}}",
        "",
        f"## {_t('prediction', lang)}",
        "",
        f"| {_t('class', lang)} | {_t('logit', lang)} | {_t('prob', lang)} |",
        "|---|--:|--:|",
    ]
    order = sorted(range(len(facts["classes"])), key=lambda i: -sample["probs"][i])
    for i in order:
        name = md_text(class_name(facts, i, lang))
        mark = f"**{name}**" if i == pred else name
        cells = [f"{{{{ value {v} {img} class={i} }}}}" for v in ("logit", "probability")]
        lines.append(f"| {mark} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        f"{{{{ figure softmax {img} }}}}",
        "",
        f"## {_t('input', lang)}",
        "",
        f"{{{{ figure input {img} }}}}",
        "",
        f"## {_t('activations', lang)}",
        "",
        _t("activations_note", lang),
        "",
    ]
    lines += _tabs([(layer, [f"{{{{ figure activation-grid {img} layer={layer} }}}}"]) for layer in ACTIVATION_LAYERS])
    lines += [f"## {_t('conv', lang)}", "", _t("conv_note", lang), ""]
    tabs = []
    for layer in CONV_LAYERS:
        body = _thumbs("conv-overview", img, layer)
        if slug in detailed:
            body += ["", f"**{_t('detail', lang)}**", "", *_thumbs("conv-detail", img, layer)]
        tabs.append((layer, body))
    lines += _tabs(tabs)
    lines += [f"## {_t('relu', lang)}", ""]
    lines += _tabs([(layer, [f"{{{{ figure relu {img} layer={layer} neuron=auto }}}}"]) for layer in RELU_LAYERS])
    lines += [f"## {_t('pool', lang)}", ""]
    lines += _tabs([(layer, [f"{{{{ figure pool {img} layer={layer} neuron=auto }}}}"]) for layer in POOL_LAYERS])
    lines += [f"## {_t('flatten', lang)}", "", f"{{{{ figure flatten {img} }}}}", ""]
    return "\n".join(lines) + "\n"


def _thumbs(kind: str, img: str, layer: str) -> list[str]:
    """A grid of the layer's ten neurons' figures; one paragraph each, so no <figure> lands in a <p>."""
    lines = ['<div class="tv-thumbs">', ""]
    for n in range(10):
        lines += [f"{{{{ figure {kind} {img} layer={layer} neuron={n} }}}}", ""]
    return [*lines, "</div>"]


def explore_pages(facts: Facts, detailed: set[str], lang: str, config: MkDocsConfig) -> list[File]:
    """Generated explore pages (explore/<slug>/) for the language being built."""
    return [
        i18n.generated_page(
            config,
            f"explore/{s['slug']}.md",
            {code: explore_markdown(facts, detailed, s["slug"], code) for code in LANGS},
            lang,
        )
        for s in facts["samples"]
    ]


def _samples_block(figs: SiteFigures, code: Shortcode, page: Page, lang: str) -> Html:
    """`{{ samples }}`: a grid of the sample images, each linking to its explore page."""
    facts = figs.facts
    cells = []
    for s in facts["samples"]:
        entry = figs.entry_for(make_spec("photo", image=s["slug"]))  # the picture itself: no text to shrink
        target = figs.lang_prefix(lang) + "explore/" + s["slug"] + "/"
        prob = f"{s['probs'][s['predicted']] * 100:.1f} %"
        href = get_relative_url(target, page.url or ".") if figs.explore_pages else None
        cells.append(
            el(
                "a" if href else "div",
                {"class": "tv-sample", "href": href},
                *themed_imgs(
                    figs.url(entry, page.url),
                    figs.dark_url(entry, page.url),
                    {"alt": entry["alt"][lang], "loading": "lazy", "class": "skip-lightbox"},
                ),
                el("span", None, _sample_name(s, facts, lang)),
                el("small", None, f"{_t('predicted', lang)}: {class_name(facts, s['predicted'], lang)} · {prob}"),
            )
        )
    return el("div", {"class": "tv-samples"}, *cells)


def themed_imgs(src: str, dark_src: str | None, attrs: dict[str, object]) -> list[Html]:
    """One <img>, or with a dark variant two: Material shows `#only-light` in its light scheme (and to
    readers without JavaScript, and in print) and `#only-dark` in its slate scheme."""
    if dark_src is None:
        return [el("img", {"src": src, **attrs})]
    return [el("img", {"src": src + "#only-light", **attrs}), el("img", {"src": dark_src + "#only-dark", **attrs})]


def _gallery_item(figs: SiteFigures, entry: ManifestEntry, page: Page, lang: str, site_url: str) -> Html:
    src = figs.url(entry, page.url)
    absolute = (site_url.rstrip("/") + "/figures/" + entry["file"]) if site_url else "figures/" + entry["file"]
    alt = entry["alt"][lang]
    # The embed snippets are shown as text (escaped by el), for readers to copy.
    md = f"![{md_alt(alt)}]({absolute})"
    tag = str(el("img", {"src": absolute, "alt": alt, "width": entry["width"], "height": entry["height"]}))
    size = f"{entry['width']}×{entry['height']}, {entry['bytes'] / 1024:.0f} KiB"
    return el(
        "div",
        {"class": "tv-gallery-item", "id": entry["id"].replace("/", "-")},
        el(
            "a",
            {"href": src, "class": "glightbox"},
            el("img", {"src": src, "alt": alt, "loading": "lazy", "class": "skip-lightbox"}),
        ),
        el(
            "div",
            {"class": "tv-gallery-meta"},
            el("code", None, entry["id"]),
            el("br"),
            el("small", None, size),
            el("br"),
            el("a", {"href": src}, _t("open", lang)),
            " · ",
            el("a", {"href": src, "download": True}, _t("download", lang)),
            el(
                "details",
                None,
                el("summary", None, _t("embed", lang)),
                el("pre", None, el("code", None, md)),
                el("pre", None, el("code", None, tag)),
            ),
        ),
    )


def md_alt(text: str) -> str:
    """Alt text inside a copied Markdown image `![...](...)`: brackets and backslashes escaped."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _gallery_block(figs: SiteFigures, code: Shortcode, page: Page, lang: str) -> Html:
    """`{{ gallery }}`: once-per-build figures and the featured image's figures (no single maps)."""
    shown = [figs.entry_for(spec) for spec in gallery_specs(figs.facts, figs.detail_images, lang)]
    items = [_gallery_item(figs, e, page, lang, figs.site_url) for e in shown]
    manifest_url = get_relative_url("figures/manifest.json", page.url or ".")
    link = el("a", {"href": manifest_url}, el("code", None, "manifest.json"))
    before, _, after = _t("more", lang, manifest="\0").partition("\0")
    more = el("p", None, before, link, after)
    # A <section>, not a <div>: Material's search parser compares elements by tag name alone, so the first
    # inner </div> would end the exclusion and index every card's embed code (~190 KB of the index).
    return Html(el("section", {"class": "tv-gallery", "data-search-exclude": True}, *items) + "\n\n" + more)


def _reference_block(figs: SiteFigures, code: Shortcode, page: Page, lang: str) -> str:
    """`{{ reference }}`: CNN Explainer's accuracy on the same test images, when this build measured it."""
    facts = figs.facts
    ref = facts.get("reference")
    ours = facts["metrics"]["test_acc"] * 100
    n = facts["metrics"]["test_images"]
    if ref:
        theirs = ref["test_acc"] * 100
        if lang == "zh":
            return (
                f"在同样的 {n:,} 张测试图片上，CNN Explainer 自带的 TinyVGG 准确率为 **{theirs:.1f} %**，"
                f"本站训练的模型为 **{ours:.1f} %**。"
            )
        return (
            f"On the same {n:,} test images, CNN Explainer's own TinyVGG scores **{theirs:.1f} %**; "
            f"the model trained for this site scores **{ours:.1f} %**."
        )
    if lang == "zh":
        return (
            '!!! note "与 CNN Explainer 对比"\n    这一版网站没有做这项比较：CNN Explainer 的模型是在 Tiny ImageNet '
            "的 10 个类别上训练的，只有用同一批 Tiny ImageNet 图片训练和测试的完整配置才能和它公平比较。"
            "完整配置的构建会在这里列出两个模型在同一批验证图片上的准确率，做法见[构建页](build.md)。"
        )
    return (
        '!!! note "Comparison with CNN Explainer"\n    This version of the site does not make that comparison: '
        "CNN Explainer's model was trained on 10 Tiny ImageNet classes, so only the full profile, trained and "
        "tested on the same Tiny ImageNet images, can be compared with it fairly. A full-profile build lists "
        "both models' accuracy on the same validation images here; the [build page](build.md) says how."
    )


# Blocks that return finished HTML (`reference` returns Markdown).
HTML_BLOCKS = ("samples", "gallery", "network", "shortcode-reference", "overview")
BLOCKS: dict[str, Callable[[SiteFigures, Shortcode, Page, str], str]] = {
    "samples": _samples_block,
    "gallery": _gallery_block,
    "reference": _reference_block,
    "network": network_block,  # the live network view (generator/interactive.py)
    "overview": overview_block,  # the network overview in HTML (generator/overview_html.py)
    "shortcode-reference": lambda figs, code, page, lang: reference_html(figs.facts, lang),
}


def check_block_args(code: Shortcode) -> None:
    if code.name == "overview":
        extra = sorted(set(code.params) - set(OVERVIEW_PARAMS))
        if code.arg or extra:
            raise ShortcodeError("overview takes one parameter, image= (the featured image by default)")
    elif code.arg or code.params:
        raise ShortcodeError(f"{code.name} takes no arguments")
    if code.name in HTML_BLOCKS and not code.alone:
        # Inside a paragraph its <div> would land in a <p>, which browsers split apart.
        raise ShortcodeError(
            f"{code.name} must stand alone on its line (it makes a block: put it in a paragraph "
            "of its own, with a blank line before and after)"
        )
