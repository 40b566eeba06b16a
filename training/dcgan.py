"""DCGAN on procedural faces, AC-GAN on Fashion-MNIST, and the classifiers that judge them.

    python -m training face-classifier     [--steps N]   # attribute classifier on face renders
    python -m training face-judge-aug      [--steps N]   # a second judge: own renders, degradations
    python -m training dcgan               [--steps N] [--data DIR]   # faces (or any image folder)
    python -m training dcgan-directions    # attribute directions in z (needs both models above)
    python -m training fashion-classifier  [--steps N]   # classifier on real Fashion-MNIST
    python -m training acgan               [--steps N]   # AC-GAN on real Fashion-MNIST

Hyper-parameters follow the papers: Adam lr 2e-4, beta1 0.5, batch 64, the non-saturating GAN
loss, D updated before G on every step. The exported generator is the EMA of its weights
(`--ema-decay`). `--max-minutes` stops a run early (the card records the steps actually done).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from data.faces import BINARY_ATTRIBUTES, CATEGORICAL_ATTRIBUTES, make_faces
from data.fashion_mnist import CLASSES, load_fashion_mnist, to_tensor_range
from data.photos import folder_photo_paths, load_photo
from models.classifiers import FaceAttributeClassifier, FashionClassifier
from models.dcgan import (
    DIRECTIONS_FILE,
    ACGANDiscriminator,
    ACGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    sample_z,
)
from models.layers import D_NORMS, UPSAMPLING
from models.tensors import to_signed_tensor
from training.classifiers import ClassifierConfig, ClassifierRecipe, channels_last, degrade, flipped
from training.config import ConfigError, RunConfig, option, parse_config
from training.engine import Recipe, Run, StepBatches

logger = logging.getLogger(__name__)

FACE_TRAIN_SEED, FACE_CLASSIFIER_SEED, FACE_JUDGE_AUG_SEED = 1000, 2000, 4000  # evaluation renders: 3000, 3001
FACE_VALIDATION_SEED, VALIDATION_FACES = 5000, 1000  # --keep-best-every: renders and latents of the score
FACE_DATA = ("procedural faces from data/faces.py (64x64; attributes smile, glasses, hair colour, "
             "skin tone, background, with pose/shape jitter), {n} renders, render seed {seed}, "
             "random horizontal flips")  # fmt: skip
FASHION_DATA = ("Fashion-MNIST training split ({n:,} real 28x28 photos, 10 classes; Debian package "
                "dataset-fashion-mnist), padded to 32x32")  # fmt: skip
LIMITATIONS = ("Trained for minutes on a 2-core CPU on simple data: procedural cartoon faces and 32x32 "
               "Fashion-MNIST are far easier than CelebA or ImageNet, and the samples show it.")  # fmt: skip
SCHEDULES = ("constant", "cosine", "linear-decay")
GAN_LOSSES = ("bce", "hinge")
LOSS_NAMES = {"bce": "non-saturating BCE loss (the paper's)", "hinge": "hinge loss (SN-GAN, Miyato et al. 2018)"}
D_NORM_NAMES = {"batch": "batch norm (the paper's)", "spectral": "spectral norm on every convolution (Miyato et al. 2018)"}
UPSAMPLE_NAMES = {"deconv": "4x4 stride-2 transposed convolutions (the paper's)",
                  "resize": "nearest x2 + 3x3 convolution (Odena et al. 2016, against checkerboard artefacts)"}
FRESH_FACE_SEEDS = (10_000, 2**31 - 1)  # render seeds of --faces 0 (the judges and evaluation use seeds < 10,000)


# --- configs -----------------------------------------------------------------------------------


@dataclass
class GANConfig(RunConfig):
    """What the two adversarial recipes of this module share."""

    batch: int = option(64, "real images (and as many generated) per step on each process", min=1)
    lr: float = option(2e-4, "Adam learning rate of G and D (the DCGAN paper's)", min=0, exclusive_min=True)
    beta1: float = option(0.5, "Adam beta1 of G and D (the DCGAN paper's 0.5; beta2 is 0.999)", min=0, max=0.999)
    schedule: str = option("constant", "learning-rate schedule over the run (the paper's: constant)",
                           choices=SCHEDULES)
    ema_decay: float = option(0.999, "decay of the generator's EMA copy, the exported weights", min=0, max=1)
    d_lr: float = option(0.0, "D's learning rate when it should differ from G's (two time-scale, Heusel et al. "
                         "2017); 0: --lr", min=0)


@dataclass
class DCGANConfig(GANConfig):
    steps: int = option(3000, "optimizer steps (each updates D, then G)", min=1)
    width: int = option(32, "base channel width of G and D (the paper's 128)", min=1)
    faces: int = option(20000, "face renders to train on (ignored with --data); 0: fresh renders every step",
                        min=0)
    data: str = option("", "folder of images to train on instead of the faces (centre-cropped, 64x64)")
    loss: str = option("bce", "adversarial loss: the paper's non-saturating BCE, or hinge (SN-GAN)",
                       choices=GAN_LOSSES)
    d_norm: str = option("batch", "discriminator normalisation: the paper's batch norm, or spectral norm",
                         choices=D_NORMS)
    upsample: str = option("deconv", "generator upsampling: the paper's transposed convolutions, or "
                           "nearest x2 + 3x3 convolution (no checkerboard)", choices=UPSAMPLING)
    minibatch_std: bool = option(False, "append the batch's feature deviation to D's last layer (Karras et al. "
                                 "2018), so a generator that drops a mode is seen")
    d_warmup: int = option(0, "first steps that train D alone, G frozen (for --init: a fresh discriminator "
                           "learns the data before its gradients reach the warm-started generator)", min=0)
    judge: str = option("", "face-attribute classifier whose features score --keep-best-every (default: "
                        "models/weights/face-attribute-classifier)")

    def validate(self) -> None:
        super().validate()
        if self.data and self.keep_best_every:
            raise ConfigError("--keep-best-every scores procedural faces (FD on the face-attribute classifier's "
                              "features); it cannot judge a model trained on --data")
        if self.d_warmup >= self.steps:
            raise ConfigError(f"--d-warmup ({self.d_warmup}) must be below --steps ({self.steps}): the generator "
                              "would never train")


@dataclass
class ACGANConfig(GANConfig):
    steps: int = option(3000, "optimizer steps (each updates D, then G)", min=1)
    width: int = option(64, "base channel width of G and D", min=1)
    data: str = option("", "folder of the Fashion-MNIST IDX files (default: the Debian package's)")
    conditioning: str = option("multiply", "how the class enters G: z * embedding, or [z, embedding]",
                               choices=("multiply", "concat"))
    loss: str = option("bce", "real/fake loss: the paper's BCE (non-saturating for G), or hinge", choices=GAN_LOSSES)
    d_norm: str = option("batch", "discriminator normalisation: batch norm, or spectral norm", choices=D_NORMS)
    aux_fake: bool = option(True, "train D's class head on generated images too (the paper's); with false it "
                            "learns from real photos only, so G must make images a real-data classifier reads")
    aux_weight: float = option(1.0, "weight of the class cross-entropy in G's loss", min=0)


@dataclass
class FaceClassifierConfig(ClassifierConfig):
    steps: int = option(600, "optimizer steps", min=1)
    width: int = option(16, "base channel width", min=1)
    faces: int = option(20000, "face renders to train on", min=1)
    test_faces: int = option(2000, "fresh renders (their own seed) the held-out accuracy is measured on", min=1)


@dataclass
class FashionClassifierConfig(ClassifierConfig):
    steps: int = option(1500, "optimizer steps", min=1)
    width: int = option(32, "base channel width", min=1)
    data: str = option("", "folder of the Fashion-MNIST IDX files (default: the Debian package's)")


# --- data ----------------------------------------------------------------------------------------


def folder_images(folder: str, size: int = 64) -> np.ndarray:
    """Every image of a folder, centre-cropped square and resized: (N, size, size, 3) uint8."""
    images = []
    for path in folder_photo_paths(folder):
        img = Image.fromarray(load_photo(path))
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
        images.append(np.asarray(img))
    return np.stack(images)


def fashion_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 32, 32) float32 in [-1, 1] (kept as uint8 until batched)."""
    return torch.from_numpy(to_tensor_range(images))


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def d_adversarial(real: torch.Tensor, fake: torch.Tensor, loss: str) -> torch.Tensor:
    """The discriminator's real/fake loss on logits: BCE, or hinge mean(relu(1 - r)) + mean(relu(1 + f))."""
    if loss == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return bce(real, 1.0) + bce(fake, 0.0)


