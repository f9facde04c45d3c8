"""`{{ shortcode-reference }}`: generated from the catalogue and the value table, it lists every kind and
value with its parameters, and the defaults it documents are the ones the plugin applies. Fast."""

from __future__ import annotations

import re

import pytest
from test_docs import stand_in_facts

from generator import pages as gen_pages
from generator.catalog import KINDS, make_spec
from generator.errors import FigureSpecError
from generator.reference import KIND_TEXT, SHORTCODE_TEXT, VALUE_TEXT, reference_html
from generator.values import VALUES, resolve_value

LANGS = ("zh", "en")


def rows(html: str, kind: str) -> dict[str, str]:
    """name -> that row's HTML, from the reference's table of `kind` (shortcodes, figures, values)."""
    table = re.search(rf'<div class="tv-reference" data-kind="{kind}">(.*?)</div>', html, re.S)
    assert table, f"no {kind} table"
    return {m.group(1): m.group(0) for m in re.finditer(r"<tr><td><code>([^<]*)</code></td>.*?</tr>", table.group(1))}


def test_every_kind_value_and_shortcode_has_a_description_in_both_languages() -> None:
    assert set(KIND_TEXT) == set(KINDS)
    assert set(VALUE_TEXT) == set(VALUES)
    assert set(SHORTCODE_TEXT) == {"figure", "value", "table", *gen_pages.BLOCKS}
    for table in (KIND_TEXT, VALUE_TEXT, SHORTCODE_TEXT):
        for name, text in table.items():
            assert set(text) == set(LANGS) and all(t.strip() for t in text.values()), name
            assert re.search(r"[\u4e00-\u9fff]", text["zh"]), f"{name}: the Chinese description has no Chinese"


@pytest.mark.parametrize("lang", LANGS)
def test_the_reference_lists_every_kind_and_value(lang: str) -> None:
    html = reference_html(stand_in_facts(), lang)
    assert set(rows(html, "figures")) == set(KINDS)
    assert set(rows(html, "values")) == set(VALUES)
    assert len(rows(html, "shortcodes")) == len(SHORTCODE_TEXT)
    for kind, row in rows(html, "figures").items():
        assert KIND_TEXT[kind][lang] in row.replace("&#x27;", "'")
        scope, layers, takes_neuron, _ = KINDS[kind]
        assert ("<code>image</code>" in row) == (scope == "image"), kind
        assert ("<code>layer</code>" in row) == bool(layers), kind
        assert ("<code>neuron</code>" in row) == takes_neuron, kind
        assert ("<code>hyper</code>" in row) == (kind == "hyperparameter"), kind
    for name, row in rows(html, "values").items():
        for key in ("image", "layer", "class", "neuron"):
            assert (f"<code>{key}</code>" in row) == (key in VALUES[name][0]), (name, key)
    # Markup from the reference never reaches a Jinja plugin that runs later (mkdocs-macros): no braces.
    assert "{" not in html and "}" not in html and "&#123;&#123; figure KIND" in html


@pytest.mark.parametrize("kind", [k for k, spec in KINDS.items() if spec[1]])
def test_the_documented_default_layer_and_neuron_are_applied(kind: str) -> None:
    row = rows(reference_html(stand_in_facts(), "en"), "figures")[kind]
    default = re.search(r"default <code>([^<]+)</code>", row)
    assert default, row
    spec = make_spec(kind, image="sample")  # no layer=, no neuron=
    assert spec.layer == default.group(1)
    if KINDS[kind][2]:
        assert "default 0" in row and spec.neuron == 0
    last = re.search(r"0 to (\d+); default 0", row)
    if last:  # the documented range is the accepted one
        make_spec(kind, image="sample", neuron=int(last.group(1)))
        with pytest.raises(FigureSpecError):
            make_spec(kind, image="sample", neuron=int(last.group(1)) + 1)


def test_the_documented_value_defaults_are_applied() -> None:
    facts = stand_in_facts()
    facts["samples"][0]["probs"] = [0.05] * 9 + [0.55]
    facts["samples"][0]["predicted"] = 9
    facts["biases"]["conv_1_1"] = [0.125, 0.5] + [0.0] * 8
    row = rows(reference_html(facts, "en"), "values")
    assert "default the predicted class" in row["probability"]
    assert resolve_value("probability", {}, facts, "en") == resolve_value("probability", {"class": "9"}, facts, "en")
    assert resolve_value("probability", {}, facts, "en") != resolve_value("probability", {"class": "0"}, facts, "en")
    assert "default 0" in row["bias"] and "required" in row["bias"]
    assert resolve_value("bias", {"layer": "conv_1_1"}, facts, "en") == "0.125"
    assert "default featured" in row["predicted-class"]


def test_sample_names_from_data_are_escaped() -> None:
    facts = stand_in_facts()
    facts["samples"][0]["slug"] = '<img src=x onerror="alert(1)">'
    html = reference_html(facts, "en")
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_reference_block_is_a_registered_html_block() -> None:
    assert "shortcode-reference" in gen_pages.BLOCKS and "shortcode-reference" in gen_pages.HTML_BLOCKS
