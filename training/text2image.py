"""Train the text-to-image models: the scene CLIP, then GAN-INT-CLS on its text embeddings.

    python -m training scene-clip    [--steps N] [--max-minutes M]   # both CLIP towers, contrastive
    python -m training gan-int-cls   [--steps N] [--max-minutes M] [--clip DIR_OR_HUB_ID]

Data: captioned procedural scenes (data/text_scenes.py), `--scenes` of the training split (seed
TRAIN_SEED), which never contains the HELD_OUT colour-shape combinations. Every step draws each
scene's caption afresh from the caption templates, so the models see many phrasings of one scene.

scene-clip: a small CLIPModel (transformers; word-level tokenizer over the caption vocabulary)
trained from scratch with CLIP's symmetric contrastive loss (Radford et al. 2021), AdamW, warm-up
then cosine decay. Its held-out R-precision is written to the card.

gan-int-cls (Reed et al. 2016, "Generative Adversarial Text to Image Synthesis"): the frozen text
encoder's embedding phi(t) is compressed by a learned layer and concatenated with z in G and with
D's 4x4 feature map; the matching-aware D (GAN-CLS) scores (real, right text) as real and both
(real, wrong text) and (fake, right text) as fake, the latter two each with weight 1/2; GAN-INT
adds generator terms on interpolated embeddings beta*t1 + (1-beta)*t2 of two captions in the batch
(beta = 0.5 as in the paper). After the GAN budget, the style encoder S(x) is trained with G
frozen to regress z from G(z, phi(t)) (squared error), so the style of one image can be rendered
with another caption. --clip takes another text encoder (e.g. openai/clip-vit-base-patch32 on a
machine that has it); its name is stored in the GAN's config.
"""

from __future__ import annotations

import argparse
import logging
import math

import numpy as np
import torch

from data.text_scenes import TRAIN_SEED, caption, content_key, test_scenes, train_scenes, vocabulary
from models.catalog import WEIGHTS_DIR
from models.scene_clip import SceneCLIP
from training.common import (
    Budget,
    LossLog,
    finish_run,
    start_run,
)

logger = logging.getLogger(__name__)

NAMES = {"scene-clip": "scene-clip", "gan-int-cls": "gan-int-cls-scenes"}
# steps, batch. scene-clip: ~0.75 s/step at batch 128 on 2 threads (width 128, 3 layers per tower).
DEFAULTS = {"scene-clip": (1000, 128), "gan-int-cls": (6000, 64)}
DATA = ("captioned procedural scenes (data/text_scenes.py: ground plane in perspective, 1-4 objects, "
        "3 shapes x 6 colours x 2 sizes, occlusion), {n} scenes of the training split (seed {seed}) at "
        "64x64, without the held-out colour-shape combinations; each step draws every scene's caption "
        "afresh from 5 templates")  # fmt: skip
R_PRECISION_CANDIDATES = 100  # the true caption among 99 others (AttnGAN's R-precision protocol)


def parse_args(argv: list[str]) -> argparse.Namespace:
    method = argv[0]
    steps, batch = DEFAULTS[method]
    p = argparse.ArgumentParser(prog=f"python -m training {method}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--scenes", type=int, default=12000)
    p.add_argument("--width", type=int, default=None, help="CLIP width (128) / GAN base channels (48)")
    p.add_argument("--layers", type=int, default=3, help="scene-clip: transformer layers per tower")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--clip", default=None, help="gan-int-cls: text encoder dir or Hub id (default: embedded scene-clip)")
    p.add_argument("--style-minutes", type=float, default=3.0, help="gan-int-cls: style encoder training time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this wall time")
    p.add_argument("--out", help="output checkpoint dir (default models/weights/<name>)")
    return p.parse_args(argv[1:])


def cosine_lr(opts, lr: float, budget: Budget, step: int, warmup: int = 50) -> None:
    value = lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * budget.progress(step)))
    for opt in opts:
        for group in opt.param_groups:
            group["lr"] = value


def captions_for(scenes, rng: np.random.Generator) -> list[str]:
    return [caption(sc, rng) for sc in scenes]


