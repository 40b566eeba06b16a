"""DCGAN (Radford et al. 2016) and AC-GAN (Odena et al. 2017), plus their inference helpers.

DCGAN follows the paper's guidelines: no pooling or fully connected hidden layers (strided
convolutions and transposed convolutions only), batch norm in both networks except the generator
output and the discriminator input, ReLU in the generator with a tanh output, LeakyReLU(0.2) in the
discriminator. The generator maps z ~ N(0, I) of size `z_dim` to (3, 64, 64) in [-1, 1].

AC-GAN: the generator takes z and a class label (a learned class embedding gating z, or
concatenated with it); the discriminator has
two heads, real/fake and an auxiliary classifier over the classes. Both work on 32x32 grey images
(Fashion-MNIST padded from 28x28).

Vector arithmetic and attribute sliders work in z: `attribute_directions.safetensors` next to the
DCGAN checkpoint holds, per attribute, the difference of mean z between generated samples the
attribute classifier says have it and those it says have not (training/dcgan.py writes it).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.layers import MinibatchStd, dcgan_init, down_block, up_block, upsample_conv
from models.tensors import from_signed_tensor

logger = logging.getLogger(__name__)

HUB_TAGS = ["dcgan", "gan-gallery"]
DIRECTIONS_FILE = "attribute_directions.safetensors"
MAX_SEED = 2**31 - 1


class DCGANGenerator(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """z (B, z_dim) -> image (B, channels, 64, 64) in [-1, 1].

    upsample="deconv" is the paper's generator; "resize" replaces each x2 transposed convolution by
    nearest-neighbour upsampling and a 3x3 convolution (models.layers.upsample_conv), which removes
    the checkerboard pattern transposed convolutions leave; everything else is the same."""

    def __init__(self, z_dim: int = 100, width: int = 32, channels: int = 3, upsample: str = "deconv") -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, width * 8, 4, 1, 0, bias=False),  # 1 -> 4
            nn.BatchNorm2d(width * 8), nn.ReLU(True),
            *up_block(width * 8, width * 4, upsample),  # 8
            *up_block(width * 4, width * 2, upsample),  # 16
            *up_block(width * 2, width, upsample),  # 32
            *upsample_conv(width, channels, upsample),  # 64
            nn.Tanh(),
        )  # fmt: skip
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image (B, channels, 64, 64) in [-1, 1] -> real/fake logit (B,).

    norm="batch" is the paper's discriminator; "spectral" puts spectral normalisation on every
    convolution instead of batch norm (SN-GAN, Miyato et al. 2018). minibatch_std appends the
    batch's feature deviation as one more 4x4 channel before the last convolution (Karras et al.
    2018), against a generator that drops a mode (here: faces with glasses)."""

    def __init__(self, width: int = 32, channels: int = 3, norm: str = "batch", minibatch_std: bool = False) -> None:
        super().__init__()
        last = nn.Conv2d(width * 8 + int(minibatch_std), 1, 4, 1, 0)
        self.net = nn.Sequential(
            *down_block(channels, width, norm="spectral" if norm == "spectral" else False),  # 32
            *down_block(width, width * 2, norm),  # 16
            *down_block(width * 2, width * 4, norm),  # 8
            *down_block(width * 4, width * 8, norm),  # 4
            *([MinibatchStd()] if minibatch_std else []),
            nn.utils.spectral_norm(last) if norm == "spectral" else last,
        )
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class ACGANGenerator(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=[*HUB_TAGS, "ac-gan"]):
    """(z (B, z_dim), labels (B,) int) -> image (B, channels, 32, 32) in [-1, 1].

    conditioning="multiply": z is gated by a learned class embedding (z * e_y, N(0, 1)-initialised
    so classes differ from the first step); "concat": [z, e_y] with e_y of size embed_dim. On
    Fashion-MNIST here, "concat" collapsed to one image per class within 2,200 steps while
    "multiply" kept diverse samples (see the AC-GAN model card), so "multiply" is the default."""

    def __init__(self, z_dim: int = 100, num_classes: int = 10, width: int = 64, channels: int = 1,
                 conditioning: str = "multiply", embed_dim: int = 50) -> None:  # fmt: skip
        super().__init__()
        if conditioning not in ("multiply", "concat"):
            raise ValueError(f"conditioning must be 'multiply' or 'concat', got {conditioning!r}")
        self.z_dim, self.num_classes, self.conditioning = z_dim, num_classes, conditioning
        self.embed = nn.Embedding(num_classes, z_dim if conditioning == "multiply" else embed_dim)
        cin = z_dim if conditioning == "multiply" else z_dim + embed_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cin, width * 4, 4, 1, 0, bias=False),  # 4
            nn.BatchNorm2d(width * 4), nn.ReLU(True),
            *up_block(width * 4, width * 2),  # 8
            *up_block(width * 2, width),  # 16
            nn.ConvTranspose2d(width, channels, 4, 2, 1),  # 32
            nn.Tanh(),
        )  # fmt: skip
        dcgan_init(self)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)  # as strong as z from the first step

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        e = self.embed(labels)
        h = z * e if self.conditioning == "multiply" else torch.cat([z, e], dim=1)
        return self.net(h[:, :, None, None])


