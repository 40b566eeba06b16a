"""Inpainting: masks, the gated-conv GAN, Deep Image Prior, OpenCV wrappers, large-photo paste-back,
the tab's input handling, a training smoke run and the benchmark on a tiny subset. No trained
checkpoint needed: tiny seeded models throughout."""

from __future__ import annotations

import io
import socket

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

import models.inpainting as inp
from data.input_guard import InputError
from data.masks import (
    BUCKETS,
    bucket_label,
    bucket_mask,
    evaluation_masks,
    free_form_mask,
    mask_area,
)
from demos import inpainting as tab
from models.classical_inpainting import inpaint_harmonic, inpaint_navier_stokes, inpaint_telea
from models.deep_image_prior import deep_image_prior
from models.gated_inpainting import (
    GatedConv2d,
    GatedInpaintGenerator,
    GatedUpConv2d,
    SNPatchDiscriminator,
    inpaint_gated,
)
from models.inpainting import (
    DIP,
    GATED,
    HARMONIC,
    NAVIER_STOKES,
    TELEA,
    inpaint,
    region_around_mask,
)


def tiny_generator(seed: int = 0) -> GatedInpaintGenerator:
    torch.manual_seed(seed)
    return GatedInpaintGenerator(channels=8, refine_channels=8).eval()


def smooth_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(xx / 9 + seed), np.cos(yy / 7), np.sin((xx + yy) / 13)], -1)
    return ((base + 1) * 110 + rng.normal(0, 3, base.shape)).clip(0, 255).astype(np.uint8)


def centre_mask(h: int, w: int, frac: float = 0.3) -> np.ndarray:
    m = np.zeros((h, w), bool)
    dh, dw = int(h * frac / 2), int(w * frac / 2)
    m[h // 2 - dh : h // 2 + dh, w // 2 - dw : w // 2 + dw] = True
    return m


# --- masks ------------------------------------------------------------------------------------


def test_evaluation_masks_hit_their_buckets_and_are_seeded():
    a, b = evaluation_masks(size=64, per_bucket=2, seed=3), evaluation_masks(size=64, per_bucket=2, seed=3)
    assert list(a) == [bucket_label(x) for x in BUCKETS] == ["0-10", "10-20", "20-30", "30-40", "40-50"]
    for (lo, hi), label in zip(BUCKETS, a, strict=True):
        for m, m2 in zip(a[label], b[label], strict=True):
            assert m.shape == (64, 64) and m.dtype == bool and np.array_equal(m, m2)
            assert lo <= mask_area(m) < hi and m.any()
    other = evaluation_masks(size=64, per_bucket=2, seed=4)
    assert not np.array_equal(a["20-30"][0], other["20-30"][0])


def test_free_form_mask_target_and_plain():
    rng = np.random.default_rng(0)
    m = free_form_mask((48, 80), rng, 0.3, tolerance=0.05)
    assert m.shape == (48, 80) and 0.3 <= mask_area(m) <= 0.35 + 1e-9
    assert free_form_mask(64, np.random.default_rng(1)).any()
    assert 0.1 <= mask_area(bucket_mask(64, (0.1, 0.2), np.random.default_rng(2))) < 0.2


# --- networks ---------------------------------------------------------------------------------


def test_gated_conv_shapes():
    x = torch.rand(2, 3, 16, 12)
    assert GatedConv2d(3, 8, 3, stride=2)(x).shape == (2, 8, 8, 6)
    assert GatedConv2d(3, 8, 3, dilation=4)(x).shape == (2, 8, 16, 12)
    assert GatedUpConv2d(3, 4, 3)(x).shape == (2, 4, 32, 24)
    g = tiny_generator()
    coarse, refined = g(torch.rand(2, 3, 32, 24) * 2 - 1, torch.zeros(2, 1, 32, 24), torch.randn(2, 1, 32, 24))
    assert coarse.shape == refined.shape == (2, 3, 32, 24) and refined.abs().max() <= 1
    with pytest.raises(ValueError, match="multiples of 8"):
        g(torch.rand(1, 3, 30, 24), torch.zeros(1, 1, 30, 24))
    d = SNPatchDiscriminator(channels=4)
    assert d(torch.rand(2, 3, 64, 64), torch.zeros(2, 1, 64, 64)).shape == (2, 16)


def test_generator_starts_from_the_harmonic_fill():
    g, img, mask = tiny_generator(), smooth_photo(32, 24), centre_mask(32, 24, 0.5)
    assert np.array_equal(inpaint_gated(g, img, mask, seed=0), inpaint_gated(g, img, mask, seed=7))
    assert np.abs(inpaint_gated(g, img, mask).astype(int) - inpaint_harmonic(img, mask)).max() <= 1


def test_generator_keeps_known_pixels_and_seeds_give_different_fills():
    g = tiny_generator()
    with torch.no_grad():  # as after training: residual outputs are no longer zero
        for stage in (g.coarse, g.refine):
            stage[-1].weight.normal_(0, 0.2)
    img, mask = smooth_photo(30, 22), centre_mask(30, 22, 0.5)  # not multiples of 8: padded inside
    a, b = inpaint_gated(g, img, mask, seed=0), inpaint_gated(g, img, mask, seed=1)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a[~mask], img[~mask]) and np.array_equal(b[~mask], img[~mask])
    assert np.array_equal(a, inpaint_gated(g, img, mask, seed=0))  # deterministic per seed
    assert np.abs(a[mask].astype(int) - b[mask].astype(int)).mean() > 0.5  # the noise input matters


