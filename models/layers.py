"""Building blocks shared by several architecture files (public, so no file imports another's
private names)."""

from __future__ import annotations

import torch
from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BN scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def up_block(cin: int, cout: int) -> list[nn.Module]:
    """x2 transposed convolution (4x4, stride 2), batch norm, ReLU: the DCGAN generator's step."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def down_block(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
    """/2 convolution (4x4, stride 2), optional batch norm, LeakyReLU(0.2): the DCGAN discriminator's step."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return [*layers, nn.LeakyReLU(0.2, True)]


def conv_pool_block(cin: int, cout: int) -> list[nn.Module]:
    """3x3 convolution, batch norm, ReLU, 2x2 max pool: the classifiers' step."""
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
            nn.MaxPool2d(2)]  # fmt: skip


class ConvFeatures(nn.Module):
    """conv blocks, global average pool -> (B, feature_dim) features (the judges' trunk)."""

    def __init__(self, channels: int, width: int, blocks: int, feature_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = channels
        for i in range(blocks):
            cout = width * 2 ** min(i, 2)
            layers += conv_pool_block(cin, cout)
            cin = cout
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.project = nn.Sequential(nn.Linear(cin, feature_dim), nn.ReLU(True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.body(x))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