class ACGANDiscriminator(nn.Module):
    """image (B, channels, 32, 32) -> (real/fake logit (B,), class logits (B, num_classes)).

    norm: "batch" (DCGAN-style, as in the AC-GAN paper) or "spectral" (SN on the convolutions)."""

    def __init__(self, num_classes: int = 10, width: int = 64, channels: int = 1, norm: str = "batch") -> None:
        super().__init__()
        self.features = nn.Sequential(
            *down_block(channels, width, norm="spectral" if norm == "spectral" else False),  # 16
            *down_block(width, width * 2, norm),  # 8
            *down_block(width * 2, width * 4, norm),  # 4
            nn.Dropout(0.25),
            nn.Flatten(),
        )
        self.adversarial = nn.Linear(width * 4 * 16, 1)
        self.auxiliary = nn.Linear(width * 4 * 16, num_classes)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.adversarial(h).flatten(), self.auxiliary(h)


# ---------------------------------------------------------------- inference helpers


def check_seed(seed) -> int:
    """A seed from the UI/API as an int in [0, 2^31 - 1]; anything else raises ValueError."""
    if seed is None or isinstance(seed, bool):
        raise ValueError("seed must be a whole number")
    try:
        value = float(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seed must be a whole number, got {seed!r}") from None
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return int(value)


def sample_z(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """(n, z_dim) standard normal latents, reproducible from the seed on any machine."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(int(seed)))


@torch.inference_mode()
def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None) -> np.ndarray:
    """Images (n, H, W, 3) uint8 from latents (grey outputs are repeated to RGB)."""
    generator.eval()
    x = generator(z) if labels is None else generator(z, labels)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)  # grey as RGB (before converting: the array layout the judges were measured on)
    return from_signed_tensor(x)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents (White 2016): stays at the typical radius of N(0, I)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def interpolation_latents(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """(steps, z_dim) latents from z0 to z1 along the great circle."""
    return torch.cat([slerp(z0[None], z1[None], float(t)) for t in np.linspace(0.0, 1.0, steps)])


def vector_arithmetic(z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor) -> torch.Tensor:
    """The DCGAN paper's arithmetic on concept means: mean(A) - mean(B) + mean(C).

    z_a, z_b, z_c: (k, z_dim) exemplar latents of each concept (the paper averages three).
    """
    return z_a.mean(0) - z_b.mean(0) + z_c.mean(0)


def load_directions(checkpoint_dir: Path) -> dict[str, torch.Tensor]:
    """Attribute directions in z saved next to a DCGAN checkpoint ({} when absent)."""
    path = Path(checkpoint_dir) / DIRECTIONS_FILE
    if not path.exists():
        return {}
    from safetensors.torch import load_file

    return load_file(path)
