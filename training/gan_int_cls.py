"""GAN-INT-CLS training loop (see training/text2image.py for the method and the command)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from data.text_scenes import TEMPLATES, TRAIN_SEED, caption, train_scenes
from models.gan_int_cls import GanIntCls, MatchingAwareDiscriminator, render, seeded_z
from models.scene_clip import SceneCLIP
from models.tensors import to_signed_tensor
from training.common import Budget, LossLog, adversarial_step, bce, linear_decay, save_grid
from training.text2image import DATA

logger = logging.getLogger(__name__)

CAPTIONS_PER_SCENE = 6  # embeddings precomputed per scene (templates and synonyms drawn at random)
INTERPOLATION_BETA = 0.5  # GAN-INT: beta * t1 + (1 - beta) * t2, as in the paper
PREVIEW_CAPTIONS = ("a red ball", "two blue cubes", "three green cones", "a yellow ball and a purple cube",
                    "four orange balls", "a large green cube near the camera", "a small purple cone far away",
                    "a red cone")  # fmt: skip  (the last one is a held-out combination)


def load_text_encoder(spec: str | None) -> tuple[SceneCLIP, str]:
    """The frozen text encoder and the name stored in the GAN's config."""
    if spec is None:
        from models import hub

        return hub.load("scene-clip", "embedded").model, "scene-clip"
    return SceneCLIP.from_pretrained(spec), spec


@torch.no_grad()
def embed_captions(clip: SceneCLIP, captions: list[str], batch: int = 512) -> torch.Tensor:
    return torch.cat([clip.encode_text(captions[i : i + batch]) for i in range(0, len(captions), batch)])


