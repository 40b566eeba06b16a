"""The one training engine: every `python -m training <method>` runs through `train()`.

A method is a `Recipe`: its config dataclass, the models it trains (`setup`), a dataset of whole
batches indexed by step (`dataset`), one optimisation step (`train_step`) and what it exports.
The engine does the rest, the same way on this CPU, on one GPU and under
`accelerate launch --multi_gpu` (or `--cpu --num_processes N`):

- devices, bf16 autocast where the device supports it, gradient accumulation and multi-process
  data parallel through `accelerate.Accelerator`;
- batches from a torch DataLoader (worker processes with `--workers`); batch i of process r is made
  from a generator seeded by (seed, i, r), and torch's global RNG is reseeded from the same triple
  before every step, so the step counter is both the data position and the RNG state;
- Adam optimizers with `torch.optim.lr_scheduler` schedules, EMA copies of generators
  (`torch.optim.swa_utils.AveragedModel`), a tqdm progress bar, a loss log (CSV + plotly curves);
- the full state (models, optimizers, schedulers, EMA, step, log, elapsed time) in state.pt every
  few minutes and at the end, readable with `torch.load(weights_only=True)`; `--resume DIR`
  continues exactly where it stopped;
- with `--keep-best-every N`, the recipe's validation score every N steps (`Recipe.score`) and the
  best-scoring weights kept in best.pt, which the export then uses instead of the last;
- the exported model (`save_pretrained`: config.json + model.safetensors) and its model card
  (models/cards.py, huggingface_hub.ModelCard) with command, seed, data, steps, wall time, device.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import logging
import math
import os
import platform
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from models.cards import write_model_card
from training.config import ConfigError, RunConfig, config_dict, parse_config

logger = logging.getLogger(__name__)

STATE_FILE = "state.pt"
BEST_FILE = "best.pt"  # --keep-best-every: the best weights so far, and each selection group's step and score
SELECTION_FILE = "selection_log.csv"
LOG_FILE = "training_log.csv"
CURVES_ENV = "GAN_GALLERY_CURVES"  # "html" skips the static export (the tests set it: ~5 s a chart)


# --- the method interface ------------------------------------------------------------------


class Recipe:
    """One trainable method. Subclasses set `method`, `model_name` and `config`, and implement
    setup/dataset/train_step/export/card_info (see the engine's module docstring)."""

    method: str = ""  # the `python -m training` name
    model_name: str = ""  # the checkpoint directory name under models/weights/
    config: type[RunConfig] = RunConfig
    description: str = ""
    init_part: str = "g"  # the part --init warm-starts (the exported model's class loads the checkpoint)
    init_keep: tuple[str, ...] = ()  # state-dict keys --init leaves as setup made them (data-derived buffers)
    # Parts saved beside the export as {part: file} (safetensors of the part's weights), so that a
    # later --init warm-starts them too (a GAN's discriminator: a fresh one first knocks the
    # warm-started generator about). A file whose keys or shapes do not fit leaves the part fresh.
    companions: dict[str, str] = {}

    def setup(self, run: Run) -> None:
        """Create the models with run.add(...)."""
        raise NotImplementedError

    def dataset(self, run: Run) -> Dataset:
        """A map-style dataset whose item i is the whole batch of step i (see StepBatches)."""
        raise NotImplementedError

    def train_step(self, run: Run, batch: Any, step: int) -> dict[str, float]:
        """One optimisation step (run.update(...) for each optimizer); returns the logged losses."""
        raise NotImplementedError

    def export(self, run: Run) -> nn.Module:
        """The module saved with save_pretrained (default: the EMA copy of the first part that
        has one, else the first part)."""
        for part in run.parts.values():
            if part.ema is not None:
                return part.ema.module
        return run.unwrap(next(iter(run.parts)))

    def card_info(self, run: Run) -> dict:
        """summary, data, details, tags, and optionally limitations/metrics/extra facts."""
        raise NotImplementedError

    def after_export(self, run: Run, model: nn.Module, out: Path) -> None:
        """Extra files beside the checkpoint (e.g. a sample grid). Main process only."""

    # --keep-best-every: a recipe that can score itself sets `selection` (what the score is, for the
    # card) and implements `score`; `best_parts` are the parts whose weights the export is made of.
    selection: str = ""
    best_parts: tuple[str, ...] = ("g",)
    # Parts of the model trained independently of each other (no shared loss term) may each be
    # kept at their own best step: {group: (figure of score() that ranks it, state-dict key prefix
    # in the best part)}; every key must fall in a group. Empty: the whole model by "score".
    best_groups: dict[str, tuple[str, str]] = {}

    def score(self, run: Run) -> dict[str, float]:
        """The model now on the method's validation split: {"score": higher is better, ...more
        figures for the log}. Called under torch.no_grad on every process (same data on each)."""
        raise NotImplementedError


class StepBatches(Dataset):
    """Batch i for process `rank` = make(rng, i), rng seeded by (seed, i, rank): any step's
    batch can be made again, in any worker, in any order (what resume and workers need)."""

    def __init__(self, make: Callable[[np.random.Generator, int], Any], steps: int, seed: int, rank: int = 0) -> None:
        self.make, self.steps, self.seed, self.rank = make, steps, seed, rank

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> Any:
        return self.make(np.random.default_rng([self.seed, int(step), self.rank]), int(step))


# --- one trained part ------------------------------------------------------------------------


@dataclass
class Part:
    module: nn.Module  # prepared by accelerate (DDP-wrapped under several processes)
    optimizer: torch.optim.Optimizer | None = None
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    ema: torch.optim.swa_utils.AveragedModel | None = None


def make_schedule(optimizer: torch.optim.Optimizer, kind: str, progress: Callable[[], float], *,
                  warmup: float = 0.0, final_fraction: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:  # fmt: skip
    """A LambdaLR over the run's progress (0..1: the step fraction, or the time fraction when a
    --max-minutes budget binds first, so a run cut by its budget still anneals):
    'constant'; 'cosine' (to final_fraction x lr); 'linear-decay' (the pix2pix/CycleGAN papers:
    constant, then linear to 0 over the second half); each after a linear warm-up over the first
    `warmup` fraction of the run."""
    if kind not in ("constant", "cosine", "linear-decay"):
        raise ValueError(f"unknown schedule {kind!r}")

    def factor(_: int) -> float:
        p = progress()
        if warmup and p < warmup:
            return max(p / warmup, 1e-3)
        q = (p - warmup) / (1 - warmup) if warmup < 1 else 1.0
        if kind == "cosine":
            return final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * min(q, 1.0)))
        if kind == "linear-decay":
            return min(1.0, max(0.0, 2.0 * (1.0 - q)))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class LossLog:
    """One CSV row every `every` steps (means over the window); curves drawn with plotly."""

    path: Path
    every: int = 50
    rows: list[dict[str, float]] = field(default_factory=list)
    window: dict[str, list[float]] = field(default_factory=dict)

    def add(self, step: int, seconds: float, losses: dict[str, float]) -> dict | None:
        for key, value in losses.items():
            self.window.setdefault(key, []).append(float(value))
        if (step + 1) % self.every:
            return None
        row = {"step": step + 1, "seconds": round(seconds, 1)}
        row.update({k: float(np.mean(v)) for k, v in self.window.items()})
        self.rows.append(row)
        self.window.clear()
        return row

    def save(self) -> None:
        write_rows(self.path, self.rows)

    def plot(self, directory: Path, title: str) -> str:
        """loss_curve.png (plotly + kaleido, where a browser for it is installed), else
        loss_curve.html; returns the file name written ("" when nothing was logged)."""
        keys = [k for k in dict.fromkeys(k for r in self.rows for k in r) if k not in ("step", "seconds")]
        if not keys:
            return ""
        from plotly.subplots import make_subplots

        for noisy in ("kaleido", "choreographer", "logistro"):  # the exporter logs every browser step
            logging.getLogger(noisy).setLevel(logging.WARNING)

        cols = min(3, len(keys))
        rows = math.ceil(len(keys) / cols)
        fig = make_subplots(rows=rows, cols=cols, subplot_titles=keys)
        for i, key in enumerate(keys):
            pts = [(r["step"], r[key]) for r in self.rows if key in r]
            fig.add_scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], name=key, mode="lines",
                            row=i // cols + 1, col=i % cols + 1, showlegend=False)  # fmt: skip
        fig.update_layout(title=title, height=260 * rows + 60, width=420 * cols, template="plotly_white",
                          margin=dict(l=50, r=20, t=70, b=40))  # fmt: skip
        fig.update_xaxes(title_text="step")
        try:
            if os.environ.get(CURVES_ENV, "png") == "html":
                raise RuntimeError(f"{CURVES_ENV}=html")
            fig.write_image(directory / "loss_curve.png")
            return "loss_curve.png"
        except Exception as exc:  # no kaleido or no browser for it: the interactive page instead
            logger.info("static curve export unavailable (%s); writing loss_curve.html", type(exc).__name__)
            fig.write_html(directory / "loss_curve.html", include_plotlyjs="cdn")
            return "loss_curve.html"


