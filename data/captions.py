"""Captions of procedural scenes (data/text_scenes.py): many templates, synonyms and word orders,
and a fixed set of phrasings held out of training entirely, for the probes.

Every caption states, for each group of same-coloured same-shaped objects, how many there are,
their colour and their shape (so the scene's content can be read back from it); templates differ
in word order, framing words, sizes and positions. Words are drawn per slot: the plain word most
of the time, else a synonym.

Held out of training (never produced with heldout=False), and used only by the probes:
- whole templates: HELDOUT_TEMPLATES (colour after the noun in a relative clause, "we can see ...",
  "... , N in total", "an image showing ...");
- words: HELDOUT_WORDS (e.g. "crimson", "violet", "box", "orb", "tiny", "a pair of",
  "in the distance").
A held-out caption (heldout=True) uses a held-out template and, in each slot that has one, a
held-out word half of the time.
"""

from __future__ import annotations

import numpy as np

NUMBER_WORDS = ("zero", "one", "two", "three", "four")

# slot -> (training words, held-out words); the first training word is the plain one
COLOUR_WORDS = {
    "red": (("red", "scarlet"), ("crimson",)),
    "orange": (("orange",), ("tangerine",)),
    "yellow": (("yellow", "golden"), ("lemon",)),
    "green": (("green", "lime"), ("emerald",)),
    "blue": (("blue", "azure"), ("sapphire",)),
    "purple": (("purple", "lilac"), ("violet",)),
}
SHAPE_WORDS = {  # (singular, plural)
    "cube": ((("cube", "cubes"), ("block", "blocks")), (("box", "boxes"),)),
    "ball": ((("ball", "balls"), ("sphere", "spheres")), (("orb", "orbs"),)),
    "cone": ((("cone", "cones"), ("pyramid", "pyramids")), (("conical shape", "conical shapes"),)),
}
SIZE_WORDS = {"small": (("small", "little"), ("tiny",)), "large": (("large", "big"), ("huge",))}
COUNT_WORDS = {  # how a group of n is counted (n = 1: an article or "one")
    1: (("a", "one"), ("a single", "just one")),
    2: (("two", "2"), ("a pair of",)),
    3: (("three", "3"), ("a trio of",)),
    4: (("four", "4"), ("a group of four",)),
}
POSITION_WORDS = {
    "near": (("near the camera", "in the foreground"), ("close to the viewer",)),
    "far": (("far away", "in the background"), ("in the distance",)),
    "left": (("on the left",), ("to the left",)),
    "right": (("on the right",), ("to the right",)),
}
OBJECT_WORDS = ((("object", "objects"), ("shape", "shapes")), (("item", "items"), ("thing", "things")))
GROUND_WORDS = (("on the ground", "on the floor", "on a grey plane"), ("resting on the grey floor",))

TRAIN_TEMPLATES = ("grouped", "grouped_sized", "count_first", "there_are", "spatial", "scene_with", "on_ground",
                   "reversed", "comma_list", "picture_of", "ground_first", "beside")  # fmt: skip
HELDOUT_TEMPLATES = ("colour_after", "we_can_see", "in_total", "image_showing")
TEMPLATES = TRAIN_TEMPLATES  # what training draws from


def heldout_words() -> set[str]:
    """Every word or phrase that only held-out captions use."""
    out: set[str] = set()
    for table in (COLOUR_WORDS, SIZE_WORDS, COUNT_WORDS, POSITION_WORDS):
        for _, held in table.values():
            out |= set(held)
    for _, held in SHAPE_WORDS.values():
        out |= {w for pair in held for w in pair}
    out |= {w for pair in OBJECT_WORDS[1] for w in pair} | set(GROUND_WORDS[1])
    return out


HELDOUT_WORDS = frozenset(heldout_words())
# Captions the training previews and the before/after sheet draw (the 7th a held-out phrasing, the
# last a colour-shape pair held out of training).
PREVIEW_CAPTIONS = ("a red ball", "two blue cubes", "three green cones", "a yellow ball and a purple cube",
                    "four orange balls", "a large green cube near the camera", "we can see a pair of violet orbs",
                    "a red cone")  # fmt: skip


class _Words:
    """Draws a word per slot: rng None -> the plain word; training -> plain 60%, else a training
    synonym; held out -> a held-out word (where the slot has one) half the time."""

    def __init__(self, rng: np.random.Generator | None, heldout: bool) -> None:
        self.rng, self.heldout = rng, heldout

    def pick(self, train: tuple, held: tuple):
        if self.rng is None:
            return train[0]
        if self.heldout and held and self.rng.random() < 0.5:
            return held[int(self.rng.integers(len(held)))]
        if len(train) == 1 or self.rng.random() < 0.6:
            return train[0]
        return train[1 + int(self.rng.integers(len(train) - 1))]

    def chance(self, p: float) -> bool:
        return self.rng is not None and self.rng.random() < p


