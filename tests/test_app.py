"""The app builds, launches and answers a real client over HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

import app
from demos import superres
from eval.metrics import psnr, ssim

EXAMPLE = Path(superres.EXAMPLES_DIR) / "astronaut_256.png"
EMBEDDED = next(k for k, v in superres.MODELS.items() if v == "embedded")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_tab_builds():
    demo = app.build_app()
    assert isinstance(demo, gr.Blocks)
    titles = {b.label for b in demo.blocks.values() if isinstance(b, gr.Tab)}
    assert {t.TITLE for t in app.TABS} <= titles


@pytest.fixture(scope="module")
def client():
    demo = app.build_app()
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                show_error=True)  # fmt: skip
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()


def table_rows(table: dict) -> dict[str, list]:
    return {row[0]: row for row in table["data"]}


def test_compare_mode_scores_bicubic_correctly(client):
    gallery, slider, zoom, table, notices, png = client.predict(
        handle_file(str(EXAMPLE)), superres.MODE_COMPARE, EMBEDDED, api_name="/super_resolve")
    # Expected, computed here independently of the app: PIL bicubic down and up by 4.
    gt = np.asarray(Image.open(EXAMPLE).convert("RGB"))
    lr = Image.fromarray(gt).resize((64, 64), Image.Resampling.BICUBIC)
    up = np.asarray(lr.resize((256, 256), Image.Resampling.BICUBIC))
    row = table_rows(table)["Bicubic"]
    assert row[2] == pytest.approx(psnr(gt, up, crop_border=4), abs=0.01)
    assert row[3] == pytest.approx(ssim(gt, up, crop_border=4), abs=1e-4)
    assert 20 < row[2] < 40
    first = np.asarray(Image.open(gallery[0]["image"]))
    assert first.shape[:2] == (256, 256)
    assert Image.open(png).size[0] > 2 * 256  # the labelled comparison has several panels


def test_upscale_mode_returns_4x(client):
    small = Path(client.output_dir if hasattr(client, "output_dir") else "/tmp") / "small.png"
    small.parent.mkdir(parents=True, exist_ok=True)
    Image.open(EXAMPLE).convert("RGB").resize((50, 30)).save(small)
    gallery, slider, zoom, table, notices, png = client.predict(
        handle_file(str(small)), superres.MODE_UPSCALE, EMBEDDED, api_name="/super_resolve")
    outputs = [np.asarray(Image.open(item["image"])) for item in gallery[1:]]
    assert outputs and all(o.shape[:2] == (120, 200) for o in outputs)
    assert table_rows(table)["Bicubic"][2] is None  # no ground truth, no PSNR


def test_bad_upload_gets_a_clear_error_and_server_survives(client, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(bad)), superres.MODE_COMPARE, EMBEDDED,
                       api_name="/super_resolve")  # fmt: skip
    assert "image" in str(info.value).lower()
    gallery, *_ = client.predict(handle_file(str(EXAMPLE)), superres.MODE_COMPARE, EMBEDDED,
                                 api_name="/super_resolve")  # fmt: skip
    assert gallery


@pytest.mark.parametrize("kind", ["tiny", "grayscale", "rgba"])
def test_odd_uploads_through_the_api(client, tmp_path, kind):
    src = Image.open(EXAMPLE).convert("RGB")
    path = tmp_path / f"{kind}.png"
    if kind == "tiny":
        src.resize((5, 5)).save(path)
        with pytest.raises(Exception, match="too small"):
            client.predict(handle_file(str(path)), superres.MODE_UPSCALE, EMBEDDED,
                           api_name="/super_resolve")  # fmt: skip
        return
    (src.convert("L") if kind == "grayscale" else src.convert("RGBA")).save(path)
    gallery, slider, zoom, table, notices, png = client.predict(
        handle_file(str(path)), superres.MODE_COMPARE, EMBEDDED, api_name="/super_resolve")
    assert table_rows(table)["Bicubic"][2] > 20
    if kind == "grayscale":
        assert "Grayscale" in notices


@pytest.mark.parametrize("route", [
    "gradio_api/file=/etc/passwd", "gradio_api/file=../../../../etc/passwd",
    "gradio_api/file=%2Fetc%2Fpasswd", "file=/etc/passwd",
    "gradio_api/file=" + str(Path(app.__file__).resolve()),  # our own source is not served either
])  # fmt: skip
def test_file_routes_do_not_serve_files_outside_the_app(client, route):
    import httpx

    r = httpx.get(client.src.rstrip("/") + "/" + route, timeout=10)
    assert r.status_code in (403, 404), (route, r.status_code)
    assert "root:" not in r.text and "build_app" not in r.text


def _guard_cases():
    from tests.test_input_guard import OK_CASES, REFUSED

    cases = [(name, data, None) for name, (data, _, _) in OK_CASES.items()]
    cases += [(name, data, msg) for name, (data, msg) in REFUSED.items() if isinstance(data, bytes)]
    return cases


@pytest.mark.parametrize("name,data,error", _guard_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_guard_case_through_the_api(client, tmp_path, name, data, error):
    """The input guard's table, sent as real uploads: a result or a clear message, never a crash."""
    path = tmp_path / "upload.png"
    path.write_bytes(data)
    if error:
        with pytest.raises(Exception, match=error):
            client.predict(handle_file(str(path)), superres.MODE_UPSCALE, EMBEDDED,
                           api_name="/super_resolve")  # fmt: skip
    else:
        gallery, *_ = client.predict(handle_file(str(path)), superres.MODE_UPSCALE, EMBEDDED,
                                     api_name="/super_resolve")  # fmt: skip
        assert len(gallery) >= 2


def test_no_image_and_bad_choices_are_refused(client):
    with pytest.raises(Exception, match="No image"):
        client.predict(None, superres.MODE_UPSCALE, EMBEDDED, api_name="/super_resolve")
    with pytest.raises(Exception, match="(?i)mode|choices"):
        client.predict(handle_file(str(EXAMPLE)), "no such mode", EMBEDDED, api_name="/super_resolve")
    gallery, *_ = client.predict(handle_file(str(EXAMPLE)), superres.MODE_COMPARE, EMBEDDED,
                                 api_name="/super_resolve")  # fmt: skip
    assert gallery  # still answering
