"""End-to-end: a small bilingual site built in a temp dir with the tinyvgg plugin.

The small site trains on 600 generated images for one epoch and explains two sample images, so the
cold build takes tens of seconds; everything after it (warm rebuild, error builds) hits its cache.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from PIL import Image
from support import build_env, parse_html, run_mkdocs

from generator.arch import CONV_LAYERS, FILTERS, POOL_LAYERS, RELU_LAYERS, param_counts
from generator.catalog import ACTIVATION_LAYERS, build_catalog, overview_tiles
from generator.config import BuildConfig
from generator.examples import choose_featured
from generator.output import BuildOutput
from generator.records import FigureSpec

pytestmark = pytest.mark.slow

SMALL_URL = "http://127.0.0.1:8765/small/"  # never served: only shapes the sitemaps
LANGS = ("zh", "en")


def mkdocs_yml(cache_dir: Path) -> str:
    """The small site's config: the repository's layout (zh at the root, en/) with a tiny model."""
    return textwrap.dedent(f"""\
        site_name: 小站点
        site_url: !ENV [SITE_URL, "{SMALL_URL}"]
        docs_dir: docs
        theme:
          name: material
          language: zh
          font: false
          palette:  # a dark scheme: the hand-written pages' figures get their dark variants
            - scheme: default
              toggle: {{icon: material/weather-night, name: Dark}}
            - scheme: slate
              toggle: {{icon: material/weather-sunny, name: Light}}
        markdown_extensions:
          - attr_list
          - md_in_html
          - tables
          - pymdownx.superfences
          - pymdownx.tabbed:
              alternate_style: true
        plugins:
          - search
          - i18n:
              docs_structure: folder
              fallback_to_default: false
              reconfigure_material: true
              languages:
                - locale: zh
                  default: true
                  name: 中文
                  build: true
                - locale: en
                  name: English
                  build: true
          - tinyvgg:
              max_samples: 2
              images_per_class: 60
              epochs: 1
              workers: 2
              explore_pages: true
              cache_dir: {json.dumps(str(cache_dir))}
        nav:
          - index.md
          - model.md
        """)


# Marker brackets (ACC[...]) let the test find each value in the HTML; both languages use the same ones.
PAGES = {
    "zh": {
        "index.md": """\
            # 小站点首页

            测试准确率 ACC[{{ value test-accuracy }}]，参数 PARAMS[{{ value param-count }}]。
            类别 CLASSES[{{ value class-names }}]；预测 PRED[{{ value predicted-class }}]。

            {{ figure overview }}

            {{ figure conv-overview layer=conv_1_2 neuron=3 }}
            """,
        "model.md": """\
            # 模型

            {{ table network }}

            偏置 BIAS[{{ value bias layer=conv_1_1 neuron=0 }}]，
            形状 SHAPE[{{ value layer-shape layer=conv_1_1 }}]。

            {{ figure training-curves }}

            {{ figure hyperparameter hyper=stride }}
            """,
    },
    "en": {
        "index.md": """\
            # Small site home

            Test accuracy ACC[{{ value test-accuracy }}], parameters PARAMS[{{ value param-count }}].
            Classes CLASSES[{{ value class-names }}]; predicted PRED[{{ value predicted-class }}].

            {{ figure overview }}

            {{ figure conv-overview layer=conv_1_2 neuron=3 }}
            """,
        "model.md": """\
            # Model

            {{ table network }}

            Bias BIAS[{{ value bias layer=conv_1_1 neuron=0 }}],
            shape SHAPE[{{ value layer-shape layer=conv_1_1 }}].

            {{ figure training-curves }}

            {{ figure hyperparameter hyper=stride }}
            """,
    },
}


def write_docs(project: Path) -> None:
    for lang, pages in PAGES.items():
        for name, text in pages.items():
            path = project / "docs" / lang / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")


@dataclass(frozen=True)
class SmallSite:
    project: Path
    cache: Path
    site: Path
    log: str
    manifest: list[dict]
    facts: dict

    def html(self, rel: str) -> str:
        return (self.site / rel).read_text(encoding="utf-8")


def built_facts(cache: Path) -> dict:
    """The facts the pages quote: the probe stage's, with the featured image (examples.choose_featured)."""
    dirs = [d for d in (cache / "probe").iterdir() if (d / ".complete").is_file()]
    assert len(dirs) == 1, f"expected one probe stage in {cache}, found {dirs}"
    facts = json.loads((dirs[0] / "facts.json").read_text(encoding="utf-8"))
    return {**facts, "featured": choose_featured(facts["samples"])}


