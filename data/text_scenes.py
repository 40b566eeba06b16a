"""Captioned procedural scenes for text-to-image (issue #5), with the full ground truth.

A ground plane seen in perspective under a pale sky; 1 to 4 objects (cube, ball, cone) in six
colours and two sizes stand on it. An object at distance Z has its base at
y = HORIZON + CAMERA / Z and a height of FOCAL * size / Z pixels, so farther objects are smaller
and higher in the frame; they are painted far to near, so near ones occlude far ones (every object
stays at least MIN_VISIBLE visible, and two objects of one colour never touch, so a connected-
components detector can count them). Each scene keeps its objects' shape, colour, size, distance,
position and pixel box; captions come from data/captions.py (many templates, synonyms and word
orders, some phrasings held out of training entirely).

Some colour-shape combinations never appear in training scenes (HELD_OUT); `heldout_scenes()`
makes scenes that contain them, to test composition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
HORIZON = 22  # y of the horizon, pixels at 64 px
CAMERA = 88.0  # base y = HORIZON + CAMERA / Z
FOCAL = 44.0  # height in pixels = FOCAL * size / Z
Z_NEAR, Z_FAR = 2.2, 5.5
MIN_VISIBLE = 0.6  # fraction of an object's area left visible after occlusion

SHAPES = ("cube", "ball", "cone")
PLURALS = {"cube": "cubes", "ball": "balls", "cone": "cones"}
COLOURS = {
    "red": (215, 40, 40), "orange": (245, 140, 30), "yellow": (235, 215, 40),
    "green": (40, 160, 60), "blue": (40, 80, 215), "purple": (140, 50, 180),
}  # fmt: skip
SIZES = {"small": 0.65, "large": 1.0}
NUMBERS = ("zero", "one", "two", "three", "four")
MAX_OBJECTS = 4
HELD_OUT = (("red", "cone"), ("blue", "ball"), ("yellow", "cube"))

TRAIN_SEED, TEST_SEED, HELDOUT_SEED = 11, 2024, 4096
VALIDATION_SEED = 5150  # scenes training scores itself on (--keep-best-every): neither trained on nor benchmarked


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    size: str  # "small" | "large"
    z: float  # distance from the camera, Z_NEAR..Z_FAR
    x: float  # centre, pixels at 64 px
    box: tuple[int, int, int, int] = (0, 0, 0, 0)  # x0, y0, x1, y1 (exclusive), pixels at 64 px
    visible: float = 1.0  # fraction of its area not occluded

    @property
    def base_y(self) -> float:
        return HORIZON + CAMERA / self.z

    @property
    def height(self) -> float:
        return FOCAL * SIZES[self.size] / self.z


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]
    ground: tuple[int, int, int]
    sky: tuple[int, int, int]

    @property
    def count(self) -> int:
        return len(self.objects)

    def as_dict(self) -> dict:
        return {"objects": [asdict(o) for o in self.objects], "ground": self.ground, "sky": self.sky}


# --- rendering ---------------------------------------------------------------------------------

def _shape_polygon(o: SceneObject, s: float) -> tuple[str, list[float]]:
    """The object's outline in canvas coordinates (s = canvas px per 64-px pixel)."""
    h = o.height * s
    w = h if o.shape != "cone" else h * 1.1
    x, yb = o.x * s, o.base_y * s
    if o.shape == "ball":
        return "ellipse", [x - h / 2, yb - h, x + h / 2, yb]
    if o.shape == "cube":
        return "rect", [x - w / 2, yb - h, x + w / 2, yb]
    return "polygon", [x - w / 2, yb, x + w / 2, yb, x, yb - h]


def _draw(draw: ImageDraw.ImageDraw, kind: str, xy: list[float], fill) -> None:
    if kind == "ellipse":
        draw.ellipse(xy, fill=fill)
    elif kind == "rect":
        draw.rectangle(xy, fill=fill)
    else:
        draw.polygon(xy, fill=fill)


