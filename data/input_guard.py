"""The one input guard every tab uses: any upload becomes an RGB uint8 array (or, for a mask
layer, RGBA), any number or seed a checked int or float, any choice a known one — or a clear
refusal.

Images: EXIF orientation, grayscale / palette / RGBA / CMYK / 16-bit / float images, animated
files (first frame), a size policy (too-small refused, large downscaled with a notice, absurd sizes
and decompression bombs refused before decoding) and non-image or corrupt files; photos and mask
layers go through the same decoder. Numbers: NaN, inf, 1e308, 2**63, null, booleans and text are
refused with a message that never echoes more than a few dozen characters of what was sent.
Pure Python: no gradio here, so eval/ and tests use it directly; demos turn InputError into
gr.Error.
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
MAX_SEED = 2**31 - 1  # every seed in the app, as torch/numpy generators and the UI accept it
# A mask layer marks a pixel when its alpha is at least this: where the brush visibly covers at
# least half the pixel. The editor's brush paints opaque strokes with anti-aliased edges; a
# near-transparent layer (alpha 1/255 everywhere) is invisible on the canvas and must not count as
# a 100 % mask. 128 is the 50 % coverage rule rasterisers use, and PIL's own "1"-mode threshold.
MASK_ALPHA = 128
# EXIF orientation (tag 0x0112) -> the PIL transpose that makes the stored pixels upright.
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}  # fmt: skip

# PIL's own bomb check stays on (it raises above 2x its limit); our limit is stricter and is
# checked from the header, before any pixel is decoded.


class InputError(ValueError):
    """The input cannot be used; the message is meant for the person who gave it."""


@dataclass
class GuardedImage:
    """array: (H, W, 3) uint8 RGB. notices: what was changed, for the UI to show."""

    array: np.ndarray
    notices: list[str] = field(default_factory=list)
    original_size: tuple[int, int] = (0, 0)  # (width, height) as stored in the file
    orientation: int = 1  # the file's EXIF orientation (1: stored upright)

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) as uploaded, after the EXIF orientation and before any downscaling."""
        w, h = self.original_size
        return (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)

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
    orientation = 1
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source, notices)
        original = (rgb.shape[1], rgb.shape[0])
    else:
        im, original, orientation = _decode(source, what, notices)
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
    return GuardedImage(np.ascontiguousarray(rgb), notices, original, orientation)


def _decode(source, what: str, notices: list[str]) -> tuple[Image.Image, tuple[int, int], int]:
    """Open, check the size from the header, decode and turn upright: (image, stored (w, h), EXIF
    orientation). The one decoder for photos and mask layers."""
    im = _open(source, what)
    original = im.size
    _check_pixels(*im.size, what)
    if getattr(im, "n_frames", 1) > 1:
        notices.append(f"Animated file: only its first of {im.n_frames} frames is used.")
        im.seek(0)
    try:
        orientation = int(im.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block is ignored, as exif_transpose does
        orientation = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
        im = ImageOps.exif_transpose(im) or im
    except Image.DecompressionBombError as exc:
        raise InputError(f"Refused: the {what} is too large to decode safely.") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"The {what} file is corrupt or truncated ({short(exc, 80)}).") from exc
    if orientation not in _UPRIGHT:
        orientation = 1
    if orientation != 1:
        notices.append(f"Turned upright according to the {what}'s EXIF orientation.")
    return im, original, orientation


def guard_layer(source, *, what: str = "mask layer") -> tuple[np.ndarray, int]:
    """A drawn layer or mask image (path, bytes, PIL image or array) -> ((H, W, 4) uint8 RGBA,
    upright by its own EXIF orientation; that orientation). Same decoder and limits as photos."""
    if source is None:
        raise InputError(f"No {what} given.")
    if isinstance(source, np.ndarray):
        a = source
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
            raise InputError(f"The {what} has an unexpected shape {short(a.shape)}.")
        _check_pixels(a.shape[1], a.shape[0], what)
        if a.dtype == np.bool_:
            a = a.astype(np.uint8) * 255
        elif np.issubdtype(a.dtype, np.floating):
            if not np.isfinite(a).all():
                raise InputError(f"The {what} contains NaN or infinite values.")
            a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).round()
        a = np.clip(a, 0, 255).astype(np.uint8)
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        if a.shape[2] == 3:
            a = np.concatenate([a, np.full(a.shape[:2] + (1,), 255, np.uint8)], axis=-1)
        return np.ascontiguousarray(a), 1
    im, _, orientation = _decode(source, what, [])
    return np.asarray(im.convert("RGBA")), orientation


def upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an (H, W[, C]) uint8 array (as exif_transpose does to the
    photo), e.g. to a mask drawn on the photo's stored pixels."""
    if orientation not in _UPRIGHT:
        return array
    return np.asarray(Image.fromarray(array).transpose(_UPRIGHT[orientation]))


def layer_mask(rgba: np.ndarray) -> np.ndarray:
    """The pixels an (H, W, 4) layer marks, bool (H, W). A brush layer marks where it is visibly
    painted (alpha >= MASK_ALPHA); a layer with no transparency at all is read as a black-and-white
    mask image (white or any bright colour = fill, black = keep), the usual convention for masks
    sent through the API."""
    alpha = rgba[..., 3]
    if alpha.min() < 255:
        return alpha >= MASK_ALPHA
    return rgba[..., :3].max(axis=2) >= MASK_ALPHA


def _open(source: str | Path | bytes | Image.Image, what: str = "image") -> Image.Image:
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
        raise InputError(f"Refused: the {what}'s header claims an absurd size (a decompression "
                         "bomb?); it was not decoded.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"The {what} file is not an image that can be read (supported: PNG, JPEG, WebP, BMP, "
            "GIF, TIFF)."
        ) from exc


def _check_pixels(width: int, height: int, what: str = "image") -> None:
    if width * height > MAX_PIXELS:
        raise InputError(
            f"Refused: the {what} is {width}x{height} px, {width * height / 1e6:.0f} megapixels; the limit is "
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


def short(value, limit: int = 40) -> str:
    """repr(value) cut to `limit` characters: messages never echo a 100 KB value back."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}... ({len(text):,} chars)"


def finite_or_none(value) -> float | None:
    """The value as a finite float, or None (null, bools, text, NaN, inf, 1e308 ints...)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 40:
            return None
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def whole_number(value, lo: int, hi: int, what: str) -> int:
    """A whole number in [lo, hi] sent by the UI or the API (null, NaN, inf, 2.5, True, "x" and
    out-of-range values get a clear InputError)."""
    v = finite_or_none(value)
    if v is None or not (v.is_integer() and lo <= v <= hi):
        raise InputError(f"{what} must be a whole number from {lo} to {hi}, got {short(value)}")
    return int(v)


def real_number(value, lo: float, hi: float, what: str) -> float:
    """A finite number in [lo, hi] (null, NaN, inf, True, text: InputError)."""
    v = finite_or_none(value)
    if v is None or not lo <= v <= hi:
        raise InputError(f"{what} must be a number from {lo:g} to {hi:g}, got {short(value)}")
    return v


def seed_number(value) -> int:
    """A generator seed: a whole number from 0 to 2**31 - 1, the same rule in every tab."""
    return whole_number(value, 0, MAX_SEED, "The seed")


def boolean(value, what: str) -> bool:
    """A real boolean (a checkbox's value); NaN, "abc", 1 or null are refused, not read as True."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{what} must be true or false, got {short(value)}")


def one_of(value, choices, what: str):
    """value if it is one of `choices` (compared exactly), else InputError naming a few."""
    options = list(choices)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in options:
        return value
    listed = ", ".join(repr(c) for c in options[:8]) + (", ..." if len(options) > 8 else "")
    raise InputError(f"Unknown {what} {short(value)}; choose one of: {listed}")


def some_of(values, choices, what: str, at_least: int = 1) -> list:
    """A list of distinct known choices (at least `at_least`), else InputError."""
    if values is None:
        values = []
    if not isinstance(values, (list, tuple)):
        raise InputError(f"{what} must be a list of choices, got {short(values)}")
    options = list(choices)
    if len(values) > 2 * len(options):  # checked before looking at each (10,000 names cost nothing)
        raise InputError(f"Too many choices of {what}: {len(values):,} given, {len(options)} exist.")
    picked = [one_of(v, options, what) for v in values]
    if len(picked) < at_least:
        raise InputError(f"Choose at least {'one' if at_least == 1 else at_least} {what}.")
    return list(dict.fromkeys(picked))
