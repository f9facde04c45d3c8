"""The step-by-step players: what the plugin adds to a page whose figures can be stepped through.

figure_html marks every figure with what it shows (`figure_attrs`); a page holding such a figure, or
the hyperparameter playground, gets one JSON config and one module script (`page_script`). Without
JavaScript nothing changes: the figures stay their GIFs and the playground stays hidden. With it,
generator/assets/steps.js loads the exported model once (assets/loader.js, shared with the live
view) and turns each figure into a player drawn from the numbers it computes for the current image.
"""

from __future__ import annotations

from collections.abc import Mapping

from mkdocs.utils import get_relative_url

from generator.arch import layer_shapes
from generator.export import Exported
from generator.interactive import asset_dir
from generator.markup import Html, el, json_script
from generator.records import Facts
from generator.values import class_name

# Figures with a player (animated in their GIF) or a hover view (relu).
KINDS = frozenset({"conv-detail", "conv-overview", "pool", "softmax", "hyperparameter", "relu"})
MARK = "data-tv-kind"  # on the figures steps.js enhances; a page without one gets no script
PLAYGROUND = "tv-playground"  # class of the playground's placeholder <div> in the hyperparameters chapter
# The settings each hyperparameter GIF shows, (W, K, P, S): render/hyper.SETTINGS (a test keeps them equal;
# importing that module would import matplotlib into every build).
HYPERS = {
    "padding": [(4, 3, p, 1) for p in (0, 1, 2)],
    "kernel-size": [(5, k, 0, 1) for k in (2, 3, 4, 5)],
    "stride": [(7, 3, 0, s) for s in (1, 2, 3)],
}

TEXT = {
    "zh": {
        "play": "播放",
        "pause": "暂停",
        "back": "上一步",
        "forward": "下一步",
        "scrub": "步骤",
        "step": "第 {i} / {n} 步",
        "image": "图片",
        "yours": "你的图片…",
        "loading": "正在加载模型…",
        "error": "出错了：",
        "keys": "空格键播放/暂停，←/→ 逐步；把鼠标移到输出上（或点按）可查看任一像素的计算。",
        "keysPlain": "空格键播放/暂停，←/→ 逐步。",
        "keysSoftmax": "空格键播放/暂停，←/→ 逐步；点按类别名查看它的公式。",
        "mapKeys": "方向键可移动所选像素",
        "reluKeys": "把鼠标移到第二张图上（或点按），或让它获得焦点后用方向键，查看任一像素的 x 与 max(0, x)。",
        "input": "输入",
        "output": "输出",
        "channel": "通道",
        "neuron": "神经元",
        "channels": ["R", "G", "B"],
        "window": "窗口 x",
        "kernel": "卷积核 w",
        "products": "逐元素乘积 x·w",
        "partial": "求和",
        "bias": "偏置",
        "result": "结果",
        "model": "模型输出",
        "conv": "{layer}[{r}, {c}] = Σ 各通道乘积之和 + 偏置",
        "relu": "{layer}[{r}, {c}]：输入 x = {x}，max(0, x) = {y}",
        "pool": "{layer}[{r}, {c}] = max(2×2 窗口) = {y}",
        "winner": "最大值",
        "logits": "第 1 步：logit z（最后一层的输出）",
        "exps": "第 2 步：取指数 e^z，并求和 Σ = {sum}",
        "classStep": "第 3 步：逐类相除",
        "predicted": "预测：{name}（{p}）",
        "pick": "选择一个类别查看公式",
        "class": "类别",
        "prob": "概率",
        "hyperName": {"padding": "填充 P", "kernel-size": "卷积核大小 K", "stride": "步长 S"},
        "W": "输入尺寸 W",
        "P": "填充 P",
        "K": "卷积核大小 K",
        "S": "步长 S",
        "out": "输出尺寸",
        "exact": "W − K + 2P = {span} 能被 S = {s} 整除：输出为 {o}×{o}。",
        "inexact": "W − K + 2P = {span} 不能被 S = {s} 整除：卷积核走不出整数步。PyTorch 等框架把除法向下取整，"
        "输出为 {o}×{o}，填充后输入的最后 {left} 行和 {left} 列永远不会被卷积核覆盖。"
        "设计网络时应避免这种组合。",
        "playground": "超参数实验场",
    },
    "en": {
        "play": "Play",
        "pause": "Pause",
        "back": "Step back",
        "forward": "Step forward",
        "scrub": "Step",
        "step": "step {i} of {n}",
        "image": "Image",
        "yours": "Your own image…",
        "loading": "Loading the model…",
        "error": "Error:",
        "keys": "Space plays or pauses, ← and → step; hover (or tap) the output to see how any pixel is computed.",
        "keysPlain": "Space plays or pauses, ← and → step.",
        "keysSoftmax": "Space plays or pauses, ← and → step; choose a class name to see its formula.",
        "mapKeys": "arrow keys move the chosen pixel",
        "reluKeys": "Hover (or tap) the second map, or focus it and use the arrow keys, to see any pixel's x and "
        "max(0, x).",
        "input": "input",
        "output": "output",
        "channel": "channel",
        "neuron": "neuron",
        "channels": ["R", "G", "B"],
        "window": "window x",
        "kernel": "kernel w",
        "products": "products x·w",
        "partial": "sum",
        "bias": "bias",
        "result": "result",
        "model": "model output",
        "conv": "{layer}[{r}, {c}] = the sum of every channel's products + the bias",
        "relu": "{layer}[{r}, {c}]: input x = {x}, max(0, x) = {y}",
        "pool": "{layer}[{r}, {c}] = max(2×2 window) = {y}",
        "winner": "maximum",
        "logits": "Step 1: the logits z (the last layer's output)",
        "exps": "Step 2: exponentials e^z, and their sum Σ = {sum}",
        "classStep": "Step 3: divide, class by class",
        "predicted": "Prediction: {name} ({p})",
        "pick": "Choose a class to see its formula",
        "class": "class",
        "prob": "probability",
        "hyperName": {"padding": "padding P", "kernel-size": "kernel size K", "stride": "stride S"},
        "W": "input size W",
        "P": "padding P",
        "K": "kernel size K",
        "S": "stride S",
        "out": "output size",
        "exact": "W − K + 2P = {span} is divisible by S = {s}: the output is {o}×{o}.",
        "inexact": "W − K + 2P = {span} is not divisible by S = {s}: the kernel cannot take a whole number of "
        "steps. PyTorch and other frameworks round the division down, so the output is {o}×{o} and the "
        "last {left} row(s) and column(s) of the padded input are never covered by the kernel. "
        "Designers avoid such combinations.",
        "playground": "Hyperparameter playground",
    },
}


