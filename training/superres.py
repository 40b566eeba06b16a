"""x4 super-resolution on real photo patches: SRResNet (pixel loss), then SRGAN from it.

    python -m training srresnet [--steps N] [--max-minutes M] [--data DIR]
    python -m training srgan    [--steps N] [--init DIR] [--data DIR]

HR patches are random crops (flips, 90-degree turns) of real photos at two scales; the LR input is
made from each with PIL bicubic x4 (models/resample.py), the resampler the app and the evaluation
use. SRGAN's content loss is the paper's VGG19 relu5_4 feature loss ("VGG54") when torchvision's
ImageNet VGG19 weights are in the local torch cache; otherwise pixel loss, which the paper calls
SRGAN-MSE, and the card and the UI name it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.photos import PatchSampler, debian_photo_paths, folder_photo_paths
from models.resample import downscale_x4
from models.srresnet import SRGANDiscriminator, SRResNet
from training.config import ConfigError, RunConfig, option
from training.engine import Recipe, Run, StepBatches

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's ImageNet VGG19 weights file name
TAGS = ["super-resolution", "srgan", "gan-gallery"]


@dataclass
class SRDataConfig(RunConfig):
    data: str = option("", "folder of training photos (default: the Debian photo packages)")
    patch: int = option(96, "HR patch side in px (the LR input is patch / 4)", min=16)
    photo_side: int = option(1024, "photos are downscaled so their longer side is at most this", min=64)
    extra_scales: str = option("0.6", "comma-separated further scales of every photo (fractions of "
                               "--photo-side; empty for one scale)")

    def validate(self) -> None:
        super().validate()
        if self.patch % 16:
            raise ConfigError(f"--patch must be a multiple of 16 (the discriminator halves it 4 times); got {self.patch}")
        self.scales()

    def scales(self) -> tuple[float, ...]:
        try:
            scales = tuple(float(s) for s in self.extra_scales.split(",") if s.strip())
        except ValueError:
            raise ConfigError(f"--extra-scales takes numbers like 0.6,0.4; got {self.extra_scales!r}") from None
        if any(not 0.05 <= s < 1 for s in scales):
            raise ConfigError(f"--extra-scales must lie in [0.05, 1); got {self.extra_scales!r}")
        return scales


@dataclass
class SRResNetConfig(SRDataConfig):
    steps: int = option(20000, "optimizer steps", min=1)
    batch: int = option(16, "patches per step on each process", min=1)
    lr: float = option(1e-3, "Adam learning rate (cosine-annealed to lr / 100 after a warm-up over 2% of the run)",
                       min=0, exclusive_min=True)
    loss: str = option("l1", "pixel loss: l1 (the modern default for PSNR models) or mse (the paper's)",
                       choices=("l1", "mse"))
    channels: int = option(32, "feature channels", min=4)
    blocks: int = option(8, "residual blocks", min=1)
    bicubic_residual: bool = option(True, "predict the detail on top of a bicubic upscale (global residual)")


@dataclass
class SRGANConfig(SRDataConfig):
    steps: int = option(3000, "optimizer steps (each updates D, then G)", min=1)
    batch: int = option(16, "patches per step on each process", min=1)
    lr: float = option(1e-4, "Adam learning rate of G and D (the paper's)", min=0, exclusive_min=True)
    init: str = option("", "SRResNet checkpoint directory to start from (default: models/weights/srresnet-x4)")
    adv_weight: float = option(1e-3, "weight of the adversarial loss (the paper's 1e-3)", min=0)
    d_channels: int = option(32, "discriminator base width (the paper's 64)", min=4)
    ema_decay: float = option(0.999, "decay of the generator's EMA copy (the exported weights)", min=0, max=1)
    vgg: str = option("auto", "content loss: auto = VGG54 when ImageNet VGG19 weights are cached, else pixel",
                      choices=("auto", "pixel"))


def photo_sampler(cfg: SRDataConfig) -> tuple[PatchSampler, str]:
    paths = folder_photo_paths(cfg.data) if cfg.data else debian_photo_paths()
    sampler = PatchSampler(paths, patch=cfg.patch, max_side=cfg.photo_side, seed=cfg.seed,
                           extra_scales=cfg.scales())  # fmt: skip
    scales = ", ".join(f"{s:g}" for s in (1.0, *cfg.scales()))
    desc = (f"{len(paths)} real photos from "
            + (f"`{cfg.data}`" if cfg.data else "Debian packages mate-backgrounds, plasma-workspace-wallpapers, "
               "opencv-doc (list in data/photos.py)")
            + f", longer side downscaled to <= {cfg.photo_side} px and also kept at {scales} of that; random "
            f"{cfg.patch}px crops, flips and 90-degree turns; LR = PIL bicubic x4 downscale")  # fmt: skip
    return sampler, desc


def sr_batches(sampler: PatchSampler, cfg: RunConfig, rank: int) -> StepBatches:
    """Step i -> (LR (B, 3, p/4, p/4), HR (B, 3, p, p)) float in [0, 1]."""

    def make(rng: np.random.Generator, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        hr = sampler.sample(cfg.batch, rng)
        lr = np.stack([downscale_x4(p) for p in hr])
        return _tensor(lr), _tensor(hr)

    return StepBatches(make, cfg.steps, cfg.seed, rank)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div(255.0)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """Convolutions run ~2.5x faster in this layout on this CPU (DESIGN.md)."""
    return x.contiguous(memory_format=torch.channels_last)


class SRResNetRecipe(Recipe):
    method, model_name, config = "srresnet", "srresnet-x4", SRResNetConfig
    description = __doc__

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        self.sampler, self.data_desc = photo_sampler(cfg)
        model = SRResNet(channels=cfg.channels, num_rcb=cfg.blocks, bicubic_residual=cfg.bicubic_residual)
        run.add("g", model.to(memory_format=torch.channels_last), lr=cfg.lr, schedule="cosine",
                warmup=0.02, final_fraction=0.01)  # fmt: skip

    def dataset(self, run: Run) -> StepBatches:
        return sr_batches(self.sampler, run.cfg, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        lr_img, hr_img = (channels_last(t) for t in batch)
        sr = run.parts["g"].module(lr_img, clamp=False)
        loss = F.l1_loss(sr, hr_img) if run.cfg.loss == "l1" else F.mse_loss(sr, hr_img)
        run.update("g", loss)
        return {run.cfg.loss: loss.item(), "lr": run.lr("g")}

    def export(self, run: Run) -> nn.Module:
        return run.unwrap("g").to(memory_format=torch.contiguous_format).cpu()

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        residual = " on top of a bicubic upscale (global residual)" if cfg.bicubic_residual else ""
        return {
            "summary": f"SRResNet x4 (Ledig et al. 2017), {cfg.blocks} residual blocks x {cfg.channels} channels, "
                       f"trained with pixel {cfg.loss.upper()} loss on real photo patches{residual}.",
            "data": self.data_desc, "tags": TAGS,
            "details": f"Adam lr {cfg.lr:g} with a linear warm-up, cosine-annealed to {cfg.lr / 100:g}; "
                       f"{cfg.patch}px HR patches; channels_last",
            "limitations": "A small model trained on a few dozen photos on a CPU: far from the paper's "
                           "ImageNet-trained 16x64 network (the Hub entries in models/catalog.py). Trained for x4 "
                           "bicubic degradation only; real low-resolution photos (blur, noise, JPEG) are outside its "
                           "training distribution.",
            "content_loss": f"pixel {cfg.loss.upper()}",
        }  # fmt: skip


class VGGContentLoss(nn.Module):
    """MSE between VGG19 relu5_4 features of ImageNet-normalised inputs, scaled by 1/12.75^2 as in
    the paper (so it is on the order of a pixel MSE). `features` may be any VGG-style stack (the
    tests pass a tiny random one); by default torchvision's ImageNet VGG19 up to relu5_4."""

    def __init__(self, features: nn.Module | None = None) -> None:
        super().__init__()
        if features is None:
            from torchvision.models import VGG19_Weights, vgg19

            features = vgg19(weights=VGG19_Weights.IMAGENET1K_V1).features[:36]
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        f = self.features((torch.cat([sr, hr]) - self.mean) / self.std)
        a, b = f.chunk(2)
        return F.mse_loss(a, b) / 12.75**2