# Session scope: pytest-playwright parametrizes some tests with browser_name, and pytest's reordering
# by that parameter would otherwise split this module's tests into two groups and build twice.
@pytest.fixture(scope="session")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> SmallSite:
    project = tmp_path_factory.mktemp("small")
    cache = project / "cache"
    (project / "mkdocs.yml").write_text(mkdocs_yml(cache), encoding="utf-8")
    write_docs(project)
    proc = run_mkdocs(project / "mkdocs.yml", project / "site", SMALL_URL, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"small site build failed (exit {proc.returncode}):\n{proc.stdout}", pytrace=False)
    assert "training TinyVGG" in proc.stdout, proc.stdout  # a cold cache: this build trained the model
    facts = built_facts(cache)
    manifest = json.loads((project / "site" / "figures" / "manifest.json").read_text(encoding="utf-8"))
    return SmallSite(project, cache, project / "site", proc.stdout, manifest["figures"], facts)


def page_files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("index.html") if "search" not in p.parts)


def lang_of(site: Path, page: Path) -> str:
    return "en" if page.relative_to(site).parts[0] == "en" else "zh"


# -- (a) figures, values, manifest ---------------------------------------------------------------


def test_figures_are_injected_with_language_specific_alt_and_caption(small_site: SmallSite) -> None:
    by_file = {e["file"]: e for e in small_site.manifest}
    seen_kinds: dict[str, set[str]] = {lang: set() for lang in LANGS}
    for page in page_files(small_site.site):
        lang = lang_of(small_site.site, page)
        url = "http://site/" + page.relative_to(small_site.site).as_posix()
        text = page.read_text(encoding="utf-8")
        assert 'markdown=""' not in text, f"{page}: a markdown attribute leaked into the HTML"
        assert not re.search(r"<p>(</p>)?<figure", text), f"{page}: a figure inside (or after) a stray <p>"
        assert "tvstash" not in text, f"{page}: a shortcode token was not replaced"
        for fig in parse_html(text).figures:
            # one picture, or the light one and its dark variant (the site's own pages): Material shows
            # the one that fits its colour scheme
            assert len(fig.imgs) in (1, 2), f"{page}: a figure with {len(fig.imgs)} images"
            img = fig.imgs[0]
            target = unquote(urlparse(urljoin(url, img["src"])).path).lstrip("/")
            entry = by_file[target.removeprefix("figures/")]
            assert entry["lang"] in (lang, "any"), f"{page}: a lang: {entry['lang']} figure on a {lang} page"
            if len(fig.imgs) == 2:
                dark = fig.imgs[1]
                assert img["src"].endswith("#only-light") and dark["src"].endswith("#only-dark"), fig.imgs
                dark_target = unquote(urlparse(urljoin(url, dark["src"])).path).lstrip("/")
                assert dark_target == "figures/" + entry["dark"] and (small_site.site / dark_target).is_file()
                assert (small_site.site / dark_target).stat().st_size == entry["dark_bytes"]
                assert dark["alt"] == img["alt"] and (dark["width"], dark["height"]) == (img["width"], img["height"])
            else:
                assert "explore" in page.parts, f"{page}: a figure of the site's own pages without its dark variant"
            assert target.startswith("figures/"), f"{page}: figure src {img['src']} is not under figures/"
            assert (small_site.site / target).is_file(), f"{page}: {img['src']} does not exist"
            assert img["alt"] == entry["alt"][lang] and img["alt"].strip()
            assert fig.caption.strip() == entry["caption"][lang].strip()
            assert img.get("loading") == "lazy"
            assert (img["width"], img["height"]) == (str(entry["width"]), str(entry["height"]))
            seen_kinds[lang].add(entry["kind"])
    # the hand-written pages' figures, in both languages, plus the explore pages' kinds
    for lang in LANGS:
        assert {
            "overview",
            "conv-overview",
            "training-curves",
            "hyperparameter",
            "softmax",
            "activation-grid",
            "relu",
            "pool",
            "flatten",
            "input",
        } <= seen_kinds[lang]
    zh_caps = parse_html(small_site.html("index.html")).figures
    en_caps = parse_html(small_site.html("en/index.html")).figures
    assert len(zh_caps) == len(en_caps) == 2
    assert re.search(r"[\u4e00-\u9fff]", zh_caps[0].caption), "the Chinese page's caption is not Chinese"
    assert zh_caps[0].caption != en_caps[0].caption


