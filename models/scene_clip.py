"""A CLIP text encoder (and image tower) for the text-to-image tab, as a transformers CLIPModel.

No pretrained CLIP can be fetched on the machine this project is built on, so `SceneCLIP.create()`
makes a small CLIP (both towers) with a word-level tokenizer over the scene captions' vocabulary;
training/text2image.py trains it contrastively on scene/caption pairs and saves it with
save_pretrained (config.json, model.safetensors, tokenizer files) as an embedded checkpoint.
`SceneCLIP.from_pretrained` reads that directory or any Hub CLIP (e.g. openai/clip-vit-base-patch32)
with its own tokenizer, so a machine that has a real CLIP can train the GAN on it instead.

Captions are checked before encoding: empty, too long, or containing words the tokenizer does not
know give a CaptionError whose message says which words and what the model knows.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MAX_CAPTION_CHARS = 300
MAX_TOKENS = 32  # including the start and end tokens (the small CLIP's context length)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's image normalisation
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SPECIALS = ("<|pad|>", "<|startoftext|>", "<|unk|>", "<|endoftext|>")
PAD_ID, BOS_ID, UNK_ID, EOS_ID = 0, 1, 2, 3  # EOS must not be 2: transformers' legacy pooling rule


class CaptionError(ValueError):
    """A caption the text encoder cannot read; the message is for a person."""


def build_word_tokenizer(words: list[str]):
    """A word-level PreTrainedTokenizerFast: lower-cased, split on spaces and punctuation,
    wrapped in start/end tokens, unknown words -> <|unk|>."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for w in words:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token=SPECIALS[UNK_ID]))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SPECIALS[BOS_ID]} $A {SPECIALS[EOS_ID]}",
        special_tokens=[(SPECIALS[BOS_ID], BOS_ID), (SPECIALS[EOS_ID], EOS_ID)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=SPECIALS[PAD_ID], bos_token=SPECIALS[BOS_ID],
        unk_token=SPECIALS[UNK_ID], eos_token=SPECIALS[EOS_ID], model_max_length=MAX_TOKENS,
    )  # fmt: skip


def small_clip_config(vocab_size: int, width: int = 128, layers: int = 3, image_size: int = 64):
    from transformers import CLIPConfig

    common = dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
                  num_attention_heads=4)  # fmt: skip
    return CLIPConfig(
        text_config=dict(vocab_size=vocab_size, max_position_embeddings=MAX_TOKENS, pad_token_id=PAD_ID,
                         bos_token_id=BOS_ID, eos_token_id=EOS_ID, **common),
        vision_config=dict(image_size=image_size, patch_size=8, **common),
        projection_dim=width,
    )  # fmt: skip


