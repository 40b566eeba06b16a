"""Train the day <-> night translators and the scene classifier that judges them.

    python -m training pix2pix           [--steps N] [--max-minutes M]   # paired renders
    python -m training cyclegan          [--steps N] [--max-minutes M]   # unpaired renders
    python -m training scene-classifier  [--steps N]                     # FD features, judge

Data: procedural scenes (data/day_night.py) rendered by day and by night, `--scenes` of them
from the training split (seed TRAIN_SEED; the benchmark's held-out split has its own seed), with
random horizontal flips.

pix2pix follows Isola et al.: the vanilla (non-saturating) GAN loss on a conditional 70x70
PatchGAN that sees (input, output) pairs, plus L1 to the paired target with weight 100, Adam
2e-4 / (0.5, 0.999), the discriminator's loss halved. pix2pix maps one way, so one run trains two
independent U-Nets, day -> night and night -> day, each with its own discriminator, saved as one
checkpoint (Pix2PixPair): the same budget and the same two directions as one CycleGAN run, which
keeps the comparison fair.

CycleGAN follows Zhu et al.: two ResNet generators and two PatchGANs, least-squares GAN loss,
cycle loss weight 10, identity loss weight 0.5 x 10, discriminators fed from a 50-image history
pool, Adam 2e-4 / (0.5, 0.999). Unpaired: day images come from scenes [0, N) and night images
from the disjoint scenes [N, 2N) of the training split, so no scene is ever seen both ways.

Both: constant learning rate for the first half of the run, then linear decay to zero (the
papers' schedule); "half" counts whichever is further along, steps or `--max-minutes`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.day_night import CLASSIFIER_SEED, SEASONS, TRAIN_SEED, WEATHERS, make_pairs, make_renders
from models.catalog import WEIGHTS_DIR
from models.cyclegan import (
    CYCLE_WEIGHT,
    IDENTITY_WEIGHT,
    POOL_SIZE,
    CycleGAN,
    ImagePool,
    lsgan_loss,
)
from models.pix2pix import L1_WEIGHT, PatchDiscriminator, Pix2PixPair
from models.scene_features import HEADS, SceneClassifier, to_classifier_input
from models.tensors import to_signed_tensor
from models.translation import DAY2NIGHT, NIGHT2DAY, run_generator
from training.common import (
    Budget,
    LossLog,
    adversarial_step,
    bce,
    finish_run,
    linear_decay,
    save_grid,
    start_run,
)

logger = logging.getLogger(__name__)

NAMES = {"pix2pix": "pix2pix-day-night", "cyclegan": "cyclegan-day-night", "scene-classifier": "scene-classifier"}
PREVIEW_SEED = 40_000  # scenes for samples.png: neither trained on nor in the benchmark
# steps, batch, width. Sized for ~35 min on 2 threads of the 2-core build machine: 5-step runs on
# 1 thread took ~0.95 s/step (pix2pix, both directions) and ~1.5 s/step (CycleGAN); 2 threads are
# assumed ~1.7x faster. Pass --max-minutes as well: the learning-rate decay follows the clock then.
DEFAULTS = {
    "pix2pix": (3600, 4, 32),
    "cyclegan": (2300, 2, 16),
    "scene-classifier": (600, 64, 16),
}
DATA = ("procedural outdoor scenes (data/day_night.py; sky, sun/moon, stars, clouds, buildings with "
        "windows lit at night, street lights, trees, road; 3 seasons x 4 weathers), {n} scenes of "
        "the training split (seed {seed}) at {size}x{size}, random horizontal flips")  # fmt: skip


def parse_args(argv: list[str]) -> argparse.Namespace:
    method = argv[0]
    steps, batch, width = DEFAULTS[method]
    p = argparse.ArgumentParser(prog=f"python -m training {method}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--size", type=int, default=128, help="render size (px); a multiple of 2**depth")
    p.add_argument("--width", type=int, default=width, help="base channels: U-Net ngf / ResNet n_features / classifier width")
    p.add_argument("--depth", type=int, default=7, help="pix2pix: U-Net levels (2**depth divides --size)")
    p.add_argument("--max-mult", type=int, default=2, help="pix2pix: channel cap, ngf x this (keeps the file small)")
    p.add_argument("--blocks", type=int, default=6, help="cyclegan: residual blocks")
    p.add_argument("--disc-width", type=int, default=32, help="PatchGAN base channels")
    p.add_argument("--scenes", type=int, default=4000, help="training scenes (per domain for cyclegan)")
    p.add_argument("--test-scenes", type=int, default=500, help="scene-classifier: held-out scenes for its accuracy")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--identity", type=float, default=IDENTITY_WEIGHT, help="cyclegan: identity weight, x cycle weight")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this wall time")
    p.add_argument("--out", help="output checkpoint dir (default models/weights/<name>)")
    return p.parse_args(argv[1:])


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1]."""
    return to_signed_tensor(images)


