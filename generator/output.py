"""What a build hands to the site: the manifest entry of every figure, and BuildOutput, which gathers
the model's facts, where every probe and figure lies, and the keys and timings of the build.

Kept apart from records.py (the records the stages write and read) so that the train and probe stages'
code hashes leave it out: changing the manifest's format re-renders nothing and retrains nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

from generator.records import Facts


class ManifestEntry(TypedDict):
    """One figure in figures/manifest.json (and in its cache entry's entry.json)."""

    id: str
    kind: str
    image: str | None
    layer: str | None
    neuron: int | None
    hyper: NotRequired[str]
    file: str  # path under figures/
    lang: str  # "zh" or "en" (a figure with words: the pages of that language show it) or "any"
    dark: NotRequired[str]  # path under figures/ of its dark-palette variant (slate scheme), when published
    dark_bytes: NotRequired[int]
    bytes: int
    width: int
    height: int
    alt: dict[str, str]  # {"zh": ..., "en": ...}
    caption: dict[str, str]
    hash: str  # sha256 (16 hex) of the file
    stats: NotRequired[dict]  # what the figure shows, measured: see generator/examples.py
    # The smallest text in the figure, in its own pixels (None: no text); the page keeps it legible
    # (plugin.figure_html). Absent from cache entries written before it existed.
    min_text_px: NotRequired[float | None]


@dataclass
class BuildOutput:
    """The model's facts and where every probe lies; `add` fills in the rendered figures."""

    facts: Facts
    train_dir: Path
    probe_files: dict[str, Path]  # sample slug -> the safetensors of its probe
    keys: Keys
    manifest: list[ManifestEntry] = field(default_factory=list)  # one entry per rendered figure, in request order
    paths: dict[str, Path] = field(default_factory=dict)  # figure id -> its file in the cache
    dark_paths: dict[str, Path] = field(default_factory=dict)  # figure id -> its dark variant in the cache
    timings: dict[str, float] = field(default_factory=dict)
    stages_run: list[str] = field(default_factory=list)
    rendered: int = 0  # figures drawn by this process
    cached: int = 0  # figures served from the cache
    used_keys: set[str] = field(default_factory=set)
    pending: Pending | None = None  # figures still drawing after render() returned (build.finish waits)

    def figure(self, fig_id: str) -> ManifestEntry | None:
        return self._by_id.get(fig_id)

    def reserve(self, ids: Iterable[str]) -> None:
        """Note the order figures were asked in, before some of them are added (a later language's, which
        come in after the others): the manifest lists them in that order whatever was drawn when."""
        for fig_id in ids:
            self._order.setdefault(fig_id, len(self._order))

    def add(self, entry: ManifestEntry, path: Path) -> None:
        if entry["id"] not in self.paths:
            self.manifest.append(entry)
        self.paths[entry["id"]] = path
        self._by_id[entry["id"]] = entry

    def __post_init__(self) -> None:
        self._by_id = {entry["id"]: entry for entry in self.manifest}
        self._order: dict[str, int] = {}

    def manifest_json(self, dark: set[str] | None = None) -> bytes:
        """figures/manifest.json; `dark`: the ids whose dark variant is published (None: every one).

        One figure a line: readable, easy to diff and grep, and written by json's C encoder (an indented
        dump goes through the pure-Python one, which took 0.2 s a build for ~1,800 figures)."""
        last = len(self._order)
        ordered = sorted(self.manifest, key=lambda e: self._order.get(e["id"], last))  # (a stable sort)
        figures = [
            e if dark is None or e["id"] in dark else {k: v for k, v in e.items() if k not in ("dark", "dark_bytes")}
            for e in ordered
        ]
        head = {"version": 3, "featured": self.facts["featured"], "featured_stats": self.facts.get("featured_stats")}
        lines = [json.dumps(entry, ensure_ascii=False, sort_keys=True) for entry in figures]
        body = ",\n  ".join(lines)
        top = json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1]  # without its closing brace
        return f'{top}, "figures": [\n  {body}\n]}}\n'.encode() if lines else f'{top}, "figures": []}}\n'.encode()


@dataclass
class Pending:
    """Figures render() left drawing (build.finish, build.abandon): the steps that wait for each group and
    store it, in drawing order, each labelled "files" (in the output already, files awaited) or "later"
    (a later language's), and the generator drawing them."""

    steps: list[tuple[str, Callable[[], int]]]
    drawing: Generator[object, None, None]

    def close(self) -> None:
        self.drawing.close()


@dataclass(frozen=True)
class Keys:
    train: str
    probe: str
    images: tuple[tuple[Path, str, str], ...] = ()  # (path, name relative to mkdocs.yml, key)
