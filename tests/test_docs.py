"""The Markdown sources: both languages have the same chapters and figures, every shortcode resolves,
and no prose is copied from the seed article. Fast: nothing is built or trained."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import pytest
from support import REPO, SHARED

from generator import pages as gen_pages
from generator.arch import CONV_LAYERS, POOL_LAYERS, base_facts, layer_shapes, previous_stage
from generator.datasets import CLASS_NAMES_ZH
from generator.errors import ShortcodeError
from generator.examples import sample_examples
from generator.shortcodes import Shortcode, expand
from generator.usage import spec_for
from generator.values import VALUES, resolve_value

DOCS = REPO / "docs"
SEED = SHARED / "seed" / "000_d5a7104deacb4ae3.txt"
RUN = 20  # the longest run of characters two texts may share verbatim, minus one
PAPER_TITLE = "CNN Explainer: Learning Convolutional Neural Networks with Interactive Visualization"


def chapters(lang: str) -> set[str]:
    return {p.relative_to(DOCS / lang).as_posix() for p in (DOCS / lang).rglob("*.md")}


def shortcodes(path: Path) -> list[Shortcode]:
    """Every shortcode outside code spans and fences, in order (the plugin's own parser)."""
    found: list[Shortcode] = []

    def keep(code: Shortcode) -> str:
        found.append(code)
        return ""

    expand(path.read_text(encoding="utf-8"), keep)
    return found


PAIRS = sorted(chapters("zh") | chapters("en"))


def test_every_chapter_exists_in_both_languages() -> None:
    zh, en = chapters("zh"), chapters("en")
    assert zh, "no Chinese chapters found"
    assert zh == en, f"only in zh: {sorted(zh - en)}; only in en: {sorted(en - zh)}"
    for page in (
        "index.md",
        "cnn.md",
        "input-layer.md",
        "convolution.md",
        "hyperparameters.md",
        "activation.md",
        "pooling.md",
        "flatten.md",
        "sources.md",
        "explore/index.md",
    ):
        assert page in zh, f"missing chapter {page}"


@pytest.mark.parametrize("page", PAIRS)
def test_both_languages_show_the_same_figures_in_the_same_order(page: str) -> None:
    zh_path, en_path = DOCS / "zh" / page, DOCS / "en" / page
    if not (zh_path.is_file() and en_path.is_file()):
        pytest.fail(f"{page} exists in one language only")

    def figures(path: Path) -> list[str]:
        return [
            " ".join([c.name, c.arg, *sorted(f"{k}={v}" for k, v in c.params.items())])
            for c in shortcodes(path)
            if c.name == "figure" or c.name in gen_pages.BLOCKS
        ]

    assert figures(zh_path) == figures(en_path)


# -- shortcodes resolve (the strict build checks this too, against the real model) ---------------------


def stand_in_examples(seed: int = 0) -> dict:
    """A sample's `examples` (generator/examples.py) chosen from seeded random maps of every layer's shape."""
    rng = np.random.default_rng(seed)
    shapes = layer_shapes()
    stages = {name: rng.normal(size=shape).astype(np.float32) for name, shape in shapes.items()}
    for layer in POOL_LAYERS:  # after ReLU: nothing negative
        stages[layer] = np.maximum(stages[layer], 0)
    inter = {
        layer: rng.normal(size=(shapes[layer][0], shapes[previous_stage(layer)][0], *shapes[layer][1:])).astype(
            np.float32
        )
        for layer in CONV_LAYERS
    }
    return sample_examples(stages, inter)


def stand_in_facts() -> dict:
    """Facts shaped like a build's, with neutral numbers: enough to run the real value resolvers,
    which validate names, keys, layers and neurons. The numbers themselves are never asserted."""
    classes = list(CLASS_NAMES_ZH)[:10]
    facts = base_facts(classes, [CLASS_NAMES_ZH[c] for c in classes])
    n = len(classes)
    facts.update(
        dataset="shapes",
        featured="sample",
        reference={"test_acc": 0.0},
        metrics={
            k: 0 for k in ("test_acc", "val_acc", "epochs", "best_epoch", "train_images", "val_images", "test_images")
        },
        samples=[
            {
                "slug": "sample",
                "label": 0,
                "predicted": 0,
                "probs": [1 / n] * n,
                "logits": [0.0] * n,
                "examples": stand_in_examples(),
            }
        ],
        biases={
            layer: [0.0] * facts["layers"][layer]["shape"][0]
            for layer in facts["layers"]
            if facts["layers"][layer]["params"]
        },
    )
    return facts


def check(code: Shortcode, facts: dict, lang: str) -> None:
    if code.name == "value":
        resolve_value(code.arg, code.params, facts, lang)
    elif code.name == "figure":
        extra = set(code.params) - {"image", "layer", "neuron", "hyper"}
        if extra:
            raise ShortcodeError(f"unknown parameter {', '.join(sorted(extra))}")
        if code.params.get("image", "featured") != "featured":
            raise ShortcodeError("chapters show the featured image (other slugs depend on the dataset)")
        spec_for(code.arg, code.params, facts)  # the plugin's own resolution (neuron=auto included)
    elif code.name == "table":
        if code.arg != "network" or code.params:
            raise ShortcodeError(f"unknown table {code.arg!r}")
    elif code.name in gen_pages.BLOCKS:
        gen_pages.check_block_args(code)
    else:
        raise ShortcodeError(f"unknown shortcode {code.name!r}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_shortcode_in_the_docs_resolves(lang: str) -> None:
    facts = stand_in_facts()
    errors, count = [], 0
    for path in sorted((DOCS / lang).rglob("*.md")):
        for code in shortcodes(path):
            count += 1
            try:
                check(code, facts, lang)
            except ShortcodeError as exc:
                errors.append(f"{path.relative_to(REPO)}:{code.line}: {code.name} {code.arg}: {exc}")
    assert not errors, "\n".join(errors)
    assert count > 50


def test_value_names_used_are_all_known() -> None:
    used = {
        c.arg for lang in ("zh", "en") for p in (DOCS / lang).rglob("*.md") for c in shortcodes(p) if c.name == "value"
    }
    assert used <= set(VALUES), used - set(VALUES)


# -- no copied prose -------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](target) and ![alt](src): keep the text
AUTOLINK = re.compile(r"<(?:https?://|mailto:)[^>]*>")
URL = re.compile(r"(?:https?://|www\.)\S+")
HTML_TAG = re.compile(r"<[^>]+>")
SHORTCODE = re.compile(r"\{\{.*?\}\}")
CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
CUT = "\x00"  # stands where a reference was removed: no shared run may span it


def normalise(text: str) -> str:
    """Prose only, comparable across both texts.

    URLs, link targets, image sources, HTML tags (the seed's iframe and its title attribute) and
    shortcodes are references or markup, not prose: each is replaced by a cut that no run may cross,
    while a link's visible text is kept. The CNN Explainer paper title is a citation and is cut too.
    Emphasis markers and backticks are dropped; whitespace runs become one space, and the spaces
    beside CJK characters are removed (Chinese style guides add them between Chinese and Latin
    text, the seed does not), so a copied sentence cannot hide behind spacing.
    """
    text = text.replace(PAPER_TITLE, CUT)
    text = AUTOLINK.sub(CUT, text)
    text = LINK.sub(lambda m: m.group(1) + CUT, text)
    text = URL.sub(CUT, text)
    text = HTML_TAG.sub(CUT, text)
    text = SHORTCODE.sub(CUT, text)
    text = re.sub(r"[*`]+", "", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(rf"\s+(?={CJK})|(?<={CJK})\s+", "", text)
    return text


def shared_runs(doc: str, seed_runs: set[str]) -> list[str]:
    """Maximal runs of >= RUN characters of `doc` that also occur in the seed."""
    hits, i = [], 0
    while i <= len(doc) - RUN:
        chunk = doc[i : i + RUN]
        if CUT not in chunk and chunk in seed_runs:
            j = i + RUN
            while j < len(doc) and doc[j - RUN + 1 : j + 1] in seed_runs:
                j += 1
            hits.append(doc[i:j])
            i = j
        else:
            i += 1
    return hits


def test_normalise_strips_references_but_keeps_prose() -> None:
    text = "见 [CNN Explainer](https://poloclub.github.io/cnn-explainer/) 的 **卷积层** <https://x.org>。"
    assert normalise(text) == f"见CNN Explainer{CUT}的卷积层{CUT}。"
    assert shared_runs("abcdefghijklmnopqrstuvwxyz", {"bcdefghijklmnopqrstu", "cdefghijklmnopqrstuv"}) == [
        "bcdefghijklmnopqrstuv"
    ]


def test_no_run_of_twenty_characters_from_the_seed_article() -> None:
    """No 20 characters in a row of the seed article (a Chinese translation of the CNN Explainer
    tutorial) appear verbatim in docs/. Both texts are compared after `normalise`: URLs, link
    targets and citation titles (the CNN Explainer paper's) are references, not prose, so they are
    cut out of both; whitespace is normalised."""
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED} (../shared beside the checkout)")
    seed = normalise(SEED.read_text(encoding="utf-8"))
    seed_runs = {seed[i : i + RUN] for i in range(len(seed) - RUN + 1)} - {""}
    seed_runs = {r for r in seed_runs if CUT not in r}
    copied = []
    for path in sorted(DOCS.rglob("*.md")):
        for run in shared_runs(normalise(path.read_text(encoding="utf-8")), seed_runs):
            copied.append(f"{path.relative_to(REPO)}: {run!r}")
    assert not copied, "text copied verbatim from the seed article:\n" + "\n".join(copied)


def _jieba_dict_script() -> types.ModuleType:  # scripts/jieba_dict.py
    import importlib.util

    spec = importlib.util.spec_from_file_location("jieba_dict", REPO / "scripts" / "jieba_dict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_search_dictionary_is_current_and_segments_like_the_full_one() -> None:
    """docs/.jieba-dict.txt (mkdocs.yml: search.jieba_dict) is what scripts/jieba_dict.py makes from the
    current text, and jieba cuts every Chinese run of the site's sources with it exactly as with its full
    dictionary: the search index is the same, only the 0.75 s load is gone."""
    jieba = pytest.importorskip("jieba")
    script = _jieba_dict_script()
    runs = script.site_text()
    assert len(runs) > 500
    expected = script.cut_down(runs, script.full_dictionary())
    assert script.OUTPUT.read_text(encoding="utf-8") == expected, (
        "docs/.jieba-dict.txt is out of date with the Chinese text: run `python scripts/jieba_dict.py`"
    )
    full = jieba.Tokenizer(str(script.full_dictionary()))
    small = jieba.Tokenizer(str(script.OUTPUT))
    differ = [run for run in runs if list(full.cut(run)) != list(small.cut(run))]
    assert not differ, f"{len(differ)} runs are cut differently, e.g. {differ[:3]}"
    assert "jieba_dict: docs/.jieba-dict.txt" in (REPO / "mkdocs.yml").read_text(encoding="utf-8")


def test_search_dictionary_keeps_the_total_frequency(tmp_path: Path) -> None:
    """The filler entry keeps log(total), which every segmentation's score subtracts once per word."""
    script = _jieba_dict_script()
    source = tmp_path / "dict.txt"
    source.write_text("卷积 300 n\n神经 200 n\n神经网络 100 n\n网络 400 n\n苹果 1000 n\n", encoding="utf-8")
    text = script.cut_down(["卷积神经网络"], source)
    assert text == f"卷积 300 n\n神经 200 n\n神经网络 100 n\n网络 400 n\n{script.FILLER} 1000 x\n"
    assert script.cut_down([], source) == f"{script.FILLER} 2000 x\n"