def marker(html_text: str, name: str) -> str:
    found = re.findall(rf"{name}\[([^\]]*)\]", html_text)
    assert len(found) == 1, f"{name}[...] found {len(found)} times"
    return found[0]


@pytest.mark.parametrize("lang", LANGS)
def test_values_are_the_models_numbers(small_site: SmallSite, lang: str) -> None:
    facts = small_site.facts
    prefix = "" if lang == "zh" else "en/"
    index = small_site.html(prefix + "index.html")
    model = small_site.html(prefix + "model/index.html")
    assert marker(index, "ACC") == f"{facts['metrics']['test_acc'] * 100:.1f} %"
    assert marker(index, "PARAMS") == f"{sum(param_counts(len(facts['classes'])).values()):,}" == "19,920"
    names = facts["classes_zh"] if lang == "zh" else facts["classes"]
    assert marker(index, "CLASSES") == ("、" if lang == "zh" else ", ").join(names)
    featured = next(s for s in facts["samples"] if s["slug"] == facts["featured"])
    assert marker(index, "PRED") == names[featured["predicted"]]
    assert marker(model, "BIAS") == f"{facts['biases']['conv_1_1'][0]:.3f}"
    assert marker(model, "SHAPE") == "62 × 62 × 10"
    assert "<table>" in model and "<code>max_pool_2</code>" in model and "<strong>19,920</strong>" in model
    assert "{{" not in index and "{{" not in model


def test_manifest_schema_and_completeness(small_site: SmallSite) -> None:
    site, manifest, facts = small_site.site, small_site.manifest, small_site.facts
    required = {
        "id": str,
        "kind": str,
        "file": str,
        "lang": str,
        "bytes": int,
        "width": int,
        "height": int,
        "hash": str,
    }
    nullable = {"image": str, "layer": str, "neuron": int}
    for e in manifest:
        assert set(required) | set(nullable) | {"alt", "caption"} <= set(e), f"missing fields in {e}"
        extra = {"hyper", "stats", "dark", "dark_bytes", "min_text_px"}
        assert set(e) - set(required) - set(nullable) - {"alt", "caption"} <= extra, e
        assert ("stats" in e) == (e["kind"] in ("relu", "pool", "conv-detail", "softmax")), e["id"]
        assert e["lang"] in ("zh", "en", "any")
        if "dark" in e:  # a dark variant is published: it lies beside the figure, the same size
            assert e["dark"] == e["file"].rsplit(".", 1)[0] + ".dark." + e["file"].rsplit(".", 1)[1]
            assert (site / "figures" / e["dark"]).stat().st_size == e["dark_bytes"]
        for key, typ in required.items():
            assert isinstance(e[key], typ), f"{e['id']}: {key} is not {typ.__name__}"
        for key, typ in nullable.items():
            assert e[key] is None or isinstance(e[key], typ), f"{e['id']}: {key}"
        for key in ("alt", "caption"):
            assert set(e[key]) == {"zh", "en"}
            assert all(isinstance(v, str) and v.strip() for v in e[key].values()), f"{e['id']}: {key}"
        assert re.search(r"[\u4e00-\u9fff]", e["alt"]["zh"]), f"{e['id']}: Chinese alt text has no Chinese"
        path = site / "figures" / e["file"]
        data = path.read_bytes()
        assert len(data) == e["bytes"]
        assert hashlib.sha256(data).hexdigest()[:16] == e["hash"]
        with Image.open(path) as im:
            assert im.size == (e["width"], e["height"]), e["id"]
            assert im.format == ("GIF" if e["file"].endswith(".gif") else "PNG")
        assert e["file"].startswith(e["id"] + ".")
    slugs = [s["slug"] for s in facts["samples"]]
    assert len(slugs) == 2  # max_samples: 2
    featured = facts["featured"]
    examples = {s["slug"]: s["examples"] for s in facts["samples"]}  # the ReLU and pool neurons they show
    catalog = {s.id: s for s in build_catalog(slugs, featured, (), len(facts["classes"]), examples)}
    for e in manifest:  # every figure is one of the catalogue's, described as the catalogue does
        spec = catalog[e["id"]]
        assert (e["kind"], e["file"], e["image"], e["layer"], e["neuron"]) == (
            spec.kind,
            spec.file,
            spec.image,
            spec.layer,
            spec.neuron,
        )
    # Only what the pages use (figures: used): the two pages' figures, the logo behind the favicon
    # (mkdocs.yml names none, so no logo) and each explore page's figures; no single activation map.
    ids = [e["id"] for e in manifest]
    assert len(ids) == len(set(ids))
    on_pages = {
        f"{featured}/overview.zh",
        f"{featured}/overview.en",
        f"{featured}/conv/conv_1_2-3",
        "model/training-curves.zh",
        "model/training-curves.en",
        "model/hyperparameter-stride",
    }
    assert on_pages <= set(ids)
    assert not any(e["kind"] == "activation" for e in manifest)
    # two explore pages (PER_IMAGE, below), the featured image's raster overview in both languages and its
    # conv-detail animations, and the three model figures of the pages
    assert len(ids) == 3 + 2 * PER_IMAGE + 2 + len(CONV_LAYERS) * FILTERS
    # the hand-written pages' figures are published with their dark variant, the explore pages' are not
    assert {e["id"] for e in manifest if "dark" in e} == on_pages
    assert sum(i.startswith(f"{featured}/conv-detail/") for i in ids) == len(CONV_LAYERS) * FILTERS
    assert f"rendered {len(ids)} of {len(catalog)} figures (0 from cache)" in small_site.log


