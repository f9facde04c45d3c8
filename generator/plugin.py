"""MkDocs plugin: runs the pipeline, adds the figures to the site, resolves shortcodes.

Domain errors (GeneratorError) become one PluginError at this boundary: MkDocs prints a single
line and exits non-zero, with no traceback and before any page is written.
"""

from __future__ import annotations

import html
import logging
import os
import re
import secrets
import shutil
from pathlib import Path

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from generator import interactive
from generator import pages as gen_pages
from generator.build import BuildOutput, run
from generator.catalog import make_spec
from generator.config import BuildConfig, make_build_config
from generator.errors import GeneratorError, ShortcodeError
from generator.export import Exported, run_export
from generator.progress import quiet_bars_when_logged
from generator.shortcodes import Shortcode, ShortcodeErrors, expand
from generator.values import network_table, resolve_value

log = logging.getLogger("mkdocs.plugins.tinyvgg")
FAVICON = "assets/favicon.png"  # mkdocs.yml's theme.favicon and theme.logo point here
# <link rel="alternate" hreflang=...> in a page's head. mkdocs-static-i18n points them at the page's
# translation; Material's JS takes every such link for a language root and fetches sitemap.xml under it
# (e.g. /en/cnn/sitemap.xml: a 404 on every page load). The hreflang alternates are in sitemap.xml.
HREFLANG_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


class TinyVGGConfig(Config):
    # -- what to train on --
    profile = c.Optional(c.Choice(("quick", "full")))
    """'quick' (shapes, seconds) or 'full' (Tiny ImageNet, minutes); default: $TINYVGG_PROFILE or quick."""
    dataset = c.Optional(c.Choice(("shapes", "tiny-imagenet-10", "folder")))
    """Override the profile's dataset: shapes, tiny-imagenet-10 or folder."""
    dataset_path = c.Optional(c.Type(str))
    """tiny-imagenet-10: a local tiny-imagenet-200.zip; folder: an ImageFolder (relative to mkdocs.yml)."""
    # -- training --
    epochs = c.Optional(c.Type(int))
    """Maximum training epochs (early stopping may end sooner)."""
    images_per_class = c.Optional(c.Type(int))
    """shapes only: training images generated per class (default 600); smaller trains faster."""
    seed = c.Type(int, default=0)
    """Seed for data generation, splits, initialisation and shuffling."""
    # -- sample images and figures --
    images = c.ListOfItems(c.Type(str), default=[])
    """Your own images to explain, besides one test image per class (paths relative to mkdocs.yml)."""
    max_samples = c.Type(int, default=0)
    """Explain only the first N classes' test images (0 = one image per class); fewer renders faster."""
    featured = c.Type(str, default="")
    """Slug of the image the chapters feature (default: the first sample image)."""
    detail_images = c.ListOfItems(c.Type(str), default=[])
    """Extra images (slugs) that also get every detailed convolution animation."""
    scale = c.Choice(("layer", "neuron"), default="layer")
    """Activation colour range: shared by the neurons of a 'layer' (comparable) or per 'neuron'."""
    workers = c.Type(int, default=0)
    """Render processes; 0 = one per core."""
    reference_weights = c.Optional(c.Type(str))
    """CNN Explainer's model.json, to quote its accuracy on the same test images (full profile)."""
    # -- cache --
    cache_dir = c.Type(str, default=".cache")
    """Where stage results are kept, relative to mkdocs.yml."""


def build_config(opts: TinyVGGConfig, config_file: str | None) -> BuildConfig:
    """Plugin options -> the pipeline's frozen BuildConfig (ConfigError names the option)."""
    base = Path(config_file).resolve().parent if config_file else Path.cwd()
    return make_build_config(
        base, profile=opts.profile, dataset=opts.dataset, dataset_path=opts.dataset_path, epochs=opts.epochs,
        seed=opts.seed, images=tuple(opts.images), featured=opts.featured, detail_images=tuple(opts.detail_images),
        scale=opts.scale, workers=opts.workers, reference_weights=opts.reference_weights, cache_dir=opts.cache_dir,
        images_per_class=opts.images_per_class, max_samples=opts.max_samples)


