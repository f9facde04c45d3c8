"""The players' HTML (generator/steps.py): figures marked with what they show, escaped; one JSON
config and one module per page that needs them; data stays data; the hyperparameter settings are the
GIFs'; the JavaScript the players add stays within its 60 KB budget; no innerHTML anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_interactive import HOSTILE, exported, facts

from generator.interactive import asset_dir
from generator.plugin import figure_html
from generator.steps import HYPERS, KINDS, TEXT, figure_attrs, page_script, wanted

ASSETS = Path(__file__).resolve().parents[1] / "generator" / "assets"
ADDED = ("steps.js", "player.js", "views.js", "softmax.js", "playground.js", "loader.js")


def entry(kind: str, **params: object) -> dict:
    return {
        "kind": kind,
        "image": None,
        "layer": None,
        "neuron": None,
        **params,
        "width": 10,
        "height": 10,
        "alt": {"en": "a"},
        "caption": {"en": "c"},
    }


def config_of(html: str) -> dict:
    (text,) = re.findall(r'<script type="application/json" class="tv-steps-config">(.*?)</script>', html, re.S)
    return json.loads(text)


def test_figures_with_players_say_what_they_show_escaped() -> None:
    html = figure_html(entry("conv-detail", image=HOSTILE, layer="conv_1_1", neuron=0), "x.gif", "en")
    assert html.startswith(
        '<figure class="tv-figure tv-conv-detail tv-pixel" data-tv-kind="conv-detail" data-tv-image="cat'
    )
    assert "<img src=x" not in html and 'data-tv-neuron="0"' in html and "data-tv-hyper" not in html
    assert 'data-tv-hyper="stride"' in figure_html(entry("hyperparameter", hyper="stride"), "s.gif", "en")
    assert figure_attrs(entry("kernels", layer="conv_1_1")) == {}
    assert "data-tv" not in figure_html(entry("activation-grid", image="cat", layer="conv_1_1"), "a.png", "en")
    assert {"conv-detail", "conv-overview", "pool", "softmax", "hyperparameter", "relu"} == KINDS


def test_one_config_and_one_module_per_page_data_stays_data() -> None:
    html = page_script(facts(), exported(), "en/convolution/", "en")
    assert html.count("</script>") == 2 and "<img" not in html
    assert f'src="../../{asset_dir()}/steps.js"' in html
    cfg = config_of(html)
    assert cfg["classes"] == [HOSTILE, "dog"] and cfg["samples"][0]["name"] == HOSTILE
    assert cfg["model"] == "../../model/abc/model.json" and cfg["text"] == TEXT["en"]
    assert cfg["hypers"]["stride"] == [[7, 3, 0, 1], [7, 3, 0, 2], [7, 3, 0, 3]]
    assert set(TEXT["zh"]) == set(TEXT["en"])
    assert wanted('<figure data-tv-kind="pool">') and wanted('<div class="tv-playground" hidden></div>')
    assert not wanted('<figure class="tv-figure tv-kernels">')


def test_hyper_settings_are_the_gifs() -> None:
    from generator.render.hyper import SETTINGS

    assert {name: [(st.w, st.k, st.p, st.s) for st in settings] for name, settings in SETTINGS.items()} == HYPERS


def test_the_players_javascript_stays_within_60_kb_and_never_uses_inner_html() -> None:
    total = sum((ASSETS / name).stat().st_size for name in ADDED)
    assert total <= 60_000, total
    for name in ADDED:
        text = (ASSETS / name).read_text(encoding="utf-8")
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "eval(" not in text, name