def batch_of(images: np.ndarray, idx: np.ndarray, flip: np.ndarray) -> torch.Tensor:
    x = to_tensor(images[idx])
    return torch.where(torch.from_numpy(flip)[:, None, None, None], x.flip(3), x)


def train_pix2pix(args, log: LossLog, budget: Budget) -> tuple[nn.Module, dict]:
    pairs = make_pairs(args.scenes, args.size, TRAIN_SEED)
    model = Pix2PixPair(ngf=args.width, depth=args.depth, max_mult=args.max_mult, image_size=args.size)
    model.train()
    # The discriminator judges (input, output) pairs: 6 channels in.
    discs = {DAY2NIGHT: PatchDiscriminator(6, args.disc_width), NIGHT2DAY: PatchDiscriminator(6, args.disc_width)}
    data = {DAY2NIGHT: (pairs.day, pairs.night), NIGHT2DAY: (pairs.night, pairs.day)}
    opts = {k: (torch.optim.Adam(model.generator(k).parameters(), lr=args.lr, betas=(0.5, 0.999)),
                torch.optim.Adam(discs[k].parameters(), lr=args.lr, betas=(0.5, 0.999))) for k in discs}  # fmt: skip
    rng = np.random.default_rng(args.seed)
    for step in budget:
        linear_decay([o for pair in opts.values() for o in pair], args.lr, budget, step)
        logs: dict[str, float] = {}
        for direction, (source, target) in data.items():
            idx, flip = rng.integers(len(source), size=args.batch), rng.random(args.batch) < 0.5
            x, y = batch_of(source, idx, flip), batch_of(target, idx, flip)  # the same scenes: paired
            g, d = model.generator(direction), discs[direction]
            fake = g(x)

            def d_loss():
                real_s, fake_s = d(torch.cat([x, y], 1)), d(torch.cat([x, fake.detach()], 1))
                loss = 0.5 * (bce(real_s, 1.0) + bce(fake_s, 0.0))  # halved, as in the paper
                return loss, {f"{direction}_d": loss.item()}

            def g_loss():
                adv = bce(d(torch.cat([x, fake], 1)), 1.0)
                l1 = F.l1_loss(fake, y)
                return adv + L1_WEIGHT * l1, {f"{direction}_g_adv": adv.item(), f"{direction}_l1": l1.item()}

            logs.update(adversarial_step(g_loss, d_loss, opts[direction][0], opts[direction][1], d))
        log.add(step, **logs)
    info = {"data": DATA.format(n=args.scenes, seed=TRAIN_SEED, size=args.size) + "; paired: each input with its "
            "own scene's other render",
            "details": (f"two U-Nets (ngf {args.width}, depth {args.depth}, channels capped at {args.max_mult}x, "
                        f"instance norm, dropout 0.5), one per direction, each with a 70x70 conditional "
                        f"PatchGAN (width {args.disc_width}); vanilla GAN loss (BCE) + {L1_WEIGHT:g} x L1; "
                        f"Adam lr {args.lr:g} betas (0.5, 0.999), constant then linear decay to 0"),
            "summary": ("pix2pix (Isola et al. 2017) day -> night and night -> day U-Net generators, trained "
                        "here on paired procedural day/night renders. Inputs and outputs RGB in [-1, 1], "
                        f"{args.size}x{args.size} (any multiple of {2 ** args.depth} works)."),
            "tags": ["pix2pix", "image-to-image", "gan-gallery"]}  # fmt: skip
    return model, info


