"""Train DCGAN on procedural faces, AC-GAN on Fashion-MNIST, and the classifiers that judge them.

    python -m training face-classifier     [--steps N]   # attribute classifier on face renders
    python -m training dcgan               [--steps N] [--data DIR]   # faces (or any image folder)
    python -m training dcgan-directions    # attribute directions in z (needs both models above)
    python -m training fashion-classifier  [--steps N]   # classifier on real Fashion-MNIST
    python -m training acgan               [--steps N]   # AC-GAN on real Fashion-MNIST

Hyper-parameters follow the papers: Adam lr 2e-4, beta1 0.5, batch 64, the non-saturating GAN
loss. `--max-minutes` stops a run early (the card records the steps actually done).
"""

from __future__ import annotations

import argparse
import datetime
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from data.faces import BINARY_ATTRIBUTES, CATEGORICAL_ATTRIBUTES, make_faces
from data.fashion_mnist import CLASSES, load_fashion_mnist, to_tensor_range
from data.photos import folder_photo_paths, load_photo
from models.catalog import WEIGHTS_DIR
from models.classifiers import FaceAttributeClassifier, FashionClassifier
from models.dcgan import (
    DIRECTIONS_FILE,
    ACGANDiscriminator,
    ACGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    generate,
    sample_z,
)
from models.tensors import to_signed_tensor
from training.common import (
    Budget,
    LossLog,
    adversarial_step,
    command_line,
    machine_description,
    save_grid,
    seed_everything,
    write_model_card,
)

logger = logging.getLogger(__name__)

NAMES = {"dcgan": "dcgan-faces", "acgan": "acgan-fashion", "face-classifier": "face-attribute-classifier",
         "fashion-classifier": "fashion-classifier", "dcgan-directions": "dcgan-faces"}  # fmt: skip
FACE_TRAIN_SEED, FACE_CLASSIFIER_SEED = 1000, 2000  # the evaluation renders with other seeds
FACE_DATA = ("procedural faces from data/faces.py (64x64; attributes smile, glasses, hair colour, "
             "skin tone, background, with pose/shape jitter), {n} renders, render seed {seed}")  # fmt: skip
FASHION_DATA = ("Fashion-MNIST training split (60,000 real 28x28 photos, 10 classes; Debian package "
                "dataset-fashion-mnist), padded to 32x32")  # fmt: skip


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m training {argv[0]}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=None, help="base channel width")
    p.add_argument("--faces", type=int, default=20000, help="face renders to train on")
    p.add_argument("--data", help="dcgan: folder of images instead of faces; acgan/fashion: IDX dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this wall time")
    p.add_argument("--out", help="output checkpoint dir (default models/weights/<name>)")
    p.add_argument("--conditioning", choices=["multiply", "concat"], default="multiply",
                   help="acgan: how the class enters G (z * embedding, or [z, embedding])")
    p.add_argument("--classifier", help="dcgan-directions: face classifier dir (default the embedded one)")
    return p.parse_args(argv[1:])


