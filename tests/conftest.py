"""Tests run offline: no Hub access, whatever the environment says."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GAN_GALLERY_CURVES", "html")  # training smoke runs skip the ~5 s PNG export

import huggingface_hub.constants  # noqa: E402
import pytest  # noqa: E402

from models import hub  # noqa: E402


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    yield
    hub.clear_cache()


@pytest.fixture
def photo_dir(tmp_path):
    """Three small smooth 'photos' with noise, for the photo trainers' smoke runs."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    d = tmp_path / "photos"
    d.mkdir()
    yy, xx = np.mgrid[0:96, 0:128]
    for i in range(3):
        base = np.stack([np.sin(xx / (5 + i)), np.cos(yy / (7 + i)), np.sin((xx + yy) / 9)], -1)
        img = ((base + 1) * 110 + rng.normal(0, 4, base.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"p{i}.png")
    return d