def train_cyclegan(args, log: LossLog, budget: Budget) -> tuple[nn.Module, dict]:
    # Unpaired: the day images and the night images come from disjoint sets of scenes.
    day = make_renders(args.scenes, args.size, TRAIN_SEED, night=False)
    night = make_renders(args.scenes, args.size, TRAIN_SEED, night=True, start=args.scenes)
    model = CycleGAN(n_features=args.width, n_blocks=args.blocks, image_size=args.size)
    model.train()
    d_a, d_b = PatchDiscriminator(3, args.disc_width), PatchDiscriminator(3, args.disc_width)
    discs = nn.ModuleList([d_a, d_b])
    opt_g = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discs.parameters(), lr=args.lr, betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(POOL_SIZE, args.seed), ImagePool(POOL_SIZE, args.seed + 1)
    rng = np.random.default_rng(args.seed)
    identity = args.identity * CYCLE_WEIGHT
    for step in budget:
        linear_decay([opt_g, opt_d], args.lr, budget, step)
        # two independent shuffles: A and B batches never show the same scene
        real_a = batch_of(day, rng.integers(len(day), size=args.batch), rng.random(args.batch) < 0.5)
        real_b = batch_of(night, rng.integers(len(night), size=args.batch), rng.random(args.batch) < 0.5)
        fake_b, fake_a = model.G_B(real_a), model.G_A(real_b)

        def d_loss():
            pooled_a, pooled_b = pool_a.query(fake_a), pool_b.query(fake_b)
            loss_a = 0.5 * (lsgan_loss(d_a(real_a), 1.0) + lsgan_loss(d_a(pooled_a), 0.0))
            loss_b = 0.5 * (lsgan_loss(d_b(real_b), 1.0) + lsgan_loss(d_b(pooled_b), 0.0))
            return loss_a + loss_b, {"d_day": loss_a.item(), "d_night": loss_b.item()}

        def g_loss():
            adv_b, adv_a = lsgan_loss(d_b(fake_b), 1.0), lsgan_loss(d_a(fake_a), 1.0)
            cycle_a = F.l1_loss(model.G_A(fake_b), real_a)  # day -> night -> day
            cycle_b = F.l1_loss(model.G_B(fake_a), real_b)  # night -> day -> night
            loss = adv_a + adv_b + CYCLE_WEIGHT * (cycle_a + cycle_b)
            logs = {"g_adv_day2night": adv_b.item(), "g_adv_night2day": adv_a.item(),
                    "cycle_day": cycle_a.item(), "cycle_night": cycle_b.item()}  # fmt: skip
            if identity > 0:  # G_A on a day image / G_B on a night image should change nothing
                idt = F.l1_loss(model.G_A(real_a), real_a) + F.l1_loss(model.G_B(real_b), real_b)
                loss = loss + identity * idt
                logs["identity"] = idt.item()
            return loss, logs

        log.add(step, **adversarial_step(g_loss, d_loss, opt_g, opt_d, discs))
    info = {"data": (DATA.format(n=args.scenes, seed=TRAIN_SEED, size=args.size) + f"; unpaired: day renders of "
                     f"scenes 0-{args.scenes - 1}, night renders of the disjoint scenes "
                     f"{args.scenes}-{2 * args.scenes - 1}, shuffled independently"),
            "details": (f"ResNet generators ({args.width} features, {args.blocks} residual blocks, instance norm), "
                        f"70x70 PatchGANs (width {args.disc_width}); least-squares GAN loss, cycle weight "
                        f"{CYCLE_WEIGHT:g}, identity weight {identity:g}, {POOL_SIZE}-image history pool; "
                        f"Adam lr {args.lr:g} betas (0.5, 0.999), constant then linear decay to 0"),
            "summary": ("CycleGAN (Zhu et al. 2017) generators trained here on unpaired procedural day and "
                        "night renders: G_B day -> night, G_A night -> day (UPIT's naming). Inputs and outputs "
                        f"RGB in [-1, 1], {args.size}x{args.size} (any multiple of 4 works). The discriminators "
                        "are not saved."),
            "tags": ["cyclegan", "image-to-image", "gan-gallery"]}  # fmt: skip
    return model, info


