"""Judges for generated images: small CNN classifiers trained on *real* data (ground-truth face
renders, real Fashion-MNIST photos). The evaluation uses their predictions (attribute accuracy,
arithmetic success, class accuracy) and their penultimate features (Fréchet distance, labelled
with the classifier's name, never "FID"); the DCGAN tab uses the face classifier to find attribute
directions and to label the exemplars it offers.
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from data.faces import BINARY_ATTRIBUTES, CATEGORICAL_ATTRIBUTES
from models.layers import ConvFeatures

HUB_TAGS = ["image-classification", "gan-gallery"]


class FaceAttributeClassifier(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """(B, 3, 64, 64) in [-1, 1] -> {attribute: logits}: one logit per binary attribute
    (smile, glasses), class logits per categorical one (hair, skin, background)."""

    def __init__(self, width: int = 16, feature_dim: int = 128) -> None:
        super().__init__()
        self.features = ConvFeatures(3, width, 4, feature_dim)
        heads = {a: nn.Linear(feature_dim, 1) for a in BINARY_ATTRIBUTES}
        heads.update({a: nn.Linear(feature_dim, len(v)) for a, v in CATEGORICAL_ATTRIBUTES.items()})
        self.heads = nn.ModuleDict(heads)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(x)
        return {name: head(h).squeeze(-1) if name in BINARY_ATTRIBUTES else head(h)
                for name, head in self.heads.items()}  # fmt: skip

    @torch.inference_mode()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{binary attribute: probability (B,)} and {categorical: class index (B,)}."""
        self.eval()
        out = self(x)
        return {k: torch.sigmoid(v) if k in BINARY_ATTRIBUTES else v.argmax(-1) for k, v in out.items()}


class FashionClassifier(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """(B, 1, 32, 32) in [-1, 1] -> (B, num_classes) logits."""

    def __init__(self, num_classes: int = 10, width: int = 32, feature_dim: int = 128) -> None:
        super().__init__()
        self.features = ConvFeatures(1, width, 3, feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


@torch.inference_mode()
def extract_features(model: nn.Module, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Penultimate features (N, feature_dim) float64 of a classifier above, in batches."""
    model.eval()
    return torch.cat([model.features(images[i:i + batch]) for i in range(0, len(images), batch)]).double()