def test_generator_round_trip_save_load(tmp_path):
    g = tiny_generator(3)
    g.save_pretrained(tmp_path / "g")
    loaded = GatedInpaintGenerator.from_pretrained(tmp_path / "g", strict=True)
    x, m, n = torch.rand(1, 3, 16, 16) * 2 - 1, torch.ones(1, 1, 16, 16), torch.randn(1, 1, 16, 16)
    assert torch.equal(g(x, m, n)[1], loaded(x, m, n)[1])


# --- classical and Deep Image Prior -----------------------------------------------------------


@pytest.mark.parametrize("fn", [inpaint_telea, inpaint_navier_stokes, inpaint_harmonic])
def test_opencv_methods_fill_a_smooth_hole(fn):
    yy, xx = np.mgrid[0:24, 0:24]
    img = np.stack([xx * 10, yy * 10, np.full_like(xx, 128)], -1).astype(np.uint8)
    mask = centre_mask(24, 24, 0.3)
    out = fn(img, mask)
    assert np.array_equal(out[~mask], img[~mask])
    assert np.abs(out[mask].astype(int) - img[mask].astype(int)).mean() < 12  # a gradient continues


def test_deep_image_prior_fits_known_pixels_and_stops_when_asked():
    img, mask = smooth_photo(32, 32), centre_mask(32, 32, 0.4)
    losses = []
    out = deep_image_prior(img, mask, iterations=25, seed=0,
                           callback=lambda i, n, loss, preview: losses.append(loss))  # fmt: skip
    assert len(losses) == 25 and np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert np.array_equal(out[~mask], img[~mask])

    seen = []

    def stop_at_3(i, n, loss, preview):
        seen.append(i)
        assert preview().shape == img.shape
        return i < 3

    deep_image_prior(img, mask, iterations=50, callback=stop_at_3)
    assert seen == [1, 2, 3]

    def boom(i, n, loss, preview):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deep_image_prior(img, mask, iterations=50, callback=boom)
    r = inpaint(DIP, img, mask, iterations=10, callback=lambda i, n, loss, p: i < 4)
    assert r.details["iterations"] == 4 and np.array_equal(r.image[~mask], img[~mask])


