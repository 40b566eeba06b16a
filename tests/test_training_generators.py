"""The generator methods and their judges on the training engine: dcgan, acgan, face-classifier,
fashion-classifier, dcgan-directions (training/dcgan.py), pix2pix, cyclegan, scene-classifier
(training/translation.py). Tiny seeded runs through `python -m training`'s main: the loss moves the
way training should move it, the exported checkpoint loads strictly (the EMA generator for a GAN),
the card names the command, seed and weights; a paused and resumed run equals an uninterrupted
one exactly; refused options change nothing. (tests/conftest.py sets GAN_GALLERY_CURVES=html: the
engine then writes loss_curve.html, skipping the static export.)"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from data.faces import BINARY_ATTRIBUTES, CATEGORICAL_ATTRIBUTES
from data.fashion_mnist import write_idx
from models.classifiers import FaceAttributeClassifier, FashionClassifier
from models.cyclegan import CycleGAN
from models.dcgan import DIRECTIONS_FILE, ACGANGenerator, DCGANGenerator
from models.pix2pix import Pix2PixPair
from models.scene_features import SceneClassifier
from training.__main__ import main as train_main
from training.dcgan import attribute_directions

FAST = ["--threads", "1", "--seed", "0"]


@pytest.fixture(scope="module")
def fashion(tmp_path_factory) -> Path:
    """Fashion-MNIST-shaped IDX files: 64 training and 32 test images whose brightness says the class."""
    folder = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for split, count in (("train", 64), ("t10k", 32)):
        labels = np.arange(count) % 10
        images = (rng.random((count, 28, 28)) * 40 + labels[:, None, None] * 20).astype(np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


def _rows(directory: Path) -> list[dict[str, float]]:
    with open(directory / "training_log.csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _card(directory: Path, argv: list[str], ema: bool) -> str:
    card = (directory / "README.md").read_text()
    assert f"- Command: `python -m training {' '.join(argv)}`" in card
    assert "- Seed: 0" in card and "Wall time" in card and "loss_curve.html" in card
    assert ("- Weights: EMA of the generator's weights (decay 0.999)" in card) is ema
    assert (directory / "loss_curve.html").exists()
    return card


def _exports_ema(directory: Path, model: torch.nn.Module) -> None:
    """The exported weights are the EMA copy saved in the run's state, not the last trained ones."""
    state = torch.load(directory / "state.pt", map_location="cpu", weights_only=True)["parts"]["g"]
    ema = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    exported = model.state_dict()
    assert set(exported) == set(ema)
    assert all(torch.equal(exported[k], ema[k]) for k in exported)
    trained = state["module"]
    assert any(not torch.equal(trained[k], ema[k]) for k in ema if ema[k].is_floating_point())


def _run(argv: list[str]) -> list[str]:
    assert train_main(argv) == 0
    return argv


# --- training/dcgan.py --------------------------------------------------------------------------


def test_dcgan_trains_exports_its_ema_generator_and_samples(tmp_path):
    out = tmp_path / "dcgan"
    argv = _run(["dcgan", "--steps", "16", "--faces", "64", "--batch", "8", "--width", "4", "--log-every", "8",
                 *FAST, "--out", str(out)])  # fmt: skip
    first, last = _rows(out)
    assert first["d_loss"] > last["d_loss"] + 0.05  # the discriminator learns to tell the faces from G's
    assert all(math.isfinite(r["g_loss"]) for r in (first, last))
    g = DCGANGenerator.from_pretrained(out, strict=True)
    assert g.z_dim == 100 and g.net[0].out_channels == 4 * 8
    _exports_ema(out, g)
    assert "width 4" in _card(out, argv, ema=True)
    assert (out / "samples.png").exists()


def test_acgan_trains_and_exports_its_ema_generator(tmp_path, fashion):
    out = tmp_path / "acgan"
    argv = _run(["acgan", "--steps", "16", "--data", str(fashion), "--batch", "8", "--width", "4", "--log-every", "8",
                 "--conditioning", "concat", *FAST, "--out", str(out)])  # fmt: skip
    first, last = _rows(out)
    assert first["d_adv"] > last["d_adv"] + 0.05
    g = ACGANGenerator.from_pretrained(out, strict=True)
    assert g.conditioning == "concat" and g.num_classes == 10
    _exports_ema(out, g)
    assert "64 real 28x28 photos" in _card(out, argv, ema=True)
    assert (out / "samples.png").exists()


