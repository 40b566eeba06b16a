"""Speed of every model in the catalog: seconds per call at three sizes, GFLOP per call, and the
achieved FLOP/s as a fraction of this machine's float32 matmul peak measured in the same run.

Image-to-image models (super-resolution, inpainting, translation) are timed at three input sides;
generators, classifiers and the text encoders at three batch sizes. Each call is the pipeline the
app runs (super-resolution: upscale_x4, tiled; inpainting: inpaint_gated / inpaint_lama) or the
model's forward under torch.inference_mode. Models that are not embedded (the Hub checkpoints) are
timed as their catalog architecture with seeded random weights: the speed of the architecture, not
of the downloaded weights (which does not change it); the paper-size 16x64 SRResNet is the
architecture of both ImageNet SR entries. Super-resolution is timed three times in the same run,
side by side: the fused path the app uses (models.srresnet.FusedSRResNet), the folded
channels_last copy (the fast path before) and the plain reference forward (the code before issue
#21), so the ratios are free of the machine's load.
"""

from __future__ import annotations

import functools
import logging
import os
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
RANDOM = "random weights: the architecture's speed, not the downloaded weights'"
METRICS = {
    "seconds": "best of 2 wall seconds per call (1 at the largest size), after one untimed call",
    "gflops": "FLOPs per call counted by torch.utils.flop_counter (1 multiply-add = 2 FLOPs; "
              "convolutions and matmuls, which are nearly all of it; LaMa's FFTs are not counted)",
    "fraction_of_peak": "achieved FLOP/s / best float32 2048x2048 matmul FLOP/s in this run",
}
DATASET = "random inputs of each size (speed does not depend on content)"
SR_PATHS = {"fused": "", "folded": " (folded path, before)", "reference": " (reference path)"}


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
    covers: tuple[str, ...] = ()  # the catalog entries whose speed this is
    weights: str = "embedded"  # or RANDOM


def _source(entry: CatalogEntry) -> str:
    return "embedded" if entry.embedded and entry.hub is None else RANDOM


@functools.cache
def _model(name: str) -> torch.nn.Module:
    """The embedded model, else the catalog architecture with seeded random weights (built on
    first use: the Hub architectures are large)."""
    entry = CATALOG[name]
    if _source(entry) == "embedded":
        return hub.load(entry.name, "embedded").model
    torch.manual_seed(0)
    if entry.cls in ("transformers:CLIPModel", "models.scene_clip:OpenAICLIP"):  # transformers' defaults are ViT-B/32's
        from transformers import CLIPConfig, CLIPModel

        return CLIPModel(CLIPConfig()).eval()
    config = entry.hub.config if entry.hub is not None else {}
    return entry.model_class()(**config).eval()