def _background(ground, sky, s: int) -> Image.Image:
    n = SIZE * s
    y = np.arange(n, dtype=np.float32)[:, None, None] / s
    t_sky = np.clip(y / HORIZON, 0, 1)
    sky_rgb = np.array(sky, np.float32) * (0.92 + 0.08 * t_sky)
    t_ground = np.clip((y - HORIZON) / (SIZE - HORIZON), 0, 1)
    ground_rgb = np.array(ground, np.float32) * (0.85 + 0.2 * t_ground)
    img = np.where(y < HORIZON, sky_rgb, ground_rgb) * np.ones((1, n, 1), np.float32)
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    line = tuple(int(c * 0.86) for c in ground)
    vx, vy = SIZE / 2 * s, HORIZON * s
    for k in range(-6, 7):  # receding lines to the vanishing point, and depth lines across
        draw.line([(vx, vy), (vx + k * 14 * s, n)], fill=line, width=max(1, s // 2))
    for z in (2.5, 3.2, 4.3, 6.5, 11.0):
        yy = (HORIZON + CAMERA / z) * s
        draw.line([(0, yy), (n, yy)], fill=line, width=max(1, s // 2))
    return canvas


def render(scene: Scene, size: int = SIZE, supersample: int = 4) -> np.ndarray:
    """(size, size, 3) uint8; drawn at size*supersample/64 scale, far to near, then downsampled."""
    s = supersample * size // SIZE
    canvas = _background(scene.ground, scene.sky, s)
    draw = ImageDraw.Draw(canvas)
    for o in sorted(scene.objects, key=lambda o: -o.z):
        r = o.height * s * 0.55  # contact shadow
        shadow = tuple(int(c * 0.6) for c in scene.ground)
        draw.ellipse([o.x * s - r, o.base_y * s - r * 0.22, o.x * s + r, o.base_y * s + r * 0.22], fill=shadow)
        kind, xy = _shape_polygon(o, s)
        _draw(draw, kind, xy, COLOURS[o.colour])
    return np.asarray(canvas.resize((size, size), Image.Resampling.BOX), dtype=np.uint8).copy()


def _label_map(objects: list[SceneObject]) -> tuple[np.ndarray, list[int]]:
    """Object index per pixel at 64 px (-1 = background), and each object's unoccluded area."""
    s = 4
    labels = Image.new("I", (SIZE * s, SIZE * s), -1)
    draw = ImageDraw.Draw(labels)
    areas = []
    for i, o in sorted(enumerate(objects), key=lambda t: -t[1].z):
        alone = Image.new("1", (SIZE * s, SIZE * s), 0)
        kind, xy = _shape_polygon(o, s)
        _draw(ImageDraw.Draw(alone), kind, xy, 1)
        areas.append((i, int(np.asarray(alone).sum())))
        _draw(draw, kind, xy, i)
    lab = np.asarray(labels)[s // 2 :: s, s // 2 :: s]  # nearest downsample to 64 px
    area = dict(areas)
    return lab, [area[i] // (s * s) for i in range(len(objects))]


# --- sampling ------------------------------------------------------------------------------------

def _allowed(colour: str, shape: str, split: str) -> bool:
    held = (colour, shape) in HELD_OUT
    return not held if split == "train" else True


def random_scene(rng: np.random.Generator, split: str = "train", count: int | None = None,
                 require_held_out: bool = False) -> Scene:
    """A scene whose objects satisfy the visibility and same-colour rules (resampled until they do).

    split "train" never uses HELD_OUT combinations; require_held_out makes the first object one.
    """
    n = int(count if count is not None else rng.integers(1, MAX_OBJECTS + 1))
    grey = rng.uniform(115, 160)  # a nearly neutral ground, so no object colour is mistaken for it
    ground = tuple(int(grey + t) for t in rng.uniform(-12, 12, 3))
    sky = tuple(int(v) for v in rng.integers([195, 210, 220], [230, 238, 250]))
    for _ in range(200):
        objects = []
        for i in range(n):
            if require_held_out and i == 0:
                colour, shape = HELD_OUT[int(rng.integers(len(HELD_OUT)))]
            else:
                while True:
                    colour = str(rng.choice(list(COLOURS)))
                    shape = str(rng.choice(SHAPES))
                    if _allowed(colour, shape, split):
                        break
            size = str(rng.choice(list(SIZES)))
            z = float(rng.uniform(Z_NEAR, Z_FAR))
            half = FOCAL * SIZES[size] / z * 0.6
            x = float(rng.uniform(2 + half, SIZE - 2 - half))
            objects.append(SceneObject(shape, colour, size, z, x))
        placed = _check(objects)
        if placed is not None:
            return Scene(tuple(placed), ground, sky)
    raise RuntimeError("could not place the objects")  # pragma: no cover - 200 tries always suffice


def _check(objects: list[SceneObject]) -> list[SceneObject] | None:
    lab, areas = _label_map(objects)
    out = []
    for i, o in enumerate(objects):
        mask = lab == i
        visible = int(mask.sum())
        if areas[i] == 0 or visible < 6 or visible / areas[i] < MIN_VISIBLE:
            return None
        ys, xs = np.nonzero(mask)
        out.append(SceneObject(o.shape, o.colour, o.size, o.z, o.x,
                               (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                               round(visible / areas[i], 3)))  # fmt: skip
    for i in range(len(objects)):  # same-colour objects must not touch (8-neighbourhood + 1 px)
        for j in range(i + 1, len(objects)):
            if objects[i].colour == objects[j].colour:
                a, b = out[i].box, out[j].box
                if a[0] - 2 < b[2] and b[0] - 2 < a[2] and a[1] - 2 < b[3] and b[1] - 2 < a[3]:
                    return None
    return out


# --- captions ------------------------------------------------------------------------------------

def content_key(scene: Scene) -> tuple[tuple[str, str], ...]:
    """What the plain ('grouped') caption says of a scene, whatever the order: the sorted
    (colour, shape) of its objects. Two scenes with one key have equivalent captions."""
    return tuple(sorted((o.colour, o.shape) for o in scene.objects))


from data.captions import TEMPLATES, caption, heldout_caption  # noqa: E402  (the caption grammar)

__all__ = ["TEMPLATES", "caption", "heldout_caption"]


# --- datasets --------------------------------------------------------------------------------------

@dataclass
class SceneSet:
    images: np.ndarray  # (n, 64, 64, 3) uint8
    scenes: list[Scene]

    def __len__(self) -> int:
        return len(self.scenes)


def make_scenes(n: int, seed: int, split: str = "train", size: int = SIZE,
                counts: tuple[int, ...] | None = None, require_held_out: bool = False) -> SceneSet:
    """n seeded scenes (deterministic per seed); `counts` cycles through fixed object counts."""
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, split, counts[i % len(counts)] if counts else None, require_held_out)
              for i in range(n)]  # fmt: skip
    images = np.stack([render(sc, size) for sc in scenes]) if scenes else np.zeros((0, size, size, 3), np.uint8)
    return SceneSet(images, scenes)


ATTRIBUTE_GROUPS = (("colours", tuple(COLOURS)), ("shapes", SHAPES),
                    ("pairs", tuple(f"{c} {s}" for c in COLOURS for s in SHAPES)))  # fmt: skip


def attribute_targets(scenes: list[Scene]) -> tuple[np.ndarray, np.ndarray]:
    """What each scene's every caption says, as classification targets: (n,) int64 object count - 1,
    and (n, 27) float32 multi-hot presence of each colour, shape and colour-shape pair (the
    ATTRIBUTE_GROUPS in order)."""
    column = {name: i for i, name in enumerate(n for _, names in ATTRIBUTE_GROUPS for n in names)}
    count = np.array([sc.count - 1 for sc in scenes], np.int64)
    multi = np.zeros((len(scenes), len(column)), np.float32)
    for i, sc in enumerate(scenes):
        for o in sc.objects:
            multi[i, [column[o.colour], column[o.shape], column[f"{o.colour} {o.shape}"]]] = 1
    return count, multi


def training_captions(n_scenes: int, per_scene: int = 4, pool_seed: int = 7) -> list[str]:
    """The caption pool of the first n_scenes training scenes (scene by scene, per_scene each, the
    first one plain), exactly as training/text2image.caption_pool draws it for train_scenes, without
    rendering anything."""
    from data.captions import caption as caption_of

    rng = np.random.default_rng(TRAIN_SEED)
    scenes = [random_scene(rng, "train") for _ in range(n_scenes)]
    pool_rng = np.random.default_rng(pool_seed)
    return [c for sc in scenes for c in [caption_of(sc)] + [caption_of(sc, pool_rng) for _ in range(per_scene - 1)]]


def train_scenes(n: int, seed: int = TRAIN_SEED) -> SceneSet:
    return make_scenes(n, seed, "train")


def test_scenes(n: int, counts: tuple[int, ...] = (1, 2, 3, 4)) -> SceneSet:
    """Held-out scenes (another seed) with training-set combinations, balanced over object counts."""
    return make_scenes(n, TEST_SEED, "train", counts=counts)


def validation_scenes(n: int) -> SceneSet:
    """Scenes of their own seed, 1-3 objects in turn, for a training run to score itself on."""
    return make_scenes(n, VALIDATION_SEED, "train", counts=(1, 2, 3))


def heldout_scenes(n: int) -> SceneSet:
    """Scenes containing at least one colour-shape combination never seen in training."""
    return make_scenes(n, HELDOUT_SEED, "test", counts=(1, 2, 3), require_held_out=True)