# -- (d) sitemaps and explore pages ---------------------------------------------------------------


def test_the_in_page_model_is_published_once_at_the_root(small_site: SmallSite) -> None:
    """The small site's pages show players: the exported model, its sample pixels and the modules are
    in the site, at its root (shared by both languages), and every page that loads them finds them."""
    from generator.interactive import asset_dir

    site = small_site.site
    assert list((site / "live").glob("colors-*.json")) and list((site / "live" / "samples").glob("*.png"))
    assert (site / asset_dir() / "steps.js").is_file() and not (site / "en" / "live").exists()
    found = 0
    for page in page_files(site):
        for src in re.findall(r'"(?:model|colors|src)":"([^"]+\.(?:json|png))"', page.read_text(encoding="utf-8")):
            assert (page.parent / unquote(src)).resolve().is_file(), (page, src)
            found += 1
    assert found, "no page names the in-page model"


def test_the_in_page_model_comes_with_the_first_page_that_shows_it(small_site: SmallSite, tmp_path: Path) -> None:
    """Only an English page shows a player: the model is exported during the English build and published at
    the site's root all the same."""
    from generator.interactive import asset_dir

    for lang, body in (("zh", "{{ figure input }}"), ("en", "{{ figure conv-overview layer=conv_1_1 neuron=0 }}")):
        for name in ("index.md", "model.md"):
            page = tmp_path / "project" / "docs" / lang / name
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(f"# {lang} {name}\n\n{body}\n", encoding="utf-8")
    cache = tmp_path / "cache"
    shutil.copytree(small_site.cache, cache, ignore=shutil.ignore_patterns("build.lock"))
    config = mkdocs_yml(cache).replace("explore_pages: true", "explore_pages: false")  # (they show players)
    (tmp_path / "project" / "mkdocs.yml").write_text(config, encoding="utf-8")
    proc = run_mkdocs(tmp_path / "project" / "mkdocs.yml", tmp_path / "site", SMALL_URL, timeout=600)
    assert proc.returncode == 0, proc.stdout
    site = tmp_path / "site"
    page = (site / "en" / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'"(?:model|colors|src)":"([^"]+\.(?:json|png))"', page)
    assert sources and all((site / "en" / unquote(src)).resolve().is_file() for src in sources), sources
    assert (site / asset_dir() / "steps.js").is_file()
    assert "steps.js" not in (site / "index.html").read_text(encoding="utf-8")  # the Chinese page has no player


def test_sitemap_per_language(small_site: SmallSite) -> None:
    for rel in ("sitemap.xml", "en/sitemap.xml"):
        tree = ET.parse(small_site.site / rel)
        locs = [el.text for el in tree.iter() if el.tag.endswith("loc")]
        assert locs and all(loc.startswith(SMALL_URL) for loc in locs), rel
    root = small_site.site
    assert (root / "en" / "sitemap.xml").read_bytes() == (root / "sitemap.xml").read_bytes()
    locs = set(locs)
    for sample in small_site.facts["samples"]:  # the generated explore pages, in both languages
        for prefix in ("", "en/"):
            assert f"{SMALL_URL}{prefix}explore/{sample['slug']}/" in locs, (prefix, sample["slug"])


