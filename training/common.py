"""What every training script shares: seeding, loss logging with curves, the adversarial step,
and the model card."""

from __future__ import annotations

import csv
import datetime
import json
import logging
import platform
import random
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import nn

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def command_line(argv: list[str]) -> str:
    """The command that reproduces a run, from the arguments `python -m training` received."""
    return "python -m training " + shlex.join(argv)


@dataclass
class LossLog:
    """Running loss log: one CSV row every `every` steps (means over the window)."""

    path: Path
    every: int = 50
    rows: list[dict[str, float]] = field(default_factory=list)
    _window: dict[str, list[float]] = field(default_factory=dict)
    _start: float = field(default_factory=time.time)

    def add(self, step: int, **losses: float) -> None:
        for k, v in losses.items():
            self._window.setdefault(k, []).append(float(v))
        if (step + 1) % self.every == 0:
            row = {"step": step + 1, "seconds": round(time.time() - self._start, 1)}
            row.update({k: float(np.mean(v)) for k, v in self._window.items()})
            self.rows.append(row)
            self._window.clear()
            logger.info("  ".join(f"{k}={v:.4g}" for k, v in row.items()))
            self.save()

    @property
    def elapsed(self) -> float:
        return time.time() - self._start

    def save(self) -> None:
        if not self.rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(self.rows)

    def plot(self, path: Path, title: str) -> None:
        """A small PNG of every logged loss against step (one panel per loss)."""
        keys = [k for k in self.rows[0] if k not in ("step", "seconds")] if self.rows else []
        if not keys:
            return
        panel_w, panel_h, pad = 420, 220, 40
        img = Image.new("RGB", (panel_w * len(keys), panel_h + 30), "white")
        draw = ImageDraw.Draw(img)
        font = ImageFont.load_default()
        draw.text((6, 4), title, fill="black", font=font)
        steps = np.array([r["step"] for r in self.rows], dtype=float)
        for i, key in enumerate(keys):
            y = np.array([r[key] for r in self.rows], dtype=float)
            x0, y0 = i * panel_w + pad, 30
            w, h = panel_w - pad - 10, panel_h - pad
            lo, hi = float(np.min(y)), float(np.max(y))
            hi = hi if hi > lo else lo + 1.0
            draw.rectangle([x0, y0, x0 + w, y0 + h], outline="gray")
            pts = [(x0 + w * (s - steps[0]) / max(steps[-1] - steps[0], 1),
                    y0 + h - h * (v - lo) / (hi - lo)) for s, v in zip(steps, y, strict=True)]  # fmt: skip
            if len(pts) > 1:
                draw.line(pts, fill=(31, 119, 180), width=2)
            draw.text((x0, y0 + h + 4), f"{key}  step {int(steps[0])}..{int(steps[-1])}",
                      fill="black", font=font)  # fmt: skip
            draw.text((x0 - pad + 2, y0), f"{hi:.3g}", fill="black", font=font)
            draw.text((x0 - pad + 2, y0 + h - 10), f"{lo:.3g}", fill="black", font=font)
        img.save(path)


def adversarial_step(
    generator_loss: Callable[[], tuple[torch.Tensor, dict[str, float]]],
    discriminator_loss: Callable[[], tuple[torch.Tensor, dict[str, float]]],
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    discriminator: nn.Module,
) -> dict[str, float]:
    """One GAN step: update D on its loss, then G with D frozen. Returns the logged losses."""
    discriminator.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    d_loss, d_logs = discriminator_loss()
    d_loss.backward()
    opt_d.step()

    discriminator.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    g_loss, g_logs = generator_loss()
    g_loss.backward()
    opt_g.step()
    discriminator.requires_grad_(True)
    return {**d_logs, **g_logs}


class Budget:
    """Stops a loop after `steps` or `max_minutes`, whichever comes first; `progress(step)` is how
    far along the run is by either measure (so a schedule follows the clock when that binds)."""

    def __init__(self, steps: int, max_minutes: float | None) -> None:
        self.steps, self.max_minutes = steps, max_minutes
        self.start = time.time()
        self.deadline = self.start + 60 * max_minutes if max_minutes else None
        self.done = 0

    def __iter__(self):
        for step in range(self.steps):
            if self.deadline and time.time() > self.deadline:
                logger.info("time budget of %g min reached after %d steps", self.max_minutes, step)
                return
            self.done = step + 1
            yield step

    @property
    def stopped_early(self) -> bool:
        return self.done < self.steps

    def progress(self, step: int) -> float:
        fraction = step / self.steps
        if self.deadline:
            fraction = max(fraction, (time.time() - self.start) / (self.deadline - self.start))
        return min(fraction, 1.0)