def figure_html(entry: dict, src: str, lang: str) -> str:
    """One self-contained line of HTML (safe inside lists, admonitions and tabs)."""
    alt = html.escape(entry["alt"][lang], quote=True)
    cap = html.escape(entry["caption"][lang])
    return (f'<figure class="tv-figure tv-{entry["kind"]}"><img src="{src}" alt="{alt}" loading="lazy" '
            f'width="{entry["width"]}" height="{entry["height"]}"><figcaption>{cap}</figcaption></figure>')


STASHED = {"figure", *gen_pages.HTML_BLOCKS}  # shortcodes whose output is finished HTML


class TinyVGGPlugin(BasePlugin[TinyVGGConfig]):
    supports_multiple_instances = False

    def __init__(self) -> None:
        self.output: BuildOutput | None = None
        self.exported: Exported | None = None  # the model and data of the live view
        self.build_cfg: BuildConfig | None = None
        self.site_url = ""
        # Shortcode output held back from Markdown, per page (see on_page_markdown). The token is random
        # so that no text of a page can look like one; it never reaches the output.
        self._token = f"tvstash{secrets.token_hex(6)}n"
        self._stash: dict[str, list[str]] = {}

    # -- pipeline --------------------------------------------------------------------------------
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.site_url = config.site_url or ""
        quiet_bars_when_logged()
        try:
            cfg = build_config(self.config, config.config_file_path)
            if self.output is None or cfg != self.build_cfg:  # static-i18n re-runs on_config per language
                self.output = run(cfg, progress=True, log=log.info)
                self.exported = run_export(cfg)
                self.build_cfg = cfg
                if self.output.stages_run:
                    log.info("tinyvgg: ran %s in %s", ", ".join(self.output.stages_run),
                             ", ".join(f"{k} {v:.1f} s" for k, v in self.output.timings.items()))
        except GeneratorError as exc:
            raise PluginError(f"tinyvgg: {exc}") from exc
        return config

    def _lang(self, config: MkDocsConfig) -> str:
        i18n = config.plugins.get("i18n")
        lang = getattr(i18n, "current_language", None) or config.theme.get("language") or "en"
        return "zh" if str(lang).startswith("zh") else "en"

    def _default_lang_build(self, config: MkDocsConfig) -> bool:
        i18n = config.plugins.get("i18n")
        return i18n is None or getattr(i18n, "current_language", None) == getattr(i18n, "default_language", None)

    # -- files -----------------------------------------------------------------------------------
    @event_priority(-110)  # after mkdocs-static-i18n (-100), which cannot handle generated files
    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        assert self.output is not None
        lang = self._lang(config)
        if self._default_lang_build(config):  # figures are shared: copy them once, at figures/
            root = self.output.figures_dir
            for entry in self.output.manifest:
                files.append(File.generated(config, f"figures/{entry['file']}", abs_src_path=str(root / entry["file"])))
            files.append(File.generated(config, "figures/manifest.json", abs_src_path=str(root / "manifest.json")))
            interactive.add_files(files, config, self.exported)
            # the favicon and header logo: conv_1_1's strongest kernel, drawn from this build's model
            logo = self.output.figure("model/logo")
            if logo is not None and files.get_file_from_path(FAVICON) is None:
                files.append(File.generated(config, FAVICON, abs_src_path=str(root / logo["file"])))
        explore = gen_pages.explore_pages(self.output.facts, self.output.manifest, lang, config)
        for page in explore:
            files.append(page)
        # mkdocs-static-i18n writes sitemap.xml from the pages it saw in its own on_files, before these
        # were generated: list them there too, or search engines never learn of the explore pages.
        listed = getattr(config.plugins.get("i18n"), "i18n_files_per_language", None)
        if isinstance(listed, dict) and isinstance(listed.get(lang), list):
            listed[lang].extend(explore)
        return files

    # -- shortcodes ------------------------------------------------------------------------------
    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        """Expand the shortcodes. Those that produce finished HTML (figures, the sample grid, the gallery)
        go into Markdown as a short token and come back in on_page_content: Python-Markdown need not
        parse their HTML. An explore page with ~100 figures converts in 9 ms instead of 39 ms."""
        lang = self._lang(config)
        stash: list[str] = []

        def handle(code: Shortcode) -> str:
            out = self.resolve(code, page, lang)
            if code.name not in STASHED:
                return out
            stash.append(out)
            return f"{self._token}{len(stash) - 1}E"

        try:
            markdown = expand(markdown, handle)
        except ShortcodeErrors as exc:
            where = page.file.src_uri
            raise PluginError("tinyvgg: " + "; ".join(f"{where}:{line}: {msg}" for line, msg in exc.errors)) from exc
        self._stash[page.file.src_uri] = stash
        return markdown

    @event_priority(50)  # before glightbox wraps the images and the search plugin reads the page
    def on_page_content(self, content: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        stash = self._stash.pop(page.file.src_uri, None)
        if not stash:
            return content
        # A token alone in its paragraph becomes the block itself (no <p> around a <figure>).
        return re.sub(rf"<p>{self._token}(\d+)E</p>|{self._token}(\d+)E",
                      lambda m: stash[int(m.group(1) or m.group(2))], content)

    def figure_url(self, entry: dict, page: Page) -> str:
        return get_relative_url(f"figures/{entry['file']}", page.url or ".")

    def resolve(self, code: Shortcode, page: Page, lang: str) -> str:
        assert self.output is not None
        facts = self.output.facts
        if code.name == "value":
            return resolve_value(code.arg, code.params, facts, lang)
        if code.name == "table":
            if code.arg != "network" or code.params:
                raise ShortcodeError(f"unknown table {code.arg!r}; known tables: network")
            return network_table(facts, lang)
        if code.name == "figure":
            entry = self.lookup(code.arg, code.params)
            return figure_html(entry, self.figure_url(entry, page), lang)
        if code.name in gen_pages.BLOCKS:
            gen_pages.check_block_args(code)
            return gen_pages.BLOCKS[code.name](self, code, page, lang)
        raise ShortcodeError(f"unknown shortcode {code.name!r}; use figure, value, table or "
                             + ", ".join(gen_pages.BLOCKS))

    def lookup(self, kind: str, params: dict[str, str]) -> dict:
        assert self.output is not None
        facts = self.output.facts
        known = {"image", "layer", "neuron", "hyper"}
        extra = set(params) - known
        if extra:
            raise ShortcodeError(f"unknown parameter {', '.join(sorted(extra))}; "
                                 f"figures take {', '.join(sorted(known))}")
        image = params.get("image", "featured")
        if image == "featured":
            image = facts["featured"]
        slugs = [s["slug"] for s in facts["samples"]]
        if image not in slugs:
            raise ShortcodeError(f"unknown image {image!r}; sample images: featured, {', '.join(slugs)}")
        neuron = params.get("neuron")
        if neuron is not None and not neuron.lstrip("-").isdigit():
            raise ShortcodeError(f"neuron must be an integer (got {neuron!r})")
        spec = make_spec(kind, image=image, layer=params.get("layer"), neuron=None if neuron is None else int(neuron),
                         hyper=params.get("hyper"), num_classes=len(facts["classes"]))
        entry = self.output.figure(spec.id)
        if entry is None:
            raise ShortcodeError(f"figure {spec.id!r} is not rendered by this build (conv-detail animations exist "
                                 f"for the featured image and detail_images only)")
        return entry

    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        """Drop the head's hreflang links (see HREFLANG_LINK); the header's language switcher stays."""
        head, sep, body = output.partition("</head>")
        return HREFLANG_LINK.sub("", head) + sep + body

    # -- after the build -------------------------------------------------------------------------
    def on_post_build(self, config: MkDocsConfig) -> None:
        """Material's language switcher reads sitemap.xml under every language root."""
        site = Path(config.site_dir)
        i18n = config.plugins.get("i18n")
        for lang in getattr(i18n, "build_languages", None) or []:
            if lang == getattr(i18n, "default_language", None):
                continue
            for name in ("sitemap.xml", "sitemap.xml.gz"):
                if (site / name).is_file() and (site / lang).is_dir():
                    tmp = site / lang / f".{name}.tmp"
                    shutil.copyfile(site / name, tmp)
                    os.replace(tmp, site / lang / name)
