"""Inpainting benchmark: OpenCV Telea and Navier-Stokes, the harmonic fill the learned model starts
from (so the network's own contribution shows), the learned gated-convolution GAN and (on a small
subset) Deep Image Prior, on the held-out photos with a fixed, seeded set of
free-form masks, reported per mask-area bucket (0-10%, ..., 40-50%).

Every method goes through models.inpainting.inpaint, the helper the tab uses. Speed is its own
task (eval/inpainting_speed.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from data.masks import (
    BUCKETS,
    EVAL_MASK_SEED,
    EVAL_MASK_SIZE,
    EVAL_MASKS_PER_BUCKET,
    bucket_label,
    evaluation_masks,
    mask_area,
    mask_overlay,
)
from data.photos import eval_photos
from eval.comparison import Panel, compose_comparison
from eval.metrics import psnr, ssim
from models import hub
from models.deep_image_prior import DIP_ITERATIONS as APP_DIP_ITERATIONS
from models.gated_inpainting import GatedInpaintGenerator
from models.inpainting import (
    DIP,
    GATED,
    HARMONIC,
    NAVIER_STOKES,
    TELEA,
    WORK_SIDE,
    inpaint,
    learned_model_names,
    method_title,
)

logger = logging.getLogger(__name__)

SIDE = EVAL_MASK_SIZE  # photos are centre-cropped square and resized to this
DIP_ITERATIONS = 150  # the app defaults to 600 (dip_vs_telea runs that); 5 cases x 150 keep the main table quick
FILLS = 4  # the tab's "several plausible fills"
DIP_SIDE = 128  # Deep Image Prior against Telea with both at this size
DIP_PHOTOS = ["astronaut", "chelsea", "coffee", "motorcycle", "china"]  # one per bucket, in order
LABELS = [bucket_label(b) for b in BUCKETS]
METRICS = {
    "l1": "mean absolute error over the masked pixels only, R, G and B, on the [0, 1] scale",
    "psnr": "PSNR (dB) over the whole image (unmasked pixels are the original's), R, G and B",
    "ssim": "SSIM over the whole image, mean of R, G and B, Gaussian 11x11 window (sigma 1.5)",
    "seconds": "wall seconds for the fill on this machine (the method's work resolution; see dataset)",
}
DATASET = (f"held-out photos: scikit-image astronaut, coffee, chelsea, rocket, hubble_deep_field, "
           f"immunohistochemistry, retina, motorcycle (left); scikit-learn china, flower; each "
           f"centre-cropped square and resized to {SIDE}x{SIDE} (PIL bicubic). Masks: "
           f"{EVAL_MASKS_PER_BUCKET} seeded free-form brush-stroke masks per area bucket "
           f"(data/masks.py evaluation_masks, seed {EVAL_MASK_SEED}), the same on every photo. "
           f"OpenCV, harmonic fill and the learned model run at {SIDE} px; Deep Image Prior as the app "
           f"runs it ({WORK_SIDE[DIP]} px around the mask, {DIP_ITERATIONS} iterations) on one "
           f"photo per bucket only ({', '.join(DIP_PHOTOS)}), for time.")  # fmt: skip


def square(photo: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Centre-crop to a square and resize to side x side, RGB uint8."""
    h, w = photo.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = Image.fromarray(photo[top : top + s, left : left + s])
    return np.asarray(crop.resize((side, side), Image.Resampling.BICUBIC))


