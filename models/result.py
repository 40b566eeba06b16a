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


# --- provenance: what made an exported image ------------------------------------------------------

PROVENANCE_KEY = "gan-gallery-provenance"  # the PNG text chunk an export carries its record in


def checkpoint_label(checkpoint: dict | None, source: str = "") -> str:
    """The weights in one short string: "repo@commit" for a Hub checkpoint, "embedded sha256:<12 hex>"
    for one shipped in models/weights/, the source ("classical", ...) for a method without weights."""
    if not checkpoint:
        return source or "no weights"
    if checkpoint.get("source") == "hub":
        origin = str(checkpoint.get("origin") or "")
        repo, _, rest = origin.partition("@")
        commit = checkpoint.get("commit") or rest.split("/", 1)[0] or "?"
        return f"{repo or checkpoint.get('name', '?')}@{commit}"
    sha = checkpoint.get("sha256") or ""
    return f"embedded sha256:{sha[:12]}" if sha else str(checkpoint.get("source") or source or "?")


def model_record(title: str, checkpoint: dict | None, source: str = "", metrics: dict | None = None,
                 seconds: float | None = None, seed: int | None = None) -> dict:  # fmt: skip
    """One model's part of a provenance record (JSON-serialisable)."""
    rec = {"title": title, "checkpoint": checkpoint_label(checkpoint, source), "source": source or
           (checkpoint or {}).get("source", "")}  # fmt: skip
    if checkpoint:
        rec["sha256"] = checkpoint.get("sha256")
        if checkpoint.get("commit"):
            rec["commit"] = checkpoint["commit"]
        if checkpoint.get("notice"):
            rec["notice"] = checkpoint["notice"]
    if seed is not None:
        rec["seed"] = int(seed)
    if seconds is not None:
        rec["seconds"] = round(float(seconds), 4)
    if metrics:
        rec["metrics"] = {k: (round(float(v), 4) if isinstance(v, (int, float)) else v)
                          for k, v in metrics.items() if v is not None}  # fmt: skip
    return rec


def result_record(r: PipelineResult, metrics: dict | None = None, title: str | None = None) -> dict:
    """model_record of a pipeline result (the model that actually ran)."""
    return model_record(title or r.title, r.checkpoint, r.source, metrics, r.seconds, r.seed)


def provenance_record(task: str, models: list[dict], *, input_size: tuple[int, int] | str | None = None,
                      seed: int | None = None, what: str = "", metrics_note: str = "",
                      date: str | None = None) -> dict:  # fmt: skip
    """What made an exported comparison: the task (tab), the input's size (w, h), the seed, each
    model's record (model_record) and the UTC date. It travels as JSON inside the PNG (PROVENANCE_KEY)
    and is drawn as the image's footer (eval.comparison.with_provenance)."""
    import datetime

    if isinstance(input_size, tuple):
        input_size = f"{input_size[0]}x{input_size[1]} px"
    return {"app": "GAN Gallery", "task": task, "what": what, "input_size": input_size,
            "seed": None if seed is None else int(seed), "models": models, "metrics_note": metrics_note,
            "date": date or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}  # fmt: skip
