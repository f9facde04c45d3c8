"""The step-by-step players (generator/steps.py, assets/steps.js) in real Chromium, against PyTorch:
a conv pixel's windows, kernels, products, sums and result equal F.conv2d's; pooling's winner is
F.max_pool2d's; the softmax numbers are torch.softmax's; the playground's output size is the shape
F.conv2d gives, or the combination is flagged. The player contract (data-tv-player, data-state,
data-step) follows space and the arrow keys; reduced motion starts paused on the last step; 375 px."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cli_support import latest
from conftest import REPO, BuiltSite
from playwright.sync_api import Browser, BrowserContext, Page
from safetensors.numpy import load_file
from test_browser import CHROMIUM_ARGS, OVERFLOWING, PHONE, Traffic, record

from generator.config import DEFAULT_CACHE_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# A figure's light picture (the one without JavaScript, in print, in the light scheme); a figure of the
# site's own pages also has its dark variant, "#only-dark", which Material shows in the slate scheme.
LIGHT = "img:not([src$='#only-dark'])"
SHOTS = REPO / "screenshots" / "players"
CACHE = REPO / DEFAULT_CACHE_DIR  # where the built_site fixture's build (the repository's mkdocs.yml) caches
PREVIOUS = {
    "conv_1_1": "input",
    "conv_1_2": "relu_1_1",
    "conv_2_1": "max_pool_1",
    "conv_2_2": "relu_2_1",
    "max_pool_1": "relu_1_2",
    "max_pool_2": "relu_2_2",
}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


def new_page(browser: Browser, **options) -> tuple[BrowserContext, Page, Traffic]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block", **options)
    context.set_default_timeout(30_000)
    traffic = Traffic()
    record(context, traffic)
    page = context.new_page()
    page.on("pageerror", lambda exc: traffic.console.append(f"uncaught: {exc}"))
    return context, page, traffic


@pytest.fixture(scope="module")
def ctx(browser: Browser, built_site: BuiltSite) -> Iterator[tuple[Page, Traffic]]:
    context, page, traffic = new_page(browser)
    try:
        yield page, traffic
    finally:
        context.close()


def open_page(page: Page, site: BuiltSite, path: str) -> None:
    page.goto(site.url + path, wait_until="load")
    page.wait_for_function("document.documentElement.dataset.tvSteps === 'ready'")


def choose_image(page: Page, slug: str) -> None:
    page.locator("select.tv-pick-image").first.select_option(slug)
    page.wait_for_function(f"document.documentElement.dataset.tvImage === {json.dumps(slug)}")


def stages(slug: str) -> dict[str, torch.Tensor]:
    """The probe's PyTorch outputs of every layer for a sample image."""
    arrays = load_file(str(latest(CACHE, "probe") / "samples" / f"{slug}.safetensors"))
    return {k.removeprefix("stage."): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("stage.")}


def weights() -> dict[str, torch.Tensor]:
    state = load_file(str(latest(CACHE, "train") / "model.safetensors"))
    return {k: torch.from_numpy(v) for k, v in state.items()}


def hover(page: Page, root, r: int, c: int, side: int) -> None:
    """Move the mouse over output pixel (r, c) of the player's output map (side x side)."""
    target = root.locator(".tv-map-out, .tv-map-pout")
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.mouse.move(box["x"] + (c + 0.5) * box["width"] / side, box["y"] + (r + 0.5) * box["height"] / side)


READ_CONV = """
(panel) => ({r: +panel.dataset.r, c: +panel.dataset.c,
  rows: [...panel.querySelectorAll('.tv-arith-row')].map((row) => Object.fromEntries(
    ['window', 'kernel', 'products'].map((role) => [role,
      [...row.querySelectorAll(`table[data-role=${role}] td`)]
      .map((td) => +td.dataset.v)]).concat([['partial', +row.querySelector('[data-role=partial]').dataset.v]]))),
  ...Object.fromEntries(['sum', 'bias', 'result', 'model'].map(
    (k) => [k, +panel.querySelector(`[data-role=${k}]`).dataset.v])),
  shown: panel.querySelector('[data-role=result]').textContent})
"""


