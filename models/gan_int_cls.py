"""GAN-INT-CLS (Reed et al. 2016, "Generative Adversarial Text to Image Synthesis"), 64x64.

Generator: the text embedding phi(t) is compressed by a fully connected layer with leaky ReLU to
`compressed` dimensions and concatenated with z ~ N(0, I); transposed convolutions (DCGAN layout,
batch norm, ReLU, tanh output) go from 4x4 to 64x64.

Discriminator: strided convolutions (leaky ReLU; spectral norm instead of the paper's batch norm,
see the class) down to 4x4; the compressed text embedding is replicated over the 4x4 grid and
concatenated depth-wise, then a 1x1 convolution and a 4x4 convolution give one logit. Trained
matching-aware (GAN-CLS): see training/gan_int_cls.py.

Style encoder S(x): a convolutional network regressing the z that generated an image, so that
G(S(x), phi(t2)) renders image x's style (background, placement) with another caption.

`GanIntCls` bundles the generator and the style encoder as the shipped checkpoint; the
discriminator is only needed for training and is not saved. `text_encoder` in its config names
the catalog entry (or directory / Hub id) of the text encoder whose embeddings it was trained on.
"""

from __future__ import annotations

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.dcgan import MAX_SEED
from models.layers import MinibatchStd, dcgan_init, down_block, up_block
from models.tensors import from_signed_tensor

HUB_TAGS = ["gan-int-cls", "text-to-image", "gan-gallery"]


class TextCompressor(nn.Module):
    """phi(t) (B, text_dim) -> (B, compressed): Reed et al.'s FC + leaky ReLU."""

    def __init__(self, text_dim: int, compressed: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(text_dim, compressed), nn.LeakyReLU(0.2, True))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.net(t)


class TextConditionedGenerator(nn.Module):
    """(z (B, z_dim), phi(t) (B, text_dim)) -> image (B, 3, 64, 64) in [-1, 1]."""

    def __init__(self, z_dim: int = 100, text_dim: int = 128, compressed: int = 128, width: int = 32) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.text = TextCompressor(text_dim, compressed)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim + compressed, width * 8, 4, 1, 0, bias=False),  # 1 -> 4
            nn.BatchNorm2d(width * 8), nn.ReLU(True),
            *up_block(width * 8, width * 4),  # 8
            *up_block(width * 4, width * 2),  # 16
            *up_block(width * 2, width),  # 32
            nn.ConvTranspose2d(width, 3, 4, 2, 1),  # 64
            nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, self.text(text)], 1)
        return self.net(h.view(h.shape[0], -1, 1, 1))


def _sn_down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.utils.spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, True)]


class MatchingAwareDiscriminator(nn.Module):
    """(image (B, 3, 64, 64), phi(t) (B, text_dim)) -> logit (B,): real *and* matching the text?

    Reed et al.'s layout (convolutions to 4x4, the compressed text replicated there and joined
    depth-wise, a 1x1 then a 4x4 convolution), with spectral normalisation (Miyato et al. 2018)
    instead of batch norm and a minibatch-deviation channel: with batch norm the discriminator won
    from the first steps here and the generator collapsed to one image per caption.

    `aux_outputs` > 0 adds an auxiliary classifier on the image features alone (before the text
    joins them): a linear layer giving that many logits, the scene-attribute head of TAC-GAN (Dash
    et al. 2017, AC-GAN's auxiliary classifier (Odena et al. 2017) for text conditioning); see
    training/gan_int_cls.py for what it predicts."""

    def __init__(self, text_dim: int = 128, compressed: int = 128, width: int = 32, aux_outputs: int = 0) -> None:
        super().__init__()
        self.text = TextCompressor(text_dim, compressed)
        self.features = nn.Sequential(
            *_sn_down(3, width), *_sn_down(width, width * 2), *_sn_down(width * 2, width * 4),
            *_sn_down(width * 4, width * 8), MinibatchStd(),
        )  # 64 -> 4  # fmt: skip
        self.joint = nn.Sequential(
            nn.utils.spectral_norm(nn.Conv2d(width * 8 + 1 + compressed, width * 8, 1)), nn.LeakyReLU(0.2, True),
            nn.utils.spectral_norm(nn.Conv2d(width * 8, 1, 4)),
        )  # fmt: skip

        self.aux = nn.utils.spectral_norm(nn.Linear((width * 8 + 1) * 16, aux_outputs)) if aux_outputs else None

    def judge(self, f: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Image features (from `features`) and phi(t) -> logit (B,)."""
        t = self.text(text)[:, :, None, None].expand(-1, -1, f.shape[2], f.shape[3])
        return self.joint(torch.cat([f, t], 1)).flatten()

    def forward(self, image: torch.Tensor, text: torch.Tensor, wrong: torch.Tensor | None = None,
                classify: bool = False):  # fmt: skip
        """The logit (B,) for (image, text); with `wrong` also the logit for (image, wrong) from the
        same feature pass, and with `classify` the auxiliary head's logits (B, aux_outputs) last,
        as a tuple. All through forward, so a distributed wrapper sees every use."""
        f = self.features(image)
        out = [self.judge(f, text)]
        if wrong is not None:
            out.append(self.judge(f, wrong))
        if classify:
            if self.aux is None:
                raise ValueError("this discriminator has no auxiliary classifier (aux_outputs=0)")
            out.append(self.aux(f.flatten(1)))
        return out[0] if len(out) == 1 else tuple(out)


class StyleEncoder(nn.Module):
    """S(x): image (B, 3, 64, 64) -> z (B, z_dim)."""

    def __init__(self, z_dim: int = 100, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *down_block(3, width, norm=False), *down_block(width, width * 2), *down_block(width * 2, width * 4),
            *down_block(width * 4, width * 4), nn.Flatten(), nn.Linear(width * 4 * 16, z_dim),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class GanIntCls(nn.Module, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """The shipped text-to-image model: generator + style encoder (+ the text encoder's name)."""

    def __init__(self, z_dim: int = 100, text_dim: int = 128, compressed: int = 128, width: int = 32,
                 style_width: int = 32, text_encoder: str = "scene-clip") -> None:  # fmt: skip
        super().__init__()
        self.z_dim, self.text_dim, self.text_encoder = z_dim, text_dim, text_encoder
        self.generator = TextConditionedGenerator(z_dim, text_dim, compressed, width)
        self.style = StyleEncoder(z_dim, style_width)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.generator(z, text)


def seeded_z(seeds: list[int], z_dim: int) -> torch.Tensor:
    """One z per seed, each drawn from its own generator: sample k of seed s is the same in every
    grid, whatever else is asked for."""
    for s in seeds:
        if not 0 <= int(s) <= MAX_SEED:
            raise ValueError(f"seed {s} is outside 0..{MAX_SEED}")
    return torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


@torch.inference_mode()
def render(model: GanIntCls, z: torch.Tensor, text: torch.Tensor) -> np.ndarray:
    """(B, z_dim) and (B or 1, text_dim) -> (B, 64, 64, 3) uint8."""
    if text.shape[0] == 1 and z.shape[0] > 1:
        text = text.expand(z.shape[0], -1)
    x = model.eval()(z, text)
    return from_signed_tensor(x)


def lerp_embeddings(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """GAN-INT's interpolation beta*a + (1-beta)*b for beta from 1 to 0, (steps, text_dim)."""
    beta = torch.linspace(1.0, 0.0, steps)[:, None]
    return beta * a.reshape(1, -1) + (1 - beta) * b.reshape(1, -1)
