"""The recipe the judges' classifiers share (face-classifier, fashion-classifier, scene-classifier):
a small CNN trained on real or ground-truth data with a warm-up then cosine learning rate, its
held-out accuracy on its card. The methods themselves live beside the generators they judge
(training/dcgan.py, training/translation.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.config import RunConfig, option
from training.engine import Recipe, Run, StepBatches


@dataclass
class ClassifierConfig(RunConfig):
    batch: int = option(64, "images per step on each process", min=1)
    lr: float = option(2e-3, "peak Adam learning rate", min=0, exclusive_min=True)
    warmup: float = option(0.3, "fraction of the run the learning rate warms up over (linearly), before "
                           "its cosine decay to 0", min=0, max=0.99)  # fmt: skip


def flipped(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, H, W, C): each image mirrored left-right with probability 1/2."""
    flip = rng.random(len(images)) < 0.5
    return np.where(flip[:, None, None, None], images[:, :, ::-1], images)


def degrade(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """The artefacts a generator's samples have and clean renders do not, drawn per image, on a batch
    (B, C, H, W) in [-1, 1]: Gaussian blur (p 0.5, sigma 0.3-1.5), a periodic 2- or 4-pixel pattern
    (p 0.4, amplitude up to 0.25: the checkerboard of transposed convolutions), Gaussian noise
    (sigma up to 0.2) and contrast/brightness jitter (+-20 %, +-0.15)."""
    from torchvision.transforms.functional import gaussian_blur

    b, c, h, w = x.shape
    out = []
    for img in x:
        if rng.random() < 0.5:
            sigma = float(rng.uniform(0.3, 1.5))
            img = gaussian_blur(img[None], kernel_size=5, sigma=sigma)[0]
        if rng.random() < 0.4:
            period = int(rng.choice([2, 4]))
            yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            pattern = (((yy // (period // 2)) + (xx // (period // 2))) % 2).float() * 2 - 1
            img = img + float(rng.uniform(0.05, 0.25)) * pattern * torch.from_numpy(rng.uniform(0.5, 1.0, (c, 1, 1))).float()
        img = img + float(rng.uniform(0.0, 0.2)) * torch.from_numpy(rng.standard_normal((c, h, w))).float()
        img = img * float(rng.uniform(0.8, 1.2)) + float(rng.uniform(-0.15, 0.15))
        out.append(img.clamp(-1, 1))
    return torch.stack(out)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """Forward + backward in this layout on this CPU (one thread, each model at its training batch):
    the classifiers 1.3-1.6x faster, DCGAN's and AC-GAN's networks 1.03-1.15x; the translators'
    (reflection padding, instance norm) 0.8x, so they stay in the default layout."""
    return x.contiguous(memory_format=torch.channels_last)


class ClassifierRecipe(Recipe):
    """Subclasses set, in setup: x / y (the training images as stored, (N, H, W, C) uint8, and
    their labels: an array, or a dict of arrays per head), x_test / y_test, data_desc, test_desc;
    and define to_input, loss and accuracy."""

    summary = ""
    limitations = ""
    tags = ["image-classification", "gan-gallery"]
    flip = False  # random horizontal flips of the training images

    def add_model(self, run: Run, model: nn.Module) -> None:
        cfg = run.cfg
        run.add("model", model.to(memory_format=torch.channels_last), lr=cfg.lr, schedule="cosine",
                warmup=cfg.warmup)  # fmt: skip

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        """Stored images -> the model's input tensor."""
        raise NotImplementedError

    def augment(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Training-time augmentation of an input batch (none by default)."""
        return x

    def loss(self, out, y) -> torch.Tensor:
        raise NotImplementedError

    def accuracy(self, model: nn.Module) -> dict[str, float]:
        """Held-out accuracy per head of the trained model (on the CPU)."""
        raise NotImplementedError

    def dataset(self, run: Run) -> StepBatches:
        x, y, n = self.x, self.y, run.cfg.batch

        def make(rng: np.random.Generator, step: int):
            idx = rng.integers(len(x), size=n)
            xb = flipped(x[idx], rng) if self.flip else x[idx]
            yb = {k: torch.from_numpy(v[idx]) for k, v in y.items()} if isinstance(y, dict) else torch.from_numpy(y[idx])
            return self.augment(self.to_input(xb), rng), yb

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        x, y = batch
        loss = self.loss(run.parts["model"].module(channels_last(x)), y)
        run.update("model", loss)
        return {"loss": loss.item(), "lr": run.lr("model")}

    def export(self, run: Run) -> nn.Module:
        return run.unwrap("model").to(memory_format=torch.contiguous_format).cpu()

    @torch.inference_mode()
    def predict(self, model: nn.Module, images: np.ndarray, batch: int = 512) -> list:
        model.eval()
        return [model(self.to_input(images[i:i + batch])) for i in range(0, len(images), batch)]

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        acc = self.accuracy(self.export(run).eval())
        return {
            "summary": self.summary, "data": self.data_desc, "tags": self.tags,
            "details": f"width {cfg.width}, Adam lr {cfg.lr:g}, linear warm-up over {cfg.warmup:.0%} of the run, "
                       "then cosine to 0; channels_last" + getattr(self, "extra_details", ""),
            "limitations": self.limitations, "test_accuracy": acc,
            "metrics": f"Held-out accuracy on {self.test_desc}: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()),
        }  # fmt: skip
