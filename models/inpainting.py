"""Inpainting: fill the masked part of a photo.

Methods:
- OpenCV Telea (Telea 2004, fast marching) and Navier-Stokes (Bertalmio et al. 2001): cv2.inpaint.
- A gated-convolution coarse-to-fine GAN generator (Yu et al. 2019, "Free-Form Image Inpainting
  with Gated Convolution", DeepFillv2) with an SN-PatchGAN discriminator, small enough to train
  on a 2-core CPU (training/inpainting.py). Differences from the paper, for that budget: the
  hole is pre-filled with a harmonic fill and both stages predict residuals to it (training
  starts from a smooth fill, not from grey), the coarse stage runs at half resolution, the
  refinement stage has no contextual-attention branch, and a noise channel (read only inside
  the hole) makes different seeds give different fills.
- A harmonic (multigrid Laplace) fill, parameter-free: the GAN's starting point, shown on its own
  so the network's contribution can be measured.
- Deep Image Prior (Ulyanov et al. 2018): a randomly initialised U-Net with skips fitted to the
  known pixels of this one image; its structure fills the hole. No training data at all.

Conventions: images are RGB uint8 (H, W, 3); masks are bool (H, W), True = missing (to fill).
Network tensors are (B, 3, H, W) in [-1, 1] for the GAN, [0, 1] for Deep Image Prior; mask
tensors (B, 1, H, W) in {0, 1}, 1 = missing.

Large photos are never pushed through a network whole: `inpaint` crops a box around the mask
(with context), scales it to the method's working resolution, fills it, scales the fill back and
pastes only the masked pixels into the full-resolution photo.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from models.tensors import to_signed_tensor

logger = logging.getLogger(__name__)

HUB_TAGS = ["image-inpainting", "deepfillv2", "gated-convolution", "gan-gallery"]

TELEA, NAVIER_STOKES, HARMONIC, DIP = "telea", "navier-stokes", "harmonic", "deep-image-prior"
CLASSICAL_TITLES = {TELEA: "Telea (OpenCV)", NAVIER_STOKES: "Navier-Stokes (OpenCV)",
                    HARMONIC: "Harmonic fill (the GAN's starting point)",
                    DIP: "Deep Image Prior"}  # fmt: skip
GATED = "inpainting-gated"  # the catalog name of the embedded learned model
OPENCV_RADIUS = 3  # cv2.inpaint's neighbourhood radius (OpenCV's own examples use 3)
# Longest side (px) of the box around the mask that each method works on; larger boxes are
# scaled down to it and the fill scaled back up. The learned model is run at 256 px (trained on
# 128 px crops; fully convolutional), Deep Image Prior at 128 px (it trains a network per image:
# cost grows with pixels times iterations, ~5-8 s per 100 iterations at 128 px on 2 CPU cores).
WORK_SIDE = {TELEA: 1024, NAVIER_STOKES: 1024, HARMONIC: 1024, DIP: 128}
LEARNED_WORK_SIDE = 256
DIP_ITERATIONS = 300
FEATURE_INIT_GAIN = 2.5


# --- gated-convolution generator and SN-PatchGAN discriminator ---------------------------------


class GatedConv2d(nn.Module):
    """Gated convolution: one conv gives features and a soft gate per channel and position,
    out = ELU(features) * sigmoid(gate). The gate learns which inputs are valid (unlike a partial
    convolution's hand-written mask update), so free-form holes and user guidance need no rules.

    (B, in_channels, H, W) -> (B, out_channels, H / stride, W / stride); 'same' padding.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, dilation: int = 1, activation: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.activation = activation
        self.conv = nn.Conv2d(in_channels, 2 * out_channels, kernel_size, stride,
                              padding=dilation * (kernel_size - 1) // 2, dilation=dilation)  # fmt: skip
        # With PyTorch's default init, ELU(f) * sigmoid(g) shrinks activations ~3x per layer: after
        # a dozen layers the output no longer depends on the input (or the noise) and training
        # starts from nothing. These scales keep the activations' spread through the whole stage
        # (measured on random inputs: std stays ~0.3-0.5 across all 16 layers).
        fan_in = in_channels * kernel_size * kernel_size
        with torch.no_grad():
            self.conv.weight[:out_channels].normal_(0.0, FEATURE_INIT_GAIN / math.sqrt(fan_in))
            self.conv.weight[out_channels:].normal_(0.0, 1.0 / math.sqrt(fan_in))
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gate = self.conv(x).chunk(2, dim=1)
        if self.activation:
            features = F.elu(features)
        return features * torch.sigmoid(gate)


class GatedUpConv2d(GatedConv2d):
    """Nearest-neighbour x2 upsampling, then a gated 3x3 convolution (DeepFillv2's gen_deconv)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.interpolate(x, scale_factor=2, mode="nearest"))


def _gated_stage(in_channels: int, c: int, dilations: tuple[int, ...]) -> nn.Sequential:
    """Encoder (x1/4) - dilated gated convs - decoder, as each DeepFillv2 stage. Outputs an RGB
    residual (added to the stage's input image); its last convolution starts at zero."""
    layers: list[nn.Module] = [
        GatedConv2d(in_channels, c, 5),
        GatedConv2d(c, 2 * c, 3, stride=2),
        GatedConv2d(2 * c, 2 * c, 3),
        GatedConv2d(2 * c, 4 * c, 3, stride=2),
        GatedConv2d(4 * c, 4 * c, 3),
    ]
    layers += [GatedConv2d(4 * c, 4 * c, 3, dilation=d) for d in dilations]
    layers += [
        GatedConv2d(4 * c, 4 * c, 3),
        GatedUpConv2d(4 * c, 2 * c, 3),
        GatedConv2d(2 * c, 2 * c, 3),
        GatedUpConv2d(2 * c, c // 2, 3),  # full resolution: the costliest layers, kept narrow
        GatedConv2d(c // 2, c // 2, 3),
        nn.Conv2d(c // 2, 3, 3, padding=1),
    ]
    nn.init.zeros_(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


def harmonic_fill(image: torch.Tensor, mask: torch.Tensor, relaxations: int = 8) -> torch.Tensor:
    """Fill the holes smoothly from their borders: a multigrid solution of Laplace's equation
    (harmonic interpolation, what diffusion-based inpainting converges to). Pull: average the
    known pixels (and their weights) 2x2 down to 1 px (the pull-push pyramid of Gortler et al.
    1996). Push: from the coarsest level up, cells with any known pixel under them keep their
    average, the others start from the bilinearly upsampled coarser solution and get
    `relaxations` Jacobi steps (each the mean of its 4 neighbours). (B, C, H, W), mask
    (B, 1, H, W) 1 = missing -> (B, C, H, W); known pixels unchanged. No parameters; ~50 ms at
    256 px. On the evaluation masks its hole L1 is about that of OpenCV Navier-Stokes."""
    known = 1 - mask
    levels = [(image * known, known)]
    while min(levels[-1][0].shape[-2:]) > 1:
        x, w = levels[-1]
        levels.append((F.avg_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(w, 2, ceil_mode=True)))
    x, w = levels[-1]
    fill = x / w.clamp_min(1e-6)
    c = image.shape[1]
    cross = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=image.dtype,
                         device=image.device).div(4).view(1, 1, 3, 3).repeat(c, 1, 1, 1)  # fmt: skip
    for x, w in reversed(levels[:-1]):
        has = (w > 0).to(image.dtype)
        value = x / w.clamp_min(1e-6)
        up = F.interpolate(fill, size=x.shape[-2:], mode="bilinear", align_corners=False)
        fill = value * has + up * (1 - has)
        for _ in range(relaxations):
            neighbours = F.conv2d(F.pad(fill, (1, 1, 1, 1), mode="replicate"), cross, groups=c)
            fill = value * has + neighbours * (1 - has)
    return image * known + fill * mask


class GatedInpaintGenerator(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """Coarse-to-fine gated-convolution inpainting generator (DeepFillv2 layout, small).

    forward(image, mask, noise) -> (coarse, refined), each (B, 3, H, W), about [-1, 1] (not
    clamped, so training keeps gradients; `complete` clamps): image (B, 3, H, W) in [-1, 1]
    (values inside the hole are ignored), mask (B, 1, H, W) in {0, 1} with 1 = missing, noise
    (B, 1, H, W) standard normal (seen only inside the hole). H and W must be multiples of 8.

    The hole is first pre-filled by harmonic_fill; the coarse stage (at half resolution, its
    output upsampled) and the refinement stage (at full resolution, on the coarse result pasted
    into the hole) each predict a residual to that fill. Untrained, the output is the harmonic
    fill itself. Unlike DeepFillv2, which starts from a grey hole, this
    starts training from a smooth fill, which matters on a CPU budget of a few thousand steps.
    Callers composite: known pixels are always taken from the input (see `complete`).
    """

    def __init__(self, channels: int = 24, refine_channels: int = 16, noise: bool = True) -> None:
        super().__init__()
        if channels % 2 or refine_channels % 2:
            raise ValueError("channels and refine_channels must be even")
        self.noise = noise
        in_channels = 5 if noise else 4  # (pre-)filled RGB, mask, noise * mask
        self.coarse = _gated_stage(in_channels, channels, dilations=(2, 4, 8))
        self.refine = _gated_stage(in_channels, refine_channels, dilations=(2, 4, 8, 16))

    def _inputs(self, image: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        parts = [image, mask]
        if self.noise:
            parts.append((noise if noise is not None else torch.zeros_like(mask)) * mask)
        return torch.cat(parts, dim=1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor,
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        h, w = image.shape[-2:]
        if h % 8 or w % 8:
            raise ValueError(f"height and width must be multiples of 8, got {h}x{w}")
        filled = harmonic_fill(image, mask)
        half, half_mask = F.avg_pool2d(filled, 2), F.max_pool2d(mask, 2)
        half_noise = None if noise is None else noise[..., ::2, ::2]
        delta = self.coarse(self._inputs(half, half_mask, half_noise))
        coarse = filled + F.interpolate(delta, size=(h, w), mode="bilinear", align_corners=False)
        merged = image * (1 - mask) + coarse * mask
        refined = merged + self.refine(self._inputs(merged, mask, noise))
        return coarse, refined


def complete(model: GatedInpaintGenerator, image: torch.Tensor, mask: torch.Tensor,
             noise: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """The refined output inside the hole, the input outside: (B, 3, H, W) in [-1, 1]."""
    _, refined = model(image, mask, noise)
    return image * (1 - mask) + refined.clamp(-1, 1) * mask


class SNPatchDiscriminator(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """SN-PatchGAN (DeepFillv2): six spectrally normalised 5x5 stride-2 convolutions with
    LeakyReLU(0.2); every value of the last feature map is a real/fake score for one patch of
    the input, trained with the hinge loss.

    forward: image (B, 3, H, W) in [-1, 1] and mask (B, 1, H, W) -> (B, N) patch scores
    (N = 4c * ceil(H/64) * ceil(W/64)).
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        c = channels
        widths = [c, 2 * c, 4 * c, 4 * c, 4 * c, 4 * c]
        layers: list[nn.Module] = []
        prev = 4
        for width in widths:
            layers += [spectral_norm(nn.Conv2d(prev, width, 5, 2, 2)), nn.LeakyReLU(0.2)]
            prev = width
        self.features = nn.Sequential(*layers[:-1])  # no activation on the scores

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.features(torch.cat([image, mask], dim=1)), 1)


# --- Deep Image Prior ----------------------------------------------------------------------------


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride, bias=False),
            nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]  # fmt: skip


class _SkipLevel(nn.Module):
    """One level of the DIP "skip" U-Net: skip branch, strided-down branch, deeper levels,
    bilinear upsampling, concatenation, then the up convolutions."""

    def __init__(self, cin: int, channels: list[int], skip: int) -> None:
        super().__init__()
        c = channels[0]
        self.skip = nn.Sequential(*_conv_bn(cin, skip, 1)) if skip else None
        self.down = nn.Sequential(*_conv_bn(cin, c, 3, stride=2), *_conv_bn(c, c, 3))
        self.deeper = _SkipLevel(c, channels[1:], skip) if len(channels) > 1 else None
        deeper_out = channels[1] if len(channels) > 1 else c
        self.up = nn.Sequential(nn.BatchNorm2d(skip + deeper_out), *_conv_bn(skip + deeper_out, c, 3),
                                *_conv_bn(c, c, 1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)
        if self.deeper is not None:
            y = self.deeper(y)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        if self.skip is not None:
            y = torch.cat([self.skip(x), y], dim=1)
        return self.up(y)


class SkipUNet(nn.Module):
    """Deep Image Prior's "skip" encoder-decoder (Ulyanov et al. 2018, supplementary): per level
    a stride-2 conv block down, a 1x1 skip, bilinear upsampling, BN, LeakyReLU, reflection
    padding; sigmoid output. The paper's inpainting net is 5 levels x 128 channels; the default
    here is smaller to run on a CPU in seconds per hundred iterations.

    forward: (B, in_channels, H, W) noise -> (B, 3, H, W) in [0, 1]; any H, W >= 2**levels.
    """

    def __init__(self, in_channels: int = 32, channels: tuple[int, ...] = (16, 32, 64, 64),
                 skip: int = 4) -> None:  # fmt: skip
        super().__init__()
        self.body = _SkipLevel(in_channels, list(channels), skip)
        self.head = nn.Conv2d(channels[0], 3, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.body(z)))


# A DIP progress callback: (iteration done, total, known-pixel loss, current fill as a callable
# returning (H, W, 3) uint8). Return False to stop early (the fill so far is returned); raise to
# abort.
DIPCallback = Callable[[int, int, float, Callable[[], np.ndarray]], bool | None]


def deep_image_prior(
    image: np.ndarray,
    mask: np.ndarray,
    iterations: int = DIP_ITERATIONS,
    seed: int = 0,
    callback: DIPCallback | None = None,
    *,
    lr: float = 0.01,
    input_channels: int = 32,
    reg_noise: float = 1 / 30,
) -> np.ndarray:
    """Fill `mask` in `image` with Deep Image Prior: fit a fresh SkipUNet, from fixed noise
    (uniform * 0.1, perturbed by N(0, reg_noise) each step, as in the paper's inpainting
    setup), to the known pixels only (MSE outside the mask, Adam). Returns (H, W, 3) uint8 with
    the known pixels unchanged. Deterministic given `seed` (on one machine and thread count).
    """
    mask = _to_bool_mask(mask)
    _check_pair(image, mask)
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode(False), torch.enable_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        net = SkipUNet(in_channels=input_channels)
        target = torch.tensor(image).permute(2, 0, 1).float().div(255.0).unsqueeze(0)
        known = torch.tensor(~mask).float()[None, None]
        h, w = mask.shape
        z = torch.rand(1, input_channels, h, w, generator=gen) * 0.1
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        out = target * known
        for i in range(iterations):
            z_i = z + torch.randn(z.shape, generator=gen) * reg_noise if reg_noise else z
            out = net(z_i)
            loss = ((out - target) ** 2 * known).sum() / (known.sum() * 3)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if callback is not None:
                current = out.detach()
                keep_going = callback(i + 1, iterations, loss.item(),
                                      lambda current=current: _composite01(target, current, known))  # fmt: skip
                if keep_going is False:
                    logger.info("Deep Image Prior stopped by its caller after %d iterations", i + 1)
                    break
        return _composite01(target, out.detach(), known)


def _composite01(target: torch.Tensor, out: torch.Tensor, known: torch.Tensor) -> np.ndarray:
    mixed = target * known + out * (1 - known)
    return mixed[0].permute(1, 2, 0).clamp(0, 1).mul(255).round().to(torch.uint8).numpy()


# --- array helpers -------------------------------------------------------------------------------


def _check_pair(image: np.ndarray, mask: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]} px but the image is "
                         f"{image.shape[1]}x{image.shape[0]} px")  # fmt: skip


def _to_bool_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a (H, W) mask, got shape {mask.shape}")
    return mask.astype(bool) if mask.dtype != np.bool_ else mask


def inpaint_telea(image: np.ndarray, mask: np.ndarray, radius: int = OPENCV_RADIUS) -> np.ndarray:
    """OpenCV's fast-marching inpainting (Telea 2004). RGB uint8 (H, W, 3), bool mask (H, W)."""
    mask = _to_bool_mask(mask)
    _check_pair(image, mask)
    return cv2.inpaint(np.ascontiguousarray(image), mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)


def inpaint_navier_stokes(image: np.ndarray, mask: np.ndarray, radius: int = OPENCV_RADIUS) -> np.ndarray:
    """OpenCV's Navier-Stokes inpainting (Bertalmio et al. 2001). Same arrays as inpaint_telea."""
    mask = _to_bool_mask(mask)
    _check_pair(image, mask)
    return cv2.inpaint(np.ascontiguousarray(image), mask.astype(np.uint8) * 255, radius, cv2.INPAINT_NS)


@torch.inference_mode()
def inpaint_harmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """harmonic_fill on RGB uint8 (H, W, 3) with a bool mask (H, W); known pixels unchanged."""
    mask = _to_bool_mask(mask)
    _check_pair(image, mask)
    x = torch.tensor(image).permute(2, 0, 1).float().unsqueeze(0)
    filled = harmonic_fill(x, torch.tensor(mask).float()[None, None])
    out = filled[0].permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy()
    return np.where(mask[..., None], out, image)


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, h, w


def make_noise(height: int, width: int, seed: int) -> torch.Tensor:
    """The generator's (1, 1, H, W) standard-normal noise input for one seed."""
    return torch.randn(1, 1, height, width, generator=torch.Generator().manual_seed(seed))


@torch.inference_mode()
def inpaint_gated(model: GatedInpaintGenerator, image: np.ndarray, mask: np.ndarray,
                  seed: int = 0) -> np.ndarray:  # fmt: skip
    """Fill `mask` with the gated-convolution generator at the image's own resolution (padded
    to a multiple of 8). Known pixels are returned unchanged. Different seeds, different fills."""
    mask = _to_bool_mask(mask)
    _check_pair(image, mask)
    x = to_signed_tensor(image[None])
    m = torch.tensor(mask).float()[None, None]  # a copy: inputs may be read-only views
    x, h, w = _pad_to_multiple(x, 8)
    m, _, _ = _pad_to_multiple(m, 8)
    noise = make_noise(x.shape[-2], x.shape[-1], seed)
    out = complete(model, x, m, noise)[..., :h, :w]
    filled = out[0].permute(1, 2, 0).add(1).mul(127.5).clamp(0, 255).round().to(torch.uint8).numpy()
    return np.where(mask[..., None], filled, image)


# --- large photos: work on a box around the mask -------------------------------------------------


@dataclass(frozen=True)
class Region:
    """The box (top, left, height, width) around a mask that a method works on, and the
    (work_height, work_width) it is scaled to (equal to the box when it is small enough)."""

    top: int
    left: int
    height: int
    width: int
    work_height: int
    work_width: int

    @property
    def scaled(self) -> bool:
        return (self.work_height, self.work_width) != (self.height, self.width)


def region_around_mask(mask: np.ndarray, work_side: int, context: float = 0.5,
                       min_context: int = 16) -> Region:  # fmt: skip
    """The mask's bounding box grown by `context` x its longer side (at least `min_context`
    px) on every side, clipped to the image; scaled so its longer side is <= work_side."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("the mask is empty")
    h, w = mask.shape
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    margin = max(min_context, round(context * max(bottom - top, right - left)))
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(h, bottom + margin), min(w, right + margin)
    bh, bw = int(bottom - top), int(right - left)
    s = min(1.0, work_side / max(bh, bw))
    return Region(int(top), int(left), bh, bw, max(8, round(bh * s)), max(8, round(bw * s)))


def to_work(region: Region, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The region's image (area-resampled) and mask at work resolution. A work pixel is missing
    if any full-resolution pixel under it is, so the fill always covers the whole hole."""
    box = (slice(region.top, region.top + region.height), slice(region.left, region.left + region.width))
    img, m = image[box], mask[box]
    if not region.scaled:
        return np.ascontiguousarray(img), m.copy()
    size = (region.work_width, region.work_height)
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    m = cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    return img, m


def from_work(region: Region, image: np.ndarray, mask: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Paste a work-resolution fill back: scaled up (bicubic) to the box, and only the masked
    pixels of the full-resolution image replaced."""
    if region.scaled:
        filled = cv2.resize(filled, (region.width, region.height), interpolation=cv2.INTER_CUBIC)
    out = image.copy()
    box = (slice(region.top, region.top + region.height), slice(region.left, region.left + region.width))
    out[box] = np.where(mask[box][..., None], filled, image[box])
    return out


# --- by name: what the tab and eval/ call ----------------------------------------------------------


@dataclass
class Inpainted:
    method: str
    title: str
    image: np.ndarray  # (H, W, 3) uint8, the full-resolution photo with the hole filled
    seconds: float
    source: str  # "classical", "per-image optimisation", "embedded" or "hub"
    seed: int | None = None
    notice: str | None = None
    work_size: tuple[int, int] = (0, 0)  # (width, height) the method actually ran at
    iterations: int | None = None  # Deep Image Prior: iterations actually run


def learned_model_names() -> list[str]:
    from models.catalog import entries_for

    return [e.name for e in entries_for("inpainting")]


def method_title(method: str) -> str:
    if method in CLASSICAL_TITLES:
        return CLASSICAL_TITLES[method]
    from models.catalog import CATALOG

    entry = CATALOG.get(method)
    return entry.title if entry else "Gated-conv GAN"


def inpaint(
    method: str,
    image: np.ndarray,
    mask: np.ndarray,
    seed: int = 0,
    *,
    model: GatedInpaintGenerator | None = None,
    iterations: int = DIP_ITERATIONS,
    callback: DIPCallback | None = None,
    work_side: int | None = None,
) -> Inpainted:
    """Fill `mask` (bool (H, W), True = missing) in `image` (RGB uint8 (H, W, 3)) with `method`:
    "telea", "navier-stokes", "harmonic", "deep-image-prior" or a catalog model name (e.g. "inpainting-gated";
    pass `model` to use one not loaded from the catalog). Only masked pixels change.

    An empty mask returns the image unchanged; a mask with no known pixel left is a ValueError.
    Raises hub.ModelUnavailable when a learned model cannot be loaded. `callback` reports Deep
    Image Prior's progress and can stop it early (see DIPCallback).
    """
    mask = _to_bool_mask(mask)
    _check_pair(image, mask)
    title, source, notice = method_title(method), "classical", None
    if not mask.any():
        return Inpainted(method, title, image.copy(), 0.0, source, seed, "the mask is empty: nothing to fill")
    if mask.all():
        raise ValueError("the mask covers the whole image: no known pixel is left to fill from")
    if method in WORK_SIDE:
        side = work_side or WORK_SIDE[method]
    else:
        side = work_side or LEARNED_WORK_SIDE
        if model is None:
            model, source, notice = _load_learned(method)
        else:
            source = "given"
    region = region_around_mask(mask, side)
    small_img, small_mask = to_work(region, image, mask)
    ran = None
    t = time.perf_counter()
    if method == TELEA:
        filled = inpaint_telea(small_img, small_mask)
    elif method == NAVIER_STOKES:
        filled = inpaint_navier_stokes(small_img, small_mask)
    elif method == HARMONIC:
        filled = inpaint_harmonic(small_img, small_mask)
    elif method == DIP:
        source, done = "per-image optimisation", [0]

        def counted(i: int, total: int, loss: float, preview: Callable[[], np.ndarray]) -> bool | None:
            done[0] = i
            if callback is None:
                return None
            return callback(i, total, loss, lambda: from_work(region, image, mask, preview()))

        filled = deep_image_prior(small_img, small_mask, iterations, seed, counted)
        ran = done[0]
    elif _is_lama(model):  # deterministic: the seed does not apply
        from models.lama import inpaint_lama

        filled = inpaint_lama(model, small_img, small_mask)
    else:
        filled = inpaint_gated(model, small_img, small_mask, seed)
    seconds = time.perf_counter() - t
    out = from_work(region, image, mask, filled)
    return Inpainted(method, title, out, seconds, source, seed, notice,
                     (region.work_width, region.work_height), ran)  # fmt: skip


def _is_lama(model: nn.Module) -> bool:
    return type(model).__name__ == "LaMaInpainter"


def _load_learned(name: str) -> tuple[GatedInpaintGenerator, str, str | None]:
    from models import hub

    try:
        loaded = hub.load(name)
    except KeyError as exc:
        raise hub.ModelUnavailable(f"{name}: not in the model catalog (models/catalog.py)") from exc
    return loaded.model, loaded.source, loaded.notice


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

