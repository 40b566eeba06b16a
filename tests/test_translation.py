"""Day <-> night translation: the paired scene renderer, pix2pix / CycleGAN architectures and
their community-checkpoint layouts (strict loads from a fake Hub cache), the history pool, the
benchmark and the tab on tiny seeded models (training runs: tests/test_training_generators.py).
No trained checkpoint needed."""

from __future__ import annotations

import dataclasses
import io
import math
from collections import OrderedDict
from pathlib import Path

import gradio as gr
import huggingface_hub.constants
import numpy as np
import pytest
import torch
from PIL import Image

from data.day_night import EVAL_SEED, make_pairs, render_scene, scene_params
from data.input_guard import InputError
from demos import translation as tab
from eval import translation as bench
from eval.tasks import figures
from models import catalog, hub
from models.catalog import CatalogEntry, HubCheckpoint
from models.cyclegan import CycleGAN, ImagePool, ResnetGenerator, lsgan_loss
from models.pix2pix import PatchDiscriminator, Pix2PixPair, UNetGenerator, receptive_field
from models.scene_features import SceneClassifier, classify, scene_features
from models.translation import CYCLEGAN, HUB_CYCLEGAN, HUB_PIX2PIX, PIX2PIX, round_trip, translate

REV = "0123456789abcdef0123456789abcdef01234567"

# The catalog entries of issue #7 (the same as in models/catalog.py; used when that file does not
# have them yet, so these tests also describe what it must hold).
HUB_ENTRIES = {
    HUB_PIX2PIX: CatalogEntry(
        name=HUB_PIX2PIX, cls="models.pix2pix:UNetGenerator", task="translation",
        title="pix2pix night → day (HugGAN, real photos)",
        hub=HubCheckpoint(repo_id="huggan/pix2pix-night2day", revision="150e94d5ccdecfb61a98bceee3962c981d175d2e",
                          filename="pytorch_model.bin", format="torch",
                          config={"ngf": 64, "depth": 8, "max_mult": 8, "dropout": 0.5}, license="MIT")),
    HUB_CYCLEGAN: CatalogEntry(
        name=HUB_CYCLEGAN, cls="models.cyclegan:CycleGAN", task="translation",
        title="CycleGAN horse → zebra (UPIT)",
        hub=HubCheckpoint(repo_id="tmabraham/horse2zebra_cyclegan", revision="a97667461b0f57d35692c6210dd747e7e90fa056",
                          filename="pytorch_model.bin", format="torch",
                          config={"n_features": 64, "n_blocks": 9, "disc_layers": 3, "discriminators": True,
                                  "image_size": 256})),
}  # fmt: skip


def hub_entry(name: str) -> CatalogEntry:
    return catalog.CATALOG.get(name) or HUB_ENTRIES[name]


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf_cache"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def put_in_cache(cache: Path, repo_id: str, files: dict[str, Path], rev: str) -> None:
    """huggingface_hub's cache layout, the snapshot under the pinned commit itself."""
    repo_dir = cache / f"models--{repo_id.replace('/', '--')}"
    snap = repo_dir / "snapshots" / rev
    snap.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(rev)
    for name, path in files.items():
        (snap / name).write_bytes(path.read_bytes())


@pytest.fixture
def tiny_translators(tmp_path, monkeypatch):
    """The catalog with tiny seeded embedded models for the translators and the judge, and the
    Hub entries (absent from the empty fake cache: they fail with a notice)."""
    monkeypatch.setattr(catalog, "CATALOG", dict(catalog.CATALOG))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    torch.manual_seed(0)
    models = {PIX2PIX: Pix2PixPair(ngf=4, depth=7, max_mult=2),
              CYCLEGAN: CycleGAN(n_features=4, n_blocks=1, image_size=128),
              "scene-classifier": SceneClassifier(width=4, feature_dim=16)}  # fmt: skip
    for name, model in models.items():
        model.save_pretrained(tmp_path / name)
        catalog.CATALOG[name] = CatalogEntry(name=name, cls=f"{type(model).__module__}:{type(model).__name__}",
                                             task="translation", title=name, embedded=str(tmp_path / name))  # fmt: skip
    catalog.CATALOG.update({k: hub_entry(k) for k in HUB_ENTRIES})
    return models


