"""Text to image by name: GAN-INT-CLS (models/gan_int_cls.py) with the text encoder it was trained
on, and the CLIP that scores its samples. The tab, eval/text2image.py and the training previews
call these; inference only.

CLIP scores come from `score_clip()`: OpenAI CLIP ViT-B/32 (catalog "openai-clip-b32", pinned Hub
commit) when it can be loaded (cached, or the Hub answers), else the LiT scene CLIP the GAN was
trained on; every result names the one that ran (numbers["clip_name"]).

The rule for "which text encoder does this GAN use" lives here and only here: the one named in
the GAN's config (`text_encoder`), loaded by `load_text_encoder`: a catalog name through hub.load
(cached, so it is the very object a judge loaded by that name is), a local checkpoint directory
with SceneCLIP.from_pretrained (strict); anything else (e.g. an unpinned Hub id) is
ModelUnavailable. Its embedding width must be the GAN's text width.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from models import hub
from models.catalog import CATALOG
from models.gan_int_cls import GanIntCls, lerp_embeddings, render, seeded_z
from models.result import PipelineResult, method_title
from models.scene_clip import SceneCLIP, clip_scores, encode_batched
from models.tensors import to_signed_tensor

GAN_NAME = "gan-int-cls-scenes"  # the embedded GAN-INT-CLS
DEFAULT_TEXT_ENCODER = "scene-clip"  # the LiT scene CLIP trained here
SCORE_CLIP = "openai-clip-b32"  # OpenAI CLIP for CLIP scores, where it can be loaded
GENERATE_BATCH = 200  # captions encoded and rendered per step in generate_images


def load_text_encoder(name: str, source: hub.Source | None = None) -> SceneCLIP:
    """A text encoder by catalog name or local checkpoint directory (see the module docstring).
    Raises hub.ModelUnavailable."""
    if name in CATALOG:
        return hub.load(name, source).model
    if Path(name).is_dir():
        return SceneCLIP.from_pretrained(name)
    raise hub.ModelUnavailable(f"The text encoder {name!r} is neither in this app's model catalog nor a local "
                               "checkpoint directory.")  # fmt: skip


def text_encoder_for(gan: GanIntCls) -> SceneCLIP:
    """The text encoder `gan` was trained on (its config names it). Raises hub.ModelUnavailable
    when it cannot be loaded or gives embeddings of another width."""
    name = getattr(gan, "text_encoder", DEFAULT_TEXT_ENCODER)
    try:
        encoder = load_text_encoder(name)
    except hub.ModelUnavailable as exc:
        raise hub.ModelUnavailable(f"This GAN-INT-CLS checkpoint was trained on the text encoder {name!r}, "
                                   f"which cannot be loaded: {exc}") from None  # fmt: skip
    if encoder.embed_dim != gan.text_dim:
        raise hub.ModelUnavailable(f"The text encoder {name!r} gives {encoder.embed_dim}-d embeddings; "
                                   f"this GAN-INT-CLS checkpoint expects {gan.text_dim}-d.")  # fmt: skip
    return encoder


def score_clip(fallback: SceneCLIP) -> tuple[object, str, str | None]:
    """(the CLIP that scores samples, its name, a notice or None): OpenAI CLIP when hub.load can
    give it, else `fallback` (the GAN's own LiT scene CLIP)."""
    try:
        loaded = hub.load(SCORE_CLIP)
    except hub.ModelUnavailable as exc:
        return fallback, fallback_name(fallback), str(exc)
    return loaded.model, loaded.title, loaded.notice


def fallback_name(clip) -> str:
    return getattr(clip, "title", "LiT scene CLIP (trained here)")


def load_models(name: str = GAN_NAME) -> tuple[hub.LoadedModel, SceneCLIP]:
    """(the loaded GAN, the text encoder it was trained on). Raises hub.ModelUnavailable."""
    loaded = hub.load(name)
    return loaded, text_encoder_for(loaded.model)


@torch.inference_mode()
def generate_images(gan: GanIntCls, encoder: SceneCLIP, captions: list[str], seeds: list[int],
                    batch: int = GENERATE_BATCH) -> np.ndarray:  # fmt: skip
    """One sample per seed, z from its seed (seeded_z): (n, 64, 64, 3) uint8. `captions` holds one
    caption per seed, or a single caption for all of them (encoded once)."""
    if len(captions) == 1 and len(seeds) > 1:
        return render(gan, seeded_z(seeds, gan.z_dim), encode_batched(encoder, captions, "text"))
    if len(captions) != len(seeds):
        raise ValueError(f"{len(captions)} captions for {len(seeds)} seeds")
    parts = []
    for i in range(0, len(captions), batch):
        t = encode_batched(encoder, captions[i : i + batch], "text", batch)
        parts.append(render(gan, seeded_z(seeds[i : i + batch], gan.z_dim), t))
    return np.concatenate(parts)


def sample(loaded: hub.LoadedModel, encoder: SceneCLIP, caption: str, seeds: list[int],
           scorer: tuple | None = None) -> PipelineResult:  # fmt: skip
    """Samples of one (checked) caption, one per seed. .images (n, 64, 64, 3) uint8; .seconds:
    text encoding and generation (scoring excluded); .numbers["clip_score"]: (n,) CLIP scores with
    the scorer (score_clip(encoder) by default), named in .numbers["clip_name"];
    .details["nearest"]: the nearest training captions [(caption, cosine)]."""
    clip, clip_name, note = scorer or score_clip(encoder)
    t = time.perf_counter()
    images = generate_images(loaded.model, encoder, [caption], seeds)
    seconds = time.perf_counter() - t
    scores = clip_scores(clip, images, [caption] * len(images))
    nearest = encoder.nearest_training_captions(caption) if hasattr(encoder, "nearest_training_captions") else []
    return _result(loaded, images, seconds, seeds[0] if seeds else None,
                   {"clip_score": scores, "clip_name": clip_name},
                   {"caption": caption, "seeds": list(seeds), "nearest": nearest, "clip_notice": note})  # fmt: skip


@torch.inference_mode()
def interpolate(loaded: hub.LoadedModel, encoder: SceneCLIP, caption_a: str, caption_b: str, seed: int,
                steps: int, scorer: tuple | None = None) -> PipelineResult:  # fmt: skip
    """GAN-INT: one z (from `seed`), the text embedding moved from caption A (beta 1) to B (beta 0)
    in `steps`. .images (steps, 64, 64, 3); .numbers: "beta", "clip_score_a", "clip_score_b",
    "clip_name"."""
    gan = loaded.model
    clip, clip_name, _ = scorer or score_clip(encoder)
    t = time.perf_counter()
    ends = encode_batched(encoder, [caption_a, caption_b], "text")
    phi = lerp_embeddings(ends[0], ends[1], steps)
    images = render(gan, seeded_z([seed], gan.z_dim).expand(steps, -1), phi)
    seconds = time.perf_counter() - t
    numbers = {"beta": torch.linspace(1.0, 0.0, steps).tolist(),
               "clip_score_a": clip_scores(clip, images, [caption_a] * steps),
               "clip_score_b": clip_scores(clip, images, [caption_b] * steps), "clip_name": clip_name}  # fmt: skip
    return _result(loaded, images, seconds, seed, numbers, {"captions": [caption_a, caption_b]})


@torch.inference_mode()
def restyle(loaded: hub.LoadedModel, encoder: SceneCLIP, image: np.ndarray, captions: list[str],
            scorer: tuple | None = None) -> PipelineResult:  # fmt: skip
    """Style transfer through the style encoder: z = S(x) for a (64, 64, 3) uint8 image, rendered
    with each caption. .images (len(captions), 64, 64, 3); .numbers["clip_score"] per caption and
    "clip_name"; .details["z"]: S(x), (1, z_dim)."""
    gan = loaded.model
    clip, clip_name, _ = scorer or score_clip(encoder)
    t = time.perf_counter()
    z = gan.eval().style(to_signed_tensor(image[None]))
    phi = encode_batched(encoder, captions, "text")
    images = render(gan, z.expand(len(phi), -1), phi)
    seconds = time.perf_counter() - t
    return _result(loaded, images, seconds, None,
                   {"clip_score": clip_scores(clip, images, captions), "clip_name": clip_name},
                   {"captions": list(captions), "z": z})  # fmt: skip


def _result(loaded: hub.LoadedModel, images: np.ndarray, seconds: float, seed: int | None, numbers: dict,
            details: dict) -> PipelineResult:  # fmt: skip
    title = method_title(loaded.name, default=loaded.name)
    return PipelineResult(loaded.name, title, images[0], seconds, loaded.source, loaded.provenance(),
                          loaded.notice, images=images, seed=seed, numbers=numbers, details=details)  # fmt: skip
