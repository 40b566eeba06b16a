"""SRResNet generator and SRGAN discriminator (Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network").

Parameter names follow the layout of the widely used community implementation
(Lornatang/SRGAN-PyTorch: conv1 / trunk / conv2 / upsampling / conv3), so the ImageNet checkpoints
published on the Hub load strictly into the same class as our small embedded models.

Value ranges: the generator takes RGB in [0, 1] and returns RGB in [0, 1] (clamped), 4x larger.
"""

from __future__ import annotations

import copy
import logging
import math
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.tensors import from_unit_tensor, to_unit_tensor

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


TILE, TILE_OVERLAP = 160, 16  # LR pixels; measured fastest per pixel here (eval/speed: srresnet)


def tile_layout(h: int, w: int, tile: int = TILE, overlap: int = TILE_OVERLAP) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of every LR tile upscale_x4 runs."""
    return [(t, left, th, tw) for t, th in tile_spans(h, tile, overlap)
            for left, tw in tile_spans(w, tile, overlap)]  # fmt: skip


def _weights_version(model: nn.Module) -> tuple:
    # A tensor's _version counts its in-place updates (optimizer steps, load_state_dict), so a
    # cached inference copy is rebuilt whenever the weights it was made from change.
    return tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))


_INFERENCE_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def inference_copy(model: SRResNet) -> SRResNet:
    """An eval-mode copy for fast CPU inference, cached per model (rebuilt when its weights change):
    every BatchNorm folded into the convolution before it (one pass over the activations instead
    of two) and all weights in channels_last (NHWC) layout, which oneDNN's convolutions run ~2x
    faster on this CPU. The same function as model.eval() up to float rounding (~1e-6)."""
    version = _weights_version(model)
    cached = _INFERENCE_COPIES.get(model)
    if cached is not None and cached[0] == version:
        return cached[1]
    fast = copy.deepcopy(model).eval()
    for seq in fast.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                seq[i] = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
                seq[i + 1] = nn.Identity()
    fast = fast.to(memory_format=torch.channels_last).requires_grad_(False)
    _INFERENCE_COPIES[model] = (version, fast)
    return fast


def subpixel_conv_weight(weight: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The convolution on a pixel-shuffled input, moved before the shuffle.

    conv(pixel_shuffle(z, 2), weight, padding=k // 2), with weight (O, C, k, k), k odd, equals
    pixel_shuffle(conv(z, W, padding=p), 2) with W (4O, 4C, k', k') returned here (k' = k // 2 + 1
    for k = 4n + 1, e.g. 9 -> 5), zero padding included: output channel o*4 + 2i + j is the output
    pixel (2y + i, 2x + j), input channel c*4 + 2a + b the shuffled pixel (2y + a, 2x + b). Why:
    SRResNet's last 9x9 conv from 64 channels to 3 at 4x the input size keeps oneDNN's blocks
    mostly empty (3 of 8 output lanes) and streams a 64-channel 4x tensor through memory; the same
    arithmetic at 2x, 256 -> 12 channels, runs ~2x faster and never builds that tensor."""
    out_ch, in_ch, k, k2 = weight.shape
    if k != k2 or k % 2 == 0:
        raise ValueError(f"expected a square odd kernel, got {k}x{k2}")
    r = k // 2
    lo, hi = (-r) // 2, (1 + k - 1 - r) // 2  # coarse offsets floor((phase + d - r) / 2)
    size = hi - lo + 1
    w = weight.new_zeros(out_ch, 2, 2, in_ch, 2, 2, size, size)
    for p in range(2):
        for dy in range(k):
            a, i = divmod(p + dy - r, 2)
            for q in range(2):
                for dx in range(k):
                    b, j = divmod(q + dx - r, 2)
                    w[:, p, q, :, i, j, a - lo, b - lo] = weight[:, :, dy, dx]
    return w.reshape(out_ch * 4, in_ch * 4, size, size), -lo


_POINTWISE_CONV = getattr(getattr(torch.ops, "mkldnn", None), "_convolution_pointwise", None)


