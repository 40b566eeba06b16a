"""Benchmark runner output and the Evaluation tab's tables, charts and report."""

from __future__ import annotations

import json

import pytest

from demos import evaluation
from eval import plots
from eval.run import run_task


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
    for make in plots.FIGURES["superres"]:
        fig = make(results["superres"])
        assert "held-out" in fig.layout.title.text or "Sharpness" in fig.layout.title.text
    page = evaluation.html_report(results, bicubic_results)
    assert "<table" in page and "plotly" in page.lower()
    assert "<script src=" not in page  # no external resources: opens offline


def test_dcgan_and_acgan_benchmarks_on_small_settings(tmp_path):
    """The DCGAN / AC-GAN benchmarks on the embedded models with small sample counts (AC-GAN on a
    tiny synthetic IDX set standing in for Fashion-MNIST): every number the dashboard reads."""
    from tests.test_dcgan import _fake_fashion

    dc = run_task("dcgan", tmp_path / "r", n_samples=64, trials=4)
    r = dc["methods"]["dcgan-faces"]
    assert dc["fd_label"] == "FD (face-attribute-classifier features)" and "FID" not in dc["fd_label"]
    assert r["arithmetic"]["trials"] + r["arithmetic"]["skipped_no_exemplars"] == 4
    assert 0 <= r["mean"]["arithmetic_success"] <= 1 and r["mean"]["fd"] >= 0
    assert {"smile", "glasses"} <= set(r["sliders"]) and r["mean"]["seconds_64"] > 0
    assert all(0.9 < v <= 1 for v in r["classifier_accuracy"].values())  # the judge is trustworthy
    fashion = tmp_path / "fashion"
    fashion.mkdir()
    _fake_fashion(fashion, n=200)
    ac = run_task("acgan", tmp_path / "r", per_class=8, data=fashion)
    per = ac["methods"]["acgan-fashion"]["per_class"]
    assert len(per) == 10 and all(0 <= v["accuracy"] <= 1 and v["fd"] >= 0 for v in per.values())
    results = evaluation.load_results(tmp_path / "r")
    for task in ("dcgan", "acgan"):
        assert not evaluation.summary_table(task, results[task]).empty
        for make in plots.FIGURES[task]:
            assert make(results[task]).layout.title.text
    assert (tmp_path / "r" / "dcgan.csv").exists() and (tmp_path / "r" / "acgan.csv").exists()
