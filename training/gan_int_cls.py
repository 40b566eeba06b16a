"""Train GAN-INT-CLS on the LiT scene CLIP's text embeddings (the data and the CLIP: training/text2image.py).

    python -m training gan-int-cls [--steps N] [--max-minutes M] [--clip DIR] [--style-minutes M]

GAN-INT-CLS (Reed et al. 2016, "Generative Adversarial Text to Image Synthesis"): the frozen text
encoder (the LiT scene CLIP: a pretrained sentence encoder, frozen, and the projection trained with
the image tower) gives phi(t), computed once per caption of the training pool before the first
step (the sentence encoder's vectors come from the same disk cache as the CLIP's run); phi(t) is compressed by a learned layer and concatenated with z in G and with
D's 4x4 feature map; the matching-aware D (GAN-CLS) scores (real, right text) as real and both
(real, wrong text) and (fake, right text) as fake, the latter two each with weight 1/2; GAN-INT
adds generator terms on interpolated embeddings beta*t1 + (1-beta)*t2 of two captions in the batch
(beta = 0.5 as in the paper). The exported generator is the EMA of its weights (--ema-decay).
--aux-weight > 0 adds TAC-GAN's auxiliary classifier (Dash et al. 2017, after AC-GAN, Odena et al.
2017): a head on D's image features, before the text joins them, learns from real scenes what
every caption of a scene states (the object count, 4-way cross-entropy; which colours, shapes and
colour-shape pairs are present, binary cross-entropy per group), and G is asked, with that weight,
to make the head read the caption's scene off its image (the interpolated codes have no scene, so
they get no such term).
After the GAN steps, the style encoder S(x) is trained with that generator frozen to regress z
from G(z, phi(t)) (squared error), so the style of one image can be rendered with another
caption. --clip takes another LiT scene CLIP directory (e.g. one trained on the OpenAI CLIP text
tower with `scene-clip --text-tower openai/clip-vit-base-patch32` on a machine that has it); its
name is stored in the GAN's config. Modules run channels_last (faster convolutions on CPU).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from data.captions import HELDOUT_TEMPLATES, PREVIEW_CAPTIONS, TRAIN_TEMPLATES, caption
from data.text_scenes import (
    ATTRIBUTE_GROUPS,
    MAX_OBJECTS,
    TRAIN_SEED,
    VALIDATION_SEED,
    attribute_targets,
    train_scenes,
    validation_scenes,
)
from models.gan_int_cls import GanIntCls, MatchingAwareDiscriminator, render, seeded_z
from models.scene_clip import SceneCLIP
from models.scene_detector import detect
from models.tensors import to_signed_tensor
from training.config import RunConfig, option
from training.engine import Recipe, Run, StepBatches
from training.text2image import (
    DATA,
    caption_pool,
    default_cache,
    pool_vectors,
    tower_card,
)

logger = logging.getLogger(__name__)

LIMITATIONS = ("Trained on a 2-core CPU on procedural scenes: it draws only 1-4 coloured cubes, balls and cones on "
               "a grey plane; any other caption gets the nearest thing it knows.")  # fmt: skip
INTERPOLATION_BETA = 0.5  # GAN-INT: beta * t1 + (1 - beta) * t2, as in the paper
VALIDATION_CAPTIONS = 96  # validation scenes (one sample each) scored by --keep-best-every


@dataclass
class GanIntClsConfig(RunConfig):
    steps: int = option(6000, "GAN steps (each updates D, then G)", min=1)
    batch: int = option(64, "scenes per step on each process", min=2)
    scenes: int = option(6000, "training scenes rendered (the training split; as scene-clip's, so the "
                         "sentence encoder's cached vectors serve)", min=2)
    captions_per_scene: int = option(4, "training captions per scene in the pool (as scene-clip's)", min=1)
    cache: str = option(default_cache(), "directory caching the frozen tower's caption vectors ('' = none)")
    width: int = option(32, "base channels of the generator and the discriminator", min=1)
    lr: float = option(2e-4, "Adam learning rate of G, D and the style encoder (betas 0.5, 0.999); G and D: "
                       "constant, then linear decay to 0 over the second half", min=0, exclusive_min=True)
    clip: str = option("", "LiT scene CLIP directory (default: the embedded scene-clip)")
    ema_decay: float = option(0.995, "decay of the generator's EMA copy (the exported weights)", min=0, max=1)
    style_minutes: float = option(3.0, "style encoder training after the GAN steps: at most this many minutes (--style-steps may end it first)",
                                  min=0, exclusive_min=True)
    style_steps: int = option(5000, "style encoder training: at most this many steps of --batch (--style-minutes may "
                             "end it first)", min=1)
    aux_weight: float = option(0.0, "TAC-GAN auxiliary classifier: weight of its loss in G's (0: none, the paper's "
                               "GAN-INT-CLS); D learns it on real scenes with weight 1", min=0)
    preview_every: int = option(250, "steps between sample grids (samples.png) while training (0: only at the end)",
                                min=0)


def load_text_encoder(spec: str) -> tuple[SceneCLIP, str]:
    """The frozen text encoder and the name stored in the GAN's config: the tab's rule
    (models.text2image.load_text_encoder: a catalog name or a local checkpoint directory), the
    embedded scene-clip by default."""
    from models import text2image

    name = spec or "scene-clip"
    return text2image.load_text_encoder(name, "embedded" if not spec else None), name


@torch.no_grad()
def embed_pool(clip: SceneCLIP, pool: list[list[str]], cache: str) -> torch.Tensor:
    """(n_scenes, per_scene, embed_dim) unit text embeddings of a caption pool: the frozen tower's
    vectors (disk-cached), through the CLIP's trained projection."""
    vectors = pool_vectors(clip.tower(), pool, cache)
    return clip.project_text(vectors.flatten(0, 1)).view(*vectors.shape[:2], -1)


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def aux_loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The auxiliary head's loss against the batch's scenes: cross-entropy of the object count plus,
    per attribute group (colours, shapes, pairs), the mean binary cross-entropy of presence."""
    sizes = [len(names) for _, names in ATTRIBUTE_GROUPS]
    count, *groups = logits.float().split([MAX_OBJECTS, *sizes], 1)
    targets = batch["attributes"].split(sizes, 1)
    return F.cross_entropy(count, batch["count"]) + sum(
        F.binary_cross_entropy_with_logits(g, y) for g, y in zip(groups, targets, strict=True))  # fmt: skip


class GanIntClsRecipe(Recipe):
    method, model_name, config = "gan-int-cls", "gan-int-cls-scenes", GanIntClsConfig
    description = __doc__

    def setup(self, run: Run) -> None:
        cfg = run.cfg
        self.clip, self.encoder_name = load_text_encoder(cfg.clip)
        self.clip.eval().requires_grad_(False)  # stays on the CPU: the embeddings are computed once
        data = train_scenes(cfg.scenes)
        pool = caption_pool(data.scenes, cfg.captions_per_scene)
        self.table = embed_pool(self.clip, pool, cfg.cache)
        self.images = data.images  # (n, 64, 64, 3) uint8; a batch is converted when drawn
        self.preview_text = self.clip.encode_text(list(PREVIEW_CAPTIONS)).detach()
        logger.info("embedded %d captions (%d distinct)", self.table.shape[0] * self.table.shape[1],
                    len({c for caps in pool for c in caps}))  # fmt: skip
        text_dim = self.table.shape[-1]
        model = GanIntCls(text_dim=text_dim, width=cfg.width, text_encoder=self.encoder_name)
        model.to(memory_format=torch.channels_last)
        # The part is the whole GanIntCls (its forward is the generator) so that its EMA copy is the
        # exported model; the style encoder is trained after the GAN steps, on that copy.
        model.style.requires_grad_(False)
        run.add("g", model, lr=cfg.lr, betas=(0.5, 0.999), schedule="linear-decay", ema_decay=cfg.ema_decay,
                params=list(model.generator.parameters()))  # fmt: skip
        self.count, self.attributes = (torch.from_numpy(a) for a in attribute_targets(data.scenes))
        aux = MAX_OBJECTS + self.attributes.shape[1] if cfg.aux_weight else 0
        d = MatchingAwareDiscriminator(text_dim=text_dim, width=cfg.width, aux_outputs=aux)
        d.to(memory_format=torch.channels_last)
        run.add("d", d, lr=cfg.lr, betas=(0.5, 0.999), schedule="linear-decay")
        self.style_facts: dict = {}

    def dataset(self, run: Run) -> StepBatches:
        images, table, batch = self.images, self.table, run.cfg.batch
        count, attributes = self.count, self.attributes

        def make(rng: np.random.Generator, step: int) -> dict[str, torch.Tensor]:
            idx = rng.integers(len(images), size=batch)
            k = torch.from_numpy(rng.integers(table.shape[1], size=batch))
            i = torch.from_numpy(idx)
            x = to_signed_tensor(images[idx]).contiguous(memory_format=torch.channels_last)
            return {"x": x, "t": table[i, k], "count": count[i], "attributes": attributes[i],
                    "wrong": table[i.roll(1), k.roll(1)]}  # another scene's caption  # fmt: skip

        return StepBatches(make, run.cfg.steps, run.cfg.seed, run.rank)

    def train_step(self, run: Run, batch, step: int) -> dict[str, float]:
        x, t, wrong = batch["x"], batch["t"], batch["wrong"]
        g, d = run.parts["g"].module, run.parts["d"].module
        b, half = x.shape[0], x.shape[0] // 2  # the GAN-INT term on half a batch
        z_dim = run.unwrap("g").z_dim
        t_int = INTERPOLATION_BETA * t[:half] + (1 - INTERPOLATION_BETA) * t.roll(2, 0)[:half]
        # One generator pass for both terms (batch norm sees the matching and the interpolated codes together).
        both = g(torch.randn(b + half, z_dim, device=x.device), torch.cat([t, t_int]))
        fake, fake_int = both[:b], both[b:]

        aux = run.cfg.aux_weight > 0
        real_right, real_wrong, *real_aux = d(x, t, wrong, classify=aux)  # both captions, one feature pass
        fake_right = d(fake.detach(), t)
        d_loss = bce(real_right, 1.0) + 0.5 * (bce(real_wrong, 0.0) + bce(fake_right, 0.0))
        d_aux = aux_loss(real_aux[0], batch) if aux else torch.zeros(())
        run.update("d", d_loss + d_aux)

        d.requires_grad_(False)
        fake_judged, *fake_aux = d(fake, t, classify=True) if aux else (d(fake, t),)
        cls = bce(fake_judged, 1.0)
        g_aux = aux_loss(fake_aux[0], batch) if aux else torch.zeros(())
        interp = bce(d(fake_int, t_int), 1.0)  # GAN-INT: no real image exists for t_int
        run.update("g", cls + interp + run.cfg.aux_weight * g_aux)
        d.requires_grad_(True)
        if run.cfg.preview_every and (step + 1) % run.cfg.preview_every == 0 and run.is_main:
            self.save_preview(run.parts["g"].ema.module, run.out / "samples.png")
        return {"d": d_loss.item(), "d_real_right": torch.sigmoid(real_right).mean().item(),
                "d_real_wrong": torch.sigmoid(real_wrong).mean().item(),
                "d_fake": torch.sigmoid(fake_right).mean().item(), "g_cls": cls.item(), "g_int": interp.item(),
                **({"d_aux": d_aux.item(), "g_aux": g_aux.item()} if aux else {}), "lr": run.lr("g")}  # fmt: skip

    selection = (f"mean of count accuracy and requested colours drawn, read by models/scene_detector.py, on "
                 f"{VALIDATION_CAPTIONS} validation scenes of 1-3 objects (seed {VALIDATION_SEED}), plain captions, seeds "
                 f"0-{VALIDATION_CAPTIONS - 1}")

    @torch.no_grad()
    def score(self, run: Run) -> dict[str, float]:
        if not hasattr(self, "validation"):
            scenes = validation_scenes(VALIDATION_CAPTIONS).scenes
            self.validation = (scenes, self.clip.encode_text([caption(sc) for sc in scenes]).detach())
        scenes, text = self.validation
        model = run.parts["g"].ema.module
        z = seeded_z(list(range(len(scenes))), model.z_dim)
        reads = [detect(im) for im in render(model, z.to(run.device), text.to(run.device))]
        count = np.mean([len(r) == len(sc.objects) for sc, r in zip(scenes, reads, strict=True)])
        colour = np.mean([len({o.colour for o in sc.objects} & {d.colour for d in r}) / len({o.colour for o in sc.objects})
                          for sc, r in zip(scenes, reads, strict=True)])  # fmt: skip
        return {"score": float(count + colour) / 2, "count": float(count), "colour": float(colour)}

    def export(self, run: Run) -> nn.Module:
        model = run.parts["g"].ema.module
        self.train_style_encoder(run, model)
        return model.cpu()

    def train_style_encoder(self, run: Run, model: GanIntCls) -> None:
        """S(x) regresses z from G(z, phi(t)) with the (EMA) generator frozen, for --style-steps or
        --style-minutes, whichever ends first. A short phase after the GAN steps; not resumable."""
        cfg, device = run.cfg, run.device
        model.generator.eval()
        model.style.train().requires_grad_(True)
        opt = torch.optim.Adam(model.style.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        rng = np.random.default_rng([cfg.seed, 1])
        start, losses = time.time(), []
        while len(losses) < cfg.style_steps and time.time() - start < 60 * cfg.style_minutes:
            idx = rng.integers(len(self.table), size=cfg.batch)
            k = rng.integers(self.table.shape[1], size=cfg.batch)
            t = self.table[torch.from_numpy(idx), torch.from_numpy(k)].to(device)
            z = torch.randn(cfg.batch, model.z_dim, generator=gen, device=device)
            with torch.no_grad():
                x = model.generator(z, t)
            loss = F.mse_loss(model.style(x), z)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) % 50 == 0:
                logger.info("style step %d  mse=%.4f", len(losses), float(np.mean(losses[-50:])))
        model.eval().requires_grad_(False)
        self.style_facts = {"steps": len(losses), "seconds": time.time() - start,
                            "mse": float(np.mean(losses[-50:])) if losses else float("nan")}  # fmt: skip

    @torch.no_grad()
    def save_preview(self, model: GanIntCls, path: Path, n: int = 8) -> None:
        """Rows: the preview captions (the last is a held-out combination); columns: seeds 0..n-1."""
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        rows = [model(seeded_z(list(range(n)), model.z_dim).to(device), t.expand(n, -1).to(device))
                for t in self.preview_text.split(1)]  # fmt: skip
        model.train(was_training)
        x = torch.cat(rows).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()
        grid = x.view(len(rows), n, 3, 64, 64).permute(0, 3, 1, 4, 2).reshape(len(rows) * 64, n * 64, 3)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid.numpy()).save(path)

    def after_export(self, run: Run, model: nn.Module, out: Path) -> None:
        self.save_preview(model, out / "samples.png")

    def card_info(self, run: Run) -> dict:
        cfg, style = run.cfg, self.style_facts
        text_dim = self.table.shape[-1]
        aux_note = (f"TAC-GAN auxiliary classifier on D's image features (Dash et al. 2017): object count (cross-"
                    f"entropy) and presence of each colour, shape and colour-shape pair (binary cross-entropy), "
                    f"learnt by D on real scenes, in G's loss with weight {cfg.aux_weight:g}; ") if cfg.aux_weight else ""
        return {
            "data": DATA.format(n=cfg.scenes, seed=TRAIN_SEED, k=cfg.captions_per_scene) + " (each caption embedded "
                    f"once with the frozen text encoder '{self.encoder_name}': {tower_card(self.clip.tower())}, then "
                    "that CLIP's trained projection)",
            "details": f"GAN-CLS + GAN-INT (beta {INTERPOLATION_BETA}, on half of each batch, in the same generator "
                       f"pass): generator (batch norm) and matching-aware discriminator (spectral norm, "
                       f"minibatch-deviation channel), both of width {cfg.width}; text embedding ({text_dim}-d) "
                       f"compressed to 128 by FC + leaky ReLU; z 100-d; BCE; D's wrong-text and fake terms weighted "
                       f"1/2; {aux_note}Adam lr {cfg.lr:g} betas (0.5, 0.999), constant then linear decay to 0; {run.step} GAN "
                       f"steps in {run.elapsed / 60:.1f} min, then the style encoder S(x) for {style['steps']} steps "
                       f"({style['seconds'] / 60:.1f} min, batch {cfg.batch}) with the EMA generator frozen, final "
                       f"z-regression MSE {style['mse']:.3f} (1.0 = predicting 0)",
            "summary": "GAN-INT-CLS (Reed et al. 2016) text-to-image generator and style encoder S(x), 64x64, trained "
                       f"here on captioned procedural scenes with the text encoder '{self.encoder_name}'. The "
                       "discriminator is not saved.",
            "style_mse": style["mse"], "gan_steps": run.step, "templates": list(TRAIN_TEMPLATES), "heldout_templates": list(HELDOUT_TEMPLATES),
            "limitations": LIMITATIONS,
            "tags": ["gan-int-cls", "text-to-image", "gan-gallery"],
        }  # fmt: skip


RECIPES = {"gan-int-cls": GanIntClsRecipe}
