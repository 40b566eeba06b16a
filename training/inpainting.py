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
fraction), so a run cut by its time budget still anneals and still trains adversarially.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.masks import free_form_mask
from data.photos import PatchSampler, debian_photo_paths, folder_photo_paths
from models.catalog import WEIGHTS_DIR
from models.inpainting import GatedInpaintGenerator, SNPatchDiscriminator, parameter_count
from models.tensors import to_signed_tensor
from training.common import (
    Budget,
    LossLog,
    adversarial_step,
    command_line,
    machine_description,
    seed_everything,
    torch_hub_weights_cached,
    write_model_card,
)

logger = logging.getLogger(__name__)

NAME = "inpainting-gated"
VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG16 weights file name
MASK_AREA = (0.02, 0.55)  # training hole sizes (the evaluation buckets go to 50%)
VALID_WEIGHT = 0.2  # L1 outside the hole, relative to inside (the output there is replaced anyway)
# Mean |fill(z1) - fill(z2)| in the hole on the [-1, 1] scale (0.03 = ~4 grey levels on average,
# concentrated where the content is uncertain). Any spread costs some L1 against the one true
# photo, so it is kept small: the benchmark counts PSNR.
DIVERSITY_TARGET = 0.03
PERCEPTUAL_WEIGHT, STYLE_WEIGHT = 0.05, 120.0  # Liu et al. 2018 (partial convolutions)


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


