"""The one conversion between image arrays and the generators' tensors."""

from __future__ import annotations

import numpy as np
import torch


def to_signed_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [-1, 1]. Copies, so read-only inputs (gradio
    arrays, memory-mapped data) are fine."""
    return torch.tensor(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
