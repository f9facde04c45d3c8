"""MkDocs plugin: runs the pipeline, adds the figures to the site, resolves shortcodes.

Domain errors (GeneratorError) become one PluginError at this boundary: MkDocs prints a single
line and exits non-zero, with no traceback and before any page is written.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment
from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from generator import i18n, interactive, legible, site_checks, steps, templates
from generator import pages as gen_pages
from generator.build import abandon, catalog, finish, prepare, render
from generator.cache import atomic_write
from generator.config import DEFAULT_CACHE_DIR, OPTIONS, BuildConfig, Option, from_options
from generator.errors import GeneratorError, ShortcodeError
from generator.export import Exported, export_stage
from generator.markup import Html, el
from generator.output import BuildOutput, ManifestEntry
from generator.progress import bars_wanted, quiet_bars_when_logged
from generator.records import FigureSpec
from generator.shortcodes import Shortcode, ShortcodeErrors, expand
from generator.usage import SiteFigures, used_specs
from generator.values import network_table, resolve_value

log = logging.getLogger("mkdocs.plugins.tinyvgg")
FAVICON = "assets/favicon.png"  # mkdocs.yml's theme.favicon and theme.logo point here
STYLESHEET = "assets/tinyvgg.css"  # the figure grids' rules, added to every site (package data)
STYLESHEET_SRC = Path(__file__).resolve().parent / "assets" / "tinyvgg.css"


def _config_option(opt: Option) -> c.BaseConfigOption:
    """One pipeline option (config.OPTIONS) as a MkDocs config option: the same type, default and choices."""
    if opt.type is list:
        return c.ListOfItems(c.Type(str), default=list(opt.default or ()))
    item = c.Choice(opt.choices, default=opt.default) if opt.choices else c.Type(opt.type, default=opt.default)
    return c.Optional(item) if opt.default is None else item


# The pipeline's options, made from the table the command line's flags are made from too.
_PipelineConfig = type("_PipelineConfig", (Config,), {o.name: _config_option(o) for o in OPTIONS})


class TinyVGGConfig(_PipelineConfig):  # type: ignore[misc,valid-type]  # (a base made from config.OPTIONS)
    """config.OPTIONS (profile, dataset, ..., reference_weights), and the options of the site alone."""

    explore_pages = c.Type(bool, default=False)
    """Generate one explore page per sample image (explore/<slug>/); they use pymdownx.tabbed."""
    figures = c.Choice(("used", "all"), default="used")
    """'used': render only the figures the pages show; 'all': every figure of the catalogue (for embedding)."""
    # -- cache --
    cache_dir = c.Type(str, default=DEFAULT_CACHE_DIR)
    """Where stage results are kept, relative to mkdocs.yml (Material's .cache/plugin/<name> convention)."""


class LinkedFile(File):
    """A figure from the cache, published as a hard link to its cache entry instead of a copy: ~2,000
    figure files cost no copying on every build. Where links are impossible (another filesystem, a cache
    that refuses them) it is copied as usual. An edit to the published file in place would also edit the
    cache entry, which the cache's sha256 check then reports as damaged and renders again."""

    def copy_file(self, dirty: bool = False) -> None:
        assert self.abs_src_path is not None
        if not link(self.abs_src_path, self.abs_dest_path):
            super().copy_file(dirty)


def link(src: str, dest: str) -> bool:
    """Publish src at dest as a hard link (replacing what was there); False where links are refused."""
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if os.path.samefile(src, dest):
                return True
            os.unlink(dest)
        os.link(src, dest)
    except OSError as exc:
        if exc.errno not in LINK_REFUSED:
            raise
        return False
    return True


def publish(src: Path, dest: Path) -> None:
    """A file put into the site after MkDocs' own copying (a later language's figures, late figures):
    linked like LinkedFile, copied where links are refused."""
    if not link(str(src), str(dest)):
        shutil.copyfile(src, dest)


# link(2) failures that mean "copy instead": another filesystem, no hard links there, too many links.
LINK_REFUSED = (errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EROFS)


def build_config(opts: TinyVGGConfig, config_file: str | None) -> BuildConfig:
    """Plugin options -> the pipeline's frozen BuildConfig (ConfigError names the option)."""
    base = Path(config_file).resolve().parent if config_file else Path.cwd()
    return from_options(base, opts, cache_dir=opts.cache_dir)


def figure_html(entry: ManifestEntry, src: str, lang: str, dark_src: str | None = None) -> Html:
    """One self-contained line of HTML (safe inside lists, admonitions and tabs). With `dark_src`, two
    pictures: Material shows `#only-light` in its light scheme (and to readers without JavaScript, and in
    print) and `#only-dark` in its slate scheme. A figure with text keeps a legible width (legible.py)."""
    legibility, style = legible.figure_attrs(entry)
    attrs = {"alt": entry["alt"][lang], "loading": "lazy", "width": entry["width"], "height": entry["height"]}
    pictures = gen_pages.themed_imgs(src, dark_src, attrs)
    return el(
        "figure",
        {"class": f"tv-figure tv-{entry['kind']} {legibility}", "style": style, **steps.figure_attrs(entry)},
        *pictures,
        el("figcaption", None, entry["caption"][lang]),
        el("p", {"class": "tv-scroll-hint"}, legible.HINT[lang]) if legible.scrolls_on_phone(entry) else "",
    )


SHORTCODES = frozenset({"figure", "value", "table", *gen_pages.BLOCKS})
STASHED = {"figure", *gen_pages.HTML_BLOCKS}  # shortcodes whose output is finished HTML


def _compile_theme(config: MkDocsConfig, cache_dir: Path | str) -> None:
    """While the model trains: compile the templates MkDocs will render (the page template, the theme's
    static ones and what they name) into the shared cache that on_env gives the build's environment."""
    env = templates.share_compiled_templates(config.theme.get_env(), Path(cache_dir))
    templates.precompile(env, ["main.html", *config.theme.static_templates])


class TinyVGGPlugin(BasePlugin[TinyVGGConfig]):
    supports_multiple_instances = False

    def __init__(self) -> None:
        self.output: BuildOutput | None = None
        self.exported: Exported | None = None  # the model and data of the live view
        self.build_cfg: BuildConfig | None = None
        self.figs: SiteFigures | None = None
        self.site_url = ""
        self.site_root: Path | None = None  # the default language's site_dir, where figures/ goes
        # Shortcode output held back from Markdown, per page (see on_page_markdown). The token is random
        # so that no text of a page can look like one; it never reaches the output.
        self._token = f"tvstash{secrets.token_hex(6)}n"
        self._stash: dict[str, list[str]] = {}
        self.bars = True  # progress bars (not under `mkdocs build -q`)
        self._export_asked = False  # a page of this build shows the live view or a player
        self._exported_here = False  # the in-page model's files are in this build's site
        self._published: set[str] = set()  # figure ids whose files are under figures/ (or in the file list)

    # -- pipeline --------------------------------------------------------------------------------
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.site_url = config.site_url or ""
        quiet_bars_when_logged()
        self.bars = bars_wanted(log)
        if not STYLESHEET_SRC.is_file():
            raise PluginError(
                f"tinyvgg: {STYLESHEET_SRC} is missing: the package was installed without its data "
                "files; reinstall it (pip install --force-reinstall)"
            )
        if STYLESHEET not in config.extra_css:  # before the site's own stylesheets, which may override it
            config.extra_css.insert(0, STYLESHEET)
        try:
            site_checks.check_plugin_order(config, self)
            if self.config.explore_pages:
                site_checks.check_explore_extensions(config)
            cfg = build_config(self.config, config.config_file_path)
            if self.output is None or cfg != self.build_cfg:  # static-i18n re-runs on_config per language
                self.output = prepare(
                    cfg, progress=self.bars, log=log.info, meanwhile=lambda: _compile_theme(config, cfg.cache_dir)
                )
                self.exported = None  # made when a page first shows the live view or a player (_export)
                self.build_cfg = cfg
                self.site_root = Path(config.site_dir)
                self.figs = SiteFigures(
                    self.output,
                    self.site_url,
                    cfg.render.detail_images,
                    self._render_late,
                    explore_pages=self.config.explore_pages,
                    lang_prefix=lambda lang: i18n.lang_prefix(config, lang),
                    export=self._export,
                    scale=cfg.render.scale,
                )
                if self.output.stages_run:
                    log.info(
                        "tinyvgg: ran %s in %s",
                        ", ".join(self.output.stages_run),
                        ", ".join(f"{k} {v:.1f} s" for k, v in self.output.timings.items()),
                    )
        except GeneratorError as exc:
            raise PluginError(f"tinyvgg: {exc}") from exc
        return config

    def _export(self) -> Exported:
        """The in-page model (export stage), made once, when a page first needs it; on_env publishes it."""
        self._export_asked = True
        if self.exported is None:
            assert self.output is not None
            assert self.build_cfg is not None
            out = self.output
            try:
                self.exported = export_stage(
                    Path(self.build_cfg.cache_dir), out.train_dir, out.keys.train, out.probe_files
                )
            except GeneratorError as exc:
                raise PluginError(f"tinyvgg: {exc}") from exc
        return self.exported

    def on_serve(
        self, server: LiveReloadServer, config: MkDocsConfig, builder: Callable[..., object]
    ) -> LiveReloadServer:
        """`mkdocs serve` rebuilds when one of the images listed in `images:` changes."""
        if self.build_cfg is not None:
            for path in self.build_cfg.images:
                server.watch(str(path))
        return server

    # -- figures ---------------------------------------------------------------------------------
    def _render_used(self, config: MkDocsConfig) -> None:
        """Render (or take from the cache) every figure the pages use, in one parallel batch."""
        assert self.output is not None
        assert self.build_cfg is not None
        cfg, out = self.build_cfg, self.output
        everything = catalog(cfg, out)
        # The Markdown pages by language: a figure with words is rendered in the languages that use it.
        docs = Path(config.docs_dir)
        texts: dict[str, list[str]] = {}
        for path in sorted(docs.rglob("*.md")):
            lang = i18n.doc_lang(config, path.relative_to(docs).as_posix())
            texts.setdefault(lang, []).append(path.read_text(encoding="utf-8", errors="replace"))
        # The figures of the site's own pages (not the generated explore pages, nor the gallery) also get
        # their dark variant published: dark variants of every figure would not fit the size budget.
        known, details = SHORTCODES, cfg.render.detail_images
        assert self.figs is not None
        self.figs.dark = {
            s.id for lang, group in texts.items() for s in used_specs(group, out.facts, details, known, lang, False)
        }
        if not i18n.has_dark_scheme(config):  # a theme without a dark scheme would never show them
            self.figs.dark = set()
        if self.config.figures == "all":
            specs = everything
        else:
            detailed = {out.facts["featured"], *cfg.render.detail_images}
            if self.config.explore_pages:
                for lang in gen_pages.LANGS:
                    texts.setdefault(lang, []).extend(
                        gen_pages.explore_markdown(out.facts, detailed, s["slug"], lang) for s in out.facts["samples"]
                    )
            explore = self.config.explore_pages
            specs = [
                s
                for lang, group in texts.items()
                for s in used_specs(group, out.facts, details, known, lang, explore_pages=explore)
            ]
            if self._wants_logo(config):
                specs += [s for s in everything if s.kind == "logo"]
            specs = list({spec.id: spec for spec in specs}.values())  # the gallery may hold the logo too
        started = time.perf_counter()
        # What this language's pages do not read goes on drawing while they are built: the figures only the
        # other languages' pages show (mkdocs-static-i18n builds those afterwards: on_files of their build
        # waits for them), and dark variants whose entry the cache knows already (on_env waits for their
        # files, which MkDocs copies after the pages).
        later = i18n.later_languages(config)
        try:
            _, cached = render(
                cfg, out, specs, progress=self.bars, log=log.info, dark=self.figs.dark, later=later, files_later=True
            )
        except GeneratorError as exc:
            raise PluginError(f"tinyvgg: {exc}") from exc
        log.info(
            "tinyvgg: rendered %d of %d figures (%d from cache) in %.1f s",
            len(specs),
            len(everything),
            cached,
            time.perf_counter() - started,
        )

    @staticmethod
    def _wants_logo(config: MkDocsConfig) -> bool:
        """The theme's favicon or logo is our generated one, and the docs do not bring their own."""
        named = FAVICON in (config.theme.get("favicon"), config.theme.get("logo"))
        return named and not (Path(config.docs_dir) / FAVICON).is_file()

    def _render_late(self, spec: FigureSpec) -> None:
        """A figure the scan did not foresee (a page made by another plugin): rendered when first used."""
        assert self.output is not None
        assert self.build_cfg is not None
        self._finish_drawing()
        render(self.build_cfg, self.output, [spec], progress=False, log=log.info, dark=())

    def _finish_drawing(self) -> None:
        """Wait for the figures left drawing for a later language (render's `later`) and publish them
        under figures/ beside the others: the default build's file list has gone by."""
        if self.output is None or self.output.pending is None:
            return
        try:
            finish(self.output)
        except GeneratorError as exc:
            raise PluginError(f"tinyvgg: {exc}") from exc
        assert self.site_root is not None
        assert self.figs is not None
        for entry in self.output.manifest:
            if entry["id"] in self._published:
                continue
            self._published.add(entry["id"])
            sources = [(entry["file"], self.output.paths[entry["id"]])]
            if "dark" in entry and entry["id"] in self.figs.dark and entry["id"] in self.output.dark_paths:
                sources.append((entry["dark"], self.output.dark_paths[entry["id"]]))
            for name, src in sources:
                dest = self.site_root / "figures" / name
                publish(src, dest)

    # -- files -----------------------------------------------------------------------------------
    @event_priority(-110)  # after mkdocs-static-i18n (-100), which cannot handle generated files
    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        assert self.output is not None
        assert self.build_cfg is not None
        assert self.figs is not None
        lang = i18n.page_lang(config)
        if files.get_file_from_path(STYLESHEET) is None:  # a docs/assets/tinyvgg.css of the site's own wins
            files.append(File.generated(config, STYLESHEET, abs_src_path=str(STYLESHEET_SRC)))
        if i18n.is_default_build(config):  # figures are shared: copy them once, at figures/
            self._render_used(config)
            self._published = {entry["id"] for entry in self.output.manifest}
            self._export_asked = self._exported_here = False  # (a plugin instance lives on in `mkdocs serve`)
            for entry in self.output.manifest:
                files.append(
                    LinkedFile.generated(
                        config, f"figures/{entry['file']}", abs_src_path=str(self.output.paths[entry["id"]])
                    )
                )
                if "dark" in entry and entry["id"] in self.figs.dark and entry["id"] in self.output.dark_paths:
                    dark = str(self.output.dark_paths[entry["id"]])
                    files.append(LinkedFile.generated(config, f"figures/{entry['dark']}", abs_src_path=dark))
            # the favicon and header logo: conv_1_1's strongest kernel, drawn from this build's model
            logo = self.output.figure("model/logo")
            if logo is not None and self._wants_logo(config) and files.get_file_from_path(FAVICON) is None:
                files.append(File.generated(config, FAVICON, abs_src_path=str(self.output.paths[logo["id"]])))
        else:
            self._finish_drawing()  # this language's figures, drawn while the first language was built
        if not self.config.explore_pages:
            return files
        detailed = {self.output.facts["featured"], *self.build_cfg.render.detail_images}
        explore = gen_pages.explore_pages(self.output.facts, detailed, lang, config)
        for page in explore:
            files.append(page)
        i18n.list_in_sitemap(config, lang, explore)
        return files

    def on_env(self, env: Environment, config: MkDocsConfig, files: Files) -> Environment:
        """After every page is converted, before MkDocs copies the files: the figures whose files were
        promised (render's `files_later`) are finished; and the compiled templates are shared."""
        if self.output is not None:
            try:
                finish(self.output, files_only=True)
            except GeneratorError as exc:
                raise PluginError(f"tinyvgg: {exc}") from exc
        if self.exported is not None and self._export_asked and not self._exported_here:  # a page asked for it
            self._exported_here = True
            if i18n.is_default_build(config):
                interactive.add_files(files, config, self.exported)
            else:  # the first language's pages showed none: to the site's root all the same
                assert self.site_root is not None
                for rel, src in interactive.site_files(self.exported):
                    publish(src, self.site_root / rel)
        cache_dir = Path(self.build_cfg.cache_dir) if self.build_cfg is not None else None
        return templates.share_compiled_templates(env, cache_dir)

    # -- shortcodes ------------------------------------------------------------------------------
    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        """Expand the shortcodes. Those that produce finished HTML (figures, the sample grid, the gallery)
        go into Markdown as a short token and come back in on_page_content: Python-Markdown need not
        parse their HTML. An explore page with ~100 figures converts in 9 ms instead of 39 ms."""
        lang = i18n.page_lang(config)
        stash: list[str] = []

        def handle(code: Shortcode) -> str:
            out = self.resolve(code, page, lang)
            if code.name not in STASHED:
                return out
            stash.append(out)
            return f"{self._token}{len(stash) - 1}E"

        try:
            markdown = expand(markdown, handle, known=SHORTCODES)
        except ShortcodeErrors as exc:
            where = page.file.src_uri
            raise PluginError("tinyvgg: " + "; ".join(f"{where}:{line}: {msg}" for line, msg in exc.errors)) from exc
        self._stash[page.file.src_uri] = stash
        return markdown

    @event_priority(50)  # before glightbox wraps the images and the search plugin reads the page
    def on_page_content(self, content: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        stash = self._stash.pop(page.file.src_uri, None)
        if stash:
            # A token alone in its paragraph becomes the block itself (no <p> around a <figure>).
            content = re.sub(
                rf"<p>{self._token}(\d+)E</p>|{self._token}(\d+)E",
                lambda m: stash[int(m.group(1) or m.group(2))],
                content,
            )
        if self.figs is not None and self.figs.export is not None and steps.wanted(content):
            # the step-by-step players (generator/steps.py): one config and one module per page
            content += steps.page_script(self.figs.facts, self._export(), page.url or ".", i18n.page_lang(config))
        return content

    def resolve(self, code: Shortcode, page: Page, lang: str) -> str:
        assert self.figs is not None
        facts = self.figs.facts
        if code.name == "value":
            return resolve_value(code.arg, code.params, facts, lang)
        if code.name == "table":
            if code.arg != "network" or code.params:
                raise ShortcodeError(f"unknown table {code.arg!r}; known tables: network")
            return network_table(facts, lang)
        if code.name == "figure":
            entry = self.figs.entry(code.arg, code.params, lang)
            return figure_html(entry, self.figs.url(entry, page.url), lang, self.figs.dark_url(entry, page.url))
        if code.name in gen_pages.BLOCKS:
            gen_pages.check_block_args(code)
            return gen_pages.BLOCKS[code.name](self.figs, code, page, lang)
        raise ShortcodeError(
            f"unknown shortcode {code.name!r}; use figure, value, table or " + ", ".join(gen_pages.BLOCKS)
        )

    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        return i18n.drop_hreflang_links(output)

    # -- after the build -------------------------------------------------------------------------
    def _write_manifest(self, config: MkDocsConfig) -> None:
        """figures/manifest.json lists what this build made (late figures included, copied here); and
        Material's language switcher reads sitemap.xml under every language root."""
        if self.output is not None and self.figs is not None and self.site_root is not None:
            figures = self.site_root / "figures"
            for fig_id in self.figs.late:
                entry = self.output.figure(fig_id)
                assert entry is not None
                src, dest = self.output.paths[fig_id], figures / entry["file"]
                publish(src, dest)
            figures.mkdir(parents=True, exist_ok=True)
            atomic_write(figures / "manifest.json", self.output.manifest_json(dark=self.figs.dark))
        i18n.copy_sitemaps(config)

    @event_priority(-110)  # after mkdocs-static-i18n (-100), which builds the other languages in its on_post_build
    def _after_every_language(self, config: MkDocsConfig) -> None:
        """Figures left drawing for a language whose build never came (its `build: false`, say): publish
        them all the same, and list them in the manifest."""
        if self.output is not None and self.output.pending is not None:
            self._finish_drawing()
            self._write_manifest(config)

    on_post_build = CombinedEvent(_write_manifest, _after_every_language)

    def on_build_error(self, error: Exception) -> None:
        """A failed build drops the figures still queued for a later language (nothing is half-written)."""
        if self.output is not None:
            abandon(self.output)
