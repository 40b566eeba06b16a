"""Super-resolution speed: seconds per x4 upscale at 128, 256 and 512 px inputs for each model,
and the achieved FLOP/s as a fraction of this machine's float32 matmul peak, measured in the
same run. FLOPs are counted by torch's FlopCounterMode on the tiles actually run."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from eval.timing import best_seconds, matmul_peak_flops
from models import hub
from models.resample import upscale_bicubic_x4
from models.srresnet import SRResNet, tile_layout, upscale_x4
from models.superres import sr_model_names

SIZES = (128, 256, 512)
METRICS = {
    "seconds": "best of 3 (1 at 512 px) wall seconds for one x4 upscale, tiled as the app does",
    "gflops": "forward FLOPs of the tiles run, counted by torch.utils.flop_counter on one 32x32 LR "
              "input and scaled by LR pixels (convolutions are linear in area; 1 MAC = 2 FLOPs)",
    "fraction_of_peak": "achieved FLOP/s / best float32 2048x2048 matmul FLOP/s in this run",
}
DATASET = "random RGB inputs of each size (speed does not depend on content)"



def count_flops(model: SRResNet, size: int) -> float:
    """FLOPs of upscale_x4 on a size x size input: per-LR-pixel FLOPs (counted on a 32 px input)
    times the LR pixels of the tiles it runs (overlaps are computed twice, and counted so)."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.rand(1, 3, 32, 32))
    per_pixel = counter.get_total_flops() / (32 * 32)
    return per_pixel * sum(th * tw for _, _, th, tw in tile_layout(size, size))


def run(progress=None) -> dict:
    peak = matmul_peak_flops()
    models: dict[str, tuple[str, SRResNet | None]] = {"bicubic": ("PIL bicubic", None)}
    for name in sr_model_names("embedded"):
        try:
            models[name] = (f"embedded {name}", hub.load(name).model)
        except hub.ModelUnavailable:
            continue
    # The paper-size network's speed does not depend on its weights: time it even offline.
    torch.manual_seed(0)
    models["srresnet-16x64"] = ("SRResNet 16 blocks x 64 ch (paper / Hub size; random weights, "
                                "speed only)", SRResNet().eval())  # fmt: skip
    rng = np.random.default_rng(0)
    out = {"peak_gflops": peak / 1e9, "metrics": METRICS, "dataset": DATASET, "methods": {}}
    steps = len(models) * len(SIZES)
    for i, (name, (desc, model)) in enumerate(models.items()):
        per_size = {}
        for j, size in enumerate(SIZES):
            if progress:
                progress((i * len(SIZES) + j) / steps, f"{name} at {size}px")
            img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            if model is None:
                seconds = best_seconds(lambda: upscale_bicubic_x4(img), 3, warmup=False)
                per_size[str(size)] = {"seconds": seconds, "gflops": None, "fraction_of_peak": None}
                continue
            flops = count_flops(model, size)
            reps = 3 if size < 512 else 1
            seconds = best_seconds(lambda: upscale_x4(model, img), reps, warmup=False)
            per_size[str(size)] = {"seconds": seconds, "gflops": flops / 1e9,
                                   "fraction_of_peak": flops / seconds / peak}  # fmt: skip
        out["methods"][name] = {"title": desc, "per_size": per_size}
    return out


def csv_rows(result: dict) -> list[dict]:
    return [{"method": m, "input_px": size, **v, "peak_gflops": result["peak_gflops"]}
            for m, r in result["methods"].items() for size, v in r["per_size"].items()]  # fmt: skip