def case_metrics(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    diff = np.abs(original.astype(np.float64) - filled.astype(np.float64))[mask]
    return {"l1": float(diff.mean() / 255.0),
            "psnr": psnr(original, filled, y_channel=False),
            "ssim": ssim(original, filled, y_channel=False)}  # fmt: skip


def _mean(rows: list[dict], keys) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def _checkpoint(method: str, learned: dict | None) -> tuple[dict | None, object, str | None]:
    """(checkpoint record, model or None, error) for a method."""
    if method in (TELEA, NAVIER_STOKES):
        return {"name": method, "source": "classical (OpenCV cv2.inpaint)", "sha256": None}, None, None
    if method == HARMONIC:
        return {"name": method, "source": "classical (multigrid harmonic fill)", "sha256": None}, None, None
    if method == DIP:
        return {"name": method, "source": "per-image optimisation (no weights)", "sha256": None}, None, None
    if learned and method in learned:
        return {"name": method, "source": "given", "sha256": None}, learned[method], None
    try:
        loaded = hub.load(method)
    except KeyError:
        return None, None, f"{method}: not in the model catalog (models/catalog.py)"
    except hub.ModelUnavailable as exc:
        return None, None, str(exc)
    if loaded.notice:  # a Hub model that fell back: its numbers would be another model's
        return None, None, loaded.notice
    return loaded.provenance(), loaded.model, None


def run(
    methods: list[str] | None = None,
    progress=None,
    failures_dir: Path | None = None,
    *,
    photos: dict[str, np.ndarray] | None = None,
    masks: dict[str, list[np.ndarray]] | None = None,
    learned: dict[str, GatedInpaintGenerator] | None = None,
    dip_iterations: int = DIP_ITERATIONS,
    side: int = SIDE,
    diversity: bool = True,
    dip_side: int = DIP_SIDE,
    dip_default_iterations: int = APP_DIP_ITERATIONS,
) -> dict:
    """Returns {"methods": {method: {"title", "checkpoint", "per_bucket": {bucket: metrics},
    "per_image": {photo: {bucket: metrics}}, "mean": {"psnr_20-30": ...}}}, "buckets": [...]}.

    `photos`, `masks` (side x side), `learned` ({name: model}) and `side` replace the defaults
    (tests use tiny ones). `diversity` adds the learned model's FILLS fills per case; `dip_side`
    (0: skip) adds Deep Image Prior at `dip_default_iterations` against Telea at that size.
    A learned model that cannot be loaded is reported with its reason instead of numbers.
    """
    if methods is None:
        methods = [TELEA, NAVIER_STOKES, HARMONIC, *(learned_model_names() or [GATED]), DIP]
    original_photos = photos or eval_photos()
    photos = {n: square(p, side) for n, p in original_photos.items()}
    masks = masks if masks is not None else evaluation_masks(side)
    if any(m.shape != (side, side) for ms in masks.values() for m in ms):
        raise ValueError(f"every mask must be {side}x{side}")
    labels = [b for b in LABELS if b in masks]
    out: dict = {"metrics": METRICS, "dataset": DATASET, "buckets": labels, "methods": {},
                 "mask_areas": {b: [mask_area(m) for m in masks[b]] for b in labels}}  # fmt: skip
    dip_cases = _dip_cases(list(photos), labels)
    grid = [(n, b, k) for n in photos for b in labels for k in range(len(masks[b]))]
    total = sum(len(dip_cases) if m == DIP else len(grid) for m in methods) or 1
    done = 0
    per_case: dict[str, dict[tuple, dict]] = {}
    models_used: dict[str, object] = {}
    kept: dict[tuple, dict[str, np.ndarray]] = {}  # outputs in the largest bucket, for failures
    for method in methods:
        checkpoint, model, error = _checkpoint(method, learned)
        models_used[method] = model
        title = method_title(method)
        if error:
            out["methods"][method] = {"title": title, "error": error}
            done += len(dip_cases) if method == DIP else len(grid)
            continue
        cases = dip_cases if method == DIP else grid
        if method == DIP:
            title = f"{title} ({dip_iterations} it., {WORK_SIDE[DIP]} px, 1 photo per bucket)"
        per_case[method] = {}
        for name, bucket, k in cases:
            if progress:
                progress(done / total, f"{method} on {name}, {bucket}% mask #{k}")
            done += 1
            original, mask = photos[name], masks[bucket][k]
            r = inpaint(method, original, mask, seed=0, model=model, iterations=dip_iterations)
            per_case[method][(name, bucket, k)] = {**case_metrics(original, r.image, mask),
                                                   "seconds": r.seconds}  # fmt: skip
            if bucket == labels[-1]:
                kept.setdefault((name, bucket, k), {})[method] = r.image
        out["methods"][method] = {"title": title, "checkpoint": checkpoint,
                                  **_aggregate(per_case[method], labels)}  # fmt: skip
    if DIP in per_case:  # the other methods on exactly Deep Image Prior's cases, to compare fairly
        subset = {}
        for m, rows in per_case.items():
            subset[m] = {b: _mean([rows[key] for key in dip_cases if key[1] == b and key in rows], METRICS)
                         for b in labels if any(key[1] == b and key in rows for key in dip_cases)}  # fmt: skip
        out["dip_subset"] = {"cases": [f"{n} {b}% #{k}" for n, b, k in dip_cases], "per_bucket": subset}
    if failures_dir is not None and labels:
        out["failures"] = worst_cases(out, per_case, photos, masks, kept, labels[-1], failures_dir)
    gated = next((m for m in methods if m not in (TELEA, NAVIER_STOKES, HARMONIC, DIP) and m in per_case), None)
    if gated is not None and diversity:
        if progress:
            progress(0.95, f"{FILLS} fills per case")
        out["fill_diversity"] = {"method": gated, **fill_diversity(models_used[gated], photos, masks, labels)}
    if DIP in methods and dip_side:
        if progress:
            progress(0.97, f"Deep Image Prior against Telea at {dip_side} px")
        out["dip_vs_telea"] = dip_against_telea(original_photos, labels, dip_default_iterations, dip_side)
    return out


def fill_diversity(model, photos: dict[str, np.ndarray], masks: dict[str, list[np.ndarray]], labels: list[str],
                   n: int = FILLS) -> dict:  # fmt: skip
    """The learned model's n fills (seeds 0..n-1) of every evaluation case, per bucket: their mean
    pairwise L1 inside the hole (0 = the seeds change nothing), the first fill's PSNR, the best-of-n
    PSNR (an oracle pick against the original) and how often that pick beats the first fill."""
    out = {}
    for b in labels:
        rows = []
        for original in photos.values():
            for mask in masks[b]:
                fills = [inpaint(GATED, original, mask, seed=s, model=model).image for s in range(n)]
                hole = [f[mask].astype(np.float64) / 255 for f in fills]
                pairs = [np.abs(hole[i] - hole[j]).mean() for i in range(n) for j in range(i + 1, n)]
                scores = [psnr(original, f, y_channel=False) for f in fills]  # RGB, as the table
                rows.append({"pairwise_l1": float(np.mean(pairs)), "first_psnr": scores[0],
                             "best_psnr": max(scores), "best_beats_first": max(scores) > scores[0] + 1e-9})  # fmt: skip
        out[b] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} | {"cases": len(rows)}
    return {"fills": n, "per_bucket": out}


