"""The scene classifier: a small CNN trained here on ground-truth day and night renders of
data/day_night.py to tell time of day, season and weather. The translation benchmark uses its
penultimate features for "FD (scene-classifier features)" (no Inception weights can be had
offline, and Inception has never seen these scenes anyway) and its time-of-day head to check that
a day -> night output reads as night.
"""

from __future__ import annotations

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from PIL import Image
from torch import nn

from data.day_night import SEASONS, TIMES, WEATHERS
from models.layers import ConvFeatures
from models.tensors import to_signed_tensor

HUB_TAGS = ["image-classification", "gan-gallery"]
INPUT_SIZE = 64  # renders are resized (PIL bicubic) to this before classification
HEADS = {"time": TIMES, "season": SEASONS, "weather": WEATHERS}
FD_NAME = "FD (scene-classifier features)"


class SceneClassifier(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """(B, 3, 64, 64) in [-1, 1] -> {"time": (B, 2), "season": (B, 3), "weather": (B, 4)} logits.
    `features` gives the (B, feature_dim) penultimate features."""

    def __init__(self, width: int = 16, feature_dim: int = 128) -> None:
        super().__init__()
        self.features = ConvFeatures(3, width, 4, feature_dim)
        self.heads = nn.ModuleDict({k: nn.Linear(feature_dim, len(v)) for k, v in HEADS.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(x)
        return {k: head(h) for k, head in self.heads.items()}


def to_classifier_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, 64, 64) float32 in [-1, 1], resized with PIL bicubic (the
    resize every FD in this project uses, after clean-fid)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
        images = np.stack([np.asarray(Image.fromarray(im).resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC))
                           for im in images])  # fmt: skip
    return to_signed_tensor(images)


@torch.inference_mode()
def classify(model: SceneClassifier, images: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """Class probabilities per head: {"time": (N, 2), "season": (N, 3), "weather": (N, 4)}."""
    model.eval()
    x = to_classifier_input(images)
    out: dict[str, list[np.ndarray]] = {k: [] for k in HEADS}
    for i in range(0, len(x), batch):
        for k, v in model(x[i : i + batch]).items():
            out[k].append(torch.softmax(v, -1).numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


@torch.inference_mode()
def scene_features(model: SceneClassifier, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, feature_dim) float64 penultimate features of (N, H, W, 3) uint8 images."""
    model.eval()
    x = to_classifier_input(images)
    return torch.cat([model.features(x[i : i + batch]) for i in range(0, len(x), batch)]).double().numpy()
