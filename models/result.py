"""What every pipeline in models/ returns: the images and the numbers of one run, labelled with
the model that actually ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PipelineResult:
    """One pipeline call.

    method: the name asked for ("bicubic", "telea", a catalog name, ...); title: the display name
    of the model that actually ran; image: (H, W, 3) uint8, the output (the first one when there
    are several); images: (N, H, W, 3) uint8 when the call makes a batch, else None; seconds: wall
    time of the inference itself (loading excluded); source: "classical", "per-image
    optimisation", "given", "embedded" or "hub"; checkpoint: the weights' provenance
    (hub.LoadedModel.provenance()) or None without weights; notice: why the model that ran is not
    the one asked for (or that nothing had to be done), else None; seed: the seed used, if any;
    numbers: measurements of the output (scores, classifier verdicts), as arrays or floats;
    details: how it ran (direction, work size, iterations, ...).
    """

    method: str
    title: str
    image: np.ndarray
    seconds: float
    source: str
    checkpoint: dict | None = None
    notice: str | None = None
    images: np.ndarray | None = None
    seed: int | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def method_title(method: str, classical: dict[str, str] | None = None, default: str | None = None) -> str:
    """The display title of a pipeline method: `classical[method]` for a method without weights,
    else the catalog entry's title; `default` for a name the catalog lacks (KeyError without one)."""
    if classical and method in classical:
        return classical[method]
    from models.catalog import CATALOG, get_entry

    if method in CATALOG or default is None:
        return get_entry(method).title  # KeyError naming the catalog's models
    return default