def test_explore_page_per_sample_in_both_languages(small_site: SmallSite) -> None:
    facts = small_site.facts
    for i, sample in enumerate(facts["samples"]):
        for lang, prefix in (("zh", ""), ("en", "en/")):
            page = small_site.site / prefix / "explore" / sample["slug"] / "index.html"
            assert page.is_file(), f"missing {page}"
            text = page.read_text(encoding="utf-8")
            names = facts["classes_zh"] if lang == "zh" else facts["classes"]
            title = ("探索：" if lang == "zh" else "Explore: ") + names[sample["label"]]
            assert f">{title}<" in text, f"{page}: no heading {title!r}"
            figs = parse_html(text).figures
            assert len(figs) > 40 and all(f.imgs for f in figs)
            want_detail = sample["slug"] == facts["featured"]
            has_detail = any("/conv-detail/" in f.imgs[0]["src"] for f in figs)
            assert has_detail == want_detail, f"{page}: conv-detail only for the featured image ({i})"


# -- (b) warm rebuild ---------------------------------------------------------------------------------

WARM_SCRIPT = """\
import logging, sys, time
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
from mkdocs.commands.build import build
from mkdocs.config import load_config
t = time.perf_counter()
build(load_config(config_file=sys.argv[1], site_dir=sys.argv[2], strict=True))
print(f"WARM BUILD {time.perf_counter() - t:.1f} s")
assert "torch" not in sys.modules, "the warm build imported torch"
print("TORCH NOT IMPORTED")
"""


def warm_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """WARM_SCRIPT in a subprocess: the build's log, then whether it imported torch."""
    cmd = [sys.executable, "-c", WARM_SCRIPT, str(config), str(site)]
    env = build_env(SMALL_URL)
    return subprocess.run(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False
    )


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.name != "build.lock"
    }


