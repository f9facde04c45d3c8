"""The model in the page, in real Chromium, against numbers computed in Python: the JavaScript forward
pass equals the probe's stored outputs for every sample image; a neuron's canvas has exactly the RGB
of its activation PNG; uploads give predict's answer; the view works at 375 px, from the keyboard,
with no console error and no third-party request; without JavaScript the page is its static figures."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_support import latest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from safetensors.numpy import load_file
from support import REPO, BuiltSite
from test_browser import CHROMIUM_ARGS, OVERFLOWING, PHONE, Traffic, record

from generator.config import DEFAULT_CACHE_DIR
from generator.records import ProbeResult, SampleImage
from generator.render.activations import render_activation_batch
from generator.render.colors import lut, normalise_index, symmetric

try:  # where the renderers' shared constants live (render/common.py once the render-common branch is in)
    from generator.render.common import LEVELS, PAD, upscale_factor
except ImportError:
    from generator.render.activations import LEVELS, PAD, upscale_factor

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LAYERS = (
    "input",
    "conv_1_1",
    "relu_1_1",
    "conv_1_2",
    "relu_1_2",
    "max_pool_1",
    "conv_2_1",
    "relu_2_1",
    "conv_2_2",
    "relu_2_2",
    "max_pool_2",
)
SHOTS = REPO / "screenshots" / "inpage"
REF_IMAGES = REPO.parent / "shared" / "reference" / "cnn-explainer" / "images"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def ctx(browser: Browser, built_site: BuiltSite) -> Iterator[tuple[BrowserContext, Page, Traffic]]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", color_scheme="light", service_workers="block"
    )
    context.set_default_timeout(30_000)
    traffic = Traffic()
    record(context, traffic)
    page = context.new_page()
    page.on("pageerror", lambda exc: traffic.console.append(f"uncaught: {exc}"))
    try:
        yield context, page, traffic
    finally:
        context.close()


def open_view(page: Page, site: BuiltSite, path: str = "explore/") -> None:
    page.goto(site.url + path, wait_until="load")
    page.wait_for_function("document.querySelector('section.tv-live')?.dataset.ready === 'true'")


def probes(site: BuiltSite) -> tuple[Path, dict]:
    """The probe stage the site was built from (its facts name the same samples as the site)."""
    probe = latest(REPO / DEFAULT_CACHE_DIR, "probe")
    facts = json.loads((probe / "facts.json").read_text(encoding="utf-8"))
    manifest = json.loads((site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert {e["image"] for e in manifest["figures"] if e["image"]} == {s["slug"] for s in facts["samples"]}
    return probe, facts


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


COMPARE = """
([pixels, expected]) => {
  const r = tinyvgg.forward(pixels);
  const decode = (s) => new Float32Array(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer);
  const out = {top1: r.top1};
  const all = {...r.layers, logits: r.logits, probs: r.probs};
  for (const [name, b] of Object.entries(expected)) {
    const want = decode(b), got = all[name];
    if (!got || got.length !== want.length) { out[name] = `length ${got && got.length} != ${want.length}`; continue; }
    let m = 0;
    // Logits reach |70| here, where one float32 step is 7.6e-6 and PyTorch's own float32 sum of 1,690
    // products is off by a few steps (ours is summed in float64): for them the 1e-5 is relative.
    const scale = (i) => (name === 'logits' ? Math.max(1, Math.abs(want[i])) : 1);
    for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / scale(i));
    out[name] = m;
  }
  return out;
}
"""


def test_forward_equals_the_probe_for_every_sample(ctx, built_site: BuiltSite) -> None:
    _, page, traffic = ctx
    traffic.clear()
    open_view(page, built_site)
    probe, facts = probes(built_site)
    classes = page.evaluate("Array.from(tinyvgg.classes)")
    assert classes == facts["classes_zh"] or classes == facts["classes"]
    worst: dict[str, float] = {}
    for sample in facts["samples"]:
        arrays = load_file(str(probe / "samples" / f"{sample['slug']}.safetensors"))
        expected = {name: b64(arrays[f"stage.{name}"]) for name in LAYERS}
        expected["logits"], expected["probs"] = b64(arrays["stage.output"]), b64(arrays["stage.softmax"])
        got = page.evaluate(COMPARE, [arrays["pixels"].reshape(-1).tolist(), expected])
        assert got.pop("top1") == sample["predicted"], sample["slug"]
        bad = {k: v for k, v in got.items() if not (isinstance(v, float | int) and v <= 1e-5)}
        assert not bad, f"{sample['slug']}: max-abs differences above 1e-5: {bad}"
        worst = {k: max(v, worst.get(k, 0.0)) for k, v in got.items()}
    print("largest differences over all samples:", {k: f"{v:.1e}" for k, v in worst.items()})
    assert not traffic.console, traffic.console


def test_forward_rejects_bad_input_with_one_clear_error(ctx, built_site: BuiltSite) -> None:
    _, page, _ = ctx
    open_view(page, built_site)
    for arg, needle in (
        ("[1, 2, 3]", "expected 12288 values"),
        ("new Array(12288).fill(256)", "not an integer 0..255"),
        ("new Array(12288).fill(0.5)", "not an integer 0..255"),
        ("null", "expected 12288"),
    ):
        message = page.evaluate(
            f"() => {{ try {{ tinyvgg.forward({arg}); return 'no error'; }} "
            f"catch (e) {{ return e.name + ': ' + e.message; }} }}"
        )
        assert message.startswith("TypeError: tinyvgg.forward:") and needle in message, message
    message = page.evaluate("() => tinyvgg.load('x.png').then(() => 'no error', (e) => e.message)")
    assert "File or Blob" in message


def probe_result(probe: Path, slug: str) -> ProbeResult:
    arrays = load_file(str(probe / "samples" / f"{slug}.safetensors"))
    return ProbeResult(
        image=SampleImage(slug=slug, pixels=arrays["pixels"], source="", label=None),
        stages={k[6:]: v for k, v in arrays.items() if k.startswith("stage.")},
        intermediates={k[6:]: v for k, v in arrays.items() if k.startswith("inter.")},
    )


def png_map(png: bytes, h: int) -> np.ndarray:
    """The heatmap inside an activation PNG, one pixel per value (the figure repeats each value zoom x zoom)."""
    import io

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    zoom = upscale_factor(h, 248)
    side = h * zoom
    x0, top = (max(side, 200) + 2 * PAD - side) // 2, PAD + 20
    block = rgb[top : top + side, x0 : x0 + side]
    small = block[::zoom, ::zoom]
    assert (np.repeat(np.repeat(small, zoom, 0), zoom, 1) == block).all(), "not the heatmap region"
    return small


CANVAS = """
([layer, neuron]) => {
  const c = document.querySelector(`canvas.tv-neuron[data-layer="${layer}"][data-neuron="${neuron}"]`);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const out = [];
  for (let i = 0; i < d.length; i += 4) out.push(d[i], d[i + 1], d[i + 2]);
  return [c.width, c.height, out];
}
"""


def test_neuron_canvases_have_the_rgb_of_their_pngs(ctx, built_site: BuiltSite) -> None:
    """The featured image's maps on the page against the activation figures the renderer draws (the
    site's own PNG files too, where the site has them)."""
    _, page, _ = ctx
    open_view(page, built_site)
    cfg = page.evaluate("JSON.parse(document.querySelector('.tv-live-config').textContent)")
    probe, _ = probes(built_site)
    pngs = render_activation_batch(probe_result(probe, cfg["featured"]), LAYERS, cfg["scale"])
    checked = on_site = 0
    for layer in LAYERS:
        for neuron in (0, 2) if layer == "input" else (0, 7):
            w, h, values = page.evaluate(CANVAS, [layer, neuron])
            canvas = np.array(values, dtype=np.uint8).reshape(h, w, 3)
            want = png_map(pngs[(layer, neuron)].data, h)
            assert canvas.shape == want.shape, (layer, neuron)
            assert (canvas == want).all(), f"{layer} #{neuron}: {(canvas != want).any(axis=2).sum()} pixels differ"
            site_png = built_site.root / "figures" / cfg["featured"] / "activations" / f"{layer}-{neuron}.png"
            if site_png.is_file():
                assert site_png.read_bytes() == pngs[(layer, neuron)].data
                on_site += 1
            checked += 1
    assert checked == 2 * len(LAYERS)
    print(f"{checked} maps equal their figures; {on_site} of them also compared with the site's PNG file")


