"""Procedural outdoor scenes rendered from the same parameters by day and by night.

Real day/night datasets (Transient Attributes, night2day) cannot be fetched here, and even they
have no pixel-aligned ground truth: a webcam's day and night frames differ in weather, cars and
people. Here a scene is a `SceneParams` record (sky, sun or moon, clouds, stars, buildings with
window grids, street lights, trees, road and ground, a season and a weather), and
`render_scene(params, night)` draws it either way, so day and night renders of one record are an
exact ground-truth pair: a translator's output can be scored against the real answer.

What changes between day and night is what changes in the world: the sky darkens and gets a moon
and (when clear) stars, the sun goes, surfaces lose most of their light and turn blue, a seeded
subset of windows lights up warm or cool, street lamps switch on and throw pools of light on the
road, fog and rain are lit by them. Which windows are lit is not visible by day, so day -> night
is ambiguous by construction (as it is for real cities); night -> day has to recover colours that
night all but erases.

Rendering is at 2x and box-downsampled (anti-aliased edges); (size, size, 3) uint8 RGB;
deterministic: the same record gives the same pixels on any machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

SEASONS = ["summer", "autumn", "winter"]
WEATHERS = ["clear", "cloudy", "rain", "fog"]  # in winter "rain" falls as snow
TIMES = ["day", "night"]

TRAIN_SEED = 10_000  # training scenes (the translators)
CLASSIFIER_SEED = 20_000  # training scenes (the scene classifier behind the FD)
EVAL_SEED = 30_000  # the held-out evaluation split: never trained on
VALIDATION_SEED = 50_000  # scenes training scores itself on (--keep-best-every): neither trained on nor benchmarked
EVAL_SCENES = 200

_FACADES = [(150, 82, 62), (168, 164, 156), (204, 184, 146), (104, 122, 142), (222, 220, 212),
            (120, 100, 90), (184, 140, 100)]  # fmt: skip
_GROUND = {"summer": (88, 146, 62), "autumn": (138, 118, 64), "winter": (228, 232, 238)}
_CROWNS = {"summer": [(46, 112, 40), (62, 130, 46), (36, 96, 48)],
           "autumn": [(204, 112, 38), (178, 62, 30), (214, 160, 40)],
           "winter": [(232, 236, 240)]}  # fmt: skip
_WINDOW_LIGHT = [(255, 212, 120), (255, 190, 96), (214, 226, 255)]


@dataclass(frozen=True)
class Building:
    x: float  # left edge, fraction of the width
    width: float
    height: float  # above the horizon, fraction of the height
    facade: int  # index into _FACADES
    floors: int
    columns: int
    lit: float  # fraction of windows lit at night


@dataclass(frozen=True)
class Tree:
    x: float
    height: float  # fraction of the height
    crown: float  # crown radius, fraction of the width
    shade: int  # index into the season's crown colours


@dataclass(frozen=True)
class Cloud:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class SceneParams:
    season: str
    weather: str
    horizon: float  # y of the ground line, fraction of the height
    sky_shift: float  # small hue/brightness variation of the sky, [-1, 1]
    body_x: float  # sun by day, moon by night
    body_y: float
    moon_phase: float  # 0 new (dark) .. 1 full
    buildings: tuple[Building, ...]
    trees: tuple[Tree, ...]
    lamps: tuple[float, ...]  # street-light x positions
    clouds: tuple[Cloud, ...]
    road: float  # height of the road band below the horizon, fraction of the height
    detail_seed: int  # stars, which windows are lit, rain streaks

    def labels(self) -> dict[str, int]:
        """Class indices of the named attributes (what the scene classifier predicts, with time)."""
        return {"season": SEASONS.index(self.season), "weather": WEATHERS.index(self.weather)}

    def as_dict(self) -> dict:
        return asdict(self)


def random_scene(rng: np.random.Generator) -> SceneParams:
    """A random scene: 2-6 buildings, 0-4 trees, 1-3 street lights, season, weather."""
    season = str(rng.choice(SEASONS))
    weather = str(rng.choice(WEATHERS, p=[0.4, 0.25, 0.2, 0.15]))
    horizon = float(rng.uniform(0.58, 0.74))
    buildings = []
    x = float(rng.uniform(-0.08, 0.12))
    while x < 0.95 and len(buildings) < 6:
        w = float(rng.uniform(0.12, 0.26))
        buildings.append(Building(x=x, width=w, height=float(rng.uniform(0.16, horizon - 0.08)),
                                  facade=int(rng.integers(len(_FACADES))), floors=int(rng.integers(3, 9)),
                                  columns=int(rng.integers(2, 6)), lit=float(rng.uniform(0.15, 0.85))))  # fmt: skip
        x += w + float(rng.uniform(0.0, 0.14))
    trees = tuple(Tree(x=float(rng.uniform(0.02, 0.98)), height=float(rng.uniform(0.12, 0.24)),
                       crown=float(rng.uniform(0.04, 0.08)), shade=int(rng.integers(3)))
                  for _ in range(int(rng.integers(0, 5))))  # fmt: skip
    lamps = tuple(sorted(float(v) for v in rng.uniform(0.05, 0.95, size=int(rng.integers(1, 4)))))
    n_clouds = {"clear": int(rng.integers(0, 3)), "cloudy": int(rng.integers(4, 8)),
                "rain": int(rng.integers(5, 9)), "fog": int(rng.integers(0, 3))}[weather]  # fmt: skip
    clouds = tuple(Cloud(x=float(rng.uniform(-0.1, 1.0)), y=float(rng.uniform(0.04, horizon * 0.55)),
                         width=float(rng.uniform(0.16, 0.4)), height=float(rng.uniform(0.05, 0.1)))
                   for _ in range(n_clouds))  # fmt: skip
    return SceneParams(season=season, weather=weather, horizon=horizon,
                       sky_shift=float(rng.uniform(-1, 1)), body_x=float(rng.uniform(0.1, 0.9)),
                       body_y=float(rng.uniform(0.08, horizon * 0.45)),
                       moon_phase=float(rng.uniform(0.3, 1.0)), buildings=tuple(buildings), trees=trees,
                       lamps=lamps, clouds=clouds, road=float(rng.uniform(0.08, 0.14)),
                       detail_seed=int(rng.integers(0, 2**31 - 1)))  # fmt: skip


def scene_params(seed: int, index: int) -> SceneParams:
    """Scene `index` of the split `seed` (each scene has its own random stream, so any one of a
    split can be rendered without the others)."""
    return random_scene(np.random.default_rng([seed, index]))


# ---------------------------------------------------------------- rendering


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))


def _night(rgb, light: float = 0.16) -> tuple[int, int, int]:
    """A surface's colour at night: most light gone, what is left is bluish (moon and sky)."""
    r, g, b = rgb
    return (int(r * light * 0.7 + 4), int(g * light * 0.85 + 6), int(b * light * 1.1 + 14))