def test_deep_image_prior_returns_the_average_of_its_outputs():
    img, mask = smooth_photo(32, 32), centre_mask(32, 32, 0.4)
    previews = []
    last = deep_image_prior(img, mask, iterations=6, seed=1, average=0,
                            callback=lambda i, n, loss, p: previews.append(p().astype(np.float64)))  # fmt: skip
    assert np.array_equal(last, previews[-1].astype(np.uint8))  # average=0: the last output
    averaged = deep_image_prior(img, mask, iterations=6, seed=1, average=0.5)
    ema = previews[0]
    for p in previews[1:]:
        ema = 0.5 * ema + 0.5 * p
    # the same outputs averaged (to the rounding of the previews to uint8), not the last one
    assert np.abs(averaged[mask] - ema[mask]).max() <= 1.01
    assert not np.array_equal(averaged[mask], last[mask]) and np.array_equal(averaged[~mask], img[~mask])


# --- by name, large photos, edge cases ----------------------------------------------------------


def test_large_photo_is_filled_around_the_mask_and_only_masked_pixels_change():
    img = smooth_photo(900, 1200)
    mask = np.zeros((900, 1200), bool)
    mask[600:760, 900:1100] = True
    region = region_around_mask(mask, 64)
    assert region.scaled and max(region.work_height, region.work_width) <= 64
    assert region.top > 0 and region.left > 0  # a box around the mask, not the whole photo
    for method, model in [(GATED, tiny_generator()), (TELEA, None)]:
        r = inpaint(method, img, mask, seed=0, model=model, work_side=64)
        assert r.image.shape == img.shape
        changed = np.any(r.image != img, axis=2)
        assert changed.any() and not changed[~mask].any()
        assert max(r.details["work_size"]) <= 64


def test_inpaint_edge_cases():
    img = smooth_photo(24, 24)
    empty = inpaint(TELEA, img, np.zeros((24, 24), bool))
    assert np.array_equal(empty.image, img) and "empty" in empty.notice
    with pytest.raises(ValueError, match="whole image"):
        inpaint(NAVIER_STOKES, img, np.ones((24, 24), bool))
    with pytest.raises(ValueError, match="mask is 20x24 px but the image is 24x24"):
        inpaint(TELEA, img, np.ones((24, 20), bool))
    with pytest.raises(ValueError, match="RGB uint8"):
        inpaint(TELEA, img.astype(np.float32), centre_mask(24, 24))