def vgg19_cached() -> bool:
    """Whether torchvision's ImageNet VGG19 file is in the local torch cache (nothing is downloaded)."""
    return (Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE).exists()


class SRGANRecipe(Recipe):
    method, model_name, config = "srgan", "srgan-x4", SRGANConfig
    description = __doc__
    content_features: nn.Module | None = None  # tests set a tiny VGG stand-in here

    def setup(self, run: Run) -> None:
        from models.catalog import WEIGHTS_DIR

        cfg = run.cfg
        self.sampler, self.data_desc = photo_sampler(cfg)
        self.init = Path(cfg.init) if cfg.init else WEIGHTS_DIR / "srresnet-x4"
        g = SRResNet.from_pretrained(self.init, strict=True)
        run.add("g", g.to(memory_format=torch.channels_last), lr=cfg.lr, ema_decay=cfg.ema_decay)
        d = SRGANDiscriminator(channels=cfg.d_channels, image_size=cfg.patch)
        run.add("d", d.to(memory_format=torch.channels_last), lr=cfg.lr)
        use_vgg = cfg.vgg == "auto" and (self.content_features is not None or vgg19_cached())
        self.content = run.fixed("vgg", VGGContentLoss(self.content_features)) if use_vgg else None
        self.content_name = "VGG19 relu5_4 features (VGG54)" if use_vgg else "pixel MSE (the paper's SRGAN-MSE variant)"
        self.pixel_loss = "l1" if getattr(g, "bicubic_residual", False) else "mse"

    def dataset(self, run: Run) -> StepBatches:
        return sr_batches(self.sampler, run.cfg, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        lr_img, hr_img = (channels_last(t) for t in batch)
        g, d = run.parts["g"].module, run.parts["d"].module
        sr = g(lr_img, clamp=False)
        d.requires_grad_(True)
        real, fake = d(hr_img), d(sr.detach().clamp(0, 1))
        d_loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                  + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))  # fmt: skip
        run.update("d", d_loss)
        d.requires_grad_(False)
        adv_logits = d(sr.clamp(0, 1))
        adv = F.binary_cross_entropy_with_logits(adv_logits, torch.ones_like(adv_logits))
        content = self.content(sr, hr_img) if self.content is not None else F.mse_loss(sr, hr_img)
        run.update("g", content + run.cfg.adv_weight * adv)
        d.requires_grad_(True)
        return {"d_loss": d_loss.item(), "d_real": torch.sigmoid(real).mean().item(),
                "d_fake": torch.sigmoid(fake).mean().item(), "content": content.item(), "g_adv": adv.item()}  # fmt: skip

    def export(self, run: Run) -> nn.Module:
        return run.parts["g"].ema.module.to(memory_format=torch.contiguous_format).cpu()

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        g = run.parts["g"].ema.module
        limitations = ("A small model trained on a few dozen photos on a CPU; see the SRResNet card. ")
        if self.content is None:
            limitations += ("No ImageNet VGG19 weights were available offline, so the content loss is pixel MSE: "
                            "this is the paper's SRGAN-MSE variant, not SRGAN-VGG54.")  # fmt: skip
        return {
            "summary": f"SRGAN x4 (Ledig et al. 2017): the SRResNet generator ({len(g.trunk)} blocks x "
                       f"{g.conv1[0].out_channels} channels) fine-tuned adversarially. Content loss: "
                       f"{self.content_name}; adversarial weight {cfg.adv_weight:g}.",
            "data": self.data_desc, "tags": TAGS,
            "details": f"Adam lr {cfg.lr:g}, initialised from `{self.init.name}`, discriminator "
                       f"{cfg.d_channels}-{8 * cfg.d_channels} channels on {cfg.patch}px patches",
            "limitations": limitations, "content_loss": self.content_name,
        }  # fmt: skip


RECIPES = {"srresnet": SRResNetRecipe, "srgan": SRGANRecipe}
