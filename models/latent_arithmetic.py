"""The DCGAN pipeline: seeded face samples judged by the attribute classifier, the DCGAN paper's
vector arithmetic, attribute sliders and interpolation in z, as functions the tab and the
evaluation share (AC-GAN's class-conditional sampling is models/acgan.py).

A *concept* is a partial attribute assignment, e.g. {"smile": 1, "glasses": 1} or
{"hair": "blonde"}. Exemplars of a concept are generated samples the attribute classifier assigns
to it confidently; as in the DCGAN paper, each concept is the mean z of three exemplars, and
A - B + C is decoded with a few small perturbations of the result.
"""

from __future__ import annotations

import functools
import math
import time
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from data.faces import BINARY_ATTRIBUTES, CATEGORICAL_ATTRIBUTES
from models import hub
from models.catalog import get_entry
from models.dcgan import (
    generate,
    interpolation_latents,
    load_directions,
    sample_z,
    vector_arithmetic,
)
from models.result import PipelineResult
from models.tensors import to_signed_tensor

FACES, FACE_JUDGE = "dcgan-faces", "face-attribute-classifier"  # catalog names
Concept = dict[str, int | str]
CONFIDENT = 0.8  # binary attributes: exemplars need p > 0.8 (or < 0.2)

# Analogues of the paper's "smiling woman - neutral woman + neutral man = smiling man".
PRESETS: dict[str, tuple[Concept, Concept, Concept]] = {
    "smiling, glasses − neutral, glasses + neutral, no glasses": (
        {"smile": 1, "glasses": 1}, {"smile": 0, "glasses": 1}, {"smile": 0, "glasses": 0}),
    "glasses, black hair − no glasses, black hair + no glasses, blonde hair": (
        {"glasses": 1, "hair": "black"}, {"glasses": 0, "hair": "black"}, {"glasses": 0, "hair": "blonde"}),
    "blonde, smiling − black hair, smiling + black hair, neutral": (
        {"hair": "blonde", "smile": 1}, {"hair": "black", "smile": 1}, {"hair": "black", "smile": 0}),
    "blue background, glasses − green background, glasses + green background, no glasses": (
        {"background": "blue", "glasses": 1}, {"background": "green", "glasses": 1},
        {"background": "green", "glasses": 0}),
}  # fmt: skip

# Attribute sliders of the tab: label -> direction key in attribute_directions.safetensors.
SLIDERS = {"Smile": "smile", "Glasses": "glasses", "Blonde hair": "hair=blonde",
           "Black hair": "hair=black", "Blue background": "background=blue"}  # fmt: skip
SLIDER_RANGE = 3.0  # in units of the direction (1 = the full mean difference "without" -> "with")


def target_of(a: Concept, b: Concept, c: Concept) -> Concept:
    """What A - B + C should show: C, with the attributes in which A differs from B taken from A."""
    return {**c, **{k: v for k, v in a.items() if b.get(k) != v}}


def concept_text(concept: Concept) -> str:
    parts = []
    for k, v in concept.items():
        if k in BINARY_ATTRIBUTES:
            parts.append(k if v else f"no {k}" if k == "glasses" else "neutral")
        else:
            parts.append(f"{v} {k}")
    return ", ".join(parts)


@dataclass
class Judged:
    """Classifier verdicts for a batch: binary probabilities and categorical class names."""

    probs: dict[str, np.ndarray]  # binary attribute -> (n,) probability
    classes: dict[str, list[str]]  # categorical attribute -> (n,) value names

    def row(self, i: int) -> dict[str, int | str]:
        out: dict[str, int | str] = {k: int(v[i] > 0.5) for k, v in self.probs.items()}
        out.update({k: v[i] for k, v in self.classes.items()})
        return out

    def matches(self, i: int, concept: Concept, confident: bool = False) -> bool:
        for k, v in concept.items():
            if k in BINARY_ATTRIBUTES:
                p = self.probs[k][i]
                ok = (p > CONFIDENT if v else p < 1 - CONFIDENT) if confident else (p > 0.5) == bool(v)
            else:
                ok = self.classes[k][i] == v
            if not ok:
                return False
        return True

    def describe(self, i: int) -> str:
        r = self.row(i)
        parts = [k for k in BINARY_ATTRIBUTES if r[k]] or ["neutral"]
        if "smile" not in parts and parts != ["neutral"]:
            parts.insert(0, "neutral")
        return ", ".join(parts + [f"{r['hair']} hair", f"{r['background']} bg"])