@torch.no_grad()
def r_precision(clip: SceneCLIP, images: np.ndarray, captions: list[str], seed: int = 0,
                keys: list | None = None) -> float:
    """Fraction of images whose own caption scores strictly highest among it and 99 captions of
    other scenes (R-precision with R = 1, AttnGAN's protocol). Distractors that say the same thing
    are never drawn (a second 'a red ball' is not a wrong answer): those with an equal key,
    by default the caption text; pass data.text_scenes.content_key(scene) to also treat
    'a red ball and a blue cube' and 'a blue cube and a red ball' as the same."""
    rng = np.random.default_rng(seed)
    keys = keys if keys is not None else captions
    t = torch.cat([clip.encode_text(captions[i : i + 256]) for i in range(0, len(captions), 256)])
    v = torch.cat([clip.encode_images(images[i : i + 256]) for i in range(0, len(images), 256)])
    same = np.array([[a == b for b in keys] for a in keys])
    hits = 0
    for i in range(len(images)):
        pool = np.flatnonzero(~same[i])
        others = rng.choice(pool, min(R_PRECISION_CANDIDATES - 1, len(pool)), replace=False)
        own = float(v[i] @ t[i])
        hits += bool(own > float((t[others] @ v[i]).max()))
    return hits / len(images)


def train_scene_clip(args, log: LossLog, budget: Budget) -> tuple[SceneCLIP, dict]:
    data = train_scenes(args.scenes)
    width = args.width or 128
    lr = args.lr or 5e-4
    clip = SceneCLIP.create(vocabulary(), width=width, layers=args.layers)
    clip.train()
    opt = torch.optim.AdamW(clip.parameters(), lr=lr, weight_decay=0.1)
    rng = np.random.default_rng(args.seed)
    for step in budget:
        cosine_lr([opt], lr, budget, step)
        idx = rng.choice(len(data), args.batch, replace=False)
        loss, acc = clip.contrastive_loss(data.images[idx], captions_for([data.scenes[i] for i in idx], rng))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        log.add(step, loss=loss.item(), batch_top1=acc, logit_scale=float(clip.clip.logit_scale.detach().exp()))
    clip.eval()
    test = test_scenes(500)
    rp = r_precision(clip, test.images, [caption(sc) for sc in test.scenes],
                     keys=[content_key(sc) for sc in test.scenes])
    metrics = (f"R-precision (R=1; own caption vs {R_PRECISION_CANDIDATES - 1} captions of scenes with other contents; "
               f"'grouped' template) on 500 held-out real renders (test seed): {rp:.3f}")  # fmt: skip
    info = {"data": DATA.format(n=args.scenes, seed=TRAIN_SEED),
            "details": (f"CLIPModel from scratch: text and vision transformers of width {width}, {args.layers} "
                        f"layers, 4 heads; 8x8 patches of 64x64 images; projection {width}; word-level "
                        f"tokenizer ({len(clip.tokenizer)} tokens); symmetric InfoNCE with a learned "
                        f"temperature; AdamW lr {lr:g}, weight decay 0.1, 50-step warm-up, cosine decay"),
            "summary": ("A small CLIP (both towers) trained here contrastively on captioned procedural scenes. "
                        "It is the text encoder of the GAN-INT-CLS model and the image tower of the "
                        "text-to-image benchmark's CLIP score and R-precision. It knows only the words of "
                        "the scene captions."),
            "metrics": metrics, "r_precision": rp,
            "tags": ["clip", "zero-shot-image-classification", "gan-gallery"]}  # fmt: skip
    return clip, info


def main(argv: list[str]) -> int:
    method = argv[0]
    args = parse_args(argv)
    name = NAMES[method]
    out = start_run(args, name, WEIGHTS_DIR)
    budget = Budget(args.steps, args.max_minutes)
    log = LossLog(out / "training_log.csv", every=50 if budget.steps >= 500 else max(1, budget.steps // 4))
    if method == "scene-clip":
        model, info = train_scene_clip(args, log, budget)
    else:
        from training.gan_int_cls import train_gan_int_cls

        model, info = train_gan_int_cls(args, log, budget, out)
    finish_run(model, out, name, argv, args, budget, log, info,
               limitations="Trained for minutes on a 2-core CPU on procedural scenes of a 43-word language: "
                           "it knows nothing of photos or of other words. ")  # fmt: skip
    return 0