def train_scene_classifier(args, log: LossLog, budget: Budget) -> tuple[nn.Module, dict]:
    def data(n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        pairs = make_pairs(n, args.size, seed)
        x = to_classifier_input(np.concatenate([pairs.day, pairs.night]))
        labels = {k: torch.from_numpy(np.tile(v, 2)) for k, v in pairs.labels().items()}
        labels["time"] = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])
        return x, labels

    x, y = data(args.scenes, CLASSIFIER_SEED)
    x_test, y_test = data(args.test_scenes, CLASSIFIER_SEED + 1)
    model = SceneClassifier(width=args.width)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=budget.steps)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    for step in budget:
        idx = torch.randint(len(x), (args.batch,), generator=gen)
        xb = x[idx].flip(3) if step % 2 else x[idx]
        out = model(xb)
        loss = sum(F.cross_entropy(out[k], y[k][idx]) for k in HEADS)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        log.add(step, loss=loss.item())
    model.eval()
    with torch.inference_mode():
        out = model(x_test)
    acc = {k: float((out[k].argmax(1) == y_test[k]).float().mean()) for k in HEADS}
    metrics = (f"Held-out accuracy on {2 * args.test_scenes:,} fresh renders ({args.test_scenes} scenes of seed "
               f"{CLASSIFIER_SEED + 1}, day and night): " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))  # fmt: skip
    info = {"data": (DATA.format(n=args.scenes, seed=CLASSIFIER_SEED, size=args.size)
                     + ", both renders of each scene, resized to 64x64 (PIL bicubic)"),
            "details": f"width {args.width}, heads time (day/night), season ({', '.join(SEASONS)}), "
                       f"weather ({', '.join(WEATHERS)}); Adam, one-cycle lr max 2e-3",
            "summary": ("Scene classifier trained on ground-truth day/night renders; judges translations "
                        "(does a day -> night output read as night?) and gives the features of "
                        "'FD (scene-classifier features)'."),
            "metrics": metrics, "test_accuracy": acc,
            "tags": ["image-classification", "gan-gallery"]}  # fmt: skip
    return model, info


def save_samples(model: nn.Module, path: Path, size: int, n: int = 8) -> None:
    """Rows: day input, day -> night, true night; night input, night -> day, true day (preview
    scenes of their own seed, neither trained on nor benchmarked)."""
    pairs = make_pairs(n, size, PREVIEW_SEED)
    rows = [pairs.day, run_generator(model.generator(DAY2NIGHT), pairs.day), pairs.night,
            pairs.night, run_generator(model.generator(NIGHT2DAY), pairs.night), pairs.day]  # fmt: skip
    save_grid(np.concatenate(rows), path, cols=n)


def main(argv: list[str]) -> int:
    method = argv[0]
    args = parse_args(argv)
    name = NAMES[method]
    out = start_run(args, name, WEIGHTS_DIR)
    budget = Budget(args.steps, args.max_minutes)
    log = LossLog(out / "training_log.csv", every=50 if budget.steps >= 500 else max(1, budget.steps // 4))
    trainer = {"pix2pix": train_pix2pix, "cyclegan": train_cyclegan, "scene-classifier": train_scene_classifier}
    model, info = trainer[method](args, log, budget)
    if method != "scene-classifier":
        save_samples(model.eval(), out / "samples.png", args.size)
    finish_run(model, out, name, argv, args, budget, log, info,
               limitations="Trained for minutes on a 2-core CPU on procedural cartoon scenes, far simpler than "
                           "photos: real photos are out of its domain (the Day ↔ night tab shows what happens "
                           "to them). ")  # fmt: skip
    return 0
