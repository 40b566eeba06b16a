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
    # the footer wraps to the sheet's width (drawn on one line, it ran off narrow sheets)
    foot_lines = _wrap(ImageDraw.Draw(Image.new("RGB", (1, 1))), footer, foot_font, width - 2 * gap) if footer else []
    foot_line_h = 18
    foot_h = 8 + foot_line_h * len(foot_lines) if foot_lines else 0
    canvas = Image.new("RGB", (width, top_h + height + cap_h + foot_h + gap), "white")
    draw = ImageDraw.Draw(canvas)
    x = gap
    for p, im in zip(panels, resized, strict=True):
        canvas.paste(im, (x, top_h))
        _centered(draw, p.title, x, im.width, 6, title_font)
        if p.caption:
            _centered(draw, p.caption, x, im.width, top_h + height + 5, cap_font)
        x += im.width + gap
    for i, line in enumerate(foot_lines):
        draw.text((gap, top_h + height + cap_h + 4 + i * foot_line_h), line, fill=(90, 90, 90), font=foot_font)
    return canvas


def _centered(draw: ImageDraw.ImageDraw, text: str, x: int, width: int, y: int, font, min_size: int = 13) -> None:
    """`text` centred over a panel: in a smaller size (down to min_size px) where it does not fit, and
    only then cut with an ellipsis."""
    size = getattr(font, "size", None)
    while size and size > min_size and draw.textlength(text, font=font) > width:
        size -= 1
        font = font.font_variant(size=size)
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


# --- provenance footer ---------------------------------------------------------------------------


def provenance_lines(record: dict) -> list[str]:
    """The footer's text: one head line (task, input, seed, date), one line per model (checkpoint,
    seed, metrics), the metrics note. Pure text, so tests can read what the image shows."""
    head = [f"GAN Gallery · {record.get('task', '?')}"]
    if record.get("what"):
        head.append(str(record["what"]))
    head.append(f"input {record.get('input_size') or '—'}")
    seeds = [m["seed"] for m in record.get("models", []) if m.get("seed") is not None]
    if record.get("seed") is not None:
        head.append(f"seed {record['seed']}")
    elif not seeds:
        head.append("no seed (deterministic)")
    head.append(str(record.get("date", "")))
    lines = [" · ".join(head)]
    for m in record.get("models", []):
        parts = [f"{m.get('title', '?')}: {m.get('checkpoint', '?')}"]
        if m.get("seed") is not None and m.get("seed") != record.get("seed"):
            parts.append(f"seed {m['seed']}")
        for k, v in (m.get("metrics") or {}).items():
            parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
        lines.append(" · ".join(parts))
    if record.get("metrics_note"):
        lines.append(str(record["metrics_note"]))
    return lines


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Greedy word wrap to `width` pixels (a word longer than the width is cut with …)."""
    out, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            out.append(line)
            line = word
    if line:
        out.append(line)
    fitted = []
    for text_line in out:
        while draw.textlength(text_line, font=font) > width and len(text_line) > 1:
            text_line = text_line[:-2] + "…"
        fitted.append(text_line)
    return fitted


def with_provenance(sheet: Image.Image, record: dict, min_width: int = 720) -> Image.Image:
    """The sheet with a footer naming what made it (provenance_lines), wrapped to the sheet's width
    (at least min_width px: a narrow sheet is centred on a wider canvas so the footer stays legible)."""
    font = _font(13)
    width = max(sheet.width, min_width)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    wrapped = [w for line in provenance_lines(record) for w in _wrap(probe, line, font, width - 24)]
    line_h, pad = 17, 8
    foot_h = pad * 2 + line_h * len(wrapped)
    canvas = Image.new("RGB", (width, sheet.height + foot_h), "white")
    canvas.paste(sheet.convert("RGB"), ((width - sheet.width) // 2, 0))
    draw = ImageDraw.Draw(canvas)
    y0 = sheet.height
    draw.line([(12, y0 + 2), (width - 12, y0 + 2)], fill=(200, 200, 200), width=1)
    for i, text in enumerate(wrapped):
        draw.text((12, y0 + pad + i * line_h), text, fill=(70, 70, 70) if i else (20, 20, 20), font=font)
    return canvas


def save_with_provenance(sheet: Image.Image, path: str | Path, record: dict) -> Image.Image:
    """Write `sheet` + its provenance footer as a PNG that also carries the record as JSON (an iTXt
    chunk, PROVENANCE_KEY); returns the image written."""
    import json

    from PIL import PngImagePlugin

    from models.result import PROVENANCE_KEY

    image = with_provenance(sheet, record)
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PROVENANCE_KEY, json.dumps(record, ensure_ascii=False))
    image.save(path, pnginfo=info)
    return image


def read_provenance(path: str | Path) -> dict | None:
    """The provenance record a PNG written by save_with_provenance carries (None if it has none)."""
    import json

    from models.result import PROVENANCE_KEY

    with Image.open(path) as im:
        text = (getattr(im, "text", None) or {}).get(PROVENANCE_KEY) or im.info.get(PROVENANCE_KEY)
    return json.loads(text) if text else None