def colours(values: np.ndarray, name: str) -> np.ndarray:
    lo, hi = symmetric(values)
    return lut(name, LEVELS)[normalise_index(values, lo, hi, LEVELS)]


def test_neuron_detail_opens_by_click_and_by_enter_and_shows_the_live_kernel_maps(ctx, built_site: BuiltSite) -> None:
    _, page, traffic = ctx
    traffic.clear()
    open_view(page, built_site, "en/explore/")
    detail = page.locator(".tv-live-detail")
    expect(detail).to_be_hidden()
    page.locator('canvas.tv-neuron[data-layer="relu_1_1"][data-neuron="4"]').click()
    expect(detail).to_be_visible()
    expect(detail.locator("h3")).to_have_text("relu_1_1 · neuron 4")
    expect(detail).to_contain_text("Before ReLU")
    neuron = page.locator('canvas.tv-neuron[data-layer="conv_1_2"][data-neuron="3"]')
    neuron.focus()
    page.keyboard.press("Enter")
    expect(detail.locator("h3")).to_have_text("conv_1_2 · neuron 3")
    expect(detail.locator(".tv-live-step")).to_have_count(10)
    # the partial maps are computed in the page: compare their colours with the probe's intermediates
    probe, _ = probes(built_site)
    featured = page.evaluate("JSON.parse(document.querySelector('.tv-live-config').textContent).featured")
    inter = load_file(str(probe / "samples" / f"{featured}.safetensors"))["inter.conv_1_2"][3]  # (10, 60, 60)
    want = colours(inter, "RdBu")
    got = page.evaluate("""() => Array.from(document.querySelectorAll('.tv-live-step')).map((row) => {
        const c = row.querySelectorAll('canvas')[2], d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const out = []; for (let i = 0; i < d.length; i += 4) out.push(d[i], d[i + 1], d[i + 2]); return out; })""")
    got = np.array(got, dtype=np.uint8).reshape(want.shape)
    differ = (got != want).any(axis=-1)
    assert differ.mean() < 1e-3, f"{differ.sum()} of {differ.size} partial-map pixels differ"
    bias = json.loads((probe / "facts.json").read_text())["biases"]["conv_1_2"][3]
    expect(detail.locator(".tv-live-sum")).to_contain_text(f"{float(f'{bias:.3g}')}")
    page.locator(".tv-live-close").click()
    expect(detail).to_be_hidden()
    expect(neuron).to_be_focused()
    assert not traffic.console, traffic.console


