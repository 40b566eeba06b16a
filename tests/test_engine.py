"""The training engine: generated configs refuse bad values, a paused run resumes exactly, two
CPU processes train together, and the SR recipes learn and export loadable checkpoints."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.cards import write_model_card
from models.srresnet import SRResNet
from training.__main__ import main as train_main
from training.config import ConfigError, RunConfig, parse_config
from training.engine import BEST_FILE, Recipe, StepBatches, run_recipe
from training.superres import SRGANRecipe, SRResNetConfig, VGGContentLoss

ROOT = Path(__file__).resolve().parents[1]


def read_log(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def tiny_sr(photo_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["srresnet", "--data", str(photo_dir), "--patch", "32", "--batch", "4", "--channels", "8",
            "--blocks", "1", "--threads", "1", "--extra-scales=", "--log-every", "1", "--out", str(out), *extra]  # fmt: skip


@pytest.mark.parametrize("args, message", [
    (["--lr", "0"], "--lr must be greater than 0"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--steps", "2.5"], "--steps takes a whole number"),
    (["--loss", "huber"], "--loss must be one of l1, mse"),
    (["--patch", "40"], "--patch must be a multiple of 16"),
    (["--lr", "nan"], "--lr must be a finite number"),
    (["--seed", str(2**31)], "--seed must be at most"),
    (["--bogus", "1"], "unknown option(s) --bogus 1"),
    (["--extra-scales", "2"], "--extra-scales must lie in"),
])  # fmt: skip
def test_config_refuses_bad_values(args, message):
    with pytest.raises(ConfigError, match=None) as info:
        parse_config(SRResNetConfig, args)
    assert message in str(info.value)


def test_config_keeps_given_values_and_defaults():
    cfg = parse_config(SRResNetConfig, ["--lr", "2e-4", "--no-bicubic-residual"])
    assert cfg.lr == 2e-4 and cfg.bicubic_residual is False and cfg.steps == SRResNetConfig.steps


def test_command_line_refusal_exits_2_with_message(capsys):
    assert train_main(["srresnet", "--lr", "0"]) == 2
    assert "--lr must be greater than 0" in capsys.readouterr().err


def test_srresnet_learns_and_exports(photo_dir, tmp_path):
    out = tmp_path / "sr"
    assert train_main(tiny_sr(photo_dir, out, "--steps", "120", "--lr", "3e-3")) == 0
    rows = read_log(out / "training_log.csv")
    first, last = np.mean([float(r["l1"]) for r in rows[:10]]), np.mean([float(r["l1"]) for r in rows[-10:]])
    assert last < 0.6 * first, (first, last)
    model = SRResNet.from_pretrained(out, strict=True)
    assert model.bicubic_residual is True
    card = (out / "README.md").read_text()
    assert "Seed: 0" in card and "--steps 120" in card and "Device: CPU x 1 process" in card
    assert "license: mit" in card and (out / "loss_curve.png").is_file() or (out / "loss_curve.html").is_file()
    meta = json.loads((out / "training_meta.json").read_text())
    assert meta["steps"] == 120 and meta["config"]["lr"] == 3e-3
    state = torch.load(out / "state.pt", weights_only=True)  # the full state reads without pickle code
    assert state["step"] == 120 and set(state["parts"]["g"]) == {"module", "optimizer", "scheduler"}


def test_paused_run_resumes_exactly(photo_dir, tmp_path):
    """K steps, pause, --resume, K more: the same losses and weights as 2K uninterrupted steps."""
    full, paused = tmp_path / "full", tmp_path / "paused"
    assert train_main(tiny_sr(photo_dir, full, "--steps", "8")) == 0
    assert train_main(tiny_sr(photo_dir, paused, "--steps", "8", "--stop-after", "4")) == 0
    assert not (paused / "model.safetensors").exists()  # paused, not finished
    assert len(read_log(paused / "training_log.csv")) == 4
    assert train_main(tiny_sr(photo_dir, paused, "--steps", "8", "--resume", str(paused))) == 0
    a, b = read_log(full / "training_log.csv"), read_log(paused / "training_log.csv")
    assert [r["l1"] for r in a] == [r["l1"] for r in b] and [r["lr"] for r in a] == [r["lr"] for r in b]
    wa = SRResNet.from_pretrained(full).state_dict()
    wb = SRResNet.from_pretrained(paused).state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_refuses_a_changed_run(photo_dir, tmp_path):
    out = tmp_path / "r"
    assert train_main(tiny_sr(photo_dir, out, "--steps", "4", "--stop-after", "2")) == 0
    with pytest.raises(ConfigError, match="differ from the saved run: lr"):
        from training.engine import run_recipe
        from training.superres import SRResNetRecipe

        cfg = parse_config(SRResNetConfig, tiny_sr(photo_dir, out, "--steps", "4", "--lr", "1e-2",
                                                   "--resume", str(out))[1:])  # fmt: skip
        run_recipe(SRResNetRecipe(), cfg, ["srresnet"])


def test_resume_takes_a_state_saved_before_an_option_existed(photo_dir, tmp_path):
    """A state saved by older code lacks the newer options: left at their defaults (what that run
    did) it resumes; set to anything else it is refused by name."""
    from training.engine import STATE_FILE

    out = tmp_path / "r"
    assert train_main(tiny_sr(photo_dir, out, "--steps", "4", "--stop-after", "2")) == 0
    state = torch.load(out / STATE_FILE, weights_only=True)
    del state["config"]["note"], state["config"]["grad_accum"]  # as if saved before these existed
    torch.save(state, out / STATE_FILE)
    with pytest.raises(ConfigError, match="differ from the saved run: grad_accum"):
        from training.engine import run_recipe
        from training.superres import SRResNetRecipe

        cfg = parse_config(SRResNetConfig, tiny_sr(photo_dir, out, "--steps", "4", "--grad-accum", "2",
                                                   "--resume", str(out))[1:])  # fmt: skip
        run_recipe(SRResNetRecipe(), cfg, ["srresnet"])
    assert train_main(tiny_sr(photo_dir, out, "--steps", "4", "--note", "resumed", "--resume", str(out))) == 0
    assert len(read_log(out / "training_log.csv")) == 4
    assert "resumed" in (out / "README.md").read_text()


def test_srgan_vgg54_content_loss_with_a_stand_in(photo_dir, tmp_path, monkeypatch):
    """With VGG features available the SRGAN run uses the VGG content loss and says so (a tiny
    random conv stack stands in for ImageNet VGG19, which cannot be had offline)."""
    sr = tmp_path / "sr"
    assert train_main(tiny_sr(photo_dir, sr, "--steps", "20")) == 0
    torch.manual_seed(0)
    stand_in = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2, padding=1))
    monkeypatch.setattr(SRGANRecipe, "content_features", stand_in)
    gan = tmp_path / "gan"
    args = ["srgan", "--data", str(photo_dir), "--patch", "32", "--batch", "4", "--d-channels", "4", "--threads", "1",
            "--extra-scales=", "--log-every", "1", "--steps", "6", "--init", str(sr), "--out", str(gan)]  # fmt: skip
    assert train_main(args) == 0
    card = (gan / "README.md").read_text()
    assert "VGG54" in card and "SRGAN-MSE" not in card and "EMA of the generator" in card
    rows = read_log(gan / "training_log.csv")
    assert {"d_loss", "g_adv", "content"} <= set(rows[0])
    SRResNet.from_pretrained(gan, strict=True)
    # and the loss itself: zero for identical images, positive otherwise
    loss = VGGContentLoss(stand_in)
    x = torch.rand(2, 3, 16, 16)
    assert loss(x, x).item() == 0.0 and loss(x, x.flip(-1)).item() > 0


def test_srgan_without_vgg_is_named_srgan_mse(photo_dir, tmp_path):
    sr, gan = tmp_path / "sr", tmp_path / "gan"
    assert train_main(tiny_sr(photo_dir, sr, "--steps", "4")) == 0
    args = ["srgan", "--data", str(photo_dir), "--patch", "32", "--batch", "2", "--d-channels", "4", "--threads", "1",
            "--extra-scales=", "--steps", "3", "--vgg", "pixel", "--init", str(sr), "--out", str(gan)]  # fmt: skip
    assert train_main(args) == 0
    assert "SRGAN-MSE" in (gan / "README.md").read_text()


@pytest.mark.skipif(shutil.which("accelerate") is None and not (Path(sys.executable).parent / "accelerate").exists(),
                    reason="accelerate CLI not installed")  # fmt: skip
def test_two_cpu_processes_train_and_save(photo_dir, tmp_path):
    """Two CPU processes under accelerate's launcher (torchrun underneath; with no GPU the engine
    joins them over gloo): both train, one checkpoint is written, it loads strictly, and the card
    records two processes. (`accelerate launch --cpu` alone starts one process unless MPI is
    installed.)"""
    out = tmp_path / "ddp"
    launcher = Path(sys.executable).parent / "accelerate"
    cmd = [str(launcher) if launcher.exists() else "accelerate", "launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "training",
           *tiny_sr(photo_dir, out, "--steps", "6")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    SRResNet.from_pretrained(out, strict=True)
    meta = json.loads((out / "training_meta.json").read_text())
    assert meta["processes"] == 2 and "num_processes=2" in meta["accelerate"]
    assert len(read_log(out / "training_log.csv")) == 6


def test_card_writer_keeps_and_replaces_evaluation(tmp_path):
    meta = {"name": "m", "summary": "A model.", "command": "python -m training x", "seed": 3, "data": "d",
            "steps": 5, "batch": 2, "details": "Adam", "wall_seconds": 60.0, "machine": "cpu",
            "date": "2026-12-01", "parameters": 1234, "tags": ["t"], "limitations": "small"}  # fmt: skip
    write_model_card(tmp_path, meta, evaluation="| a | b |\n|---|---|\n| 1 | 2 |")
    write_model_card(tmp_path)  # re-rendered from the stored facts: the evaluation stays
    text = (tmp_path / "README.md").read_text()
    assert text.count("## Evaluation") == 1 and "| 1 | 2 |" in text and "Parameters: 1,234" in text
    write_model_card(tmp_path, evaluation="new numbers")
    text = (tmp_path / "README.md").read_text()
    assert "new numbers" in text and "| 1 | 2 |" not in text
    from huggingface_hub import ModelCard

    assert ModelCard.load(tmp_path / "README.md").data.tags == ["t"]


class Scalar(nn.Module, PyTorchModelHubMixin):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


class ClimbRecipe(Recipe):
    """A toy method for --keep-best-every: Adam (lr 0.1, constant gradient) moves w up by 0.1 a
    step, and the validation score peaks at w = 0.42, so the best scoring is step 4, not the last."""

    method, model_name = "climb", "climb"
    selection = "closeness of w to 0.42"

    def setup(self, run):
        run.add("g", Scalar(), lr=0.1)

    def dataset(self, run):
        return StepBatches(lambda rng, step: torch.zeros(1), run.cfg.steps, run.cfg.seed)

    def train_step(self, run, batch, step):
        g = run.parts["g"].module
        run.update("g", -g.w.sum())
        return {"w": float(g.w.detach())}

    def score(self, run):
        w = float(run.unwrap("g").w.detach())
        return {"score": -abs(w - 0.42), "w": w}

    def card_info(self, run):
        return {"summary": "toy", "data": "none", "details": "one scalar", "tags": []}


def test_keep_best_exports_the_best_scoring_step_and_survives_a_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_GALLERY_CURVES", "html")

    def run(out, *extra):
        cfg = parse_config(RunConfig, ["--steps", "10", "--keep-best-every", "1", "--threads", "1", "--log-every", "1",
                                       "--out", str(out), *extra])  # fmt: skip
        return run_recipe(ClimbRecipe(), cfg, ["climb"])

    whole, paused = tmp_path / "whole", tmp_path / "paused"
    run(whole)
    w = float(Scalar.from_pretrained(whole).w.detach())
    assert w == pytest.approx(0.4, abs=1e-3)  # step 4's weights; the last step's are ~1.0
    rows = list(csv.DictReader(open(whole / "selection_log.csv")))
    assert len(rows) == 10 and float(rows[-1]["w"]) == pytest.approx(1.0, abs=1e-3)
    card = (whole / "README.md").read_text()
    assert "Checkpoint kept: step 4 of 10, the best of 10 scorings (every 1 steps from step 1)" in card
    # Paused after step 6 (past the best) and resumed: best.pt carries the step-4 weights over.
    run(paused, "--stop-after", "6")
    assert torch.load(paused / BEST_FILE, weights_only=True)["groups"]["model"]["step"] == 4
    run(paused, "--resume", str(paused))
    assert float(Scalar.from_pretrained(paused).w.detach()) == pytest.approx(w, abs=1e-6)
    assert "Checkpoint kept: step 4 of 10" in (paused / "README.md").read_text()


class Twin(nn.Module, PyTorchModelHubMixin):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = Scalar(), Scalar()


class TwinClimbRecipe(ClimbRecipe):
    """Two scalars climbing alike, kept by their own figures: a's peaks at step 4, b's at step 7."""

    best_groups = {"a": ("a_score", "a."), "b": ("b_score", "b.")}

    def setup(self, run):
        run.add("g", Twin(), lr=0.1)

    def train_step(self, run, batch, step):
        g = run.parts["g"].module
        run.update("g", -(g.a.w + g.b.w).sum())
        return {}

    def score(self, run):
        g = run.unwrap("g")
        a, b = -abs(float(g.a.w.detach()) - 0.42), -abs(float(g.b.w.detach()) - 0.69)
        return {"score": a + b, "a_score": a, "b_score": b}


def test_keep_best_keeps_independent_groups_at_their_own_best_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_GALLERY_CURVES", "html")
    cfg = parse_config(RunConfig, ["--steps", "10", "--keep-best-every", "1", "--threads", "1",
                                   "--out", str(tmp_path / "twin")])  # fmt: skip
    run_recipe(TwinClimbRecipe(), cfg, ["twin"])
    twin = Twin.from_pretrained(tmp_path / "twin")
    assert float(twin.a.w.detach()) == pytest.approx(0.4, abs=1e-3)
    assert float(twin.b.w.detach()) == pytest.approx(0.7, abs=1e-3)
    card = (tmp_path / "twin" / "README.md").read_text()
    assert "Checkpoint kept: a from step 4" in card and "b from step 7" in card

    class Uncovered(TwinClimbRecipe):
        best_groups = {"a": ("a_score", "a.")}  # b's weights in no group: refused, not kept at random

    cfg = parse_config(RunConfig, ["--steps", "2", "--keep-best-every", "1", "--threads", "1",
                                   "--out", str(tmp_path / "uncovered")])  # fmt: skip
    with pytest.raises(ValueError, match=r"leave \['b.w'\] of part 'g' in no group"):
        run_recipe(Uncovered(), cfg, ["twin"])


def test_keep_best_is_refused_for_a_method_with_no_validation_score(photo_dir, tmp_path):
    with pytest.raises(ConfigError, match="--keep-best-every: srresnet has no validation score"):
        from training.engine import run_recipe
        from training.superres import SRResNetRecipe

        cfg = parse_config(SRResNetConfig, tiny_sr(photo_dir, tmp_path / "r", "--steps", "2",
                                                   "--keep-best-every", "1")[1:])  # fmt: skip
        run_recipe(SRResNetRecipe(), cfg, ["srresnet"])


def test_a_resumed_warm_start_keeps_its_init_in_the_card(photo_dir, tmp_path):
    """--resume without --init: the run is still the warm start it began as (config and card)."""
    first, warm = tmp_path / "first", tmp_path / "warm"
    assert train_main(tiny_sr(photo_dir, first, "--steps", "2")) == 0
    assert train_main(tiny_sr(photo_dir, warm, "--steps", "4", "--stop-after", "2", "--init", str(first))) == 0
    assert train_main(tiny_sr(photo_dir, warm, "--steps", "4", "--resume", str(warm))) == 0
    meta = json.loads((warm / "training_meta.json").read_text())
    assert meta["config"]["init"] == str(first) and f"initialised from `{first}`" in meta["details"]
    card = (warm / "README.md").read_text()  # both sessions' commands
    assert "--resume" in meta["command"] and len(meta["earlier_commands"]) == 1
    assert "Resumed from earlier sessions of the same run: `python -m training srresnet" in card
    assert f"--stop-after 2 --init {first}`" in card
