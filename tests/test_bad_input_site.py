"""Bad input, a MkDocs project: broken shortcodes in its pages and bad tinyvgg options in its mkdocs.yml
give ONE error line naming the page and line (or the option), and leave no page of the failed build and
nothing half-written in the cache. A user image with a space and a CJK character in its name builds.

Each test runs `mkdocs build` in a subprocess on a small site whose cache starts from the session's
small trained model (conftest.small_cache); the first build probes and renders, later ones hit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_support import assert_cache_clean, child_env, jpeg_bytes, latest, rgb_image

from generator.images import slugify

SMALL_YML = {"max_samples": 1, "images_per_class": 30, "epochs": 1}


def mkdocs(site: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`mkdocs build` of a temp site; stdout and stderr merged."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(site / "mkdocs.yml")],
        cwd=site,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def build_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Like one_error, for `mkdocs build`: MkDocs frames the error, exactly one line names all needles."""
    out = proc.stdout
    assert proc.returncode != 0, f"expected a failure, got exit 0:\n{out}"
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, f"expected one line naming {needles}, got {len(lines)}:\n{out}"
    assert "ERROR" in lines[0], lines[0]
    return lines[0]


# -- shortcodes and plugin options in a small MkDocs site ----------------------------------------------

USER_IMAGE = "photos/my cat 猫.png"  # a space and a CJK character, as `images:` in mkdocs.yml
USER_SLUG = slugify(Path(USER_IMAGE).stem)


def _write_site(site: Path, cache: Path, pages: dict[str, str], **options: object) -> None:
    site.mkdir(parents=True, exist_ok=True)
    opts = {**SMALL_YML, "cache_dir": str(cache), "images": [USER_IMAGE], **options}
    lines = "".join(
        f"      {key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in opts.items() if value is not None
    )
    header = "site_name: bad input\ntheme:\n  name: material\nplugins:\n  - tinyvgg:\n"
    (site / "mkdocs.yml").write_text(header + lines, encoding="utf-8")
    docs = site / "docs"
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir()
    for name, text in pages.items():
        (docs / name).write_text(textwrap.dedent(text), encoding="utf-8")


GOOD_PAGE = f"""\
    # Home

    Accuracy {{{{ value test-accuracy }}}};
    my photo looks like {{{{ value predicted-class image={USER_SLUG} }}}}.

    {{{{ figure overview image={USER_SLUG} }}}}
    """


@pytest.fixture(scope="module")
def site_cache(small_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache for the small site: the session's trained model plus the user image probed and rendered
    (the first `mkdocs build` does that; every later one hits the cache)."""
    root = tmp_path_factory.mktemp("site-cache")
    (root / "photos").mkdir()
    rgb_image(120, 90, seed=3).save(root / USER_IMAGE)
    cache = root / "cache"
    (cache / "train").mkdir(parents=True)
    train_dir = latest(small_cache, "train")
    shutil.copytree(train_dir, cache / "train" / train_dir.name)
    return cache


def _site(tmp_path: Path, site_cache: Path, pages: dict[str, str], **options: object) -> Path:
    site = tmp_path / "site"
    shutil.copytree(site_cache.parent / "photos", site / "photos")
    _write_site(site, site_cache, pages, **options)
    return site


def test_site_with_a_user_image_named_in_unicode_builds(site_cache: Path, tmp_path: Path) -> None:
    site = _site(tmp_path, site_cache, {"index.md": GOOD_PAGE})
    proc = mkdocs(site, timeout=900)
    assert proc.returncode == 0, proc.stdout
    html = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert f"figures/{USER_SLUG}/overview.en.png" in html  # the theme's language (Material's default: en)
    assert (site / "site" / "figures" / USER_SLUG / "overview.en.png").is_file()
    assert "{{" not in html


BAD_SHORTCODES = {
    "unknown figure kind": ("{{ figure conv-overviews layer=conv_1_1 }}", ["unknown figure kind 'conv-overviews'"]),
    "unknown value": ("{{ value test-accuracyy }}", ["unknown value 'test-accuracyy'"]),
    "unknown parameter": ("{{ figure overview colour=red }}", ["unknown parameter colour"]),
    "neuron out of range": ("{{ figure conv-overview layer=conv_1_1 neuron=10 }}", ["neuron 10 out of range"]),
    "unknown layer": ("{{ figure relu layer=conv_1_1 }}", ["unknown layer 'conv_1_1'"]),
    "unknown image": ("{{ figure input image=dog }}", ["unknown image 'dog'"]),
    "not an integer": ("{{ value bias layer=conv_1_1 neuron=one }}", ["neuron"]),
    "unknown shortcode": ("{{ figures overview }}", ["unknown shortcode 'figures'"]),
}


@pytest.mark.parametrize("case", list(BAD_SHORTCODES))
def test_bad_shortcode_names_page_and_line_and_writes_no_page(case: str, site_cache: Path, tmp_path: Path) -> None:
    code, needles = BAD_SHORTCODES[case]
    bad = f"# Chapter\n\nSome text.\n\nMore text: {code}\n"
    site = _site(tmp_path, site_cache, {"index.md": GOOD_PAGE, "chapter.md": bad})
    # A previous good build left a complete site behind; the failing build must not leave half of one.
    (site / "site").mkdir()
    (site / "site" / "old.html").write_text("<p>an earlier build</p>")
    proc = mkdocs(site)
    build_error(proc, "chapter.md:5", *needles)
    written = [p for p in (site / "site").rglob("*") if p.is_file()]
    assert written == [], f"a failing build wrote {written}"


def test_every_bad_shortcode_of_a_page_is_reported_at_once(site_cache: Path, tmp_path: Path) -> None:
    bad = "# C\n\n{{ figure nope }}\n\n`{{ figure in-code-is-fine }}`\n\n{{ value nope }}\n"
    site = _site(tmp_path, site_cache, {"index.md": GOOD_PAGE, "c.md": bad})
    line = build_error(mkdocs(site), "c.md:3", "c.md:7")
    assert "in-code-is-fine" not in line


BAD_OPTIONS = {
    "negative epochs": ({"epochs": -1}, ["epochs", "-1"]),
    "zero epochs": ({"epochs": 0}, ["epochs"]),
    "unknown dataset": ({"dataset": "imagenet"}, ["dataset", "imagenet"]),
    "missing image": ({"images": ["photos/missing.png"]}, ["images", "missing.png"]),
    "bad image": ({"images": ["photos/broken.jpg"]}, ["broken.jpg", "truncated"]),
    "unknown featured": ({"featured": "dog"}, ["featured", "dog"]),
    "negative max_samples": ({"max_samples": -2}, ["max_samples"]),
    "wrong type": ({"workers": "two"}, ["workers"]),
    "folder without path": ({"dataset": "folder", "images_per_class": None}, ["dataset_path"]),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_plugin_option_names_the_option(case: str, site_cache: Path, tmp_path: Path) -> None:
    options, needles = BAD_OPTIONS[case]
    site = _site(tmp_path, site_cache, {"index.md": "# Home\n"}, **options)
    (site / "photos" / "broken.jpg").write_bytes(jpeg_bytes(rgb_image())[:500])
    before = sorted(str(p) for p in site_cache.rglob("*"))
    build_error(mkdocs(site), *needles)
    assert not (site / "site").exists() or not any((site / "site").rglob("*.html"))
    assert_cache_clean(site_cache)
    if case != "unknown featured":  # a bad featured slug is only known once the sample images are probed
        after = sorted(str(p) for p in site_cache.rglob("*"))
        assert after == before, "a refused build changed the cache"
