"""Building blocks shared by several architecture files (public, so no file imports another's
private names)."""

from __future__ import annotations

import torch
from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BN scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            # under spectral normalisation the parameter is weight_orig (weight is recomputed from it)
            nn.init.normal_(getattr(m, "weight_orig", m.weight), 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


UPSAMPLING = ("deconv", "resize")
D_NORMS = ("batch", "spectral")


def upsample_conv(cin: int, cout: int, mode: str = "deconv", bias: bool = True) -> list[nn.Module]:
    """x2 upsampling convolution. "deconv": the DCGAN paper's 4x4 stride-2 transposed convolution;
    "resize": nearest-neighbour x2 then a 3x3 convolution (Odena, Dumoulin & Olah 2016,
    "Deconvolution and checkerboard artifacts": every output pixel sees the same kernel overlap)."""
    if mode == "deconv":
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)]
    if mode == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=bias)]
    raise ValueError(f"upsample must be one of {UPSAMPLING}, got {mode!r}")


def up_block(cin: int, cout: int, mode: str = "deconv") -> list[nn.Module]:
    """x2 upsampling convolution, batch norm, ReLU: the DCGAN generator's step."""
    return [*upsample_conv(cin, cout, mode, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def down_block(cin: int, cout: int, norm: bool | str = True) -> list[nn.Module]:
    """/2 convolution (4x4, stride 2), then batch norm (norm True/"batch"), spectral normalisation of
    the convolution (norm "spectral", Miyato et al. 2018) or nothing (False), LeakyReLU(0.2): the DCGAN
    discriminator's step."""
    if norm not in (True, False, *D_NORMS):
        raise ValueError(f"norm must be one of {D_NORMS} or a bool, got {norm!r}")
    batch = norm is True or norm == "batch"
    conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=not batch)
    layers: list[nn.Module] = [nn.utils.spectral_norm(conv) if norm == "spectral" else conv]
    if batch:
        layers.append(nn.BatchNorm2d(cout))
    return [*layers, nn.LeakyReLU(0.2, True)]


class MinibatchStd(nn.Module):
    """Appends the batch's mean feature standard deviation as one channel (Karras et al. 2018), so
    D can see a batch of identical samples, and G is pushed away from collapsing onto one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = x.std(0, unbiased=False).mean().expand(x.shape[0], 1, x.shape[2], x.shape[3])
        return torch.cat([x, std], 1)


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