def test_conv_hover_arithmetic_equals_conv2d(ctx, built_site: BuiltSite) -> None:
    """Three random output pixels of three conv neurons of two images: every number equals PyTorch's."""
    page, traffic = ctx
    traffic.clear()
    open_page(page, built_site, "convolution/")
    facts = json.loads((latest(CACHE, "probe") / "facts.json").read_text(encoding="utf-8"))
    w = weights()
    rng = random.Random(14)
    player = page.locator('figure[data-tv-player="conv-detail"]')
    panel = player.locator(".tv-arith")
    for slug in [s["slug"] for s in facts["samples"]][:2]:
        choose_image(page, slug)
        st = stages(slug)
        for layer, neuron in (("conv_1_1", 0), ("conv_1_2", 3), ("conv_2_1", 7)):
            player.locator("select.tv-pick-layer").select_option(layer)
            player.locator("select.tv-pick-neuron").select_option(str(neuron))
            # the GIF's caption describes conv_1_1 neuron 0 of the featured image: shown only with it
            same = (layer, neuron, slug) == ("conv_1_1", 0, player.get_attribute("data-tv-image"))
            assert player.locator(":scope > figcaption").is_visible() == same
            x = st[PREVIOUS[layer]]  # (in_c, H, W)
            out = F.conv2d(x[None], w[f"{layer}.weight"], w[f"{layer}.bias"])[0, neuron]  # (H-2, W-2)
            side = out.shape[0]
            for _ in range(3):
                r, c = rng.randrange(side), rng.randrange(side)
                hover(page, player, r, c, side)
                got = panel.evaluate(READ_CONV)
                assert (got["r"], got["c"]) == (r, c)
                kernel = w[f"{layer}.weight"][neuron]  # (in_c, 3, 3)
                assert len(got["rows"]) == x.shape[0]
                for ch, row in enumerate(got["rows"]):
                    window = x[ch, r : r + 3, c : c + 3]
                    np.testing.assert_allclose(row["window"], window.reshape(-1), atol=1e-6)
                    np.testing.assert_allclose(row["kernel"], kernel[ch].reshape(-1), atol=1e-7)
                    products = window * kernel[ch]
                    np.testing.assert_allclose(row["products"], products.reshape(-1), atol=1e-6)
                    assert abs(row["partial"] - float(products.sum())) <= 1e-5
                assert abs(got["bias"] - float(w[f"{layer}.bias"][neuron])) <= 1e-7
                assert abs(got["result"] - float(out[r, c])) <= 1e-5, (slug, layer, neuron, r, c)
                assert abs(got["model"] - float(out[r, c])) <= 1e-5
                assert abs(got["sum"] + got["bias"] - got["result"]) <= 1e-9
                assert abs(float(got["shown"]) - got["result"]) <= 5e-4  # the text is the value, rounded
    assert not traffic.console, traffic.console


def test_keyboard_moves_the_pixel_and_an_upload_drives_the_players(ctx, built_site: BuiltSite) -> None:
    """The arrow keys on the output map move the pixel (not the player); the reader's own image (here a
    sample's 64x64 PNG, uploaded) is what every player then computes."""
    page, traffic = ctx
    traffic.clear()
    open_page(page, built_site, "en/convolution/")
    player = page.locator('figure[data-tv-player="conv-detail"]')
    panel = player.locator(".tv-arith")
    player.locator(".tv-map-out").focus()
    step = player.get_attribute("data-step")
    for key, want in (("ArrowRight", ("0", "1")), ("ArrowDown", ("1", "1")), ("ArrowRight", ("1", "2"))):
        page.keyboard.press(key)
        assert (panel.get_attribute("data-r"), panel.get_attribute("data-c")) == want
    assert player.get_attribute("data-step") == step
    facts = json.loads((latest(CACHE, "probe") / "facts.json").read_text(encoding="utf-8"))
    slug = facts["samples"][-1]["slug"]
    png = next((built_site.root / "live" / "samples").glob(f"{slug}-*.png"))
    player.locator("input.tv-file").set_input_files(png)
    page.wait_for_function("document.documentElement.dataset.tvImage === 'yours'")
    w = weights()
    out = F.conv2d(stages(slug)["input"][None], w["conv_1_1.weight"], w["conv_1_1.bias"])[0, 0]
    hover(page, player, 40, 21, out.shape[0])
    got = panel.evaluate(READ_CONV)
    assert (got["r"], got["c"]) == (40, 21)
    assert abs(got["result"] - float(out[40, 21])) <= 1e-5
    softmax = page.locator('figure[data-tv-player="softmax"]')
    assert softmax.count() == 0 or softmax.locator("select.tv-pick-image").input_value() == ""
    assert not traffic.console, traffic.console