@torch.inference_mode()
def judge(classifier, images: torch.Tensor) -> Judged:
    """images (n, 3, 64, 64) in [-1, 1] -> classifier verdicts."""
    preds = {k: [] for k in classifier.heads}
    for i in range(0, len(images), 256):
        for k, v in classifier.predict(images[i:i + 256]).items():
            preds[k].append(v)
    probs = {k: torch.cat(preds[k]).numpy() for k in BINARY_ATTRIBUTES}
    classes = {k: [CATEGORICAL_ATTRIBUTES[k][j] for j in torch.cat(preds[k]).tolist()]
               for k in CATEGORICAL_ATTRIBUTES}  # fmt: skip
    return Judged(probs, classes)


def to_model_range(images: np.ndarray) -> torch.Tensor:
    """(n, H, W, 3) uint8 -> (n, 3, H, W) float in [-1, 1]."""
    return to_signed_tensor(images)


@torch.inference_mode()
def generate_and_judge(generator, classifier, z: torch.Tensor) -> tuple[np.ndarray, Judged]:
    images = generate(generator, z)
    return images, judge(classifier, to_model_range(images))


@dataclass
class ArithmeticResult:
    exemplars: dict[str, np.ndarray]  # "A"/"B"/"C" -> (k, 64, 64, 3) uint8
    concept_means: dict[str, np.ndarray]  # "A"/"B"/"C" -> decoded mean z, (64, 64, 3)
    results: np.ndarray  # (1 + perturbations, 64, 64, 3): the result, then perturbed versions
    target: Concept
    verdicts: list[dict[str, int | str]]  # classifier's reading of each result image
    success: list[bool]  # each result image shows the whole target
    z_result: torch.Tensor


# generator -> {(classifier, weights versions, concept, seed, k, pools): exemplar z}: the search is
# deterministic, and the tab's presets repeat it on every click (seconds of generation + judging)
_EXEMPLARS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _weights_version(model) -> tuple:
    return tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))


def find_exemplars(generator, classifier, concept: Concept, seed: int, k: int = 3,
                   pools: tuple[int, ...] = (256, 1024, 4096)) -> torch.Tensor | None:  # fmt: skip
    """(k, z_dim) latents of generated samples confidently showing `concept`, searched in
    growing seeded pools; None when even the largest pool has fewer than k. Cached per
    (generator, classifier, their weights, arguments)."""
    key = (id(classifier), _weights_version(generator), _weights_version(classifier),
           tuple(sorted(concept.items())), seed, k, tuple(pools))  # fmt: skip
    cache = _EXEMPLARS.setdefault(generator, {})
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        cache[key] = _search_exemplars(generator, classifier, concept, seed, k, pools)
    return None if cache[key] is None else cache[key].clone()


def _search_exemplars(generator, classifier, concept: Concept, seed: int, k: int,
                      pools: tuple[int, ...]) -> torch.Tensor | None:  # fmt: skip
    for n in pools:
        z = sample_z(n, generator.z_dim, seed)
        _, judged = generate_and_judge(generator, classifier, z)
        idx = [i for i in range(n) if judged.matches(i, concept, confident=True)]
        if len(idx) >= k:
            return z[idx[:k]]
    return None


