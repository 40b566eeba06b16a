"""The gated-convolution inpainting GAN (Yu et al. 2019, "Free-Form Image Inpainting with Gated
Convolution", DeepFillv2): a coarse-to-fine generator of gated convolutions and an SN-PatchGAN
discriminator, small enough to train on a 2-core CPU (training/inpainting.py). Differences from
the paper, for that budget: the hole is pre-filled with a harmonic fill
(models/classical_inpainting.py) and both stages predict residuals to it (training starts from a
smooth fill, not from grey), the coarse stage runs at half resolution, the refinement stage has no
contextual-attention branch, and a noise channel (read only inside the hole) makes different
seeds give different fills.

Tensors: images (B, 3, H, W) in [-1, 1]; masks (B, 1, H, W) in {0, 1}, 1 = missing.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from models.classical_inpainting import harmonic_fill
from models.layers import parameter_count
from models.tensors import (
    check_image_and_mask,
    from_signed_tensor,
    to_mask_tensor,
    to_signed_tensor,
)

__all__ = ["GatedConv2d", "GatedUpConv2d", "GatedInpaintGenerator", "SNPatchDiscriminator", "complete",
           "gated_stage", "inpaint_gated", "make_noise", "parameter_count"]  # fmt: skip

HUB_TAGS = ["image-inpainting", "deepfillv2", "gated-convolution", "gan-gallery"]
FEATURE_INIT_GAIN = 2.5


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


def gated_stage(in_channels: int, c: int, dilations: tuple[int, ...]) -> nn.Sequential:
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
        self.coarse = gated_stage(in_channels, channels, dilations=(2, 4, 8))
        self.refine = gated_stage(in_channels, refine_channels, dilations=(2, 4, 8, 16))

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
    mask = check_image_and_mask(image, mask)
    x = to_signed_tensor(image[None])
    m = to_mask_tensor(mask)  # a copy: inputs may be read-only views
    x, h, w = _pad_to_multiple(x, 8)
    m, _, _ = _pad_to_multiple(m, 8)
    noise = make_noise(x.shape[-2], x.shape[-1], seed)
    out = complete(model, x, m, noise)[..., :h, :w]
    filled = from_signed_tensor(out)[0]
    return np.where(mask[..., None], filled, image)