def test_pool_winner_equals_max_pool2d(ctx, built_site: BuiltSite) -> None:
    page, traffic = ctx
    traffic.clear()
    open_page(page, built_site, "en/pooling/")
    slug = page.evaluate("document.documentElement.dataset.tvImage")
    st = stages(slug)
    player = page.locator('figure[data-tv-player="pool"]')
    rng = random.Random(2)
    for layer, neuron in (("max_pool_1", 0), ("max_pool_2", 5)):
        player.locator("select.tv-pick-layer").select_option(layer)
        player.locator("select.tv-pick-neuron").select_option(str(neuron))
        x = st[PREVIOUS[layer]][neuron]  # (H, W)
        pooled, idx = F.max_pool2d(x[None, None], 2, return_indices=True)
        side = pooled.shape[-1]
        for _ in range(3):
            r, c = rng.randrange(side), rng.randrange(side)
            hover(page, player, r, c, side)
            got = player.locator(".tv-pool-cells table").evaluate(
                "t => ({winner: +t.dataset.winner, v: [...t.querySelectorAll('td')].map(td => +td.dataset.v)})"
            )
            flat = int(idx[0, 0, r, c])
            want = (flat // x.shape[1] - 2 * r) * 2 + (flat % x.shape[1] - 2 * c)
            window = x[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].reshape(-1)
            np.testing.assert_allclose(got["v"], window, atol=1e-5)  # the page's forward pass vs the probe's
            assert abs(got["v"][got["winner"]] - float(pooled[0, 0, r, c])) <= 1e-5
            if sorted(window.tolist())[-1] - sorted(window.tolist())[-2] > 1e-5:  # one clear winner
                assert got["winner"] == want, (layer, neuron, r, c)
            result = float(player.locator('.tv-arith [data-role="result"]').get_attribute("data-v"))
            assert abs(result - float(pooled[0, 0, r, c])) <= 1e-5
    assert not traffic.console, traffic.console


def test_relu_hover_shows_x_and_max_0_x(ctx, built_site: BuiltSite) -> None:
    page, traffic = ctx
    traffic.clear()
    open_page(page, built_site, "activation/")
    slug = page.evaluate("document.documentElement.dataset.tvImage")
    st = stages(slug)
    view = page.locator('figure[data-tv-view="relu"]')
    rng = random.Random(3)
    for layer, before, neuron in (("relu_1_1", "conv_1_1", 0), ("relu_2_2", "conv_2_2", 4)):
        view.locator("select.tv-pick-layer").select_option(layer)
        view.locator("select.tv-pick-neuron").select_option(str(neuron))
        x = st[before][neuron]
        side = x.shape[-1]
        for _ in range(3):
            r, c = rng.randrange(side), rng.randrange(side)
            target = view.locator(".tv-map-pin").nth(1)
            target.scroll_into_view_if_needed()
            box = target.bounding_box()
            page.mouse.move(box["x"] + (c + 0.5) * box["width"] / side, box["y"] + (r + 0.5) * box["height"] / side)
            panel = view.locator(".tv-arith")
            assert (panel.get_attribute("data-r"), panel.get_attribute("data-c")) == (str(r), str(c))
            got_x = float(panel.locator('[data-role="input"]').get_attribute("data-v"))
            got_y = float(panel.locator('[data-role="result"]').get_attribute("data-v"))
            assert abs(got_x - float(x[r, c])) <= 1e-5
            assert abs(got_y - float(F.relu(x)[r, c])) <= 1e-5 and got_y == max(0.0, got_x)
    assert not traffic.console, traffic.console


def test_softmax_numbers_equal_torch_softmax(ctx, built_site: BuiltSite) -> None:
    page, traffic = ctx
    traffic.clear()
    open_page(page, built_site, "activation/")
    facts = json.loads((latest(CACHE, "probe") / "facts.json").read_text(encoding="utf-8"))
    player = page.locator('figure[data-tv-player="softmax"]')
    for slug in [s["slug"] for s in facts["samples"]][:2]:
        choose_image(page, slug)
        z = stages(slug)["output"].double()
        p = torch.softmax(z, 0)
        shift = float(z.max()) if float(z.max()) > 80 else 0.0
        exps = torch.exp(z - shift)
        for k in range(len(z)):
            player.locator(f'tr[data-class="{k}"] button').click()
            assert player.get_attribute("data-state") == "paused"
            f = player.locator(".tv-sm-formula")
            assert f.get_attribute("data-class") == str(k)
            got = {
                role: float(f.locator(f'[data-role="{role}"]').get_attribute("data-v"))
                for role in ("z", "exp", "sum", "p")
            }
            assert abs(got["z"] - (float(z[k]) - shift)) <= 1e-5
            assert abs(got["exp"] - float(exps[k])) <= 1e-5 * max(1.0, float(exps[k]))
            assert abs(got["sum"] - float(exps.sum())) <= 1e-5 * float(exps.sum())
            assert abs(got["p"] - float(p[k])) <= 1e-5, (slug, k)
    assert not traffic.console, traffic.console


def test_playground_output_size_is_conv2d_shape_or_flagged(ctx, built_site: BuiltSite) -> None:
    """All 108 combinations: the output's size and cells are F.conv2d's on the figures' input and kernel."""
    from generator.render.hyper import sample_input, sample_kernel

    page, traffic = ctx
    traffic.clear()
    open_page(page, built_site, "en/hyperparameters/")
    box = page.locator('div.tv-playground[data-tv-player="playground"]')
    assert box.is_visible()
    seen = 0
    for w in range(5, 8):
        box.locator('input[data-param="W"]').fill(str(w))
        for p in range(0, 3):
            box.locator('input[data-param="P"]').fill(str(p))
            for k in range(2, 6):
                box.locator('input[data-param="K"]').fill(str(k))
                for s in range(1, 4):
                    box.locator('input[data-param="S"]').fill(str(s))
                    formula = box.locator(".tv-hp-formula")
                    shape = F.conv2d(torch.zeros(1, 1, w, w), torch.zeros(1, 1, k, k), padding=p, stride=s).shape
                    assert int(formula.get_attribute("data-out")) == shape[-1], (w, p, k, s)
                    exact = (w - k + 2 * p) % s == 0
                    assert formula.get_attribute("data-exact") == str(exact).lower(), (w, p, k, s)
                    x = torch.tensor(sample_input(w), dtype=torch.float32)[None, None]
                    kernel = torch.tensor(sample_kernel(k), dtype=torch.float32)[None, None]
                    want = F.conv2d(x, kernel, padding=p, stride=s)[0, 0].round().int().reshape(-1).tolist()
                    cells = box.locator(".tv-hp-out .tv-hp-cell").evaluate_all("cs => cs.map(c => +c.textContent)")
                    assert cells == want, (w, p, k, s)
                    if not exact:
                        left = w + 2 * p - ((shape[-1] - 1) * s + k)
                        assert box.locator(".tv-hp-note").text_content().count(f"last {left} row") == 1
                    seen += 1
    assert seen == 108
    slider = box.locator('input[data-param="W"]')  # the controls work from the keyboard too
    slider.focus()
    page.keyboard.press("ArrowLeft")
    assert slider.input_value() == "6" and "(6 − 5 + 2·2) / 3" in box.locator(".tv-hp-formula").text_content()
    assert not traffic.console, traffic.console


def test_player_contract_keyboard_and_no_js_fallback(ctx, built_site: BuiltSite) -> None:
    """Space toggles data-state, → increments data-step, ← goes back; the GIF stays in the page."""
    page, traffic = ctx
    traffic.clear()
    kinds = set()
    for path in ("convolution/", "pooling/", "activation/", "en/hyperparameters/"):
        open_page(page, built_site, path)
        for i in range(page.locator("[data-tv-player]").count()):
            root = page.locator("[data-tv-player]").nth(i)
            kinds.add(root.get_attribute("data-tv-player"))
            assert root.get_attribute("data-state") in ("playing", "paused")
            root.locator(".tv-pl-toggle").focus()
            before = root.get_attribute("data-state")
            page.keyboard.press(" ")
            after = root.get_attribute("data-state")
            assert {before, after} == {"playing", "paused"}, (path, i)
            if after == "playing":
                page.keyboard.press(" ")
            assert root.get_attribute("data-state") == "paused"
            root.locator(".tv-pl-scrub").evaluate("s => { s.value = 0; s.dispatchEvent(new Event('input')); }")
            assert root.get_attribute("data-step") == "0"
            root.locator(".tv-pl-toggle").focus()
            page.keyboard.press("ArrowRight")
            assert root.get_attribute("data-step") == "1"
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowLeft")
            assert root.get_attribute("data-step") == "1"
            if root.evaluate("r => r.tagName") == "FIGURE":
                # the GIF stays for print and embedding (and its dark variant for the slate scheme)
                assert root.locator("img:not([src$='#only-dark'])").count() == 1
    assert kinds == {"conv-detail", "conv-overview", "pool", "softmax", "hyperparameter", "playground"}
    assert not traffic.console, traffic.console


def test_steps_follow_the_gifs_order(ctx, built_site: BuiltSite) -> None:
    """Step i shows the window the GIF's frame i shows: conv-overview's even sweep
    (render/common.sweep_positions), and the walks chosen from the data for conv-detail and pool
    (examples.detail_walk / pool_walk, in the manifest's stats) while the player shows that figure."""
    from generator.render.common import sweep_positions
    from generator.render.conv import OVERVIEW_STEPS

    manifest = json.loads((built_site.root / "figures" / "manifest.json").read_text(encoding="utf-8"))["figures"]
    page, _ = ctx
    for path, kind, side in (
        ("convolution/", "conv-detail", 62),
        ("convolution/", "conv-overview", 62),
        ("pooling/", "pool", 30),
    ):
        open_page(page, built_site, path)
        root = page.locator(f'figure[data-tv-player="{kind}"]')
        image, layer, neuron = (root.get_attribute(f"data-tv-{k}") for k in ("image", "layer", "neuron"))
        if kind == "conv-overview":
            walk = sweep_positions(side * side, OVERVIEW_STEPS[0], sum(OVERVIEW_STEPS))
        else:
            (entry,) = [
                e
                for e in manifest
                if (e["kind"], e["image"], e["layer"], str(e["neuron"])) == (kind, image, layer, neuron)
            ]
            walk = entry["stats"]["positions"]
            assert walk != sweep_positions(side * side, 8, 24), "the chosen walk is not the plain sweep"
        want = [divmod(p, side) for p in walk]
        got = root.evaluate("""(fig) => {
          const scrub = fig.querySelector('.tv-pl-scrub'), panel = fig.querySelector('.tv-arith'), out = [];
          for (let i = 0; i <= +scrub.max; i++) {
            scrub.value = i;
            scrub.dispatchEvent(new Event('input'));
            out.push([+panel.dataset.r, +panel.dataset.c]);
          }
          return out;
        }""")
        assert [tuple(x) for x in got] == want, kind


def test_reduced_motion_starts_paused_on_the_last_step(browser: Browser, built_site: BuiltSite) -> None:
    context, page, traffic = new_page(browser, reduced_motion="reduce")
    try:
        for path in ("convolution/", "en/activation/", "en/hyperparameters/"):
            open_page(page, built_site, path)
            roots = page.locator("[data-tv-player]")
            for i in range(roots.count()):
                root = roots.nth(i)
                assert root.get_attribute("data-state") == "paused", path
                last = int(root.locator(".tv-pl-scrub").get_attribute("max"))
                assert int(root.get_attribute("data-step")) == last > 0, path
        assert not traffic.console, traffic.console
    finally:
        context.close()


def test_hover_and_step_respond_within_50_ms(ctx, built_site: BuiltSite) -> None:
    page, _ = ctx
    open_page(page, built_site, "convolution/")
    page.locator('figure[data-tv-player="conv-detail"] select.tv-pick-layer').select_option("conv_1_2")
    worst = page.evaluate("""() => {
      const fig = document.querySelector('figure[data-tv-player="conv-detail"]');
      const map = fig.querySelector('.tv-map-out'), b = map.getBoundingClientRect();
      const fwd = fig.querySelector('.tv-pl-fwd');
      const time = (fn) => { const t0 = performance.now(); fn(); return performance.now() - t0; };
      const move = (i) => map.dispatchEvent(new PointerEvent('pointermove', {bubbles: true,
        clientX: b.left + (i + 0.5) * b.width / 20, clientY: b.top + (i + 0.5) * b.height / 20}));
      move(0); fwd.click(); // warm up
      const hover = [], step = [];
      for (let i = 1; i < 20; i++) { hover.push(time(() => move(i))); step.push(time(() => fwd.click())); }
      return {hover: Math.max(...hover), step: Math.max(...step)};
    }""")
    print("slowest hover, step (ms):", worst)
    assert worst["hover"] < 50 and worst["step"] < 50, worst


@pytest.mark.parametrize("path", ["convolution/", "en/pooling/", "en/activation/", "hyperparameters/"])
def test_phone_width_and_screenshots(ctx, built_site: BuiltSite, path: str) -> None:
    page, traffic = ctx
    traffic.clear()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": PHONE, "height": 812})
    try:
        open_page(page, built_site, path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE, f"/{path}: scrollWidth {width}: {page.evaluate(OVERFLOWING, PHONE)}"
        roots = page.locator("[data-tv-player], [data-tv-view]")
        for i in range(roots.count()):
            roots.nth(i).screenshot(path=str(SHOTS / f"phone-{path.strip('/').replace('/', '-')}-{i}.png"))
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, built_site, path)
    roots = page.locator("[data-tv-player], [data-tv-view]")
    for i in range(roots.count()):
        roots.nth(i).screenshot(path=str(SHOTS / f"desktop-{path.strip('/').replace('/', '-')}-{i}.png"))
    assert not traffic.console, traffic.console


def test_without_javascript_the_pages_show_their_gifs(browser: Browser, built_site: BuiltSite) -> None:
    context, page, _ = new_page(browser, java_script_enabled=False)
    try:
        page.goto(built_site.url + "convolution/")
        assert page.locator(f"figure.tv-conv-detail {LIGHT}").is_visible()
        assert page.locator("figure.tv-conv-detail img[src$='#only-dark']").is_hidden()
        assert page.locator("[data-tv-player]").count() == 0
        page.goto(built_site.url + "hyperparameters/")
        assert page.locator("div.tv-playground").is_hidden()
        assert page.locator(f"figure.tv-hyperparameter {LIGHT}").first.is_visible()
    finally:
        context.close()


def test_print_shows_the_gifs_not_the_players(ctx, built_site: BuiltSite) -> None:
    page, _ = ctx
    open_page(page, built_site, "convolution/")
    page.emulate_media(media="print")
    try:
        assert page.locator(f"figure.tv-conv-detail {LIGHT}").is_visible()
        assert page.locator("figure.tv-conv-detail .tv-pl").is_hidden()
    finally:
        page.emulate_media(media="screen")
    assert page.locator(f"figure.tv-conv-detail {LIGHT}").is_hidden()
