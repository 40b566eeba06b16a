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
