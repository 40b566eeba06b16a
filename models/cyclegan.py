"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): ResNet generators, 70x70 PatchGAN discriminators, the least-squares GAN
loss, and the history pool of generated images the discriminators learn from.

Layout and parameter names follow UPIT (tmabraham/UPIT, upit/models/cyclegan.py: CycleGAN with
G_A, G_B, D_A, D_B, each an nn.Sequential), so its checkpoints on the Hub (e.g.
tmabraham/horse2zebra_cyclegan, all four networks in one pytorch_model.bin) load strictly into
`CycleGAN(n_features=64, n_blocks=9, discriminators=True)`. UPIT's convention, kept here:
G_B maps domain A to domain B, G_A maps B to A; D_A judges A, D_B judges B. In this project
A is day and B is night.

Generator (the paper's c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-3): reflection
padding, instance norm, ReLU, transposed convolutions up, tanh out. (B, 3, H, W) in [-1, 1] ->
(B, 3, H, W) in [-1, 1], H and W multiples of 4.
"""

from __future__ import annotations

import logging
import random

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.pix2pix import PatchDiscriminator, init_weights

logger = logging.getLogger(__name__)

HUB_TAGS = ["cyclegan", "image-to-image", "gan-gallery"]
CYCLE_WEIGHT = 10.0  # the paper's lambda
IDENTITY_WEIGHT = 0.5  # times CYCLE_WEIGHT, as in the paper's painting experiments and the reference code
POOL_SIZE = 50


def _conv_norm_relu(cin: int, cout: int, kernel: int, stride: int = 1, reflect: int = 0,
                    relu: bool = True) -> list[nn.Module]:  # fmt: skip
    """[reflection pad] -> conv (bias) -> instance norm -> [ReLU] (UPIT's pad_conv_norm_relu)."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(reflect)] if reflect else []
    layers += [nn.Conv2d(cin, cout, kernel, stride, padding=0 if reflect else kernel // 2),
               nn.InstanceNorm2d(cout)]  # fmt: skip
    return layers + [nn.ReLU(True)] if relu else layers


class ResnetBlock(nn.Module):
    """x + (pad-conv3x3-norm-ReLU-pad-conv3x3-norm)(x); the weights sit in `conv_block`."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(*_conv_norm_relu(dim, dim, 3, reflect=1),
                                        *_conv_norm_relu(dim, dim, 3, reflect=1, relu=False))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Sequential):
    """(B, channels, H, W) in [-1, 1] -> (B, channels, H, W) in [-1, 1]; H, W multiples of 4.

    n_features=64, n_blocks=9 is the paper's 256x256 network (11.4 M parameters).
    """

    def __init__(self, channels: int = 3, n_features: int = 64, n_blocks: int = 9) -> None:
        f = n_features
        layers = _conv_norm_relu(channels, f, 7, reflect=3)
        for _ in range(2):
            layers += _conv_norm_relu(f, 2 * f, 3, stride=2)
            f *= 2
        layers += [ResnetBlock(f) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(f, f // 2, 3, 2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(f // 2), nn.ReLU(True)]  # fmt: skip
            f //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(f, channels, 7), nn.Tanh()]
        super().__init__(*layers)
        init_weights(self)

    multiple = 4  # input sides must be multiples of this


class CycleGAN(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """The two generators (and, for training checkpoints in UPIT's layout, the two
    discriminators): G_B: A -> B (day -> night), G_A: B -> A (night -> day).

    The embedded checkpoint leaves the discriminators out (discriminators=False): inference
    needs only the generators, and the file stays small. image_size: the resolution it was
    trained at, which the tab and the benchmark use.
    """

    def __init__(self, channels: int = 3, n_features: int = 64, n_blocks: int = 9, disc_layers: int = 3,
                 discriminators: bool = False, image_size: int = 256) -> None:  # fmt: skip
        super().__init__()
        self.image_size = image_size
        if discriminators:
            self.D_A = PatchDiscriminator(channels, n_features, disc_layers)
            self.D_B = PatchDiscriminator(channels, n_features, disc_layers)
        self.G_A = ResnetGenerator(channels, n_features, n_blocks)
        self.G_B = ResnetGenerator(channels, n_features, n_blocks)

    def generator(self, direction: str) -> ResnetGenerator:
        """direction: "a2b" / "day2night" (G_B) or "b2a" / "night2day" (G_A)."""
        if direction in ("a2b", "day2night"):
            return self.G_B
        if direction in ("b2a", "night2day"):
            return self.G_A
        raise ValueError(f"unknown direction {direction!r}")

    def forward(self, x: torch.Tensor, direction: str = "day2night") -> torch.Tensor:
        return self.generator(direction)(x)


class ImagePool:
    """History of generated images (Shrivastava et al. 2017), as in the CycleGAN paper: the
    discriminator sees a batch in which each image is, with probability 1/2 once the pool is full,
    an older generated image (which the new one replaces in the pool), else the new one. This
    keeps the discriminator from chasing the generator's latest mode.

    query: (B, C, H, W) -> (B, C, H, W), detached. size 0 disables the pool.
    """

    def __init__(self, size: int = POOL_SIZE, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:  # fill the pool first, returning the new image
                self.images.append(image.clone())
                out.append(image)
            elif self.rng.random() < 0.5:  # swap: return an old image, keep the new one
                i = self.rng.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)


def lsgan_loss(scores: torch.Tensor, target: float) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017), the CycleGAN paper's choice: mean (D(x) - t)^2."""
    return torch.mean((scores - target) ** 2)