# --- data ----------------------------------------------------------------------------------------


def _bright_in_buildings(image: np.ndarray, p) -> int:
    """Pixels brighter than 150 (luma) inside the buildings' outlines: at night, lit windows (the
    moon and stars are drawn behind the buildings)."""
    h, w = image.shape[:2]
    inside = np.zeros((h, w), bool)
    for b in p.buildings:
        x0, x1 = max(0, int(b.x * w) + 1), min(w, int((b.x + b.width) * w) - 1)
        inside[int((p.horizon - b.height) * h) + 1 : int(p.horizon * h) - 1, x0:x1] = True
    luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return int((inside & (luma > 150)).sum())


def test_windows_light_up_at_night_and_are_invisible_by_day():
    p = dataclasses.replace(scene_params(EVAL_SEED, 1), lamps=(), trees=())
    assert p.buildings
    unlit = dataclasses.replace(p, buildings=tuple(dataclasses.replace(b, lit=0.0) for b in p.buildings))
    assert _bright_in_buildings(render_scene(p, True), p) > 20
    assert _bright_in_buildings(render_scene(unlit, True), p) == 0
    # which windows are lit cannot be seen by day: day -> night is ambiguous by construction
    assert np.array_equal(render_scene(p, False), render_scene(unlit, False))


