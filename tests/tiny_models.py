"""A tiny seeded model for catalog / hub tests (importable as "tests.tiny_models:TinyNet")."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class TinyNet(nn.Module, PyTorchModelHubMixin):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.norm = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


def seeded_tiny(width: int = 4, seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(width)


def _byte_chars() -> list[str]:
    """The 256 printable stand-ins of byte-level BPE (GPT-2/CLIP's byte-to-unicode table)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in keep]
    return [chr(c) for c in keep] + [chr(256 + i) for i in range(len(extra))]


def save_tiny_openai_clip(directory, seed: int = 0) -> list[str]:
    """A tiny random transformers CLIPModel (config.json, model.safetensors) and a CLIP tokenizer
    (byte-level, no merges: tokenizer.json, tokenizer_config.json) in `directory`, as
    openai/clip-vit-base-patch32 lays its files out. Returns the file names."""
    from pathlib import Path

    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    chars = _byte_chars()
    vocab = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    tokenizer = CLIPTokenizer(vocab={t: i for i, t in enumerate(vocab)}, merges=[])
    common = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    cfg = CLIPConfig(text_config={**common, "vocab_size": len(vocab), "max_position_embeddings": 77,
                                  "bos_token_id": len(vocab) - 2, "eos_token_id": len(vocab) - 1,
                                  "pad_token_id": len(vocab) - 1},
                     vision_config={**common, "image_size": 32, "patch_size": 16}, projection_dim=8)  # fmt: skip
    torch.manual_seed(seed)
    CLIPModel(cfg).save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return sorted(p.name for p in Path(directory).iterdir())
