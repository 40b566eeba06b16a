"""The DCGAN generator of HugGAN (huggingface/community-events, huggan/pytorch/dcgan), which is the
PyTorch DCGAN tutorial's: five transposed convolutions, none with a bias, batch norm between.

Written here with the upstream parameter names (one nn.Sequential called `model`: model.0 is the
first ConvTranspose2d, model.1 its BatchNorm2d, ..., model.12 the last ConvTranspose2d), so that the
Hub's pytorch_model.bin loads strictly. z: (B, latent_dim, 1, 1) -> (B, num_channels, 64, 64) in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn


class HugGANGenerator(nn.Module):
    def __init__(self, num_channels: int = 3, latent_dim: int = 100, hidden_size: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        widths = [latent_dim, hidden_size * 8, hidden_size * 4, hidden_size * 2, hidden_size]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:], strict=False)):
            stride, padding = (1, 0) if i == 0 else (2, 1)  # 1 -> 4 px, then doubling
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(True)]  # fmt: skip
        layers += [nn.ConvTranspose2d(hidden_size, num_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) or (B, latent_dim, 1, 1) -> (B, C, 64, 64) in [-1, 1]."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.model(z)
