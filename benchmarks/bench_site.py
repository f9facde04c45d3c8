"""Rows 1, 2, 5 and 7: cold build, warm rebuild against plain MkDocs, site and page weight, memory.

Everything runs on a copy of mkdocs.yml + docs/ in a temporary directory, so the stage cache
(cache_dir is relative to mkdocs.yml) starts empty and the checkout is never touched.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from benchmarks.common import MB, REPO, Proc, Row, check, children_maxrss, fmt_bytes, median, run_timed

LOG_RE = re.compile(r"tinyvgg: ran (?P<stages>.+?) in (?P<times>.+)$", re.M)
RENDER_RE = re.compile(r"tinyvgg: rendered \d+ of \d+ figures \(\d+ from cache\) in ([\d.]+) s")
PIPELINE = ("keys", "data", "torch", "train", "probe", "render")
EDITED = Path("zh") / "cnn.md"
# Training in the reference run (benchmarks/README.md, 2026-11-28): the same work on every run (seed,
# epochs, code), so this run's training over it says how much slower this machine is than the targets'.
REFERENCE_TRAIN_S = 21.9


@dataclass
class Workspace:
    """A throwaway copy of the site sources: mkdocs.yml, docs/, and (after a build) .cache/, site/."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> Workspace:
        shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
        shutil.copytree(REPO / "docs", root / "docs")
        return cls(root)

    @property
    def site(self) -> Path:
        return self.root / "site"

    def manifest(self) -> dict:
        """The built site's figures/manifest.json: every figure the site uses."""
        return json.loads((self.site / "figures" / "manifest.json").read_text(encoding="utf-8"))

    def facts(self) -> dict:
        """What the pages quote: the probe stage's facts and the featured image."""
        facts = json.loads((self.stage_dir("probe") / "facts.json").read_text(encoding="utf-8"))
        return {**facts, "featured": self.manifest()["featured"]}

    def stage_dir(self, stage: str) -> Path:
        """The one complete directory of `stage` in the (fresh) cache."""
        cache = self.root / ".cache" / "plugin" / "tinyvgg"  # the plugin's default cache_dir
        found = [d for d in (cache / stage).iterdir() if (d / ".complete").is_file()]
        if len(found) != 1:
            raise RuntimeError(f"expected one {stage} stage in {cache}, found {len(found)}")
        return found[0]


def mkdocs_build(config: str = "mkdocs.yml") -> list[str]:
    return [sys.executable, "-m", "mkdocs", "build", "-f", config]


def parse_stage_log(stderr: str) -> dict[str, float]:
    """The plugin's "tinyvgg: ran train, probe, render in data 2.0 s, train 25.1 s, ..." line."""
    m = LOG_RE.search(stderr)
    if not m:
        return {}
    times = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", m.group("times"))}
    drawn = RENDER_RE.search(stderr)  # figures are rendered later, in on_files: their own line
    if drawn:
        times["render"] = float(drawn.group(1))
    return times


def _require(proc: Proc, what: str) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.tail()}")


def host_speed(train_s: float) -> Row:
    """This run's training against the reference run's: how much slower the machine is than the targets'."""
    ratio = train_s / REFERENCE_TRAIN_S
    return Row(
        "1",
        f"  host speed: training / the reference run's {REFERENCE_TRAIN_S} s",
        f"{ratio:.2f}x",
        round(ratio, 2),
        "x",
        note="above 1: every wall time of this run is inflated against the targets' machine by about that much",
    )


# ---- row 1 and 7: cold build ----------------------------------------------------------------------


