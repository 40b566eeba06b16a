"""The one list of benchmark tasks. The runner (eval/run.py), the dashboard (demos/evaluation.py)
and `python -m training` read it; nothing else keeps a task list.

Each entry says what the task is called on the dashboard, which module runs it (with
`run(progress=...)` and `csv_rows(result)`, optionally `card_section(result, method)`), what it
runs, the figures drawn from its results, and the `python -m training` methods that make the
models it measures (method -> training module). Modules and figures are named, not imported, so
reading the list costs nothing at app start-up (importing all eight benchmarks takes ~1 s).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Task:
    name: str
    title: str  # the dashboard's heading
    module: str  # the benchmark module, e.g. "eval.superres"
    runs: str  # what it runs, in one line
    figures: tuple[str, ...]  # "module:function" of each plotly figure built from the results
    trained_by: dict[str, str]  # `python -m training <method>` -> the training module

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def figure_functions(self) -> list[Callable]:
        out = []
        for ref in self.figures:
            module, name = ref.split(":")
            out.append(getattr(importlib.import_module(module), name))
        return out


_SR = {"srresnet": "training.superres", "srgan": "training.superres"}
_INPAINTING = {"inpainting": "training.inpainting"}

TASKS: dict[str, Task] = {t.name: t for t in [
    Task("superres", "Super-resolution x4 quality", "eval.superres",
         "bicubic and every catalog SR model on the 10 held-out photos: Y-PSNR/Y-SSIM (crop 4), RGB-PSNR, sharpness",
         ("eval.plots:superres_perception_distortion", "eval.plots:superres_psnr_vs_ssim",
          "eval.plots:superres_sharpness"), _SR),
    Task("superres_speed", "Super-resolution speed", "eval.superres_speed",
         "seconds per x4 upscale at 128/256/512 px per model, FLOPs as a fraction of the matmul peak",
         ("eval.plots:superres_speed",), _SR),
    Task("speed", "Speed of every catalog model: seconds and % of the matmul peak", "eval.speed",
         "every catalog model at three sizes (or batches): seconds, GFLOP per call, % of the fp32 matmul peak "
         "measured in the same run; SR fast path beside the reference forward",
         ("eval.plots:speed_fraction_of_peak",), {}),
    Task("dcgan", "DCGAN: vector arithmetic, sliders, FD", "eval.dcgan",
         "DCGAN faces judged by the face-attribute classifier: attribute frequencies, FD, arithmetic, sliders, speed",
         ("eval.plots:dcgan_sliders", "eval.plots:dcgan_arithmetic"),
         {"dcgan": "training.dcgan", "face-classifier": "training.dcgan", "face-judge-aug": "training.dcgan",
          "dcgan-directions": "training.dcgan"}),
    Task("acgan", "AC-GAN: class accuracy and FD per class", "eval.acgan",
         "AC-GAN Fashion-MNIST samples judged by the classifier trained on real photos: accuracy and FD per class",
         ("eval.plots:acgan_per_class", "eval.plots:acgan_fd"),
         {"acgan": "training.dcgan", "fashion-classifier": "training.dcgan"}),
    Task("inpainting", "Inpainting quality by mask area", "eval.inpainting",
         "Telea, Navier-Stokes, harmonic, the gated-conv GAN and Deep Image Prior on the held-out photos, "
         "per mask-area bucket",
         ("eval.plots_inpainting:inpainting_psnr_by_bucket", "eval.plots_inpainting:inpainting_ssim_l1_by_bucket"),
         _INPAINTING),
    Task("inpainting_speed", "Inpainting speed", "eval.inpainting_speed",
         "seconds per fill at 128/256/512 px per method; Deep Image Prior per 100 iterations",
         ("eval.plots_inpainting:inpainting_speed",), _INPAINTING),
    Task("translation", "Day ↔ night: pix2pix vs CycleGAN against paired ground truth", "eval.translation",
         "pix2pix and CycleGAN on held-out day/night scene pairs: PSNR/SSIM vs ground truth, scene-classifier "
         "reading and FD, per weather, cycle consistency",
         ("eval.plots_translation:translation_psnr_ssim", "eval.plots_translation:translation_fd",
          "eval.plots_translation:translation_by_weather", "eval.plots_translation:translation_cycle"),
         {"pix2pix": "training.translation", "cyclegan": "training.translation",
          "scene-classifier": "training.translation"}),
    Task("text2image", "Text to image: GAN-INT-CLS read by a scene detector and the scene CLIP", "eval.text2image",
         "GAN-INT-CLS samples of held-out captions read by the scene detector and the scene CLIP: counting, "
         "attributes, perspective, R-precision, held-out combinations, FD, speed",
         ("eval.plots_text2image:text2image_confusion", "eval.plots_text2image:text2image_count_accuracy",
          "eval.plots_text2image:text2image_attributes", "eval.plots_text2image:text2image_perspective"),
         {"scene-clip": "training.text2image", "gan-int-cls": "training.gan_int_cls"}),
]}  # fmt: skip


def figures(task: str) -> list[Callable]:
    """The figure functions of a task ([] for an unknown one)."""
    return TASKS[task].figure_functions() if task in TASKS else []


def training_methods() -> dict[str, str]:
    """Every `python -m training` method that makes a model some task measures -> its module."""
    out: dict[str, str] = {}
    for task in TASKS.values():
        out.update(task.trained_by)
    return out