def dip_against_telea(photos: dict[str, np.ndarray], labels: list[str], iterations: int, side: int = DIP_SIDE) -> dict:
    """Deep Image Prior at the app's default iterations and Telea, both on the photo and mask at
    `side` px (the size Deep Image Prior works at), on its cases (one photo per bucket)."""
    masks = evaluation_masks(side)
    small = {n: square(p, side) for n, p in photos.items()}
    out = {}
    for name, b, k in _dip_cases(list(small), labels):
        original, mask = small[name], masks[b][k]
        row = {}
        for method in (TELEA, DIP):
            r = inpaint(method, original, mask, seed=0, iterations=iterations)
            row[method] = {**case_metrics(original, r.image, mask), "seconds": r.seconds}
        out[b] = {"photo": name, "mask_area": mask_area(mask), **row}
    wins = {k: sum(out[b][DIP][k] > out[b][TELEA][k] for b in out) for k in ("psnr", "ssim")}
    return {"side": side, "iterations": iterations, "per_bucket": out, "dip_wins": wins, "cases": len(out)}


def _dip_cases(names: list[str], labels: list[str]) -> list[tuple[str, str, int]]:
    chosen = [n for n in DIP_PHOTOS if n in names] or names
    return [(chosen[i % len(chosen)], b, 0) for i, b in enumerate(labels)]


def _aggregate(cases: dict[tuple, dict], labels: list[str]) -> dict:
    per_bucket, per_image = {}, {}
    for b in labels:
        rows = [c for (n, bb, k), c in cases.items() if bb == b]
        if rows:
            per_bucket[b] = {**_mean(rows, METRICS), "n": len(rows)}
    for n in dict.fromkeys(key[0] for key in cases):
        per_image[n] = {b: _mean([c for (nn, bb, k), c in cases.items() if nn == n and bb == b],
                                 ("l1", "psnr", "ssim"))
                        for b in labels if any(nn == n and bb == b for nn, bb, _ in cases)}  # fmt: skip
    mean = {f"{k}_{b}": v[k] for k in ("psnr", "ssim", "l1") for b, v in per_bucket.items()}
    mean["seconds"] = float(np.mean([c["seconds"] for c in cases.values()]))
    return {"per_bucket": per_bucket, "per_image": per_image, "mean": mean}