def cold_build(ws: Workspace) -> tuple[list[Row], dict]:
    before = children_maxrss()
    proc = run_timed(mkdocs_build(), ws.root, sample_memory=True)
    maxrss = children_maxrss()
    _require(proc, "cold mkdocs build")
    t = parse_stage_log(proc.stderr)
    if "train" not in t:
        raise RuntimeError("cold build: the plugin's 'tinyvgg: ran ...' log line is missing (was the cache warm?)")
    pipeline = sum(t.get(k, 0.0) for k in PIPELINE)
    rest = proc.seconds - pipeline
    manifest = ws.manifest()["figures"]
    fig_bytes = sum(e["bytes"] + e.get("dark_bytes", 0) for e in manifest)  # dark variants included
    rows = [
        Row(
            "1",
            "cold build, quick profile (total wall time)",
            f"{proc.seconds:.1f} s",
            proc.seconds,
            "s",
            "<= 90 s",
            check(proc.seconds, 90),
            "fresh cache; `mkdocs build` in a subprocess",
            {"stages": t, "pipeline_s": pipeline, "mkdocs_and_startup_s": rest},
        ),
        Row("1", "  training", f"{t['train']:.1f} s", t["train"], "s", "<= 30 s", check(t["train"], 30)),
        host_speed(t["train"]),
        Row("1", "  data", f"{t.get('data', 0):.1f} s", t.get("data"), "s"),
        Row("1", "  then waiting for the trainer to import torch", f"{t.get('torch', 0):.1f} s", t.get("torch"), "s"),
        Row("1", "  probe", f"{t.get('probe', 0):.1f} s", t.get("probe"), "s"),
        Row(
            "1",
            f"  render ({len(manifest):,} figures, {fig_bytes / MB:.1f} MB)",
            f"{t.get('render', 0):.1f} s",
            t.get("render"),
            "s",
            details={"figures": len(manifest), "figure_bytes": fig_bytes},
        ),
        Row("1", "  MkDocs + interpreter start + imports (total − pipeline)", f"{rest:.1f} s", rest, "s"),
        Row(
            "1",
            "  CPU time of the cold build (user + sys, every process)",
            f"{proc.cpu_seconds:.1f} s",
            proc.cpu_seconds,
            "s",
            note="less sensitive than wall time to other load on the machine",
        ),
    ]
    same = before < maxrss  # ru_maxrss of children is a maximum over every child so far
    rows.append(
        Row(
            "7",
            "peak RSS of the cold build (largest process)",
            fmt_bytes(maxrss),
            maxrss / MB,
            "MB",
            note="" if same else "an earlier child was larger: value may not be the build's",
            details={"ru_maxrss_bytes": maxrss},
        )
    )
    rows.append(
        Row(
            "7",
            "  peak PSS of the whole process tree (sampled)",
            fmt_bytes(proc.peak_pss or 0),
            (proc.peak_pss or 0) / MB,
            "MB",
            note=f"{proc.samples} samples every 0.5 s; PSS counts copy-on-write pages shared with render workers once",
        )
    )
    return rows, {"stderr_tail": proc.tail(8)}


# ---- row 2: warm rebuild vs plain MkDocs ----------------------------------------------------------


def without_plugin(text: str) -> str:
    """mkdocs.yml without the tinyvgg plugin block, building docs-plain/ into site-plain/."""
    out, skip = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip is not None:
            if line.strip() and indent <= skip:
                skip = None
            else:
                continue
        if line.strip().rstrip(":") == "- tinyvgg":
            skip = indent
            continue
        out.append(line)
    text = "\n".join(out) + "\n"
    text = re.sub(r"^docs_dir:.*$", "docs_dir: docs-plain", text, flags=re.M)
    text = re.sub(r"^site_dir:.*$", "site_dir: site-plain", text, flags=re.M)
    if "tinyvgg" in text or "docs-plain" not in text or "site-plain" not in text:
        raise RuntimeError(
            "could not derive the plain mkdocs.yml: is the tinyvgg block formatted "
            "as `  - tinyvgg:` with its options indented below?"
        )
    return text


def plain_workspace(ws: Workspace) -> str:
    """The same pages without the plugin: chapters as written (shortcodes stay literal text), the
    generated explore pages written out as Markdown, and every figure already at docs/figures/."""
    from generator.pages import LANGS, explore_markdown

    facts = ws.facts()
    docs = ws.root / "docs-plain"
    for old in (docs, ws.root / "site-plain"):  # left by an earlier run on a reused workspace
        shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(ws.root / "docs", docs)
    shutil.copytree(ws.site / "figures", docs / "figures")
    (docs / "assets").mkdir(exist_ok=True)
    shutil.copy2(ws.site / "assets" / "favicon.png", docs / "assets" / "favicon.png")
    for sample in facts["samples"]:
        for lang in LANGS:
            page = docs / lang / "explore" / f"{sample['slug']}.md"
            page.write_text(explore_markdown(facts, {facts["featured"]}, sample["slug"], lang), encoding="utf-8")
    (ws.root / "mkdocs-plain.yml").write_text(without_plugin((ws.root / "mkdocs.yml").read_text()), encoding="utf-8")
    return "mkdocs-plain.yml"


