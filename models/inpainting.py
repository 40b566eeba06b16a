"""Inpainting by name: the dispatcher the tab and eval/ call. Fill the masked part of a photo.

Methods (one module each):
- OpenCV Telea (Telea 2004, fast marching) and Navier-Stokes (Bertalmio et al. 2001): cv2.inpaint.
- A gated-convolution coarse-to-fine GAN generator (Yu et al. 2019, "Free-Form Image Inpainting
  with Gated Convolution", DeepFillv2) with an SN-PatchGAN discriminator, small enough to train
  on a 2-core CPU (training/inpainting.py). Differences from the paper, for that budget: the
  hole is pre-filled with a harmonic fill and both stages predict residuals to it (training
  starts from a smooth fill, not from grey), the coarse stage runs at half resolution, the
  refinement stage has no contextual-attention branch, and a noise channel (read only inside
  the hole) makes different seeds give different fills.
- A harmonic (multigrid Laplace) fill, parameter-free: the GAN's starting point, shown on its own
  so the network's contribution can be measured.
- Deep Image Prior (Ulyanov et al. 2018): a randomly initialised U-Net with skips fitted to the
  known pixels of this one image; its structure fills the hole. No training data at all.

Conventions: images are RGB uint8 (H, W, 3); masks are bool (H, W), True = missing (to fill).
Network tensors are (B, 3, H, W) in [-1, 1] for the GAN, [0, 1] for Deep Image Prior; mask
tensors (B, 1, H, W) in {0, 1}, 1 = missing.

Large photos are never pushed through a network whole: `inpaint` crops a box around the mask
(with context), scales it to the method's working resolution, fills it, scales the fill back and
pastes only the masked pixels into the full-resolution photo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from models.classical_inpainting import inpaint_harmonic, inpaint_navier_stokes, inpaint_telea
from models.deep_image_prior import DIP_ITERATIONS, DIPCallback, deep_image_prior
from models.gated_inpainting import (  # the checkpoint classes are importable from here too
    GatedInpaintGenerator,
    SNPatchDiscriminator,
    inpaint_gated,
    parameter_count,
)
from models.result import PipelineResult
from models.result import method_title as title_of
from models.tensors import check_image_and_mask

__all__ = ["GatedInpaintGenerator", "SNPatchDiscriminator", "parameter_count"]  # kept for training/

TELEA, NAVIER_STOKES, HARMONIC, DIP = "telea", "navier-stokes", "harmonic", "deep-image-prior"
CLASSICAL_TITLES = {TELEA: "Telea (OpenCV)", NAVIER_STOKES: "Navier-Stokes (OpenCV)",
                    HARMONIC: "Harmonic fill (the GAN's starting point)",
                    DIP: "Deep Image Prior"}  # fmt: skip
GATED = "inpainting-gated"  # the catalog name of the embedded learned model
# Longest side (px) of the box around the mask that each method works on; larger boxes are
# scaled down to it and the fill scaled back up. The learned model is run at 256 px (trained on
# 128 px crops; fully convolutional), Deep Image Prior at 128 px (it trains a network per image:
# cost grows with pixels times iterations, ~5-8 s per 100 iterations at 128 px on 2 CPU cores).
WORK_SIDE = {TELEA: 1024, NAVIER_STOKES: 1024, HARMONIC: 1024, DIP: 128}
LEARNED_WORK_SIDE = 256


# --- large photos: work on a box around the mask -------------------------------------------------


@dataclass(frozen=True)
class Region:
    """The box (top, left, height, width) around a mask that a method works on, and the
    (work_height, work_width) it is scaled to (equal to the box when it is small enough)."""

    top: int
    left: int
    height: int
    width: int
    work_height: int
    work_width: int

    @property
    def scaled(self) -> bool:
        return (self.work_height, self.work_width) != (self.height, self.width)


def region_around_mask(mask: np.ndarray, work_side: int, context: float = 0.5,
                       min_context: int = 16) -> Region:  # fmt: skip
    """The mask's bounding box grown by `context` x its longer side (at least `min_context`
    px) on every side, clipped to the image; scaled so its longer side is <= work_side."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("the mask is empty")
    h, w = mask.shape
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    margin = max(min_context, round(context * max(bottom - top, right - left)))
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(h, bottom + margin), min(w, right + margin)
    bh, bw = int(bottom - top), int(right - left)
    s = min(1.0, work_side / max(bh, bw))
    return Region(int(top), int(left), bh, bw, max(8, round(bh * s)), max(8, round(bw * s)))


