"""Real photos for training and evaluation, and a random patch sampler over them.

Training photos come from Debian packages (mate-backgrounds, plasma-workspace-wallpapers,
opencv-doc) or any folder given with `--data DIR`. The held-out evaluation photos are the colour
samples bundled with scikit-image and scikit-learn; training never reads them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}

# Real photographs among the files those Debian packages install (the rest are drawings,
# logos, calibration targets or abstract art). Each plasma wallpaper ships several sizes of the
# same picture; the loader keeps one.
_MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
_PLASMA = Path("/usr/share/wallpapers")
_PLASMA_PHOTOS = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
                  "FallenLeaf", "Grey", "Kite", "OneStandsOut", "Path", "Volna", "summer_1am"]  # fmt: skip
_OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
_OPENCV_PHOTOS = ["aero1.jpg", "aero3.jpg", "apple.jpg", "baboon.jpg", "basketball1.png",
                  "building.jpg", "butterfly.jpg", "fruits.jpg", "HappyFish.jpg", "home.jpg",
                  "leuvenA.jpg", "messi5.jpg", "orange.jpg", "squirrel_cls.jpg", "board.jpg",
                  "graf1.png", "stuff.jpg", "aloeL.jpg", "rubberwhale1.png",
                  # second views of real scenes above (another viewpoint, time or exposure)
                  "basketball2.png", "leuvenB.jpg", "graf3.png", "aloeR.jpg", "rubberwhale2.png",
                  "chicky_512.png", "ela_original.jpg"]  # fmt: skip

EVAL_PHOTO_NAMES = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                    "immunohistochemistry", "retina", "motorcycle", "china", "flower"]  # fmt: skip


def debian_photo_paths() -> list[Path]:
    """The real photos installed by the Debian packages (empty where they are not installed)."""
    paths = sorted(p for p in _MATE_NATURE.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    for name in _PLASMA_PHOTOS:
        sizes = sorted((_PLASMA / name / "contents" / "images").glob("*.*"))
        if sizes:
            # Prefer the version closest to 1920 px wide: enough detail, cheap to decode.
            paths.append(min(sizes, key=lambda p: abs(_width_from_name(p) - 1920)))
    paths += [_OPENCV_DATA / n for n in _OPENCV_PHOTOS if (_OPENCV_DATA / n).exists()]
    return paths


def _width_from_name(path: Path) -> int:
    try:
        return int(path.stem.split("x")[0])
    except ValueError:
        return 10**6


def folder_photo_paths(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def load_photo(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """Read a photo as RGB uint8 (H, W, 3), downscaled (PIL bicubic) so max(H, W) <= max_side."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if max_side and max(im.size) > max_side:
            s = max_side / max(im.size)
            im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BICUBIC)
        return np.asarray(im).copy()


def eval_photos() -> dict[str, np.ndarray]:
    """The held-out evaluation set: scikit-image and scikit-learn colour samples, RGB uint8."""
    import skimage.data
    from sklearn.datasets import load_sample_image

    photos = {}
    for name in EVAL_PHOTO_NAMES:
        if name in ("china", "flower"):
            photos[name] = np.ascontiguousarray(load_sample_image(f"{name}.jpg"))
        else:
            loader = skimage.data.stereo_motorcycle if name == "motorcycle" else getattr(skimage.data, name)
            img = loader()[0] if name == "motorcycle" else loader()  # the left view of the pair
            photos[name] = np.ascontiguousarray(img[..., :3])
    return photos


@dataclass
class PatchSampler:
    """Random (patch, patch, patch...) crops with flips and 90-degree turns from a photo list.

    Photos are decoded once, downscaled so their longer side is at most `max_side` (a 5K wallpaper
    is mostly out-of-focus blur at full size).
    """

    paths: list[Path]
    patch: int = 96
    max_side: int = 1024
    seed: int = 0
    # Further copies of every photo at these fractions of max_side (more scales of the same
    # content: finer detail per pixel, as in the held-out photos); () for one scale only.
    extra_scales: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.paths:
            raise ValueError(
                "no training photos: install mate-backgrounds, plasma-workspace-wallpapers and "
                "opencv-doc (apt-get install ...), or pass --data DIR"
            )
        eval_names = set(EVAL_PHOTO_NAMES)
        self.images = []
        for p in self.paths:
            if Path(p).stem.lower() in eval_names:
                raise ValueError(f"{p} looks like an evaluation photo; it must not be trained on")
            img = load_photo(p, self.max_side)
            for scale in (1.0, *self.extra_scales):
                copy = img if scale == 1.0 else _shrink(img, scale)
                if min(copy.shape[:2]) >= self.patch:
                    self.images.append(copy)
        if not self.images:
            raise ValueError(f"no photo is at least {self.patch} px on each side")
        self.rng = np.random.default_rng(self.seed)
        # Sample photos in proportion to their area, so every pixel is equally likely.
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.weights = areas / areas.sum()
        logger.info("PatchSampler: %d photos, %.1f Mpx", len(self.images), areas.sum() / 1e6)

    def sample(self, batch: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """(batch, patch, patch, 3) uint8, drawn with `rng` (default: the sampler's own)."""
        rng = rng or self.rng
        out = np.empty((batch, self.patch, self.patch, 3), dtype=np.uint8)
        for i in range(batch):
            img = self.images[rng.choice(len(self.images), p=self.weights)]
            top = rng.integers(0, img.shape[0] - self.patch + 1)
            left = rng.integers(0, img.shape[1] - self.patch + 1)
            crop = img[top : top + self.patch, left : left + self.patch]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            out[i] = np.rot90(crop, rng.integers(0, 4))
        return out


def _shrink(image: np.ndarray, scale: float) -> np.ndarray:
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
