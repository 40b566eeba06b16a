"""Speed of every model in the catalog: seconds per call at three sizes, GFLOP per call, and the
achieved FLOP/s as a fraction of this machine's float32 matmul peak measured in the same run.

Image-to-image models (super-resolution, inpainting, translation) are timed at three input sides;
generators, classifiers and the text encoder at three batch sizes. Each call is the pipeline the
app runs (super-resolution: upscale_x4, tiled; inpainting: inpaint_gated) or the model's forward
under torch.inference_mode. Models that are not embedded (the Hub checkpoints) are timed as their
catalog architecture with random weights, which does not change their speed; the paper-size
16x64 SRResNet is the Hub SR models' architecture. Super-resolution is timed twice in the same
run, side by side: the fast path the app uses (BatchNorm folded, channels_last) and the plain
reference forward (the code before issue #21), so the ratio is free of the machine's load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from eval.timing import best_seconds, matmul_peak_flops
from models import hub
from models.catalog import CATALOG, CatalogEntry

logger = logging.getLogger(__name__)

IMAGE_SIZES = (128, 256, 512)
BATCHES = (1, 16, 64)
REPEATS = 2  # timed calls per size (1 at the largest); the machine is shared, so keep it short
METRICS = {
    "seconds": "best of 2 wall seconds per call (1 at the largest size), after one untimed call",
    "gflops": "FLOPs per call counted by torch.utils.flop_counter (1 multiply-add = 2 FLOPs; "
              "convolutions and matmuls, which are nearly all of it)",
    "fraction_of_peak": "achieved FLOP/s / best float32 2048x2048 matmul FLOP/s in this run",
}
DATASET = "random inputs of each size (speed does not depend on content)"



def count_flops(fn: Callable[[], object]) -> float:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        fn()
    return float(counter.get_total_flops())


@dataclass
class Workload:
    name: str  # the result key (a catalog name, or a variant of one)
    title: str
    unit: str  # "input px" or "batch"
    sizes: tuple[int, ...]
    call: Callable[[int], Callable[[], object]]  # size -> a zero-argument call to time
    flops: Callable[[int], float] | None = None  # size -> FLOPs per call (default: counted)


def _model(entry: CatalogEntry) -> tuple[torch.nn.Module, str]:
    """The embedded model, else the catalog architecture with seeded random weights."""
    if entry.embedded and entry.hub is None:
        try:
            return hub.load(entry.name, "embedded").model, "embedded"
        except hub.ModelUnavailable:
            pass
    torch.manual_seed(0)
    config = entry.hub.config if entry.hub is not None else {}
    return entry.model_class()(**config).eval(), "random weights (speed only)"


def _rng_image(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _sr_workloads() -> list[Workload]:
    from models.srresnet import SRResNet, tile_layout, upscale_x4

    def sr_flops(model: SRResNet) -> Callable[[int], float]:
        # convolutions are linear in area: count one 32 px tile, scale by the LR pixels run
        per_pixel = count_flops(lambda: model(torch.rand(1, 3, 32, 32))) / (32 * 32)
        return lambda s: per_pixel * sum(th * tw for _, _, th, tw in tile_layout(s, s))

    models: list[tuple[str, str, SRResNet]] = []
    for name in ("srresnet-x4", "srgan-x4"):
        try:
            models.append((name, f"{CATALOG[name].title} (embedded)", hub.load(name, "embedded").model))
        except (KeyError, hub.ModelUnavailable):
            continue
    torch.manual_seed(0)
    models.append(("srresnet-16x64", "SRResNet 16 blocks x 64 ch (the Hub SR models' paper size; random "
                                     "weights, speed only)", SRResNet().eval()))  # fmt: skip
    def call(model: SRResNet, fast: bool) -> Callable[[int], Callable[[], object]]:
        def at(s: int) -> Callable[[], object]:
            img = _rng_image(s)
            return lambda: upscale_x4(model, img, fast=fast)

        return at

    out = []
    for name, title, model in models:
        flops = sr_flops(model)
        out.append(Workload(name, title, "input px", IMAGE_SIZES, call(model, True), flops))
        out.append(Workload(f"{name} (reference path)", f"{title}: plain forward, before #21", "input px",
                            IMAGE_SIZES, call(model, False), flops))  # fmt: skip
    return out


def _image_to_image(entry: CatalogEntry, model: torch.nn.Module, source: str) -> Workload:
    title = f"{entry.title} ({source})"
    if entry.task == "inpainting":
        from data.masks import bucket_mask
        from models.inpainting import inpaint_gated

        def call(s: int):
            img, mask = _rng_image(s), bucket_mask(s, (0.2, 0.3), np.random.default_rng(s))
            return lambda: inpaint_gated(model, img, mask)

        return Workload(entry.name, title + ", 20-30% mask", "input px", IMAGE_SIZES, call)
    from models.translation import directions_of, generator_for

    generator = generator_for(model, directions_of(entry.name)[0], entry.name).eval()

    def call(s: int):
        x = torch.rand(1, 3, s, s) * 2 - 1
        return lambda: generator(x)

    return Workload(entry.name, title + ", one direction", "input px", IMAGE_SIZES, call)


def _batched(entry: CatalogEntry, model: torch.nn.Module, source: str) -> Workload | None:
    title = f"{entry.title} ({source})"
    cls = type(model).__name__
    if cls in ("DCGANGenerator", "ACGANGenerator"):
        def call(b: int):
            z = torch.randn(b, model.z_dim)
            labels = torch.arange(b) % model.num_classes if cls == "ACGANGenerator" else None
            return lambda: model(z) if labels is None else model(z, labels)
    elif cls == "GanIntCls":
        def call(b: int):
            z, text = torch.randn(b, model.z_dim), torch.randn(b, model.text_dim)
            return lambda: model(z, text)
    elif cls in ("FaceAttributeClassifier", "SceneClassifier"):
        def call(b: int):
            x = torch.rand(b, 3, 64, 64) * 2 - 1
            return lambda: model(x)
    elif cls == "FashionClassifier":
        def call(b: int):
            x = torch.rand(b, 1, 32, 32) * 2 - 1
            return lambda: model(x)
    elif cls == "SceneCLIP":
        title += ": text (frozen MiniLM + projection) + image towers"

        def call(b: int):
            captions = ["two red balls and a blue cube"] * b
            images = np.random.default_rng(b).integers(0, 256, (b, 64, 64, 3), dtype=np.uint8)
            # the frozen sentence encoder runs every time (the model caches caption vectors)
            return lambda: (model._vectors.clear(), model.encode_text(captions), model.encode_images(images))
    else:
        return None
    return Workload(entry.name, title, "batch", BATCHES, call)


def workloads() -> list[Workload]:
    """One workload per catalog model (the four SR entries share two architectures: embedded
    32x8 and paper-size 64x16), each SR one twice (fast and reference path)."""
    out = _sr_workloads()
    for entry in CATALOG.values():
        if entry.task == "superres":
            continue
        if entry.embedded is None and entry.task != "translation":
            continue  # the newer Hub-only entries (BigGAN, LaMa, HugGAN DCGAN, OpenAI CLIP): not timed yet
        model, source = _model(entry)
        if entry.task in ("inpainting", "translation"):
            out.append(_image_to_image(entry, model, source))
        elif (w := _batched(entry, model, source)) is not None:
            out.append(w)
    return out


def run(progress=None, only: tuple[str, ...] = (), sizes: tuple[int, ...] | None = None) -> dict:
    """sizes (tests): override every workload's sizes. only: names to run (default: all)."""
    peak = matmul_peak_flops()
    out = {"peak_gflops": peak / 1e9, "metrics": METRICS, "dataset": DATASET,
           "threads": torch.get_num_threads(), "methods": {}}  # fmt: skip
    jobs = [w for w in workloads() if not only or w.name in only]
    for i, w in enumerate(jobs):
        try:
            out["methods"][w.name] = _run_one(w, i, len(jobs), sizes, peak, progress)
        except Exception as exc:  # reported per model, never hidden; the others still run
            out["methods"][w.name] = {"title": w.title, "unit": w.unit, "error": f"{type(exc).__name__}: {exc}"}
    return out