def upload_files(tmp: Path) -> list[Path]:
    """A JPEG, a PNG with alpha, a greyscale image and non-square photos (one of 1600 x 1200)."""
    base = (
        Image.open(sorted(REF_IMAGES.glob("*.jpeg"))[0]).convert("RGB")
        if REF_IMAGES.is_dir()
        else Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    )
    rng = np.random.default_rng(1)
    out = []
    photo = np.asarray(base.resize((220, 140), Image.Resampling.BICUBIC)).astype(np.int16)
    photo = np.clip(photo + rng.integers(-12, 13, photo.shape), 0, 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp / "photo-wide.jpg", quality=90)
    out.append(tmp / "photo-wide.jpg")
    base.resize((96, 96)).save(tmp / "square.jpeg", quality=85)
    out.append(tmp / "square.jpeg")
    rgba = np.dstack([np.asarray(base.resize((80, 100))), np.tile(np.linspace(0, 255, 80, dtype=np.uint8), (100, 1))])
    rgba[:10, :, 3] = 0
    rgba[-10:, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp / "alpha.png")
    out.append(tmp / "alpha.png")
    base.convert("L").resize((75, 75)).save(tmp / "grey.png")
    out.append(tmp / "grey.png")
    big = np.asarray(base.resize((1600, 1200), Image.Resampling.BICUBIC))
    Image.fromarray(big).save(tmp / "photo-big.jpg", quality=92)
    out.append(tmp / "photo-big.jpg")
    return out