def faces_tensor(n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    ds = make_faces(n, 64, seed)
    x = to_signed_tensor(ds.images)
    return x, {k: torch.from_numpy(v) for k, v in ds.labels().items()}


def folder_tensor(folder: str, size: int = 64) -> torch.Tensor:
    """Every image of a folder, centre-cropped square and resized to size x size, in [-1, 1]."""
    images = []
    for path in folder_photo_paths(folder):
        img = Image.fromarray(load_photo(path))
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
        images.append(np.asarray(img))
    return to_signed_tensor(np.stack(images))


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def train_dcgan(args, log: LossLog, budget: Budget) -> tuple[DCGANGenerator, dict]:
    width = args.width or 32
    if args.data:
        data = folder_tensor(args.data)
        desc = f"{len(data)} images from `{args.data}`, centre-cropped, resized to 64x64"
    else:
        data, _ = faces_tensor(args.faces, FACE_TRAIN_SEED)
        desc = FACE_DATA.format(n=args.faces, seed=FACE_TRAIN_SEED)
    g, d = DCGANGenerator(width=width), DCGANDiscriminator(width=width)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(args.seed)
    for step in budget:
        real = data[torch.randint(len(data), (args.batch,), generator=gen)]
        if torch.rand(1, generator=gen).item() < 0.5:
            real = real.flip(3)
        fake = g(torch.randn(args.batch, g.z_dim, generator=gen))

        def d_loss():
            r, f = d(real), d(fake.detach())
            loss = bce(r, 1.0) + bce(f, 0.0)
            return loss, {"d_loss": loss.item(), "d_real": torch.sigmoid(r).mean().item(),
                          "d_fake": torch.sigmoid(f).mean().item()}  # fmt: skip

        def g_loss():
            loss = bce(d(fake), 1.0)  # non-saturating
            return loss, {"g_loss": loss.item()}

        log.add(step, **adversarial_step(g_loss, d_loss, opt_g, opt_d, d))
    info = {"data": desc, "details": f"width {width}, Adam lr 2e-4 betas (0.5, 0.999), non-saturating "
            "BCE loss, random horizontal flips", "summary": (
            f"DCGAN (Radford et al. 2016) generator, z in R^100 -> 64x64 RGB, width {width}, trained "
            "here on procedural faces with known attributes (for measurable vector arithmetic)."),
            "tags": ["dcgan", "gan-gallery"]}  # fmt: skip
    return g, info


def train_acgan(args, log: LossLog, budget: Budget) -> tuple[ACGANGenerator, dict]:
    width = args.width or 64
    images, labels = load_fashion_mnist("train", args.data)
    data, labels = torch.from_numpy(to_tensor_range(images)), torch.from_numpy(labels)
    g, d = ACGANGenerator(width=width, conditioning=args.conditioning), ACGANDiscriminator(width=width)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(args.seed)
    for step in budget:
        idx = torch.randint(len(data), (args.batch,), generator=gen)
        real, real_y = data[idx], labels[idx]
        fake_y = torch.randint(g.num_classes, (args.batch,), generator=gen)
        fake = g(torch.randn(args.batch, g.z_dim, generator=gen), fake_y)

        def d_loss():
            (r, r_cls), (f, f_cls) = d(real), d(fake.detach())
            adv = bce(r, 1.0) + bce(f, 0.0)
            aux = F.cross_entropy(r_cls, real_y) + F.cross_entropy(f_cls, fake_y)
            acc = (r_cls.argmax(1) == real_y).float().mean().item()
            return adv + aux, {"d_adv": adv.item(), "d_aux": aux.item(), "d_real_class_acc": acc}

        def g_loss():
            f, f_cls = d(fake)
            adv, aux = bce(f, 1.0), F.cross_entropy(f_cls, fake_y)
            return adv + aux, {"g_adv": adv.item(), "g_aux": aux.item()}

        log.add(step, **adversarial_step(g_loss, d_loss, opt_g, opt_d, d))
    info = {"data": FASHION_DATA, "details": f"width {width}, class conditioning '{args.conditioning}', "
            "Adam lr 2e-4 betas (0.5, 0.999); "
            "D loss = real/fake BCE + class cross-entropy on real and generated; G the same, "
            "non-saturating", "summary": (
            f"AC-GAN (Odena et al. 2017) generator, (z in R^100, class) -> 32x32 grey, width {width}, "
            "trained here on real Fashion-MNIST photos. Class order: " + ", ".join(CLASSES) + "."),
            "tags": ["ac-gan", "gan-gallery"]}  # fmt: skip
    return g, info


def classifier_accuracy(model, x, y, heads: bool) -> dict[str, float]:
    with torch.inference_mode():
        model.eval()
        out = torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)]) if not heads else None
        if not heads:
            return {"accuracy": float((out.argmax(1) == y).float().mean())}
        preds = {k: [] for k in model.heads}
        for i in range(0, len(x), 512):
            for k, v in model(x[i:i + 512]).items():
                preds[k].append((v > 0).long() if k in BINARY_ATTRIBUTES else v.argmax(-1))
        return {k: float((torch.cat(v) == y[k]).float().mean()) for k, v in preds.items()}


def train_classifier(method: str, args, log: LossLog, budget: Budget):
    gen = torch.Generator().manual_seed(args.seed)
    if method == "face-classifier":
        x, y = faces_tensor(args.faces, FACE_CLASSIFIER_SEED)
        x_test, y_test = faces_tensor(2000, FACE_CLASSIFIER_SEED + 1)
        model = FaceAttributeClassifier(width=args.width or 16)
        desc = FACE_DATA.format(n=args.faces, seed=FACE_CLASSIFIER_SEED)
        summary = ("Attribute classifier (smile, glasses, hair colour, skin tone, background) trained "
                   "on ground-truth face renders; judges DCGAN samples and gives the features of "
                   "'FD (face-attribute-classifier features)'.")  # fmt: skip
    else:
        images, labels = load_fashion_mnist("train", args.data)
        x, y = torch.from_numpy(to_tensor_range(images)), torch.from_numpy(labels)
        ti, tl = load_fashion_mnist("test", args.data)
        x_test, y_test = torch.from_numpy(to_tensor_range(ti)), torch.from_numpy(tl)
        model = FashionClassifier(width=args.width or 32)
        desc = FASHION_DATA
        summary = ("Fashion-MNIST classifier trained on the real training split; judges AC-GAN samples "
                   "and gives the features of 'FD (fashion-classifier features)'.")  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=budget.steps)
    model.train()
    for step in budget:
        idx = torch.randint(len(x), (args.batch,), generator=gen)
        xb = x[idx]
        if method == "face-classifier":
            out = model(xb.flip(3) if step % 2 else xb)
            loss = sum(F.binary_cross_entropy_with_logits(out[k], y[k][idx].float()) if k in BINARY_ATTRIBUTES
                       else F.cross_entropy(out[k], y[k][idx]) for k in out)  # fmt: skip
        else:
            loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        log.add(step, loss=loss.item())
    acc = classifier_accuracy(model, x_test, y_test, heads=method == "face-classifier")
    test_desc = "2,000 fresh renders (seed 2001)" if method == "face-classifier" else "the 10,000 real test photos"
    metrics = f"Held-out accuracy on {test_desc}: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items())
    info = {"data": desc, "details": "Adam, one-cycle lr max 2e-3", "summary": summary, "metrics": metrics,
            "tags": ["image-classification", "gan-gallery"], "test_accuracy": acc}  # fmt: skip
    return model, info


