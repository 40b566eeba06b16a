"""Training configs: one dataclass per method, every default written once, the command line made
from the fields.

A field is declared with `option(default, help, min=..., max=..., choices=...)`; `parse_config`
builds the argparse parser from the dataclass, refuses unknown options and out-of-range values
with a message that names the option, and never substitutes a default for a value that was
given (`--lr 0` is refused by `min`, not silently replaced).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A refused command line or config value; the message is for the person who typed it."""


def option(default: Any, help: str, *, min: float | None = None, max: float | None = None,
           choices: tuple | None = None, exclusive_min: bool = False) -> Any:  # fmt: skip
    """A config field with its help text and the values it accepts."""
    return field(default=default, metadata={"help": help, "min": min, "max": max, "choices": choices,
                                            "exclusive_min": exclusive_min})  # fmt: skip


@dataclass
class RunConfig:
    """What every training run takes. Methods subclass this and add their own fields."""

    steps: int = option(1000, "optimizer steps to train for (a resumed run continues to this total)", min=1)
    batch: int = option(16, "samples per step on each process", min=1)
    seed: int = option(0, "seed of everything random: data, noise and initialisation", min=0, max=2**31 - 1)
    max_minutes: float = option(0.0, "stop after this many minutes of training (0: no time limit)", min=0)
    stop_after: int = option(0, "pause after this many steps, saving the state for --resume (0: run to --steps; "
                             "the schedules still span --steps)", min=0)
    out: str = option("", "output directory (default: models/weights/<model name>)")
    resume: str = option("", "continue the run whose state is in this directory (its state.pt)")
    init: str = option("", "warm start: the exported checkpoint (save_pretrained directory) whose weights the "
                       "generator starts from; the optimizers, the discriminator and the step count start fresh")
    save_every_minutes: float = option(5.0, "minutes between full-state saves (also saved at the end)",
                                       min=0, exclusive_min=True)
    log_every: int = option(50, "steps per row of the loss log (means over the window)", min=1)
    mixed_precision: str = option("auto", "bf16 autocast: auto = bf16 on a GPU that supports it, else fp32",
                                  choices=("auto", "no", "bf16"))
    grad_accum: int = option(1, "micro-batches accumulated per optimizer step", min=1)
    workers: int = option(0, "DataLoader worker processes making batches (0: in the training process)", min=0)
    threads: int = option(0, "torch CPU threads per process (0: the cores divided by the processes)", min=0)
    note: str = option("", "a sentence for the card about this run's machine (e.g. other runs sharing its cores)")
    keep_best_every: int = option(0, "steps between scorings of the model on the method's validation split (its own "
                                  "seed: neither trained on nor benchmarked); the export keeps the best-scoring "
                                  "weights, not the last (0: the last)", min=0)

    def validate(self) -> None:
        """Cross-field checks (a method overrides and calls super().validate())."""


def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_config(cfg: RunConfig) -> RunConfig:
    """Range/choice checks of every field, then the config's own validate(); raises ConfigError."""
    hints = _type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value, meta, kind = getattr(cfg, f.name), f.metadata, hints[f.name]
        flag = "--" + f.name.replace("_", "-")
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{flag} must be a number, got {value!r}")
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{flag} must be a finite number, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(f"{flag} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
        low, high = meta.get("min"), meta.get("max")
        if low is not None and (value < low or (meta.get("exclusive_min") and value == low)):
            bound = f"greater than {low:g}" if meta.get("exclusive_min") else f"at least {low:g}"
            raise ConfigError(f"{flag} must be {bound}; got {value!r}")
        if high is not None and value > high:
            raise ConfigError(f"{flag} must be at most {high:g}; got {value!r}")
    cfg.validate()
    return cfg


def build_parser(cls: type[RunConfig], prog: str, description: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    hints = _type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata.get('help', '')} (default: {f.default!r})"
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=f.default,
                                help=help_text)  # fmt: skip
        else:
            parser.add_argument(flag, dest=f.name, type=_parser_type(kind, flag), default=f.default,
                                help=help_text, metavar=kind.__name__.upper())  # fmt: skip
    return parser


def _parser_type(kind: type, flag: str):
    def convert(text: str):
        try:
            return kind(text)
        except ValueError:
            noun = {"int": "a whole number", "float": "a number"}.get(kind.__name__, f"a {kind.__name__}")
            raise argparse.ArgumentTypeError(f"{flag} takes {noun}, not {text!r}") from None

    convert.__name__ = kind.__name__
    return convert


def parse_config(cls: type[RunConfig], argv: list[str], prog: str = "python -m training",
                 description: str = "") -> RunConfig:  # fmt: skip
    """The config of `cls` from command-line arguments; raises ConfigError for anything refused
    (unknown options included). `--help` prints the generated help and exits."""
    parser = build_parser(cls, prog, description)

    def refuse(message: str):
        raise ConfigError(message)

    parser.error = refuse  # type: ignore[method-assign]  # no sys.exit from inside a library
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        known = ", ".join("--" + f.name.replace("_", "-") for f in dataclasses.fields(cls))
        raise ConfigError(f"unknown option(s) {' '.join(unknown)}; this method takes: {known}")
    return check_config(cls(**vars(args)))


def config_dict(cfg: RunConfig) -> dict:
    return dataclasses.asdict(cfg)