def _article(next_word: str) -> str:
    return "an" if next_word[0] in "aeiou" else "a"


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _count(n: int, words: _Words, first: str) -> str:
    w = words.pick(*COUNT_WORDS[n])
    return _article(first) if w == "a" else w


def _phrase(colour: str, shape: str, objs: list, words: _Words, sized: bool = False,
            colour_after: bool = False) -> str:  # fmt: skip
    """'two red balls', 'a small blue cube', or (colour_after) 'two balls that are red'."""
    n = len(objs)
    noun = words.pick(*SHAPE_WORDS[shape])[0 if n == 1 else 1]
    col = words.pick(*COLOUR_WORDS[colour])
    size = words.pick(*SIZE_WORDS[objs[0].size]) if sized and n == 1 else None
    if colour_after:
        body = f"{size} {noun}" if size else noun
        head = _count(n, words, body)
        return f"{head} {body} that {'is' if n == 1 else 'are'} {col}"
    body = " ".join(w for w in (size, col, noun) if w)
    return f"{_count(n, words, body)} {body}"


def _position(o) -> str | None:
    if o.z < 3.0:
        return "near"
    if o.z > 4.2:
        return "far"
    if o.x < 24:
        return "left"
    if o.x > 40:
        return "right"
    return None


def groups(scene) -> list[tuple[str, str, list]]:
    """(colour, shape, objects) per group, in left-to-right order of each group's first object."""
    found: dict[tuple[str, str], list] = {}
    for o in sorted(scene.objects, key=lambda o: o.x):
        found.setdefault((o.colour, o.shape), []).append(o)
    return [(c, s, objs) for (c, s), objs in found.items()]


def caption(scene, rng: np.random.Generator | None = None, template: str | None = None,
            heldout: bool = False) -> str:  # fmt: skip
    """One caption of `scene`. rng None: the plain 'grouped' caption ("two red balls and a blue
    cube"). Otherwise a template drawn from TRAIN_TEMPLATES (HELDOUT_TEMPLATES with heldout=True)
    and words drawn per slot (see _Words)."""
    if template is None:
        template = "grouped" if rng is None else str(rng.choice(HELDOUT_TEMPLATES if heldout else TRAIN_TEMPLATES))
    if template not in TRAIN_TEMPLATES + HELDOUT_TEMPLATES:
        raise ValueError(f"unknown caption template {template!r}")
    words = _Words(rng, heldout)
    gs = groups(scene)
    n_total = len(scene.objects)
    few_singles = n_total <= 2 and all(len(g[2]) == 1 for g in gs)
    if template == "spatial" and not few_singles:
        template = "grouped_sized"
    phrases = [_phrase(c, s, objs, words, sized=template == "grouped_sized", colour_after=template == "colour_after")
               for c, s, objs in gs]  # fmt: skip
    listed = _join(phrases)
    obj_noun = words.pick(*OBJECT_WORDS)

    if template in ("grouped", "grouped_sized", "colour_after"):
        return listed
    if template == "count_first":
        head = f"{_article(obj_noun[0])} {obj_noun[0]}" if n_total == 1 else f"{NUMBER_WORDS[n_total]} {obj_noun[1]}"
        return f"{head}: {listed}"
    if template == "there_are":
        return f"there {'is' if len(gs[0][2]) == 1 else 'are'} {listed}"
    if template == "scene_with":
        return f"a scene with {listed}"
    if template == "on_ground":
        return f"{listed} {words.pick(*GROUND_WORDS)}"
    if template == "reversed":
        return _join(phrases[::-1])
    if template == "comma_list":
        return ", ".join(phrases)
    if template == "picture_of":
        return f"a picture of {listed}"
    if template == "ground_first":
        return f"{words.pick(*GROUND_WORDS)}: {listed}"
    if template == "beside":
        return phrases[0] if len(phrases) == 1 else f"{phrases[-1]} beside {_join(phrases[:-1])}"
    if template == "we_can_see":
        return f"we can see {_join(_spatial_parts(gs, words)) if few_singles else listed}"
    if template == "in_total":
        return f"{listed}, {NUMBER_WORDS[n_total]} in total"
    if template == "image_showing":
        return f"an image showing {listed} {words.pick(*GROUND_WORDS)}"
    return _join(_spatial_parts(gs, words))


def _spatial_parts(gs: list, words: _Words) -> list[str]:
    """One or two single objects, each with its size, and where it stands when that is clear."""
    parts = []
    for c, s, objs in gs:
        o = objs[0]
        body = " ".join((words.pick(*SIZE_WORDS[o.size]), words.pick(*COLOUR_WORDS[c]),
                         words.pick(*SHAPE_WORDS[s])[0]))  # fmt: skip
        where = _position(o)
        text = f"{_article(body)} {body}"
        parts.append(f"{text} {words.pick(*POSITION_WORDS[where])}" if where else text)
    return parts


def heldout_caption(scene, rng: np.random.Generator) -> str:
    """A held-out phrasing of `scene` (a held-out template; held-out words in half the slots)."""
    return caption(scene, rng, heldout=True)