class SceneCLIP(nn.Module):
    """A CLIPModel and its tokenizer: caption -> unit text embedding, image -> unit image embedding."""

    def __init__(self, clip, tokenizer) -> None:
        super().__init__()
        self.clip = clip
        self.tokenizer = tokenizer

    @classmethod
    def create(cls, words: list[str], **config) -> SceneCLIP:
        from transformers import CLIPModel

        tokenizer = build_word_tokenizer(words)
        return cls(CLIPModel(small_clip_config(len(tokenizer), **config)), tokenizer)

    @classmethod
    def from_pretrained(cls, path: str | Path, strict: bool = True, revision: str | None = None,
                        local_files_only: bool = False, **_) -> SceneCLIP:
        from transformers import AutoTokenizer, CLIPModel

        kw = dict(revision=revision, local_files_only=local_files_only)
        clip, info = CLIPModel.from_pretrained(str(path), output_loading_info=True, **kw)
        # transformers only warns about missing or unexpected weights; a text encoder with a
        # freshly initialised projection would give random embeddings, so refuse it instead.
        bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
        if strict and bad:
            raise ValueError("checkpoint does not match the CLIP model: "
                             + "; ".join(f"{k.replace('_', ' ')}: {', '.join(map(str, list(v)[:5]))}"
                                         for k, v in bad.items()))  # fmt: skip
        tokenizer = AutoTokenizer.from_pretrained(str(path), **kw)
        return cls(clip.eval(), tokenizer)

    def save_pretrained(self, directory: str | Path) -> None:
        self.clip.save_pretrained(str(directory))
        self.tokenizer.save_pretrained(str(directory))

    @property
    def embed_dim(self) -> int:
        return int(self.clip.config.projection_dim)

    @property
    def image_size(self) -> int:
        return int(self.clip.config.vision_config.image_size)

    @property
    def context_length(self) -> int:
        return int(self.clip.config.text_config.max_position_embeddings)

    @property
    def word_level(self) -> bool:
        return self.tokenizer.unk_token_id == UNK_ID and self.tokenizer.convert_tokens_to_ids(SPECIALS[PAD_ID]) == PAD_ID

    def known_words(self) -> list[str]:
        return sorted(w for w in self.tokenizer.get_vocab() if w not in SPECIALS)

    # --- captions ---------------------------------------------------------------------------

    def check_caption(self, caption: object) -> str:
        """The caption, tidied (spaces collapsed), or CaptionError saying what is wrong with it."""
        if not isinstance(caption, str):
            raise CaptionError("The caption must be text.")
        text = unicodedata.normalize("NFKC", caption)
        text = re.sub(r"\s+", " ", "".join(ch if ch.isprintable() else " " for ch in text)).strip()
        if not text:
            raise CaptionError("Type a caption first, e.g. 'two red balls and a blue cube'.")
        if len(text) > MAX_CAPTION_CHARS:
            raise CaptionError(f"The caption is {len(caption):,} characters long; at most {MAX_CAPTION_CHARS} "
                               "are read. Describe up to four objects in one sentence.")  # fmt: skip
        if self.word_level:  # sentence punctuation carries nothing here; commas and colons are words
            text = re.sub(r"\s+", " ", re.sub(r"[.!?;\"'()]", " ", text)).strip()
            if not text:
                raise CaptionError("The caption has no words; type e.g. 'two red balls and a blue cube'.")
        ids = self.tokenizer(text, add_special_tokens=True)["input_ids"]
        if len(ids) > self.context_length:
            raise CaptionError(f"The caption has {len(ids) - 2} words and signs; this text encoder reads at "
                               f"most {self.context_length - 2}. Shorten it.")  # fmt: skip
        if self.word_level:
            tokens = self.tokenizer(text, add_special_tokens=False)
            unknown = []
            for i, tid in enumerate(tokens["input_ids"]):
                if tid == UNK_ID:
                    span = tokens.token_to_chars(i)
                    word = text[span.start : span.end] if span else "?"
                    if word not in unknown:
                        unknown.append(word)
            if unknown:
                shown = ", ".join(f"'{w}'" for w in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
                words = [w for w in self.known_words() if w.isalpha()]
                raise CaptionError(f"Unknown word{'s' if len(unknown) > 1 else ''} {shown}. This text encoder "
                                   f"was trained on scene captions and knows only: {', '.join(words)}.")  # fmt: skip
        return text

    def _tokens(self, captions: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(captions, padding=True, truncation=True, max_length=self.context_length,
                              return_tensors="pt")  # fmt: skip

    def encode_text(self, captions: list[str], normalize: bool = True) -> torch.Tensor:
        """(B, embed_dim) text embeddings (the projected end-of-text state), unit length by default."""
        tok = self._tokens(captions)
        out = self.clip.text_model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        emb = self.clip.text_projection(out.pooler_output)
        return F.normalize(emb, dim=-1) if normalize else emb

    def preprocess(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8, or (B, 3, H, W) in [-1, 1] -> the vision tower's normalised input."""
        if isinstance(images, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(images[..., :3])).permute(0, 3, 1, 2).float() / 255.0
        else:
            x = (images.float() + 1) / 2
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False)
        mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
        return (x.clamp(0, 1) - mean) / std

    def encode_images(self, images: np.ndarray | torch.Tensor, normalize: bool = True) -> torch.Tensor:
        out = self.clip.vision_model(pixel_values=self.preprocess(images))
        emb = self.clip.visual_projection(out.pooler_output)
        return F.normalize(emb, dim=-1) if normalize else emb

    @torch.no_grad()
    def clip_score(self, images: np.ndarray, captions: list[str]) -> np.ndarray:
        """CLIP score per (image, caption) pair: 100 * max(cosine, 0) (Hessel et al. 2021 use w=2.5
        for ViT-B/32; on this small model the plain scaled cosine is reported, and labelled so)."""
        t = self.encode_text(captions)
        v = self.encode_images(images)
        return (100 * (t * v).sum(-1).clamp(min=0)).numpy()

    def contrastive_loss(self, images: torch.Tensor, captions: list[str]) -> tuple[torch.Tensor, float]:
        """Symmetric InfoNCE over the batch (CLIP's loss) and the image->text top-1 accuracy."""
        t = self.encode_text(captions)
        v = self.encode_images(images)
        logits = self.clip.logit_scale.exp().clamp(max=100) * v @ t.T
        target = torch.arange(len(captions))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        return loss, float((logits.argmax(1) == target).float().mean())


@torch.inference_mode()
def encode_batched(clip: SceneCLIP, items: list[str] | np.ndarray, kind: str, batch: int = 256,
                   normalize: bool = True) -> torch.Tensor:  # fmt: skip
    """The one batched scene-CLIP encoder: captions (kind="text") or (N, H, W, 3) uint8 images
    (kind="image") -> (N, embed_dim) float32, `batch` at a time (unit length by default). Captions
    are padded per batch, so the same batch size gives the same numbers."""
    if kind not in ("text", "image"):
        raise ValueError(f"kind must be 'text' or 'image', got {kind!r}")
    encode = clip.encode_text if kind == "text" else clip.encode_images
    if len(items) == 0:
        return torch.zeros(0, clip.embed_dim)
    return torch.cat([encode(items[i : i + batch], normalize=normalize) for i in range(0, len(items), batch)])


@torch.inference_mode()
def clip_scores(clip: SceneCLIP, images: np.ndarray, captions: list[str], batch: int = 256) -> np.ndarray:
    """(N,) CLIP scores (100 * max(cosine, 0)) of (image, caption) pairs, `batch` pairs at a time."""
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    return np.concatenate([clip.clip_score(images[i : i + batch], captions[i : i + batch])
                           for i in range(0, len(images), batch)])  # fmt: skip
