"""SRResNet generator and SRGAN discriminator (Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network").

Parameter names follow the layout of the widely used community implementation
(Lornatang/SRGAN-PyTorch: conv1 / trunk / conv2 / upsampling / conv3), so the ImageNet checkpoints
published on the Hub load strictly into the same class as our small embedded models.

Value ranges: the generator takes RGB in [0, 1] and returns RGB in [0, 1] (clamped), 4x larger.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

logger = logging.getLogger(__name__)

HUB_TAGS = ["super-resolution", "srgan", "gan-gallery"]


class _ResidualConvBlock(nn.Module):
    """conv3x3-BN-PReLU-conv3x3-BN with an identity skip (the paper's B residual blocks)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.rcb = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.rcb(x)


class _UpsampleBlock(nn.Module):
    """conv3x3 to 4C channels, sub-pixel shuffle x2, PReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.upsample_block = nn.Sequential(
            nn.Conv2d(channels, channels * 4, 3, 1, 1),
            nn.PixelShuffle(2),
            nn.PReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample_block(x)


class SRResNet(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """SRResNet x`upscale` generator. forward: (B, 3, h, w) in [0, 1] -> (B, 3, 4h, 4w) in [0, 1].

    The paper's network is channels=64, num_rcb=16; the embedded model is a smaller instance of
    the same architecture (see its model card).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        channels: int = 64,
        num_rcb: int = 16,
        upscale: int = 4,
        bicubic_residual: bool = False,
    ) -> None:
        super().__init__()
        if upscale not in (2, 4, 8):
            raise ValueError(f"upscale must be 2, 4 or 8, got {upscale}")
        self.upscale = upscale
        # Global residual (as in VDSR): the network adds detail to a bicubic upscale of its input
        # instead of drawing the whole image. No parameters, so the paper's checkpoints (False)
        # load unchanged.
        self.bicubic_residual = bicubic_residual
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, channels, 9, 1, 4), nn.PReLU())
        self.trunk = nn.Sequential(*[_ResidualConvBlock(channels) for _ in range(num_rcb)])
        self.conv2 = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)
        )
        self.upsampling = nn.Sequential(
            *[_UpsampleBlock(channels) for _ in range(int(math.log2(upscale)))]
        )
        self.conv3 = nn.Conv2d(channels, out_channels, 9, 1, 4)

    def forward(self, x: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        """clamp=False: the raw output (training uses it so the loss still has a gradient
        outside [0, 1]; through forward, so a DDP wrapper sees the call)."""
        out = self.forward_unclamped(x)
        return out.clamp(0.0, 1.0) if clamp else out

    def forward_unclamped(self, x: torch.Tensor) -> torch.Tensor:
        """The raw output (training uses it so the loss still has a gradient outside [0, 1])."""
        head = self.conv1(x)
        body = self.conv2(self.trunk(head))
        out = self.conv3(self.upsampling(head + body))
        if self.bicubic_residual:
            out = out + F.interpolate(x, scale_factor=self.upscale, mode="bicubic", align_corners=False)
        return out


class SRGANDiscriminator(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """The paper's VGG-style discriminator: 8 conv layers (64 -> 512 channels, stride 2 every
    other layer, BN after all but the first), LeakyReLU(0.2), then dense 1024 -> 1 logit.

    forward: (B, 3, image_size, image_size) in [0, 1] -> (B, 1) logits. The dense layer's input
    size depends on image_size (96 in the paper), which must be a multiple of 16.
    """

    def __init__(self, in_channels: int = 3, channels: int = 64, image_size: int = 96) -> None:
        super().__init__()
        if image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16, got {image_size}")
        widths = [channels, channels, 2 * channels, 2 * channels, 4 * channels, 4 * channels,
                  8 * channels, 8 * channels]  # fmt: skip
        layers: list[nn.Module] = []
        prev = in_channels
        for i, width in enumerate(widths):
            stride = 2 if i % 2 else 1
            layers.append(nn.Conv2d(prev, width, 3, stride, 1, bias=(i == 0)))
            if i:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2, True))
            prev = width
        self.features = nn.Sequential(*layers)
        side = image_size // 16
        self.classifier = nn.Sequential(
            nn.Linear(prev * side * side, 1024), nn.LeakyReLU(0.2, True), nn.Linear(1024, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def tile_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, size) of the fewest equal tiles of at most `tile` px that cover `length` with at
    least `overlap` px shared between neighbours."""
    if length <= tile:
        return [(0, length)]
    n = math.ceil((length - overlap) / (tile - overlap))
    size = min(length, math.ceil((length + (n - 1) * overlap) / n))
    starts = np.linspace(0, length - size, n).round().astype(int)
    return [(int(s), size) for s in starts]


TILE, TILE_OVERLAP = 160, 16  # LR pixels; measured fastest per pixel here (eval/superres_speed)


def tile_layout(h: int, w: int, tile: int = TILE, overlap: int = TILE_OVERLAP) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of every LR tile upscale_x4 runs."""
    return [(t, left, th, tw) for t, th in tile_spans(h, tile, overlap)
            for left, tw in tile_spans(w, tile, overlap)]  # fmt: skip


@torch.inference_mode()
def upscale_x4(
    model: SRResNet, image: np.ndarray, *, tile: int = TILE, overlap: int = TILE_OVERLAP
) -> np.ndarray:
    """Super-resolve an RGB uint8 image (H, W, 3) to (4H, 4W, 3) uint8.

    Inputs larger than `tile` are processed in the fewest overlapping tiles (small tiles keep the
    activations in cache: on a CPU they run faster per pixel than one big pass), blended with
    linear ramps across the shared `overlap`, so there are no seams and memory stays bounded.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap})")
    scale = model.upscale
    h, w = image.shape[:2]
    x = torch.tensor(image).permute(2, 0, 1).float().div(255.0).unsqueeze(0)  # a copy: inputs may be read-only
    out = torch.zeros(3, h * scale, w * scale)
    weight = torch.zeros(1, h * scale, w * scale)
    for top, left, th, tw in tile_layout(h, w, tile, overlap):
        sr = model(x[:, :, top : top + th, left : left + tw])[0]
        ramp = _blend_window(th * scale, tw * scale, overlap * scale, top == 0, left == 0,
                             top + th >= h, left + tw >= w)  # fmt: skip
        oy, ox = top * scale, left * scale
        out[:, oy : oy + th * scale, ox : ox + tw * scale] += sr * ramp
        weight[:, oy : oy + th * scale, ox : ox + tw * scale] += ramp
    out = out / weight
    return out.permute(1, 2, 0).clamp(0, 1).mul(255.0).round().to(torch.uint8).numpy()


def _blend_window(
    h: int, w: int, ramp: int, at_top: bool, at_left: bool, at_bottom: bool, at_right: bool
) -> torch.Tensor:
    """(1, h, w) weights: 1 inside, a linear ramp over `ramp` pixels at edges shared with another
    tile (never at the image border, where no other tile contributes)."""

    def profile(n: int, start_open: bool, end_open: bool) -> torch.Tensor:
        p = torch.ones(n)
        r = min(ramp, n // 2)
        if r > 0:
            up = (torch.arange(r, dtype=torch.float32) + 0.5) / r
            if not start_open:
                p[:r] = up
            if not end_open:
                p[n - r :] = up.flip(0)
        return p

    return (profile(h, at_top, at_bottom)[:, None] * profile(w, at_left, at_right)[None, :])[None]