def make_batch(sampler: PatchSampler, batch: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (B, 3, p, p) in [-1, 1], masks (B, 1, p, p) in {0, 1}), channels-last."""
    crops = sampler.sample(batch)
    masks = np.stack([free_form_mask(sampler.patch, rng, rng.uniform(*MASK_AREA)) for _ in range(batch)])
    x = to_signed_tensor(crops)
    m = torch.from_numpy(masks).float()[:, None]
    return x.contiguous(memory_format=torch.channels_last), m.contiguous(memory_format=torch.channels_last)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m training {argv[0]}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--data", help="folder of training photos (default: the Debian photo packages)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--max-minutes", type=float, default=35.0,
                   help="stop after this wall time (0: no limit); the card records the steps done")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128, help="crop side (a multiple of 8)")
    p.add_argument("--photo-side", type=int, default=384,
                   help="photos are first downscaled so their longer side is at most this")
    p.add_argument("--channels", type=int, default=24, help="coarse stage base channels")
    p.add_argument("--refine-channels", type=int, default=16, help="refinement stage base channels")
    p.add_argument("--disc-channels", type=int, default=32)
    p.add_argument("--lr", type=float, default=4e-4, help="Adam learning rate (G and D)")
    p.add_argument("--adv-weight", type=float, default=0.01, help="hinge GAN loss weight for G")
    p.add_argument("--warmup", type=float, default=0.25,
                   help="fraction of the run trained with L1 only, before the discriminator")
    p.add_argument("--diversity-weight", type=float, default=1.0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=500, help="also save the generator every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help=f"output checkpoint dir (default models/weights/{NAME})")
    args = p.parse_args(argv[1:])
    if args.size % 8 or args.size < 16:
        p.error(f"--size must be a multiple of 8 and at least 16, got {args.size}")
    return args


def save_generator(model: GatedInpaintGenerator, out: Path) -> None:
    model.eval()
    model.to(memory_format=torch.contiguous_format)  # safetensors wants contiguous tensors
    model.save_pretrained(out)
    model.to(memory_format=torch.channels_last)
    model.train()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    rng = np.random.default_rng(args.seed + 1)  # masks; the sampler has its own stream
    out = Path(args.out) if args.out else WEIGHTS_DIR / NAME
    out.mkdir(parents=True, exist_ok=True)

    paths = folder_photo_paths(args.data) if args.data else debian_photo_paths()
    sampler = PatchSampler(paths, patch=args.size, max_side=args.photo_side, seed=args.seed)
    data_desc = (f"{len(sampler.images)} real photos from "
                 + (f"`{args.data}`" if args.data else "Debian packages mate-backgrounds, "
                    "plasma-workspace-wallpapers, opencv-doc (list in data/photos.py)")
                 + f", longer side downscaled to <= {args.photo_side} px; random {args.size}px "
                 "crops, flips and 90-degree turns; free-form brush-stroke masks (DeepFillv2 "
                 f"style, data/masks.py) covering {MASK_AREA[0]:.0%}-{MASK_AREA[1]:.0%} of the crop")  # fmt: skip

    gen = GatedInpaintGenerator(args.channels, args.refine_channels).to(memory_format=torch.channels_last)
    disc = SNPatchDiscriminator(args.disc_channels).to(memory_format=torch.channels_last)
    gen.train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999))
    use_vgg = torch_hub_weights_cached(VGG16_FILE)
    vgg = PerceptualStyleLoss().to(memory_format=torch.channels_last) if use_vgg else None
    budget = Budget(args.steps, args.max_minutes)
    warmup_steps = None
    div_batch = max(1, args.batch // 4)
    log = LossLog(out / "training_log.csv", every=args.log_every)

    for step in budget:
        progress = budget.progress(step)
        lr_g = args.lr / 20 + (args.lr - args.lr / 20) * (1 + math.cos(math.pi * progress)) / 2
        for group in opt_g.param_groups:
            group["lr"] = lr_g
        x, m = make_batch(sampler, args.batch, rng)
        noise = torch.randn(m.shape).contiguous(memory_format=torch.channels_last)
        adversarial = progress >= args.warmup
        if adversarial and warmup_steps is None:
            warmup_steps = step

        coarse, refined = gen(x, m, noise)
        composite = x * (1 - m) + refined * m

        def g_loss() -> tuple[torch.Tensor, dict[str, float]]:
            hole, valid = masked_l1(refined, x, m), masked_l1(refined, x, 1 - m)
            c_hole, c_valid = masked_l1(coarse, x, m), masked_l1(coarse, x, 1 - m)
            loss = hole + VALID_WEIGHT * valid + c_hole + VALID_WEIGHT * c_valid
            logs = {"l1_hole": hole.item(), "l1_valid": valid.item(), "coarse_l1_hole": c_hole.item()}
            if args.diversity_weight > 0:
                k = div_batch
                other = torch.randn(m[:k].shape).contiguous(memory_format=torch.channels_last)
                _, refined2 = gen(x[:k], m[:k], other)
                diversity = masked_l1(refined2, refined[:k], m[:k])
                loss = loss + args.diversity_weight * F.relu(DIVERSITY_TARGET - diversity)
                logs["diversity"] = diversity.item()
            if vgg is not None:
                perceptual, style = vgg(refined, composite, x)
                loss = loss + PERCEPTUAL_WEIGHT * perceptual + STYLE_WEIGHT * style
                logs.update(perceptual=perceptual.item(), style=style.item())
            g_adv = -disc(composite.clamp(-1, 1), m).mean() if adversarial else loss.new_zeros(())
            logs["g_adv"] = g_adv.item()
            return loss + args.adv_weight * g_adv, logs

        def d_loss() -> tuple[torch.Tensor, dict[str, float]]:
            real_scores, fake_scores = disc(x, m), disc(composite.detach().clamp(-1, 1), m)
            loss = F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()
            return loss, {"d_loss": loss.item(), "d_real": real_scores.mean().item(),
                          "d_fake": fake_scores.mean().item()}  # fmt: skip

        if adversarial:
            logs = adversarial_step(g_loss, d_loss, opt_g, opt_d, disc)
        else:  # L1-only warm-up: no discriminator yet (logged as 0)
            opt_g.zero_grad(set_to_none=True)
            loss, logs = g_loss()
            loss.backward()
            opt_g.step()
            logs.update(d_loss=0.0, d_real=0.0, d_fake=0.0)
        log.add(step, **logs)
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < args.steps:
            save_generator(gen, out)
            logger.info("saved an intermediate checkpoint at step %d", step + 1)

    log.save()
    save_generator(gen, out)
    gen.eval()
    log.plot(out / "loss_curve.png", f"{NAME} training losses")
    losses = "L1 (hole, and outside it x" + f"{VALID_WEIGHT:g}; coarse and refined outputs)"
    if args.diversity_weight > 0:
        losses += (f", diversity hinge (weight {args.diversity_weight:g}, target "
                   f"{DIVERSITY_TARGET:g})")  # fmt: skip
    warmup_steps = budget.done if warmup_steps is None else warmup_steps
    losses += f", SN-PatchGAN hinge loss (weight {args.adv_weight:g}, after {warmup_steps} L1-only steps)"
    losses += (f", VGG16 perceptual ({PERCEPTUAL_WEIGHT:g}) + style ({STYLE_WEIGHT:g})" if use_vgg
               else "; no perceptual/style loss (no ImageNet VGG16 weights offline)")  # fmt: skip
    summary = (f"Gated-convolution coarse-to-fine inpainting generator (DeepFillv2 layout, Yu et "
               f"al. 2019; coarse stage {args.channels} base channels at half resolution, "
               f"refinement stage {args.refine_channels} base channels, no contextual attention; "
               "both stages predict residuals to a parameter-free harmonic fill of the hole), "
               f"with a noise input for different plausible fills, trained here with an SN-PatchGAN "
               f"discriminator ({args.disc_channels} base channels). Losses: {losses}.")  # fmt: skip
    meta = {
        "name": NAME, "summary": summary, "command": command_line(argv), "seed": args.seed,
        "data": data_desc, "steps": budget.done, "batch": args.batch,
        "details": (f"Adam lr {args.lr:g} (betas 0.5, 0.999), generator cosine-annealed to "
                    f"{args.lr / 20:g} over the run; {args.size}px crops; "
                    f"{log.elapsed / max(budget.done, 1):.2f} s per step"
                    + (f"; stopped by its {args.max_minutes:g} min budget (of {args.steps} steps "
                       "requested)" if budget.stopped_early else "")),
        "losses": losses, "perceptual_style": use_vgg, "wall_seconds": round(log.elapsed, 1),
        "machine": machine_description(), "date": datetime.date.today().isoformat(),
        "parameters": parameter_count(gen),
        "tags": ["image-inpainting", "deepfillv2", "gated-convolution", "gan-gallery"],
        "limitations": (
            "A small model trained for about half an hour on a 2-core CPU on a few dozen photos, "
            "far from DeepFillv2's Places2/CelebA-HQ training (days on a GPU) and without its "
            "contextual attention: large holes get plausible colours and edges continued from "
            "the surroundings, not objects. Trained on free-form strokes up to 55% of a crop; "
            "it runs at 256 px around the mask (larger photos are filled there and scaled back)."
            + ("" if use_vgg else " No ImageNet VGG16 weights were available offline, so there "
               "is no perceptual or style loss.")),
    }  # fmt: skip
    write_model_card(out, meta)
    logger.info("saved %s (%d steps, %.1f min, %.2f s/step)", out, budget.done, log.elapsed / 60,
                log.elapsed / max(budget.done, 1))
    return 0


# `python -m training.inpainting ...` is the same as `python -m training inpainting ...`.
if __name__ == "__main__":
    import sys

    raise SystemExit(main(["inpainting", *sys.argv[1:]]))

