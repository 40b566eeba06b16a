"""Classical resampling used as the super-resolution baseline and to make LR inputs.

One resampler everywhere: PIL's bicubic (Keys a = -0.5, antialiased when shrinking, close to
MATLAB's imresize), for downscaling ground truth and for the bicubic baseline.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_bicubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> (height, width, 3) uint8 with PIL bicubic."""
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))


def downscale_x4(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H // 4, W // 4, 3); H and W are first cropped to multiples of 4."""
    h, w = (image.shape[0] // 4) * 4, (image.shape[1] // 4) * 4
    if h == 0 or w == 0:
        raise ValueError(f"image too small to downscale by 4: {image.shape[1]}x{image.shape[0]}")
    return resize_bicubic(image[:h, :w], w // 4, h // 4)


def upscale_bicubic_x4(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (4H, 4W, 3) uint8 bicubic interpolation."""
    return resize_bicubic(image, image.shape[1] * 4, image.shape[0] * 4)


def crop_to_multiple(image: np.ndarray, multiple: int = 4) -> np.ndarray:
    h, w = (image.shape[0] // multiple) * multiple, (image.shape[1] // multiple) * multiple
    return image[:h, :w]