class FusedSRResNet(nn.Module):
    """SRResNet for CPU inference on oneDNN's fused convolutions: the same function as
    SRResNet.eval() up to float rounding (~1e-6), 1.2-1.5x faster than the folded channels_last copy
    here (eval/speed.py times both in one run). Built by fused_inference(); never trained.

    Each convolution carries what follows it as a oneDNN post-op: PReLU with one parameter is a
    leaky ReLU with that slope (fused), a residual add is fused into the conv that precedes it, and
    the last conv runs before the last pixel shuffle (subpixel_conv_weight). These are the kernels
    torch.compile's CPU backend calls (torch.ops.mkldnn._convolution_pointwise), without a compile
    step per input size. forward: (B, 3, h, w) in [0, 1], any layout -> (B, 3, 4h, 4w) in [0, 1]."""

    def __init__(self, folded: SRResNet) -> None:
        super().__init__()
        self.upscale, self.bicubic_residual = folded.upscale, folded.bicubic_residual

        def conv(c: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor | None, int]:
            w = c.weight.detach().contiguous(memory_format=torch.channels_last)
            return w, None if c.bias is None else c.bias.detach(), c.padding[0]

        def slope(prelu: nn.PReLU) -> float:
            return float(prelu.weight.detach().reshape(()))

        self.head = (conv(folded.conv1[0]), slope(folded.conv1[1]))
        self.blocks = [(conv(b.rcb[0]), slope(b.rcb[2]), conv(b.rcb[3])) for b in folded.trunk]
        self.body = conv(folded.conv2[0])
        self.ups = [(conv(u.upsample_block[0]), slope(u.upsample_block[2])) for u in folded.upsampling]
        w, pad = subpixel_conv_weight(folded.conv3.weight.detach())
        self.tail = (w.contiguous(memory_format=torch.channels_last),
                     folded.conv3.bias.detach().repeat_interleave(4), pad)  # fmt: skip

    @staticmethod
    def eligible(model: nn.Module) -> bool:
        """SRResNet on the CPU with scalar PReLUs and a oneDNN build (else the folded copy runs)."""
        if _POINTWISE_CONV is None or not torch.backends.mkldnn.is_available() or type(model) is not SRResNet:
            return False
        prelus = [m for m in model.modules() if isinstance(m, nn.PReLU)]
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        k = model.conv3.kernel_size[0]
        return (all(p.weight.numel() == 1 for p in prelus) and k % 2 == 1 and model.conv3.padding[0] == k // 2
                and all(c.stride == (1, 1) and c.groups == 1 and c.dilation == (1, 1) for c in convs)
                and next(model.parameters()).device.type == "cpu")  # fmt: skip

    @staticmethod
    def _conv(x, conv, slope: float | None = None, add: torch.Tensor | None = None) -> torch.Tensor:
        w, b, p = conv
        if add is not None:  # conv(x) + add, in one pass
            return _POINTWISE_CONV.binary(x, add, w, b, [p, p], [1, 1], [1, 1], 1, "add", None, None, [], None)
        if slope is not None:  # leaky_relu(conv(x), slope) == prelu with one parameter
            return _POINTWISE_CONV(x, w, b, [p, p], [1, 1], [1, 1], 1, "leaky_relu", [slope], None)
        return _POINTWISE_CONV(x, w, b, [p, p], [1, 1], [1, 1], 1, "none", [], None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        head = self._conv(x, *self.head)
        t = head
        for first, s, second in self.blocks:
            t = self._conv(self._conv(t, first, s), second, add=t)
        y = self._conv(t, self.body, add=head)
        for n, (conv, s) in enumerate(self.ups):
            y = self._conv(y, conv, s)  # PReLU with one parameter commutes with the shuffle
            if n < len(self.ups) - 1:
                y = F.pixel_shuffle(y, 2)
        y = F.pixel_shuffle(self._conv(y, self.tail), 2)
        if self.bicubic_residual:
            y = y + F.interpolate(x, scale_factor=self.upscale, mode="bicubic", align_corners=False)
        return y.clamp(0.0, 1.0)


_FUSED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fused_inference(model: nn.Module) -> nn.Module:
    """The fastest CPU inference module for `model`, cached and rebuilt when its weights change:
    FusedSRResNet where eligible, else inference_copy(model). Same outputs as model.eval()."""
    folded = inference_copy(model)
    if not FusedSRResNet.eligible(model):
        return folded
    cached = _FUSED.get(model)
    if cached is not None and cached[0] is folded:
        return cached[1]
    fused = FusedSRResNet(folded)
    _FUSED[model] = (folded, fused)
    return fused


@torch.inference_mode()
def upscale_x4(
    model: SRResNet, image: np.ndarray, *, tile: int = TILE, overlap: int = TILE_OVERLAP,
    path: str = "fused",
) -> np.ndarray:
    """Super-resolve an RGB uint8 image (H, W, 3) to (4H, 4W, 3) uint8.

    Inputs larger than `tile` are processed in the fewest overlapping tiles (small tiles keep the
    activations in cache: on a CPU they run faster per pixel than one big pass), blended with
    linear ramps across the shared `overlap`, so there are no seams and memory stays bounded.
    path: "fused" (default) runs fused_inference(model), "folded" inference_copy(model) (BatchNorm
    folded, channels_last: the fast path before), "reference" the model as given; all three agree
    to float rounding (tests/test_srresnet.py), eval/speed.py times them side by side.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap})")
    scale = model.upscale
    paths = {"fused": fused_inference, "folded": inference_copy, "reference": lambda m: m}
    if path not in paths:
        raise ValueError(f"path must be one of {sorted(paths)}, got {path!r}")
    net = paths[path](model)
    layout = torch.contiguous_format if path == "reference" else torch.channels_last
    h, w = image.shape[:2]
    x = to_unit_tensor(image)  # a copy: inputs may be read-only
    out = torch.zeros(3, h * scale, w * scale)
    weight = torch.zeros(1, h * scale, w * scale)
    for top, left, th, tw in tile_layout(h, w, tile, overlap):
        sr = net(x[:, :, top : top + th, left : left + tw].contiguous(memory_format=layout))[0]
        ramp = _blend_window(th * scale, tw * scale, overlap * scale, top == 0, left == 0,
                             top + th >= h, left + tw >= w)  # fmt: skip
        oy, ox = top * scale, left * scale
        out[:, oy : oy + th * scale, ox : ox + tw * scale] += sr * ramp
        weight[:, oy : oy + th * scale, ox : ox + tw * scale] += ramp
    out = out / weight
    return from_unit_tensor(out[None])[0]


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