class Run:
    """The state of one training run, handed to the recipe."""

    def __init__(self, recipe: Recipe, cfg: RunConfig, argv: list[str]) -> None:
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        self.recipe, self.cfg, self.argv = recipe, cfg, argv
        precision = cfg.mixed_precision
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
        # cpu=True where there is no GPU: several CPU processes (torchrun, or `accelerate launch
        # --multi_gpu --num_processes N` on a machine without GPUs) then join as MULTI_CPU over gloo.
        self.accelerator = Accelerator(mixed_precision=precision, gradient_accumulation_steps=cfg.grad_accum,
                                       cpu=not torch.cuda.is_available())  # fmt: skip
        self.precision = precision
        if self.device.type == "cpu":
            n = cfg.threads or max(1, (os.cpu_count() or 1) // self.accelerator.num_processes)
            torch.set_num_threads(n)
        set_seed(cfg.seed)  # initialisation: the same on every process
        self.parts: dict[str, Part] = {}
        self.out = Path(cfg.out) if cfg.out else _weights_dir() / recipe.model_name
        self.step = 0  # steps done
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.log = LossLog(self.out / LOG_FILE, cfg.log_every)
        self.extra: dict[str, Any] = {}  # recipe facts kept in the state (e.g. chosen losses)
        self.kept: dict[str, dict[str, torch.Tensor]] | None = None  # best.pt's weights, once read or written

    # -- facts
    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def rank(self) -> int:
        return self.accelerator.process_index

    def unwrap(self, name: str) -> nn.Module:
        return self.accelerator.unwrap_model(self.parts[name].module)

    # -- building
    def add(self, name: str, module: nn.Module, *, lr: float | None = None, betas=(0.9, 0.999),
            weight_decay: float = 0.0, schedule: str = "constant", warmup: float = 0.0,
            final_fraction: float = 0.0, ema_decay: float | None = None,
            params: list[nn.Parameter] | None = None) -> Part:  # fmt: skip
        """Register a model; with `lr`, an Adam optimizer and a schedule over cfg.steps; with
        `ema_decay`, an EMA copy (parameters and buffers) updated after each of its steps."""
        module = module.to(self.device)
        optimizer = scheduler = None
        if lr is not None:
            trainable = params if params is not None else [p for p in module.parameters() if p.requires_grad]
            optimizer = torch.optim.Adam(trainable, lr=lr, betas=betas, weight_decay=weight_decay)
        ema = None
        if ema_decay is not None:
            from torch.optim.swa_utils import AveragedModel

            ema = AveragedModel(module, multi_avg_fn=ema_with_warmup(ema_decay), use_buffers=True)
            ema.requires_grad_(False)
        if optimizer is not None:
            module, optimizer = self.accelerator.prepare(module, optimizer)
            # Schedules step once per optimizer step (not prepared: accelerate would step them
            # once per process).
            scheduler = make_schedule(optimizer.optimizer, schedule, self.progress, warmup=warmup,
                                      final_fraction=final_fraction)  # fmt: skip
        part = Part(module, optimizer, scheduler, ema)
        self.parts[name] = part
        return part

    def fixed(self, name: str, module: nn.Module) -> nn.Module:
        """A frozen helper model on the device (a loss network, a text encoder), not saved."""
        return module.to(self.device).eval().requires_grad_(False)

    # -- stepping
    def update(self, name: str, loss: torch.Tensor) -> None:
        """Backward `loss` and, when the accumulation window is complete, step `name`'s
        optimizer, schedule and EMA."""
        part = self.parts[name]
        self.accelerator.backward(loss)
        part.optimizer.step()
        part.optimizer.zero_grad(set_to_none=True)
        if self.accelerator.sync_gradients:
            part.scheduler.step()
            if part.ema is not None:
                part.ema.update_parameters(self.unwrap(name))

    def lr(self, name: str) -> float:
        return self.parts[name].optimizer.param_groups[0]["lr"]

    def progress(self) -> float:
        """How far along the run is (0..1), by steps or by the time budget, whichever is further."""
        fraction = self.step / self.cfg.steps
        if self.cfg.max_minutes:
            fraction = max(fraction, self.elapsed / (60 * self.cfg.max_minutes))
        return min(fraction, 1.0)

    # -- state
    def state_dict(self) -> dict:
        parts = {}
        for name, part in self.parts.items():
            parts[name] = {"module": self.unwrap(name).state_dict()}
            if part.optimizer is not None:
                parts[name]["optimizer"] = part.optimizer.optimizer.state_dict()
                parts[name]["scheduler"] = part.scheduler.state_dict()
            if part.ema is not None:
                parts[name]["ema"] = part.ema.state_dict()
        return {"method": self.recipe.method, "step": self.step, "elapsed": self.elapsed,
                "config": config_dict(self.cfg), "parts": parts, "log_rows": self.log.rows,
                "log_window": self.log.window, "extra": self.extra,
                "torch_rng": torch.get_rng_state()}  # fmt: skip

    def save_state(self) -> None:
        self.accelerator.wait_for_everyone()
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            tmp = self.out / (STATE_FILE + ".tmp")
            torch.save(self.state_dict(), tmp)
            tmp.replace(self.out / STATE_FILE)  # atomic: a crash mid-save keeps the last state
            self.log.save()

    def init_from(self, directory: Path, name: str) -> str:
        """Warm start: copy the weights of the checkpoint exported in `directory` (loaded strictly by
        the part's own class) into part `name` and its EMA copy. Returns the card's line for it."""
        module = self.unwrap(name)
        try:
            loaded = type(module).from_pretrained(Path(directory), strict=True)
            weights = loaded.state_dict()
            weights.update({k: v for k, v in module.state_dict().items() if k in self.recipe.init_keep})
            module.load_state_dict(weights)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise ConfigError(f"--init {directory}: not a checkpoint of this {type(module).__name__} "
                              f"configuration ({str(exc).splitlines()[0][:200]})") from None
        part = self.parts[name]
        if part.ema is not None:
            part.ema.module.load_state_dict(module.state_dict())
        meta = Path(directory) / "training_meta.json"
        before = ""
        if meta.exists():
            import json

            m = json.loads(meta.read_text())
            before = f" (its run: `{m.get('command', '?')}`, {m.get('steps', '?')} steps, {m.get('date', '?')})"
            # the whole chain of warm starts this run continues, oldest first
            self.extra["lineage"] = [*m.get("lineage", []), {k: m.get(k, "?") for k in ("command", "steps", "date")}]
        companions = [self.init_companion(Path(directory), part, file) for part, file in self.recipe.companions.items()]
        return "; ".join([f"warm start: {name} initialised from `{directory}`{before}", *companions])

    def init_companion(self, directory: Path, name: str, file: str) -> str:
        """--init for a companion part: its weights from `directory/file` when they fit."""
        from safetensors.torch import load_file

        path = directory / file
        if not path.is_file():
            return f"{name} starts fresh (no `{file}` there)"
        try:
            self.unwrap(name).load_state_dict(load_file(path), strict=True)
        except RuntimeError as exc:
            logger.warning("--init: %s does not fit part %s, which starts fresh: %s", path, name, str(exc)[:200])
            return f"{name} starts fresh (its `{file}` does not fit this configuration)"
        return f"{name} initialised from its `{file}`"

    def load_state(self, directory: Path) -> None:
        path = Path(directory) / STATE_FILE
        if not path.is_file():
            raise ConfigError(f"--resume {directory}: no {STATE_FILE} there")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["method"] != self.recipe.method:
            raise ConfigError(f"--resume {directory}: that run trained {state['method']!r}, not {self.recipe.method!r}")
        ignored = {"steps", "max_minutes", "stop_after", "resume", "init", "out", "save_every_minutes", "workers",
                   "threads", "note", "keep_best_every"}  # fmt: skip
        # An option the saved run did not have yet ran as its default then.
        saved_config, defaults = state["config"], config_dict(type(self.cfg)())
        changed = sorted(k for k, v in config_dict(self.cfg).items()
                         if k not in ignored and saved_config.get(k, defaults[k]) != v)  # fmt: skip
        if changed:
            raise ConfigError(f"--resume {directory}: these options differ from the saved run: {', '.join(changed)} "
                              "(only --steps, --max-minutes, --out, --workers, --threads, --note and --keep-best-every may "
                              "change)")  # fmt: skip
        for name, saved in state["parts"].items():
            part = self.parts[name]
            self.unwrap(name).load_state_dict(saved["module"], strict=True)
            if part.optimizer is not None:
                part.optimizer.optimizer.load_state_dict(saved["optimizer"])
                part.scheduler.load_state_dict(saved["scheduler"])
            if part.ema is not None:
                part.ema.load_state_dict(saved["ema"], strict=True)
        if saved_config.get("init") and not self.cfg.init:  # a resumed run is still the warm start it began as
            self.cfg.init = saved_config["init"]
        self.step, self.elapsed = state["step"], state["elapsed"]
        self.log.rows, self.log.window = list(state["log_rows"]), dict(state["log_window"])
        self.extra = dict(state["extra"])
        logger.info("resumed %s at step %d (%.1f min trained)", directory, self.step, self.elapsed / 60)

    # -- batches
    def batches(self, dataset: Dataset) -> Iterator:
        workers = self.cfg.workers
        loader = DataLoader(dataset, batch_size=None, sampler=range(self.step, self.cfg.steps),
                            num_workers=workers, persistent_workers=False,
                            pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None)  # fmt: skip
        for batch in loader:
            yield _to_device(batch, self.device)


def ema_with_warmup(decay: float) -> Callable:
    """AveragedModel's update with the decay warmed up, min(decay, (1 + t) / (10 + t)) after t
    updates (as TensorFlow's ExponentialMovingAverage with num_updates): a short run's EMA follows
    its weights instead of staying near their initial values (0.999 ** 328 = 72% of the start)."""

    @torch.no_grad()
    def update(ema_params: list[torch.Tensor], params: list[torch.Tensor], num_averaged) -> None:
        t = int(num_averaged)
        d = min(decay, (1 + t) / (10 + t))
        floats = [(e, p) for e, p in zip(ema_params, params, strict=True) if e.is_floating_point()]
        if floats:
            torch._foreach_lerp_([e for e, _ in floats], [p for _, p in floats], 1.0 - d)
        for e, p in zip(ema_params, params, strict=True):
            if not e.is_floating_point():  # counters (BatchNorm's num_batches_tracked): the latest
                e.copy_(p)

    return update


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _weights_dir() -> Path:
    from models.catalog import WEIGHTS_DIR

    return WEIGHTS_DIR


def step_seed(seed: int, step: int, rank: int) -> int:
    """torch's global seed for one step of one process (noise, masks, dropout)."""
    return int(np.random.SeedSequence([seed, step, rank, 1]).generate_state(1)[0])


# --- the loop ---------------------------------------------------------------------------------


def train(recipe: Recipe, argv: list[str]) -> dict:
    """Parse the method's options, train (or resume) and export. Returns the card's facts."""
    cfg = parse_config(recipe.config, argv[1:], prog=f"python -m training {argv[0]}",
                       description=recipe.description)  # fmt: skip
    return run_recipe(recipe, cfg, argv)


def run_recipe(recipe: Recipe, cfg: RunConfig, argv: list[str]) -> dict:
    from tqdm.auto import tqdm

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run = Run(recipe, cfg, argv)
    recipe.setup(run)
    if cfg.resume:
        run.load_state(Path(cfg.resume))
    elif cfg.init:
        run.extra["init"] = run.init_from(Path(cfg.init), recipe.init_part)
    run.extra.setdefault("commands", []).append(command_line(argv))  # every session of the run, for the card
    dataset = recipe.dataset(run)
    acc = run.accelerator
    bar = tqdm(total=cfg.steps, initial=run.step, disable=not run.is_main, desc=recipe.method, unit="step")
    session_start, last_save = time.time(), time.time()
    elapsed_before = run.elapsed
    for module in (p.module for p in run.parts.values()):
        module.train()
    if cfg.keep_best_every and type(recipe).score is Recipe.score:
        raise ConfigError(f"--keep-best-every: {recipe.method} has no validation score to keep the best by")
    for batch in run.batches(dataset):
        torch.manual_seed(step_seed(cfg.seed, run.step, run.rank))
        with acc.accumulate(*[p.module for p in run.parts.values() if p.optimizer is not None]):
            losses = recipe.train_step(run, batch, run.step)
        run.elapsed = elapsed_before + time.time() - session_start
        row = run.log.add(run.step, run.elapsed, losses)
        run.step += 1
        bar.update(1)
        if row and run.is_main:
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k not in ("step", "seconds")})
        if cfg.keep_best_every and run.step % cfg.keep_best_every == 0:
            keep_if_best(run)
        if _agree(acc, time.time() - last_save > 60 * cfg.save_every_minutes):
            run.save_state()
            last_save = time.time()
        if cfg.max_minutes and _agree(acc, run.elapsed > 60 * cfg.max_minutes):
            logger.info("time budget of %g min reached after %d steps", cfg.max_minutes, run.step)
            break
        if cfg.stop_after and run.step >= cfg.stop_after:
            logger.info("paused after %d steps (--stop-after); continue with --resume %s", run.step, run.out)
            bar.close()
            run.save_state()
            return {"paused_at": run.step}
    bar.close()
    if cfg.keep_best_every and run.extra.get("selection", [{}])[-1].get("step") != run.step:
        keep_if_best(run)  # the last weights are a candidate too
    run.save_state()
    return finish(run)


