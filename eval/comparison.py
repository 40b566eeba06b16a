"""A labelled side-by-side comparison image for slides: title above each panel, numbers below."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


@dataclass
class Panel:
    image: np.ndarray  # (H, W, 3) uint8
    title: str
    caption: str = ""


def _font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for d in _FONT_DIRS:
        if (d / name).exists():
            return ImageFont.truetype(str(d / name), size)
    return ImageFont.load_default(size)


def compose_comparison(panels: list[Panel], *, height: int = 384, footer: str = "") -> Image.Image:
    """Panels resized (nearest, so pixels stay honest) to a common height, in one white image."""
    if not panels:
        raise ValueError("nothing to compose")
    gap, top_h, cap_h = 12, 34, 30
    title_font, cap_font, foot_font = _font(20, bold=True), _font(17), _font(14)
    resized = []
    for p in panels:
        h, w = p.image.shape[:2]
        new_w = max(1, round(w * height / h))
        resized.append(Image.fromarray(p.image).resize((new_w, height), Image.Resampling.NEAREST))
    width = sum(im.width for im in resized) + gap * (len(resized) + 1)
    foot_h = 26 if footer else 0
    canvas = Image.new("RGB", (width, top_h + height + cap_h + foot_h + gap), "white")
    draw = ImageDraw.Draw(canvas)
    x = gap
    for p, im in zip(panels, resized, strict=True):
        canvas.paste(im, (x, top_h))
        _centered(draw, p.title, x, im.width, 6, title_font)
        if p.caption:
            _centered(draw, p.caption, x, im.width, top_h + height + 5, cap_font)
        x += im.width + gap
    if footer:
        draw.text((gap, top_h + height + cap_h + 4), footer, fill=(90, 90, 90), font=foot_font)
    return canvas


def _centered(draw: ImageDraw.ImageDraw, text: str, x: int, width: int, y: int, font) -> None:
    if draw.textlength(text, font=font) > width:
        while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
            text = text[:-1]
        text += "…"
    tw = draw.textlength(text, font=font)
    draw.text((x + (width - tw) / 2, y), text, fill="black", font=font)


def stack_vertical(images: list[Image.Image]) -> Image.Image:
    width = max(im.width for im in images)
    canvas = Image.new("RGB", (width, sum(im.height for im in images)), "white")
    y = 0
    for im in images:
        canvas.paste(im, (0, y))
        y += im.height
    return canvas


def window_of_largest_score(score: np.ndarray, size: int) -> tuple[int, int]:
    """(top, left) of the size x size window (inside the image) with the largest mean of a
    per-pixel (H, W) score map."""
    from scipy.ndimage import uniform_filter

    h, w = score.shape
    size = min(size, h, w)
    smoothed = uniform_filter(score.astype(np.float32), size=size, mode="constant")
    half = size // 2
    valid = smoothed[half : h - (size - half) + 1, half : w - (size - half) + 1]
    top, left = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(top), int(left)


def region_of_largest_difference(a: np.ndarray, b: np.ndarray, size: int) -> tuple[int, int]:
    """(top, left) of the size x size window where two same-shape RGB images differ most
    (mean absolute difference), to zoom on where methods disagree."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return window_of_largest_score(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2),
                                   size)  # fmt: skip
