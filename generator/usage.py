"""Which figures a site uses, and the lookup the pages resolve figures with.

A build renders only the figures its pages ask for: the shortcodes of every Markdown file, of the
generated explore pages and of the blocks (`{{ samples }}`, `{{ gallery }}`). The scan runs before any
page is converted, so every figure is rendered in one parallel batch; a figure that only turns up later
(a page another plugin generates) is rendered when it is looked up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mkdocs.utils import get_relative_url

from generator.catalog import build_catalog, default_layer, make_spec
from generator.errors import ShortcodeError
from generator.export import Exported
from generator.output import BuildOutput, ManifestEntry
from generator.overview_html import image_param, overview_specs
from generator.records import Facts, FigureSpec, Sample
from generator.shortcodes import Shortcode, ShortcodeErrors, expand
from generator.values import EXAMPLE_KINDS

FIGURE_PARAMS = ("image", "layer", "neuron", "hyper")


def spec_for(kind: str, params: dict[str, str], facts: Facts, lang: str = "en") -> FigureSpec:
    """The figure a `{{ figure KIND key=value ... }}` shortcode on a page in `lang` names (ShortcodeError if
    it names none): a figure with words in the page's language, any other figure as it is."""
    extra = set(params) - set(FIGURE_PARAMS)
    if extra:
        raise ShortcodeError(f"unknown parameter {', '.join(sorted(extra))}; figures take {', '.join(FIGURE_PARAMS)}")
    image = params.get("image", "featured")
    if image == "featured":
        image = facts["featured"]
    slugs = [s["slug"] for s in facts["samples"]]
    if image not in slugs:
        raise ShortcodeError(f"unknown image {image!r}; sample images: featured, {', '.join(slugs)}")
    layer, neuron = params.get("layer"), params.get("neuron")
    if AUTO in (layer, neuron):
        sample = next(s for s in facts["samples"] if s["slug"] == image)
        layer, number = example(kind, sample, layer)
        neuron = str(number) if neuron == AUTO else neuron
    if neuron is not None and not neuron.lstrip("-").isdigit():
        raise ShortcodeError(f"neuron must be an integer or {AUTO} (got {neuron!r})")
    return make_spec(
        kind,
        image=image,
        layer=layer,
        neuron=None if neuron is None else int(neuron),
        hyper=params.get("hyper"),
        num_classes=len(facts["classes"]),
        lang=lang,
    )


AUTO = "auto"  # layer=auto / neuron=auto: the example chosen from the data (generator/examples.py)


def example(kind: str, sample: Sample, layer: str | None) -> tuple[str, int]:
    """(layer, neuron) of `kind`'s example for one sample image: `layer` as given (its default when
    None), or the example layer itself for layer=auto."""
    if kind not in EXAMPLE_KINDS:
        raise ShortcodeError(
            f"{AUTO} is for the figures with a chosen example ({', '.join(EXAMPLE_KINDS)}); "
            f"{kind!r} needs layer= and neuron= written out"
        )
    examples = sample.get("examples")
    if not examples:  # facts of an older probe stage: the build re-probes whenever examples.py changes
        raise ShortcodeError(f"image {sample['slug']!r} has no chosen examples; rebuild to re-probe it")
    chosen = examples[kind]
    name = str(chosen["layer"] if layer == AUTO else layer or default_layer(kind))
    if name not in chosen["layers"]:
        raise ShortcodeError(f"figure {kind!r}: unknown layer {name!r}; choose one of {', '.join(chosen['layers'])}")
    return name, int(chosen["layers"][name]["neuron"])


def gallery_specs(facts: Facts, detail_images: tuple[str, ...], lang: str = "en") -> list[FigureSpec]:
    """`{{ gallery }}`: the once-per-build figures and the featured image's figures (no single maps), in
    the page's language."""
    featured = facts["featured"]
    examples = {s["slug"]: s.get("examples", {}) for s in facts["samples"] if s["slug"] == featured}
    specs = build_catalog([featured], featured, detail_images, len(facts["classes"]), examples, langs=(lang,))
    return [s for s in specs if s.kind not in ("activation", "tile", "photo")]  # single maps, the overview's pieces


