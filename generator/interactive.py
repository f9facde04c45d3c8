"""The live network view: the HTML the plugin puts in a page (`{{ network }}`) and the files it adds
to the site (the in-page ES modules, shipped as package data, and the export stage's model).

The block is a hidden <section> holding a JSON config and a module script. Without JavaScript it
stays hidden and the page is exactly its static figures; with it, generator/assets/live.js fills it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from generator.arch import layer_shapes
from generator.export import Exported
from generator.markup import Html, el, json_script
from generator.records import Facts
from generator.values import class_name

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

    from generator.shortcodes import Shortcode
    from generator.usage import SiteFigures

ASSETS = Path(__file__).resolve().parent / "assets"
MODULES = (
    "live.js",
    "forward.js",
    "image.js",
    "draw.js",
    "detail.js",
    "live.css",
    "loader.js",  # the live view
    "steps.js",
    "player.js",
    "views.js",
    "softmax.js",
    "playground.js",
    "steps.css",
)  # generator/steps.py

TEXT = {
    "zh": {
        "samples": "示例图片",
        "upload": "使用你自己的图片…",
        "network": "网络各层（可左右滚动）",
        "detail": "神经元详情",
        "photo": "输入图片",
        "channels": ["红色（R）通道", "绿色（G）通道", "蓝色（B）通道"],
        "neuron": "神经元",
        "probability": "概率",
        "prediction": "每个类别的概率",
        "loading": "正在加载模型…",
        "predicted": "{source}：模型预测为 {name}（{prob}）",
        "yours": "你的图片",
        "error": "出错了：",
        "privacy": "也可以把图片拖到这里。图片只在你的浏览器里处理，不会上传。",
        "close": "关闭",
        "values": "{h}×{w}，取值 {min} 到 {max}。",
        "range": "颜色范围 ±{max}（红负蓝正）。",
        "range01": "颜色范围 0 到 1。",
        "relu": "ReLU 之前（同一神经元在上一层的输出）：",
        "pool": "池化之前（同一神经元在上一层的输出）：",
        "steps": "逐通道计算",
        "kernel": "卷积核",
        "partial": "中间结果",
        "kernelRange": "卷积核颜色范围 ±{max}（棕负绿正）；",
        "partialRange": "中间结果颜色范围 ±{max}。",
        "sum": "把这 {n} 个中间结果相加，再加上偏置 {bias}，就得到上面 {layer} 的输出。",
    },
    "en": {
        "samples": "Sample images",
        "upload": "Use your own image…",
        "network": "The network's layers (scrolls sideways)",
        "detail": "Neuron detail",
        "photo": "Input image",
        "channels": ["red (R) channel", "green (G) channel", "blue (B) channel"],
        "neuron": "neuron",
        "probability": "probability",
        "prediction": "Every class's probability",
        "loading": "Loading the model…",
        "predicted": "{source}: the model predicts {name} ({prob})",
        "yours": "your image",
        "error": "Error:",
        "privacy": "Or drop an image here. It is processed in your browser and never uploaded.",
        "close": "Close",
        "values": "{h}×{w}, values {min} to {max}.",
        "range": "Colour range ±{max} (red negative, blue positive).",
        "range01": "Colour range 0 to 1.",
        "relu": "Before ReLU (the same neuron in the layer before):",
        "pool": "Before pooling (the same neuron in the layer before):",
        "steps": "Channel by channel",
        "kernel": "kernel",
        "partial": "partial result",
        "kernelRange": "Kernel colours ±{max} (brown negative, green positive);",
        "partialRange": "partial results ±{max}.",
        "sum": "These {n} partial results added up, plus the bias {bias}, give {layer}'s map above.",
    },
}


def asset_dir() -> str:
    """assets/tinyvgg/<hash>/: the modules' site folder, named by their content (cache forever)."""
    h = hashlib.sha256()
    for name in MODULES:
        h.update(name.encode() + b"\0" + (ASSETS / name).read_bytes())
    return f"assets/tinyvgg/{h.hexdigest()[:12]}"


def site_files(exported: Exported) -> list[tuple[str, Path]]:
    """(path in the site, source) of the modules and the exported model, colour tables and sample pixels
    (language-neutral: published once, at the site's root)."""
    folder = asset_dir()
    return [(f"{folder}/{name}", ASSETS / name) for name in MODULES] + [
        (rel, exported.root / rel) for rel in exported.files()
    ]


def add_files(files: Files, config: MkDocsConfig, exported: Exported) -> None:
    """site_files() added to a build's files."""
    for rel, src in site_files(exported):
        files.append(File.generated(config, rel, abs_src_path=str(src)))


def network_block(figs: SiteFigures, code: Shortcode, page: Page, lang: str) -> Html:
    """`{{ network }}`: the live view's hidden section (see the module docstring)."""
    assert figs.exported is not None
    return network_html(figs.facts, figs.exported, figs.scale, page.url or ".", lang)


def network_html(facts: Facts, exported: Exported, scale: str, here: str, lang: str) -> Html:
    """The section for a page at URL `here`: the JSON config live.js reads, and the module script."""
    samples = []
    for s in facts["samples"]:
        name = s["slug"] if s["label"] is None else class_name(facts, s["label"], lang)
        samples.append(
            {"slug": s["slug"], "name": name, "src": get_relative_url(exported.index["samples"][s["slug"]], here)}
        )
    cfg = {
        "model": get_relative_url(exported.index["model"], here),
        "colors": get_relative_url(exported.index["colors"], here),
        "scale": scale,  # as the figures' colour ranges: "layer" or "neuron"
        "classes": [class_name(facts, i, lang) for i in range(len(facts["classes"]))],
        "samples": samples,
        "featured": facts["featured"],
        "shapes": {name: list(shape) for name, shape in layer_shapes().items()},
        "text": TEXT[lang],
    }
    script = get_relative_url(f"{asset_dir()}/live.js", here)
    return el(
        "section",
        {"class": "tv-live", "hidden": True, "data-search-exclude": True, "aria-label": TEXT[lang]["network"]},
        el("script", {"type": "application/json", "class": "tv-live-config"}, json_script(cfg)),
        el("script", {"type": "module", "src": script}),
    )
