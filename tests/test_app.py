"""The app builds, launches and answers a real client over HTTP."""

from __future__ import annotations

import os
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
    port = free_port()
    app.serve(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)  # as served
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


# --- DCGAN & AC-GAN tab -------------------------------------------------------------------------

NO_SLIDE = [0.0] * 5


def test_dcgan_samples_arithmetic_sliders_and_interpolation(client):
    gallery, png = client.predict(3, api_name="/dcgan_samples")
    assert len(gallery) == 16 and gallery[0]["caption"].startswith("#1: ")
    assert Image.open(gallery[0]["image"]).size == (128, 128)
    again, _ = client.predict(3, api_name="/dcgan_samples")
    assert np.array_equal(np.asarray(Image.open(gallery[5]["image"])), np.asarray(Image.open(again[5]["image"])))

    from demos.dcgan import MODE_PRESET

    image, verdict, png = client.predict(MODE_PRESET, next(iter(dcgan_presets())), "", "", "", 0,
                                         api_name="/dcgan_arithmetic")  # fmt: skip
    assert "Target" in verdict and "decoded images show the whole target" in verdict
    assert Image.open(png).size[0] > 5 * 160

    plain, caption = client.predict(3, 1, *NO_SLIDE, api_name="/dcgan_slide")
    moved, _ = client.predict(3, 1, 2.5, *NO_SLIDE[1:], api_name="/dcgan_slide")
    assert "Classifier reads" in caption
    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(moved)))

    strip, png = client.predict(0, 1, 1, 2, 6, api_name="/dcgan_interpolate")
    assert Image.open(strip).size[0] > 6 * 96


def dcgan_presets():
    from models.latent_arithmetic import PRESETS

    return PRESETS


def test_dcgan_pick_mode(client):
    from demos.dcgan import MODE_PICK

    preset = next(iter(dcgan_presets()))  # ignored in this mode, but must be a valid choice
    image, verdict, png = client.predict(MODE_PICK, preset, "1,2,3", "4 5 6", "7;8;9", 11, api_name="/dcgan_arithmetic")
    assert "Target" in verdict
    with pytest.raises(Exception, match="sample numbers"):
        client.predict(MODE_PICK, preset, "0, 99", "4", "7", 11, api_name="/dcgan_arithmetic")
    with pytest.raises(Exception, match="sample numbers"):
        client.predict(MODE_PICK, preset, "one", "4", "7", 11, api_name="/dcgan_arithmetic")


def test_acgan_samples_are_judged(client):
    gallery, png, summary = client.predict("Trouser", 0, 10, api_name="/acgan_samples")
    assert len(gallery) == 10 and all(item["caption"].startswith("Trouser") for item in gallery)
    assert "agrees with the requested class" in summary
    with pytest.raises(Exception, match="(?i)unknown class|not one of the choices"):
        client.predict("Spaceship", 0, 10, api_name="/acgan_samples")


@pytest.mark.parametrize("seed", [float("nan"), float("inf"), -1, 2**40, 1e300])  # 0.5: Number(precision=0) rounds it
def test_dcgan_bad_seeds_through_the_api(client, seed):
    with pytest.raises(Exception, match="(?i)seed|number|value"):
        client.predict(seed, api_name="/dcgan_samples")
    with pytest.raises(Exception, match="(?i)seed|number|value"):
        client.predict("All classes", seed, 4, api_name="/acgan_samples")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1e9, 3.5, 1e300])
def test_dcgan_bad_slider_values_through_the_api(client, value):
    with pytest.raises(Exception, match="(?i)smile|between|value|number"):
        client.predict(3, 1, value, *NO_SLIDE[1:], api_name="/dcgan_slide")
    with pytest.raises(Exception, match="(?i)sample|between|value|number"):
        client.predict(3, value, *NO_SLIDE, api_name="/dcgan_slide")
    gallery, _ = client.predict(3, api_name="/dcgan_samples")  # still answering
    assert len(gallery) == 16


# --- hostile clients (#22, minor cases; the full replay is `python -m bench.reliability`) --------


@pytest.fixture
def raw(client, tmp_path):
    from bench.reliability import App

    return App(client.src, os.getpid(), tmp_path)


def test_huge_choice_values_are_not_echoed_back(raw):
    from bench.reliability import Session, photo, png

    upload = raw.upload("a.png", png(photo(64, 64)))
    kind, out = Session(raw).call("super_resolve", [upload, "x" * 100_000, EMBEDDED])
    assert kind == "error" and "not one of the choices" in str(out) and len(str(out)) < 300
    kind, out = Session(raw).call("acgan_samples", ["z" * 100_000, 0, 4])
    assert kind == "error" and len(str(out)) < 300


@pytest.mark.parametrize("value", [float("nan"), "abc", 1, None])
def test_checkbox_values_must_be_booleans(raw, value):
    from bench.reliability import Session
    from demos import translation

    scene = sorted(translation.EXAMPLES_DIR.glob("*.png"))[0]
    args = [raw.upload("scene.png", scene.read_bytes()), translation.INPUT_AUTO, value]
    kind, out = Session(raw).call("translate", args)
    assert kind == "error" and "true or false" in str(out)


def test_errors_do_not_reveal_the_install_path(raw):
    from bench.reliability import Session

    args = [{"path": "x.png", "meta": {"_type": "gradio.FileData"}}, superres.MODE_UPSCALE, EMBEDDED]
    kind, out = Session(raw).call("super_resolve", args)
    assert kind == "error"
    assert str(Path(app.__file__).resolve().parent) not in str(out) and os.getcwd() not in str(out)


@pytest.mark.parametrize("seed", [float("nan"), True, None, "7"])
def test_number_fields_refuse_nan_booleans_and_text(raw, seed):
    from bench.reliability import Session

    kind, out = Session(raw).call("dcgan_samples", [seed])
    assert kind == "error" and "seed" in str(out).lower() and "convert" not in str(out)
