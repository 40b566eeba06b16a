"""Train the x4 super-resolution models on real photo patches.

    python -m training srresnet [--steps N] [--data DIR]     # SRResNet, pixel MSE
    python -m training srgan    [--steps N] [--data DIR]     # SRGAN, initialised from SRResNet

HR patches are random crops of real photos; LR inputs are made from them with PIL bicubic x4
(models/resample.py), the same resampler the app and the evaluation use. SRGAN's content loss is
the paper's VGG19 feature loss (relu5_4, the "VGG54" variant) when torchvision's ImageNet VGG19
weights are in the local torch cache; otherwise pixel MSE, which the paper calls SRGAN-MSE, and the
model card and the UI name it so.
"""

from __future__ import annotations

import argparse
import datetime
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.photos import PatchSampler, debian_photo_paths, folder_photo_paths
from models.catalog import WEIGHTS_DIR
from models.resample import downscale_x4
from models.srresnet import SRGANDiscriminator, SRResNet
from training.common import (
    LossLog,
    adversarial_step,
    command_line,
    machine_description,
    seed_everything,
    torch_hub_weights_cached,
    write_model_card,
)

logger = logging.getLogger(__name__)

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's ImageNet VGG19 weights file name


def make_batch(sampler: PatchSampler, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR (B, 3, p/4, p/4), HR (B, 3, p, p)) float in [0, 1]."""
    hr = sampler.sample(batch)
    lr = np.stack([downscale_x4(p) for p in hr])

    def to_tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).permute(0, 3, 1, 2).float().div(255.0)

    return to_tensor(lr), to_tensor(hr)


class VGGContentLoss(nn.Module):
    """MSE between VGG19 relu5_4 features (ImageNet-normalised inputs), scaled by 1/12.75^2 as in
    the paper (so it is on the order of a pixel MSE)."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import VGG19_Weights, vgg19

        vgg = vgg19(weights=VGG19_Weights.IMAGENET1K_V1)
        self.features = vgg.features[:36].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        f = self.features((torch.cat([sr, hr]) - self.mean) / self.std)
        a, b = f.chunk(2)
        return F.mse_loss(a, b) / 12.75**2


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m training {argv[0]}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--data", help="folder of training photos (default: the Debian photo packages)")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=96, help="HR patch side (LR is patch/4)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--blocks", type=int, default=8, help="residual blocks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--init", help="SRGAN: SRResNet checkpoint dir to start from")
    p.add_argument("--out", help="output checkpoint dir (default models/weights/<name>)")
    return p.parse_args(argv[1:])


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    method = argv[0]
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    name = "srresnet-x4" if method == "srresnet" else "srgan-x4"
    out = Path(args.out) if args.out else WEIGHTS_DIR / name
    out.mkdir(parents=True, exist_ok=True)

    paths = folder_photo_paths(args.data) if args.data else debian_photo_paths()
    sampler = PatchSampler(paths, patch=args.patch, seed=args.seed)
    data_desc = (f"{len(sampler.images)} real photos from "
                 + (f"`{args.data}`" if args.data else "Debian packages mate-backgrounds, "
                    "plasma-workspace-wallpapers, opencv-doc (list in data/photos.py)")
                 + f", longer side downscaled to <= {sampler.max_side} px; random {args.patch}px "
                 "crops, flips and 90-degree turns; LR = PIL bicubic x4 downscale")  # fmt: skip

    log = LossLog(out / "training_log.csv")
    if method == "srresnet":
        model = SRResNet(channels=args.channels, num_rcb=args.blocks)
        model.train()
        lr = args.lr or 5e-4
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps, eta_min=lr / 50)
        for step in range(args.steps):
            lr_img, hr_img = make_batch(sampler, args.batch)
            loss = F.mse_loss(model.forward_unclamped(lr_img), hr_img)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            log.add(step, mse=loss.item())
        content_name = "pixel MSE"
        summary = (f"SRResNet x4 (Ledig et al. 2017), {args.blocks} residual blocks x "
                   f"{args.channels} channels, trained with pixel MSE on real photo patches.")  # fmt: skip
        details = (f"Adam lr {lr} cosine-annealed to {lr / 50:g}, {args.patch}px HR patches")
    else:
        init = Path(args.init) if args.init else WEIGHTS_DIR / "srresnet-x4"
        model = SRResNet.from_pretrained(init, strict=True)
        model.train()
        disc = SRGANDiscriminator(channels=args.channels, image_size=args.patch)
        use_vgg = torch_hub_weights_cached(VGG19_FILE)
        content = VGGContentLoss() if use_vgg else nn.MSELoss()
        content_name = "VGG19 relu5_4 features" if use_vgg else "pixel MSE (SRGAN-MSE variant)"
        lr = args.lr or 1e-4
        opt_g = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
        opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.9, 0.999))
        adv_weight = 1e-3
        for step in range(args.steps):
            lr_img, hr_img = make_batch(sampler, args.batch)
            sr = model.forward_unclamped(lr_img)

            def d_loss() -> tuple[torch.Tensor, dict[str, float]]:
                real, fake = disc(hr_img), disc(sr.detach().clamp(0, 1))
                loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))  # fmt: skip
                return loss, {"d_loss": loss.item(), "d_real": torch.sigmoid(real).mean().item(),
                              "d_fake": torch.sigmoid(fake).mean().item()}  # fmt: skip

            def g_loss() -> tuple[torch.Tensor, dict[str, float]]:
                fake = disc(sr.clamp(0, 1))
                adv = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
                c = content(sr, hr_img)
                return c + adv_weight * adv, {"content": c.item(), "g_adv": adv.item()}

            log.add(step, **adversarial_step(g_loss, d_loss, opt_g, opt_d, disc))
        summary = (f"SRGAN x4 (Ledig et al. 2017): the SRResNet generator ({args.blocks} blocks x "
                   f"{args.channels} channels) fine-tuned adversarially. Content loss: "
                   f"{content_name}; adversarial weight {adv_weight:g}.")  # fmt: skip
        details = (f"Adam lr {lr}, initialised from `{init.name}`, discriminator "
                   f"{args.channels}-{8 * args.channels} channels on {args.patch}px patches")  # fmt: skip

    log.save()
    model.eval()
    model.save_pretrained(out)
    log.plot(out / "loss_curve.png", f"{name} training losses")
    meta = {
        "name": name, "summary": summary, "command": command_line(argv), "seed": args.seed,
        "data": data_desc, "steps": args.steps, "batch": args.batch, "details": details,
        "content_loss": content_name, "wall_seconds": round(log.elapsed, 1),
        "machine": machine_description(), "date": datetime.date.today().isoformat(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tags": ["super-resolution", "srgan", "gan-gallery"],
        "limitations": (
            "A small model trained for minutes on a 2-core CPU on a few dozen photos: far from "
            "the paper's ImageNet-trained 16x64 network (the Hub entries in models/catalog.py). "
            "Trained for x4 bicubic degradation only; real low-resolution photos (blur, noise, "
            "JPEG) are outside its training distribution."
            + ("" if method == "srresnet" or content_name.startswith("VGG") else
               " No ImageNet VGG19 weights were available offline, so the content loss is pixel "
               "MSE: this is the paper's SRGAN-MSE variant, not SRGAN-VGG54.")),
    }  # fmt: skip
    write_model_card(out, meta)
    logger.info("saved %s (%.1f min)", out, log.elapsed / 60)
    return 0