WHOLE = "model"  # the one selection group of a recipe without best_groups


def _groups(recipe: Recipe) -> dict[str, tuple[str, str]]:
    return recipe.best_groups or {WHOLE: ("score", "")}


def _kept_source(run: Run, name: str) -> nn.Module:
    part = run.parts[name]
    return part.ema.module if part.ema is not None else run.unwrap(name)


def keep_if_best(run: Run) -> None:
    """Score the model (--keep-best-every). Each selection group (the whole of `best_parts`, or
    the recipe's `best_groups`) whose figure beats its earlier ones has its weights (EMA copies
    where there are some) replaced in best.pt by the current ones."""
    recipe, groups = run.recipe, _groups(run.recipe)
    with torch.no_grad():
        figures = {k: float(v) for k, v in recipe.score(run).items()}
    for part in run.parts.values():
        part.module.train()
    run.extra.setdefault("selection", []).append({"step": run.step, "seconds": round(run.elapsed, 1), **figures})
    best = run.extra.setdefault("best", {})
    improved = [g for g, (key, _) in groups.items() if g not in best or figures[key] > best[g]["score"]]
    if not improved:
        return
    for g in improved:
        best[g] = {"step": run.step, "score": figures[groups[g][0]]}
    if run.is_main:
        path = run.out / BEST_FILE
        if run.kept is None:  # first improvement of this session: a resumed run's file holds the earlier ones
            run.kept = torch.load(path, map_location="cpu", weights_only=True)["parts"] if path.is_file() else {}
        kept = run.kept
        prefixes = tuple(groups[g][1] for g in improved)
        for name in recipe.best_parts:
            current = _kept_source(run, name).state_dict()
            stray = [k for k in current if not any(k.startswith(p) for _, p in groups.values())]
            if stray:
                raise ValueError(f"best_groups of {recipe.method} leave {stray[:3]} of part {name!r} in no group")
            stored = kept.setdefault(name, {})
            stored.update({k: v.detach().cpu().clone() for k, v in current.items() if k.startswith(prefixes)})
        run.out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"groups": dict(best), "parts": kept}, tmp)
        tmp.replace(path)
    logger.info("step %d: %s the best so far (kept)", run.step,
                ", ".join(f"{g} {best[g]['score']:.4f}" for g in improved))  # fmt: skip