def test_dcgan_sngan_options_fresh_faces_and_card(tmp_path):
    """--loss hinge --d-norm spectral --upsample resize --faces 0: the discriminator's convolutions carry
    spectral norm (no batch norm), the exported generator upsamples by resize-convolution and loads
    strictly from its config, every step renders new faces, and the card names all three choices."""
    out = tmp_path / "sn"
    argv = _run(["dcgan", "--steps", "12", "--faces", "0", "--batch", "8", "--width", "4", "--log-every", "6",
                 "--loss", "hinge", "--d-norm", "spectral", "--upsample", "resize", *FAST, "--out", str(out)])  # fmt: skip
    first, last = _rows(out)
    assert first["d_loss"] > last["d_loss"]  # hinge D loss starts near 2 and falls as D separates them
    g = DCGANGenerator.from_pretrained(out, strict=True)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) and m.stride == (2, 2) for m in g.modules())
    assert sum(isinstance(m, torch.nn.Upsample) for m in g.modules()) == 4
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)["parts"]["d"]["module"]
    assert sum(k.endswith("weight_orig") for k in state) == 5 and not any("running_mean" in k for k in state)
    card = _card(out, argv, ema=True)
    assert "hinge loss" in card and "spectral norm" in card and "nearest x2 + 3x3" in card
    assert "fresh renders" in card and "never the same renders twice" in card


def test_hinge_and_bce_losses_on_known_logits():
    from training.dcgan import d_adversarial, g_adversarial

    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    # hinge: mean(relu(1 - r)) = (0 + 0.5) / 2; mean(relu(1 + f)) = (0 + 1) / 2
    assert d_adversarial(real, fake, "hinge").item() == pytest.approx(0.75)
    assert g_adversarial(fake, "hinge").item() == pytest.approx(1.5)
    bce = -(math.log(1 / (1 + math.exp(-2))) + math.log(1 / (1 + math.exp(-0.5)))) / 2 \
        - (math.log(1 - 1 / (1 + math.exp(3))) + math.log(0.5)) / 2
    assert d_adversarial(real, fake, "bce").item() == pytest.approx(bce, rel=1e-6)


def test_acgan_real_only_class_head_and_hinge(tmp_path, fashion):
    out = tmp_path / "acgan-sn"
    argv = _run(["acgan", "--steps", "8", "--data", str(fashion), "--batch", "8", "--width", "4", "--log-every", "4",
                 "--loss", "hinge", "--d-norm", "spectral", "--no-aux-fake", "--aux-weight", "2", *FAST,
                 "--out", str(out)])  # fmt: skip
    card = _card(out, argv, ema=True)
    assert "class cross-entropy on real photos only" in card and "adversarial + 2 x class" in card
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)["parts"]["d"]["module"]
    assert sum(k.endswith("weight_orig") for k in state) == 3


