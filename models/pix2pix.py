"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks"):
a U-Net generator and the 70x70 PatchGAN discriminator.

Parameter names follow the community HugGAN implementation (huggingface/community-events,
huggan/pytorch/pix2pix/modeling_pix2pix.py, GeneratorUNet: down1..down8, up1..up7, final; each
block's layers in `.model`), so its checkpoints on the Hub (e.g. huggan/pix2pix-night2day) load
strictly into `UNetGenerator(ngf=64, depth=8)`. The same class, narrower and one level shallower,
is what this project trains on CPU. Like that implementation it uses instance norm (the paper's
batch norm with batch size 1), LeakyReLU(0.2) down / ReLU up, dropout 0.5, and a final
upsample + conv + tanh.

Value ranges: generators take RGB in [-1, 1] and return RGB in [-1, 1]; inputs must be
multiples of 2**depth on each side.
"""

from __future__ import annotations

import logging

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

logger = logging.getLogger(__name__)

HUB_TAGS = ["pix2pix", "image-to-image", "gan-gallery"]
L1_WEIGHT = 100.0  # the paper's lambda


def init_weights(module: nn.Module) -> None:
    """The pix2pix / CycleGAN papers' initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for
    affine norm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class UNetDown(nn.Module):
    """conv4x4 stride 2 (no bias) -> [instance norm] -> LeakyReLU(0.2) -> [dropout]: halves H, W."""

    def __init__(self, in_size: int, out_size: int, normalize: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_size, out_size, 4, 2, 1, bias=False)]
        if normalize:
            layers.append(nn.InstanceNorm2d(out_size))
        layers.append(nn.LeakyReLU(0.2))
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UNetUp(nn.Module):
    """transposed conv4x4 stride 2 (no bias) -> instance norm -> ReLU -> [dropout], then the skip
    connection is concatenated: (B, in, h, w), (B, skip, 2h, 2w) -> (B, out + skip, 2h, 2w)."""

    def __init__(self, in_size: int, out_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_size, out_size, 4, 2, 1, bias=False),
                                   nn.InstanceNorm2d(out_size), nn.ReLU(inplace=True)]  # fmt: skip
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.model(x), skip), 1)


class UNetGenerator(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """U-Net "U-Net-256" generator: (B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W)
    in [-1, 1], H and W multiples of 2**depth.

    Level i (1..depth) has ngf * min(2**(i-1), max_mult) channels; the innermost level has no
    norm (it is 1x1 at the training size). Dropout as in the community implementation: in the
    encoder from level 4 on and in the first depth - 4 decoder blocks. ngf=64, depth=8 is the
    paper's network (54.4 M parameters).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, depth: int = 8,
                 max_mult: int = 8, dropout: float = 0.5) -> None:  # fmt: skip
        super().__init__()
        if depth < 3:
            raise ValueError(f"depth must be at least 3, got {depth}")
        self.depth = depth
        ch = [ngf * min(2**i, max_mult) for i in range(depth)]  # ch[i]: channels of level i + 1
        for i in range(depth):
            cin = in_channels if i == 0 else ch[i - 1]
            block = UNetDown(cin, ch[i], normalize=0 < i < depth - 1, dropout=dropout if i >= 3 else 0.0)
            setattr(self, f"down{i + 1}", block)
        for j in range(1, depth):  # up1 takes the innermost features, up(depth-1) ends at level 1
            cin = ch[depth - 1] if j == 1 else 2 * ch[depth - j]
            setattr(self, f"up{j}", UNetUp(cin, ch[depth - j - 1], dropout=dropout if j <= depth - 4 else 0.0))
        self.final = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(2 * ch[0], out_channels, 4, padding=1),
            nn.Tanh(),
        )
        init_weights(self)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.multiple or x.shape[-2] % self.multiple:
            raise ValueError(f"input sides must be multiples of {self.multiple}, got {tuple(x.shape[-2:])}")
        skips = []
        for i in range(1, self.depth + 1):
            x = getattr(self, f"down{i}")(x)
            skips.append(x)
        u = skips[-1]
        for j in range(1, self.depth):
            u = getattr(self, f"up{j}")(u, skips[self.depth - j - 1])
        return self.final(u)


class PatchDiscriminator(nn.Sequential):
    """The 70x70 PatchGAN (n_layers=3): C64 s2 - C128 s2 - C256 s2 - C512 s1 - conv to 1 channel,
    kernel 4, instance norm on all but the first block, LeakyReLU(0.2).

    (B, in_channels, H, W) -> (B, 1, H/8 - 2, W/8 - 2) real/fake scores, one per 70x70 patch.
    pix2pix judges (input, output) pairs: in_channels = 6. Layer indices follow UPIT's
    `discriminator` (its CycleGAN checkpoints on the Hub hold two of these as D_A / D_B):
    convolutions at 0, 2, 5, 8, 11, all with bias.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3) -> None:
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for i in range(n_layers - 1):
            nxt = 2 * ch if i <= 3 else ch
            layers += [nn.Conv2d(ch, nxt, 4, 2, 1), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2, True)]
            ch = nxt
        nxt = 2 * ch if n_layers <= 3 else ch
        layers += [nn.Conv2d(ch, nxt, 4, 1, 1), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(nxt, 1, 4, 1, 1)]  # fmt: skip
        super().__init__(*layers)
        init_weights(self)


def receptive_field(n_layers: int = 3) -> int:
    """Receptive field in pixels of one PatchDiscriminator output (70 for n_layers=3)."""
    kernels_strides = [(4, 2)] * n_layers + [(4, 1), (4, 1)]
    field = 1
    for k, s in reversed(kernels_strides):
        field = (field - 1) * s + k
    return field


class Pix2PixPair(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """The two pix2pix generators this project trains, one per direction, in one checkpoint:
    `day_to_night` and `night_to_day`, each a UNetGenerator (pix2pix is one-directional: the
    paper trains one model per direction). image_size: the resolution they were trained at,
    which the tab and the benchmark use.
    """

    def __init__(self, ngf: int = 16, depth: int = 7, max_mult: int = 8, dropout: float = 0.5,
                 image_size: int = 128) -> None:  # fmt: skip
        super().__init__()
        self.image_size = image_size
        kw = {"ngf": ngf, "depth": depth, "max_mult": max_mult, "dropout": dropout}
        self.day_to_night = UNetGenerator(**kw)
        self.night_to_day = UNetGenerator(**kw)

    def generator(self, direction: str) -> UNetGenerator:
        """direction: "day2night" or "night2day"."""
        return {"day2night": self.day_to_night, "night2day": self.night_to_day}[direction]

    def forward(self, x: torch.Tensor, direction: str = "day2night") -> torch.Tensor:
        return self.generator(direction)(x)