def restore_best(run: Run) -> str:
    """Put the kept weights back into their parts before the export; returns the card's line."""
    rows, path = run.extra.get("selection", []), run.out / BEST_FILE
    if not rows or not path.is_file():
        return ""
    saved = torch.load(path, map_location="cpu", weights_only=True)  # the newest record, even past the state
    for name, weights in saved["parts"].items():
        _kept_source(run, name).load_state_dict(weights, strict=True)
    groups, best, last = _groups(run.recipe), saved["groups"], rows[-1]
    scorings = (f"the best of {len(rows)} scorings (every {run.cfg.keep_best_every:,} steps from step "
                f"{rows[0]['step']:,}) by {run.recipe.selection}")
    if list(groups) == [WHOLE]:
        b = best[WHOLE]
        return (f"step {b['step']:,} of {run.step:,}, {scorings}: {b['score']:.4g}; the last step's: "
                f"{last['score']:.4g}; all in `{SELECTION_FILE}`")
    each = "; ".join(f"{g} from step {best[g]['step']:,} ({best[g]['score']:.4g}, the last step's "
                     f"{last[key]:.4g})" for g, (key, _) in groups.items())  # fmt: skip
    return f"{each} of {run.step:,}: each {scorings}; all in `{SELECTION_FILE}`"


