"""Train the text-to-image models: the scene CLIP here, then GAN-INT-CLS on its text embeddings
(training/gan_int_cls.py, which builds on this module).

    python -m training scene-clip    [--steps N] [--max-minutes M]   # both CLIP towers, contrastive
    python -m training gan-int-cls   [--steps N] [--max-minutes M] [--clip DIR_OR_HUB_ID]

Data: captioned procedural scenes (data/text_scenes.py), `--scenes` of the training split (seed
TRAIN_SEED), which never contains the HELD_OUT colour-shape combinations. Every step draws each
scene's caption afresh from the caption templates, so the models see many phrasings of one scene.

scene-clip: a small CLIPModel (transformers; word-level tokenizer over the caption vocabulary)
trained from scratch with CLIP's symmetric contrastive loss (Radford et al. 2021), AdamW, warm-up
then cosine decay. Its held-out R-precision is written to the card.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data.text_scenes import TRAIN_SEED, caption, content_key, test_scenes, train_scenes, vocabulary
from eval.metrics import R_PRECISION_CANDIDATES, r_precision
from models.scene_clip import SceneCLIP
from models.tensors import to_signed_tensor
from training.config import ConfigError, RunConfig, option
from training.engine import Recipe, Run, StepBatches

DATA = ("captioned procedural scenes (data/text_scenes.py: ground plane in perspective, 1-4 objects, "
        "3 shapes x 6 colours x 2 sizes, occlusion), {n} scenes of the training split (seed {seed}) at "
        "64x64, without the held-out colour-shape combinations; each step draws every scene's caption "
        "afresh from 5 templates")  # fmt: skip
LIMITATIONS = ("Trained for minutes on a 2-core CPU on procedural scenes of a 43-word language: it knows nothing "
               "of photos or of other words.")  # fmt: skip


@dataclass
class SceneClipConfig(RunConfig):
    steps: int = option(1000, "optimizer steps", min=1)
    batch: int = option(128, "scenes per step on each process (the contrastive loss's negatives)", min=2)
    scenes: int = option(12000, "training scenes rendered (the training split)", min=2)
    width: int = option(128, "width of both transformer towers and of the projection (4 heads)", min=4)
    layers: int = option(3, "transformer layers per tower", min=1)
    lr: float = option(5e-4, "AdamW learning rate (warm-up, then cosine decay to 0)", min=0, exclusive_min=True)
    weight_decay: float = option(0.1, "AdamW's decoupled weight decay", min=0)
    warmup: float = option(0.05, "fraction of the run with a linear learning-rate warm-up", min=0, max=1)
    eval_scenes: int = option(500, "held-out scenes for the card's R-precision", min=R_PRECISION_CANDIDATES)

    def validate(self) -> None:
        super().validate()
        if self.batch > self.scenes:
            raise ConfigError(f"--batch ({self.batch}) cannot exceed --scenes ({self.scenes}): a batch holds "
                              "distinct scenes")  # fmt: skip


class ContrastiveCLIP(nn.Module):
    """SceneCLIP's symmetric InfoNCE as a forward pass (SceneCLIP.contrastive_loss, on tokens made
    with the batch), so accelerate/DDP sees the whole computation and the tokens can be on the device.

    forward(images (B, 3, 64, 64) in [-1, 1], input_ids (B, L), attention_mask (B, L)) -> (loss, top-1)."""

    def __init__(self, scene: SceneCLIP) -> None:
        super().__init__()
        self.scene = scene

    def forward(self, images: torch.Tensor, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        clip = self.scene.clip
        out = clip.text_model(input_ids=input_ids, attention_mask=attention_mask)
        t = F.normalize(clip.text_projection(out.pooler_output), dim=-1)
        v = self.scene.encode_images(images)
        logits = clip.logit_scale.exp().clamp(max=100) * v @ t.T
        target = torch.arange(len(t), device=t.device)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        return loss, (logits.argmax(1) == target).float().mean()


class SceneClipRecipe(Recipe):
    method, model_name, config = "scene-clip", "scene-clip", SceneClipConfig
    description = __doc__

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        self.data = train_scenes(cfg.scenes)
        clip = SceneCLIP.create(vocabulary(), width=cfg.width, layers=cfg.layers)
        part = run.add("clip", ContrastiveCLIP(clip), lr=cfg.lr, weight_decay=cfg.weight_decay, schedule="cosine",
                       warmup=cfg.warmup)  # fmt: skip
        # AdamW (decoupled weight decay, as CLIP trains) from the engine's Adam: torch's Adam takes the
        # flag per parameter group. (Engine change wanted: an optimizer choice in Run.add.)
        for group in part.optimizer.optimizer.param_groups:
            group["decoupled_weight_decay"] = True

    def dataset(self, run: Run) -> StepBatches:
        data, batch = self.data, run.cfg.batch
        scene = run.unwrap("clip").scene
        tokenizer, length = scene.tokenizer, scene.context_length  # SceneCLIP's tokenisation, in the batch

        def make(rng: np.random.Generator, step: int) -> dict[str, torch.Tensor]:
            idx = rng.choice(len(data), batch, replace=False)
            captions = [caption(data.scenes[i], rng) for i in idx]
            tokens = tokenizer(captions, padding=True, truncation=True, max_length=length, return_tensors="pt")
            return {"images": to_signed_tensor(data.images[idx]), "input_ids": tokens["input_ids"],
                    "attention_mask": tokens["attention_mask"]}  # fmt: skip

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        loss, top1 = run.parts["clip"].module(batch["images"], batch["input_ids"], batch["attention_mask"])
        run.update("clip", loss)
        scale = float(run.unwrap("clip").scene.clip.logit_scale.detach().exp())
        return {"loss": loss.item(), "batch_top1": top1.item(), "logit_scale": scale, "lr": run.lr("clip")}

    def export(self, run: Run) -> nn.Module:
        return run.unwrap("clip").scene.cpu()

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        clip = run.unwrap("clip").scene.eval()
        test = test_scenes(cfg.eval_scenes)
        rp = r_precision(clip, test.images, [caption(sc) for sc in test.scenes],
                         keys=[content_key(sc) for sc in test.scenes])  # fmt: skip
        return {
            "data": DATA.format(n=cfg.scenes, seed=TRAIN_SEED),
            "details": f"CLIPModel from scratch: text and vision transformers of width {cfg.width}, {cfg.layers} "
                       f"layers, 4 heads; 8x8 patches of 64x64 images; projection {cfg.width}; word-level "
                       f"tokenizer ({len(clip.tokenizer)} tokens); symmetric InfoNCE with a learned temperature; "
                       f"AdamW lr {cfg.lr:g}, weight decay {cfg.weight_decay:g}, warm-up over {cfg.warmup:.0%} of "
                       "the run, cosine decay",
            "summary": "A small CLIP (both towers) trained here contrastively on captioned procedural scenes. It is the "
                       "text encoder of the GAN-INT-CLS model and the image tower of the text-to-image benchmark's "
                       "CLIP score and R-precision. It knows only the words of the scene captions.",
            "metrics": f"R-precision (R=1; own caption vs {R_PRECISION_CANDIDATES - 1} captions of scenes with other "
                       f"contents; 'grouped' template) on {cfg.eval_scenes} held-out real renders (test seed): {rp:.3f}",
            "r_precision": rp, "limitations": LIMITATIONS,
            "tags": ["clip", "zero-shot-image-classification", "gan-gallery"],
        }  # fmt: skip


RECIPES = {"scene-clip": SceneClipRecipe}
