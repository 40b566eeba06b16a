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
