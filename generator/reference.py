"""`{{ shortcode-reference }}`: every shortcode, figure kind and value name with its parameters, their
allowed values and defaults, in the page's language. Kinds, layers and defaults come from the catalogue
and the value table themselves, so the reference cannot drift from what the plugin accepts; only the
one-line descriptions are written here (tests/test_reference.py checks that each one exists)."""

from __future__ import annotations

from generator.arch import FILTERS
from generator.catalog import HYPERS, KINDS, default_layer
from generator.markup import Html, el, join
from generator.records import Facts
from generator.values import EXAMPLE_KINDS, EXAMPLE_VALUES, LAYER_CHOICES, VALUES

KIND_TEXT: dict[str, dict[str, str]] = {
    "input": {"zh": "输入图片本身（64 × 64）", "en": "the input image itself (64 × 64)"},
    "overview": {"zh": "整个网络：每一层的全部激活图", "en": "the whole network: every layer's activation maps"},
    "activation": {"zh": "一个神经元的激活图", "en": "one neuron's activation map"},
    "activation-grid": {"zh": "一层的全部激活图", "en": "all activation maps of one layer"},
    "conv-overview": {
        "zh": "卷积动画：一个神经元的各个卷积核扫过各个输入通道",
        "en": "convolution animation: one neuron's kernels sliding over every input channel",
    },
    "conv-detail": {
        "zh": "逐步卷积动画：每一步的乘加算式",
        "en": "step-by-step convolution with each step's arithmetic",
    },
    "relu": {"zh": "ReLU 前后的对比", "en": "a neuron before and after ReLU"},
    "pool": {"zh": "最大池化动画", "en": "max pooling animation"},
    "flatten": {
        "zh": "展平：最后一层池化如何排成一个向量",
        "en": "flatten: the last pooling layer laid out as one vector",
    },
    "softmax": {"zh": "softmax 动画：logit 变成概率", "en": "softmax animation: logits become probabilities"},
    "relu-graph": {"zh": "ReLU 函数的图像", "en": "the graph of the ReLU function"},
    "kernels": {"zh": "一个卷积层训练后的全部卷积核", "en": "every trained kernel of a convolution layer"},
    "kernel-evolution": {"zh": "conv_1_1 的卷积核在训练中的变化", "en": "conv_1_1's kernels changing during training"},
    "tile": {
        "zh": "网络总览的一块：一个神经元的激活图，不含文字",
        "en": "a piece of the network overview: one neuron's map, without text",
    },
    "photo": {"zh": "输入图片，64 × 64 像素，不放大", "en": "the input image at its own 64 × 64 pixels"},
    "hyperparameter": {
        "zh": "超参数动画：填充、卷积核大小或步幅",
        "en": "hyperparameter animation: padding, kernel size or stride",
    },
    "training-curves": {"zh": "训练曲线：每一轮的损失和准确率", "en": "training curves: loss and accuracy per epoch"},
    "confusion-matrix": {"zh": "测试集上的混淆矩阵", "en": "the confusion matrix on the test set"},
    "logo": {"zh": "网站图标：conv_1_1 最强的一个卷积核", "en": "the site icon: conv_1_1's strongest kernel"},
}