def arithmetic(generator, classifier, z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor,
               target: Concept, seed: int = 0, perturbations: int = 4,
               noise: float = 0.25) -> ArithmeticResult:  # fmt: skip
    """Decode mean(A) - mean(B) + mean(C) and `perturbations` copies with N(0, noise^2) added
    (the paper shows the result with small uniform noise in z to show it is not a lucky point)."""
    z = vector_arithmetic(z_a, z_b, z_c)
    jitter = noise * torch.randn(perturbations, z.shape[0], generator=torch.Generator().manual_seed(seed))
    zs = torch.cat([z[None], z[None] + jitter])
    images, judged = generate_and_judge(generator, classifier, zs)
    return ArithmeticResult(
        exemplars={n: generate(generator, zz) for n, zz in (("A", z_a), ("B", z_b), ("C", z_c))},
        concept_means={n: generate(generator, zz.mean(0, keepdim=True))[0]
                       for n, zz in (("A", z_a), ("B", z_b), ("C", z_c))},
        results=images, target=target, verdicts=[judged.row(i) for i in range(len(zs))],
        success=[judged.matches(i, target) for i in range(len(zs))], z_result=z,
    )  # fmt: skip


def preset_arithmetic(generator, classifier, preset: str, seed: int) -> tuple[ArithmeticResult, list[torch.Tensor]] | None:
    """One of the tab's PRESETS at a seed, as the tab runs it: three exemplars per concept (concept k
    searched with seed 3 * seed + k), then A - B + C and four perturbations. None when a concept has
    no confident exemplars."""
    concepts = PRESETS[preset]
    zs = []
    for k, concept in enumerate(concepts):
        z = find_exemplars(generator, classifier, concept, seed=seed * 3 + k)
        if z is None:
            return None
        zs.append(z)
    return arithmetic(generator, classifier, *zs, target=target_of(*concepts), seed=seed), zs


def check_slider(value, name: str, limit: float = SLIDER_RANGE) -> float:
    """A slider value from the UI/API as a finite float within [-limit, limit] (ValueError otherwise)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or abs(v) > limit:
        raise ValueError(f"{name} must be between -{limit:g} and {limit:g}, got {value!r}")
    return v


def move_along(z: torch.Tensor, directions: dict[str, torch.Tensor], amounts: dict[str, float]) -> torch.Tensor:
    """z (z_dim,) + sum_k amounts[k] * directions[k]; keys missing from `directions` are ignored."""
    out = z.clone()
    for key, a in amounts.items():
        if key in directions and a:
            out = out + a * directions[key]
    return out


# --- by name: what the tab calls -------------------------------------------------------------------


def face_models() -> tuple[hub.LoadedModel, hub.LoadedModel]:
    """(the DCGAN, the attribute classifier that judges it). Raises hub.ModelUnavailable."""
    return hub.load(FACES), hub.load(FACE_JUDGE)


@functools.cache
def attribute_directions() -> dict[str, torch.Tensor]:
    """The embedded DCGAN's attribute directions in z ({} when the checkpoint has none)."""
    return load_directions(get_entry(FACES).embedded_dir)


def sample_faces(z: torch.Tensor) -> PipelineResult:
    """Faces decoded from latents (n, z_dim), each read by the attribute classifier. .images
    (n, 64, 64, 3) uint8; .numbers["judged"]: the Judged verdicts; .seconds: generation and judging."""
    g, clf = face_models()
    t = time.perf_counter()
    images, judged = generate_and_judge(g.model, clf.model, z)
    return PipelineResult(FACES, get_entry(FACES).title, images[0], time.perf_counter() - t, g.source,
                          g.provenance(), g.notice, images=images, numbers={"judged": judged},
                          details={"judge": clf.provenance()})  # fmt: skip


def interpolate_faces(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> PipelineResult:
    """`steps` faces along the great circle from z0 to z1 (slerp). .images (steps, 64, 64, 3)."""
    g = hub.load(FACES)
    t = time.perf_counter()
    images = generate(g.model, interpolation_latents(z0, z1, steps))
    return PipelineResult(FACES, get_entry(FACES).title, images[0], time.perf_counter() - t, g.source,
                          g.provenance(), g.notice, images=images)  # fmt: skip