def to_work(region: Region, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The region's image (area-resampled) and mask at work resolution. A work pixel is missing
    if any full-resolution pixel under it is, so the fill always covers the whole hole."""
    box = (slice(region.top, region.top + region.height), slice(region.left, region.left + region.width))
    img, m = image[box], mask[box]
    if not region.scaled:
        return np.ascontiguousarray(img), m.copy()
    size = (region.work_width, region.work_height)
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    m = cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    return img, m


def from_work(region: Region, image: np.ndarray, mask: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Paste a work-resolution fill back: scaled up (bicubic) to the box, and only the masked
    pixels of the full-resolution image replaced."""
    if region.scaled:
        filled = cv2.resize(filled, (region.width, region.height), interpolation=cv2.INTER_CUBIC)
    out = image.copy()
    box = (slice(region.top, region.top + region.height), slice(region.left, region.left + region.width))
    out[box] = np.where(mask[box][..., None], filled, image[box])
    return out


# --- by name: what the tab and eval/ call ----------------------------------------------------------


def learned_model_names() -> list[str]:
    from models.catalog import entries_for

    return [e.name for e in entries_for("inpainting")]


def method_title(method: str) -> str:
    return title_of(method, CLASSICAL_TITLES, default="Gated-conv GAN")


def inpaint(
    method: str,
    image: np.ndarray,
    mask: np.ndarray,
    seed: int = 0,
    *,
    model: GatedInpaintGenerator | None = None,
    iterations: int = DIP_ITERATIONS,
    callback: DIPCallback | None = None,
    work_side: int | None = None,
) -> PipelineResult:
    """Fill `mask` (bool (H, W), True = missing) in `image` (RGB uint8 (H, W, 3)) with `method`:
    "telea", "navier-stokes", "harmonic", "deep-image-prior" or a catalog model name (e.g. "inpainting-gated";
    pass `model` to use one not loaded from the catalog). Only masked pixels change.

    An empty mask returns the image unchanged; a mask with no known pixel left is a ValueError.
    Raises hub.ModelUnavailable when a learned model cannot be loaded. `callback` reports Deep
    Image Prior's progress and can stop it early (see DIPCallback).

    Returns .image: the full-resolution photo with the hole filled; .details["work_size"]: the
    (width, height) the method actually ran at; .details["iterations"]: Deep Image Prior's
    iterations actually run (else None).
    """
    mask = check_image_and_mask(image, mask)
    title, source, notice, checkpoint = method_title(method), "classical", None, None
    if not mask.any():
        return PipelineResult(method, title, image.copy(), 0.0, source, notice="the mask is empty: nothing to fill",
                              seed=seed, details={"work_size": (0, 0), "iterations": None})  # fmt: skip
    if mask.all():
        raise ValueError("the mask covers the whole image: no known pixel is left to fill from")
    if method in WORK_SIDE:
        side = work_side or WORK_SIDE[method]
    else:
        side = work_side or LEARNED_WORK_SIDE
        if model is None:
            model, source, notice, checkpoint = _load_learned(method)
        else:
            source = "given"
    region = region_around_mask(mask, side)
    small_img, small_mask = to_work(region, image, mask)
    ran = None
    t = time.perf_counter()
    if method == TELEA:
        filled = inpaint_telea(small_img, small_mask)
    elif method == NAVIER_STOKES:
        filled = inpaint_navier_stokes(small_img, small_mask)
    elif method == HARMONIC:
        filled = inpaint_harmonic(small_img, small_mask)
    elif method == DIP:
        source, done = "per-image optimisation", [0]

        def counted(i: int, total: int, loss: float, preview: Callable[[], np.ndarray]) -> bool | None:
            done[0] = i
            if callback is None:
                return None
            return callback(i, total, loss, lambda: from_work(region, image, mask, preview()))

        filled = deep_image_prior(small_img, small_mask, iterations, seed, counted)
        ran = done[0]
    elif _is_lama(model):  # deterministic: the seed does not apply
        from models.lama import inpaint_lama

        filled = inpaint_lama(model, small_img, small_mask)
    else:
        filled = inpaint_gated(model, small_img, small_mask, seed)
    seconds = time.perf_counter() - t
    out = from_work(region, image, mask, filled)
    return PipelineResult(method, title, out, seconds, source, checkpoint, notice, seed=seed,
                          details={"work_size": (region.work_width, region.work_height), "iterations": ran})  # fmt: skip


def _is_lama(model) -> bool:
    return type(model).__name__ == "LaMaInpainter"


def _load_learned(name: str) -> tuple[GatedInpaintGenerator, str, str | None, dict]:
    from models import hub

    try:
        loaded = hub.load(name)
    except KeyError as exc:
        raise hub.ModelUnavailable(f"{name}: not in the model catalog (models/catalog.py)") from exc
    return loaded.model, loaded.source, loaded.notice, loaded.provenance()
