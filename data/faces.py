"""Procedural cartoon faces with known attributes, for DCGAN and its vector arithmetic.

Real face datasets (CelebA, LFW) cannot be fetched on this machine, so the DCGAN demo trains on
faces drawn here. Each face is rendered from a `FaceAttributes` record: five attributes a person
can name (smile, glasses, hair colour, skin tone, background) and a handful of continuous "pose
and shape" jitters (head size, position, tilt, eye size and spacing, hair length, mouth width), so
no two faces are alike. The record is the ground truth an attribute classifier learns from, which
is what lets the evaluation *measure* whether "smiling with glasses - smiling + neutral" really
gives "neutral with glasses".

Rendering is done at 4x and downsampled with a box filter (anti-aliased edges), then returned as
uint8 RGB (size, size, 3). Deterministic given the seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

HAIR_COLOURS = {"black": (28, 24, 22), "brown": (104, 64, 36), "blonde": (222, 188, 104),
                "red": (170, 62, 30), "grey": (168, 168, 170)}  # fmt: skip
SKIN_TONES = {"light": (244, 214, 190), "medium": (214, 166, 126), "tan": (172, 120, 82),
              "dark": (108, 70, 46)}  # fmt: skip
BACKGROUNDS = {"blue": (70, 120, 200), "green": (90, 160, 90), "grey": (150, 150, 150),
               "orange": (230, 150, 70), "purple": (140, 90, 170)}  # fmt: skip

# The attributes a classifier predicts and the UI names: binary ones, then categorical ones.
BINARY_ATTRIBUTES = ["smile", "glasses"]
CATEGORICAL_ATTRIBUTES = {"hair": list(HAIR_COLOURS), "skin": list(SKIN_TONES),
                          "background": list(BACKGROUNDS)}  # fmt: skip


@dataclass(frozen=True)
class FaceAttributes:
    smile: bool
    glasses: bool
    hair: str
    skin: str
    background: str
    # pose / shape jitter, each in [-1, 1]
    head_size: float = 0.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    tilt: float = 0.0
    eye_size: float = 0.0
    eye_gap: float = 0.0
    hair_length: float = 0.0
    mouth_width: float = 0.0

    def labels(self) -> dict[str, int]:
        """Class indices of the named attributes (what the attribute classifier predicts)."""
        out = {a: int(getattr(self, a)) for a in BINARY_ATTRIBUTES}
        out.update({a: CATEGORICAL_ATTRIBUTES[a].index(getattr(self, a)) for a in CATEGORICAL_ATTRIBUTES})
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def random_attributes(rng: np.random.Generator, **fixed) -> FaceAttributes:
    """Uniformly random attributes and jitter; keyword arguments pin named attributes."""
    values = {
        "smile": bool(rng.random() < 0.5),
        "glasses": bool(rng.random() < 0.5),
        "hair": str(rng.choice(list(HAIR_COLOURS))),
        "skin": str(rng.choice(list(SKIN_TONES))),
        "background": str(rng.choice(list(BACKGROUNDS))),
    }
    for key in ("head_size", "shift_x", "shift_y", "tilt", "eye_size", "eye_gap", "hair_length",
                "mouth_width"):  # fmt: skip
        values[key] = float(rng.uniform(-1.0, 1.0))
    values.update(fixed)
    return FaceAttributes(**values)


def _jitter_colour(rgb: tuple[int, int, int], rng: np.random.Generator, amount: int) -> tuple:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def render_face(attrs: FaceAttributes, size: int = 64, seed: int = 0) -> np.ndarray:
    """Draw one face. Returns (size, size, 3) uint8 RGB. `seed` only varies colour shades."""
    rng = np.random.default_rng(seed)
    s = 4 * size  # supersampled canvas
    u = s / 64.0  # drawing unit: coordinates below are written for a 64 px face
    bg = _jitter_colour(BACKGROUNDS[attrs.background], rng, 14)
    skin = _jitter_colour(SKIN_TONES[attrs.skin], rng, 10)
    hair = _jitter_colour(HAIR_COLOURS[attrs.hair], rng, 12)
    img = Image.new("RGB", (s, s), bg)
    d = ImageDraw.Draw(img)

    cx = 32 + 4 * attrs.shift_x
    cy = 34 + 3 * attrs.shift_y
    rx = 15 + 2.5 * attrs.head_size
    ry = 19 + 2.5 * attrs.head_size

    def box(x0, y0, x1, y1):
        return [x0 * u, y0 * u, x1 * u, y1 * u]

    # hair behind the head: a larger ellipse, extending down by hair_length
    hair_drop = 6 + 8 * (attrs.hair_length + 1) / 2
    d.ellipse(box(cx - rx - 3, cy - ry - 4, cx + rx + 3, cy + ry * 0.3 + hair_drop), fill=hair)
    # neck and shoulders
    d.rectangle(box(cx - 5, cy + ry - 4, cx + 5, cy + ry + 6), fill=skin)
    d.ellipse(box(cx - 22, cy + ry + 2, cx + 22, cy + ry + 30), fill=_jitter_colour((60, 60, 80), rng, 30))
    # head
    d.ellipse(box(cx - rx, cy - ry, cx + rx, cy + ry), fill=skin)
    # fringe: a cap of hair over the top of the head
    d.chord(box(cx - rx - 1, cy - ry - 3, cx + rx + 1, cy - ry * 0.2), 180, 360, fill=hair)

    # eyes (rotate positions by the tilt)
    angle = math.radians(8 * attrs.tilt)
    gap = 6.5 + 1.2 * attrs.eye_gap
    eye_r = 2.2 + 0.6 * attrs.eye_size
    ey = cy - 2
    eyes = []
    for side in (-1, 1):
        ex, eyy = cx + side * gap * math.cos(angle), ey + side * gap * math.sin(angle)
        eyes.append((ex, eyy))
        d.ellipse(box(ex - eye_r, eyy - eye_r * 0.8, ex + eye_r, eyy + eye_r * 0.8), fill=(250, 250, 250))
        d.ellipse(box(ex - eye_r * 0.55, eyy - eye_r * 0.55, ex + eye_r * 0.55, eyy + eye_r * 0.55),
                  fill=(35, 30, 40))  # fmt: skip
    if attrs.glasses:
        frame = (20, 20, 20)
        lens = eye_r + 2.2
        for ex, eyy in eyes:
            d.rectangle(box(ex - lens, eyy - lens * 0.8, ex + lens, eyy + lens * 0.8), outline=frame,
                        width=max(1, int(1.3 * u)))  # fmt: skip
        (x0, y0), (x1, y1) = eyes
        d.line([(x0 + lens) * u, y0 * u, (x1 - lens) * u, y1 * u], fill=frame, width=max(1, int(1.3 * u)))
    # nose
    d.line([cx * u, (cy + 1) * u, (cx - 1) * u, (cy + 6) * u, (cx + 1) * u, (cy + 6) * u],
           fill=tuple(int(c * 0.75) for c in skin), width=max(1, int(0.9 * u)))  # fmt: skip
    # mouth: a smile is an open, upward arc; neutral is a short straight line
    mw = 5.5 + 1.5 * attrs.mouth_width
    my = cy + 10
    lip = (150, 40, 50)
    if attrs.smile:
        d.chord(box(cx - mw, my - 4, cx + mw, my + 4), 0, 180, fill=lip)
        d.chord(box(cx - mw + 1.5, my - 3, cx + mw - 1.5, my + 1.5), 0, 180, fill=(250, 245, 240))
    else:
        d.line([(cx - mw * 0.7) * u, my * u, (cx + mw * 0.7) * u, my * u], fill=lip, width=max(1, int(1.6 * u)))

    img = img.resize((size, size), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.uint8)


@dataclass
class FaceDataset:
    """`n` faces rendered once: images (n, size, size, 3) uint8 and their attributes."""

    images: np.ndarray
    attributes: list[FaceAttributes]

    def labels(self) -> dict[str, np.ndarray]:
        rows = [a.labels() for a in self.attributes]
        return {k: np.array([r[k] for r in rows], dtype=np.int64) for k in rows[0]}


def make_faces(n: int, size: int = 64, seed: int = 0) -> FaceDataset:
    rng = np.random.default_rng(seed)
    attrs = [random_attributes(rng) for _ in range(n)]
    shade_seeds = rng.integers(0, 2**31, size=n)
    images = np.stack([render_face(a, size, int(s)) for a, s in zip(attrs, shade_seeds, strict=True)])
    return FaceDataset(images, attrs)