def _tree_stats(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


TORCH_PROBE = """
import json, sys, time
t = time.perf_counter()
from mkdocs.commands.build import build
from mkdocs.config import load_config
build(load_config(config_file="mkdocs.yml"))
heavy = ["torch", "generator.stages", "matplotlib", "numpy", "PIL", "safetensors", "jieba"]
print(json.dumps({"torch": "torch" in sys.modules, "heavy": [m for m in heavy if m in sys.modules],
                  "seconds": time.perf_counter() - t}))
"""


def warm_vs_plain(ws: Workspace, runs: int) -> list[Row]:
    plain_cfg = plain_workspace(ws)
    # One untimed build of each first, so that every timed build starts alike: a previous site to
    # delete (that can dominate on some disks) and warm file caches.
    for cfg in ("mkdocs.yml", plain_cfg):
        _require(run_timed(mkdocs_build(cfg), ws.root), f"untimed build with {cfg}")
    warm, plain, cpu = [], [], {"warm": [], "plain": []}
    for i in range(runs):
        for docs in ("docs", "docs-plain"):  # the same edit on both sides
            with open(ws.root / docs / EDITED, "a", encoding="utf-8") as fh:
                fh.write(f"\n\n基准测试追加的第 {i + 1} 句话。\n")
        order = [("warm", "mkdocs.yml"), ("plain", plain_cfg)]
        for name, cfg in order if i % 2 == 0 else order[::-1]:  # alternate who goes first
            proc = run_timed(mkdocs_build(cfg), ws.root)
            _require(proc, f"{name} mkdocs build")
            if name == "warm" and LOG_RE.search(proc.stderr):
                raise RuntimeError(
                    "the warm build re-ran a pipeline stage (did the code or the data change "
                    "since the cold build?):\n" + proc.tail()
                )
            (warm if name == "warm" else plain).append(proc.seconds)
            cpu[name].append(proc.cpu_seconds)
    w, p = median(warm), median(plain)
    cw, cp = median(cpu["warm"]), median(cpu["plain"])
    files_w, bytes_w = _tree_stats(ws.site)
    files_p, bytes_p = _tree_stats(ws.root / "site-plain")
    probe = run_timed([sys.executable, "-c", TORCH_PROBE], ws.root)
    _require(probe, "in-process warm build")
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    ratio = w / p
    return [
        Row(
            "2",
            f"warm rebuild after editing {EDITED.as_posix()} (median of {runs})",
            f"{w:.2f} s",
            w,
            "s",
            note=f"CPU (user + sys) median {cw:.2f} s",
            details={"runs_s": warm, "cpu_s": cpu["warm"], "site_files": files_w, "site_bytes": bytes_w},
        ),
        Row(
            "2",
            "  plain mkdocs build: same pages, figures in docs/, no plugin",
            f"{p:.2f} s",
            p,
            "s",
            note=f"CPU (user + sys) median {cp:.2f} s",
            details={"runs_s": plain, "cpu_s": cpu["plain"], "site_files": files_p, "site_bytes": bytes_p},
        ),
        Row(
            "2",
            "  warm / plain",
            f"{ratio:.2f}×",
            ratio,
            "x",
            "<= 1.5×",
            check(ratio, 1.5),
            f"CPU-time ratio {cw / cp:.2f}×; outputs: {files_w:,} vs {files_p:,} files, "
            f"{bytes_w / MB:.1f} vs {bytes_p / MB:.1f} MB",
            {"cpu_ratio": cw / cp},
        ),
        Row(
            "2",
            "  torch imported by the warm build",
            "yes" if seen["torch"] else "no",
            float(seen["torch"]),
            "",
            "no",
            not seen["torch"],
            "in-process build in a subprocess; also imported: "
            + (", ".join(m for m in seen["heavy"] if m != "torch") or "none"),
            seen,
        ),
    ]


# ---- row 5: site size and page weight -------------------------------------------------------------


class _PageRefs(HTMLParser):
    """What a browser fetches for a page before any lazy image: stylesheets, icons, scripts,
    non-lazy images, media; plus Material's __config (base URL and search worker)."""

    LINK_RELS = frozenset({"stylesheet", "icon", "shortcut", "preload", "modulepreload", "apple-touch-icon"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.eager: list[str] = []
        self.lazy = 0
        self._in_config = False
        self.config = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and self.LINK_RELS & set(a.get("rel", "").lower().split()) and a.get("href"):
            self.eager.append(a["href"])
        elif tag in ("script", "video", "audio", "iframe", "embed") and a.get("src"):
            self.eager.append(a["src"])
        elif tag == "img" and a.get("src"):
            if a.get("loading", "").lower() == "lazy":
                self.lazy += 1
            else:
                self.eager.append(a["src"])
        self._in_config = tag == "script" and a.get("id") == "__config"

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_config = False


def _resolve(url: str, page: Path, site: Path, site_url: str) -> Path | str | None:
    """A referenced URL -> file under site/, "external", or None (data: URIs, fragments)."""
    if not url or url.startswith(("data:", "#", "javascript:", "mailto:")):
        return None
    if site_url and url.startswith(site_url):
        url = "/" + url[len(site_url) :]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "external"
    path = unquote(parts.path)
    target = site / path.lstrip("/") if path.startswith("/") else page.parent / path
    target = target.resolve()
    return target / "index.html" if target.is_dir() else target


def _search_assets(config: dict, page: Path, site: Path) -> set[Path]:
    """Material starts its search worker on load: the worker, lunr language files, the index."""
    if not config.get("search"):
        return set()
    base = (page.parent / config.get("base", ".")).resolve()
    worker = (page.parent / config["search"]).resolve()
    index = base / "search" / "search_index.json"
    out = {worker, index}
    langs = json.loads(index.read_text())["config"]["lang"] if index.is_file() else []
    lunr = worker.parent.parent / "lunr"
    scripts = [lunr / "min" / "lunr.stemmer.support.min.js"] if langs != ["en"] else []
    for lang in langs:
        if lang == "ja":
            scripts.append(lunr / "tinyseg.js")
        elif lang in ("hi", "th"):
            scripts.append(lunr / "wordcut.js")
        if lang != "en":
            scripts.append(lunr / "min" / f"lunr.{lang}.min.js")
    if len(langs) > 1:
        scripts.append(lunr / "min" / "lunr.multi.min.js")
    return out | set(scripts)


def page_weights(site: Path, site_url: str = "http://127.0.0.1:8000/") -> tuple[list[Row], dict]:
    files = [p for p in site.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    pages, missing, external, search_bytes = [], set(), set(), 0
    for page in sorted(site.rglob("*.html")):
        parser = _PageRefs()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        refs: set[Path] = set()
        for url in parser.eager:
            target = _resolve(url, page, site, site_url)
            if target == "external":
                external.add(url)
            elif isinstance(target, Path) and target.is_file():
                refs.add(target)
            elif isinstance(target, Path):
                missing.add(str(target.relative_to(site.resolve())))
        weight = page.stat().st_size + sum(p.stat().st_size for p in refs)
        search = _search_assets(json.loads(parser.config) if parser.config.strip() else {}, page, site) - refs
        search_bytes = max(search_bytes, sum(p.stat().st_size for p in search if p.is_file()))
        pages.append((weight, page.relative_to(site).as_posix(), parser.lazy, len(refs)))
    pages.sort(reverse=True)
    heavy_w, heavy_page, heavy_lazy, heavy_refs = pages[0]
    rows = [
        Row(
            "5",
            f"site size ({len(files):,} files under site/)",
            f"{total / MB:.1f} MB",
            total / MB,
            "MB",
            "<= 60 MB",
            check(total, 60 * MB),
            f"= {total / 2**20:.1f} MiB; uncompressed bytes on disk",
        ),
        Row(
            "5",
            f"  heaviest page before lazy images: {heavy_page}",
            fmt_bytes(heavy_w),
            heavy_w / MB,
            "MB",
            "<= 2 MB",
            check(heavy_w, 2 * MB),
            f"HTML + {heavy_refs} eager assets (CSS, JS, icons, non-lazy images); {heavy_lazy} lazy images excluded",
        ),
        Row(
            "5",
            f"  median page weight ({len(pages)} pages)",
            fmt_bytes(median([p[0] for p in pages])),
            median([p[0] for p in pages]) / MB,
            "MB",
        ),
        Row(
            "5",
            "  + search assets every first visit fetches",
            fmt_bytes(search_bytes),
            search_bytes / MB,
            "MB",
            note="Material starts its search worker on load: worker, lunr zh/multi, search_index.json",
        ),
        Row(
            "5",
            "  third-party URLs loaded by pages",
            str(len(external)),
            float(len(external)),
            "",
            "0",
            not external,
            "; ".join(sorted(external))[:200],
        ),
    ]
    details = {
        "pages": [{"page": p, "bytes": w, "lazy_images": lz, "eager_assets": n} for w, p, lz, n in pages],
        "missing_refs": sorted(missing),
    }
    if missing:
        rows.append(
            Row(
                "5",
                "  referenced files missing from site/",
                str(len(missing)),
                float(len(missing)),
                "",
                "0",
                False,
                ", ".join(sorted(missing))[:200],
            )
        )
    return rows, details
