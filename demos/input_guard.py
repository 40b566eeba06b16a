"""The one input guard every tab uses: any upload becomes an RGB uint8 array, or a clear refusal.

Handles EXIF orientation, grayscale / palette / RGBA / CMYK / 16-bit / float images, animated
files (first frame), a size policy (too-small refused, large downscaled with a notice, absurd sizes
and decompression bombs refused before decoding) and non-image or corrupt files. Pure Python: no
gradio here, so eval/ and tests use it directly; demos turn InputError into gr.Error.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000  # refused above this, before decoding (a 50 MP photo is already huge)
MIN_SIDE = 8

# PIL's own bomb check stays on (it raises above 2x its limit); our limit is stricter and is
# checked from the header, before any pixel is decoded.


class InputError(ValueError):
    """The input cannot be used; the message is meant for the person who gave it."""


@dataclass
class GuardedImage:
    """array: (H, W, 3) uint8 RGB. notices: what was changed, for the UI to show."""

    array: np.ndarray
    notices: list[str] = field(default_factory=list)
    original_size: tuple[int, int] = (0, 0)  # (width, height) as uploaded

    @property
    def size(self) -> tuple[int, int]:
        return self.array.shape[1], self.array.shape[0]


def guard_image(
    source: str | Path | bytes | Image.Image | np.ndarray | None,
    *,
    max_side: int = 2048,
    min_side: int = MIN_SIDE,
    what: str = "image",
) -> GuardedImage:
    """Normalise an upload to RGB uint8, downscaling (PIL Lanczos) so max(H, W) <= max_side.

    Raises InputError with a message for a person when the input cannot be used.
    """
    if source is None:
        raise InputError(f"No {what} given: upload one or pick an example.")
    notices: list[str] = []
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source, notices)
        original = (rgb.shape[1], rgb.shape[0])
    else:
        im = _open(source)
        original = im.size
        _check_pixels(*im.size)
        if getattr(im, "n_frames", 1) > 1:
            notices.append(f"Animated file: only its first of {im.n_frames} frames is used.")
            im.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im.load()
            im = ImageOps.exif_transpose(im) or im
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise InputError(f"The {what} file is corrupt or truncated ({exc}).") from exc
        if im.size != original:
            notices.append("Rotated upright according to the photo's EXIF orientation.")
        rgb = _pil_to_rgb(im, notices)
    h, w = rgb.shape[:2]
    if min(h, w) < min_side:
        raise InputError(
            f"The {what} is too small ({w}x{h} px): each side needs at least {min_side} px."
        )
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        nw, nh = max(min_side, round(w * s)), max(min_side, round(h * s))
        rgb = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.LANCZOS))
        notices.append(
            f"Downscaled from {w}x{h} to {nw}x{nh} px (this tab works on at most {max_side} px)."
        )
    return GuardedImage(np.ascontiguousarray(rgb), notices, original)


def _open(source: str | Path | bytes | Image.Image) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, bytes):
        if not source:
            raise InputError("The file is empty (0 bytes).")
        if len(source) > MAX_FILE_BYTES:
            raise InputError(f"The file is too large ({len(source) / 2**20:.0f} MB; limit 25 MB).")
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"File not found: {path.name}")
        size = path.stat().st_size
        if size == 0:
            raise InputError(f"'{path.name}' is empty (0 bytes).")
        if size > MAX_FILE_BYTES:
            raise InputError(f"'{path.name}' is too large ({size / 2**20:.0f} MB; limit 25 MB).")
        stream = path
    try:
        return Image.open(stream)
    except Image.DecompressionBombError as exc:
        raise InputError(f"Refused: the image header claims an absurd size ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            "This file is not an image that can be read (supported: PNG, JPEG, WebP, BMP, GIF, TIFF)."
        ) from exc


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(
            f"Refused: {width}x{height} px is {width * height / 1e6:.0f} megapixels; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} MP. Resize it first."
        )


def _pil_to_rgb(im: Image.Image, notices: list[str]) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im).astype(np.float64)
        peak = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        notices.append(f"High bit-depth image ({mode}) converted to 8 bits per channel.")
        return _array_to_rgb((np.clip(a / peak, 0, 1) * 255).round().astype(np.uint8), [])
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            notices.append("Transparency was flattened onto a white background.")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode in ("L", "1", "I;8"):
        notices.append("Grayscale image: used as RGB with three equal channels.")
    return np.asarray(im.convert("RGB"))


def _array_to_rgb(a: np.ndarray, notices: list[str]) -> np.ndarray:
    """Any (H, W), (H, W, 1|2|3|4) array -> (H, W, 3) uint8."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise InputError(f"Expected an image array (H, W[, C]), got shape {a.shape}.")
    _check_pixels(a.shape[1], a.shape[0])
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a.astype(np.float64) / 257.0).round().astype(np.uint8)
        notices.append("16-bit image converted to 8 bits per channel.")
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InputError("The image contains NaN or infinite values.")
        scale = 255.0 if a.max() <= 1.0 else 1.0
        a = np.clip(a * scale, 0, 255).round().astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        notices.append("Grayscale image: used as RGB with three equal channels.")
        return np.stack([a] * 3, axis=-1)
    if a.shape[2] == 2:  # gray + alpha
        return _pil_to_rgb(Image.fromarray(a, "LA"), notices)
    if a.shape[2] == 4:
        return _pil_to_rgb(Image.fromarray(np.ascontiguousarray(a), "RGBA"), notices)
    return a


def whole_number(value, lo: int, hi: int, what: str) -> int:
    """A whole number in [lo, hi] sent by the UI or the API (NaN, inf, 2.5, "x" and out-of-range
    values get a clear InputError)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v.is_integer() and lo <= v <= hi):
        raise InputError(f"{what} must be a whole number from {lo} to {hi}, got {value!r}")
    return int(v)


def seed_number(value) -> int:
    """A generator seed (models.dcgan.check_seed's rules), or InputError with its message."""
    from models.dcgan import check_seed

    try:
        return check_seed(value)
    except ValueError as exc:
        raise InputError(str(exc)) from None
