"""Free-form inpainting masks: random brush strokes as in DeepFillv2 (Yu et al. 2019, "Free-Form
Image Inpainting with Gated Convolution", the `brush_stroke_mask` of its official code), and the
fixed, seeded evaluation set with one group of masks per area bucket.

A mask is a bool (H, W) array, True where pixels are missing (to be filled). Everything is
deterministic given the numpy Generator passed in.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

# Area buckets (fraction of the image masked) that every inpainting number is reported per.
BUCKETS: list[tuple[float, float]] = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5)]
EVAL_MASK_SEED = 2024
EVAL_MASK_SIZE = 256
EVAL_MASKS_PER_BUCKET = 2


def bucket_label(bucket: tuple[float, float]) -> str:
    """(0.2, 0.3) -> "20-30"."""
    return f"{round(bucket[0] * 100)}-{round(bucket[1] * 100)}"


def mask_area(mask: np.ndarray) -> float:
    """Fraction of pixels masked, in [0, 1]."""
    return float(np.count_nonzero(mask)) / mask.size if mask.size else 0.0


def mask_overlay(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (0, 210, 255),
                 alpha: float = 0.7) -> np.ndarray:  # fmt: skip
    """RGB uint8 (H, W, 3) with the masked pixels tinted: what the methods are asked to fill."""
    out = image.astype(np.float32)
    out[mask] = (1 - alpha) * out[mask] + alpha * np.array(color, np.float32)
    return out.round().astype(np.uint8)


def _stroke(h: int, w: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """One DeepFillv2 brush stroke: a polyline of 4-12 vertices with alternating turning angles
    around 2*pi/5, segment lengths ~ N(diag/8, diag/16), width 12-40 px (for a 256 px image;
    widths scale with the image), round joints. Unlike the original, the whole stroke is also
    turned by a random angle (its zigzags otherwise all run the same way). `scale` < 1 makes a
    shorter, thinner stroke (used to land inside an area bucket)."""
    unit = min(h, w) / 256.0
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15
    min_width, max_width = 12 * unit * scale, 40 * unit * scale
    radius = math.sqrt(h * h + w * w) / 8 * scale
    num_vertex = max(2, round(rng.integers(4, 13) * scale))
    angle_min = mean_angle - rng.uniform(0, angle_range)
    angle_max = mean_angle + rng.uniform(0, angle_range)
    turn = rng.uniform(0, 2 * math.pi)
    angles = [turn + ((2 * math.pi - rng.uniform(angle_min, angle_max)) if i % 2 == 0
                      else rng.uniform(angle_min, angle_max)) for i in range(num_vertex)]  # fmt: skip
    vertices = [(float(rng.integers(0, w)), float(rng.integers(0, h)))]
    for angle in angles:
        r = float(np.clip(rng.normal(radius, radius / 2), 0, 2 * radius))
        x = float(np.clip(vertices[-1][0] + r * math.cos(angle), 0, w))
        y = float(np.clip(vertices[-1][1] + r * math.sin(angle), 0, h))
        vertices.append((x, y))
    width = max(1, round(rng.uniform(min_width, max_width)))
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    draw.line(vertices, fill=255, width=width)
    for x, y in vertices:
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    stroke = np.asarray(canvas) > 0
    if rng.random() < 0.5:
        stroke = stroke[:, ::-1]
    if rng.random() < 0.5:
        stroke = stroke[::-1, :]
    return stroke


def free_form_mask(
    size: int | tuple[int, int],
    rng: np.random.Generator,
    target_area: float | None = None,
    *,
    tolerance: float = 0.05,
) -> np.ndarray:
    """A bool (H, W) free-form mask (True = missing). `size` is a side or (H, W).

    Without `target_area`: 1-3 strokes, as DeepFillv2 trains with. With it: strokes are added until
    the masked fraction reaches `target_area`; a stroke that would overshoot it by more than
    `tolerance` is redrawn shorter and thinner, so the result lands in
    [target_area, target_area + tolerance] (except in the rare case where no small stroke fits,
    where the closest attempt is kept).
    """
    h, w = (size, size) if isinstance(size, int) else size
    if h < 1 or w < 1:
        raise ValueError(f"mask size must be positive, got {h}x{w}")
    mask = np.zeros((h, w), dtype=bool)
    if target_area is None:
        for _ in range(int(rng.integers(1, 4))):
            mask |= _stroke(h, w, rng)
        return mask
    if not 0.0 < target_area < 1.0:
        raise ValueError(f"target_area must be in (0, 1), got {target_area}")
    limit = target_area + tolerance
    for _ in range(200):  # strokes; each adds area, so this ends long before the cap
        if mask_area(mask) >= target_area:
            break
        best = None
        for attempt in range(12):
            candidate = mask | _stroke(h, w, rng, scale=0.8**attempt)
            if mask_area(candidate) <= limit:
                best = candidate
                break
            if best is None or mask_area(candidate) < mask_area(best):
                best = candidate
        mask = best
    return mask


def bucket_mask(
    size: int | tuple[int, int], bucket: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """A free-form mask whose area lies inside `bucket` = (lo, hi), lo <= area < hi."""
    lo, hi = bucket
    for _ in range(50):
        target = rng.uniform(max(lo, 0.02) + 0.005, hi - 0.02)
        mask = free_form_mask(size, rng, target, tolerance=hi - target - 0.002)
        if lo <= mask_area(mask) < hi and mask.any():
            return mask
    raise RuntimeError(f"could not draw a mask in the {bucket_label(bucket)}% bucket")


def evaluation_masks(
    size: int = EVAL_MASK_SIZE,
    per_bucket: int = EVAL_MASKS_PER_BUCKET,
    seed: int = EVAL_MASK_SEED,
) -> dict[str, list[np.ndarray]]:
    """The fixed evaluation mask set: {"0-10": [mask, ...], ..., "40-50": [...]}, `per_bucket`
    (size, size) bool masks per bucket, the same on every machine for a given seed."""
    rng = np.random.default_rng(seed)
    return {bucket_label(b): [bucket_mask(size, b, rng) for _ in range(per_bucket)]
            for b in BUCKETS}  # fmt: skip