def write_rows(path: Path, rows: list[dict]) -> None:
    """A list of dicts as CSV (columns: every key, in first-seen order); nothing when empty."""
    if not rows:
        return
    fields = list(dict.fromkeys(k for row in rows for k in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _agree(acc, flag: bool) -> bool:
    """The same decision on every process (any one of them saying yes), so none waits alone."""
    if acc.num_processes == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=acc.device)
    return bool(acc.reduce(t, reduction="sum").item() > 0)


def finish(run: Run) -> dict:
    """Export the model, its curves and its card (main process)."""
    run.accelerator.wait_for_everyone()
    if not run.is_main:
        return {}
    recipe, cfg = run.recipe, run.cfg
    selected = restore_best(run) if cfg.keep_best_every else ""
    model = recipe.export(run)
    model.eval()
    model.save_pretrained(run.out)
    save_companions(run)
    run.log.save()
    write_rows(run.out / SELECTION_FILE, run.extra.get("selection", []))
    curves = run.log.plot(run.out, f"{recipe.model_name} training losses")
    recipe.after_export(run, model, run.out)
    info = recipe.card_info(run)
    ema = next((f"EMA of the generator's weights (decay {_ema_decay(cfg)})" for p in run.parts.values()
                if p.ema is not None and p.ema.module is model), "")  # fmt: skip
    stopped = run.step < cfg.steps
    meta = {
        "name": recipe.model_name, "method": recipe.method, "summary": info["summary"],
        "command": command_line(run.argv), "earlier_commands": run.extra.get("commands", [])[:-1],
        "seed": cfg.seed, "data": info["data"], "steps": run.step,
        "batch": cfg.batch, "processes": run.accelerator.num_processes,
        "details": info["details"] + (f"; {run.extra['init']}" if run.extra.get("init") else ""),
        "wall_seconds": round(run.elapsed, 1), "machine": machine_description(run),
        "device": device_description(run), "accelerate": accelerate_description(run), "ema": ema,
        "selected": selected,
        "date": datetime.date.today().isoformat(), "parameters": sum(p.numel() for p in model.parameters()),
        "tags": info["tags"], "config": config_dict(cfg),
        "curves": f"`{curves}`" if curves else "none logged",
        "limitations": " ".join(x for x in (info.get("limitations", ""), cfg.note, "Stopped by its time budget before "
                                            "the requested steps." if stopped else "") if x),
        "steps_per_second": round(run.step / run.elapsed, 3) if run.elapsed else None,
        "lineage": run.extra.get("lineage", []),
    }  # fmt: skip
    meta.update({k: v for k, v in info.items() if k not in meta})
    write_model_card(run.out, meta, evaluation=info.get("metrics"))
    logger.info("saved %s (%.1f min, %d steps)", run.out, run.elapsed / 60, run.step)
    return meta


def save_companions(run: Run) -> None:
    """The recipe's companion parts, each as safetensors beside the export (see Recipe.companions)."""
    from safetensors.torch import save_file

    for name, file in run.recipe.companions.items():
        weights = {k: v.detach().cpu().contiguous() for k, v in run.unwrap(name).state_dict().items()}
        save_file(weights, run.out / file)


def _ema_decay(cfg: RunConfig) -> Any:
    return getattr(cfg, "ema_decay", "?")


def command_line(argv: list[str]) -> str:
    """The command that reproduces a run, from the arguments `python -m training` received."""
    return "python -m training " + shlex.join(argv)


def machine_description(run: Run | None = None) -> str:
    threads = torch.get_num_threads()
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} torch threads, torch {torch.__version__}"


def device_description(run: Run) -> str:
    device = run.device
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = "CPU"
    n = run.accelerator.num_processes
    return f"{name} x {n} process{'es' if n > 1 else ''}, precision {run.precision}"


def accelerate_description(run: Run) -> str:
    state = run.accelerator.state
    return (f"distributed_type={state.distributed_type.value}, num_processes={state.num_processes}, "
            f"mixed_precision={run.precision}, gradient_accumulation_steps={run.cfg.grad_accum}")  # fmt: skip


def config_fields(cfg: RunConfig) -> list[str]:
    return [f.name for f in dataclasses.fields(cfg)]


def replot(directory: Path) -> str:
    """Redraw a finished run's curves from its training_log.csv (e.g. when the static export had no
    browser at the end of the run) and point its card at them. Returns the file written."""
    from models.cards import read_meta

    directory = Path(directory)
    with open(directory / "training_log.csv") as f:
        rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    meta = read_meta(directory)
    name = LossLog(directory / "training_log.csv", rows=rows).plot(directory, f"{meta['name']} training losses")
    if name == "loss_curve.png":
        (directory / "loss_curve.html").unlink(missing_ok=True)
    meta["curves"] = f"`{name}`"
    write_model_card(directory, meta)
    return name
