"""Issue #22 F7: a Hub that accepts connections and never answers costs seconds, not minutes, and
holds no request slot: the fast HTTP probe fails, the embedded model answers, and nothing of ours
stays blocked on the silent socket. (The 10 s bound is the issue's acceptance figure, five times the
probe's 2 s budget; before this change the first answer took ~789 s. bench/silent_hub.py prints
the measured times.)"""

from __future__ import annotations

import threading
import time

import huggingface_hub.constants
import numpy as np
import pytest

from models import hub
from models.silent_hub import SilentServer
from tests.test_hub import fake_cache  # noqa: F401  (fixture: an empty HF cache)


@pytest.fixture
def silent_hub(monkeypatch, fake_cache):  # noqa: F811
    with SilentServer() as server:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hub, "_reachable", {})
        monkeypatch.setattr(hub, "_downloads", {})
        yield server


@pytest.mark.parametrize("source", ["auto", "hub"])
def test_silent_hub_falls_back_fast(silent_hub, source):
    t = time.monotonic()
    loaded = hub.load("srresnet-x4-imagenet", source)
    elapsed = time.monotonic() - t
    assert silent_hub.connections, "the probe never reached the silent server"
    assert loaded.source == "embedded" and loaded.title == "SRResNet (MSE)"
    assert "the Hub did not answer" in loaded.notice
    assert elapsed < 10, f"first answer after {elapsed:.1f} s"
    assert not hub._downloads  # no download was started against a Hub that does not answer
    # one probe per endpoint: the second model asks nothing of the network
    before = len(silent_hub.connections)
    assert hub.load("srgan-x4-imagenet", source).source == "embedded"
    assert len(silent_hub.connections) == before


def test_silent_hub_holds_no_slot(silent_hub, tmp_path):
    """The tab's action with the Hub models and, at the same time, another user's embedded
    request: both answer, the Hub one within the budget, and no load lock stays held."""
    from PIL import Image

    from demos.superres import MODE_UPSCALE, MODELS, super_resolve

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 24, 3), np.uint8))
    path = str(tmp_path / "in.png")
    image.save(path)
    hub_choice, embedded_choice = list(MODELS)[1], list(MODELS)[0]
    assert MODELS[hub_choice] == "hub" and MODELS[embedded_choice] == "embedded"
    results, times = {}, {}

    def run(choice: str) -> None:
        t = time.monotonic()
        results[choice] = super_resolve(path, MODE_UPSCALE, choice)
        times[choice] = time.monotonic() - t

    threads = [threading.Thread(target=run, args=(c,)) for c in (hub_choice, embedded_choice)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert set(results) == {hub_choice, embedded_choice}
    assert times[hub_choice] < 10, times
    table = results[hub_choice][3]
    assert list(table["Method"]) == ["Bicubic", "SRResNet (MSE)", "SRGAN-MSE"]  # named by what ran
    assert not any(lock.locked() for lock in hub._locks.values())
