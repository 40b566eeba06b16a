"""x4 super-resolution by name: "bicubic" or a catalog model. Shared by the tab and eval/."""

from __future__ import annotations

import time

import numpy as np

from models import hub
from models.catalog import entries_for
from models.resample import upscale_bicubic_x4
from models.result import PipelineResult
from models.result import method_title as title_of
from models.srresnet import upscale_x4

BICUBIC = "bicubic"


MODEL_SETS = {
    "embedded": ["srresnet-x4", "srgan-x4"],  # trained here, small
    # the paper's size, ImageNet-trained, and the SRGAN family today (Real-ESRGAN: Hub only, listed
    # when it loads; the tab says once per session when it cannot)
    "hub": ["srresnet-x4-imagenet", "srgan-x4-imagenet", "esrgan-x4"],
}


def sr_model_names(model_set: str | None = None) -> list[str]:
    """Catalog SR models, all or those of one MODEL_SETS key."""
    if model_set is not None:
        return list(MODEL_SETS[model_set])
    return [e.name for e in entries_for("superres")]


def method_title(method: str) -> str:
    return title_of(method, {BICUBIC: "Bicubic"})


def upscale(method: str, lr: np.ndarray) -> PipelineResult:
    """Upscale an RGB uint8 (H, W, 3) image x4 with `method`: .image is (4H, 4W, 3) uint8.
    Raises hub.ModelUnavailable."""
    if method == BICUBIC:
        t = time.perf_counter()
        out = upscale_bicubic_x4(lr)
        return PipelineResult(method, method_title(method), out, time.perf_counter() - t, "classical")
    loaded = hub.load(method)
    t = time.perf_counter()
    out = upscale_x4(loaded.model, lr)
    seconds = time.perf_counter() - t
    # the title of the model that actually ran (a Hub entry served by its embedded fallback says so)
    return PipelineResult(method, loaded.title or method_title(method), out, seconds, loaded.source,
                          loaded.provenance(), loaded.notice)  # fmt: skip
