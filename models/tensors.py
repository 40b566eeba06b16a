"""The one conversion between image arrays and the networks' tensors, both ways, and the checks
on the (image, mask) pairs the inpainting methods take.

Three value ranges are in use: [-1, 1] (the GANs: tanh outputs), [0, 1] (SRResNet, Deep Image
Prior: sigmoid-like outputs) and 0..255 floats (the harmonic fill, which works on pixel values).
Every inverse clamps, rounds to nearest and casts to uint8.
"""

from __future__ import annotations

import numpy as np
import torch


def to_signed_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [-1, 1]. Copies, so read-only inputs (gradio
    arrays, memory-mapped data) are fine."""
    return torch.tensor(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def from_signed_tensor(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float in [-1, 1] (clamped), on any device -> (N, H, W, C) uint8."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def to_unit_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [0, 1] (a copy); one (H, W, C) image ->
    (1, C, H, W), laid out as a (C, H, W) image with a batch axis added (not channels_last: the
    layout the committed SR results were measured with; convolutions pick their kernels by it)."""
    if np.ndim(images) == 3:
        return torch.tensor(images).permute(2, 0, 1).float().div(255.0).unsqueeze(0)
    return torch.tensor(images).permute(0, 3, 1, 2).float().div(255.0)


def from_unit_tensor(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] (clamped) -> (N, H, W, C) uint8."""
    return x.clamp(0, 1).mul(255.0).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def to_pixel_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [0, 255] (a copy); one (H, W, C) image ->
    (1, C, H, W) laid out as in to_unit_tensor."""
    if np.ndim(images) == 3:
        return torch.tensor(images).permute(2, 0, 1).float().unsqueeze(0)
    return torch.tensor(images).permute(0, 3, 1, 2).float()


def from_pixel_tensor(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float in [0, 255] (clamped) -> (N, H, W, C) uint8."""
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def to_mask_tensor(mask: np.ndarray) -> torch.Tensor:
    """bool (H, W), True = missing -> (1, 1, H, W) float32 in {0, 1} (a copy)."""
    return torch.tensor(mask).float()[None, None]


def as_bool_mask(mask: np.ndarray) -> np.ndarray:
    """A (H, W) mask as bool (nonzero = missing); any other shape is a ValueError."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a (H, W) mask, got shape {mask.shape}")
    return mask.astype(bool) if mask.dtype != np.bool_ else mask


def check_image_and_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Validate an RGB uint8 (H, W, 3) image and its (H, W) mask; returns the mask as bool."""
    mask = as_bool_mask(mask)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]} px but the image is "
                         f"{image.shape[1]}x{image.shape[0]} px")  # fmt: skip
    return mask