def worst_cases(result: dict, per_case: dict, photos: dict, masks: dict, kept: dict, bucket: str,
                failures_dir: Path, top: int = 2) -> list[dict]:  # fmt: skip
    """In the largest-mask bucket, the cases where the learned model does worst against the
    better OpenCV method (or, without a learned model, where Telea scores lowest)."""
    learned = next((m for m in per_case if m not in (TELEA, NAVIER_STOKES, HARMONIC, DIP)), None)
    subject = learned or (TELEA if TELEA in per_case else None)
    if subject is None:
        return []
    keys = [key for key in per_case[subject] if key[1] == bucket]
    classical = [m for m in (TELEA, NAVIER_STOKES) if m in per_case and m != subject]

    def margin(key) -> float:
        best = max((per_case[m][key]["psnr"] for m in classical), default=0.0)
        return per_case[subject][key]["psnr"] - best if classical else per_case[subject][key]["psnr"]

    failures_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for key in sorted(keys, key=margin)[:top]:
        name, _, k = key
        original, mask = photos[name], masks[bucket][k]
        panels = [Panel(mask_overlay(original, mask), "Masked input", f"{mask_area(mask):.1%} masked")]
        for m in [*classical, subject]:
            if m in kept.get(key, {}):
                panels.append(Panel(kept[key][m], method_title(m), f"{per_case[m][key]['psnr']:.2f} dB"))
        panels.append(Panel(original, "Original", f"{name}, mask #{k}"))
        image = failures_dir / f"inpainting_{name}_{bucket}_{k}.png"
        compose_comparison(panels, height=256, footer="PSNR: RGB, whole image").save(image)
        own = per_case[subject][key]["psnr"]
        bucket_mean = result["methods"][subject]["per_bucket"][bucket]["psnr"]
        numbers = {"psnr_db": own, "bucket_mean_psnr_db": bucket_mean, "mask_area": mask_area(mask)}
        why = (f"{method_title(subject)} gets {own:.2f} dB on this {mask_area(mask):.0%} mask "
               f"({own - bucket_mean:+.2f} dB against its mean in the {bucket}% bucket)")
        if classical:
            best = max(classical, key=lambda m: per_case[m][key]["psnr"])
            numbers["best_opencv_psnr_db"] = per_case[best][key]["psnr"]
            why += f"; {method_title(best)} scores {per_case[best][key]['psnr']:.2f} dB on the same case"
        cases.append({"task": "inpainting", "title": f"Inpainting, {bucket}% mask: {name}",
                      "image": f"{failures_dir.name}/{image.name}", "numbers": numbers,
                      "why": why + ". The largest holes leave the least context to continue."})  # fmt: skip
    return cases


def csv_rows(result: dict) -> list[dict]:
    rows = []
    for method, r in result["methods"].items():
        for photo, buckets in r.get("per_image", {}).items():
            for b, m in buckets.items():
                rows.append({"method": method, "photo": photo, "bucket": b, **m})
        for b, m in r.get("per_bucket", {}).items():
            rows.append({"method": method, "photo": "MEAN", "bucket": b, **m})
    return rows


def card_section(result: dict, method: str) -> str:
    """Markdown for a model card's Evaluation section, from a run() result."""
    r = result["methods"][method]
    others = [m for m in (TELEA, NAVIER_STOKES, HARMONIC) if "per_bucket" in result["methods"].get(m, {})]
    head = "| mask area | L1 (hole) | PSNR (dB) | SSIM |" + "".join(
        f" {method_title(m)} PSNR |" for m in others)
    lines = [f"`python -m eval.run inpainting` on {result.get('date', '?')[:10]}: {DATASET}", "",
             head, "|---" * (4 + len(others)) + "|"]  # fmt: skip
    for b, m in r["per_bucket"].items():
        row = f"| {b}% | {m['l1']:.4f} | {m['psnr']:.2f} | {m['ssim']:.4f} |"
        row += "".join(f" {result['methods'][o]['per_bucket'][b]['psnr']:.2f} |" for o in others)
        lines.append(row)
    lines += ["", "; ".join(f"{k}: {v}" for k, v in METRICS.items() if k != "seconds") + "."]
    return "\n".join(lines)
