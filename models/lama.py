"""LaMa (Suvorov et al. 2022, "Resolution-robust large mask inpainting with Fourier convolutions"):
the big-lama generator, inference only.

The network is spandrel's port (MIT, pinned in requirements.txt) of advimman/lama's
FFCResNetGenerator (saicinpainting/training/modules/ffc.py), which keeps upstream's module names; it
sits here under the attribute `generator`, so this module's state dict has exactly the keys of the
generator part of upstream's training checkpoints: generator.model.<i>.ffc.convl2l.weight, ...
(989 tensors, 51.1 M values at full size). The catalog's key mapping also accepts a generator-only
file (keys model.<i>...).

Input: image (B, 3, H, W) in [0, 1], mask (B, 1, H, W) with 1 = missing; H and W multiples of 8.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class LaMaInpainter(nn.Module):
    def __init__(self, ngf: int = 64, n_blocks: int = 18) -> None:
        super().__init__()
        from spandrel.architectures.LaMa.__arch.LaMa import FFCResNetGenerator

        # big-lama: 4 input channels (masked RGB + mask), 3 downsamplings, 18 FFC residual blocks
        # with 75 % of the channels in the spectral (global) branch, sigmoid output
        self.generator = FFCResNetGenerator(4, 3, ngf=ngf, n_blocks=n_blocks)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1], (B, 1, H, W) in {0, 1} -> (B, 3, H, W) in [0, 1]; known pixels kept."""
        masked = image * (1 - mask)
        predicted = self.generator(masked, mask)
        return mask * predicted + (1 - mask) * image


@torch.inference_mode()
def inpaint_lama(model: LaMaInpainter, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill bool `mask` (H, W), True = missing, in RGB uint8 `image` (H, W, 3); padded (reflect)
    to a multiple of 8 and cropped back. Deterministic: LaMa has no noise input."""
    h, w = mask.shape
    x = torch.tensor(image).permute(2, 0, 1).float().div(255)[None]
    m = torch.tensor(mask, dtype=torch.float32)[None, None]
    ph, pw = -h % 8, -w % 8
    if ph or pw:
        mode = "reflect" if h > ph and w > pw else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
        m = F.pad(m, (0, pw, 0, ph), mode="constant", value=0)
    out = model(x, m)[0, :, :h, :w]
    filled = out.permute(1, 2, 0).clamp(0, 1).mul(255).round().to(torch.uint8).numpy()
    return np.where(mask[..., None], filled, image)
