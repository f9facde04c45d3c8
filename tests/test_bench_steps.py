"""Benchmark row 9, the players' part (benchmarks/bench_steps.py) on the real site: it counts every
module the players add, the JavaScript budget holds and no chapter logs a console error. The timed
rows are reported, not asserted here (test_players_browser.py asserts 50 ms with its own margin)."""

from __future__ import annotations

import pytest
from conftest import BuiltSite
from playwright.sync_api import Browser
from test_browser import browser_type_launch_args  # noqa: F401 - Debian's Chromium for the `browser` fixture

from benchmarks.bench_steps import ADDED, steps_rows

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_players_rows_count_every_added_module_and_meet_the_js_budget(browser: Browser, built_site: BuiltSite) -> None:
    rows, m = steps_rows(built_site.root, browser)
    assert sorted(f.rsplit("/", 1)[-1] for f in m["files"]) == sorted(ADDED)
    js = next(r for r in rows if r.name.startswith("players: JavaScript"))
    assert js.ok and 10_000 < js.value * 1024 <= 60_000
    assert next(r for r in rows if "console errors" in r.name).ok, m["errors"]
    assert all(0 < r.value < 1000 for r in rows if r.unit == "ms")
