"""Inpainting speed: seconds per fill at 128, 256 and 512 px for OpenCV Telea / Navier-Stokes, the
harmonic fill and the learned gated-convolution model (the model runs whole at the given size), and Deep Image
Prior's seconds per 100 iterations at 128 and 256 px. A 20-30% free-form mask throughout.

The learned model's speed does not depend on its weights: without the embedded checkpoint the
same architecture is timed with random weights (and says so)."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from data.masks import bucket_mask
from eval.timing import matmul_peak_flops
from models import hub
from models.classical_inpainting import inpaint_harmonic, inpaint_navier_stokes, inpaint_telea
from models.deep_image_prior import deep_image_prior
from models.gated_inpainting import GatedInpaintGenerator, inpaint_gated
from models.inpainting import (
    DIP,
    GATED,
    HARMONIC,
    NAVIER_STOKES,
    TELEA,
    learned_model_names,
    method_title,
)

SIZES = (128, 256, 512)
DIP_SIZES = (128, 256)
DIP_TIMED_ITERATIONS = 20  # timed, then scaled to 100
METRICS = {
    "seconds": "best of 3 (1 at 512 px) wall seconds for one fill of a 20-30% free-form mask; "
               "Deep Image Prior: seconds per 100 iterations (timed over 20, after 2 warm-up)",
    "gflops": "learned model: forward FLOPs at that size, counted by torch.utils.flop_counter",
    "fraction_of_peak": "achieved FLOP/s / best float32 2048x2048 matmul FLOP/s in this run",
}
DATASET = "random RGB inputs of each size with a seeded 20-30% free-form mask (speed does not depend on content)"


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _learned() -> tuple[str, str, GatedInpaintGenerator]:
    name = (learned_model_names() or [GATED])[0]
    try:
        loaded = hub.load(name, "embedded")
        return name, f"{method_title(name)} (embedded)", loaded.model
    except (KeyError, hub.ModelUnavailable):
        torch.manual_seed(0)
        return name, (f"{method_title(name)} (default architecture, random weights: speed only; "
                      "no checkpoint)"), GatedInpaintGenerator().eval()  # fmt: skip


def count_flops(model: GatedInpaintGenerator, size: int) -> float:
    x, m = torch.zeros(1, 3, size, size), torch.zeros(1, 1, size, size)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x, m, torch.zeros_like(m))
    return counter.get_total_flops()


def run(progress=None, sizes: tuple[int, ...] = SIZES, dip_sizes: tuple[int, ...] = DIP_SIZES,
        dip_iterations: int = DIP_TIMED_ITERATIONS) -> dict:  # fmt: skip
    peak = matmul_peak_flops()
    rng = np.random.default_rng(0)
    name, learned_title, model = _learned()
    out = {"peak_gflops": peak / 1e9, "metrics": METRICS, "dataset": DATASET, "methods": {}}
    jobs = [(m, s) for m in (TELEA, NAVIER_STOKES, HARMONIC) for s in sizes]
    jobs += [(name, s) for s in sizes] + [(DIP, s) for s in dip_sizes]
    for i, (method, size) in enumerate(jobs):
        if progress:
            progress(i / len(jobs), f"{method} at {size}px")
        img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        mask = bucket_mask(size, (0.2, 0.3), np.random.default_rng(size))
        gflops = fraction = None
        if method == DIP:
            deep_image_prior(img, mask, iterations=2)  # warm-up (allocations, oneDNN kernels)
            seconds = _timed(lambda: deep_image_prior(img, mask, iterations=dip_iterations))
            seconds *= 100 / dip_iterations
            title = f"{method_title(DIP)} (seconds per 100 iterations)"
        else:
            fn = {TELEA: inpaint_telea, NAVIER_STOKES: inpaint_navier_stokes,
                  HARMONIC: inpaint_harmonic}.get(method)  # fmt: skip
            call = (lambda: fn(img, mask)) if fn else (lambda: inpaint_gated(model, img, mask))
            call()
            seconds = min(_timed(call) for _ in range(3 if size < 512 else 1))
            title = method_title(method) if fn else learned_title
            if fn is None:
                flops = count_flops(model, size)
                gflops, fraction = flops / 1e9, flops / seconds / peak
        entry = out["methods"].setdefault(method, {"title": title, "per_size": {}})
        entry["per_size"][str(size)] = {"seconds": seconds, "gflops": gflops, "fraction_of_peak": fraction}
    return out


def csv_rows(result: dict) -> list[dict]:
    return [{"method": m, "input_px": size, **v, "peak_gflops": result["peak_gflops"]}
            for m, r in result["methods"].items() for size, v in r["per_size"].items()]  # fmt: skip