def g_adversarial(fake: torch.Tensor, loss: str) -> torch.Tensor:
    """The generator's loss on D's logits of its samples: non-saturating BCE, or -mean(logit) (hinge)."""
    return -fake.mean() if loss == "hinge" else bce(fake, 1.0)


def add_gan(run: Run, g: nn.Module, d: nn.Module) -> None:
    cfg = run.cfg
    kw = {"betas": (cfg.beta1, 0.999), "schedule": cfg.schedule}
    run.add("g", g.to(memory_format=torch.channels_last), ema_decay=cfg.ema_decay, lr=cfg.lr, **kw)
    run.add("d", d.to(memory_format=torch.channels_last), lr=cfg.d_lr or cfg.lr, **kw)


def export_ema(run: Run) -> nn.Module:
    """The EMA generator, in the default layout on the CPU (the engine then names it on the card)."""
    return run.parts["g"].ema.module.to(memory_format=torch.contiguous_format).cpu()


def gan_details(cfg: GANConfig) -> str:
    lr = f"G {cfg.lr:g}, D {cfg.d_lr:g} (two time-scale)" if cfg.d_lr and cfg.d_lr != cfg.lr else f"{cfg.lr:g}"
    return (f"Adam lr {lr} betas ({cfg.beta1:g}, 0.999), schedule {cfg.schedule}, D then G on each "
            f"step, channels_last")  # fmt: skip


