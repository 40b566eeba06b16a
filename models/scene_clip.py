"""The CLIPs of the text-to-image tab: caption -> unit text embedding, image -> unit image embedding.

`SceneCLIP` is a locked-text CLIP (LiT, Zhai et al. 2022, "LiT: Zero-Shot Transfer with
Locked-image text Tuning", here with the *text* side locked): a pretrained sentence encoder,
frozen (models/text_tower.py: all-MiniLM-L6-v2 from PyPI offline, or a CLIP text tower), a
projection trained here (2-layer MLP), and an image tower trained here from scratch (transformers'
CLIPVisionModel, a small ViT, + a linear projection), both trained contrastively on captioned
scenes (training/text2image.py). Because the text tower is pretrained, any English caption gets an
embedding (no vocabulary list). Checkpoint: PyTorchModelHubMixin (config.json + model.safetensors
of the vision tower and both projections, loaded strictly); the frozen tower's weights are not in
it: `text_tower` in the config names it and `text_tower_sha256` pins its weights file.

`OpenAICLIP` wraps transformers' CLIPModel + tokenizer (openai/clip-vit-base-patch32 from the Hub
at a pinned commit, models/catalog.py) with the same interface, for CLIP scores labelled "OpenAI
CLIP" where it can be loaded.

Both: check_caption, encode_text, encode_images, clip_score, embed_dim; encode_batched and
clip_scores below work on either.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.text_tower import MINILM, encode_captions, load_text_tower

MAX_CAPTION_CHARS = 300
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's image normalisation
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TEXT_CACHE = 4096  # tower vectors kept per model (the tab asks for the same captions again)
HUB_TAGS = ["clip", "lit", "zero-shot-image-classification", "gan-gallery"]


class CaptionError(ValueError):
    """A caption the text encoder cannot read; the message is for a person."""


def check_caption(caption: object) -> str:
    """The caption, tidied (Unicode NFKC, control characters and runs of spaces collapsed), or a
    CaptionError saying what is wrong: not text, empty, no letters, over MAX_CAPTION_CHARS."""
    if not isinstance(caption, str):
        raise CaptionError("The caption must be text.")
    text = unicodedata.normalize("NFKC", caption)
    text = re.sub(r"\s+", " ", "".join(ch if ch.isprintable() else " " for ch in text)).strip()
    if not text:
        raise CaptionError("Type a caption first, e.g. 'two red balls and a blue cube'.")
    if len(text) > MAX_CAPTION_CHARS:
        raise CaptionError(f"The caption is {len(caption):,} characters long; at most {MAX_CAPTION_CHARS} "
                           "are read. Describe up to four objects in one sentence.")  # fmt: skip
    if not any(ch.isalpha() for ch in text):
        raise CaptionError("The caption has no words; type e.g. 'two red balls and a blue cube'.")
    return text


def _pixels(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """(B, H, W, 3) uint8, or (B, 3, H, W) in [-1, 1] -> (B, 3, size, size), CLIP-normalised."""
    if isinstance(images, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(images[..., :3])).permute(0, 3, 1, 2).float() / 255.0
    else:
        x = (images.float() + 1) / 2
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
    return (x.clamp(0, 1) - mean) / std


def small_vision_config(width: int = 128, layers: int = 4, image_size: int = 64, patch: int = 8) -> dict:
    return dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers, num_attention_heads=4,
                image_size=image_size, patch_size=patch)  # fmt: skip


class _ClipScoring:
    """CLIP score and the shared caption rule, for both CLIPs."""

    check_caption = staticmethod(check_caption)

    @torch.no_grad()
    def clip_score(self, images: np.ndarray, captions: list[str]) -> np.ndarray:
        """CLIP score per (image, caption) pair: 100 * max(cosine, 0) (Hessel et al. 2021 scale
        it by w = 2.5 for ViT-B/32; the plain scaled cosine is reported, and labelled so)."""
        t = self.encode_text(captions)
        v = self.encode_images(images)
        return (100 * (t * v).sum(-1).clamp(min=0)).numpy()


class SceneCLIP(nn.Module, _ClipScoring, PyTorchModelHubMixin, library_name="pytorch", tags=HUB_TAGS):
    """LiT scene CLIP (module docstring). forward is not used; see encode_text / encode_images."""

    title = "LiT scene CLIP (trained here)"

    def __init__(self, text_tower: str = MINILM, text_dim: int = 384, embed_dim: int = 128, text_hidden: int = 512,
                 vision: dict | None = None, text_tower_sha256: str | None = None,
                 reference_scenes: int = 0, reference_captions: int = 0) -> None:  # fmt: skip
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModel

        self.text_tower, self.text_dim, self._embed_dim = text_tower, text_dim, embed_dim
        self.text_tower_sha256 = text_tower_sha256
        vision_cfg = CLIPVisionConfig(**(vision or small_vision_config()))
        self.vision = CLIPVisionModel(vision_cfg)
        self.visual_projection = nn.Linear(vision_cfg.hidden_size, embed_dim, bias=False)
        self.text_projection = nn.Sequential(nn.Linear(text_dim, text_hidden), nn.GELU(),
                                             nn.Linear(text_hidden, embed_dim))  # fmt: skip
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature
        # The frozen tower's vectors of the captions of the first `reference_scenes` training scenes
        # (data.text_scenes.training_captions), for "how near is a caption to the training ones".
        self.reference_scenes = reference_scenes
        self.register_buffer("reference", torch.zeros(reference_captions, text_dim))
        self._vectors: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def embed_dim(self) -> int:
        return self._embed_dim

    @property
    def image_size(self) -> int:
        return int(self.vision.config.image_size)

    def tower(self):
        """The frozen text tower (loaded once per process), checked against the pinned weights."""
        tower = load_text_tower(self.text_tower)
        if tower.dim != self.text_dim:
            raise ValueError(f"the text tower {self.text_tower} gives {tower.dim}-d vectors; this CLIP expects "
                             f"{self.text_dim}-d")  # fmt: skip
        digest = getattr(tower, "weights_sha256", None)
        if self.text_tower_sha256 and digest and digest != self.text_tower_sha256:
            raise ValueError(f"the installed {self.text_tower} weights (sha256 {digest[:12]}…) are not the ones this "
                             f"CLIP was trained on ({self.text_tower_sha256[:12]}…)")  # fmt: skip
        return tower

    def tower_vectors(self, captions: list[str]) -> torch.Tensor:
        """(B, text_dim) frozen-tower vectors, from a small per-model cache where it has them."""
        with self._lock:
            todo = list(dict.fromkeys(c for c in captions if c not in self._vectors))
        if todo:
            fresh = encode_captions(self.tower(), todo)
            with self._lock:
                for c, v in zip(todo, fresh, strict=True):
                    self._vectors[c] = v
                while len(self._vectors) > TEXT_CACHE:
                    self._vectors.popitem(last=False)
        with self._lock:
            got = {c: self._vectors.get(c) for c in captions}
        missing = [c for c, v in got.items() if v is None]  # evicted meanwhile by another thread
        if missing:
            got.update(zip(missing, encode_captions(self.tower(), missing), strict=True))
        return torch.stack([got[c] for c in captions]).to(self.logit_scale.device)

    def nearest_training_captions(self, caption: str, k: int = 3) -> list[tuple[str, float]]:
        """The k training captions nearest to `caption` by cosine of the frozen tower's sentence
        vectors, [(caption, cosine)], best first; [] when the checkpoint has no reference set."""
        if not len(self.reference):
            return []
        from data.text_scenes import training_captions

        per_scene = len(self.reference) // max(self.reference_scenes, 1)  # the caption pool of its training run
        texts = training_captions(self.reference_scenes, per_scene)
        if len(texts) != len(self.reference):
            raise ValueError(f"{len(texts)} reference captions for {len(self.reference)} stored vectors")
        sims = (self.reference @ self.tower_vectors([caption])[0].to(self.reference)).tolist()
        best: list[tuple[str, float]] = []
        for i in sorted(range(len(sims)), key=lambda i: -sims[i]):
            if all(texts[i] != t for t, _ in best):
                best.append((texts[i], float(sims[i])))
            if len(best) == k:
                break
        return best

    def project_text(self, vectors: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """(B, text_dim) tower vectors -> (B, embed_dim) text embeddings."""
        emb = self.text_projection(vectors)
        return F.normalize(emb, dim=-1) if normalize else emb

    def encode_text(self, captions: list[str], normalize: bool = True) -> torch.Tensor:
        return self.project_text(self.tower_vectors(list(captions)), normalize)

    def preprocess(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        return _pixels(images, self.image_size)

    def encode_images(self, images: np.ndarray | torch.Tensor, normalize: bool = True) -> torch.Tensor:
        x = self.preprocess(images).to(self.logit_scale.device)
        emb = self.visual_projection(self.vision(pixel_values=x).pooler_output)
        return F.normalize(emb, dim=-1) if normalize else emb

    def contrastive_loss(self, images: torch.Tensor, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """CLIP's symmetric InfoNCE over a batch of images (B, 3, H, W) in [-1, 1] and their
        captions' tower vectors (B, text_dim); and the image->text top-1 accuracy."""
        t = self.project_text(vectors)
        v = self.encode_images(images)
        logits = self.logit_scale.exp().clamp(max=100) * v @ t.T
        target = torch.arange(len(t), device=t.device)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        return loss, (logits.argmax(1) == target).float().mean()

    def forward(self, images: torch.Tensor, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.contrastive_loss(images, vectors)


class OpenAICLIP(nn.Module, _ClipScoring):
    """transformers' CLIPModel with its tokenizer (e.g. openai/clip-vit-base-patch32)."""

    title = "OpenAI CLIP ViT-B/32"

    def __init__(self, clip, tokenizer) -> None:
        super().__init__()
        self.clip, self.tokenizer = clip, tokenizer

    @classmethod
    def from_pretrained(cls, path: str | Path, output_loading_info: bool = False, **kw):
        """Reads a transformers CLIP directory (config.json, model.safetensors, tokenizer files);
        (model, loading info) with output_loading_info, as transformers' from_pretrained."""
        from transformers import AutoTokenizer, CLIPModel

        clip, info = CLIPModel.from_pretrained(str(path), output_loading_info=True, **kw)
        wrapped = cls(clip.eval(), AutoTokenizer.from_pretrained(str(path)))
        return (wrapped, info) if output_loading_info else wrapped

    @property
    def config(self):
        return self.clip.config

    @property
    def embed_dim(self) -> int:
        return int(self.clip.config.projection_dim)

    @property
    def image_size(self) -> int:
        return int(self.clip.config.vision_config.image_size)

    def encode_text(self, captions: list[str], normalize: bool = True) -> torch.Tensor:
        length = int(self.clip.config.text_config.max_position_embeddings)
        tok = self.tokenizer(list(captions), padding=True, truncation=True, max_length=length, return_tensors="pt")
        emb = self.clip.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        emb = getattr(emb, "pooler_output", emb)  # transformers 5 may return an output object
        return F.normalize(emb, dim=-1) if normalize else emb

    def encode_images(self, images: np.ndarray | torch.Tensor, normalize: bool = True) -> torch.Tensor:
        emb = self.clip.get_image_features(pixel_values=_pixels(images, self.image_size))
        emb = getattr(emb, "pooler_output", emb)
        return F.normalize(emb, dim=-1) if normalize else emb


@torch.inference_mode()
def encode_batched(clip, items: list[str] | np.ndarray, kind: str, batch: int = 256,
                   normalize: bool = True) -> torch.Tensor:  # fmt: skip
    """The one batched CLIP encoder: captions (kind="text") or (N, H, W, 3) uint8 images
    (kind="image") -> (N, embed_dim) float32, `batch` at a time (unit length by default)."""
    if kind not in ("text", "image"):
        raise ValueError(f"kind must be 'text' or 'image', got {kind!r}")
    encode = clip.encode_text if kind == "text" else clip.encode_images
    if len(items) == 0:
        return torch.zeros(0, clip.embed_dim)
    return torch.cat([encode(items[i : i + batch], normalize=normalize).float().cpu()
                      for i in range(0, len(items), batch)])  # fmt: skip


@torch.inference_mode()
def clip_scores(clip, images: np.ndarray, captions: list[str], batch: int = 256) -> np.ndarray:
    """(N,) CLIP scores (100 * max(cosine, 0)) of (image, caption) pairs, `batch` pairs at a time."""
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if len(images) == 0:
        return np.zeros(0, np.float32)
    return np.concatenate([clip.clip_score(images[i : i + batch], captions[i : i + batch])
                           for i in range(0, len(images), batch)])  # fmt: skip