def _rng_image(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _sr_workloads() -> list[Workload]:
    from models.srresnet import SRResNet, tile_layout, upscale_x4

    def sr_flops(model: torch.nn.Module) -> Callable[[int], float]:
        # convolutions are linear in area: count one 32 px tile (on first use), scale by the LR
        # pixels run
        per_pixel = functools.cache(lambda: count_flops(lambda: model(torch.rand(1, 3, 32, 32))) / (32 * 32))
        return lambda s: per_pixel() * sum(th * tw for _, _, th, tw in tile_layout(s, s))

    def call(model: torch.nn.Module, path: str) -> Callable[[int], Callable[[], object]]:
        def at(s: int) -> Callable[[], object]:
            img = _rng_image(s)
            return lambda: upscale_x4(model, img, path=path)

        return at

    models: list[tuple[str, str, torch.nn.Module, tuple[str, ...], str]] = []
    for name in ("srresnet-x4", "srgan-x4"):
        try:
            models.append((name, f"{CATALOG[name].title} (embedded)", hub.load(name, "embedded").model,
                           (name,), "embedded"))  # fmt: skip
        except (KeyError, hub.ModelUnavailable):
            continue
    torch.manual_seed(0)
    imagenet = tuple(n for n in ("srresnet-x4-imagenet", "srgan-x4-imagenet") if n in CATALOG)
    models.append(("srresnet-16x64", "SRResNet 16 blocks x 64 ch (the ImageNet SR entries' architecture; "
                                     + RANDOM + ")", SRResNet().eval(), imagenet, RANDOM))  # fmt: skip
    out = []
    for name, title, model, covers, weights in models:
        flops = sr_flops(model)
        for path, suffix in SR_PATHS.items():
            out.append(Workload(name + suffix, title + {"fused": "", "folded": ": folded channels_last, before",
                                                        "reference": ": plain forward, before #21"}[path],
                                "input px", IMAGE_SIZES, call(model, path), flops,
                                covers if path == "fused" else (), weights))  # fmt: skip
    if "esrgan-x4" in CATALOG:  # RRDBNet: ~25x SRResNet-16x64's FLOPs per pixel, so smaller inputs
        entry = CATALOG["esrgan-x4"]

        def esrgan(s: int) -> Callable[[], object]:
            return call(_model(entry.name), "fused")(s)

        esrgan_flops = functools.cache(lambda: sr_flops(_model(entry.name)))
        out.append(Workload(entry.name, f"{entry.title} ({_source(entry)})", "input px", (32, 64, 128),
                            esrgan, lambda s: esrgan_flops()(s), (entry.name,), _source(entry)))  # fmt: skip
    return out


def _image_to_image(entry: CatalogEntry, source: str) -> Workload:
    title = f"{entry.title} ({source})"
    if entry.task.startswith("inpainting"):
        from data.masks import bucket_mask

        def call(s: int):
            if entry.cls.endswith(":LaMaInpainter"):
                from models.lama import inpaint_lama as fill
            else:
                from models.inpainting import inpaint_gated as fill
            model = _model(entry.name)
            img, mask = _rng_image(s), bucket_mask(s, (0.2, 0.3), np.random.default_rng(s))
            return lambda: fill(model, img, mask)

        return Workload(entry.name, title + ", 20-30% mask", "input px", IMAGE_SIZES, call,
                        covers=(entry.name,), weights=source)  # fmt: skip
    from models.translation import directions_of, generator_for

    def call(s: int):
        generator = generator_for(_model(entry.name), directions_of(entry.name)[0], entry.name).eval()
        x = torch.rand(1, 3, s, s) * 2 - 1
        return lambda: generator(x)

    # HugGAN's 8-level U-Net takes multiples of 256 px only
    sizes = (256, 512, 768) if entry.name == "pix2pix-night2day-hub" else IMAGE_SIZES
    return Workload(entry.name, title + ", one direction", "input px", sizes, call,
                    covers=(entry.name,), weights=source)  # fmt: skip


class _LazyModel:
    """Stands for _model(name): attribute access and calls build it on first use."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(_model(self._name), attr)

    def __call__(self, *args, **kwargs):
        return _model(self._name)(*args, **kwargs)


def _batched(entry: CatalogEntry, source: str) -> Workload | None:
    title = f"{entry.title} ({source})"
    cls = entry.cls.rpartition(":")[2]
    batches = BATCHES
    model = _LazyModel(entry.name)
    if cls in ("DCGANGenerator", "ACGANGenerator"):
        def call(b: int):
            z = torch.randn(b, model.z_dim)
            labels = torch.arange(b) % model.num_classes if cls == "ACGANGenerator" else None
            return lambda: model(z) if labels is None else model(z, labels)
    elif cls == "HugGANGenerator":
        def call(b: int):
            z = torch.randn(b, model.model[0].in_channels)
            return lambda: model(z)
    elif cls == "BigGAN":  # 128 px, truncation 0.4 (the tab's default range)
        batches = (1, 4, 16)

        def call(b: int):
            z = torch.randn(b, model.z_dim).clamp(-2, 2) * 0.4
            labels = torch.nn.functional.one_hot(torch.arange(b) % model.num_classes, model.num_classes).float()
            return lambda: model(z, labels, 0.4)
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
    elif cls in ("CLIPModel", "OpenAICLIP"):  # 77 random tokens and a 224 px image per item (no tokenizer offline)
        title += ": text + image towers, 224 px"
        batches = (1, 4, 16)

        def call(b: int):
            ids = torch.randint(0, model.config.text_config.vocab_size, (b, 77))
            pixels = torch.randn(b, 3, 224, 224)
            return lambda: (model.get_text_features(input_ids=ids), model.get_image_features(pixel_values=pixels))
    else:
        return None
    return Workload(entry.name, title, "batch", batches, call, covers=(entry.name,), weights=source)


def workloads() -> list[Workload]:
    """One workload per catalog model (the SR ImageNet entries share the paper-size architecture;
    every SR one three times: fused, folded and reference path)."""
    out = _sr_workloads()
    for entry in CATALOG.values():
        if entry.task == "superres":
            continue
        source = _source(entry)
        if entry.task.startswith("inpainting") or entry.task == "translation":
            out.append(_image_to_image(entry, source))
        elif (w := _batched(entry, source)) is not None:
            out.append(w)
        else:
            logger.warning("no speed workload for %s (%s)", entry.name, entry.cls)
    return out


def coverage(jobs: list[Workload]) -> dict[str, str]:
    """catalog name -> the workload that times it."""
    return {c: w.name for w in jobs for c in w.covers}


def run(progress=None, only: tuple[str, ...] = (), sizes: tuple[int, ...] | None = None) -> dict:
    """sizes (tests): override every workload's sizes. only: names to run (default: all).

    The matmul peak is measured again before and after each workload and its fraction is taken
    of the better of the two: on a shared machine the load changes while the benchmark runs, and a
    ratio to a peak measured minutes earlier would measure the load, not the model."""
    jobs = [w for w in workloads() if not only or w.name in only]
    peaks = [matmul_peak_flops()]
    out = {"peak_gflops": peaks[0] / 1e9, "metrics": METRICS, "dataset": DATASET,
           "threads": torch.get_num_threads(), "load_average_before": _load_average(),
           "catalog": coverage(jobs), "methods": {}}  # fmt: skip
    for i, w in enumerate(jobs):
        try:
            out["methods"][w.name] = _run_one(w, i, len(jobs), sizes, peaks, progress)
        except Exception as exc:  # reported per model, never hidden; the others still run
            logger.exception("speed: %s failed", w.name)
            out["methods"][w.name] = {"title": w.title, "unit": w.unit, "weights": w.weights,
                                      "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
    out["peak_gflops"] = max(peaks) / 1e9
    out["load_average_after"] = _load_average()
    return out


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _run_one(w: Workload, i: int, n_jobs: int, sizes, peaks: list[float], progress) -> dict:
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
        per_size[str(size)] = {"seconds": seconds, "gflops": flops / 1e9}
    before, after = peaks[-1], matmul_peak_flops(reps=3)
    peaks.append(after)
    peak = max(before, after)
    for v in per_size.values():
        v["fraction_of_peak"] = v["gflops"] * 1e9 / v["seconds"] / peak
    return {"title": w.title, "unit": w.unit, "weights": w.weights, "covers": list(w.covers),
            "peak_gflops": peak / 1e9, "per_size": per_size}  # fmt: skip


def speedups(result: dict, baseline: str = "reference") -> dict[str, dict[str, float]]:
    """SR: seconds of the `baseline` path ("reference" or "folded") / the fused path's, per size,
    from the same run."""
    methods, suffix = result["methods"], SR_PATHS[baseline]
    return {name: {s: methods[name + suffix]["per_size"][s]["seconds"] / v["seconds"]
                   for s, v in r["per_size"].items()}
            for name, r in methods.items()
            if "per_size" in r and "per_size" in methods.get(name + suffix, {})}  # fmt: skip


def csv_rows(result: dict) -> list[dict]:
    return [{"method": m, "weights": r.get("weights", ""), "unit": r["unit"], "size": size, **v,
             "peak_gflops": r.get("peak_gflops", result["peak_gflops"])}
            for m, r in result["methods"].items() for size, v in r.get("per_size", {}).items()]  # fmt: skip