VALUE_TEXT: dict[str, dict[str, str]] = {
    "test-accuracy": {"zh": "测试集准确率", "en": "accuracy on the test set"},
    "val-accuracy": {"zh": "最佳一轮的验证集准确率", "en": "validation accuracy of the best epoch"},
    "reference-accuracy": {
        "zh": "CNN Explainer 模型的测试集准确率（完整配置并设置 reference_weights 时才有）",
        "en": "CNN Explainer's model's test accuracy (full profile with reference_weights only)",
    },
    "epochs": {"zh": "实际训练的轮数", "en": "the number of epochs trained"},
    "best-epoch": {"zh": "验证准确率最高的一轮", "en": "the epoch with the best validation accuracy"},
    "dataset": {"zh": "数据集名称", "en": "the dataset's name"},
    "num-classes": {"zh": "类别数", "en": "the number of classes"},
    "train-images": {"zh": "训练图片数", "en": "the number of training images"},
    "val-images": {"zh": "验证图片数", "en": "the number of validation images"},
    "test-images": {"zh": "测试图片数", "en": "the number of test images"},
    "class-names": {"zh": "全部类别名（当前语言）", "en": "every class name, in the page's language"},
    "param-count": {"zh": "参数总数", "en": "the total number of parameters"},
    "layer-params": {"zh": "一层的参数个数", "en": "one layer's number of parameters"},
    "layer-shape": {
        "zh": "一层的输出形状（高 × 宽 × 通道）",
        "en": "one layer's output shape (height × width × channels)",
    },
    "kernel-count": {"zh": "一个卷积层的卷积核个数", "en": "the number of kernels of a convolution layer"},
    "kernel-size": {"zh": "卷积核大小", "en": "the kernel size"},
    "filters": {"zh": "每个卷积层的神经元数", "en": "the number of neurons per convolution layer"},
    "flatten-size": {"zh": "展平后向量的长度", "en": "the length of the flattened vector"},
    "pool-dropped": {"zh": "每次最大池化丢掉的激活值比例", "en": "the share of activations each max pooling drops"},
    "sample-count": {"zh": "示例图片的数量", "en": "the number of sample images"},
    "image-class": {
        "zh": "示例图片的真实类别（自己的图片显示短名）",
        "en": "a sample image's true class (your own images show their short name)",
    },
    "predicted-class": {"zh": "模型预测的类别", "en": "the class the model predicts"},
    "probability": {"zh": "一个类别的概率", "en": "one class's probability"},
    "logit": {"zh": "一个类别的 logit", "en": "one class's logit"},
    "bias": {"zh": "一个卷积神经元或输出神经元的偏置", "en": "the bias of one convolution or output neuron"},
    "example-layer": {
        "zh": "按数据选出的示例所在的层（relu：第一个有 20–80 % 正值神经元的 ReLU 层）",
        "en": "the layer of the example chosen from the data "
        "(relu: the first ReLU layer with a neuron 20–80 % positive)",
    },
    "example-neuron": {
        "zh": "neuron=auto 选出的神经元（relu：红蓝两色都看得清、ReLU 前正值比例最接近 50 % 的；"
        "pool：动画中非零窗口最多的）",
        "en": "the neuron neuron=auto picks (relu: of those whose red and blue both show, the one closest "
        "to 50 % positive before ReLU; pool: the most non-zero windows in its animation)",
    },
    "relu-positive": {
        "zh": "ReLU 之前为正的值所占比例（ReLU 之后原样保留）",
        "en": "the share of values that are positive before ReLU (and unchanged after it)",
    },
    "relu-zeroed": {
        "zh": "为负、被 ReLU 置为 0 的值所占比例",
        "en": "the share of values ReLU sets to 0 (the negatives)",
    },
    "pool-steps": {"zh": "池化动画展示的窗口数", "en": "the number of windows the pooling animation shows"},
    "pool-nonzero": {
        "zh": "池化动画展示的窗口中最大值不为 0 的个数",
        "en": "how many of the windows the pooling animation shows have a maximum other than 0",
    },
    "detail-row": {
        "zh": "逐步卷积动画逐格演示的那一段所在的行（数值变化最大处）",
        "en": "the row where the step-by-step convolution goes one step at a time (where values change most)",
    },
    "detail-col": {
        "zh": "逐步卷积动画逐格演示的那一段起始的列",
        "en": "the column where that one-step-at-a-time stretch begins",
    },
}

# The other shortcodes (each block stands alone on its line).
SHORTCODE_TEXT: dict[str, dict[str, str]] = {
    "figure": {
        "zh": "一张插图，附当前语言的替代文字和图注；图中有文字的插图用当前语言的版本（<图>.zh.png），"
        "使用深色配色时显示深色版（<图>.zh.dark.png）",
        "en": "a figure, with alt text and caption in the page's language; a figure with words in it is the "
        "version in that language (<figure>.en.png), and a dark page shows its dark variant (<figure>.en.dark.png)",
    },
    "value": {"zh": "一个取自本次构建的数值或名称", "en": "a number or name taken from this build"},
    "table": {"zh": "网络结构表（唯一的表名：network）", "en": "the architecture table (the only table: network)"},
    "samples": {"zh": "示例图片网格（单独一行）", "en": "the grid of sample images (alone on its line)"},
    "gallery": {
        "zh": "插图目录，带嵌入代码（单独一行）",
        "en": "the figure gallery with embed snippets (alone on its line)",
    },
    "reference": {
        "zh": "与 CNN Explainer 的准确率对比（单独一行）",
        "en": "the accuracy comparison with CNN Explainer (alone on its line)",
    },
    "network": {
        "zh": "实时网络视图：在浏览器中运行模型（单独一行）",
        "en": "the live network view, the model running in the page (alone on its line)",
    },
    "overview": {
        "zh": "网络总览，用 HTML 排版：每个神经元的激活图配上文字标注，点击可查看该神经元（单独一行；可选 image=）",
        "en": "the network overview laid out in HTML: every neuron's map with real text labels, each linking "
        "to that neuron (alone on its line; optional image=)",
    },
    "shortcode-reference": {"zh": "本参考（单独一行）", "en": "this reference (alone on its line)"},
}