def train_gan_int_cls(args, log: LossLog, budget: Budget, out: Path) -> tuple[GanIntCls, dict]:
    clip, encoder_name = load_text_encoder(args.clip)
    clip.eval().requires_grad_(False)
    data = train_scenes(args.scenes)
    rng = np.random.default_rng(args.seed)
    captions = [caption(sc, rng) for sc in data.scenes for _ in range(CAPTIONS_PER_SCENE)]
    table = embed_captions(clip, captions).view(len(data), CAPTIONS_PER_SCENE, -1)
    images = to_signed_tensor(data.images)
    logger.info("embedded %d captions (%d distinct)", len(captions), len(set(captions)))

    width = args.width or 32
    lr = args.lr or 2e-4
    model = GanIntCls(text_dim=table.shape[-1], width=width, text_encoder=encoder_name)
    g, d = model.generator, MatchingAwareDiscriminator(text_dim=table.shape[-1], width=width)
    g.train()
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(args.seed)
    for step in budget:
        linear_decay([opt_g, opt_d], lr, budget, step)
        idx = torch.from_numpy(rng.integers(len(data), size=args.batch))
        k = torch.from_numpy(rng.integers(CAPTIONS_PER_SCENE, size=args.batch))
        x, t = images[idx], table[idx, k]
        wrong = table[idx.roll(1), k.roll(1)]  # another scene's caption
        fake = g(torch.randn(args.batch, model.z_dim, generator=gen), t)
        half = args.batch // 2  # GAN-INT term on half a batch (saves a third of the generator's work)
        t_int = INTERPOLATION_BETA * t[:half] + (1 - INTERPOLATION_BETA) * t.roll(2, 0)[:half]

        def d_loss():
            real_right, real_wrong, fake_right = d(x, t), d(x, wrong), d(fake.detach(), t)
            loss = bce(real_right, 1.0) + 0.5 * (bce(real_wrong, 0.0) + bce(fake_right, 0.0))
            return loss, {"d": loss.item(), "d_real_right": torch.sigmoid(real_right).mean().item(),
                          "d_real_wrong": torch.sigmoid(real_wrong).mean().item(),
                          "d_fake": torch.sigmoid(fake_right).mean().item()}  # fmt: skip

        def g_loss():
            cls = bce(d(fake, t), 1.0)
            fake_int = g(torch.randn(half, model.z_dim, generator=gen), t_int)
            interp = bce(d(fake_int, t_int), 1.0)  # GAN-INT: no real image exists for t_int
            return cls + interp, {"g_cls": cls.item(), "g_int": interp.item()}

        log.add(step, **adversarial_step(g_loss, d_loss, opt_g, opt_d, d))
        if (step + 1) % 250 == 0:  # a preview while it runs (overwritten by the final one)
            g.eval()
            save_preview(model, clip, out / "samples.png")
            g.train()
    gan_steps, gan_seconds = budget.done, log.elapsed

    # Style encoder: G frozen, regress z from G(z, phi(t)).
    g.eval().requires_grad_(False)
    model.style.train()
    opt_s = torch.optim.Adam(model.style.parameters(), lr=lr, betas=(0.5, 0.999))
    s_start, s_steps, s_losses = time.time(), 0, []
    while time.time() - s_start < 60 * args.style_minutes:
        z = torch.randn(args.batch, model.z_dim, generator=gen)
        t = table[torch.from_numpy(rng.integers(len(data), size=args.batch)),
                  torch.from_numpy(rng.integers(CAPTIONS_PER_SCENE, size=args.batch))]  # fmt: skip
        with torch.no_grad():
            x = g(z, t)
        loss = F.mse_loss(model.style(x), z)
        opt_s.zero_grad(set_to_none=True)
        loss.backward()
        opt_s.step()
        s_losses.append(loss.item())
        s_steps += 1
        if s_steps % 50 == 0:
            logger.info("style step %d  mse=%.4f", s_steps, float(np.mean(s_losses[-50:])))
    model.eval()
    save_preview(model, clip, out / "samples.png")
    style_mse = float(np.mean(s_losses[-50:])) if s_losses else float("nan")
    info = {"data": DATA.format(n=args.scenes, seed=TRAIN_SEED) + f" ({CAPTIONS_PER_SCENE} captions per scene "
                    f"embedded once with the frozen text encoder '{encoder_name}')",
            "details": (f"GAN-CLS + GAN-INT (beta {INTERPOLATION_BETA}, on half of each batch): generator (batch norm) and "
                        f"matching-aware discriminator (spectral norm, minibatch-deviation channel), "
                        f"both of width {width}; text embedding ({table.shape[-1]}-d) compressed to "
                        f"128 by FC + leaky ReLU; z 100-d; BCE; D's wrong-text and fake terms weighted 1/2; "
                        f"Adam lr {lr:g} betas (0.5, 0.999), constant then linear decay to 0; "
                        f"{gan_steps} GAN steps in {gan_seconds / 60:.1f} min, then the style encoder S(x) for "
                        f"{s_steps} steps ({args.style_minutes:g} min, batch {args.batch}) with G frozen, final "
                        f"z-regression MSE {style_mse:.3f} (1.0 = predicting 0)"),
            "summary": ("GAN-INT-CLS (Reed et al. 2016) text-to-image generator and style encoder S(x), 64x64, "
                        f"trained here on captioned procedural scenes with the text encoder '{encoder_name}'. "
                        "The discriminator is not saved."),
            "style_mse": style_mse, "gan_steps": gan_steps, "templates": list(TEMPLATES),
            "tags": ["gan-int-cls", "text-to-image", "gan-gallery"]}  # fmt: skip
    return model, info


def save_preview(model: GanIntCls, clip: SceneCLIP, path: Path, n: int = 8) -> None:
    """Rows: the preview captions (the last is a held-out combination); columns: seeds 0..n-1."""
    t = embed_captions(clip, list(PREVIEW_CAPTIONS))
    z = seeded_z(list(range(n)), model.z_dim)
    save_grid(np.concatenate([render(model, z, t[i : i + 1]) for i in range(len(t))]), path, cols=n)