@torch.inference_mode()
def attribute_directions(g: DCGANGenerator, clf: FaceAttributeClassifier, n: int = 4096,
                         seed: int = 0) -> dict[str, torch.Tensor]:  # fmt: skip
    """Per attribute (and per categorical value, "hair=blonde"), the difference between the mean z of
    samples the classifier says have it and the mean z of those that have not."""
    g.eval()
    z = sample_z(n, g.z_dim, seed)
    preds = {k: [] for k in clf.heads}
    for i in range(0, n, 256):
        for k, v in clf.predict(g(z[i:i + 256])).items():
            preds[k].append(v)
    preds = {k: torch.cat(v) for k, v in preds.items()}
    directions = {}
    for attr in BINARY_ATTRIBUTES:
        has = preds[attr] > 0.5
        if 10 <= int(has.sum()) <= n - 10:
            directions[attr] = z[has].mean(0) - z[~has].mean(0)
    for attr, values in CATEGORICAL_ATTRIBUTES.items():
        for i, value in enumerate(values):
            has = preds[attr] == i
            if 10 <= int(has.sum()) <= n - 10:
                directions[f"{attr}={value}"] = z[has].mean(0) - z[~has].mean(0)
    return directions


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    method = argv[0]
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    name = NAMES[method]
    out = Path(args.out) if args.out else WEIGHTS_DIR / name
    out.mkdir(parents=True, exist_ok=True)

    if method == "dcgan-directions":
        from safetensors.torch import save_file

        g = DCGANGenerator.from_pretrained(out, strict=True)
        clf_dir = Path(args.classifier) if args.classifier else WEIGHTS_DIR / NAMES["face-classifier"]
        clf = FaceAttributeClassifier.from_pretrained(clf_dir, strict=True)
        directions = attribute_directions(g, clf, seed=args.seed)
        save_file({k: v.contiguous() for k, v in directions.items()}, out / DIRECTIONS_FILE)
        logger.info("saved %d directions to %s", len(directions), out / DIRECTIONS_FILE)
        return 0

    default_steps = {"dcgan": 3000, "acgan": 3000, "face-classifier": 600, "fashion-classifier": 1500}
    budget = Budget(args.steps or default_steps[method], args.max_minutes)
    log = LossLog(out / "training_log.csv", every=50 if budget.steps >= 500 else 10)
    if method == "dcgan":
        model, info = train_dcgan(args, log, budget)
    elif method == "acgan":
        model, info = train_acgan(args, log, budget)
    else:
        model, info = train_classifier(method, args, log, budget)
    log.save()
    model.eval()
    model.save_pretrained(out)
    log.plot(out / "loss_curve.png", f"{name} training losses")
    if method == "dcgan":
        save_grid(generate(model, sample_z(64, model.z_dim, 0)), out / "samples.png")
    elif method == "acgan":
        labels = torch.arange(10).repeat_interleave(8)
        save_grid(generate(model, sample_z(80, model.z_dim, 0), labels), out / "samples.png")
    meta = {
        "name": name, "summary": info["summary"], "command": command_line(argv), "seed": args.seed,
        "data": info["data"], "steps": budget.done, "batch": args.batch, "details": info["details"],
        "wall_seconds": round(log.elapsed, 1), "machine": machine_description(),
        "date": datetime.date.today().isoformat(),
        "parameters": sum(p.numel() for p in model.parameters()), "tags": info["tags"],
        "limitations": (
            "Trained for minutes on a 2-core CPU on simple data: procedural cartoon faces and 32x32 "
            "Fashion-MNIST are far easier than CelebA or ImageNet, and the samples show it. "
            + ("Stopped by its time budget before the requested steps. " if budget.stopped_early else "")),
        "metrics": info.get("metrics"), "test_accuracy": info.get("test_accuracy"),
    }  # fmt: skip
    write_model_card(out, meta)
    logger.info("saved %s (%.1f min, %d steps)", out, log.elapsed / 60, budget.done)
    return 0