def test_learned_model_loads_through_the_catalog(monkeypatch, tmp_path):
    from models import catalog, hub

    tiny_generator(4).save_pretrained(tmp_path / GATED)
    monkeypatch.setattr(catalog, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(catalog.CATALOG, GATED, catalog.CatalogEntry(
        name=GATED, cls="models.gated_inpainting:GatedInpaintGenerator", task="inpainting",
        title="Gated-conv GAN", embedded=GATED))  # fmt: skip
    hub.clear_cache()
    img, mask = smooth_photo(24, 24), centre_mask(24, 24)
    r = inpaint(GATED, img, mask, seed=2)
    assert r.source == "embedded" and r.title == "Gated-conv GAN"
    assert np.array_equal(r.image, inpaint_gated(tiny_generator(4), img, mask, seed=2))


def test_unregistered_or_missing_learned_model_is_a_clear_error(monkeypatch):
    from models import hub

    def missing(name, source=None):
        raise KeyError(name)

    monkeypatch.setattr(hub, "load", missing)
    with pytest.raises(hub.ModelUnavailable, match="not in the model catalog"):
        inpaint(GATED, smooth_photo(16, 16), centre_mask(16, 16))


# --- the tab ----------------------------------------------------------------------------------


def rgba_layer(mask: np.ndarray) -> np.ndarray:
    layer = np.zeros(mask.shape + (4,), np.uint8)
    layer[mask] = (255, 0, 170, 255)
    return layer


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_read_editor_reads_the_drawn_layers():
    img, mask = smooth_photo(40, 60), centre_mask(40, 60)
    value = {"background": np.dstack([img, np.full((40, 60), 255, np.uint8)]),
             "layers": [rgba_layer(mask)], "composite": None}  # fmt: skip
    photo, m, notices = tab.read_editor(value)
    assert np.array_equal(photo, img) and np.array_equal(m, mask) and not notices
    # bytes (canvas blobs) and an opaque black/white mask image (API convention) work too
    bw = np.where(mask, 255, 0).astype(np.uint8)
    _, m2, _ = tab.read_editor({"background": png_bytes(img), "layers": [png_bytes(bw)], "composite": None})
    assert np.array_equal(m2, mask)
    # a layer of the same shape but another size is scaled, and said so
    _, m3, notices = tab.read_editor({"background": img, "layers": [rgba_layer(centre_mask(80, 120))]})
    assert m3.shape == (40, 60) and abs(mask_area(m3) - mask_area(mask)) < 0.05
    assert any("scaled" in n for n in notices)


def test_read_editor_huge_photo_is_downscaled_with_its_mask():
    img = smooth_photo(300, 4500)  # longer side above the tab's 4096 px
    mask = np.zeros((300, 4500), bool)
    mask[100:200, 4000:4300] = True
    photo, m, notices = tab.read_editor({"background": img, "layers": [rgba_layer(mask)]})
    assert max(photo.shape[:2]) == tab.MAX_SIDE and m.shape == photo.shape[:2]
    assert any("Downscaled" in n for n in notices) and not any("scaled to the photo" in n for n in notices)
    assert abs(mask_area(m) - mask_area(mask)) < 0.003


@pytest.mark.parametrize("case, message", [
    ("none", "No photo given"), ("no_layers", "mask is empty"), ("blank_layer", "mask is empty"),
    ("full", "covers 100.0%"), ("mismatch", "different shape"), ("not_an_image", "not an image"),
    ("blank_canvas", "blank"),
])  # fmt: skip
def test_read_editor_refuses_bad_input_clearly(case, message):
    img = smooth_photo(40, 60)
    value = {
        "none": None,
        "no_layers": {"background": img, "layers": [], "composite": None},
        "blank_layer": {"background": img, "layers": [rgba_layer(np.zeros((40, 60), bool))]},
        "full": {"background": img, "layers": [rgba_layer(np.ones((40, 60), bool))]},
        "mismatch": {"background": img, "layers": [rgba_layer(centre_mask(60, 60))]},
        "not_an_image": {"background": b"this is not an image", "layers": []},
        "blank_canvas": {"background": np.full((40, 60, 4), 255, np.uint8),
                         "layers": [rgba_layer(centre_mask(40, 60))]},
    }[case]
    with pytest.raises(InputError, match=message):
        tab.read_editor(value)


def label(method: str) -> str:
    return next(k for k, v in tab.METHODS.items() if v == method)


def last(gen):
    out = None
    for item in gen:
        out = item
    return out


def test_tab_action_end_to_end(monkeypatch):
    monkeypatch.setattr(inp, "_load_learned", lambda name: (tiny_generator(), "embedded", None, None))
    img, mask = smooth_photo(48, 64), centre_mask(48, 64)
    value = {"background": img, "layers": [rgba_layer(mask)], "composite": None}
    methods = list(tab.METHODS)  # all six (LaMa gets the tiny stand-in too), Deep Image Prior with a few iterations
    outputs = list(tab.inpaint_photo(value, methods, fills=2, seed=5, iterations=20,
                                     progress=lambda *a, **k: None))  # fmt: skip
    gallery, table, notices, png = outputs[-1]
    assert len(outputs) >= 3  # fast methods, Deep Image Prior previews, final
    assert len(gallery) == 1 + 2 + 2 + 1 + 1 + 1  # input, Telea/NS, 2 GAN fills, harmonic, LaMa, DIP
    assert "% of 64x48 px" in gallery[0][1]
    assert list(table["Seed"])[2:4] == [5, 6]
    assert all(table["PSNR vs your photo (dB)"] > 5)
    assert Image.open(png).width > 4 * 64
    for image, _ in gallery[1:]:
        assert np.array_equal(image[~mask], img[~mask])


def test_tab_without_the_learned_model_says_so_once(monkeypatch):
    from models import hub

    def missing(name):
        raise hub.ModelUnavailable("Gated-conv GAN: embedded checkpoint missing")

    monkeypatch.setattr(inp, "_load_learned", missing)
    value = {"background": smooth_photo(32, 32), "layers": [rgba_layer(centre_mask(32, 32))]}
    gallery, table, notices, png = last(tab.inpaint_photo(value, [label(TELEA), label(GATED)], fills=3,
                                                          progress=lambda *a, **k: None))  # fmt: skip
    assert notices.count("checkpoint missing") == 1
    assert table["Method"].tolist() == ["Telea (OpenCV)"] and len(gallery) == 2


def test_tab_stop_keeps_the_fill_so_far(monkeypatch):
    img, mask = smooth_photo(32, 32), centre_mask(32, 32)
    value = {"background": img, "layers": [rgba_layer(mask)]}
    stream = tab.inpaint_photo(value, [label(DIP)], iterations=1000,
                               progress=lambda *a, **k: None)  # fmt: skip
    next(stream)  # before Deep Image Prior starts
    next(stream)  # its first preview (after 100 iterations)
    tab.stop_deep_image_prior(None)
    gallery, table, notices, png = last(stream)
    assert "stopped after" in notices and png
    assert table["Method"].tolist() == ["Deep Image Prior"]


def test_tab_errors_become_gr_errors():
    wrapped = tab.user_errors(tab.inpaint_photo)  # the shared wrapper handles generators
    with pytest.raises(gr.Error, match="mask is empty"):
        last(wrapped({"background": smooth_photo(32, 32), "layers": []}, [label(TELEA)],
                     progress=lambda *a, **k: None))  # fmt: skip
    with pytest.raises(gr.Error, match="at least one method"):
        last(wrapped({"background": smooth_photo(32, 32), "layers": []}, [],
                     progress=lambda *a, **k: None))  # fmt: skip


def test_tab_builds_and_answers_a_real_client(monkeypatch, tmp_path):
    from gradio_client import Client, handle_file

    monkeypatch.setattr(inp, "_load_learned", lambda name: (tiny_generator(), "embedded", None, None))
    photos = tab.example_photos()
    assert len(photos) >= 2
    loaded = tab.load_example(photos[0])
    assert loaded["layers"] and tab.read_editor(loaded)[1].any()  # a painted example runs as is
    with gr.Blocks() as demo:
        tab.build_tab()
    demo.queue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        photo, layer = tmp_path / "photo.png", tmp_path / "layer.png"
        img, mask = smooth_photo(48, 64), centre_mask(48, 64)
        Image.fromarray(img).save(photo)
        Image.fromarray(rgba_layer(mask), "RGBA").save(layer)
        editor = {"background": handle_file(str(photo)), "layers": [handle_file(str(layer))],
                  "composite": None}  # fmt: skip
        gallery, table, notices, png = client.predict(editor, [label(TELEA), label(NAVIER_STOKES),
                                                               label(GATED)], 1, 0, 50,
                                                      api_name="/inpaint")  # fmt: skip
        assert [row[0] for row in table["data"]] == ["Telea (OpenCV)", "Navier-Stokes (OpenCV)",
                                                      inp.method_title(GATED)]  # fmt: skip
        filled = np.asarray(Image.open(gallery[1]["image"]).convert("RGB"))
        assert filled.shape == img.shape
        empty = {"background": handle_file(str(photo)), "layers": [], "composite": None}
        with pytest.raises(Exception, match="mask is empty"):
            client.predict(empty, [label(TELEA)], 1, 0, 50, api_name="/inpaint")
    finally:
        demo.close()



# --- hostile and careless input (#22) -----------------------------------------------------------


def _value(h: int = 32, w: int = 32) -> dict:
    return {"background": smooth_photo(h, w), "layers": [rgba_layer(centre_mask(h, w))]}


@pytest.mark.parametrize("field, value, message", [
    ("fills", float("nan"), "fills must be a whole number"),
    ("iterations", float("nan"), "iterations must be a whole number"),
    ("iterations", -5, "iterations must be a whole number"),
    ("seed", 1e308, "seed must be a whole number from 0 to 2147483647"),
    ("seed", 2**63, "seed must be a whole number from 0 to 2147483647"),
    ("seed", None, "seed must be a whole number"),
    ("seed", True, "seed must be a whole number"),
    ("seed", 2**31 - 1, "past 2147483647"),  # the second GAN fill would use seed 2**31
])  # fmt: skip
def test_tab_numbers_go_through_the_shared_validators(field, value, message):
    """F3: NaN fills or iterations crashed ("cannot convert float NaN"), 1e308 overflowed, 2**63
    and null were accepted silently; now the same rules and messages as every other tab."""
    kwargs = {"fills": 2, "seed": 0, "iterations": 50, field: value}
    with pytest.raises(InputError, match=message):
        last(tab.inpaint_photo(_value(), [label(TELEA), label(GATED)], progress=lambda *a, **k: None, **kwargs))


def test_tab_unknown_methods_are_refused_briefly():
    with pytest.raises(InputError, match="Unknown method") as info:
        last(tab.inpaint_photo(_value(), ["x" * 100_000], progress=lambda *a, **k: None))
    assert len(str(info.value)) < 400  # the choices are listed, the 100 KB value is not


def test_a_bomb_as_the_mask_layer_gets_a_clear_message():
    """F4: the layer path let PIL's DecompressionBombError through."""
    from tests.test_input_guard import bomb_png

    value = {"background": smooth_photo(32, 32), "layers": [bomb_png(20000, 20000)]}
    with pytest.raises(InputError, match="Refused: the mask layer") as info:
        tab.read_editor(value)
    assert "DecompressionBomb" not in str(info.value)


def exif_jpeg(array: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", exif=exif.tobytes(), quality=100)
    return buf.getvalue()


@pytest.mark.parametrize("drawn_on", ["stored", "upright"])
def test_an_exif_rotated_photo_takes_its_mask_in_either_orientation(drawn_on):
    """F5: a photo stored 60x40 with EXIF orientation 6 shows upright as 40x60; a mask drawn on
    its stored pixels was refused ("The mask is 60x40 px but the photo is 60x40 px")."""
    stored = smooth_photo(40, 60)
    mask = np.zeros((40, 60), bool)
    mask[5:15, 40:55] = True  # top right of the stored pixels
    layer = mask if drawn_on == "stored" else np.rot90(mask, k=-1)  # orientation 6: 90° clockwise
    photo, m, notices = tab.read_editor({"background": exif_jpeg(stored, 6), "layers": [rgba_layer(layer)]})
    assert photo.shape[:2] == (60, 40)
    assert np.array_equal(m, np.rot90(mask, k=-1))  # the same pixels of the photo, upright
    assert any("EXIF" in n for n in notices)
    assert not any("scaled" in n for n in notices)


def test_a_wrong_shaped_mask_names_the_photos_upright_size():
    value = {"background": exif_jpeg(smooth_photo(40, 60), 6), "layers": [rgba_layer(centre_mask(40, 40))]}
    with pytest.raises(InputError, match="the photo is 40x60 px"):
        tab.read_editor(value)


def test_an_invisible_layer_is_no_mask():
    """F6: alpha 1/255 everywhere counted as a 100 % mask."""
    faint = np.zeros((32, 32, 4), np.uint8)
    faint[..., 3] = 1
    with pytest.raises(InputError, match="mask is empty"):
        tab.read_editor({"background": smooth_photo(32, 32), "layers": [faint]})
    half = rgba_layer(centre_mask(32, 32))
    half[..., 3] = np.where(half[..., 3] > 0, 140, 0)  # a visible, semi-opaque stroke counts
    assert tab.read_editor({"background": smooth_photo(32, 32), "layers": [half]})[1].sum() > 0


def test_too_many_layers_are_refused_before_decoding():
    value = {"background": smooth_photo(32, 32), "layers": [b"never decoded"] * (tab.MAX_LAYERS + 1)}
    with pytest.raises(InputError, match="Too many mask layers"):
        tab.read_editor(value)


def test_deep_image_prior_runs_one_at_a_time():
    """F2: a second Deep Image Prior is told at once that it is busy (it would share the cores)."""
    assert tab.DIP_SLOTS.acquire(blocking=False)  # someone else's run
    try:
        with pytest.raises(InputError, match="already running"):
            last(tab.inpaint_photo(_value(), [label(TELEA), label(DIP)], progress=lambda *a, **k: None))
    finally:
        tab.DIP_SLOTS.release()
    gallery, *_ = last(tab.inpaint_photo(_value(), [label(TELEA), label(DIP)], iterations=5,
                                         progress=lambda *a, **k: None))  # fmt: skip
    assert len(gallery) == 3
    assert tab.DIP_SLOTS.acquire(blocking=False)  # released when the run ended
    tab.DIP_SLOTS.release()


def test_a_cancelled_deep_image_prior_stops_at_once(monkeypatch):
    """F2: gradio cancels a stream by closing the generator, which it can only do at a yield;
    the stream used to block until the next preview (10 % of the run, ~30 s at 3,000 it.). Now
    it yields "no change" while the fit runs, and closing it stops the fit."""
    import threading
    import time as _time

    seen = []
    real_inpaint = tab.inpaint

    def slow_dip(method, image, mask, seed=0, iterations=0, callback=None, **kw):
        if method != DIP:
            return real_inpaint(method, image, mask, seed=seed, **kw)
        for i in range(1, iterations + 1):
            _time.sleep(0.01)
            seen.append(i)
            if not callback(i, iterations, 0.1, lambda: image):
                break
        return real_inpaint(TELEA, image, mask)

    monkeypatch.setattr(tab, "inpaint", slow_dip)
    monkeypatch.setattr(tab, "IDLE_YIELD_S", 0.05)
    stream = tab.inpaint_photo(_value(), [label(DIP)], iterations=3000, progress=lambda *a, **k: None)
    next(stream)  # before Deep Image Prior starts
    assert next(stream) == tab.NO_CHANGE  # long before the first preview (iteration 300)
    assert seen and seen[-1] < 300
    stream.close()  # what gradio does on Cancel
    assert not any(t.name == "deep-image-prior" and t.is_alive() for t in threading.enumerate())
    assert seen[-1] < 300  # the fit ended with the stream
    assert tab.DIP_SLOTS.acquire(blocking=False)
    tab.DIP_SLOTS.release()


def test_stop_reaches_every_run_of_the_session():
    first, second = tab._stop_event(None), tab._stop_event(None)
    tab.stop_deep_image_prior(None)
    assert first.is_set() and second.is_set()
    tab._forget(None, first)
    tab._forget(None, second)
    assert "no-session" not in tab._stop_events

# --- training and evaluation --------------------------------------------------------------------


def test_perceptual_style_loss_runs_on_a_stand_in_vgg():
    from torch import nn

    from training.inpainting import PerceptualStyleLoss

    torch.manual_seed(0)
    layers, prev = [], 3  # VGG16's first 17 feature layers, narrower: conv/ReLU pairs, 3 max-pools
    for width, convs in [(4, 2), (8, 2), (16, 3)]:
        for _ in range(convs):
            layers += [nn.Conv2d(prev, width, 3, padding=1), nn.ReLU()]
            prev = width
        layers.append(nn.MaxPool2d(2))
    loss = PerceptualStyleLoss(nn.Sequential(*layers))
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    perceptual, style = loss(x, x, x)
    assert perceptual.item() == 0 and style.item() == 0
    perceptual, style = loss(x, y, y)
    assert perceptual.item() > 0 and style.item() > 0


def test_fills_of_a_model_without_noise_do_not_differ():
    from eval import inpainting as bench

    photos = {"a": smooth_photo(32, 32, 1)}
    masks = evaluation_masks(size=32, per_bucket=1, seed=0)
    torch.manual_seed(0)
    quiet = GatedInpaintGenerator(channels=4, refine_channels=4, noise=False).eval()
    out = bench.fill_diversity(quiet, photos, masks, ["20-30"], n=3)["per_bucket"]["20-30"]
    assert out["pairwise_l1"] == 0 and out["best_beats_first"] == 0 and out["best_psnr"] == out["first_psnr"]


def test_benchmark_on_a_tiny_subset(tmp_path, monkeypatch):
    from eval import inpainting as bench
    from eval import inpainting_speed
    from eval.tasks import figures

    photos = {"astronaut": smooth_photo(40, 50, 1), "coffee": smooth_photo(50, 40, 2)}
    masks = evaluation_masks(size=32, per_bucket=1, seed=0)
    model = tiny_generator()
    with torch.no_grad():  # untrained, the output layers are zero (the harmonic fill): give them weights
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    result = bench.run(progress=lambda f, what: None, failures_dir=tmp_path / "failures",
                       photos=photos, masks=masks, learned={GATED: model},
                       dip_iterations=2, side=32, dip_side=32, dip_default_iterations=2)  # fmt: skip
    failures = result.pop("failures")
    diversity = result["fill_diversity"]
    assert diversity["method"] == GATED and diversity["fills"] == bench.FILLS
    assert all(v["cases"] == 2 and v["pairwise_l1"] > 0 for v in diversity["per_bucket"].values())
    dip = result["dip_vs_telea"]
    assert dip["side"] == 32 and dip["iterations"] == 2 and dip["cases"] == 5
    assert set(dip["per_bucket"]["40-50"]) == {"photo", "mask_area", TELEA, DIP}
    assert 0 <= dip["dip_wins"]["psnr"] <= 5
    methods = result["methods"]
    assert set(methods) == {TELEA, NAVIER_STOKES, HARMONIC, GATED, DIP}
    assert result["buckets"] == ["0-10", "10-20", "20-30", "30-40", "40-50"]
    for method in (TELEA, NAVIER_STOKES, HARMONIC, GATED):
        assert list(methods[method]["per_bucket"]) == result["buckets"]
        assert methods[method]["per_bucket"]["40-50"]["n"] == 2
        assert set(methods[method]["per_image"]) == set(photos)
    assert all(v["n"] == 1 for v in methods[DIP]["per_bucket"].values())
    assert set(result["dip_subset"]["per_bucket"]) == {TELEA, NAVIER_STOKES, HARMONIC, GATED, DIP}
    assert failures and all((tmp_path / f["image"]).is_file() for f in failures)
    assert {"method", "photo", "bucket", "psnr", "ssim", "l1"} <= set(bench.csv_rows(result)[0])
    assert "| 40-50% |" in bench.card_section(result, GATED)
    for make in figures("inpainting"):
        make(result)
    # a learned model that cannot be loaded is reported, not fatal
    missing = bench.run([TELEA, "no-such-model"], photos=photos, masks=masks, side=32)
    assert "not in the model catalog" in missing["methods"]["no-such-model"]["error"]

    monkeypatch.setattr(inpainting_speed, "matmul_peak_flops", lambda: 1e11)  # (it takes seconds)
    speed = inpainting_speed.run(sizes=(32,), dip_sizes=(32,), dip_iterations=2)
    assert set(speed["methods"]) >= {TELEA, NAVIER_STOKES, DIP}
    assert all(v["seconds"] > 0 for r in speed["methods"].values() for v in r["per_size"].values())
    for make in figures("inpainting_speed"):
        make(speed)


def test_before_after_sheet_of_the_inpainting_model(tmp_path):
    from eval.before_after import _inpainting, sheet

    for name, seed in (("a", 0), ("b", 1)):
        tiny_generator(seed).save_pretrained(tmp_path / name)
    rows, what = _inpainting(tiny_generator(0))
    assert rows.shape == (2 * 256, 4 * 256, 3) and "40-50%" in what
    hole = rows[:256, :256]  # the first photo with its hole shown grey
    assert (hole == 128).all(-1).mean() > 0.05
    same = np.asarray(sheet("inpainting-gated", tmp_path / "a", tmp_path / "a"))
    different = np.asarray(sheet("inpainting-gated", tmp_path / "a", tmp_path / "b"))
    assert different.shape == same.shape and not np.array_equal(different, same)
