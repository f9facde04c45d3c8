"""Benchmarks of the build, each against its target: one table, also written as JSON.

    python benchmarks/run.py [--full] [--runs N] [--json PATH]

Rows: 1 cold build (quick profile, empty cache) and its stages; 2 warm rebuild after a Markdown edit
against a plain `mkdocs build` of the same pages; 3 activation maps against naive matplotlib; 4 conv
animations (time, bytes, frames); 5 site size and page weight; 6 (--full) full-profile accuracy and
training time next to CNN Explainer's model; 7 peak memory of the cold build; 8 the per-figure cache: a
new image and another featured image on a warm build, and a cold two-figure site; 9 the model in the page
(bytes, forward() time, time to interactive, in headless Chromium). The machine is part of
the result: compare numbers within one run, not across machines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script (`python benchmarks/run.py`) from any directory
    sys.path.insert(0, str(REPO))

from benchmarks.common import Row, machine, snapshot_code, use_code  # noqa: E402

DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--full", action="store_true", help="also row 6: train the full profile (minutes)")
    p.add_argument("--runs", type=int, default=3, help="timed builds of rows 2 and 8, median taken (default 3)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    p.add_argument("--workers", type=int, default=0, help="row 3 render processes (default 0 = one per core)")
    p.add_argument(
        "--dataset-path",
        type=Path,
        help="--full: tiny-imagenet zip (default ../shared/datasets/tiny-imagenet-10.zip beside the checkout)",
    )
    p.add_argument(
        "--reference-weights",
        type=Path,
        help="--full: CNN Explainer's model.json (default ../shared/reference/cnn-explainer/model.json)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        help="--full: override the profile's epochs (a smoke test: the row-6 targets then do not apply)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary build directory and print it")
    p.add_argument(
        "--reuse",
        type=Path,
        metavar="DIR",
        help="a directory kept by --keep: skip the cold "
        "build (rows 1 and 7) and measure the other rows on its cache, site and code snapshot",
    )
    p.add_argument(
        "--rows",
        default="1,2,3,4,5,7,8,9",
        help="rows to measure (default 1,2,3,4,5,7,8,9; --full "
        "adds 6). The cold build (rows 1 and 7) always runs, unless --reuse",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return p


def table(rows: list[Row]) -> str:
    """row | measured | target | pass/fail, sorted by the brief's row number (stable)."""
    head = ("#", "row", "measured", "target", "result")
    body = [
        (r.row, r.name, r.measured, r.target or "–", {True: "pass", False: "FAIL", None: "info"}[r.ok]) for r in rows
    ]
    widths = [min(max(len(x[i]) for x in [head, *body]), 84) for i in range(5)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), "  ".join("-" * w for w in widths)]
    out += [line(b) for b in body]
    notes = [f"  [{r.row}] {r.name.strip()}: {r.note}" for r in rows if r.note]
    return "\n".join(out + (["", "notes:", *notes] if notes else []))


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.runs < 1:
        parser().error("--runs must be at least 1")
    wanted = {r.strip() for r in args.rows.split(",") if r.strip()} | ({"6"} if args.full else set())
    if not wanted <= set("123456789"):
        parser().error(f"--rows {args.rows}: rows are numbered 1 to 9")
    os.environ["NO_MKDOCS_2_WARNING"] = "1"
    started, t0 = dt.datetime.now(dt.UTC), time.perf_counter()
    load_before = list(os.getloadavg())
    if args.reuse:
        tmp = args.reuse.resolve()
        if not (tmp / "code" / "generator").is_dir() or not (tmp / "site-src" / "site").is_dir():
            parser().error(
                f"--reuse {args.reuse}: not a directory kept by --keep (it has no code/generator/ or site-src/site/)"
            )
        code = use_code(tmp / "code")
    else:
        tmp = Path(tempfile.mkdtemp(prefix="tinyvgg-bench-"))
        (tmp / "site-src").mkdir()
        code = snapshot_code(tmp / "code")  # before anything imports generator
    from benchmarks import bench_data, bench_figures, bench_full, bench_inpage, bench_render, bench_site, bench_steps

    rows: list[Row] = []
    details: dict = {}
    error = None

    def step(label: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {label}", file=sys.stderr, flush=True)

    try:
        if args.reuse:
            ws = bench_site.Workspace(tmp / "site-src")
            step(f"reusing {tmp}: rows 1 and 7 (cold build) skipped")
        else:
            ws = bench_site.Workspace.create(tmp / "site-src")
            step("1/7 cold build of the default site (quick profile, empty cache)")
            got, details["cold_build"] = bench_site.cold_build(ws)
            rows += got
        if "1" in wanted:
            step("1 the shapes generator alone")
            rows += bench_data.shapes_rows()
        if "5" in wanted:
            step("5 site size and page weight")
            got, details["pages"] = bench_site.page_weights(ws.site)
            rows += got
        if "9" in wanted:
            step("9 the model in the page (headless Chromium)")
            got, details["inpage"] = bench_inpage.inpage_rows(ws.site)
            rows += got
            got, details["players"] = bench_steps.steps_rows(ws.site)
            rows += got
        if "2" in wanted:
            step(f"2 warm rebuild vs plain mkdocs build: one untimed build each, then {args.runs} timed")
            rows += bench_site.warm_vs_plain(ws, args.runs)
        loaded = bench_render.load(ws) if wanted & {"3", "4"} else None
        if "3" in wanted:
            step("3 activation maps: ours (pool, single process) vs naive matplotlib")
            rows += bench_render.activation_rows(loaded, args.workers)
        if "4" in wanted:
            step("4 conv animations, one at a time")
            rows += bench_render.conv_rows(loaded)
        if "8" in wanted:
            step(f"8 per-figure cache: a new image, another featured image, a cold two-figure site; {args.runs} each")
            rows += bench_figures.scenario_rows(ws, tmp / "row8", args.runs)
            rows += bench_figures.two_figure_rows(tmp / "row8", args.runs)
        if "6" in wanted:
            step("6 full profile: training on Tiny ImageNet (minutes)")
            rows += bench_full.full_rows(
                tmp / "full-cache",
                args.dataset_path or bench_full.DATASET,
                args.reference_weights or bench_full.REFERENCE,
                args.epochs,
            )
    except (RuntimeError, OSError) as exc:
        error = str(exc)
        print(f"error: {exc}", file=sys.stderr)
    finally:
        if args.keep or args.reuse:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    rows.sort(key=lambda r: r.row)  # stable: sub-rows stay under their row
    info = machine()
    info["load_average_before"] = load_before
    info["code"] = code
    total = time.perf_counter() - t0
    print()
    print(
        f"machine: {info['cpu_model']}, {info['cores']} cores ({info['usable_cores']} usable), torch "
        f"{info['torch']} with {info['torch_threads']} threads, Python {info['python']}; load average "
        f"{load_before[0]:.1f} before, {info['load_average'][0]:.1f} after; benchmark took {total:.0f} s"
    )
    print(table(rows))
    failed = [r for r in rows if r.ok is False]
    stopped = f"; stopped early: {error}" if error else ""
    print(
        f"\n{sum(r.ok is True for r in rows)} passed, {len(failed)} failed, "
        f"{sum(r.ok is None for r in rows)} for information{stopped}"
    )
    write_json(
        args.json,
        {
            "started": started.isoformat(timespec="seconds"),
            "seconds": round(total, 1),
            "command": [sys.executable, *sys.argv],
            "options": {k: v for k, v in vars(args).items()},
            "machine": info,
            "error": error,
            "rows": [r.as_dict() for r in rows],
            "details": details,
        },
    )
    print(f"written {args.json}")
    if error:
        return 2
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
