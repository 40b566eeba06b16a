"""AC-GAN by name: class-conditional Fashion-MNIST samples and their judging by the Fashion-MNIST
classifier trained on real photos (models/classifiers.py). The tab and eval/acgan.py call these;
inference only."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from models import hub
from models.dcgan import generate, sample_z
from models.result import PipelineResult, method_title
from models.tensors import to_signed_tensor

GENERATOR, JUDGE = "acgan-fashion", "fashion-classifier"
JUDGE_BATCH = 512


def generate_classes(generator: nn.Module, labels: torch.Tensor, seed: int) -> np.ndarray:
    """One sample per label, z = sample_z(len(labels), seed): (n, 32, 32, 3) uint8 (grey as RGB)."""
    return generate(generator, sample_z(len(labels), generator.z_dim, seed), labels)


def to_judge_input(images: np.ndarray) -> torch.Tensor:
    """Generated (n, 32, 32, 3) uint8 -> the classifier's (n, 1, 32, 32) in [-1, 1]."""
    return to_signed_tensor(images[..., :1])


@torch.inference_mode()
def class_logits(classifier: nn.Module, x: torch.Tensor, batch: int = JUDGE_BATCH) -> torch.Tensor:
    """(n, 1, 32, 32) in [-1, 1] -> (n, num_classes) logits, `batch` at a time."""
    classifier.eval()
    return torch.cat([classifier(x[i : i + batch]) for i in range(0, len(x), batch)])


def sample_and_judge(labels: torch.Tensor, seed: int, generator: str = GENERATOR, judge: str = JUDGE) -> PipelineResult:
    """Samples of the requested classes, read by the classifier. .images (n, 32, 32, 3) uint8;
    .seconds: generation only; .numbers: "labels" (n,), "predicted" (n,), "probabilities"
    (n, num_classes); .details["judge"]: the classifier's provenance. Raises hub.ModelUnavailable."""
    g, clf = hub.load(generator), hub.load(judge)
    t = time.perf_counter()
    images = generate_classes(g.model, labels, seed)
    seconds = time.perf_counter() - t
    probs = torch.softmax(class_logits(clf.model, to_judge_input(images)), -1)
    numbers = {"labels": labels.numpy(), "predicted": probs.argmax(-1).numpy(), "probabilities": probs.numpy()}
    title = method_title(generator, default=generator)
    return PipelineResult(generator, title, images[0], seconds, g.source, g.provenance(), g.notice,
                          images=images, seed=seed, numbers=numbers, details={"judge": clf.provenance()})  # fmt: skip