def test_init_warm_starts_the_generator_and_says_so(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    base = ["--faces", "16", "--batch", "4", "--width", "4", "--log-every", "1", *FAST]
    _run(["dcgan", "--steps", "3", *base, "--out", str(first)])
    argv = _run(["dcgan", "--steps", "1", *base, "--init", str(first), "--out", str(second)])
    # one step after the warm start, the trained G is the first run's export moved by one Adam step
    start = DCGANGenerator.from_pretrained(first, strict=True).state_dict()
    state = torch.load(second / "state.pt", map_location="cpu", weights_only=True)["parts"]["g"]["module"]
    moved = [k for k in start if start[k].is_floating_point() and not torch.equal(start[k], state[k])]
    assert moved and all((start[k] - state[k]).abs().max() < 0.01 for k in moved if k.endswith("weight"))
    card = _card(second, argv, ema=True)
    assert f"warm start: g initialised from `{first}`" in card and "3 steps" in card
    assert train_main(["dcgan", "--steps", "1", "--faces", "16", "--width", "8", *FAST, "--init", str(first),
                       "--out", str(tmp_path / "bad")]) == 2  # fmt: skip
    assert not (tmp_path / "bad").exists()


def test_init_carries_the_discriminator_the_lineage_and_warms_d_up(tmp_path):
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    base = ["--faces", "16", "--batch", "4", "--width", "4", "--log-every", "1", *FAST]
    _run(["dcgan", "--steps", "3", *base, "--out", str(first)])
    saved_d = load_file(first / "discriminator.safetensors")
    # --d-warmup: D learns, G stays exactly the export it started from (no G step, no EMA update)
    warm = ["dcgan", "--steps", "3", "--d-warmup", "2", *base, "--init", str(first), "--out", str(second)]
    _run([*warm, "--stop-after", "2"])  # paused after the two warm-up steps
    parts = torch.load(second / "state.pt", map_location="cpu", weights_only=True)["parts"]
    start = DCGANGenerator.from_pretrained(first, strict=True)
    trained = parts["g"]["module"]
    assert all(torch.equal(v, trained[k]) for k, v in start.named_parameters())
    ema = {k.removeprefix("module."): v for k, v in parts["g"]["ema"].items() if k.startswith("module.")}
    assert all(torch.equal(v, ema[k]) for k, v in start.state_dict().items())
    assert any(not torch.equal(saved_d[k], parts["d"]["module"][k]) for k in saved_d if saved_d[k].is_floating_point())
    argv = _run([*warm, "--resume", str(second)])
    card = _card(second, argv, ema=True)
    assert "d initialised from its `discriminator.safetensors`" in card and "first 2 steps train D alone" in card
    # the discriminator was carried: at a vanishing D learning rate it is the first run's after one step
    _run(["dcgan", "--steps", "1", "--d-lr", "1e-12", *base, "--init", str(first), "--out", str(third)])
    d = torch.load(third / "state.pt", map_location="cpu", weights_only=True)["parts"]["d"]["module"]
    assert all(torch.allclose(saved_d[k].float(), d[k].float(), atol=1e-6) for k in saved_d if k.endswith("weight_orig"))
    # a third generation lists both ancestors, oldest first; a D of another configuration starts fresh
    fourth = tmp_path / "fourth"
    _run(["dcgan", "--steps", "1", "--minibatch-std", *base, "--init", str(second), "--out", str(fourth)])
    card = (fourth / "README.md").read_text()
    lineage = next(line for line in card.splitlines() if line.startswith("- Warm-start lineage"))
    assert lineage.index(f"--out {first}`") < lineage.index(f"--out {second}")
    assert "d starts fresh (its `discriminator.safetensors` does not fit this configuration)" in card


def test_dcgan_keeps_the_best_by_validation_fd_on_the_judge(tmp_path):
    from data.faces import make_faces
    from eval.metrics import frechet_distance_from_features
    from models.classifiers import extract_features
    from models.dcgan import generate, sample_z
    from models.tensors import to_signed_tensor

    clf_dir, out = tmp_path / "clf", tmp_path / "g"
    _run(["face-classifier", "--steps", "2", "--faces", "16", "--test-faces", "8", "--batch", "8", "--width", "4",
          *FAST, "--out", str(clf_dir)])  # fmt: skip
    _run(["dcgan", "--steps", "4", "--faces", "16", "--batch", "4", "--width", "4", "--keep-best-every", "2",
          "--judge", str(clf_dir), *FAST, "--out", str(out)])  # fmt: skip
    with open(out / "selection_log.csv") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    assert [r["step"] for r in rows] == [2, 4] and all(r["score"] == -r["fd"] for r in rows)
    best = max(rows, key=lambda r: r["score"])
    # the exported generator scores exactly what the log says of the step it was kept from
    g, clf = DCGANGenerator.from_pretrained(out, strict=True), FaceAttributeClassifier.from_pretrained(clf_dir)
    with torch.no_grad():
        fake = to_signed_tensor(generate(g, sample_z(1000, g.z_dim, 5000)))  # as the evaluation reads samples
        real = to_signed_tensor(make_faces(1000, 64, 5000).images)
        fd = frechet_distance_from_features(extract_features(clf, fake).numpy(), extract_features(clf, real).numpy())
    assert fd == pytest.approx(best["fd"], rel=1e-6)
    assert f"step {int(best['step'])} of 4" in (out / "README.md").read_text()


def test_replot_redraws_the_curves_from_the_log(tmp_path):
    out = tmp_path / "run"
    _run(["dcgan", "--steps", "4", "--faces", "16", "--batch", "4", "--width", "4", "--log-every", "2", *FAST,
          "--out", str(out)])  # fmt: skip
    (out / "loss_curve.html").unlink()
    assert train_main(["replot", str(out)]) == 0
    html = (out / "loss_curve.html").read_text()
    assert "d_loss" in html and "g_loss" in html
    assert "- Loss curves: `loss_curve.html`" in (out / "README.md").read_text()


def test_second_face_judge_trains_on_degraded_renders(tmp_path):
    out = tmp_path / "judge"
    argv = _run(["face-judge-aug", "--steps", "12", "--faces", "64", "--test-faces", "16", "--batch", "16",
                 "--width", "4", "--log-every", "6", *FAST, "--out", str(out)])  # fmt: skip
    card = _card(out, argv, ema=False)
    assert "renders (seed 4001)" in card and "degradations" in card
    FaceAttributeClassifier.from_pretrained(out, strict=True)


def test_degrade_changes_every_image_and_keeps_the_range():
    from training.classifiers import degrade

    x = torch.rand(6, 3, 16, 16) * 2 - 1
    y = degrade(x, np.random.default_rng(0))
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert ((y - x).abs().flatten(1).mean(1) > 0.01).all()  # noise at least, on every image
    assert torch.equal(y, degrade(x, np.random.default_rng(0)))  # seeded


def test_face_classifier_then_dcgan_directions(tmp_path):
    clf_dir, g_dir = tmp_path / "clf", tmp_path / "g"
    argv = _run(["face-classifier", "--steps", "16", "--faces", "64", "--test-faces", "16", "--batch", "16",
                 "--width", "4", "--log-every", "8", *FAST, "--out", str(clf_dir)])  # fmt: skip
    first, last = _rows(clf_dir)
    assert first["loss"] > last["loss"] + 0.1
    clf = FaceAttributeClassifier.from_pretrained(clf_dir, strict=True)
    card = _card(clf_dir, argv, ema=False)
    assert "Held-out accuracy on 16 fresh renders (seed 2001): smile" in card
    _run(["dcgan", "--steps", "2", "--faces", "16", "--batch", "4", "--width", "4", *FAST, "--out", str(g_dir)])
    assert train_main(["dcgan-directions", "--out", str(g_dir), "--classifier", str(clf_dir), "--samples", "64",
                       "--threads", "1"]) == 0  # fmt: skip
    g = DCGANGenerator.from_pretrained(g_dir, strict=True)
    saved = load_file(g_dir / DIRECTIONS_FILE)
    assert saved.keys() == attribute_directions(g, clf, n=64, seed=0).keys()
    assert all(v.shape == (100,) for v in saved.values())


def test_attribute_directions_on_a_known_answer():
    """A 'generator' that shows z and a classifier that calls a face smiling when z_0 > 0: the smile
    direction is E[z | z_0 > 0] - E[z | z_0 <= 0] = 2 sqrt(2 / pi) e_0."""

    class Identity(torch.nn.Module):
        z_dim = 100

        def forward(self, z):
            return z

    class Z0Smiles:
        heads = [*BINARY_ATTRIBUTES, *CATEGORICAL_ATTRIBUTES]

        def predict(self, x):
            out = {k: torch.zeros(len(x), dtype=torch.long) for k in CATEGORICAL_ATTRIBUTES}  # all the first value
            out.update({k: torch.zeros(len(x)) for k in BINARY_ATTRIBUTES})  # nobody has it
            out["smile"] = (x[:, 0] > 0).float()
            return out

    directions = attribute_directions(Identity(), Z0Smiles(), n=4096, seed=0)
    assert set(directions) == {"smile"}  # the other attributes: all or none of the samples, no direction
    smile = directions["smile"]
    assert smile[0].item() == pytest.approx(2 * math.sqrt(2 / math.pi), abs=0.08)
    assert smile[1:].abs().max().item() < 0.15


def test_fashion_classifier_trains_and_reports_accuracy(tmp_path, fashion):
    out = tmp_path / "fc"
    argv = _run(["fashion-classifier", "--steps", "16", "--data", str(fashion), "--batch", "16", "--width", "4",
                 "--log-every", "8", *FAST, "--out", str(out)])  # fmt: skip
    first, last = _rows(out)
    assert first["loss"] > last["loss"] + 0.05
    FashionClassifier.from_pretrained(out, strict=True)
    assert "Held-out accuracy on the 32 real test photos: accuracy" in _card(out, argv, ema=False)


# --- training/translation.py --------------------------------------------------------------------

SCENES = ["--size", "32", "--scenes", "8", "--batch", "2", "--width", "4", "--disc-width", "4"]


def test_pix2pix_trains_and_exports_its_ema_generators(tmp_path):
    out = tmp_path / "p2p"
    argv = _run(["pix2pix", "--steps", "8", "--depth", "5", *SCENES, "--log-every", "4", *FAST, "--out", str(out)])
    first, last = _rows(out)
    l1 = [r["day2night_l1"] + r["night2day_l1"] for r in (first, last)]
    assert l1[0] > l1[1] + 0.05  # the paired L1 falls
    model = Pix2PixPair.from_pretrained(out, strict=True)
    assert model.image_size == 32 and model.day_to_night.depth == 5
    _exports_ema(out, model)
    assert "constant then linear decay to 0" in _card(out, argv, ema=True)
    assert (out / "samples.png").exists()


def test_pix2pix_dropout_and_l1_weight_are_options_the_card_and_config_record(tmp_path):
    out = tmp_path / "p2p"
    argv = _run(["pix2pix", "--steps", "2", "--depth", "5", "--dropout", "0", "--l1-weight", "50", *SCENES, "--log-every", "1", *FAST,
                 "--out", str(out)])  # fmt: skip
    card = _card(out, argv, ema=True)
    assert "dropout 0)" in card and "+ 50 x L1" in card
    model = Pix2PixPair.from_pretrained(out, strict=True).train()  # training mode: dropout would act here
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.day_to_night(x), model.day_to_night(x))
    with_dropout = Pix2PixPair(ngf=4, depth=5, dropout=0.5).train()
    with torch.no_grad():
        assert not torch.equal(with_dropout.day_to_night(x), with_dropout.day_to_night(x))


