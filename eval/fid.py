"""FID when its network is available, otherwise a Fréchet distance on a named feature network.

Standard FID (Heusel et al. 2017) uses Inception-v3 pool3 features; its weights
(torch-fidelity's `pt_inception-2015-12-05-6726825d.pth`) cannot be downloaded on an offline
machine. `frechet_score` uses them when they are in the local torch cache and otherwise computes
the distance on the features of a network this project trained — and its label says which, so an
FD is never presented as "FID". Images are resized with PIL bicubic before feature extraction
(clean-fid's finding: the resizer changes the score).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from eval.metrics import frechet_distance_from_features
from models import resample

logger = logging.getLogger(__name__)

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


@dataclass(frozen=True)
class FrechetScore:
    value: float
    label: str  # "FID (Inception-v3 pool3)" or "FD (<network> features)"
    n_a: int
    n_b: int


def inception_weights_cached() -> bool:
    return (Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE).is_file()


def resize_bicubic(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, size, size, 3) uint8 with PIL bicubic."""
    return np.stack([resample.resize_bicubic(im, size, size) for im in images])


@torch.inference_mode()
def inception_features(images: np.ndarray, batch: int = 32) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 2048) Inception-v3 pool3 features (torch-fidelity's network)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).eval()
    x = resize_bicubic(images, 299)
    feats = []
    for i in range(0, len(x), batch):
        t = torch.from_numpy(x[i : i + batch]).permute(0, 3, 1, 2).contiguous()
        feats.append(net(t)[0].double().numpy())
    return np.concatenate(feats)


def frechet_score(
    images_a: np.ndarray,
    images_b: np.ndarray,
    fallback_features: Callable[[np.ndarray], np.ndarray],
    fallback_name: str,
) -> FrechetScore:
    """FID on Inception features when cached, else FD on `fallback_features` (named)."""
    if inception_weights_cached():
        fa, fb = inception_features(images_a), inception_features(images_b)
        label = "FID (Inception-v3 pool3)"
    else:
        fa, fb = fallback_features(images_a), fallback_features(images_b)
        label = f"FD ({fallback_name} features)"
    return FrechetScore(frechet_distance_from_features(fa, fb), label, len(fa), len(fb))