T = {
    "shortcode": {"zh": "短代码", "en": "Shortcode"},
    "kind": {"zh": "种类", "en": "Kind"},
    "name": {"zh": "名称", "en": "Name"},
    "shows": {"zh": "内容", "en": "What it shows"},
    "params": {"zh": "参数", "en": "Parameters"},
    "none": {"zh": "无", "en": "none"},
    "t_shortcodes": {"zh": "短代码", "en": "Shortcodes"},
    "t_figures": {"zh": "插图种类：{{ figure 种类 参数=值 }}", "en": "Figure kinds: {{ figure KIND key=value }}"},
    "t_values": {"zh": "数值名称：{{ value 名称 参数=值 }}", "en": "Value names: {{ value NAME key=value }}"},
    "image": {
        "zh": "默认 featured（首页示例图片）；或本次构建的示例图片：{slugs}",
        "en": "default featured (the featured image); or one of this build's sample images: {slugs}",
    },
    "layer_default": {"zh": "{layers} 之一；默认 {default}", "en": "one of {layers}; default {default}"},
    "layer_required": {"zh": "必填，{layers} 之一", "en": "required, one of {layers}"},
    "neuron": {
        "zh": "从 0 起的编号（input 有 3 个，output 每个类别一个，其余每层 {filters} 个）；默认 0",
        "en": "a number from 0 (input has 3, output one per class, every other layer {filters}); default 0",
    },
    "neuron_filters": {"zh": "0 到 {last}；默认 0", "en": "0 to {last}; default 0"},
    "hyper": {"zh": "必填，{hypers} 之一", "en": "required, one of {hypers}"},
    "auto_layer": {
        "zh": "；或 auto：按数据选出的示例层",
        "en": "; or auto: the example layer chosen from the data",
    },
    "auto_neuron": {
        "zh": "；或 auto：按数据选出的示例神经元（见数值 example-neuron）",
        "en": "; or auto: the example neuron chosen from the data (see the value example-neuron)",
    },
    "layer_example": {
        "zh": "默认 auto（示例所在的层）；或 {layers} 之一",
        "en": "default auto (the example's layer); or one of {layers}",
    },
    "neuron_example": {
        "zh": "默认 auto（示例神经元）；或 0 到 {last}",
        "en": "default auto (the example neuron); or 0 to {last}",
    },
    "kind_example": {"zh": "必填，{kinds} 之一", "en": "required, one of {kinds}"},
    "class": {
        "zh": "类别编号（从 0 起，共 {n} 个）或英文类名；默认预测的类别",
        "en": "a class number (from 0, {n} classes) or English class name; default the predicted class",
    },
}


def _t(key: str, lang: str, **kw: object) -> str:
    return T[key][lang].format(**kw)


def _codes(words: list[str] | tuple[str, ...], lang: str) -> Html:
    return join((el("code", None, w) for w in words), "、" if lang == "zh" else ", ")


def _param(key: str, body: Html | str) -> Html:
    return el("li", None, el("code", None, key), ": ", body)


def _filled(template: str, **parts: Html) -> Html:
    """A translated sentence with HTML pieces (lists of code words) put into its {placeholders}."""
    out: list[object] = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        out += [before, parts[name]]
    return join([*out, rest])


def _params_list(items: list[Html], lang: str) -> Html:
    return el("ul", None, *items) if items else Html(_t("none", lang))


