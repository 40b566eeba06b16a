"""The presenter features in a real browser (Debian's chromium, playwright): every tab opens on its
default result (computed once per process), notices by level, the synchronised zoom and the picked
slider, provenance in the download, a permalink and two sessions that never see each other's
results, the slide deck (arrow keys, one PDF page per slide), the Evaluation tab's layout (two
charts per row, no overlapping text, the failure gallery there with the tab). Full-page screenshots
of every tab at 1400 px and 1024 px go to $GAN_GALLERY_SCREENSHOTS if set, else to pytest's tmp dir.
One app server and one browser serve the whole module."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app
from demos import dcgan, evaluation, inpainting, presenter, superres, text2image, translation
from eval.comparison import read_provenance
from eval.metrics import psnr
from eval.tasks import figures

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OVERLAPS_JS = (Path(__file__).resolve().parent / "chart_overlaps.js").read_text()
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
SLOW = 240_000  # ms: the 2-core machine may be busy with training runs
DEFAULT_TEXT = {superres.TITLE: "text=Bicubic:", dcgan.TITLE: "text=#1:", text2image.TITLE: "text=#1 · seed 0",
                inpainting.TITLE: "text=Telea (OpenCV):", translation.TITLE: "text=pix2pix: day → night"}  # fmt: skip
# the tabs with a comparison viewer (the slider between two picked panels): their default's key
VIEWER_KEYS = {superres.TITLE: "superres", inpainting.TITLE: "inpainting", translation.TITLE: "translation"}
PICKERS_JS = ("() => Array.from(document.querySelectorAll('.gg-pick-left input, .gg-pick-right input'))"
              ".filter(e => e.offsetParent).map(e => e.value)")  # fmt: skip

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"),
              # the first test also waits for the app to build and every default result (minutes when
              # training runs share the 2 cores)
              pytest.mark.timeout(2400)]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots (and the deck the deck test reads) go: $GAN_GALLERY_SCREENSHOTS, else a tmp dir."""
    folder = Path(os.environ["GAN_GALLERY_SCREENSHOTS"]) if os.environ.get("GAN_GALLERY_SCREENSHOTS") else \
        tmp_path_factory.mktemp("presenter_screens")  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(browser):
    """The app as served, with every default result counted as it is computed (after `browser`: a
    missing playwright skips before the app is built)."""
    demo = app.build_app()
    counts: Counter = Counter()
    originals = dict(presenter._default_fns)
    for key, fn in originals.items():
        def counted(fn=fn, key=key):
            counts[key] += 1
            return fn()

        presenter._default_fns[key] = counted
    presenter._default_values.clear()
    port = free_port()
    app.serve(demo, warm_defaults=False, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    presenter.warm_defaults(None)  # as app.main does in the background, here before any page opens
    try:
        yield f"http://127.0.0.1:{port}/", counts
    finally:
        demo.close()
        presenter._default_fns.update(originals)


def open_page(browser, url: str, width: int = 1400):
    """A fresh browser session (its own context) on the app, once its tabs are there. Not
    "networkidle": the page holds gradio's heartbeat stream open for as long as it lives."""
    ctx = browser.new_context(viewport={"width": width, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(SLOW)
    page.goto(url, wait_until="load", timeout=SLOW)
    page.get_by_role("tab", name=superres.TITLE, exact=True).first.wait_for(timeout=SLOW)
    return page


def tab(page, title: str) -> None:
    page.get_by_role("tab", name=title, exact=True).first.click()
    page.wait_for_timeout(300)


IMAGES_SHOWN_JS = ("() => { const imgs = Array.from(document.querySelectorAll(SEL)).filter(i => i.offsetParent); "
                   "return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }")  # fmt: skip


def scroll_through(page) -> None:
    """Scroll the page from top to bottom and back, as a person looking at all of it would: images
    below the fold (gradio loads gallery and image outputs lazily) load on the way."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    step = page.viewport_size["height"] // 2
    for y in range(0, height + step, step):
        page.evaluate("y => window.scrollTo(0, y)", y)
        page.wait_for_timeout(60)
    page.evaluate("() => window.scrollTo(0, 0)")


def full_page_shot(page, path: Path) -> None:
    """A full-page screenshot with every visible image of the page loaded (none blank or broken)."""
    scroll_through(page)
    try:
        page.wait_for_function(IMAGES_SHOWN_JS.replace("SEL", "'img'"), timeout=30_000)
    except Exception:
        broken = page.eval_on_selector_all("img", "els => els.filter(i => i.offsetParent && !(i.complete && "
                                           "i.naturalWidth > 0)).map(i => i.src.slice(-80))")  # fmt: skip
        raise AssertionError(f"{path.name}: images not shown {broken}") from None
    page.screenshot(path=str(path), full_page=True)


def default_picks(key: str) -> list[str]:
    """The slider's two picks the viewer gives tab `key`'s default result (first panel, last method)."""
    view = presenter.ComparisonView.values(presenter.default_result(key)[0])
    return [view[1]["value"], view[2]["value"]]


def wait_for_picks(page, expected: list[str]) -> None:
    """The slider's panel pickers on the visible tab show `expected` (left, right)."""
    assert all(expected) and expected[0] != expected[1], expected
    try:
        page.wait_for_function(f"e => JSON.stringify(({PICKERS_JS})()) === JSON.stringify(e)", arg=expected,
                               timeout=30_000)  # fmt: skip
    except Exception:
        raise AssertionError(f"panel pickers show {page.evaluate(PICKERS_JS)}, expected {expected}") from None


def bicubic_psnr(path: Path) -> float:
    gt = np.asarray(Image.open(path).convert("RGB"))
    lr = Image.fromarray(gt).resize((gt.shape[1] // 4, gt.shape[0] // 4), Image.Resampling.BICUBIC)
    return psnr(gt, np.asarray(lr.resize(gt.shape[1::-1], Image.Resampling.BICUBIC)), crop_border=4)


def test_every_method_tab_opens_with_its_result_computed_once(server, browser):
    url, counts = server
    for visitor in range(3):  # the defaults each visitor is sent must not be used up by the one before
        page = open_page(browser, url)
        for title, selector in DEFAULT_TEXT.items():
            tab(page, title)
            page.wait_for_selector(selector, timeout=SLOW)
            if title in VIEWER_KEYS:  # the slider's panel pickers name the default result's panels
                wait_for_picks(page, default_picks(VIEWER_KEYS[title]))
        if visitor == 0:  # notices by level: the held-out scene's note is information, not a warning
            tab(page, translation.TITLE)
            note = page.locator(".gg-notice-info:visible", has_text="Held-out scene #").first
            assert "ℹ️" in note.inner_text() and "⚠️" not in note.inner_text()
        page.context.close()
    assert set(counts) >= {"superres", "dcgan", "text2image", "inpainting", "translation"}
    assert all(n == 1 for n in counts.values()), counts  # once per process, not once per visitor


def test_synchronised_zoom_and_slider_between_picked_panels(server, browser, shots):
    url, _ = server
    page = open_page(browser, url)
    page.wait_for_selector("text=Bicubic:", timeout=SLOW)
    frames = page.locator(".gg-zoom-frame:visible")
    assert frames.count() >= 3
    frames.nth(1).scroll_into_view_if_needed()
    box = frames.nth(1).bounding_box()
    page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.75 * box["height"])
    styles = page.eval_on_selector_all(".gg-zoom-frame img", "els => els.filter(e => e.offsetParent)"
                                       ".map(e => [e.style.transformOrigin, e.style.transform])")  # fmt: skip
    assert len(styles) == frames.count() and len(set(map(tuple, styles))) == 1, styles  # all panels alike
    origin, transform = styles[0]
    fx, fy = (float(v) for v in re.findall(r"([\d.]+)%", origin))
    assert abs(fx - 25) < 3 and abs(fy - 75) < 3 and transform == "scale(4)"
    page.screenshot(path=str(shots / "superres_zoomed_1400.png"), full_page=True)
    # the slider: pick "Original" on the right; both slider images change to the picked panels
    before = page.eval_on_selector_all(".gg-slider img", "els => els.map(e => e.src)")
    page.locator(".gg-pick-right input:visible").click()
    page.get_by_role("option", name="Original", exact=True).click()
    page.wait_for_function("b => { const now = Array.from(document.querySelectorAll('.gg-slider img'))"
                           ".map(e => e.src); return now.length && now.join() !== b.join(); }", arg=before)  # fmt: skip
    after = page.eval_on_selector_all(".gg-slider img", "els => els.map(e => decodeURIComponent(e.src))")
    panels = dict(page.eval_on_selector_all(".gg-zoom-frame img", "els => els.filter(e => e.offsetParent)"
                                            ".map(e => [e.alt, decodeURIComponent(e.src)])"))  # fmt: skip
    original = panels["Original"].split("file=")[-1]
    assert any(s.endswith(original) or Path(s.split("file=")[-1]).name == Path(original).name for s in after)
    page.context.close()


def run_superres(page, example: str, expected: float) -> None:
    tab(page, superres.TITLE)
    page.locator(f"img[src*='{example}']:visible").first.click()
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Upscale", exact=True).click()
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=f"{expected:.2f}", timeout=SLOW)
    # the viewer follows the new result, and its pickers name the new panels (the same methods here)
    page.wait_for_function("t => Array.from(document.querySelectorAll('.gg-zoom-frame + figcaption'))"
                           ".some(f => f.offsetParent && f.innerText.includes(t))", arg=f"{expected:.2f}")  # fmt: skip
    panels = page.eval_on_selector_all(".gg-zoom-frame img", "els => els.filter(e => e.offsetParent).map(e => e.alt)")
    assert panels[0] == "Bicubic" and panels[-1] == "Original", panels
    wait_for_picks(page, [panels[0], panels[-2]])


def test_two_sessions_never_share_and_a_permalink_reopens_one(server, browser, shots):
    url, _ = server
    a, b = open_page(browser, url), open_page(browser, url)
    psnr_a = bicubic_psnr(superres.EXAMPLES_DIR / "chelsea_256.png")
    psnr_b = bicubic_psnr(superres.EXAMPLES_DIR / "coffee_256.png")
    assert f"{psnr_a:.2f}" != f"{psnr_b:.2f}"
    run_superres(a, "chelsea_256", psnr_a)
    run_superres(b, "coffee_256", psnr_b)
    for page, own, other in ((a, psnr_a, psnr_b), (b, psnr_b, psnr_a)):
        text = page.inner_text("body")
        assert f"{own:.2f}" in text and f"{other:.2f}" not in text
    # the download carries the provenance of this session's run
    with a.expect_download() as dl:
        a.get_by_role("button", name=re.compile("Download comparison PNG")).first.click()
    record = read_provenance(dl.value.path())
    assert record["task"] == superres.TITLE and record["input_size"] == "256x256 px"
    assert record["models"][0]["title"] == "Bicubic" and abs(record["models"][0]["metrics"]["PSNR Y dB"] - psnr_a) < 1e-3
    assert any(m["checkpoint"].startswith("embedded sha256:") for m in record["models"])
    # a permalink (what the DeepLinkButton copies) reopens A's comparison in a third browser
    assert a.get_by_role("button", name="Copy a link to this comparison").count() == 1
    link = a.evaluate("async () => (await (await fetch('gradio_api/deep_link?session_hash=' + "
                      "window.__gradio_session_hash__)).text()).replace(/\"/g, '')")  # fmt: skip
    assert link
    c = open_page(browser, f"{url}?deep_link={link}")
    tab(c, superres.TITLE)
    c.wait_for_function("t => document.body.innerText.includes(t)", arg=f"{psnr_a:.2f}", timeout=SLOW)
    assert f"{psnr_b:.2f}" not in c.inner_text("body")
    # each session's deck holds its own super-resolution slide
    decks = {}
    for name, page in (("a", a), ("b", b)):
        page.get_by_role("button", name="Export slide deck (HTML)").click()
        link_el = page.locator(".gg-toolbar a[href*='gan_gallery_slides']").first
        link_el.wait_for(timeout=SLOW)
        decks[name] = page.request.get(link_el.get_attribute("href") if link_el.get_attribute("href").startswith(
            "http") else url + link_el.get_attribute("href").lstrip("/")).text()  # fmt: skip
    for name, own in (("a", psnr_a), ("b", psnr_b)):
        m = re.search(r"data-key='superres'.*?base64,([A-Za-z0-9+/=]+)'", decks[name], re.S)
        png = shots / f"deck_{name}_superres.png"
        png.write_bytes(base64.b64decode(m.group(1)))
        assert abs(read_provenance(png)["models"][0]["metrics"]["PSNR Y dB"] - own) < 1e-3
    deck_path = shots / "slide_deck.html"
    deck_path.write_text(decks["a"], encoding="utf-8")
    for page in (a, b, c):
        page.context.close()


def test_slide_deck_moves_with_arrow_keys_and_prints_one_slide_per_page(server, browser, shots):
    deck_path = shots / "slide_deck.html"
    if not deck_path.is_file():
        pytest.skip("needs the deck written by the two-session test")
    html = deck_path.read_text(encoding="utf-8")
    n = html.count("<section class='slide")
    assert n >= 1 + len(presenter.SLIDE_ORDER) + 5  # title, every comparison, the key charts
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(SLOW)
    page.goto(deck_path.as_uri(), wait_until="load", timeout=SLOW)
    active = "() => Array.from(document.querySelectorAll('.slide')).findIndex(s => s.classList.contains('active'))"
    assert page.evaluate(active) == 0
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(active) == 2
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(active) == 1
    page.screenshot(path=str(shots / "deck_slide_2.png"))
    pdf = page.pdf(landscape=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == n
    page.close()


def test_overlap_check_finds_overlapping_chart_text(browser):
    """The overlap check itself: a chart whose legend is drawn over its title is caught, the same
    chart with its title above the legend is not, and a title that sticks out of the chart is."""
    import plotly.graph_objects as go
    import plotly.offline

    page = browser.new_page()
    page.set_default_timeout(SLOW)
    page.set_content(f"<script>{plotly.offline.get_plotlyjs()}</script><div id='c'></div>", timeout=SLOW)
    found = {}
    # 500x400 px, default margins: the legend's top at paper y 1.2 is ~64 px from the top and ~29 px
    # high; a title whose top is at container y 0.82 (~72 px) is under it, at 0.95 (~25 px) above it;
    # one centred on the container's top edge half outside the chart
    for case, (title_y, anchor) in {"under": (0.82, "top"), "above": (0.95, "top"), "out": (1, "middle")}.items():
        fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2], name="a long legend entry"))
        fig.update_layout(title={"text": "A title under the legend", "x": 0.5, "y": title_y, "yanchor": anchor},
                          showlegend=True, legend={"x": 0.3, "y": 1.2, "yanchor": "top"}, width=500, height=400)  # fmt: skip
        page.evaluate("spec => Plotly.react('c', spec.data, spec.layout)", fig.to_plotly_json())
        found[case] = page.evaluate(OVERLAPS_JS)
    assert any({"title", "legend"} <= {f["a"].split(":")[0], f["b"].split(":")[0]} for f in found["under"]), found
    assert found["above"] == [], found
    assert [(f["a"].split(":")[0], f["b"]) for f in found["out"]] == [("title", "chart edge")], found
    page.close()


@pytest.mark.parametrize("width", [1400, 1024])
def test_evaluation_subtabs_two_charts_per_row_no_overlaps_gallery_shown(server, browser, shots, width):
    url, _ = server
    results = evaluation.load_results()
    page = open_page(browser, url, width)
    tab(page, evaluation.TITLE)
    cases = evaluation.failure_cases()
    for group, tasks in evaluation.groups(results).items():
        page.locator(".gg-eval-tabs").first.get_by_role("tab", name=group, exact=True).first.click()
        page.wait_for_timeout(300)
        expected = sum(len(figures(t)) for t in tasks)
        page.wait_for_function(f"() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => "
                               f"p.offsetParent && p.querySelector('.gtitle')).length >= {expected}", timeout=SLOW)  # fmt: skip
        page.wait_for_timeout(500)
        tops = page.eval_on_selector_all(".js-plotly-plot", "els => els.filter(e => e.offsetParent)"
                                         ".map(e => Math.round(e.getBoundingClientRect().top / 10))")  # fmt: skip
        assert max(Counter(tops).values()) <= evaluation.CHARTS_PER_ROW, (group, tops)
        overlaps = page.evaluate(OVERLAPS_JS)
        assert overlaps == [], (group, width, overlaps)
        own = [c for c in cases if c.get("task") in tasks]
        if own:  # the failures are there with the tab: scrolled to, every one of them shows
            gallery = page.locator(".gg-failures:visible").first
            gallery.scroll_into_view_if_needed()
            page.wait_for_function(IMAGES_SHOWN_JS.replace("SEL", "'.gg-failures img'"), timeout=15_000)
            shown = page.eval_on_selector_all(".gg-failures img", "els => els.filter(i => i.offsetParent).length")
            assert shown == len(own), (group, shown, len(own))
        slug = re.sub(r"\W+", "_", group).strip("_").lower()
        full_page_shot(page, shots / f"evaluation_{slug}_{width}.png")
    page.context.close()


@pytest.mark.parametrize("width", [1400, 1024])
def test_screenshots_of_every_tab(server, browser, shots, width):
    url, _ = server
    page = open_page(browser, url, width)
    for t in app.tabs():
        tab(page, t.TITLE)
        if t.TITLE in DEFAULT_TEXT:
            page.wait_for_selector(DEFAULT_TEXT[t.TITLE], timeout=SLOW)
        page.wait_for_timeout(1500)
        slug = re.sub(r"\W+", "_", t.TITLE).strip("_").lower()
        full_page_shot(page, shots / f"tab_{slug}_{width}.png")
    page.context.close()