# --- architectures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [128, 256])
def test_pix2pix_and_cyclegan_shapes(size):
    torch.manual_seed(0)
    x = torch.rand(2, 3, size, size) * 2 - 1
    g = UNetGenerator(ngf=4, depth=7, max_mult=2).eval()
    y = g(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    d = PatchDiscriminator(6, 8)
    assert d(torch.cat([x, y], 1)).shape == (2, 1, size // 8 - 2, size // 8 - 2)
    r = ResnetGenerator(n_features=4, n_blocks=1)
    assert r(x).shape == x.shape
    pair = Pix2PixPair(ngf=4, depth=7, max_mult=2)
    assert pair(x, "night2day").shape == x.shape
    with pytest.raises(ValueError, match="multiples of 128"):
        g(torch.rand(1, 3, 96, 96))


def test_patchgan_is_70x70_and_lsgan_loss():
    assert receptive_field(3) == 70
    assert lsgan_loss(torch.ones(4), 1.0) == 0 and lsgan_loss(torch.zeros(4), 1.0) == 1


def test_image_pool():
    assert torch.equal(ImagePool(0).query(torch.ones(2, 1, 1, 1)), torch.ones(2, 1, 1, 1))
    pool = ImagePool(4, seed=0)
    first = torch.arange(4.0).view(4, 1, 1, 1).requires_grad_()
    out = pool.query(first)
    assert torch.equal(out, first.detach()) and not out.requires_grad and len(pool) == 4
    returned_old = 0
    for k in range(1, 30):
        new = torch.full((4, 1, 1, 1), 100.0 + k)
        out = pool.query(new)
        assert out.shape == new.shape and len(pool) == 4
        returned_old += int((out != new).sum())
    assert 20 < returned_old < 100  # about half of the 116 answers are older images
    stored = torch.cat(pool.images).flatten()
    assert (stored >= 100).all()  # the first batch has been swapped out by now


def test_save_load_round_trip_is_strict(tmp_path):
    torch.manual_seed(1)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    for model in (Pix2PixPair(ngf=4, depth=7, max_mult=2), CycleGAN(n_features=4, n_blocks=1, image_size=128)):
        model.eval().save_pretrained(tmp_path / type(model).__name__)
        again = type(model).from_pretrained(tmp_path / type(model).__name__, strict=True)
        for direction in ("day2night", "night2day"):
            assert torch.equal(model(x, direction), again(x, direction))
        assert again.image_size == 128
    clf = SceneClassifier(width=4).eval()
    clf.save_pretrained(tmp_path / "clf")
    again = SceneClassifier.from_pretrained(tmp_path / "clf", strict=True)
    images = make_pairs(2, 128, seed=1).night
    assert np.allclose(scene_features(clf, images), scene_features(again, images))
    assert classify(again, images)["time"].shape == (2, 2)


# --- community checkpoints: parameter names written out from the upstream definitions -------------


def upstream_pix2pix_shapes() -> dict[str, tuple[int, ...]]:
    """huggingface/community-events huggan/pytorch/pix2pix/modeling_pix2pix.py GeneratorUNet():
    down1 3->64 (no norm), down2 64->128, down3 128->256, down4..down8 ->512, each block's conv
    (4x4, no bias) at .model.0; up1 512->512, up2..up4 1024->512, up5 1024->256, up6 512->128,
    up7 256->64 (transposed 4x4, no bias); final: Upsample, ZeroPad2d, Conv2d(128, 3, 4) at
    final.2, Tanh. Instance norms are not affine: no parameters."""
    downs = [(64, 3), (128, 64), (256, 128), (512, 256), (512, 512), (512, 512), (512, 512), (512, 512)]
    ups = [(512, 512), (1024, 512), (1024, 512), (1024, 512), (1024, 256), (512, 128), (256, 64)]
    shapes = {f"down{i + 1}.model.0.weight": (o, c, 4, 4) for i, (o, c) in enumerate(downs)}
    shapes.update({f"up{i + 1}.model.0.weight": (c, o, 4, 4) for i, (c, o) in enumerate(ups)})
    shapes.update({"final.2.weight": (3, 128, 4, 4), "final.2.bias": (3,)})
    return shapes


def upstream_upit_cyclegan_shapes() -> dict[str, tuple[int, ...]]:
    """tmabraham/UPIT upit/models/cyclegan.py CycleGAN() (defaults: 64 features, 9 blocks, 3
    discriminator layers, instance norm, so every conv has a bias). resnet_generator: reflection
    pad + conv7 at 1; stride-2 convs at 4 and 7; ResnetBlocks 10..18 with convs at conv_block.1
    and conv_block.5; transposed convs at 19 and 22; final conv7 at 26. discriminator: convs at
    0, 2, 5, 8 and 11."""
    g = {"1": (64, 3, 7, 7), "4": (128, 64, 3, 3), "7": (256, 128, 3, 3), "19": (256, 128, 3, 3),
         "22": (128, 64, 3, 3), "26": (3, 64, 7, 7)}  # fmt: skip
    for i in range(10, 19):
        g[f"{i}.conv_block.1"] = g[f"{i}.conv_block.5"] = (256, 256, 3, 3)
    d = {"0": (64, 3, 4, 4), "2": (128, 64, 4, 4), "5": (256, 128, 4, 4), "8": (512, 256, 4, 4), "11": (1, 512, 4, 4)}
    shapes = {}
    for prefix, layers in (("G_A", g), ("G_B", g), ("D_A", d), ("D_B", d)):
        for k, shape in layers.items():
            out = shape[1] if k in ("19", "22") else shape[0]  # transposed convs: (in, out, k, k)
            shapes[f"{prefix}.{k}.weight"], shapes[f"{prefix}.{k}.bias"] = shape, (out,)
    return shapes


def synthetic_state(shapes: dict[str, tuple[int, ...]], seed: int) -> OrderedDict:
    """Seeded tensors of the given shapes, stored compactly (one random value per output channel,
    broadcast) so a 218 MB checkpoint is a few kB on disk."""
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for k, shape in shapes.items():
        base = torch.randn(shape[0], generator=g) * 0.02
        state[k] = base.view(-1, *([1] * (len(shape) - 1))).expand(shape)
    return state


@pytest.mark.parametrize("name,shapes,param_count", [
    (HUB_PIX2PIX, upstream_pix2pix_shapes, 54_404_099),
    (HUB_CYCLEGAN, upstream_upit_cyclegan_shapes, 28_285_832)])  # fmt: skip
def test_community_checkpoints_load_strictly_from_fake_hub(name, shapes, param_count, fake_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "CATALOG", {**catalog.CATALOG, name: hub_entry(name)})
    entry = catalog.get_entry(name)
    assert entry.hub.format == "torch" and entry.hub.filename == "pytorch_model.bin"
    state = synthetic_state(shapes(), seed=3)
    assert sum(v.numel() for v in state.values()) == param_count  # 218 MB / 113 MB in fp32 upstream
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)  # what the 2022 PyTorchModelHubMixin wrote: a plain state dict
    put_in_cache(fake_cache, entry.hub.repo_id, {"pytorch_model.bin": path}, rev=entry.hub.revision)
    loaded = hub.load(name, "hub")
    assert loaded.source == "hub" and loaded.notice is None
    assert entry.hub.revision in loaded.origin
    got = loaded.model.state_dict()
    assert set(got) == set(state)
    for k in list(state)[:3] + list(state)[-3:]:
        assert torch.equal(got[k], state[k]), k


def test_community_checkpoint_missing_is_a_clear_error(fake_cache, monkeypatch):
    monkeypatch.setattr(catalog, "CATALOG", {**catalog.CATALOG, HUB_PIX2PIX: hub_entry(HUB_PIX2PIX)})
    with pytest.raises(hub.ModelUnavailable, match="huggan/pix2pix-night2day"):
        hub.load(HUB_PIX2PIX, "hub")


# --- benchmark --------------------------------------------------------------------------------------


def test_benchmark_on_tiny_models(tiny_translators, tmp_path):
    result = bench.run(n_scenes=4, failures_dir=tmp_path / "failures", photos=("china",))
    m = result["methods"]
    for method in (PIX2PIX, CYCLEGAN):
        for direction in ("day2night", "night2day"):
            d = m[method]["per_direction"][direction]
            assert {"psnr", "ssim", "fd", "reads_as_target", "cycle_l1", "cycle_psnr"} <= set(d)
            assert math.isfinite(d["psnr"]) and -1 <= d["ssim"] <= 1
            assert len(m[method]["per_scene"][direction]["psnr"]) == 4
        assert m[method]["mean"]["seconds_256"] > 0
        assert m[method]["checkpoint"]["source"] == "embedded" and len(m[method]["checkpoint"]["sha256"]) == 64
    assert "cycle_psnr" not in m[bench.IDENTITY]["per_direction"]["day2night"]
    assert "error" in m[HUB_PIX2PIX]  # not in the (empty) fake Hub cache: reported, not a crash
    assert "pix2pix is ahead" in result["paper_check"]["verdict"]
    assert len(result["paper_check"]["comparisons"]) == 6
    cases = result["failures"]
    assert [c["task"] for c in cases] == ["translation", "translation"]
    for c in cases:
        assert (tmp_path / c["image"]).exists() and c["why"]
    rows = bench.csv_rows(result)
    assert {r["direction"] for r in rows} == {"day2night", "night2day", "MEAN"}
    result["date"] = "2026-01-01T00:00:00"
    assert "| day → night |" in bench.card_section(result, PIX2PIX)
    for figure in figures("translation"):
        assert figure(result).data


def test_benchmark_reports_missing_models(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "CATALOG", dict(catalog.CATALOG))
    for name in (PIX2PIX, CYCLEGAN, "scene-classifier"):
        catalog.CATALOG[name] = CatalogEntry(name=name, cls="models.pix2pix:Pix2PixPair", task="translation",
                                             title=name, embedded=str(tmp_path / "nowhere"))  # fmt: skip
    result = bench.run(n_scenes=2, failures_dir=tmp_path / "f", photos=())
    assert "error" in result["methods"][PIX2PIX] and "error" in result["methods"][CYCLEGAN]
    assert "psnr" in result["methods"][bench.IDENTITY]["mean"] and "judge_error" in result
    assert result["failures"] == [] and "not checked" in result["paper_check"]["verdict"]


# --- the tab -----------------------------------------------------------------------------------------


def test_helpers_translate_and_round_trip(tiny_translators):
    x = make_pairs(1, 128, seed=EVAL_SEED).day[0]
    there, back = round_trip(CYCLEGAN, x, "day2night")
    assert there.image.shape == back.image.shape == (128, 128, 3) and back.details["direction"] == "night2day"
    r = translate(PIX2PIX, np.zeros((300, 200, 3), np.uint8), "night2day")  # cropped and resized
    assert r.image.shape == (128, 128, 3) and r.source == "embedded"
    with pytest.raises(hub.ModelUnavailable):
        translate(HUB_PIX2PIX, x, "night2day")


def test_tab_with_a_generated_scene_shows_ground_truth(tiny_translators):
    example = sorted(tab.EXAMPLES_DIR.glob("*_day.png"))[0]
    gallery, table, notices, png = tab.translate_image(str(example))
    titles = [caption for _, caption in gallery]
    assert len(gallery) == 5 and titles[-1].startswith("Ground truth")
    assert "Held-out scene" in notices
    assert table["PSNR vs ground truth (dB)"].notna().sum() == 3  # pix2pix, CycleGAN and the cycle
    assert Image.open(png).size[0] > 256 * 5
    night = example.with_name(example.name.replace("_day", "_night"))
    gallery, table, notices, _ = tab.translate_image(night.read_bytes())  # pasted bytes work too
    assert "night" in gallery[0][1] and gallery[-1][1].startswith("Ground truth")


def test_tab_photo_and_bad_inputs(tiny_translators, tmp_path):
    grey = tmp_path / "grey.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (150, 1)), "L").save(grey)
    gallery, table, notices, _ = tab.translate_image(str(grey), tab.INPUT_AUTO, False)
    assert "Grayscale" in notices and "not one of the generated scenes" in notices
    assert len(gallery) == 4 and table["PSNR vs ground truth (dB)"].isna().sum() == 2
    dark = tmp_path / "dark.png"
    Image.fromarray(np.full((64, 64, 3), 20, np.uint8)).save(dark)
    assert "Guessed night" in tab.translate_image(str(dark))[2]
    # a photo carrying a copied scene tag is still a photo
    tagged = tab.scene_png(0, False)
    fake = Image.fromarray(np.full((128, 128, 3), 90, np.uint8))
    buf = io.BytesIO()
    fake.save(buf, format="PNG", pnginfo=tab.pnginfo(tagged))
    assert "not one of the generated scenes" in tab.translate_image(buf.getvalue())[2]
    with pytest.raises(InputError, match="too small"):
        tab.translate_image(np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "notes.png").write_bytes(b"this is not an image")
    with pytest.raises(InputError, match="not an image"):
        tab.translate_image(str(tmp_path / "notes.png"))
    with pytest.raises(InputError):
        tab.translate_image(str(grey), "Evening")
    with pytest.raises(gr.Error):  # through the UI wrapper: a message, not a crash
        tab.user_errors(tab.translate_image)(None)


def test_render_held_out_and_tab_builds(tiny_translators):
    path = tab.render_held_out(3, "night")
    scene = tab.identify_scene(path, np.asarray(Image.open(path).convert("RGB")))
    assert scene["index"] == 3 and scene["time"] == "night" and scene["truth"].shape == (128, 128, 3)
    for bad in (-1, 200, 1.5, "x", None):
        with pytest.raises(InputError):
            tab.render_held_out(bad, "day")
    with gr.Blocks() as demo:
        tab.build_tab()
    assert "translate" in {fn.api_name for fn in demo.fns.values()}
