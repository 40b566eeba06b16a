"""SRResNet / SRGAN architectures, the tiled x4 helper and the bicubic baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.resample import downscale_x4, upscale_bicubic_x4
from models.srresnet import SRGANDiscriminator, SRResNet, tile_layout, tile_spans, upscale_x4


def tiny_sr(seed: int = 0) -> SRResNet:
    torch.manual_seed(seed)
    return SRResNet(channels=8, num_rcb=2).eval()


def test_shapes_and_range():
    m = tiny_sr()
    x = torch.rand(2, 3, 10, 13)
    y = m(x)
    assert y.shape == (2, 3, 40, 52)
    assert y.min() >= 0 and y.max() <= 1
    d = SRGANDiscriminator(channels=8, image_size=32)
    assert d(torch.rand(2, 3, 32, 32)).shape == (2, 1)


def test_paper_configuration_parameter_count():
    # 16 blocks x 64 channels, as in Ledig et al. / the community x4 checkpoints: 1,547,350 weights
    assert sum(p.numel() for p in SRResNet().parameters()) == 1_547_350


def test_tiled_equals_whole_image():
    m = tiny_sr(1)
    rng = np.random.default_rng(0)
    img = (rng.random((70, 90, 3)) * 255).astype(np.uint8)
    whole = upscale_x4(m, img, tile=200)
    tiled = upscale_x4(m, img, tile=32, overlap=12)
    assert len(tile_layout(70, 90, 32, 12)) == 3 * 4
    assert whole.shape == tiled.shape == (280, 360, 3)
    # Only the receptive field near tile seams can differ, and the blending hides it.
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 3


def test_upscale_rejects_non_rgb():
    with pytest.raises(ValueError, match="RGB uint8"):
        upscale_x4(tiny_sr(), np.zeros((8, 8), np.uint8))


def test_round_trip_save_load(tmp_path):
    m = tiny_sr(2)
    m.save_pretrained(tmp_path / "m")
    loaded = SRResNet.from_pretrained(tmp_path / "m", strict=True)
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(m(x), loaded(x))


def test_bicubic_baseline_sizes():
    img = np.zeros((30, 41, 3), np.uint8)
    lr = downscale_x4(img)
    assert lr.shape == (7, 10, 3)
    assert upscale_bicubic_x4(lr).shape == (28, 40, 3)


def test_tile_spans_cover_with_overlap():
    for length, tile, overlap in [(256, 160, 16), (1000, 160, 16), (161, 160, 16), (90, 32, 12)]:
        spans = tile_spans(length, tile, overlap)
        assert spans[0][0] == 0 and spans[-1][0] + spans[-1][1] == length
        assert all(size <= tile for _, size in spans)
        for (a, sa), (b, _) in zip(spans, spans[1:], strict=False):
            assert a + sa - b >= overlap  # neighbours share at least `overlap` px
    assert len(tile_spans(256, 160, 16)) == 2  # the fewest tiles
