"""BigGAN-deep generator (Brock et al. 2019), inference only, for the converted DeepMind weights.

Written here; module and parameter names follow huggingface/pytorch-pretrained-BigGAN (the catalog
entry "biggan-deep-128" names the file and commit), so its pytorch_model.bin loads strictly:

  embeddings.weight                      class one-hot (1000) -> 128-d embedding, no bias
  generator.gen_z                        spectral-norm linear, (z, embedding) -> 4x4x(16 ch)
  generator.layers.<i>                   GenBlock: bn_0..3 (class-conditional, spectral-norm
                                         scale/offset linears, running_means/_vars per truncation),
                                         conv_0..3 (1x1, 3x3, 3x3, 1x1 bottleneck, spectral norm)
  generator.layers.<attention position>  SelfAttn: snconv1x1_theta/phi/g/o_conv and gamma
  generator.bn, generator.conv_to_rgb    final batch norm and spectral-norm conv (first 3 channels used)

Spectral-norm layers use torch.nn.utils.spectral_norm, whose state dict holds weight_orig, weight_u
and weight_v, as upstream's does. In eval mode it does no power iteration: sigma = u^T W v from the
stored vectors, i.e. exactly the released normalisation.

Batch norm uses statistics precomputed by DeepMind for 51 truncation values in [0, 1]; a
truncation between two grid points blends the two neighbouring rows with the same weights as
upstream (which puts weight `frac` on the lower row), so that outputs match the reference code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

BIGGAN_DEEP_128_LAYERS = [[False, 16, 16], [True, 16, 16], [False, 16, 16], [True, 16, 8], [False, 8, 8],
                          [True, 8, 4], [False, 4, 4], [True, 4, 2], [False, 2, 2], [True, 2, 1]]  # fmt: skip


def _sn(module: nn.Module, eps: float) -> nn.Module:
    return spectral_norm(module, eps=eps)


class SelfAttn(nn.Module):
    """SAGAN self-attention with 2x2 max-pooled keys and values."""

    def __init__(self, in_channels: int, eps: float = 1e-12) -> None:
        super().__init__()
        c = in_channels
        self.snconv1x1_theta = _sn(nn.Conv2d(c, c // 8, 1, bias=False), eps)
        self.snconv1x1_phi = _sn(nn.Conv2d(c, c // 8, 1, bias=False), eps)
        self.snconv1x1_g = _sn(nn.Conv2d(c, c // 2, 1, bias=False), eps)
        self.snconv1x1_o_conv = _sn(nn.Conv2d(c // 2, c, 1, bias=False), eps)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        theta = self.snconv1x1_theta(x).view(b, c // 8, h * w)
        phi = F.max_pool2d(self.snconv1x1_phi(x), 2).view(b, c // 8, h * w // 4)
        attn = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # (b, hw, hw/4)
        g = F.max_pool2d(self.snconv1x1_g(x), 2).view(b, c // 2, h * w // 4)
        out = torch.bmm(g, attn.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(out)


class BigGANBatchNorm(nn.Module):
    """Batch norm with fixed per-truncation statistics; class-conditional gain and bias when
    `condition_dim` is given (gain = 1 + scale(c), bias = offset(c))."""

    def __init__(self, num_features: int, condition_dim: int | None = None, n_stats: int = 51,
                 eps: float = 1e-4) -> None:  # fmt: skip
        super().__init__()
        self.eps = eps
        self.step = 1.0 / (n_stats - 1)
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        self.conditional = condition_dim is not None
        if self.conditional:
            self.scale = _sn(nn.Linear(condition_dim, num_features, bias=False), eps)
            self.offset = _sn(nn.Linear(condition_dim, num_features, bias=False), eps)
        else:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))

    def statistics(self, truncation: float) -> tuple[torch.Tensor, torch.Tensor]:
        frac, whole = math.modf(truncation / self.step)
        i = int(whole)
        if frac == 0.0:
            return self.running_means[i], self.running_vars[i]
        mean = self.running_means[i] * frac + self.running_means[i + 1] * (1 - frac)
        var = self.running_vars[i] * frac + self.running_vars[i + 1] * (1 - frac)
        return mean, var

    def forward(self, x: torch.Tensor, truncation: float, condition: torch.Tensor | None = None) -> torch.Tensor:
        mean, var = self.statistics(truncation)
        if not self.conditional:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, eps=self.eps)
        x = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps)
        return x * (1 + self.scale(condition))[:, :, None, None] + self.offset(condition)[:, :, None, None]


class GenBlock(nn.Module):
    """BigGAN-deep residual block: 1x1 down to in/4 channels, two 3x3, 1x1 up; the skip path drops
    half the channels when the width halves and is upsampled with the main path."""

    def __init__(self, in_size: int, out_size: int, condition_dim: int, up_sample: bool,
                 n_stats: int = 51, eps: float = 1e-4, reduction: int = 4) -> None:  # fmt: skip
        super().__init__()
        mid = in_size // reduction
        self.up_sample = up_sample
        self.drop_channels = in_size != out_size
        sizes = [(in_size, mid, 1), (mid, mid, 3), (mid, mid, 3), (mid, out_size, 1)]
        for i, (c_in, c_out, k) in enumerate(sizes):
            setattr(self, f"bn_{i}", BigGANBatchNorm(c_in, condition_dim, n_stats, eps))
            setattr(self, f"conv_{i}", _sn(nn.Conv2d(c_in, c_out, k, padding=k // 2), eps))

    def forward(self, x: torch.Tensor, condition: torch.Tensor, truncation: float) -> torch.Tensor:
        skip = x
        for i in range(4):
            x = F.relu(getattr(self, f"bn_{i}")(x, truncation, condition))
            if i == 1 and self.up_sample:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = getattr(self, f"conv_{i}")(x)
        if self.drop_channels:
            skip = skip[:, : skip.shape[1] // 2]
        if self.up_sample:
            skip = F.interpolate(skip, scale_factor=2, mode="nearest")
        return x + skip


class Generator(nn.Module):
    def __init__(self, z_dim: int, channel_width: int, layers: list, attention_layer_position: int,
                 n_stats: int, eps: float) -> None:  # fmt: skip
        super().__init__()
        ch = self.channel_width = channel_width
        condition_dim = 2 * z_dim  # (z, class embedding)
        self.gen_z = _sn(nn.Linear(condition_dim, 4 * 4 * 16 * ch), eps)
        blocks: list[nn.Module] = []
        for i, (up, c_in, c_out) in enumerate(layers):
            if i == attention_layer_position:
                blocks.append(SelfAttn(ch * c_in, eps=eps))
            blocks.append(GenBlock(ch * c_in, ch * c_out, condition_dim, bool(up), n_stats, eps))
        self.layers = nn.ModuleList(blocks)
        self.bn = BigGANBatchNorm(ch, None, n_stats, eps)
        self.conv_to_rgb = _sn(nn.Conv2d(ch, ch, 3, padding=1), eps)

    def forward(self, condition: torch.Tensor, truncation: float) -> torch.Tensor:
        # gen_z's output is laid out (4, 4, C) as in TensorFlow; reorder to (C, 4, 4)
        x = self.gen_z(condition).view(-1, 4, 4, 16 * self.channel_width).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x, condition, truncation) if isinstance(layer, GenBlock) else layer(x)
        x = self.conv_to_rgb(F.relu(self.bn(x, truncation)))
        return torch.tanh(x[:, :3])


class BigGAN(nn.Module):
    """BigGAN-deep. forward(z (B, z_dim), one-hot class (B, num_classes), truncation in (0, 1])
    -> (B, 3, output_dim, output_dim) in [-1, 1]. Constructor arguments are upstream's config.json."""

    def __init__(self, output_dim: int = 128, z_dim: int = 128, class_embed_dim: int = 128,
                 channel_width: int = 128, num_classes: int = 1000, layers: list | None = None,
                 attention_layer_position: int = 8, eps: float = 1e-4, n_stats: int = 51) -> None:  # fmt: skip
        super().__init__()
        if class_embed_dim != z_dim:
            raise ValueError("BigGAN-deep concatenates z with a class embedding of the same size")
        self.output_dim, self.z_dim, self.num_classes = output_dim, z_dim, num_classes
        self.embeddings = nn.Linear(num_classes, z_dim, bias=False)
        self.generator = Generator(z_dim, channel_width, layers or BIGGAN_DEEP_128_LAYERS,
                                   attention_layer_position, n_stats, eps)  # fmt: skip

    def forward(self, z: torch.Tensor, class_one_hot: torch.Tensor, truncation: float) -> torch.Tensor:
        if not 0 < truncation <= 1:
            raise ValueError(f"truncation must be in (0, 1], not {truncation}")
        condition = torch.cat([z, self.embeddings(class_one_hot)], dim=1)
        return self.generator(condition, truncation)