def test_warm_rebuild_after_a_markdown_edit_trains_nothing_and_never_imports_torch(
    small_site: SmallSite, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(small_site.project / "docs", project / "docs")
    (project / "mkdocs.yml").write_text(mkdocs_yml(small_site.cache), encoding="utf-8")
    page = project / "docs" / "en" / "model.md"
    edited = page.read_text(encoding="utf-8") + "\nAn edited sentence, EDITED-WARM.\n"
    page.write_text(edited, encoding="utf-8")
    before = snapshot(small_site.cache)
    proc = warm_build(project / "mkdocs.yml", tmp_path / "site")
    for word in ("training TinyVGG", "tinyvgg: ran", "render:"):
        assert word not in proc.stdout, f"the warm build ran a stage ({word!r}):\n{proc.stdout}"
    done = re.search(r"tinyvgg: rendered (\d+) of \d+ figures \((\d+) from cache\)", proc.stdout)
    assert done and done.group(1) == done.group(2), f"a text edit rendered figures:\n{proc.stdout}"
    assert proc.returncode == 0, proc.stdout
    assert "TORCH NOT IMPORTED" in proc.stdout
    assert snapshot(small_site.cache) == before, "the warm build changed the cache"
    assert "EDITED-WARM" in (tmp_path / "site" / "en" / "model" / "index.html").read_text(encoding="utf-8")
    assert (tmp_path / "site" / "figures" / "manifest.json").read_bytes() == (
        small_site.site / "figures" / "manifest.json"
    ).read_bytes()


# -- (c) shortcode errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "page", "line", "bad"),
    [
        ("zh", "index.md", 4, "{{ figure no-such-kind }}"),
        ("en", "model.md", 3, "{{ value no-such-value }}"),
        ("zh", "model.md", 5, "{{ figure overview colour=red }}"),
        ("en", "index.md", 6, "{{ value test-accuracy layer=conv_1_1 }}"),
    ],
)
def test_unknown_shortcode_fails_with_one_line_naming_page_and_line(
    small_site: SmallSite, tmp_path: Path, lang: str, page: str, line: int, bad: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(small_site.project / "docs", project / "docs")
    (project / "mkdocs.yml").write_text(mkdocs_yml(small_site.cache), encoding="utf-8")
    path = project / "docs" / lang / page
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(line - 1, f"Broken: {bad}")
    path.write_text("\n".join(lines), encoding="utf-8")
    proc = run_mkdocs(project / "mkdocs.yml", tmp_path / "site", SMALL_URL, timeout=300)
    out = proc.stdout
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    where = f"{lang}/{page}:{line}:"
    naming = [ln for ln in out.splitlines() if where in ln]
    assert len(naming) == 1, f"expected one line naming {where}:\n{out}"
    assert bad in naming[0] and "tinyvgg" in naming[0]
    # The default language (zh, at the root) is built first: an error there leaves no page at all. An
    # error in an English page comes after the Chinese site was written, but no English page is.
    if lang == "zh":
        assert not (tmp_path / "site" / "index.html").exists()
    english = sorted(p.relative_to(tmp_path / "site") for p in (tmp_path / "site" / "en").rglob("*.html"))
    assert english == [], f"a failing build wrote {english}"


def test_build_log_is_quiet(small_site: SmallSite) -> None:
    """A clean build prints no warnings (it ran with --strict, which would fail on one)."""
    assert "WARNING" not in small_site.log, small_site.log


# -- (e) one cache entry per figure: what each kind of change renders ----------------------------------

# An explore page's figures: input, flatten, softmax, the activation grids, the conv animations, ReLU,
# pooling, and its HTML overview's tiles and photo (the raster overview is the featured image's only).
PER_IMAGE = 3 + len(ACTIVATION_LAYERS) + len(CONV_LAYERS) * FILTERS + len(RELU_LAYERS) + len(POOL_LAYERS)
PER_IMAGE += 3  # flatten, softmax and the output layer's grid: in Chinese and in English
PER_IMAGE += len(overview_tiles("any")) + 1  # the overview's tiles and photo


def renders(log: str) -> tuple[int, int]:
    """(figures drawn by the build, figures the site uses) from the plugin's one INFO line."""
    lines = re.findall(r"tinyvgg: rendered (\d+) of \d+ figures \((\d+) from cache\)", log)
    assert len(lines) == 1, log
    used, cached = map(int, lines[0])
    return used - cached, used


def rebuild(
    small_site: SmallSite,
    tmp_path: Path,
    options: str = "",
    docs: bool = True,
    cache: Path | None = None,
    in_process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """The small site again, on a copy of its cache, with extra plugin options. `in_process`: built by
    WARM_SCRIPT, which also says whether torch was imported."""
    project = tmp_path / "project"
    if docs:
        shutil.copytree(small_site.project / "docs", project / "docs")
    if cache is None:
        cache = tmp_path / "cache"
        shutil.copytree(small_site.cache, cache, ignore=shutil.ignore_patterns("build.lock"))
    config = mkdocs_yml(cache).replace(
        "      explore_pages: true\n", "      explore_pages: true\n" + textwrap.indent(options, " " * 6)
    )
    assert options in config.replace("      ", "") or not options
    project.mkdir(exist_ok=True)
    (project / "mkdocs.yml").write_text(config, encoding="utf-8")
    if in_process:
        return warm_build(project / "mkdocs.yml", tmp_path / "site")
    return run_mkdocs(project / "mkdocs.yml", tmp_path / "site", SMALL_URL, timeout=600)


def test_a_new_image_renders_only_its_own_figures(small_site: SmallSite, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    Image.new("RGB", (80, 60), (200, 30, 60)).save(tmp_path / "project" / "my photo.png")
    proc = rebuild(small_site, tmp_path, 'images: ["my photo.png"]\n', in_process=True)
    assert proc.returncode == 0, proc.stdout
    assert "TORCH NOT IMPORTED" in proc.stdout  # the image is probed by NumPy (generator/inference.py)
    drawn, used = renders(proc.stdout)
    assert drawn == PER_IMAGE, proc.stdout  # its explore page's figures, nothing else
    assert used == len(small_site.manifest) + PER_IMAGE
    assert (tmp_path / "site" / "figures" / "my-photo" / "flatten.zh.png").is_file()
    assert (tmp_path / "site" / "figures" / "my-photo" / "flatten.en.png").is_file()
    assert (tmp_path / "site" / "figures" / "my-photo" / "tiles" / "conv_1_1-0.png").is_file()
    # Its English figures were drawn while the Chinese pages were built, and published all the same:
    # every figure the manifest lists is there, as a link to its cache entry.
    manifest = json.loads((tmp_path / "site" / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["figures"]) == used
    for entry in manifest["figures"]:
        for name in (entry["file"], entry.get("dark")):
            if name:
                assert (tmp_path / "site" / "figures" / name).stat().st_nlink >= 2, name


def test_changing_featured_renders_only_the_detail_animations(small_site: SmallSite, tmp_path: Path) -> None:
    other = small_site.facts["samples"][1]["slug"]
    proc = rebuild(small_site, tmp_path, f"featured: {other}\n")
    assert proc.returncode == 0, proc.stdout
    drawn, _ = renders(proc.stdout)
    # its conv-detail animations, and its raster overview in both languages (the HTML overview links the
    # featured image's raster only): nothing else
    assert drawn == len(CONV_LAYERS) * FILTERS + 2, proc.stdout
    manifest = json.loads((tmp_path / "site" / "figures" / "manifest.json").read_text(encoding="utf-8"))
    details = {e["image"] for e in manifest["figures"] if e["kind"] == "conv-detail"}
    assert details == {other}
    assert {e["image"] for e in manifest["figures"] if e["kind"] == "overview"} == {other}


def _small_build_output(small_site: SmallSite, cache: Path) -> tuple[BuildConfig, BuildOutput, list[FigureSpec]]:
    """The small site's model stages from a copy of its cache, with no figure cached."""
    from generator.build import catalog, prepare
    from generator.config import make_build_config

    shutil.copytree(small_site.cache, cache, ignore=shutil.ignore_patterns("build.lock", "figure"))
    cfg = make_build_config(
        small_site.project, images_per_class=60, epochs=1, workers=2, max_samples=2, cache_dir=str(cache)
    )
    out = prepare(cfg, progress=False, log=lambda message: None)
    assert not out.stages_run  # the small site's model, found in the copied cache
    return cfg, out, catalog(cfg, out)


def test_later_languages_are_drawn_last_and_added_when_finished(small_site: SmallSite, tmp_path: Path) -> None:
    """build.render(later={"en"}) returns once the other figures are stored; the English ones are drawn
    meanwhile (the site builds its Chinese pages) and build.finish adds them."""
    import multiprocessing

    from generator.build import finish, render
    from generator.cache import Cache

    cfg, out, everything = _small_build_output(small_site, tmp_path / "cache")
    zh = [s for s in everything if s.lang == "zh"][:4]
    en = [s for s in everything if s.lang == "en"][:4]
    neutral = [s for s in everything if s.lang == "any"][:4]  # 12 figures: the worker pool, not one process
    drawn, cached = render(cfg, out, en + zh + neutral, progress=False, log=lambda m: None, dark=(), later={"en"})
    assert (drawn, cached) == (8, 0)
    assert out.pending is not None
    assert {e["id"] for e in out.manifest} == {s.id for s in zh + neutral}  # in the order asked, English missing
    assert finish(out) == 4 and out.pending is None
    assert [e["id"] for e in out.manifest] == [s.id for s in zh + neutral + en]
    assert out.rendered == 12 and finish(out) == 0
    assert not multiprocessing.active_children()  # all in: the workers were let go
    store = Cache(tmp_path / "cache")
    for spec in en:
        assert out.paths[spec.id].is_file() and store.get("figure", out.paths[spec.id].parent.name) is not None


def test_a_dark_variant_is_promised_at_once_and_its_file_comes_with_finish(
    small_site: SmallSite, tmp_path: Path
) -> None:
    """A chapter figure whose light picture is cached (from an explore page) needs only its dark variant:
    with files_later its entry is in the output at once (the pages can use it) and finish(files_only=True)
    writes the files before MkDocs copies them."""
    from generator.build import finish, render
    from generator.catalog import MPL_KINDS

    cfg, out, everything = _small_build_output(small_site, tmp_path / "cache")
    spec = next(s for s in everything if s.kind in MPL_KINDS and s.lang == "zh")
    render(cfg, out, [spec], progress=False, log=lambda m: None, dark=())  # the light picture alone
    light = out.figure(spec.id)
    assert light is not None and "dark" not in light
    out2 = BuildOutput(facts=out.facts, train_dir=out.train_dir, probe_files=out.probe_files, keys=out.keys)
    drawn, cached = render(cfg, out2, [spec], progress=False, log=lambda m: None, dark={spec.id}, files_later=True)
    assert (drawn, cached) == (0, 0) and out2.pending is not None
    promised = out2.figure(spec.id)
    assert promised is not None and promised["dark"] and promised["dark_bytes"] == 0
    assert promised["hash"] == light["hash"]  # the cached light picture's
    assert finish(out2, files_only=True) == 1 and out2.pending is None
    assert out2.figure(spec.id) is promised and promised["dark_bytes"] > 0  # completed in place
    assert out2.dark_paths[spec.id].stat().st_size == promised["dark_bytes"]
    assert out2.paths[spec.id].read_bytes() == out.paths[spec.id].read_bytes()


def test_a_failed_build_drops_the_figures_left_drawing(small_site: SmallSite, tmp_path: Path) -> None:
    import multiprocessing

    from generator.build import abandon, render

    cfg, out, everything = _small_build_output(small_site, tmp_path / "cache")
    zh = [s for s in everything if s.lang == "zh"][:2]
    en = [s for s in everything if s.lang == "en"][:10]
    render(cfg, out, zh + en, progress=False, log=lambda m: None, dark=(), later={"en"})
    assert out.pending is not None
    abandon(out)
    assert out.pending is None and not multiprocessing.active_children()  # the workers are gone
    assert {e["id"] for e in out.manifest} == {s.id for s in zh}
    entries = [d for d in (tmp_path / "cache" / "figure").iterdir() if d.is_dir()]
    assert len(entries) == 2 and not list((tmp_path / "cache").rglob(".tmp-*"))  # nothing half-written


def test_deleting_one_cached_figure_renders_one(small_site: SmallSite, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(small_site.cache, cache, ignore=shutil.ignore_patterns("build.lock"))
    victim = next(d for d in sorted((cache / "figure").iterdir()) if (d / "figure.gif").is_file())
    (victim / "figure.gif").unlink()
    proc = rebuild(small_site, tmp_path, cache=cache)
    assert proc.returncode == 0, proc.stdout
    assert renders(proc.stdout)[0] == 1
    assert "is damaged (figure.gif is missing)" in proc.stdout


def test_published_figures_are_links_to_verified_cache_entries(small_site: SmallSite, tmp_path: Path) -> None:
    """The site's figure files are hard links to their cache entries (no copying on every build). Editing
    one in place therefore edits the entry too: the next build finds it damaged and draws it again."""
    cache = tmp_path / "cache"
    shutil.copytree(small_site.cache, cache, ignore=shutil.ignore_patterns("build.lock"))
    proc = rebuild(small_site, tmp_path, cache=cache)
    assert proc.returncode == 0, proc.stdout
    assert renders(proc.stdout)[0] == 0
    manifest = json.loads((tmp_path / "site" / "figures" / "manifest.json").read_text(encoding="utf-8"))
    published = tmp_path / "site" / "figures" / manifest["figures"][0]["file"]
    entries = {p.stat().st_ino: p for p in (cache / "figure").rglob("figure.*")}
    assert published.stat().st_ino in entries and published.stat().st_nlink == 2
    with published.open("r+b") as fh:  # an in-place edit, as an image optimiser might make
        fh.seek(0, 2)
        fh.write(b"appended")
    again = rebuild(small_site, tmp_path / "again", cache=cache)
    assert again.returncode == 0, again.stdout
    assert renders(again.stdout)[0] == 1
    assert "is damaged" in again.stdout


def test_a_site_that_uses_two_figures_writes_two(small_site: SmallSite, tmp_path: Path) -> None:
    """Another author's site: no i18n, no explore pages, one page with two figures, a cold figure cache
    (the trained model is cached, as it would be after the first build)."""
    cache = tmp_path / "cache"
    for stage in ("train", "probe"):
        shutil.copytree(small_site.cache / stage, cache / stage)
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "index.md").write_text(
        "# Two figures\n\n{{ figure input }}\n\n{{ figure kernels layer=conv_1_1 }}\n", encoding="utf-8"
    )
    (project / "mkdocs.yml").write_text(
        textwrap.dedent(f"""\
        site_name: Two figures
        theme:
          name: material
          font: false
        plugins:
          - tinyvgg:
              max_samples: 2
              images_per_class: 60
              epochs: 1
              cache_dir: {json.dumps(str(cache))}
        """),
        encoding="utf-8",
    )
    proc = run_mkdocs(project / "mkdocs.yml", tmp_path / "site", SMALL_URL, timeout=600)
    assert proc.returncode == 0, proc.stdout
    assert renders(proc.stdout) == (2, 2)
    written = sorted(
        p.relative_to(tmp_path / "site" / "figures").as_posix()
        for p in (tmp_path / "site" / "figures").rglob("*")
        if p.is_file()
    )
    featured = small_site.facts["featured"]
    # kernels: in the theme's language (Material's default, en); no dark variants without a dark scheme
    assert written == sorted([f"{featured}/input.png", "manifest.json", "model/kernels-conv_1_1.en.png"])
    assert not (tmp_path / "site" / "explore").exists()
    # no page shows the live view or a player: no exported model, sample pixels or modules either
    assert not (tmp_path / "site" / "live").exists() and not (tmp_path / "site" / "model").exists()
    assert not (tmp_path / "site" / "assets" / "tinyvgg").exists()
    assert not (cache / "export").exists()  # the export stage did not even run
