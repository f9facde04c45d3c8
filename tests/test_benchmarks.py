"""The benchmark's own measuring code (benchmarks/): the parts that decide pass or fail.

The benchmark itself takes minutes and its numbers depend on the machine, so it is not run here. What
is tested is how it reads the build log, derives the plain MkDocs config, weighs pages and prints the
table: a mistake there would make every row wrong without anything failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO, BuiltSite

from benchmarks.bench_site import REFERENCE_TRAIN_S, host_speed, page_weights, parse_stage_log, without_plugin
from benchmarks.common import MB, Row, check, median
from benchmarks.run import table


def test_stage_times_are_read_from_the_plugin_log_line():
    log = (
        "INFO    -  Cleaning site directory\n"
        "INFO    -  tinyvgg: ran train, probe, render in keys 0.0 s, data 2.3 s, train 23.9 s, "
        "probe 0.7 s, render 21.1 s\n"
        "INFO    -  Documentation built in 6.01 seconds\n"
    )
    assert parse_stage_log(log) == {"keys": 0.0, "data": 2.3, "train": 23.9, "probe": 0.7, "render": 21.1}
    assert parse_stage_log("INFO - Documentation built in 3.1 seconds\n") == {}  # warm: nothing ran


def test_host_speed_is_this_runs_training_over_the_reference_runs():
    slow = host_speed(2 * REFERENCE_TRAIN_S)
    assert (slow.value, slow.measured, slow.ok) == (2.0, "2.00x", None)  # information: no target
    assert host_speed(REFERENCE_TRAIN_S / 2).value == 0.5


def test_plain_config_drops_only_the_plugin_block():
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    plain = without_plugin(text)
    assert "tinyvgg" not in plain and "\n  - tinyvgg" in text
    assert "docs_dir: docs-plain" in plain and "site_dir: site-plain" in plain
    for kept in ("- search", "- i18n", "- glightbox", "markdown_extensions:", "theme:"):
        assert kept in plain, kept
    with pytest.raises(RuntimeError, match="tinyvgg block"):
        without_plugin("plugins:\n  - tinyvgg: {profile: quick}\n")  # inline options: cannot be cut out


def _write(path: Path, size: int | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(size if isinstance(size, bytes) else b"x" * size)
    return path


def test_page_weight_counts_eager_assets_and_skips_lazy_images(tmp_path: Path):
    site = tmp_path / "site"
    _write(site / "assets" / "style.css", 1000)
    _write(site / "assets" / "app.js", 3000)
    _write(site / "figures" / "eager.png", 5000)
    _write(site / "figures" / "lazy.gif", 900_000)
    page = (
        b'<html><head><link rel="stylesheet" href="../assets/style.css">'
        b'<script src="../assets/app.js"></script></head><body>'
        b'<img src="../figures/eager.png"><img src="../figures/lazy.gif" loading="lazy">'
        b'<img src="data:image/png;base64,AAAA"></body></html>'
    )
    html = _write(site / "cnn" / "index.html", page)
    _write(site / "index.html", b"<html><body>home</body></html>")
    rows, details = page_weights(site, site_url="")
    by_page = {p["page"]: p for p in details["pages"]}
    assert by_page["cnn/index.html"] == {
        "page": "cnn/index.html",
        "bytes": len(page) + 9000,
        "lazy_images": 1,
        "eager_assets": 3,
    }
    assert rows[0].value == pytest.approx((len(page) + 909_000 + 30) / MB, abs=1e-6)  # every file on disk
    assert rows[1].name.endswith("cnn/index.html") and rows[1].ok
    third_party = next(r for r in rows if "third-party" in r.name)
    assert third_party.ok and third_party.measured == "0"
    assert not details["missing_refs"]

    html.write_bytes(
        page.replace(b"../assets/app.js", b"https://cdn.example.com/app.js").replace(
            b"../figures/eager.png", b"../figures/gone.png"
        )
    )
    rows, details = page_weights(site, site_url="")
    third_party = next(r for r in rows if "third-party" in r.name)
    assert third_party.ok is False and "cdn.example.com" in third_party.note
    assert details["missing_refs"] == ["figures/gone.png"]
    assert next(r for r in rows if "missing" in r.name).ok is False


def test_the_default_site_meets_the_size_rows(built_site: BuiltSite):
    rows, details = page_weights(built_site.root, built_site.url)
    assert all(r.ok is not False for r in rows), [(r.name, r.measured, r.note) for r in rows if r.ok is False]
    assert len(details["pages"]) > 40 and not details["missing_refs"]
    figures = next(p for p in details["pages"] if p["page"] == "figures/index.html")
    assert figures["lazy_images"] > 50  # the gallery's images do not count against the page


def test_table_marks_pass_fail_and_info():
    rows = [
        Row("1", "cold build", "54.0 s", 54.0, "s", "<= 90 s", check(54.0, 90)),
        Row("1", "  training", "31.0 s", 31.0, "s", "<= 30 s", check(31.0, 30), note="too slow"),
        Row("6", "accuracy", "76.6 %", 76.6, "%", ">= 72 %", check(76.6, 72, at_most=False)),
        Row("7", "peak RSS", "1040 MB"),
    ]
    lines = table(rows).splitlines()
    assert lines[0].split() == ["#", "row", "measured", "target", "result"]
    assert lines[2].endswith("pass") and lines[3].endswith("FAIL") and lines[4].endswith("pass")
    assert lines[5].endswith("info") and "–" in lines[5]
    assert lines[-1] == "  [1] training: too slow"
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([1.0, 2.0]) == 1.5


def test_render_rows_time_what_the_renderer_tests_used_to_time():
    """The budgets moved out of test_render_activations.py and test_render_conv.py: one image's maps in
    <= 1 s, every conv GIF in <= 1 s. Rows measured on the renderer tests' context; only the rows'
    bookkeeping is checked here, not the machine's speed."""
    import hashlib

    from render_fixtures import render_context, spec

    from benchmarks.bench_render import Loaded, activation_batch_row, conv_rows
    from generator.rendering import render_one

    ctx = render_context()
    row = activation_batch_row(ctx, "ladybug")
    assert row.row == "3"
    assert row.target == "<= 1 s"
    assert row.details["maps"] == 113
    assert row.ok is (row.value <= 1.0)

    specs = [spec("conv-overview", "ladybug", "conv_1_1", 0), spec("conv-detail", "ladybug", "conv_2_2", 0)]
    good = hashlib.sha256(render_one(specs[0], ctx).data).hexdigest()[:16]
    manifest = {
        specs[0].id: {"hash": good, "file": "a.gif", "kind": "conv-overview", "bytes": 1},
        specs[1].id: {"hash": "0" * 16, "file": "b.gif", "kind": "conv-detail", "bytes": 1},
        "softmax": {"hash": "", "file": "s.gif", "kind": "softmax", "bytes": 151 * 1024},
    }
    rows = {r.name.split("(")[0].strip(): r for r in conv_rows(Loaded(ctx, specs, manifest))}
    slowest = rows["conv GIF render time, max"]
    assert slowest.target == "each <= 1 s"
    assert slowest.ok is (slowest.value <= 1.0)
    median_row = next(r for name, r in rows.items() if name.startswith("conv GIF render time, median"))
    assert slowest.value >= median_row.value
    identical = rows["conv GIFs byte-identical to the cold build's"]
    assert identical.measured == "1/2"  # the second hash was wrong on purpose
    assert identical.ok is False
    assert rows["softmax GIF size, max of 1"].ok is False  # 151 KiB > 150 KiB


def test_shapes_row_times_the_generator_at_the_tested_size():
    """The budget moved out of test_datasets_shapes.py: 1,000 generated images in <= 3 s."""
    from benchmarks.bench_data import shapes_rows

    (row,) = shapes_rows(per_class=10)
    assert row.row == "1"
    assert row.target == "<= 3 s"
    assert row.details["images"] == 100
    assert "100 images (10 a class)" in row.name
    assert row.ok is (row.value <= 3.0)