def save_samples(images: torch.Tensor, path: Path, cols: int = 8) -> None:
    """(N, C, H, W) in [-1, 1] -> one PNG grid (samples.png beside a checkpoint)."""
    from torchvision.utils import save_image

    save_image(images.float().clamp(-1, 1) * 0.5 + 0.5, path, nrow=cols, padding=0)


# --- DCGAN ---------------------------------------------------------------------------------------


class DCGANRecipe(Recipe):
    method, model_name, config = "dcgan", "dcgan-faces", DCGANConfig
    description = __doc__
    companions = {"d": "discriminator.safetensors"}
    selection = (f"minus the FD (face-attribute-classifier features) of {VALIDATION_FACES:,} EMA samples (z seed "
                 f"{FACE_VALIDATION_SEED}) vs {VALIDATION_FACES:,} validation renders (render seed "
                 f"{FACE_VALIDATION_SEED}; the evaluation's are 3000 and 3001)")

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        if cfg.data:
            self.images = folder_images(cfg.data)
            self.data_desc = (f"{len(self.images)} images from `{cfg.data}`, centre-cropped, resized to 64x64, "
                              "random horizontal flips")  # fmt: skip
        elif cfg.faces:
            self.images = make_faces(cfg.faces, 64, FACE_TRAIN_SEED).images
            self.data_desc = FACE_DATA.format(n=cfg.faces, seed=FACE_TRAIN_SEED)
        else:
            self.images = None
            self.data_desc = FACE_DATA.format(n=f"{cfg.batch} fresh", seed=f"drawn per step from "
                                              f"[{FRESH_FACE_SEEDS[0]:,}, 2^31)") + " (never the same renders twice)"
        g = DCGANGenerator(width=cfg.width, upsample=cfg.upsample)
        d = DCGANDiscriminator(width=cfg.width, norm=cfg.d_norm, minibatch_std=cfg.minibatch_std)
        add_gan(run, g, d)

    def dataset(self, run: Run) -> StepBatches:
        images, n = self.images, run.cfg.batch

        def make(rng: np.random.Generator, step: int) -> torch.Tensor:
            if images is None:  # an endless supply: the procedural generator renders a new batch each step
                batch = make_faces(n, 64, int(rng.integers(*FRESH_FACE_SEEDS))).images
            else:
                batch = images[rng.integers(len(images), size=n)]
            return to_signed_tensor(flipped(batch, rng))

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch: torch.Tensor, step: int) -> dict[str, float]:
        g, d = run.parts["g"].module, run.parts["d"].module
        real = channels_last(batch)
        warmup = step < run.cfg.d_warmup
        with torch.set_grad_enabled(not warmup):
            fake = g(torch.randn(len(real), run.unwrap("g").z_dim, device=run.device))
        d.requires_grad_(True)
        r, f = d(real), d(fake.detach())
        d_loss = d_adversarial(r, f, run.cfg.loss)
        run.update("d", d_loss)
        if warmup:  # G frozen: its loss against the D of this step, for the log only
            g_loss = g_adversarial(f.detach(), run.cfg.loss)
        else:
            d.requires_grad_(False)
            g_loss = g_adversarial(d(fake), run.cfg.loss)
            run.update("g", g_loss)
            d.requires_grad_(True)
        return {"d_loss": d_loss.item(), "d_real": torch.sigmoid(r).mean().item(),
                "d_fake": torch.sigmoid(f).mean().item(), "g_loss": g_loss.item()}  # fmt: skip

    @torch.no_grad()
    def score(self, run: Run) -> dict[str, float]:
        """-FD of the EMA generator on the judge's features (validation renders), and the share of
        samples the judge reads with glasses and smiling (the renders: about half each). The
        samples go through the evaluation's path: uint8 images, judged on the CPU."""
        from eval.metrics import frechet_distance_from_features
        from models.catalog import WEIGHTS_DIR
        from models.classifiers import extract_features
        from models.latent_arithmetic import generate_and_judge

        if not hasattr(self, "validation"):
            judge_dir = Path(run.cfg.judge) if run.cfg.judge else WEIGHTS_DIR / FaceClassifierRecipe.model_name
            judge = FaceAttributeClassifier.from_pretrained(judge_dir, strict=True)
            real = to_signed_tensor(make_faces(VALIDATION_FACES, 64, FACE_VALIDATION_SEED).images)
            self.validation = (judge, extract_features(judge, real).numpy())
        judge, real_features = self.validation
        z = sample_z(VALIDATION_FACES, run.unwrap("g").z_dim, FACE_VALIDATION_SEED).to(run.device)
        samples, reads = generate_and_judge(run.parts["g"].ema.module, judge, z)
        fd = frechet_distance_from_features(extract_features(judge, to_signed_tensor(samples)).numpy(), real_features)
        return {"score": -fd, "fd": fd, **{k: float(np.mean(reads.probs[k] > 0.5)) for k in BINARY_ATTRIBUTES}}

    def export(self, run: Run) -> nn.Module:
        return export_ema(run)

    def after_export(self, run: Run, model: nn.Module, out: Path) -> None:
        with torch.inference_mode():
            save_samples(model(sample_z(64, model.z_dim, 0)), out / "samples.png")

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        return {
            "summary": f"DCGAN (Radford et al. 2016) generator, z in R^100 -> 64x64 RGB, width {cfg.width}, trained "
                       "here on procedural faces with known attributes (for measurable vector arithmetic).",
            "data": self.data_desc, "tags": ["dcgan", "gan-gallery"], "limitations": LIMITATIONS,
            "details": f"width {cfg.width}, {LOSS_NAMES[cfg.loss]}, discriminator {D_NORM_NAMES[cfg.d_norm]}"
                       + (" and a minibatch standard-deviation channel (Karras et al. 2018)" if cfg.minibatch_std else "")
                       + (f", the first {cfg.d_warmup:,} steps train D alone (G frozen)" if cfg.d_warmup else "")
                       + f", generator upsampling {UPSAMPLE_NAMES[cfg.upsample]}, {gan_details(cfg)}",
        }  # fmt: skip


