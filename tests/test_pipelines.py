"""The pipeline layer's shared pieces: the array <-> tensor conversions, the result titles, the
task registry and the layering rule."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from eval.tasks import TASKS, figures, training_methods
from models.result import method_title
from models.tensors import (
    check_image_and_mask,
    from_pixel_tensor,
    from_signed_tensor,
    from_unit_tensor,
    to_pixel_tensor,
    to_signed_tensor,
    to_unit_tensor,
)

ROOT = Path(__file__).resolve().parent.parent
ALL_BYTES = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=-1)


@pytest.mark.parametrize("forward, inverse", [(to_signed_tensor, from_signed_tensor),
                                              (to_unit_tensor, from_unit_tensor),
                                              (to_pixel_tensor, from_pixel_tensor)])  # fmt: skip
def test_conversions_round_trip_every_byte_exactly(forward, inverse):
    x = forward(ALL_BYTES)
    assert x.shape == (1, 3, 16, 16) and x.dtype == torch.float32
    assert np.array_equal(inverse(x), ALL_BYTES)


def test_inverses_clamp_and_round_to_nearest():
    x = torch.tensor([-2.0, -1.0, 0.0, 0.00392, 1.0, 3.0]).view(1, 1, 1, 6)
    assert from_signed_tensor(x).ravel().tolist() == [0, 0, 128, 128, 255, 255]  # 127.5 rounds to even
    assert from_unit_tensor(x).ravel().tolist() == [0, 0, 0, 1, 255, 255]
    assert to_signed_tensor(np.array([[[[0, 255]]]], np.uint8)).ravel().tolist() == [-1.0, 1.0]


def test_image_and_mask_checks_name_the_problem():
    img = np.zeros((4, 6, 3), np.uint8)
    assert check_image_and_mask(img, np.ones((4, 6), np.uint8)).dtype == np.bool_
    with pytest.raises(ValueError, match="mask is 5x4 px but the image is 6x4 px"):
        check_image_and_mask(img, np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="RGB uint8"):
        check_image_and_mask(img.astype(np.float32), np.zeros((4, 6), bool))
    with pytest.raises(ValueError, match=r"\(H, W\) mask"):
        check_image_and_mask(img, np.zeros((4, 6, 1), bool))


def test_method_titles():
    assert method_title("telea", {"telea": "Telea (OpenCV)"}) == "Telea (OpenCV)"
    assert method_title("srresnet-x4") == "SRResNet (MSE)"
    assert method_title("not-a-model", default="fallback") == "fallback"
    with pytest.raises(KeyError, match="not-a-model"):
        method_title("not-a-model")


def test_registry_covers_the_runner_the_dashboard_and_training():
    from demos import evaluation
    from training.__main__ import METHODS

    assert training_methods() == METHODS  # until `python -m training` reads the registry itself
    assert set(evaluation.TASK_TITLES) == set(TASKS)
    for name, task in TASKS.items():
        module = task.load()
        assert callable(module.run) and callable(module.csv_rows), name
        assert len(figures(name)) == len(task.figures) >= 1
        assert (ROOT / "eval" / "results" / f"{name}.json").is_file(), name
    assert figures("no-such-task") == []


LAYERS = {"app": 5, "demos": 4, "eval": 3, "training": 3, "models": 2, "data": 1}


def test_imports_point_down_only():
    """app.py -> demos/ -> eval/ -> models/ -> data/, training/ beside eval/ (it may use
    eval/metrics.py only); bench/ is on top."""
    up = []
    for path in ROOT.glob("*/*.py"):
        folder = path.parent.name
        if folder not in LAYERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in LAYERS or top == folder:
                    continue
                if top == "training":
                    allowed = False  # nothing but bench/ builds on training/
                elif folder == "training" and top == "eval":
                    allowed = name == "eval.metrics"
                else:
                    allowed = LAYERS[top] < LAYERS[folder]
                if not allowed:
                    up.append(f"{path.relative_to(ROOT)} imports {name}")
    assert up == []
