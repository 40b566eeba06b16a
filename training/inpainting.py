"""Train the gated-convolution inpainting GAN (DeepFillv2-style) on real photo crops.

    python -m training inpainting [--steps N] [--max-minutes M] [--data DIR] [--threads 2]

Crops of real photos (the Debian photo packages, or any folder with --data; never the held-out
evaluation photos) get free-form brush-stroke masks (data/masks.py) covering 2-55% of the crop.
Losses: L1 inside the hole and (weighted lower) outside it, for the coarse and the refined
output; the SN-PatchGAN hinge loss on the composited image, after an L1-only warm-up; a
diversity hinge that keeps two noise inputs from giving the same fill (so "n plausible fills"
differ); and VGG16 perceptual + style losses (Liu et al. 2018) only when torchvision's ImageNet
VGG16 weights are in the local torch cache (they cannot be had offline; the model card says
which losses were used).

The run ends after --steps or --max-minutes, whichever comes first; the L1-only warm-up and the
cosine learning-rate schedule follow the run's progress (the larger of the step and the time
fraction), so a run cut by its time budget still anneals and still trains adversarially. The
exported generator is the EMA of its weights (--ema-decay).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.masks import free_form_mask
from data.photos import PatchSampler, debian_photo_paths, folder_photo_paths
from models.inpainting import GatedInpaintGenerator, SNPatchDiscriminator
from models.tensors import to_signed_tensor
from training.config import ConfigError, RunConfig, option
from training.engine import Recipe, Run, StepBatches

VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG16 weights file name
MASK_AREA = (0.02, 0.55)  # training hole sizes (the evaluation buckets go to 50%)
VALID_WEIGHT = 0.2  # L1 outside the hole, relative to inside (the output there is replaced anyway)
# Mean |fill(z1) - fill(z2)| in the hole on the [-1, 1] scale (0.03 = ~4 grey levels on average,
# concentrated where the content is uncertain). Any spread costs some L1 against the one true
# photo, so it is kept small: the benchmark counts PSNR.
DIVERSITY_TARGET = 0.03
PERCEPTUAL_WEIGHT, STYLE_WEIGHT = 0.05, 120.0  # Liu et al. 2018 (partial convolutions)
FINAL_LR_FRACTION = 1 / 20  # the generator's cosine schedule ends at lr / 20
TAGS = ["image-inpainting", "deepfillv2", "gated-convolution", "gan-gallery"]


@dataclass
class InpaintingConfig(RunConfig):
    steps: int = option(2000, "optimizer steps (each updates D, then G, once the warm-up is over)", min=1)
    batch: int = option(8, "crops per step on each process", min=1)
    max_minutes: float = option(35.0, "stop after this many minutes of training (0: no time limit); the "
                                "warm-up and the schedule follow the time when it binds first", min=0)
    data: str = option("", "folder of training photos (default: the Debian photo packages)")
    size: int = option(128, "crop side in px (a multiple of 8)", min=16)
    photo_side: int = option(384, "photos are first downscaled so their longer side is at most this", min=64)
    channels: int = option(24, "coarse stage base channels (even)", min=2)
    refine_channels: int = option(16, "refinement stage base channels (even)", min=2)
    disc_channels: int = option(32, "SN-PatchGAN discriminator base channels", min=1)
    lr: float = option(4e-4, "Adam learning rate of G and D (betas 0.5, 0.999); G's is cosine-annealed to lr / 20",
                       min=0, exclusive_min=True)
    adv_weight: float = option(0.01, "weight of the hinge GAN loss in G's loss", min=0)
    warmup: float = option(0.25, "fraction of the run (by progress) trained with L1 only, before the discriminator",
                           min=0, max=1)
    diversity_weight: float = option(1.0, f"weight of the diversity hinge (two noise inputs at least "
                                     f"{DIVERSITY_TARGET:g} apart in the hole; 0: off)", min=0)
    ema_decay: float = option(0.99, "decay of the generator's EMA copy (the exported weights)", min=0, max=1)
    vgg: str = option("auto", "perceptual + style losses: auto = when ImageNet VGG16 weights are in the torch "
                      "cache; off = never", choices=("auto", "off"))

    def validate(self) -> None:
        super().validate()
        if self.size % 8:
            raise ConfigError(f"--size must be a multiple of 8 (the generator halves it 3 times); got {self.size}")
        for flag, value in (("--channels", self.channels), ("--refine-channels", self.refine_channels)):
            if value % 2:
                raise ConfigError(f"{flag} must be even (the last layers use half of it); got {value}")


class PerceptualStyleLoss(nn.Module):
    """L1 between VGG16 pool1/pool2/pool3 features (perceptual) and between their Gram matrices
    (style), for the raw output and the composited image, as in Liu et al. 2018. Inputs in
    [-1, 1]. `features` defaults to torchvision's ImageNet VGG16 (tests pass a random one)."""

    def __init__(self, features: nn.Module | None = None) -> None:
        super().__init__()
        if features is None:
            from torchvision.models import VGG16_Weights, vgg16

            features = vgg16(weights=VGG16_Weights.IMAGENET1K_V1).features
        self.blocks = nn.ModuleList([features[:5], features[5:10], features[10:17]]).eval()
        self.blocks.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    @staticmethod
    def _gram(f: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f.shape
        f = f.reshape(b, c, h * w)
        return f @ f.transpose(1, 2) / (c * h * w)

    def forward(self, output: torch.Tensor, composite: torch.Tensor,
                target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        real = [f.detach() for f in self._features(target)]
        perceptual = output.new_zeros(())
        style = output.new_zeros(())
        for image in (output, composite):
            for f, r in zip(self._features(image), real, strict=True):
                perceptual = perceptual + F.l1_loss(f, r)
                style = style + F.l1_loss(self._gram(f), self._gram(r))
        return perceptual, style


def masked_l1(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean |output - target| over the pixels where region == 1 (and all 3 channels)."""
    return ((output - target).abs() * region).sum() / (region.sum() * 3).clamp_min(1.0)


def vgg16_cached() -> bool:
    """Whether torchvision's ImageNet VGG16 file is in the local torch cache (nothing is downloaded)."""
    return (Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE).exists()


def make_batch(sampler: PatchSampler, batch: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (B, 3, p, p) in [-1, 1], masks (B, 1, p, p) in {0, 1}); crops and masks from `rng`."""
    crops = sampler.sample(batch, rng)
    masks = np.stack([free_form_mask(sampler.patch, rng, rng.uniform(*MASK_AREA)) for _ in range(batch)])
    return to_signed_tensor(crops), torch.from_numpy(masks).float()[:, None]


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """The gated convolutions run ~2.5x faster in this layout on this CPU (DESIGN.md)."""
    return x.contiguous(memory_format=torch.channels_last)


class InpaintingRecipe(Recipe):
    method, model_name, config = "inpainting", "inpainting-gated", InpaintingConfig
    description = __doc__
    vgg_features: nn.Module | None = None  # tests set a tiny VGG stand-in here

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        paths = folder_photo_paths(cfg.data) if cfg.data else debian_photo_paths()
        self.sampler = PatchSampler(paths, patch=cfg.size, max_side=cfg.photo_side, seed=cfg.seed)
        self.data_desc = (f"{len(self.sampler.images)} real photos from "
                          + (f"`{cfg.data}`" if cfg.data else "Debian packages mate-backgrounds, "
                             "plasma-workspace-wallpapers, opencv-doc (list in data/photos.py)")
                          + f", longer side downscaled to <= {cfg.photo_side} px; random {cfg.size}px "
                          "crops, flips and 90-degree turns; free-form brush-stroke masks (DeepFillv2 "
                          f"style, data/masks.py) covering {MASK_AREA[0]:.0%}-{MASK_AREA[1]:.0%} of the crop")  # fmt: skip
        g = GatedInpaintGenerator(cfg.channels, cfg.refine_channels).to(memory_format=torch.channels_last)
        d = SNPatchDiscriminator(cfg.disc_channels).to(memory_format=torch.channels_last)
        run.add("g", g, lr=cfg.lr, betas=(0.5, 0.999), schedule="cosine", final_fraction=FINAL_LR_FRACTION,
                ema_decay=cfg.ema_decay)  # fmt: skip
        run.add("d", d, lr=cfg.lr, betas=(0.5, 0.999))
        self.use_vgg = cfg.vgg == "auto" and (self.vgg_features is not None or vgg16_cached())
        self.vgg = (run.fixed("vgg", PerceptualStyleLoss(self.vgg_features).to(memory_format=torch.channels_last))
                    if self.use_vgg else None)  # fmt: skip

    def dataset(self, run: Run) -> StepBatches:
        sampler, batch = self.sampler, run.cfg.batch
        return StepBatches(lambda rng, step: make_batch(sampler, batch, rng), run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        cfg = run.cfg
        x, m = (channels_last(t) for t in batch)
        g, d = run.parts["g"].module, run.parts["d"].module
        adversarial = run.progress() >= cfg.warmup
        if adversarial and "adversarial_from" not in run.extra:
            run.extra["adversarial_from"] = step
        # The diversity pair rides in the same forward pass (the generator has no batch statistics):
        # the first k crops again, with other noise.
        b, k = x.shape[0], (max(1, x.shape[0] // 4) if cfg.diversity_weight > 0 else 0)
        noise = channels_last(torch.randn((b + k, *m.shape[1:]), device=m.device))
        coarse, refined = g(torch.cat([x, x[:k]]), torch.cat([m, m[:k]]), noise)
        coarse, refined, refined2 = coarse[:b], refined[:b], refined[b:]
        composite = x * (1 - m) + refined * m
        logs = {"d_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}  # logged as 0 during the L1-only warm-up
        if adversarial:
            scores = d(torch.cat([x, composite.detach().clamp(-1, 1)]), torch.cat([m, m]))
            real, fake = scores.chunk(2)
            d_loss = F.relu(1 - real).mean() + F.relu(1 + fake).mean()
            run.update("d", d_loss)
            logs = {"d_loss": d_loss.item(), "d_real": real.mean().item(), "d_fake": fake.mean().item()}

        hole, valid = masked_l1(refined, x, m), masked_l1(refined, x, 1 - m)
        c_hole, c_valid = masked_l1(coarse, x, m), masked_l1(coarse, x, 1 - m)
        loss = hole + VALID_WEIGHT * valid + c_hole + VALID_WEIGHT * c_valid
        logs.update(l1_hole=hole.item(), l1_valid=valid.item(), coarse_l1_hole=c_hole.item())
        if k:
            diversity = masked_l1(refined2, refined[:k], m[:k])
            loss = loss + cfg.diversity_weight * F.relu(DIVERSITY_TARGET - diversity)
            logs["diversity"] = diversity.item()
        if self.vgg is not None:
            perceptual, style = self.vgg(refined, composite, x)
            loss = loss + PERCEPTUAL_WEIGHT * perceptual + STYLE_WEIGHT * style
            logs.update(perceptual=perceptual.item(), style=style.item())
        g_adv = loss.new_zeros(())
        if adversarial:
            d.requires_grad_(False)
            g_adv = -d(composite.clamp(-1, 1), m).mean()
        run.update("g", loss + cfg.adv_weight * g_adv)
        d.requires_grad_(True)
        logs.update(g_adv=g_adv.item(), lr=run.lr("g"))
        return logs

    def export(self, run: Run) -> nn.Module:
        return run.parts["g"].ema.module.to(memory_format=torch.contiguous_format).cpu()

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        warmup_steps = run.extra.get("adversarial_from", run.step)
        losses = f"L1 (hole, and outside it x{VALID_WEIGHT:g}; coarse and refined outputs)"
        if cfg.diversity_weight > 0:
            losses += f", diversity hinge (weight {cfg.diversity_weight:g}, target {DIVERSITY_TARGET:g})"
        losses += f", SN-PatchGAN hinge loss (weight {cfg.adv_weight:g}, after {warmup_steps} L1-only steps)"
        losses += (f", VGG16 perceptual ({PERCEPTUAL_WEIGHT:g}) + style ({STYLE_WEIGHT:g})" if self.use_vgg
                   else "; no perceptual/style loss (no ImageNet VGG16 weights offline)")  # fmt: skip
        return {
            "summary": f"Gated-convolution coarse-to-fine inpainting generator (DeepFillv2 layout, Yu et al. 2019; "
                       f"coarse stage {cfg.channels} base channels at half resolution, refinement stage "
                       f"{cfg.refine_channels} base channels, no contextual attention; both stages predict "
                       "residuals to a parameter-free harmonic fill of the hole), with a noise input for different "
                       f"plausible fills, trained here with an SN-PatchGAN discriminator ({cfg.disc_channels} base "
                       f"channels). Losses: {losses}.",
            "data": self.data_desc, "tags": TAGS, "losses": losses, "perceptual_style": self.use_vgg,
            "details": f"Adam lr {cfg.lr:g} (betas 0.5, 0.999), generator cosine-annealed to "
                       f"{cfg.lr * FINAL_LR_FRACTION:g} over the run, discriminator constant; L1 only for the first "
                       f"{cfg.warmup:.0%} of the run; {cfg.size}px crops; channels_last",
            "limitations": "A small model trained on a CPU on a few dozen photos, far from DeepFillv2's "
                           "Places2/CelebA-HQ training (days on a GPU) and without its contextual attention: large "
                           "holes get plausible colours and edges continued from the surroundings, not objects. "
                           "Trained on free-form strokes up to 55% of a crop; it runs at 256 px around the mask "
                           "(larger photos are filled there and scaled back)."
                           + ("" if self.use_vgg else " No ImageNet VGG16 weights were available offline, so there "
                              "is no perceptual or style loss."),
        }  # fmt: skip


RECIPES = {"inpainting": InpaintingRecipe}

# `python -m training.inpainting ...` is the same as `python -m training inpainting ...`.
if __name__ == "__main__":
    import sys

    from training.__main__ import main

    raise SystemExit(main(["inpainting", *sys.argv[1:]]))
