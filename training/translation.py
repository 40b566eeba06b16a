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
papers' schedule, `--schedule linear-decay`); "half" counts whichever is further along, steps or
`--max-minutes`. The exported generators are the EMA of their weights (`--ema-decay`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.day_night import (
    CLASSIFIER_SEED,
    SEASONS,
    TRAIN_SEED,
    VALIDATION_SEED,
    WEATHERS,
    make_pairs,
    make_renders,
)
from eval.metrics import psnr
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
from training.classifiers import ClassifierConfig, ClassifierRecipe, flipped
from training.config import ConfigError, RunConfig, option
from training.engine import Recipe, Run, StepBatches

PREVIEW_SEED = 40_000  # scenes for samples.png: neither trained on nor in the benchmark
DATA = ("procedural outdoor scenes (data/day_night.py; sky, sun/moon, stars, clouds, buildings with "
        "windows lit at night, street lights, trees, road; 3 seasons x 4 weathers), {n} scenes of "
        "the training split (seed {seed}) at {size}x{size}, random horizontal flips")  # fmt: skip
LIMITATIONS = ("Trained for minutes on a 2-core CPU on procedural cartoon scenes, far simpler than photos: real "
               "photos are out of its domain (the Day ↔ night tab shows what happens to them).")  # fmt: skip


# --- configs -----------------------------------------------------------------------------------
# Step, batch and width defaults were sized for ~35 min on 2 threads of the 2-core build machine
# (5-step runs on 1 thread: ~0.95 s/step pix2pix, both directions; ~1.5 s/step CycleGAN). Pass
# --max-minutes as well: the learning-rate decay follows the clock then.


@dataclass
class SceneConfig(RunConfig):
    size: int = option(128, "render size in px", min=32)
    scenes: int = option(4000, "training scenes (per domain for cyclegan)", min=1)


@dataclass
class TranslatorConfig(SceneConfig):
    lr: float = option(2e-4, "Adam learning rate of the generators and discriminators (the papers')",
                       min=0, exclusive_min=True)  # fmt: skip
    beta1: float = option(0.5, "Adam beta1 (the papers' 0.5; beta2 is 0.999)", min=0, max=0.999)
    schedule: str = option("linear-decay", "learning-rate schedule: the papers' constant-then-linear-to-0",
                           choices=("constant", "cosine", "linear-decay"))
    disc_width: int = option(32, "PatchGAN base channels (the papers' 64)", min=1)
    ema_decay: float = option(0.999, "decay of the generators' EMA copy, the exported weights", min=0, max=1)
    d_lr: float = option(0.0, "Adam learning rate of the discriminators (0: --lr, the papers'); lower weakens them",
                         min=0)
    validation_scenes: int = option(48, "validation scenes (their own seed) scored by --keep-best-every", min=1)


@dataclass
class Pix2PixConfig(TranslatorConfig):
    steps: int = option(3600, "optimizer steps (each updates both discriminators, then both generators)", min=1)
    batch: int = option(4, "scene pairs per direction per step on each process", min=1)
    width: int = option(32, "U-Net ngf (the paper's 64)", min=1)
    depth: int = option(7, "U-Net levels (2**depth must divide --size)", min=3)
    max_mult: int = option(2, "U-Net channel cap, ngf x this (keeps the file small; the paper's 8)", min=1)
    dropout: float = option(0.5, "U-Net dropout in the inner levels while training (the paper's 0.5; off when "
                            "evaluated)", min=0, max=0.9)
    l1_weight: float = option(L1_WEIGHT, "weight of L1 to the paired target beside the GAN loss (the paper's lambda)",
                              min=0)

    def validate(self) -> None:
        super().validate()
        if self.size % 2**self.depth:
            raise ConfigError(f"--size must be a multiple of 2**--depth = {2**self.depth}; got {self.size}")


@dataclass
class CycleGANConfig(TranslatorConfig):
    steps: int = option(2300, "optimizer steps (each updates both discriminators, then both generators)", min=1)
    batch: int = option(2, "images per domain per step on each process (the paper's 1)", min=1)
    width: int = option(16, "ResNet generator n_features (the paper's 64)", min=1)
    blocks: int = option(6, "residual blocks per generator (the paper's 9 at 256 px)", min=1)
    identity: float = option(IDENTITY_WEIGHT, f"identity loss weight, times the cycle weight {CYCLE_WEIGHT:g}", min=0)
    pool: int = option(POOL_SIZE, "generated images in each discriminator's history pool (0: none)", min=0)

    def validate(self) -> None:
        super().validate()
        if self.size % 4:
            raise ConfigError(f"--size must be a multiple of 4 (the generator halves it twice); got {self.size}")


@dataclass
class SceneClassifierConfig(ClassifierConfig, SceneConfig):
    steps: int = option(600, "optimizer steps", min=1)
    width: int = option(16, "base channel width", min=1)
    test_scenes: int = option(500, "held-out scenes (their own seed, both renders) for its accuracy", min=1)


# --- shared pieces -------------------------------------------------------------------------------


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class Discriminators(nn.Module):
    """Named PatchGANs as one trained part (one optimizer): forward(x, name) -> that one's scores.
    Not exported (the checkpoints hold the generators only)."""

    def __init__(self, names: tuple[str, ...], in_channels: int, width: int) -> None:
        super().__init__()
        self.nets = nn.ModuleDict({n: PatchDiscriminator(in_channels, width) for n in names})

    def forward(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return self.nets[name](x)


def add_translator(run: Run, g: nn.Module, d: nn.Module) -> None:
    # Default memory layout: channels_last made these networks ~0.8x as fast here (training/classifiers.py).
    cfg = run.cfg
    kw = {"lr": cfg.lr, "betas": (cfg.beta1, 0.999), "schedule": cfg.schedule}
    run.add("g", g, ema_decay=cfg.ema_decay, **kw)
    run.add("d", d, **(kw | {"lr": cfg.d_lr or cfg.lr}))


def scene_batch(images: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    return to_signed_tensor(flipped(images[idx], rng))


def optimizer_details(cfg: TranslatorConfig) -> str:
    schedule = "constant then linear decay to 0" if cfg.schedule == "linear-decay" else cfg.schedule
    d_lr = f" (discriminators {cfg.d_lr:g})" if cfg.d_lr and cfg.d_lr != cfg.lr else ""
    return f"Adam lr {cfg.lr:g}{d_lr} betas ({cfg.beta1:g}, 0.999), {schedule}"


def validation_psnr(model: nn.Module, pairs) -> dict[str, float]:
    """PSNR (dB, RGB, as the benchmark reads it) of both directions on the validation pairs, and
    their mean as the score."""
    figures = {}
    for direction, (source, truth) in {DAY2NIGHT: (pairs.day, pairs.night), NIGHT2DAY: (pairs.night, pairs.day)}.items():
        out = run_generator(model.generator(direction), source)
        figures[f"{direction}_psnr"] = float(np.mean([psnr(t, o, y_channel=False) for o, t in zip(out, truth, strict=True)]))
    figures["score"] = float(np.mean(list(figures.values())))
    return figures


def save_samples(model: nn.Module, path: Path, size: int, n: int = 8) -> None:
    """Rows: day input, day -> night, true night; night input, night -> day, true day (preview
    scenes of their own seed, neither trained on nor benchmarked)."""
    from torchvision.utils import save_image

    pairs = make_pairs(n, size, PREVIEW_SEED)
    rows = [pairs.day, run_generator(model.generator(DAY2NIGHT), pairs.day), pairs.night,
            pairs.night, run_generator(model.generator(NIGHT2DAY), pairs.night), pairs.day]  # fmt: skip
    grid = torch.from_numpy(np.concatenate(rows)).permute(0, 3, 1, 2).float() / 255
    save_image(grid, path, nrow=n, padding=0)


class TranslatorRecipe(Recipe):
    selection = f"mean PSNR (dB, RGB) of both directions on validation scenes (seed {VALIDATION_SEED:,})"

    def score(self, run: Run) -> dict[str, float]:
        if not hasattr(self, "validation_pairs"):
            self.validation_pairs = make_pairs(run.cfg.validation_scenes, run.cfg.size, VALIDATION_SEED)
        return validation_psnr(run.parts["g"].ema.module, self.validation_pairs)

    def export(self, run: Run) -> nn.Module:
        return run.parts["g"].ema.module.cpu()

    def after_export(self, run: Run, model: nn.Module, out: Path) -> None:
        save_samples(model.eval(), out / "samples.png", run.cfg.size)


# --- pix2pix -------------------------------------------------------------------------------------


class Pix2PixRecipe(TranslatorRecipe):
    method, model_name, config = "pix2pix", "pix2pix-day-night", Pix2PixConfig
    description = __doc__
    # The two U-Nets share no loss term (each has its own L1, GAN term and discriminator), so each
    # direction is kept at its own best step.
    selection = (f"PSNR (dB, RGB) on validation scenes (seed {VALIDATION_SEED:,}), each direction's U-Net at its own "
                 "best step (the two share no loss term)")
    best_groups = {DAY2NIGHT: (f"{DAY2NIGHT}_psnr", "day_to_night."), NIGHT2DAY: (f"{NIGHT2DAY}_psnr", "night_to_day.")}

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        self.pairs = make_pairs(cfg.scenes, cfg.size, TRAIN_SEED)
        g = Pix2PixPair(ngf=cfg.width, depth=cfg.depth, max_mult=cfg.max_mult, dropout=cfg.dropout,
                        image_size=cfg.size)
        # The discriminators judge (input, output) pairs: 6 channels in.
        add_translator(run, g, Discriminators((DAY2NIGHT, NIGHT2DAY), 6, cfg.disc_width))

    def dataset(self, run: Run) -> StepBatches:
        day, night, n = self.pairs.day, self.pairs.night, run.cfg.batch

        def make(rng: np.random.Generator, step: int) -> tuple[torch.Tensor, ...]:
            out = []
            for _ in (DAY2NIGHT, NIGHT2DAY):  # each direction its own scenes; a pair is flipped together
                idx = rng.integers(len(day), size=n)
                both = to_signed_tensor(flipped(np.concatenate([day[idx], night[idx]], axis=3), rng))
                out += [both[:, :3].contiguous(), both[:, 3:].contiguous()]
            return tuple(out)  # day, night of direction 1; day, night of direction 2

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        g, d = run.parts["g"].module, run.parts["d"].module
        day_a, night_a, day_b, night_b = batch
        data = {DAY2NIGHT: (day_a, night_a), NIGHT2DAY: (night_b, day_b)}  # (input, its paired target)
        fakes = {k: g(x, k) for k, (x, _) in data.items()}
        logs: dict[str, float] = {}
        d.requires_grad_(True)
        d_loss = 0.0
        for k, (x, y) in data.items():
            real_s, fake_s = d(torch.cat([x, y], 1), k), d(torch.cat([x, fakes[k].detach()], 1), k)
            loss = 0.5 * (bce(real_s, 1.0) + bce(fake_s, 0.0))  # halved, as in the paper
            d_loss = d_loss + loss
            logs[f"{k}_d"] = loss.item()
        run.update("d", d_loss)
        d.requires_grad_(False)
        g_loss = 0.0
        for k, (x, y) in data.items():
            adv, l1 = bce(d(torch.cat([x, fakes[k]], 1), k), 1.0), F.l1_loss(fakes[k], y)
            g_loss = g_loss + adv + run.cfg.l1_weight * l1
            logs.update({f"{k}_g_adv": adv.item(), f"{k}_l1": l1.item()})
        run.update("g", g_loss)
        d.requires_grad_(True)
        return logs

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        return {
            "data": DATA.format(n=cfg.scenes, seed=TRAIN_SEED, size=cfg.size) + "; paired: each input with its own "
                    "scene's other render",
            "details": f"two U-Nets (ngf {cfg.width}, depth {cfg.depth}, channels capped at {cfg.max_mult}x, instance "
                       f"norm, dropout {cfg.dropout:g}), one per direction, each with a 70x70 conditional PatchGAN (width "
                       f"{cfg.disc_width}); vanilla GAN loss (BCE) + {cfg.l1_weight:g} x L1; {optimizer_details(cfg)}",
            "summary": "pix2pix (Isola et al. 2017) day -> night and night -> day U-Net generators, trained here on "
                       "paired procedural day/night renders. Inputs and outputs RGB in [-1, 1], "
                       f"{cfg.size}x{cfg.size} (any multiple of {2 ** cfg.depth} works).",
            "tags": ["pix2pix", "image-to-image", "gan-gallery"], "limitations": LIMITATIONS,
        }  # fmt: skip


# --- CycleGAN ------------------------------------------------------------------------------------


class CycleGANRecipe(TranslatorRecipe):
    method, model_name, config = "cyclegan", "cyclegan-day-night", CycleGANConfig
    description = __doc__

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        # Unpaired: the day images and the night images come from disjoint sets of scenes.
        self.day = make_renders(cfg.scenes, cfg.size, TRAIN_SEED, night=False)
        self.night = make_renders(cfg.scenes, cfg.size, TRAIN_SEED, night=True, start=cfg.scenes)
        g = CycleGAN(n_features=cfg.width, n_blocks=cfg.blocks, image_size=cfg.size)
        add_translator(run, g, Discriminators(("day", "night"), 3, cfg.disc_width))

    def dataset(self, run: Run) -> StepBatches:
        day, night, n = self.day, self.night, run.cfg.batch

        def make(rng: np.random.Generator, step: int) -> tuple[torch.Tensor, torch.Tensor]:
            # two independent draws: A and B batches never show the same scene
            return scene_batch(day, rng.integers(len(day), size=n), rng), scene_batch(night, rng.integers(len(night), size=n), rng)

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def pool(self, run: Run, name: str) -> ImagePool:
        """The history pool of one discriminator. Its images live in run.extra, so they are in the
        saved state; its random choices come from torch's RNG, which the engine seeds per step."""
        images = run.extra.setdefault(f"pool_{name}", [])
        if images and images[0].device != run.device:  # just resumed: the state loads on the CPU
            images[:] = [t.to(run.device) for t in images]
        pool = ImagePool(run.cfg.pool)
        pool.images, pool.rng = images, random.Random(int(torch.randint(2**62, ())))
        return pool

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        cfg = run.cfg
        g, d = run.parts["g"].module, run.parts["d"].module
        real_a, real_b = batch  # A: day, B: night
        fake_b, fake_a = g(real_a, DAY2NIGHT), g(real_b, NIGHT2DAY)
        d.requires_grad_(True)
        pooled_a, pooled_b = self.pool(run, "day").query(fake_a), self.pool(run, "night").query(fake_b)
        loss_a = 0.5 * (lsgan_loss(d(real_a, "day"), 1.0) + lsgan_loss(d(pooled_a, "day"), 0.0))
        loss_b = 0.5 * (lsgan_loss(d(real_b, "night"), 1.0) + lsgan_loss(d(pooled_b, "night"), 0.0))
        run.update("d", loss_a + loss_b)
        d.requires_grad_(False)
        adv_b, adv_a = lsgan_loss(d(fake_b, "night"), 1.0), lsgan_loss(d(fake_a, "day"), 1.0)
        cycle_a = F.l1_loss(g(fake_b, NIGHT2DAY), real_a)  # day -> night -> day
        cycle_b = F.l1_loss(g(fake_a, DAY2NIGHT), real_b)  # night -> day -> night
        loss = adv_a + adv_b + CYCLE_WEIGHT * (cycle_a + cycle_b)
        logs = {"d_day": loss_a.item(), "d_night": loss_b.item(), "g_adv_day2night": adv_b.item(),
                "g_adv_night2day": adv_a.item(), "cycle_day": cycle_a.item(), "cycle_night": cycle_b.item()}  # fmt: skip
        if cfg.identity > 0:  # G_A on a day image / G_B on a night image should change nothing
            idt = F.l1_loss(g(real_a, NIGHT2DAY), real_a) + F.l1_loss(g(real_b, DAY2NIGHT), real_b)
            loss = loss + cfg.identity * CYCLE_WEIGHT * idt
            logs["identity"] = idt.item()
        run.update("g", loss)
        d.requires_grad_(True)
        return logs

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        return {
            "data": DATA.format(n=cfg.scenes, seed=TRAIN_SEED, size=cfg.size) + f"; unpaired: day renders of scenes "
                    f"0-{cfg.scenes - 1}, night renders of the disjoint scenes {cfg.scenes}-{2 * cfg.scenes - 1}, "
                    "drawn independently",
            "details": f"ResNet generators ({cfg.width} features, {cfg.blocks} residual blocks, instance norm), 70x70 "
                       f"PatchGANs (width {cfg.disc_width}); least-squares GAN loss, cycle weight {CYCLE_WEIGHT:g}, "
                       f"identity weight {cfg.identity * CYCLE_WEIGHT:g}, {cfg.pool}-image history pool; "
                       f"{optimizer_details(cfg)}",
            "summary": "CycleGAN (Zhu et al. 2017) generators trained here on unpaired procedural day and night "
                       "renders: G_B day -> night, G_A night -> day (UPIT's naming). Inputs and outputs RGB in "
                       f"[-1, 1], {cfg.size}x{cfg.size} (any multiple of 4 works). The discriminators are not saved.",
            "tags": ["cyclegan", "image-to-image", "gan-gallery"], "limitations": LIMITATIONS,
        }  # fmt: skip


# --- the scene classifier ------------------------------------------------------------------------


class SceneClassifierRecipe(ClassifierRecipe):
    method, model_name, config = "scene-classifier", "scene-classifier", SceneClassifierConfig
    description = __doc__
    summary = ("Scene classifier trained on ground-truth day/night renders; judges translations (does a day -> night "
               "output read as night?) and gives the features of 'FD (scene-classifier features)'.")  # fmt: skip
    limitations, flip = LIMITATIONS, True
    extra_details = (f"; heads time (day/night), season ({', '.join(SEASONS)}), weather ({', '.join(WEATHERS)}); "
                     "inputs resized to 64x64 (PIL bicubic)")  # fmt: skip

    @staticmethod
    def scenes(n: int, size: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Both renders of n scenes, (2n, size, size, 3) uint8, and their labels per head."""
        pairs = make_pairs(n, size, seed)
        labels = {k: np.tile(v, 2) for k, v in pairs.labels().items()}
        labels["time"] = np.repeat(np.arange(2, dtype=np.int64), n)
        return np.concatenate([pairs.day, pairs.night]), labels

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        self.x, self.y = self.scenes(cfg.scenes, cfg.size, CLASSIFIER_SEED)
        self.x_test, self.y_test = self.scenes(cfg.test_scenes, cfg.size, CLASSIFIER_SEED + 1)
        self.data_desc = (DATA.format(n=cfg.scenes, seed=CLASSIFIER_SEED, size=cfg.size)
                          + ", both renders of each scene, resized to 64x64 (PIL bicubic)")  # fmt: skip
        self.test_desc = (f"{2 * cfg.test_scenes:,} fresh renders ({cfg.test_scenes} scenes of seed "
                          f"{CLASSIFIER_SEED + 1}, day and night)")  # fmt: skip
        self.add_model(run, SceneClassifier(width=cfg.width))

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        return to_classifier_input(images)

    def loss(self, out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(F.cross_entropy(out[k], y[k]) for k in HEADS)

    def accuracy(self, model: nn.Module) -> dict[str, float]:
        outs = self.predict(model, self.x_test)
        return {k: float((torch.cat([o[k].argmax(1) for o in outs]).numpy() == self.y_test[k]).mean()) for k in HEADS}


RECIPES = {"pix2pix": Pix2PixRecipe, "cyclegan": CycleGANRecipe, "scene-classifier": SceneClassifierRecipe}
