"""Our Fréchet distance against torch-fidelity's on the same features, and honest labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_fid import fid_statistics_to_metric

from eval import fid
from eval.metrics import feature_statistics, frechet_distance_from_features


def test_our_frechet_distance_equals_torch_fidelity():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (400, 16))
    b = rng.normal(0.3, 1.2, (300, 16)) @ rng.normal(0, 0.5, (16, 16))
    (mu1, s1), (mu2, s2) = feature_statistics(a), feature_statistics(b)
    theirs = fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2},
                                      verbose=False)["frechet_inception_distance"]  # fmt: skip
    assert frechet_distance_from_features(a, b) == pytest.approx(theirs, rel=1e-9, abs=1e-9)


def test_without_inception_weights_the_label_says_fd(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert not fid.inception_weights_cached()
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    b = rng.integers(0, 128, (20, 8, 8, 3), dtype=np.uint8)

    def mean_colour(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1, 3).mean(axis=1) + rng.normal(0, 1e-3, (len(x), 3))

    score = fid.frechet_score(a, b, mean_colour, "mean-colour")
    assert score.label == "FD (mean-colour features)" and "FID" not in score.label
    assert score.value > 100 and score.n_a == 20


def test_resize_is_pil_bicubic():
    img = np.zeros((1, 4, 4, 3), np.uint8)
    img[0, :, 2:] = 255
    out = fid.resize_bicubic(img, 8)
    assert out.shape == (1, 8, 8, 3) and out[0, 0, 0, 0] == 0 and out[0, 0, 7, 0] == 255