def linear_decay(opts: list[torch.optim.Optimizer], lr: float, budget: Budget, step: int) -> float:
    """The papers' schedule: constant, then linear to 0 over the second half of the run."""
    value = lr * min(1.0, 2.0 * (1.0 - budget.progress(step)))
    for opt in opts:
        for group in opt.param_groups:
            group["lr"] = value
    return value


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def save_grid(images: np.ndarray, path: Path, cols: int = 8) -> None:
    """(n, h, w, 3) uint8 -> one PNG grid (samples.png in a checkpoint directory)."""
    n, h, w, _ = images.shape
    rows = -(-n // cols)
    grid = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, im in enumerate(images):
        grid[(i // cols) * h:(i // cols + 1) * h, (i % cols) * w:(i % cols + 1) * w] = im
    Image.fromarray(grid).save(path)


def machine_description() -> str:
    threads = torch.get_num_threads()
    return f"{platform.processor() or platform.machine()}, {threads} torch threads, torch {torch.__version__}"


def start_run(args, name: str, weights_dir: Path) -> Path:
    """Logging, threads and seeds for a run; returns its output directory (created)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    out = Path(args.out) if args.out else weights_dir / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def finish_run(model: nn.Module, out: Path, name: str, argv: list[str], args, budget: Budget, log: LossLog,
               info: dict, limitations: str) -> dict:  # fmt: skip
    """Save the model (save_pretrained), the loss log and curve, and the model card from `info`
    (summary, data, details, tags, optional metrics and extra facts); returns the card's facts."""
    log.save()
    model.eval()
    model.save_pretrained(out)
    log.plot(out / "loss_curve.png", f"{name} training losses")
    parameters = sum(p.numel() for p in model.parameters())
    meta = {
        "name": name, "summary": info["summary"], "command": command_line(argv), "seed": args.seed,
        "data": info["data"], "steps": budget.done, "batch": args.batch, "details": info["details"],
        "wall_seconds": round(log.elapsed, 1), "machine": machine_description(),
        "date": datetime.date.today().isoformat(), "parameters": parameters, "tags": info["tags"],
        "limitations": (limitations + ("Stopped by its time budget before the requested steps. "
                                       if budget.stopped_early else "") + info.get("limitations", "")),
        "metrics": info.get("metrics"),
    }  # fmt: skip
    meta.update({k: v for k, v in info.items() if k not in meta})
    write_model_card(out, meta)
    logger.info("saved %s (%.1f min, %d steps, %.2f MB of fp32 weights)", out, log.elapsed / 60, budget.done,
                parameters * 4 / 1e6)  # fmt: skip
    return meta


def write_model_card(directory: Path, meta: dict) -> None:
    """README.md model card from the facts a training run records (see each script's `meta`)."""
    lines = [
        "---",
        "library_name: pytorch",
        "tags: [" + ", ".join(meta.get("tags", [])) + "]",
        "---",
        f"# {meta['name']}",
        "",
        meta["summary"],
        "",
        "## Training",
        "",
        f"- Command: `{meta['command']}`",
        f"- Seed: {meta['seed']}",
        f"- Data: {meta['data']}",
        f"- Steps: {meta['steps']} (batch {meta['batch']}), {meta['details']}",
        f"- Wall time: {meta['wall_seconds'] / 60:.1f} min on {meta['machine']}",
        f"- Date: {meta['date']}",
        f"- Parameters: {meta['parameters']:,}",
        "- Loss curves: `loss_curve.png`, values in `training_log.csv`",
        "",
    ]
    if meta.get("limitations"):
        lines += ["## Limitations", "", meta["limitations"], ""]
    if meta.get("metrics"):  # eval/run.py rewrites this last section after each benchmark
        lines += ["## Evaluation", "", meta["metrics"], ""]
    (directory / "README.md").write_text("\n".join(lines))
    (directory / "training_meta.json").write_text(json.dumps(meta, indent=2, default=str))
