"""Before/after sheets of a retrained generator: the same seeds (or inputs) through two checkpoints.

    python -m eval.before_after dcgan-faces --before DIR [--after DIR] [--out PNG]

`--after` defaults to the embedded checkpoint (models/weights/<name>); the sheet goes to
eval/results/before_after/<name>.png. Samples come from fixed seeds, so the two rows show the same z
(DCGAN), the same (z, class) (AC-GAN), the same held-out scenes (pix2pix, CycleGAN), the same
held-out photos and masks (inpainting) or the same captions and seeds (GAN-INT-CLS: each checkpoint
with the text encoder its config names, so a `--before` copy trained on an earlier scene CLIP names
that CLIP's folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from eval.comparison import Panel, compose_comparison, stack_vertical
from models.cards import read_meta
from models.catalog import get_entry
from models.dcgan import generate, sample_z

OUT_DIR = Path(__file__).resolve().parent / "results" / "before_after"


def _grid(images: np.ndarray, cols: int) -> np.ndarray:
    """(N, H, W, 3) -> one (rows*H, cols*W, 3) tile."""
    n, h, w, c = images.shape
    rows = -(-n // cols)
    out = np.full((rows * h, cols * w, c), 255, np.uint8)
    for i, im in enumerate(images):
        r, k = divmod(i, cols)
        out[r * h:(r + 1) * h, k * w:(k + 1) * w] = im
    return out


def _dcgan(model) -> tuple[np.ndarray, str]:
    return _grid(generate(model, sample_z(16, model.z_dim, 0)), 8), "16 samples, z from seed 0"


def _acgan(model) -> tuple[np.ndarray, str]:
    labels = torch.arange(model.num_classes).repeat(4)
    return _grid(generate(model, sample_z(len(labels), model.z_dim, 0), labels), model.num_classes), \
        "one column per class (Fashion-MNIST order), 4 seeds each"


def _translation(model) -> tuple[np.ndarray, str]:
    from data.day_night import EVAL_SEED, make_pairs
    from models.translation import DAY2NIGHT, NIGHT2DAY, run_generator

    pairs = make_pairs(4, 128, EVAL_SEED)
    row = lambda images: np.concatenate(list(images), 1)  # noqa: E731
    rows = [row(pairs.day), row(run_generator(model.generator(DAY2NIGHT), pairs.day)),
            row(pairs.night), row(run_generator(model.generator(NIGHT2DAY), pairs.night))]
    return np.concatenate(rows, 0), "4 held-out scenes: day, its night translation, night, its day translation"


def _inpainting(model) -> tuple[np.ndarray, str]:
    from data.masks import evaluation_masks
    from data.photos import eval_photos
    from eval.inpainting import square
    from models.inpainting import GATED, inpaint

    photos = eval_photos()
    names, side = ["astronaut", "coffee", "chelsea", "china"], 256
    masks = evaluation_masks(side)
    holes, fills = [], []
    for name, bucket in zip(names, ["10-20", "20-30", "30-40", "40-50"], strict=True):
        photo, mask = square(photos[name], side), masks[bucket][0]
        holes.append(np.where(mask[..., None], 128, photo).astype(np.uint8))
        fills.append(inpaint(GATED, photo, mask, seed=0, model=model).image)
    row = lambda images: np.concatenate(images, 1)  # noqa: E731
    return np.concatenate([row(holes), row(fills)], 0), (
        f"held-out {', '.join(names)} at {side} px, masks 10-20 to 40-50%: hole (grey), fill (seed 0)")


def _gan_int_cls(model) -> tuple[np.ndarray, str]:
    from data.captions import PREVIEW_CAPTIONS
    from models.text2image import generate_images, text_encoder_for

    encoder = text_encoder_for(model)  # the one its config names: a catalog name or a checkpoint folder
    seeds = list(range(8))
    rows = [_grid(generate_images(model, encoder, [c], seeds), len(seeds)) for c in PREVIEW_CAPTIONS]
    return np.concatenate(rows, 0), (f"rows: {' · '.join(PREVIEW_CAPTIONS[:6])} · {PREVIEW_CAPTIONS[6]} (held-out "
                                     f"phrasing) · {PREVIEW_CAPTIONS[7]} (held-out pair); columns: seeds 0-7; "
                                     "each with the text encoder its config names")  # fmt: skip


SAMPLERS = {"dcgan-faces": _dcgan, "acgan-fashion": _acgan, "pix2pix-day-night": _translation,
            "cyclegan-day-night": _translation, "inpainting-gated": _inpainting,
            "gan-int-cls-scenes": _gan_int_cls}  # fmt: skip


def sheet(name: str, before: Path, after: Path) -> Image.Image:
    entry = get_entry(name)
    cls = entry.model_class()
    rows = []
    for label, folder in (("before", before), ("after", after)):
        model = cls.from_pretrained(folder, strict=True).eval()
        with torch.inference_mode():
            image, what = SAMPLERS[name](model)
        meta = read_meta(folder)
        warm = "warm start + " if (meta or {}).get("config", {}).get("init") else ""  # steps of this run only
        run = f"trained {meta.get('date', '?')}, {warm}{meta.get('steps', '?')} steps" if meta else folder.name
        rows.append(compose_comparison([Panel(image, f"{entry.title}: {label}", run)],
                                       height=image.shape[0] * (2 if image.shape[0] <= 160 else 1), footer=what))
    return stack_vertical(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.before_after", description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(SAMPLERS))
    parser.add_argument("--before", required=True, type=Path)
    parser.add_argument("--after", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    after = args.after or get_entry(args.name).embedded_dir
    out = args.out or OUT_DIR / f"{args.name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet(args.name, args.before, after).save(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