# --- AC-GAN --------------------------------------------------------------------------------------


class ACGANRecipe(Recipe):
    method, model_name, config = "acgan", "acgan-fashion", ACGANConfig
    description = __doc__

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        self.images, self.labels = load_fashion_mnist("train", cfg.data or None)
        g = ACGANGenerator(width=cfg.width, conditioning=cfg.conditioning)
        add_gan(run, g, ACGANDiscriminator(width=cfg.width, norm=cfg.d_norm))

    def dataset(self, run: Run) -> StepBatches:
        images, labels, n = self.images, self.labels, run.cfg.batch
        classes = run.unwrap("g").num_classes

        def make(rng: np.random.Generator, step: int) -> tuple[torch.Tensor, ...]:
            idx = rng.integers(len(images), size=n)
            fake_y = rng.integers(classes, size=n)
            return fashion_tensor(images[idx]), torch.from_numpy(labels[idx]), torch.from_numpy(fake_y)

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        g, d = run.parts["g"].module, run.parts["d"].module
        real, real_y, fake_y = batch
        real = channels_last(real)
        fake = g(torch.randn(len(real), run.unwrap("g").z_dim, device=run.device), fake_y)
        d.requires_grad_(True)
        cfg = run.cfg
        (r, r_cls), (f, f_cls) = d(real), d(fake.detach())
        d_adv = d_adversarial(r, f, cfg.loss)
        d_aux = F.cross_entropy(r_cls, real_y) + (F.cross_entropy(f_cls, fake_y) if cfg.aux_fake else 0.0)
        run.update("d", d_adv + d_aux)
        d.requires_grad_(False)
        f, f_cls = d(fake)
        g_adv, g_aux = g_adversarial(f, cfg.loss), F.cross_entropy(f_cls, fake_y)
        run.update("g", g_adv + cfg.aux_weight * g_aux)
        d.requires_grad_(True)
        return {"d_adv": d_adv.item(), "d_aux": d_aux.item(),
                "d_real_class_acc": (r_cls.argmax(1) == real_y).float().mean().item(),
                "g_adv": g_adv.item(), "g_aux": g_aux.item()}  # fmt: skip

    def export(self, run: Run) -> nn.Module:
        return export_ema(run)

    def after_export(self, run: Run, model: nn.Module, out: Path) -> None:
        labels = torch.arange(model.num_classes).repeat_interleave(8)
        with torch.inference_mode():
            save_samples(model(sample_z(len(labels), model.z_dim, 0), labels), out / "samples.png")

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        return {
            "summary": f"AC-GAN (Odena et al. 2017) generator, (z in R^100, class) -> 32x32 grey, width {cfg.width}, "
                       "trained here on real Fashion-MNIST photos. Class order: " + ", ".join(CLASSES) + ".",
            "data": FASHION_DATA.format(n=len(self.images)), "tags": ["ac-gan", "gan-gallery"],
            "limitations": LIMITATIONS,
            "details": f"width {cfg.width}, class conditioning '{cfg.conditioning}'; {LOSS_NAMES[cfg.loss]}; "
                       f"discriminator {D_NORM_NAMES[cfg.d_norm]}; D's class cross-entropy on "
                       f"{'real and generated images (the paper)' if cfg.aux_fake else 'real photos only'}; "
                       f"G: adversarial + {cfg.aux_weight:g} x class cross-entropy; {gan_details(cfg)}",
        }  # fmt: skip


