"""End to end in a real browser (Debian's chromium driven by playwright): do each tab's main
action as a person would and check that results and numbers appear. Screenshots are saved to
artifacts/ for a person to look at."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

import app
from demos import dcgan, evaluation, inpainting, superres, text2image, translation
from eval.tasks import TASKS, figures

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium)")  # fmt: skip


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    demo = app.build_app()
    demo.queue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1400})
        # not "networkidle": every tab's default result is computed on the first page view (once per
        # process), which keeps the network busy for longer than the page takes to be usable
        pg.goto(f"http://127.0.0.1:{port}/", wait_until="load")
        pg.get_by_role("tab", name=superres.TITLE).wait_for(timeout=120_000)
        yield pg
        browser.close()
    demo.close()


def test_superres_tab_in_browser(page):
    page.get_by_role("tab", name=superres.TITLE).click()
    page.set_input_files("input[type=file]", str(superres.EXAMPLES_DIR / "chelsea_256.png"))
    page.get_by_role("button", name="Upscale", exact=True).click()
    page.wait_for_selector("text=Bicubic:", timeout=60_000)  # a captioned result image
    body = page.inner_text("body")
    assert re.search(r"Bicubic: \d+\.\d\d dB / 0\.\d{4}", page.content())  # numbers under it
    assert "classical" in body  # the metrics table
    assert page.locator("img").count() >= 3  # input + result images
    page.screenshot(path=str(ARTIFACTS / "tab_superres.png"), full_page=True)


def test_dcgan_tab_in_browser(page):
    page.get_by_role("tab", name=dcgan.TITLE).click()
    page.get_by_role("button", name="Sample 16 faces").click()
    page.wait_for_selector("text=#1:", timeout=60_000)  # captioned samples
    # drag the Smile slider as a person would: press on its knob, move right, release
    smile = page.get_by_label("range slider for Smile")
    smile.scroll_into_view_if_needed()
    box = smile.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.85, y, steps=8)
    page.mouse.up()
    page.wait_for_selector("text=p(smile)", timeout=60_000)  # the moved face's verdict
    assert float(page.get_by_label("number input for Smile").input_value()) > 1.0
    page.get_by_role("button", name="Compute A − B + C").click()
    page.wait_for_selector("text=decoded images show the whole target", timeout=120_000)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_selector("text=agrees with the requested class", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "tab_dcgan.png"), full_page=True)


def test_text2image_tab_in_browser(page):
    page.get_by_role("tab", name=text2image.TITLE).click()
    page.get_by_label("Caption", exact=True).fill("three yellow cones and a blue cube")
    page.get_by_role("button", name="Generate samples").click()
    page.wait_for_selector("text=#1 · seed 0 · CLIP score", timeout=60_000)  # captioned samples
    body = page.inner_text("body")
    assert re.search(r"8 samples in \d+\.\d\d s on CPU", body)
    assert "CLIP score (LiT scene CLIP (trained here))" in body and "detected:" in page.content()
    page.screenshot(path=str(ARTIFACTS / "tab_text2image.png"), full_page=True)


def test_inpainting_tab_in_browser(page):
    page.get_by_role("tab", name=inpainting.TITLE).click()
    # load an example photo (it comes with a painted mask), then paint one more stroke with the brush
    page.locator("img[src*='chelsea_256']:visible").first.click()
    page.wait_for_timeout(2000)
    page.locator("button[aria-label='Brush']:visible").first.click()
    canvas = page.locator("canvas:visible").first
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.8)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.85, steps=12)
    page.mouse.up()
    page.get_by_role("button", name="Inpaint", exact=True).click()
    page.wait_for_selector("text=Telea (OpenCV):", timeout=120_000)  # a captioned result image
    assert re.search(r"mask \d+(\.\d)?% of 256x256 px", page.inner_text("body"))
    page.screenshot(path=str(ARTIFACTS / "tab_inpainting.png"), full_page=True)


def test_translation_tab_in_browser(page):
    page.get_by_role("tab", name=translation.TITLE).click()
    page.get_by_role("button", name="Render this held-out scene").click()
    page.wait_for_timeout(3000)  # the rendered scene fills the input image
    page.get_by_role("button", name="Translate", exact=True).click()
    page.wait_for_selector("text=pix2pix: day → night", timeout=120_000)
    assert re.search(r"\d+\.\d\d dB / 0\.\d{3}", page.content())  # scored against the ground truth
    page.screenshot(path=str(ARTIFACTS / "tab_translation.png"), full_page=True)


def test_evaluation_tab_in_browser(page):
    """Every committed task is on the dashboard under its registry title, with the committed
    numbers in its table and one rendered plotly chart per registered figure."""
    results = evaluation.load_results()
    assert "superres" in results
    page.get_by_role("tab", name=evaluation.TITLE).click()
    page.get_by_text("Export the whole report").wait_for(timeout=30_000)
    seen, charts = "", 0
    for group, tasks in evaluation.groups(results).items():  # one sub-tab per method family
        page.locator(".gg-eval-tabs").first.get_by_role("tab", name=group, exact=True).first.click()
        expected = sum(len(figures(t)) for t in tasks)
        page.wait_for_function(f"() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                               f".filter(p => p.offsetParent).length >= {expected}", timeout=60_000)  # fmt: skip
        charts += expected
        seen += page.inner_text("body")
    for task in results:
        assert TASKS[task].title in seen, task
    bicubic = results["superres"]["methods"]["bicubic"]["mean"]
    assert str(round(bicubic["psnr_y"], 4)) in seen  # the table shows the committed mean, not a re-run
    assert charts == sum(len(figures(task)) for task in results)
    page.screenshot(path=str(ARTIFACTS / "tab_evaluation.png"), full_page=True)
