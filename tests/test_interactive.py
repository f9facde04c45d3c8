"""The live view's HTML (generator/interactive.py): a hidden section whose JSON config carries data
(class names, slugs) as data, never as markup, and URLs relative to the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from generator.export import Exported
from generator.interactive import MODULES, TEXT, asset_dir, network_html

HOSTILE = 'cat</script><img src=x onerror="alert(1)">&amp;\u2028'


def facts() -> dict:
    return {
        "classes": [HOSTILE, "dog"],
        "classes_zh": ["猫</script>", "狗"],
        "featured": "cat",
        "samples": [{"slug": "cat", "label": 0}, {"slug": "my-photo", "label": None}],
    }


def exported() -> Exported:
    return Exported(
        root=Path("/nowhere"),
        index={
            "model": "model/abc/model.json",
            "shard": "model/abc/group1-shard1of1.bin",
            "colors": "live/colors-1.json",
            "samples": {"cat": "live/samples/cat-1.png", "my-photo": "live/samples/my-photo-2.png"},
        },
    )


def config_of(html: str) -> dict:
    (text,) = re.findall(r'<script type="application/json" class="tv-live-config">(.*?)</script>', html, re.S)
    return json.loads(text)


def test_section_is_hidden_and_data_stays_data() -> None:
    html = network_html(facts(), exported(), "layer", "explore/", "en")
    assert html.startswith('<section class="tv-live" hidden data-search-exclude')
    assert "<img" not in html and html.count("</script>") == 2  # the JSON's and the module's
    cfg = config_of(html)
    assert cfg["classes"] == [HOSTILE, "dog"]
    assert [s["name"] for s in cfg["samples"]] == [HOSTILE, "my-photo"]
    assert cfg["text"] == TEXT["en"] and cfg["scale"] == "layer" and cfg["featured"] == "cat"
    assert cfg["shapes"]["conv_1_1"] == [10, 62, 62] and cfg["shapes"]["max_pool_2"] == [10, 13, 13]
    assert config_of(network_html(facts(), exported(), "neuron", "explore/", "zh"))["classes"] == ["猫</script>", "狗"]


def test_urls_are_relative_to_the_page() -> None:
    for here, up in (("explore/", "../"), ("en/explore/", "../../")):
        html = network_html(facts(), exported(), "layer", here, "en")
        cfg = config_of(html)
        assert cfg["model"] == up + "model/abc/model.json"
        assert cfg["samples"][1]["src"] == up + "live/samples/my-photo-2.png"
        assert f'src="{up}{asset_dir()}/live.js"' in html


def test_every_module_is_shipped_and_imports_only_shipped_modules() -> None:
    assets = Path(__file__).resolve().parents[1] / "generator" / "assets"
    from generator.plugin import STYLESHEET

    shipped = {*MODULES, STYLESHEET.rsplit("/", 1)[-1]}  # the live view's files, and the figures' stylesheet
    assert sorted(shipped) == sorted(p.name for p in assets.iterdir())
    for name in MODULES:
        if name.endswith(".js"):
            text = (assets / name).read_text(encoding="utf-8")
            for target in re.findall(r"from '\./([^']+)'", text):
                assert target in MODULES, (name, target)
            assert "innerHTML" not in text and not re.search(r"https?://", text)  # no markup from data, no other host
