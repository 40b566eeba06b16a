"""Short training smoke runs: the loss must move, the checkpoint and its card must load."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from training.__main__ import main as train_main


@pytest.fixture
def photo_dir(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "photos"
    d.mkdir()
    yy, xx = np.mgrid[0:96, 0:128]
    for i in range(3):
        base = np.stack([np.sin(xx / (5 + i)) , np.cos(yy / (7 + i)), np.sin((xx + yy) / 9)], -1)
        img = ((base + 1) * 110 + rng.normal(0, 4, base.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"p{i}.png")
    return d


def read_log(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_scene_clip_then_gan_int_cls_smoke(tmp_path):
    """scene-clip learns (its contrastive loss falls), then GAN-INT-CLS trains on its embeddings and
    both checkpoints load strictly, with cards that name the command and the text encoder."""
    from models.gan_int_cls import GanIntCls
    from models.scene_clip import SceneCLIP

    clip_dir, gan_dir = tmp_path / "clip", tmp_path / "gan"
    common = ["--scenes", "64", "--threads", "1"]
    assert train_main(["scene-clip", *common, "--steps", "40", "--batch", "32", "--width", "32",
                       "--layers", "1", "--lr", "2e-3", "--out", str(clip_dir)]) == 0  # fmt: skip
    rows = read_log(clip_dir / "training_log.csv")
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert "R-precision" in (clip_dir / "README.md").read_text()
    clip = SceneCLIP.from_pretrained(clip_dir)

    assert train_main(["gan-int-cls", *common, "--steps", "4", "--batch", "8", "--width", "8",
                       "--style-minutes", "0.02", "--clip", str(clip_dir), "--out", str(gan_dir)]) == 0  # fmt: skip
    assert {"d_real_right", "d_real_wrong", "d_fake", "g_cls", "g_int"} <= set(read_log(gan_dir / "training_log.csv")[0])
    gan = GanIntCls.from_pretrained(gan_dir, strict=True)
    assert gan.text_encoder == str(clip_dir) and gan.text_dim == clip.embed_dim
    card = (gan_dir / "README.md").read_text()
    assert "--steps 4" in card and "matching-aware" in card and "style encoder" in card
    assert (gan_dir / "samples.png").is_file()