def sample_specs(facts: Facts) -> list[FigureSpec]:
    """`{{ samples }}`: every sample image as it is (the text-free `photo`)."""
    return [make_spec("photo", image=s["slug"]) for s in facts["samples"]]


def used_specs(
    texts: Iterable[str],
    facts: Facts,
    detail_images: tuple[str, ...],
    known: frozenset[str],
    lang: str = "en",
    gallery: bool = True,
    explore_pages: bool = False,
) -> list[FigureSpec]:
    """Every figure the Markdown `texts` (pages in `lang`) ask for, in order; gallery=False: without the
    `{{ gallery }}` blocks' figures. Mistakes are skipped here: the page that holds one reports it, with its line,
    when it is converted."""
    found: dict[str, FigureSpec] = {}

    def collect(code: Shortcode) -> str:
        specs: list[FigureSpec] = []
        if code.name == "figure":
            specs = [spec_for(code.arg, code.params, facts, lang)]
        elif code.name == "samples":
            specs = sample_specs(facts)
        elif code.name == "gallery" and gallery:
            specs = gallery_specs(facts, detail_images, lang)
        elif code.name == "overview":
            specs = overview_specs(facts, image_param(code, facts), explore_pages, lang)
        for spec in specs:
            found.setdefault(spec.id, spec)
        return ""

    for text in texts:
        for line in text.split("\n"):  # line by line: one mistake hides nothing else
            if "{{" not in line:
                continue
            with contextlib.suppress(ShortcodeErrors):
                expand(line, collect, known=known)
    return list(found.values())


@dataclass
class SiteFigures:
    """What the page blocks need of the build: its facts, each figure's entry and URL. A figure that the
    scan did not foresee is rendered on first use through `render_missing`."""

    output: BuildOutput
    site_url: str
    detail_images: tuple[str, ...]
    render_missing: Callable[[FigureSpec], None]
    explore_pages: bool = False  # the plugin generates explore/<slug>/ pages
    lang_prefix: Callable[[str], str] = lambda lang: ""  # where a language's pages live ("en/")
    export: Callable[[], Exported] | None = None  # the model in TF.js form, made when a page first needs it
    scale: str = "layer"  # the figures' colour range, which the live view follows
    late: list[str] = field(default_factory=list)  # ids rendered after the files were collected
    dark: set[str] = field(default_factory=set)  # ids whose dark variant the site publishes (chapter figures)

    @property
    def facts(self) -> Facts:
        return self.output.facts

    @property
    def exported(self) -> Exported | None:
        """The model, colour tables and sample pixels of the live view and the players (exported now if no
        page asked before: a site that shows neither ships none of it)."""
        return self.export() if self.export is not None else None

    def entry(self, kind: str, params: dict[str, str], lang: str = "en") -> ManifestEntry:
        """The manifest entry of the figure a shortcode's kind and parameters name on a page in `lang`."""
        return self.entry_for(spec_for(kind, params, self.facts, lang))

    def entry_for(self, spec: FigureSpec) -> ManifestEntry:
        entry = self.output.figure(spec.id)
        if entry is None:
            self.render_missing(spec)
            self.late.append(spec.id)
            entry = self.output.figure(spec.id)
            assert entry is not None
        return entry

    def detailed(self) -> set[str]:
        """The images that get the step-by-step convolution animations."""
        return {self.facts["featured"], *self.detail_images}

    def url(self, entry: ManifestEntry, page_url: str) -> str:
        return get_relative_url(f"figures/{entry['file']}", page_url or ".")

    def dark_url(self, entry: ManifestEntry, page_url: str) -> str | None:
        """The URL of the figure's dark variant, when the site publishes one."""
        if entry["id"] not in self.dark or "dark" not in entry:
            return None
        return get_relative_url(f"figures/{entry['dark']}", page_url or ".")