# --- the judges' classifiers ---------------------------------------------------------------------


class FaceClassifierRecipe(ClassifierRecipe):
    method, model_name, config = "face-classifier", "face-attribute-classifier", FaceClassifierConfig
    description = __doc__
    summary = ("Attribute classifier (smile, glasses, hair colour, skin tone, background) trained on ground-truth "
               "face renders; judges DCGAN samples and gives the features of 'FD (face-attribute-classifier "
               "features)'.")  # fmt: skip
    limitations, flip = LIMITATIONS, True
    render_seed = FACE_CLASSIFIER_SEED

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        seed = self.render_seed
        train, test = make_faces(cfg.faces, 64, seed), make_faces(cfg.test_faces, 64, seed + 1)
        self.x, self.y, self.x_test, self.y_test = train.images, train.labels(), test.images, test.labels()
        self.data_desc = FACE_DATA.format(n=cfg.faces, seed=seed)
        self.test_desc = f"{cfg.test_faces:,} fresh renders (seed {seed + 1})"
        self.add_model(run, FaceAttributeClassifier(width=cfg.width))

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        return to_signed_tensor(images)

    def loss(self, out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(F.binary_cross_entropy_with_logits(out[k], y[k].float()) if k in BINARY_ATTRIBUTES
                   else F.cross_entropy(out[k], y[k]) for k in out)  # fmt: skip

    def accuracy(self, model: nn.Module) -> dict[str, float]:
        outs = self.predict(model, self.x_test)
        pred = {k: torch.cat([(o[k] > 0).long() if k in BINARY_ATTRIBUTES else o[k].argmax(-1) for o in outs])
                for k in model.heads}  # fmt: skip
        return {k: float((v.numpy() == self.y_test[k]).mean()) for k, v in pred.items()}


@dataclass
class FaceJudgeAugConfig(FaceClassifierConfig):
    steps: int = option(1200, "optimizer steps", min=1)
    width: int = option(24, "base channel width", min=1)
    seed: int = option(1, "seed of everything random: data, noise and initialisation", min=0, max=2**31 - 1)


class FaceJudgeAugRecipe(FaceClassifierRecipe):
    """The second, independent reading of generated faces: the same task as face-classifier, but its
    own renders (seed 4000), width, seed and training-time degradations (training.classifiers.degrade:
    blur, checkerboard patterns, noise, contrast), so an artefact-filled face does not look like a
    clean render to it. eval/dcgan.py reports where the two judges disagree on DCGAN samples."""

    method, model_name, config = "face-judge-aug", "face-attribute-judge-aug", FaceJudgeAugConfig
    render_seed = FACE_JUDGE_AUG_SEED
    summary = ("Second face-attribute judge, trained on its own ground-truth renders with blur, checkerboard, "
               "noise and contrast degradations: an independent reading of DCGAN samples (eval/dcgan.py reports "
               "where it and face-attribute-classifier disagree).")  # fmt: skip
    extra_details = "; training-time degradations (training.classifiers.degrade): blur, 2/4-px periodic patterns, noise, contrast"

    def augment(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        return degrade(x, rng)


class FashionClassifierRecipe(ClassifierRecipe):
    method, model_name, config = "fashion-classifier", "fashion-classifier", FashionClassifierConfig
    description = __doc__
    summary = ("Fashion-MNIST classifier trained on the real training split; judges AC-GAN samples and gives the "
               "features of 'FD (fashion-classifier features)'.")  # fmt: skip
    limitations = LIMITATIONS

    def setup(self, run: Run) -> None:
        self.x, self.y = load_fashion_mnist("train", run.cfg.data or None)
        self.x_test, self.y_test = load_fashion_mnist("test", run.cfg.data or None)
        self.data_desc = FASHION_DATA.format(n=len(self.x))
        self.test_desc = f"the {len(self.x_test):,} real test photos"
        self.add_model(run, FashionClassifier(width=run.cfg.width))

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        return fashion_tensor(images)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y)

    def accuracy(self, model: nn.Module) -> dict[str, float]:
        pred = torch.cat([o.argmax(1) for o in self.predict(model, self.x_test)]).numpy()
        return {"accuracy": float((pred == self.y_test).mean())}


RECIPES = {"dcgan": DCGANRecipe, "acgan": ACGANRecipe, "face-classifier": FaceClassifierRecipe,
           "face-judge-aug": FaceJudgeAugRecipe, "fashion-classifier": FashionClassifierRecipe}  # fmt: skip


# --- attribute directions (no training: a pass of the trained models) ------------------------------


@dataclass
class DirectionsConfig:
    out: str = option("", "the DCGAN checkpoint directory; the directions are written there "
                      "(default: models/weights/dcgan-faces)")
    classifier: str = option("", "the face classifier directory (default: models/weights/face-attribute-classifier)")
    samples: int = option(4096, "generated samples the classifier labels", min=20)
    seed: int = option(0, "seed of the latents", min=0, max=2**31 - 1)
    threads: int = option(0, "torch CPU threads (0: torch's default)", min=0)

    def validate(self) -> None:
        pass


@torch.inference_mode()
def attribute_directions(g: DCGANGenerator, clf: FaceAttributeClassifier, n: int = 4096,
                         seed: int = 0) -> dict[str, torch.Tensor]:  # fmt: skip
    """Per attribute (and per categorical value, "hair=blonde"), the difference between the mean z of
    samples the classifier says have it and the mean z of those that have not (attributes seen on
    fewer than 10 samples, or missing on fewer than 10, get none)."""
    g.eval()
    z = sample_z(n, g.z_dim, seed)
    preds = {k: [] for k in clf.heads}
    for i in range(0, n, 256):
        for k, v in clf.predict(g(z[i:i + 256])).items():
            preds[k].append(v)
    preds = {k: torch.cat(v) for k, v in preds.items()}
    masks = {attr: preds[attr] > 0.5 for attr in BINARY_ATTRIBUTES}
    masks.update({f"{attr}={value}": preds[attr] == i for attr, values in CATEGORICAL_ATTRIBUTES.items()
                  for i, value in enumerate(values)})  # fmt: skip
    return {name: z[has].mean(0) - z[~has].mean(0) for name, has in masks.items() if 10 <= int(has.sum()) <= n - 10}


def main(argv: list[str]) -> int:
    """`python -m training dcgan-directions`: the one method of this module that is not trained."""
    from safetensors.torch import save_file

    from models.catalog import WEIGHTS_DIR

    if argv[0] != "dcgan-directions":
        raise ConfigError(f"{argv[0]} is trained by the engine (training.dcgan.RECIPES)")
    cfg = parse_config(DirectionsConfig, argv[1:], prog="python -m training dcgan-directions",
                       description="Attribute directions in the DCGAN's z, labelled by the face classifier.")  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out) if cfg.out else WEIGHTS_DIR / DCGANRecipe.model_name
    g = DCGANGenerator.from_pretrained(out, strict=True)
    clf_dir = Path(cfg.classifier) if cfg.classifier else WEIGHTS_DIR / FaceClassifierRecipe.model_name
    clf = FaceAttributeClassifier.from_pretrained(clf_dir, strict=True)
    directions = attribute_directions(g, clf, n=cfg.samples, seed=cfg.seed)
    save_file({k: v.contiguous() for k, v in directions.items()}, out / DIRECTIONS_FILE)
    logger.info("saved %d directions to %s", len(directions), out / DIRECTIONS_FILE)
    return 0