def test_uploads_give_predicts_answer(ctx, built_site: BuiltSite, tmp_path: Path) -> None:
    _, page, traffic = ctx
    traffic.clear()
    open_view(page, built_site)
    files = upload_files(tmp_path)
    (model,) = sorted(built_site.root.glob("model/*/model.json"))
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "predict", "--weights", str(model), "--json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    predicted = {Path(r["path"]).name: r for r in json.loads(proc.stdout)}
    from generator.images import load_image

    for path in files:
        page.locator("input.tv-live-file").set_input_files(str(path))
        page.wait_for_function("name => tinyvgg.current && tinyvgg.current.source === name", arg=path.name)
        current = page.evaluate(
            "() => ({pixels: Array.from(tinyvgg.current.pixels), "
            "probs: Array.from(tinyvgg.current.result.probs), top1: tinyvgg.current.result.top1})"
        )
        want = predicted[path.name]
        probs = np.array(list(want["probabilities"].values()))
        assert current["top1"] == int(np.argmax(probs)), path.name
        assert np.abs(np.array(current["probs"]) - probs).max() <= 1e-3, path.name
        pixels = np.array(current["pixels"]).reshape(64, 64, 3)
        diff = np.abs(pixels - load_image(path).astype(int))
        # Semi-transparent pixels are put on white by the browser, with its own rounding: one level at most.
        assert diff.max() <= (1 if path.name == "alpha.png" else 0), f"{path.name}: pixels differ by {diff.max()}"
        print(
            f"{path.name}: top-1 {current['top1']}, max |p_page - p_predict| "
            f"{np.abs(np.array(current['probs']) - probs).max():.2e}, pixels max diff {diff.max()}"
        )
    expect(page.locator(".tv-live-status")).to_contain_text("photo-big.jpg")
    # drag and drop: the same image as a dropped file gives the same pixels as through the file input
    data = base64.b64encode((tmp_path / "grey.png").read_bytes()).decode()
    page.evaluate(
        """([b64, name]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, {type: 'image/png'}));
        const target = document.querySelector('.tv-live-net');
        for (const type of ['dragover', 'drop']) {
          target.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
        }
    }""",
        [data, "dropped.png"],
    )
    page.wait_for_function("() => tinyvgg.current.source === 'dropped.png'")
    dropped = np.array(page.evaluate("Array.from(tinyvgg.current.pixels)")).reshape(64, 64, 3)
    assert (dropped == load_image(tmp_path / "grey.png")).all()
    # a file that is no image: one clear message, no uncaught error
    (tmp_path / "notes.txt").write_text("not an image")
    page.locator("input.tv-live-file").set_input_files(str(tmp_path / "notes.txt"))
    expect(page.locator(".tv-live-status")).to_contain_text("not a readable image")
    local = [u for u in traffic.requests if not u.startswith((built_site.url, "data:", "blob:"))]
    assert not local, local
    assert not traffic.console, traffic.console


def test_sample_picker_switches_the_image(ctx, built_site: BuiltSite) -> None:
    _, page, _ = ctx
    open_view(page, built_site, "en/explore/")
    _, facts = probes(built_site)
    buttons = page.locator("button.tv-live-sample")
    expect(buttons).to_have_count(len(facts["samples"]))
    last = facts["samples"][-1]
    buttons.nth(1).click()  # two picks in a row: the last one asked for is the one shown
    buttons.last.click()
    expect(buttons.last).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "n => tinyvgg.current.result.top1 === n && tinyvgg.current.source === "
        "document.querySelectorAll('button.tv-live-sample')[document.querySelectorAll("
        "'button.tv-live-sample').length - 1].textContent",
        arg=last["predicted"],
    )
    probs = page.evaluate("Array.from(tinyvgg.current.result.probs)")
    assert np.abs(np.array(probs) - np.array(last["probs"])).max() <= 1e-5


def test_phone_width_scrolls_the_layers_not_the_page(ctx, built_site: BuiltSite) -> None:
    _, page, traffic = ctx
    SHOTS.mkdir(parents=True, exist_ok=True)
    traffic.clear()
    page.set_viewport_size({"width": PHONE, "height": 812})
    try:
        for path in ("explore/", "en/explore/"):
            open_view(page, built_site, path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE, f"/{path}: scrollWidth {width}: {page.evaluate(OVERFLOWING, PHONE)}"
            net = page.locator(".tv-live-net")
            assert net.evaluate("n => n.scrollWidth > n.clientWidth"), "the layers should scroll sideways"
            page.locator('canvas.tv-neuron[data-layer="conv_2_1"][data-neuron="0"]').click()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
            name = "phone-" + path.strip("/").replace("/", "-") + ".png"
            page.locator("section.tv-live").screenshot(path=str(SHOTS / name))
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    open_view(page, built_site)
    page.locator('canvas.tv-neuron[data-layer="conv_1_1"][data-neuron="1"]').click()
    page.locator("section.tv-live").screenshot(path=str(SHOTS / "desktop-explore.png"))
    assert not traffic.console, traffic.console
    assert not traffic.failed, traffic.failed


def test_without_javascript_the_page_is_its_static_figures(browser: Browser, built_site: BuiltSite) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    traffic = Traffic()
    record(context, traffic)
    try:
        page = context.new_page()
        for path in ("explore/", "en/explore/"):
            page.goto(built_site.url + path, wait_until="load")
            expect(page.locator("section.tv-live")).to_be_hidden()
            expect(page.locator(".tv-samples a.tv-sample").first).to_be_visible()
            assert page.locator(".tv-samples a.tv-sample").count() >= 1
        assert not [u for u in traffic.requests if re.search(r"/(model|live|assets/tinyvgg)/", u)], traffic.requests
    finally:
        context.close()
