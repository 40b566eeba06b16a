"""Super-resolution benchmark: bicubic and every catalog SR model on the held-out photos.

Y-PSNR / Y-SSIM with a 4 px border crop (the SR conventions in eval/metrics.py), RGB-PSNR, and the
gradient-energy ratio (output vs. ground truth sharpness), per photo and averaged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data.photos import eval_photos
from eval.comparison import Panel, compose_comparison, window_of_largest_score
from eval.metrics import gradient_energy_ratio, psnr, ssim
from models import hub
from models.resample import crop_to_multiple, downscale_x4
from models.superres import BICUBIC, method_title, sr_model_names, upscale

METRICS = {
    "psnr_y": "PSNR (dB) on the BT.601 Y channel (16-235), 4 px border cropped",
    "ssim_y": "SSIM on Y, Gaussian 11x11 window (sigma 1.5), 4 px border cropped",
    "psnr_rgb": "PSNR (dB) over R, G and B, 4 px border cropped",
    "sharpness": "gradient-energy ratio: mean squared Sobel magnitude of Y, output / ground truth",
    "seconds": "wall seconds for the x4 upscale on this machine",
}
DATASET = ("held-out photos: scikit-image astronaut, coffee, chelsea, rocket, hubble_deep_field, "
           "immunohistochemistry, retina, motorcycle (left); scikit-learn china, flower. Each "
           "cropped to a multiple of 4 and downscaled x4 with PIL bicubic to make the LR input.")  # fmt: skip


def run(methods: list[str] | None = None, progress=None, failures_dir: Path | None = None) -> dict:
    """Returns {"methods": {method: {"checkpoint":…, "per_image": {photo: metrics}, "mean":…}}}."""
    methods = methods or [BICUBIC, *sr_model_names()]
    photos = eval_photos()
    out: dict = {"metrics": METRICS, "dataset": DATASET, "methods": {}}
    steps = [(m, n) for m in methods for n in photos]
    outputs: dict[str, dict[str, np.ndarray]] = {}
    for i, method in enumerate(methods):
        checkpoint = {"name": "bicubic", "source": "classical (PIL bicubic)", "sha256": None}
        if method != BICUBIC:
            try:
                loaded = hub.load(method)
            except hub.ModelUnavailable as exc:
                out["methods"][method] = {"title": method_title(method), "error": str(exc)}
                continue
            if loaded.notice:  # a Hub model that fell back: its numbers would be another model's
                out["methods"][method] = {"title": method_title(method), "error": loaded.notice}
                continue
            checkpoint = loaded.provenance()
        per_image = {}
        for j, (name, photo) in enumerate(photos.items()):
            if progress:
                progress((i * len(photos) + j) / len(steps), f"{method} on {name}")
            gt = crop_to_multiple(photo, 4)
            r = upscale(method, downscale_x4(gt))
            outputs.setdefault(method, {})[name] = r.image
            per_image[name] = {
                "psnr_y": psnr(gt, r.image, crop_border=4),
                "ssim_y": ssim(gt, r.image, crop_border=4),
                "psnr_rgb": psnr(gt, r.image, crop_border=4, y_channel=False),
                "sharpness": gradient_energy_ratio(r.image, gt, crop_border=4),
                "seconds": r.seconds,
                "size": f"{gt.shape[1]}x{gt.shape[0]}",
            }
        mean = {k: float(np.mean([v[k] for v in per_image.values()])) for k in METRICS}
        out["methods"][method] = {"title": method_title(method), "checkpoint": checkpoint,
                                  "per_image": per_image, "mean": mean}  # fmt: skip
    if failures_dir is not None:
        out["failures"] = hallucination_cases(out, photos, outputs, failures_dir)
    return out


def hallucination_cases(result: dict, photos: dict, outputs: dict, failures_dir: Path,
                        gan: str = "srgan-x4", mse: str = "srresnet-x4", top: int = 2) -> list[dict]:  # fmt: skip
    """The photos where the GAN loses most PSNR to the MSE model, zoomed on the 64 px window
    where its error most exceeds the MSE model's: where texture was invented, not recovered."""
    if gan not in outputs or mse not in outputs:
        return []
    per = result["methods"]
    drops = sorted(photos, key=lambda n: per[mse]["per_image"][n]["psnr_y"]
                   - per[gan]["per_image"][n]["psnr_y"], reverse=True)[:top]  # fmt: skip
    failures_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for name in drops:
        gt = crop_to_multiple(photos[name], 4)
        err_gan = np.abs(outputs[gan][name].astype(float) - gt)
        err_mse = np.abs(outputs[mse][name].astype(float) - gt)
        top_, left = window_of_largest_score((err_gan - err_mse).clip(0).mean(axis=2), 64)
        window = (slice(top_, top_ + 64), slice(left, left + 64))
        panels = []
        for method in (BICUBIC, mse, gan):
            crop = outputs[method][name][window]
            panels.append(Panel(crop, method_title(method),
                                f"{psnr(gt[window], crop):.1f} dB here"))  # fmt: skip
        panels.append(Panel(gt[window], "Original", f"{name} x={left} y={top_}"))
        image = failures_dir / f"superres_{name}.png"
        compose_comparison(panels, height=256).save(image)
        drop = per[mse]["per_image"][name]["psnr_y"] - per[gan]["per_image"][name]["psnr_y"]
        sharp = per[gan]["per_image"][name]["sharpness"] / per[mse]["per_image"][name]["sharpness"]
        cases.append({
            "task": "superres", "title": f"SR hallucination: {name}",
            "image": f"{failures_dir.name}/{image.name}",
            "numbers": {"psnr_drop_db": drop, "sharpness_gain": sharp},
            "why": (f"SRGAN is {drop:.2f} dB below SRResNet on this photo while {sharp:.2f}x as "
                    "sharp: the adversarial loss adds high-frequency texture that is not the "
                    "original's, so it is counted as error."),
        })  # fmt: skip
    return cases


def csv_rows(result: dict) -> list[dict]:
    rows = []
    for method, r in result["methods"].items():
        for photo, m in r.get("per_image", {}).items():
            rows.append({"method": method, "photo": photo, **m})
        if "mean" in r:
            rows.append({"method": method, "photo": "MEAN", **r["mean"]})
    return rows


def card_section(result: dict, method: str) -> str:
    """Markdown for a model card's Evaluation section, from a run() result."""
    r = result["methods"][method]
    bicubic = result["methods"].get(BICUBIC, {}).get("mean")
    lines = [f"`python -m eval.run superres` on {result.get('date', '?')[:10]}: {DATASET}", "",
             "| photo | Y-PSNR (dB) | Y-SSIM | sharpness |", "|---|---|---|---|"]  # fmt: skip
    for photo, m in r["per_image"].items():
        lines.append(f"| {photo} | {m['psnr_y']:.2f} | {m['ssim_y']:.4f} | {m['sharpness']:.3f} |")
    m = r["mean"]
    lines.append(f"| **mean** | **{m['psnr_y']:.2f}** | **{m['ssim_y']:.4f}** | **{m['sharpness']:.3f}** |")
    if bicubic:
        lines += ["", f"Bicubic on the same photos: {bicubic['psnr_y']:.2f} dB / "
                      f"{bicubic['ssim_y']:.4f}, sharpness {bicubic['sharpness']:.3f}. "
                      f"Sharpness = {METRICS['sharpness']}."]  # fmt: skip
    return "\n".join(lines)