def _sky(p: SceneParams, night: bool, s: int) -> np.ndarray:
    """(s, s, 3) float32 vertical gradient of the sky (the ground is drawn over its lower part)."""
    k = 0.5 * p.sky_shift
    if night:
        top, low = {"clear": ((6, 9, 28), (30, 40, 74)), "cloudy": ((16, 18, 26), (44, 44, 54)),
                    "rain": ((12, 14, 20), (36, 38, 46)), "fog": ((30, 32, 38), (58, 58, 62))}[p.weather]  # fmt: skip
        low = _mix(low, (70, 52, 44), 0.25)  # the city's glow near the horizon
    else:
        top, low = {"clear": ((64 + 12 * k, 124 + 10 * k, 206), (172, 206, 236)),
                    "cloudy": ((136, 146, 158), (190, 194, 200)),
                    "rain": ((102, 110, 122), (150, 154, 162)),
                    "fog": ((188, 190, 194), (212, 212, 214))}[p.weather]  # fmt: skip
    t = np.clip(np.linspace(0.0, 1.0, s, dtype=np.float32) / max(p.horizon, 1e-3), 0, 1)[:, None]
    col = np.asarray(top, np.float32) * (1 - t) + np.asarray(low, np.float32) * t
    return np.broadcast_to(col[:, None, :], (s, s, 3))