def kind_params(kind: str, facts: Facts, lang: str) -> Html:
    scope, layers, takes_neuron, _ = KINDS[kind]
    items = []
    if scope == "image":
        items.append(
            _param("image", _filled(T["image"][lang], slugs=_codes([s["slug"] for s in facts["samples"]], lang)))
        )
    if layers:
        items.append(
            _param(
                "layer",
                _filled(
                    T["layer_default"][lang] + (T["auto_layer"][lang] if kind in EXAMPLE_KINDS else ""),
                    layers=_codes(layers, lang),
                    default=el("code", None, default_layer(kind)),
                ),
            )
        )
    auto = kind in EXAMPLE_KINDS
    if takes_neuron:
        if {"input", "output"} & set(layers or ()):
            items.append(_param("neuron", _t("neuron", lang, filters=FILTERS)))
        else:  # conv, relu and pool layers: FILTERS neurons each
            text = _t("neuron_filters", lang, last=FILTERS - 1) + (_t("auto_neuron", lang) if auto else "")
            items.append(_param("neuron", text))
    if kind == "hyperparameter":
        items.append(_param("hyper", _filled(T["hyper"][lang], hypers=_codes(HYPERS, lang))))
    return _params_list(items, lang)


def value_params(name: str, facts: Facts, lang: str) -> Html:
    items = []
    example = name in EXAMPLE_VALUES
    for key in VALUES[name][0]:
        if key == "kind":
            items.append(_param(key, _filled(T["kind_example"][lang], kinds=_codes(EXAMPLE_KINDS, lang))))
        elif key == "layer" and example:
            layers = [layer for layer in LAYER_CHOICES[name] if layer != "auto"]
            items.append(_param(key, _filled(T["layer_example"][lang], layers=_codes(layers, lang))))
        elif key == "neuron" and example:
            items.append(_param(key, _t("neuron_example", lang, last=FILTERS - 1)))
        elif key == "layer":
            items.append(_param(key, _filled(T["layer_required"][lang], layers=_codes(LAYER_CHOICES[name], lang))))
        elif key == "image":
            items.append(
                _param(key, _filled(T["image"][lang], slugs=_codes([s["slug"] for s in facts["samples"]], lang)))
            )
        elif key == "class":
            items.append(_param(key, _t("class", lang, n=len(facts["classes"]))))
        elif key == "neuron":
            items.append(_param(key, _t("neuron", lang, filters=FILTERS)))
        else:
            raise KeyError(f"value {name!r}: the reference does not describe its parameter {key!r}")
    return _params_list(items, lang)


def _table(head: list[str], rows: list[list[object]]) -> Html:
    return el(
        "table",
        None,
        el("thead", None, el("tr", None, *(el("th", None, h) for h in head))),
        el("tbody", None, *(el("tr", None, *(el("td", None, c) for c in row)) for row in rows)),
    )


def reference_html(facts: Facts, lang: str) -> Html:
    """Three tables: the shortcodes, the figure kinds (`{{ figure KIND ... }}`) and the value names
    (`{{ value NAME ... }}`). Braces are written as character references, so a Jinja-based plugin that
    runs after this one (mkdocs-macros) sees no `{{` in the examples."""
    syntax = {
        "figure": "{{ figure KIND key=value ... }}",
        "value": "{{ value NAME key=value ... }}",
        "table": "{{ table network }}",
        "overview": "{{ overview image=... }}",
    }
    shortcodes = _table(
        [_t("shortcode", lang), _t("shows", lang)],
        [
            [el("code", None, syntax.get(name, f"{{{{ {name} }}}}")), text[lang]]
            for name, text in SHORTCODE_TEXT.items()
        ],
    )
    kinds = _table(
        [_t("kind", lang), _t("shows", lang), _t("params", lang)],
        [[el("code", None, kind), KIND_TEXT[kind][lang], kind_params(kind, facts, lang)] for kind in KINDS],
    )
    values = _table(
        [_t("name", lang), _t("shows", lang), _t("params", lang)],
        [[el("code", None, name), VALUE_TEXT[name][lang], value_params(name, facts, lang)] for name in VALUES],
    )
    html = "\n".join(
        el(
            "div",
            {"class": "tv-reference", "data-kind": kind},
            el("p", None, el("strong", None, T[f"t_{kind}"][lang])),
            table,
        )
        for kind, table in (("shortcodes", shortcodes), ("figures", kinds), ("values", values))
    )
    return Html(html.replace("{", "&#123;").replace("}", "&#125;"))
