"""Row 9: the model in the page (the live network view on the explore page), in headless Chromium.

What the view downloads (its modules, the exported weights, the colour tables, the first image's
pixels), requests to other hosts, the median time of one `tinyvgg.forward()`, and how long after the
page's load event the view is interactive. The built site is served from 127.0.0.1.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from benchmarks.common import KIB, Row, check, fmt_bytes

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OURS = re.compile(r"/(model/[0-9a-f]+/|live/|assets/tinyvgg/)")  # the view's files (see generator/interactive.py)
FORWARD_RUNS = 50

TIMING = f"""
async () => {{
  await tinyvgg.ready;
  const pixels = tinyvgg.current.pixels, times = [];
  for (let i = 0; i < {FORWARD_RUNS}; i++) {{
    const t0 = performance.now();
    tinyvgg.forward(pixels);
    times.push(performance.now() - t0);
  }}
  const nav = performance.getEntriesByType('navigation')[0];
  const ready = performance.getEntriesByName('tinyvgg-ready')[0];
  return {{times, ready: ready.startTime, load: nav.loadEventEnd}};
}}
"""


def measure(site: Path, path: str = "explore/", browser=None) -> dict:
    """Open `path` once in a fresh browser context (empty cache) and measure; returns the raw numbers.
    `browser`: a Playwright Browser to use (e.g. pytest-playwright's); by default Chromium is launched."""
    from playwright.sync_api import sync_playwright

    if browser is None:
        with sync_playwright() as pw:
            own = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                return measure(site, path, own)
            finally:
                own.close()
    from tests.support import serve_directory

    with serve_directory(site) as (url, _):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        try:
            page = context.new_page()
            responses, requests, errors = [], [], []
            page.on("request", lambda r: requests.append(r.url))
            page.on("response", lambda r: responses.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/{path}", wait_until="load")
            page.wait_for_function(
                "document.querySelector('section.tv-live')?.dataset.ready === 'true'", timeout=30_000
            )
            timing = page.evaluate(TIMING)
        finally:
            context.close()
    files = sorted({u for u in responses if u.startswith(url) and OURS.search(u)})
    external = sorted({u for u in requests if not u.startswith((url, "data:", "blob:"))})
    # uncompressed bytes: the size on disk of every file the view fetched (the test server sends them as is)
    sizes = {u.removeprefix(url): (site / u.removeprefix(url + "/")).stat().st_size for u in files}
    return {"files": sizes, "external": external, "errors": errors, **timing}


def inpage_rows(site: Path, browser=None) -> tuple[list[Row], dict]:
    m = measure(site, browser=browser)
    total = sum(m["files"].values())
    fwd = statistics.median(m["times"])
    after_load = max(0.0, m["ready"] - m["load"])
    rows = [
        Row(
            "9",
            f"live view downloads ({len(m['files'])} files: modules, weights, JSON, first image)",
            fmt_bytes(total),
            total / KIB,
            "KiB",
            "<= 150 KB",
            check(total, 150_000),
        ),
        Row(
            "9",
            "  third-party requests of the explore page",
            str(len(m["external"])),
            float(len(m["external"])),
            "",
            "0",
            not m["external"],
            note=", ".join(m["external"][:5]),
        ),
        Row(
            "9",
            f"  tinyvgg.forward(), median of {FORWARD_RUNS} in headless Chromium",
            f"{fwd:.1f} ms",
            fwd,
            "ms",
            "<= 20 ms",
            check(fwd, 20),
        ),
        Row(
            "9",
            f"  interactive after the load event (ready at {m['ready']:.0f} ms, load at {m['load']:.0f} ms)",
            f"{after_load:.0f} ms",
            after_load,
            "ms",
            "<= 1 s",
            check(after_load, 1000),
        ),
        Row(
            "9",
            "  console errors",
            str(len(m["errors"])),
            float(len(m["errors"])),
            "",
            "0",
            not m["errors"],
            note="; ".join(m["errors"][:3]),
        ),
    ]
    return rows, m
