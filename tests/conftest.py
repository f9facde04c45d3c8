"""Shared fixtures: the real default site, built once per session and served on 127.0.0.1.

The build runs `mkdocs build --strict` in a subprocess against the repository's own mkdocs.yml and
.cache, so the stages it trains and renders stay cached for `make site` afterwards. The HTTP server
is bound first (port 0: the kernel picks a free port, no race) and the build gets that address as
SITE_URL, so the sitemaps and the language switcher point at the server the tests use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import REPO, BuiltSite, run_mkdocs, serve_directory

# The session fixtures that build a site or train a model. Any test needing one of them, directly or
# through another fixture, is marked `slow`, so `pytest -m "not slow"` (`make test-fast`) neither
# builds nor trains. Tests that call the trainer themselves carry the marker by hand (test_train.py).
SLOW_FIXTURES = frozenset({"built_site", "small_cache"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """An HTTP server on 127.0.0.1 serving <tmp>/site (which the build fills in later)."""
    root = tmp_path_factory.mktemp("real-site") / "site"
    with serve_directory(root) as (url, _):
        yield root, url + "/"


@pytest.fixture(scope="session")
def built_site(site_server: tuple[Path, str]) -> BuiltSite:
    """The repository's default site, built once with --strict and served (see the module docstring)."""
    root, url = site_server
    proc = run_mkdocs(REPO / "mkdocs.yml", root, url)
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {proc.returncode}):\n{proc.stdout}", pytrace=False)
    return BuiltSite(root=root, url=url, log=proc.stdout)


@pytest.fixture(scope="session")
def small_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's small trained cache for CLI, bad-input and fault tests (built once; later builds hit)."""
    from cli_support import SMALL, gen

    cache = tmp_path_factory.getbasetemp() / "tinyvgg-small-cache"
    proc = gen("build", *SMALL, "--quiet", "--cache-dir", cache, cwd=cache.parent, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = cache.with_suffix(".log")  # the first (cold) build's output, for test_cli
    if not log.exists():
        log.write_text(proc.stdout)
    return cache