def test_cyclegan_trains_and_exports_its_ema_generators(tmp_path):
    out = tmp_path / "cyc"
    argv = _run(["cyclegan", "--steps", "8", "--blocks", "1", "--pool", "3", *SCENES, "--log-every", "4", *FAST,
                 "--out", str(out)])  # fmt: skip
    first, last = _rows(out)
    assert first["d_day"] + first["d_night"] > last["d_day"] + last["d_night"] + 0.1
    assert all(math.isfinite(r[k]) for r in (first, last) for k in ("cycle_day", "cycle_night", "identity"))
    model = CycleGAN.from_pretrained(out, strict=True)
    assert model.image_size == 32 and not hasattr(model, "D_A")
    _exports_ema(out, model)
    assert "3-image history pool" in _card(out, argv, ema=True)


def test_cyclegan_paused_and_resumed_equals_one_run(tmp_path):
    """K steps, --resume, K more: the same losses and the same exported weights as 2K steps in one go
    (history pools included: they are part of the saved state; so are the validation scores and the
    weights --keep-best-every keeps)."""
    common = ["cyclegan", "--steps", "6", "--blocks", "1", "--pool", "3", *SCENES, "--log-every", "1",
              "--keep-best-every", "2", "--validation-scenes", "2", *FAST]  # fmt: skip
    _run([*common, "--out", str(tmp_path / "whole")])
    paused = tmp_path / "paused"
    _run([*common, "--stop-after", "3", "--out", str(paused)])
    assert len(_rows(paused)) == 3 and not (paused / "model.safetensors").exists()
    _run([*common, "--resume", str(paused), "--out", str(paused)])
    whole, resumed = _rows(tmp_path / "whole"), _rows(paused)
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(whole, resumed, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    w, r = load_file(tmp_path / "whole" / "model.safetensors"), load_file(paused / "model.safetensors")
    assert w.keys() == r.keys() and all(torch.equal(w[k], r[k]) for k in w)
    scorings = [[{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(d / "selection_log.csv"))]
                for d in (tmp_path / "whole", paused)]  # fmt: skip
    assert scorings[0] == scorings[1] and [r["step"] for r in scorings[0]] == ["2", "4", "6"]


def test_scene_classifier_trains_and_reports_accuracy(tmp_path):
    out = tmp_path / "sc"
    argv = _run(["scene-classifier", "--steps", "16", "--size", "32", "--scenes", "16", "--test-scenes", "8",
                 "--batch", "16", "--width", "4", "--log-every", "8", *FAST, "--out", str(out)])  # fmt: skip
    first, last = _rows(out)
    assert first["loss"] > last["loss"] + 0.1
    SceneClassifier.from_pretrained(out, strict=True)
    assert "Held-out accuracy on 16 fresh renders (8 scenes of seed 20001, day and night): time" in _card(
        out, argv, ema=False)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["dcgan", "--lr", "0"], "--lr must be greater than 0"),
    (["dcgan", "--schedule", "step"], "--schedule must be one of constant, cosine, linear-decay"),
    (["dcgan", "--data", "photos", "--keep-best-every", "10"], "it cannot judge a model trained on --data"),
    (["dcgan", "--steps", "10", "--d-warmup", "10"], "--d-warmup (10) must be below --steps (10)"),
    (["acgan", "--conditioning", "add"], "--conditioning must be one of multiply, concat"),
    (["face-classifier", "--warmup", "1"], "--warmup must be at most 0.99"),
    (["fashion-classifier", "--faces", "10"], "unknown option(s) --faces"),
    (["dcgan-directions", "--samples", "5"], "--samples must be at least 20"),
    (["dcgan-directions", "--steps", "5"], "unknown option(s) --steps"),
    (["pix2pix", "--size", "96"], "--size must be a multiple of 2**--depth = 128"),
    (["pix2pix", "--dropout", "1"], "--dropout must be at most 0.9"),
    (["cyclegan", "--ema-decay", "1.5"], "--ema-decay must be at most 1"),
    (["cyclegan", "--size", "34"], "--size must be a multiple of 4"),
    (["scene-classifier", "--test-scenes", "0"], "--test-scenes must be at least 1"),
    (["scene-classifier", "--lr", "fast"], "--lr takes a number, not 'fast'"),
])  # fmt: skip
def test_refused_options_say_why_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert train_main([*argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_pix2pix_keeps_each_direction_at_its_best_validation_step_and_a_weaker_discriminator(tmp_path):
    """--keep-best-every: each U-Net of the export is the one of the step best.pt names for its
    direction, and scoring the exported model on the validation scenes again gives each direction
    the PSNR logged at that step; --d-lr reaches D's optimizer."""
    from data.day_night import VALIDATION_SEED, make_pairs
    from training.translation import validation_psnr

    out = tmp_path / "p2p"
    argv = _run(["pix2pix", "--steps", "6", "--depth", "5", *SCENES, "--log-every", "2", "--keep-best-every", "2",
                 "--validation-scenes", "3", "--d-lr", "5e-5", *FAST, "--out", str(out)])  # fmt: skip
    rows = list(csv.DictReader(open(out / "selection_log.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    saved = torch.load(out / "best.pt", weights_only=True)
    model = Pix2PixPair.from_pretrained(out, strict=True)
    exported, kept = model.state_dict(), saved["parts"]["g"]  # kept: the EMA generators' weights
    assert kept.keys() == exported.keys() and all(torch.equal(kept[k], exported[k]) for k in kept)
    again = validation_psnr(model, make_pairs(3, 32, VALIDATION_SEED))
    card = _card(out, argv, ema=True)
    for direction in ("day2night", "night2day"):
        best = max(rows, key=lambda r: float(r[f"{direction}_psnr"]))
        assert saved["groups"][direction]["step"] == int(best["step"])
        assert again[f"{direction}_psnr"] == pytest.approx(float(best[f"{direction}_psnr"]), abs=1e-6)
        assert f"{direction} from step {best['step']} (" in card
    assert "Adam lr 0.0002 (discriminators 5e-05)" in card
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["parts"]["d"]["optimizer"]["param_groups"][0]["initial_lr"] == pytest.approx(5e-5)