def render_scene(params: SceneParams, night: bool, size: int = 128) -> np.ndarray:
    """Draw one scene by day or by night. Returns (size, size, 3) uint8 RGB."""
    p = params
    s = 2 * size  # supersampled canvas
    sky = _sky(p, night, s)
    img = Image.fromarray(sky.astype(np.uint8))
    d = ImageDraw.Draw(img)
    hy = p.horizon * s
    # Additive light (lamps, lit windows, the moon's halo), drawn at the output size and blurred
    # there: a blur at 2x would cost 4x for no visible difference.
    glow = Image.new("RGB", (size, size), (0, 0, 0)) if night else None
    gd = ImageDraw.Draw(glow) if glow is not None else None

    def box(x0, y0, x1, y1):
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    def half(xy):  # canvas coordinates -> glow-layer coordinates
        return [v / 2 for v in xy]

    # sun or moon, then stars (clear nights), then clouds
    r = 0.045 * s
    bx, by = p.body_x * s, p.body_y * s
    if night:
        if p.weather == "clear":
            srng = np.random.default_rng([p.detail_seed, 2])
            for sx, sy, sb in zip(srng.uniform(0, s, 70), srng.uniform(0, hy * 0.9, 70), srng.uniform(120, 255, 70),
                                  strict=True):  # fmt: skip
                c = int(sb)
                d.rectangle([sx, sy, sx + 1, sy + 1], fill=(c, c, min(255, c + 10)))
        if p.weather in ("clear", "cloudy"):
            d.ellipse([bx - r, by - r, bx + r, by + r], fill=(236, 234, 214))
            off = 2 * r * p.moon_phase  # the shadowed part: a disc of sky colour beside it
            shadow = tuple(int(v) for v in sky[min(int(by), s - 1), 0])
            d.ellipse([bx - r - off, by - r, bx + r - off, by + r], fill=shadow)
            gd.ellipse(half([bx - 2.2 * r, by - 2.2 * r, bx + 2.2 * r, by + 2.2 * r]), fill=(30, 30, 34))
    elif p.weather in ("clear", "cloudy"):
        d.ellipse([bx - 2 * r, by - 2 * r, bx + 2 * r, by + 2 * r], fill=_mix((255, 240, 190), (172, 206, 236), 0.55))
        d.ellipse([bx - r, by - r, bx + r, by + r], fill=(255, 246, 206))
    for c in p.clouds:
        colour = {False: (244, 244, 246) if p.weather in ("clear", "cloudy") else (170, 172, 180),
                  True: (44, 46, 58) if p.weather in ("clear", "cloudy") else (30, 31, 38)}[night]  # fmt: skip
        for k in range(3):
            dx, dy = c.width * (0.25 * k), c.height * (0.35 if k == 1 else 0.0)
            d.ellipse(box(c.x + dx, c.y - dy, c.x + dx + c.width * 0.55, c.y - dy + c.height), fill=colour)

    # ground and road
    ground = _GROUND[p.season]
    d.rectangle([0, hy, s, s], fill=_night(ground, 0.2) if night else ground)
    road_top = hy + 0.03 * s
    road_bottom = road_top + p.road * s
    asphalt = (86, 86, 92) if p.season != "winter" else (150, 152, 160)
    d.rectangle([0, road_top, s, road_bottom], fill=_night(asphalt, 0.25) if night else asphalt)
    mid = (road_top + road_bottom) / 2
    for x0 in np.arange(0.02, 1.0, 0.12):
        d.rectangle(box(x0, mid / s - 0.004, x0 + 0.05, mid / s + 0.004),
                    fill=(70, 70, 62) if night else (236, 232, 214))  # fmt: skip

    # buildings with window grids
    wrng = np.random.default_rng([p.detail_seed, 1])
    for b in p.buildings:
        facade = _FACADES[b.facade]
        top = p.horizon - b.height
        d.rectangle(box(b.x, top, b.x + b.width, p.horizon + 0.005), fill=_night(facade) if night else facade)
        fh, cw = b.height / (b.floors + 0.5), b.width / (b.columns + 0.4)
        lit = wrng.random((b.floors, b.columns)) < b.lit
        tone = wrng.integers(len(_WINDOW_LIGHT), size=(b.floors, b.columns))
        for i in range(b.floors):
            for j in range(b.columns):
                x0, y0 = b.x + cw * (j + 0.4), top + fh * (i + 0.45)
                rect = box(x0, y0, x0 + cw * 0.6, y0 + fh * 0.5)
                if night:
                    colour = _WINDOW_LIGHT[tone[i, j]] if lit[i, j] else (16, 18, 26)
                    if lit[i, j]:
                        gd.rectangle(half(rect), fill=tuple(v // 5 for v in colour))
                else:
                    colour = _mix((58, 78, 100), (150, 178, 206), 0.5 * (i % 2) + 0.25 * (j % 2))
                d.rectangle(rect, fill=colour)

    # trees: trunk and crown (bare branches in winter, with snow)
    for t in p.trees:
        base = p.horizon + 0.025
        tx, th = t.x * s, t.height * s
        trunk = (92, 64, 40)
        d.rectangle([tx - 0.007 * s, base * s - th, tx + 0.007 * s, base * s], fill=_night(trunk) if night else trunk)
        cy = base * s - th
        if p.season == "winter":
            for k in (-1, 1):
                d.line([tx, cy + 0.3 * th, tx + k * t.crown * s, cy], fill=_night(trunk) if night else trunk,
                       width=max(1, int(0.006 * s)))  # fmt: skip
            continue
        crowns = _CROWNS[p.season]
        crown = crowns[t.shade % len(crowns)]
        cr = t.crown * s
        d.ellipse([tx - cr, cy - cr, tx + cr, cy + cr * 0.9], fill=_night(crown, 0.22) if night else crown)

    # street lights: off by day; by night a bright lamp, a halo and a pool of light on the road
    for lx in p.lamps:
        x = lx * s
        foot = road_top - 0.004 * s
        top_y = foot - 0.22 * s
        pole = (70, 72, 78)
        d.rectangle([x - 0.005 * s, top_y, x + 0.005 * s, foot], fill=_night(pole, 0.4) if night else pole)
        d.rectangle([x - 0.005 * s, top_y, x + 0.04 * s, top_y + 0.008 * s], fill=_night(pole, 0.4) if night else pole)
        lamp = [x + 0.022 * s, top_y + 0.006 * s, x + 0.044 * s, top_y + 0.02 * s]
        d.ellipse(lamp, fill=(255, 236, 180) if night else (200, 204, 206))
        if night:
            gd.ellipse(half([x - 0.02 * s, top_y - 0.03 * s, x + 0.09 * s, top_y + 0.05 * s]), fill=(110, 92, 56))
            gd.ellipse(half([x - 0.05 * s, road_top, x + 0.12 * s, road_bottom + 0.02 * s]), fill=(140, 116, 66))

    # weather: fog veils the scene, rain streaks (snowflakes in winter) fall over it
    if p.weather == "fog":
        fog = Image.new("RGB", (s, s), (34, 36, 42) if night else (206, 206, 208))
        img = Image.blend(img, fog, 0.45)
        d = ImageDraw.Draw(img)
    if p.weather == "rain":
        rrng = np.random.default_rng([p.detail_seed, 3])
        n = 160
        xs, ys = rrng.uniform(0, s, n), rrng.uniform(0, s, n)
        if p.season == "winter":
            colour = (150, 152, 164) if night else (250, 250, 252)
            for x, y in zip(xs, ys, strict=True):
                d.ellipse([x, y, x + 0.008 * s, y + 0.008 * s], fill=colour)
        else:
            colour = (96, 100, 116) if night else (208, 210, 218)
            for x, y in zip(xs, ys, strict=True):
                d.line([x, y, x - 0.01 * s, y + 0.05 * s], fill=colour, width=1)
    out = img.reduce(2)
    if glow is not None:  # lamps and lit windows glow through fog and rain (saturating add)
        out = ImageChops.add(out, glow.filter(ImageFilter.BoxBlur(0.02 * size)))
    return np.asarray(out, dtype=np.uint8)


@dataclass
class ScenePairs:
    """`n` scenes rendered both ways: day and night (n, size, size, 3) uint8, and their records."""

    day: np.ndarray
    night: np.ndarray
    params: list[SceneParams]

    def labels(self) -> dict[str, np.ndarray]:
        rows = [p.labels() for p in self.params]
        return {k: np.array([r[k] for r in rows], dtype=np.int64) for k in rows[0]}


def make_renders(n: int, size: int = 128, seed: int = EVAL_SEED, night: bool = False, start: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8: scenes start .. start + n - 1 of split `seed`, one way only."""
    return np.stack([render_scene(scene_params(seed, i), night, size) for i in range(start, start + n)])


def make_pairs(n: int, size: int = 128, seed: int = EVAL_SEED, start: int = 0) -> ScenePairs:
    """Scenes start .. start + n - 1 of split `seed`, each rendered by day and by night."""
    params = [scene_params(seed, i) for i in range(start, start + n)]
    day = np.stack([render_scene(p, False, size) for p in params])
    night = np.stack([render_scene(p, True, size) for p in params])
    return ScenePairs(day, night, params)


def mean_luminance(image: np.ndarray) -> float:
    """Mean BT.601 luma of an RGB uint8 image, 0..255 (how the tab guesses day vs night)."""
    return float((np.asarray(image, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).mean())


def is_probably_night(image: np.ndarray) -> bool:
    """A crude guess for photos with no label: night renders have a mean luma under ~70."""
    return mean_luminance(image) < 70.0
