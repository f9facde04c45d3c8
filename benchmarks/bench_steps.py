"""Row 9, continued: the step-by-step players (generator/steps.py) in headless Chromium.

The JavaScript they add (sizes on disk, uncompressed, of the modules the convolution chapter fetches
beyond the live view's), the slowest of 20 hovers over a conv_1_2 output pixel (each writes out ten
channels' arithmetic) and of 20 steps forward, timed inside the page around the synchronous handlers,
and console errors on the four chapters with players.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_inpage import ARGS, CHROMIUM
from benchmarks.common import KIB, Row, check, fmt_bytes

ADDED = ("steps.js", "player.js", "views.js", "softmax.js", "playground.js", "loader.js", "steps.css")
PAGES = ("convolution/", "pooling/", "activation/", "hyperparameters/")
RUNS = 20

TIMING = f"""
() => {{
  const fig = document.querySelector('figure[data-tv-player="conv-detail"]');
  const map = fig.querySelector('.tv-map-out'), b = map.getBoundingClientRect();
  const fwd = fig.querySelector('.tv-pl-fwd');
  const time = (fn) => {{ const t0 = performance.now(); fn(); return performance.now() - t0; }};
  const move = (i) => map.dispatchEvent(new PointerEvent('pointermove', {{bubbles: true,
    clientX: b.left + (i + 0.5) * b.width / {RUNS}, clientY: b.top + (i + 0.5) * b.height / {RUNS}}}));
  move(0); fwd.click();
  const hover = [], step = [];
  for (let i = 1; i <= {RUNS}; i++) {{ hover.push(time(() => move(i % {RUNS}))); step.push(time(() => fwd.click())); }}
  return {{hover: Math.max(...hover), step: Math.max(...step)}};
}}
"""


def measure(site: Path, browser=None) -> dict:
    """Open the chapters with players once each (fresh context) and measure; returns the raw numbers."""
    from playwright.sync_api import sync_playwright

    if browser is None:
        with sync_playwright() as pw:
            own = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                return measure(site, own)
            finally:
                own.close()
    from tests.support import serve_directory

    with serve_directory(site) as (url, _):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        try:
            page = context.new_page()
            responses, errors = [], []
            page.on("response", lambda r: responses.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            timing = {}
            for path in PAGES:
                page.goto(f"{url}/{path}", wait_until="load")
                page.wait_for_function("document.documentElement.dataset.tvSteps === 'ready'", timeout=30_000)
                if path == "convolution/":
                    page.locator('figure[data-tv-player="conv-detail"] select.tv-pick-layer').select_option("conv_1_2")
                    timing = page.evaluate(TIMING)
        finally:
            context.close()
    files = sorted({u for u in responses if "/assets/tinyvgg/" in u and u.rsplit("/", 1)[-1] in ADDED})
    sizes = {u.removeprefix(url): (site / u.removeprefix(url + "/")).stat().st_size for u in files}
    return {"files": sizes, "errors": errors, **timing}


def steps_rows(site: Path, browser=None) -> tuple[list[Row], dict]:
    m = measure(site, browser)
    js = sum(size for name, size in m["files"].items() if name.endswith(".js"))
    return [
        Row(
            "9",
            f"players: JavaScript they add ({sum(n.endswith('.js') for n in m['files'])} modules, uncompressed)",
            fmt_bytes(js),
            js / KIB,
            "KiB",
            "<= 60 KB",
            check(js, 60_000),
        ),
        Row(
            "9",
            f"  players: hover over a conv_1_2 output pixel, slowest of {RUNS}",
            f"{m['hover']:.1f} ms",
            m["hover"],
            "ms",
            "<= 50 ms",
            check(m["hover"], 50),
        ),
        Row(
            "9",
            f"  players: one step forward, slowest of {RUNS}",
            f"{m['step']:.1f} ms",
            m["step"],
            "ms",
            "<= 50 ms",
            check(m["step"], 50),
        ),
        Row(
            "9",
            "  players: console errors on the four chapters",
            str(len(m["errors"])),
            float(len(m["errors"])),
            "",
            "0",
            not m["errors"],
            note="; ".join(m["errors"][:3]),
        ),
    ], m