def _run_one(w: Workload, i: int, n_jobs: int, sizes, peak: float, progress) -> dict:
    per_size = {}
    run_sizes = sizes or w.sizes
    for j, size in enumerate(run_sizes):
        if progress:
            progress((i + j / len(run_sizes)) / n_jobs, f"{w.name} at {w.unit} {size}")
        call = w.call(size)
        flops = w.flops(size) if w.flops else count_flops(call)  # counting is a warm-up call
        if w.flops and j == 0:
            call()  # warm-up (oneDNN primitives, allocations)
        reps = 1 if size == max(run_sizes) and len(run_sizes) > 1 else REPEATS
        with torch.inference_mode():
            seconds = best_seconds(call, reps, warmup=False)
        per_size[str(size)] = {"seconds": seconds, "gflops": flops / 1e9,
                               "fraction_of_peak": flops / seconds / peak}  # fmt: skip
    return {"title": w.title, "unit": w.unit, "per_size": per_size}


def speedups(result: dict) -> dict[str, dict[str, float]]:
    """SR: reference seconds / fast seconds per size, from the same run."""
    methods = result["methods"]
    return {name: {s: methods[f"{name} (reference path)"]["per_size"][s]["seconds"] / v["seconds"]
                   for s, v in r["per_size"].items()}
            for name, r in methods.items()
            if "per_size" in r and "per_size" in methods.get(f"{name} (reference path)", {})}  # fmt: skip


def csv_rows(result: dict) -> list[dict]:
    return [{"method": m, "unit": r["unit"], "size": size, **v, "peak_gflops": result["peak_gflops"]}
            for m, r in result["methods"].items() for size, v in r.get("per_size", {}).items()]  # fmt: skip