def figure_attrs(entry: Mapping[str, object]) -> dict[str, object]:
    """data-* attributes telling steps.js what a figure shows ({} for figures without a player)."""
    if entry["kind"] not in KINDS:
        return {}
    stats = entry.get("stats") or {}
    assert isinstance(stats, Mapping)
    walk = stats.get("positions")  # the windows the GIF walks (conv-detail, pool): the player walks them too
    return {
        MARK: entry["kind"],
        "data-tv-image": entry.get("image"),
        "data-tv-layer": entry.get("layer"),
        "data-tv-neuron": entry.get("neuron"),
        "data-tv-hyper": entry.get("hyper"),
        "data-tv-walk": ",".join(str(int(p)) for p in walk) if walk else None,
        "data-tv-channel": stats.get("channel"),
    }


def wanted(html: str) -> bool:
    """Does a page's content hold something steps.js enhances?"""
    return MARK in html or PLAYGROUND in html


def page_script(facts: Facts, exported: Exported, here: str, lang: str) -> Html:
    """The JSON config steps.js reads and its module script, for the page at URL `here`."""
    samples = [
        {
            "slug": s["slug"],
            "name": s["slug"] if s["label"] is None else class_name(facts, s["label"], lang),
            "src": get_relative_url(exported.index["samples"][s["slug"]], here),
        }
        for s in facts["samples"]
    ]
    cfg = {
        "model": get_relative_url(exported.index["model"], here),
        "colors": get_relative_url(exported.index["colors"], here),
        "classes": [class_name(facts, i, lang) for i in range(len(facts["classes"]))],
        "samples": samples,
        "featured": facts["featured"],
        "shapes": {name: list(shape) for name, shape in layer_shapes().items()},
        "text": TEXT[lang],
        "hypers": {name: [list(st) for st in settings] for name, settings in HYPERS.items()},
    }
    return Html(
        el("script", {"type": "application/json", "class": "tv-steps-config"}, json_script(cfg))
        + el("script", {"type": "module", "src": get_relative_url(f"{asset_dir()}/steps.js", here)})
    )
