"""Day <-> night translation by name: the catalog's pix2pix and CycleGAN models, shared by the tab
and eval/. Generators work on square RGB at the size they were trained at; `translate` resizes
(PIL bicubic) to that size, runs one direction and returns uint8 RGB.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image
from torch import nn

from models import hub
from models.cyclegan import CycleGAN
from models.pix2pix import Pix2PixPair, UNetGenerator
from models.result import PipelineResult
from models.result import method_title as title_of
from models.tensors import from_signed_tensor, to_signed_tensor

DAY2NIGHT, NIGHT2DAY = "day2night", "night2day"
DIRECTIONS = {DAY2NIGHT: "day → night", NIGHT2DAY: "night → day"}
INVERSE = {DAY2NIGHT: NIGHT2DAY, NIGHT2DAY: DAY2NIGHT, "a2b": "b2a", "b2a": "a2b"}

PIX2PIX = "pix2pix-day-night"  # trained here on paired renders
CYCLEGAN = "cyclegan-day-night"  # trained here on unpaired renders
HUB_PIX2PIX = "pix2pix-night2day-hub"  # huggan/pix2pix-night2day: real photos, night -> day only
HUB_CYCLEGAN = "cyclegan-horse2zebra-hub"  # tmabraham/horse2zebra_cyclegan: another task entirely
EMBEDDED_METHODS = [PIX2PIX, CYCLEGAN]
HUB_METHODS = [HUB_PIX2PIX, HUB_CYCLEGAN]
HUB_SIZE = 256  # both community models were trained on 256x256 crops
# Directions a one-way or other-task model offers (the embedded pairs offer both day/night ones).
HUB_DIRECTIONS = {HUB_PIX2PIX: [NIGHT2DAY], HUB_CYCLEGAN: ["a2b", "b2a"]}
DIRECTION_TITLES = {**DIRECTIONS, "a2b": "horse → zebra", "b2a": "zebra → horse"}
SHORT_NAMES = {PIX2PIX: "pix2pix", CYCLEGAN: "CycleGAN", HUB_PIX2PIX: "HugGAN", HUB_CYCLEGAN: "UPIT"}  # panel titles


def to_model_range(images: np.ndarray) -> torch.Tensor:
    """(H, W, 3) or (N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1]."""
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[None]
    return to_signed_tensor(a)


def square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop an RGB uint8 image to a square and resize it (PIL bicubic) to size x size."""
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[top : top + s, left : left + s]
    if s == size:
        return np.ascontiguousarray(crop)
    return np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.BICUBIC))


def generator_for(model: nn.Module, direction: str, method: str = "") -> nn.Module:
    if isinstance(model, (Pix2PixPair, CycleGAN)):
        return model.generator(direction)
    if isinstance(model, UNetGenerator) and direction in HUB_DIRECTIONS.get(method, [NIGHT2DAY]):
        return model  # a one-way pix2pix checkpoint
    raise ValueError(f"{method or type(model).__name__} has no {direction!r} direction")


def work_size(model: nn.Module) -> int:
    return int(getattr(model, "image_size", HUB_SIZE))


@torch.inference_mode()
def run_generator(generator: nn.Module, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) uint8 through one generator (on whatever device it is) -> the same
    shape, uint8."""
    generator.eval()
    single = np.asarray(images).ndim == 3
    weight = next(generator.parameters(), None)
    x = to_model_range(images).to(weight.device if weight is not None else "cpu")
    out = np.concatenate([from_signed_tensor(generator(x[i : i + batch])) for i in range(0, len(x), batch)])
    return out[0] if single else out


def directions_of(method: str) -> list[str]:
    return HUB_DIRECTIONS.get(method, [DAY2NIGHT, NIGHT2DAY])


def method_title(method: str) -> str:
    return title_of(method)


def translate(method: str, image: np.ndarray, direction: str) -> PipelineResult:
    """Translate an RGB uint8 image with a catalog model: .image is (size, size, 3) uint8,
    .details["direction"] the direction. The image is centre-cropped square and resized to the
    model's working size first (if it is not already). Raises hub.ModelUnavailable when the model
    cannot be loaded, ValueError for a direction it lacks."""
    loaded = hub.load(method)
    generator = generator_for(loaded.model, direction, method)
    x = square(image, work_size(loaded.model))
    t = time.perf_counter()
    out = run_generator(generator, x)
    return PipelineResult(method, method_title(method), out, time.perf_counter() - t, loaded.source,
                          loaded.provenance(), loaded.notice, details={"direction": direction})  # fmt: skip


def round_trip(method: str, image: np.ndarray, direction: str) -> tuple[PipelineResult, PipelineResult]:
    """X -> Y and back Y -> X (the cycle reconstruction) with the same model."""
    there = translate(method, image, direction)
    back = translate(method, there.image, INVERSE[direction])
    return there, back
