"""A parameter-free object detector for the text-to-image scenes (data/text_scenes.py).

Each pixel takes the nearest of the six object colours when it is saturated and close enough to
it (the sky, the ground and the shadows are nearly grey); connected components of one colour are
objects (scenes never let two objects of one colour touch). The shape comes from how much of its
bounding box a component fills (cube ~1, ball ~pi/4, cone ~1/2) and where its widest row is.

The same detector reads real renders and generated images, so its accuracy on real renders
(reported by the benchmark) is the ceiling for every probe built on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from data.text_scenes import COLOURS, SIZE

PALETTE_NAMES = tuple(COLOURS)
PALETTE = np.array([COLOURS[c] for c in PALETTE_NAMES], np.float32)
MIN_SATURATION = 70.0  # max - min over RGB
MAX_DISTANCE = 85.0  # RGB distance to the nearest palette colour
MIN_AREA = 5  # pixels at 64 px


@dataclass(frozen=True)
class Detection:
    colour: str
    shape: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    area: int

    @property
    def base_y(self) -> int:
        return self.box[3]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def colour_map(image: np.ndarray) -> np.ndarray:
    """(H, W) palette index per pixel, -1 where no object colour is."""
    rgb = image[..., :3].astype(np.float32)
    sat = rgb.max(-1) - rgb.min(-1)
    dist = np.linalg.norm(rgb[..., None, :] - PALETTE, axis=-1)
    nearest = dist.argmin(-1)
    ok = (sat > MIN_SATURATION) & (dist.min(-1) < MAX_DISTANCE)
    return np.where(ok, nearest, -1)


def _shape(mask: np.ndarray) -> str:
    h, w = mask.shape
    fill = mask.sum() / float(h * w)
    rows = mask.sum(1)
    if fill > 0.86:
        return "cube"
    # a cone is widest at its base row; a ball is widest in the middle
    widest = float(np.argmax(rows[::-1])) / max(h - 1, 1)  # 0 = bottom row
    if fill < 0.64 and widest < 0.3:
        return "cone"
    return "ball"


def detect(image: np.ndarray) -> list[Detection]:
    """The objects in one (H, W, 3) uint8 image, resized to 64 px first when it is not."""
    if image.shape[0] != SIZE or image.shape[1] != SIZE:
        from PIL import Image

        image = np.asarray(Image.fromarray(image[..., :3]).resize((SIZE, SIZE), Image.Resampling.BICUBIC))
    cmap = colour_map(image)
    out = []
    for k, name in enumerate(PALETTE_NAMES):
        labels, n = ndimage.label(cmap == k, structure=np.ones((3, 3)))
        for i, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            mask = labels[sl] == i
            area = int(mask.sum())
            if area < MIN_AREA:
                continue
            ys, xs = sl
            out.append(Detection(name, _shape(mask), (xs.start, ys.start, xs.stop, ys.stop), area))
    return sorted(out, key=lambda d: d.box[0])