def truncated_noise(batch: int, z_dim: int, truncation: float, seed: int) -> torch.Tensor:
    """z ~ N(0, 1) truncated to [-2, 2] (resampled, not clipped), times `truncation`: the
    truncation trick as BigGAN's reference sampler does it. Deterministic given the seed."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, z_dim, generator=g)
    for _ in range(100):
        outside = z.abs() > 2
        if not outside.any():
            break
        z[outside] = torch.randn(int(outside.sum()), generator=g)
    return z * truncation


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet class names in index order (torchvision ships them; no download). Read
    from torchvision's category list (models/_meta.py, plain data) without importing torchvision,
    whose import (torch._dynamo through torchvision.ops) costs ~1.5 s of the app's start."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("torchvision")  # locates the package; does not import it
    meta = Path(spec.origin).parent / "models" / "_meta.py"
    for node in ast.parse(meta.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "_IMAGENET_CATEGORIES":
            return list(ast.literal_eval(node.value))
    raise RuntimeError(f"no _IMAGENET_CATEGORIES in {meta}")


@torch.no_grad()
def sample(model: BigGAN, class_index: int, truncation: float = 0.4, seed: int = 0, batch: int = 1) -> torch.Tensor:
    """(batch, 3, S, S) in [-1, 1] images of one class."""
    if not 0 <= class_index < model.num_classes:
        raise ValueError(f"class index must be in 0..{model.num_classes - 1}, not {class_index}")
    z = truncated_noise(batch, model.z_dim, truncation, seed)
    one_hot = torch.zeros(batch, model.num_classes)
    one_hot[:, class_index] = 1
    return model(z, one_hot, truncation)
