"""A tiny seeded model for catalog / hub tests (importable as "tests.tiny_models:TinyNet")."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class TinyNet(nn.Module, PyTorchModelHubMixin):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.norm = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


def seeded_tiny(width: int = 4, seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(width)
