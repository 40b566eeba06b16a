"""SRResNet / SRGAN architectures, the tiled x4 helper and the bicubic baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.resample import downscale_x4, upscale_bicubic_x4
from models.srresnet import (
    FusedSRResNet,
    SRGANDiscriminator,
    SRResNet,
    fused_inference,
    inference_copy,
    subpixel_conv_weight,
    tile_layout,
    tile_spans,
    upscale_x4,
)


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


# --- the fast inference path (issue #21): BN folded, channels_last; same outputs as the reference


def _tiny_sr_with_bn_statistics(seed: int = 3) -> SRResNet:
    """A seeded tiny model whose BatchNorms do something (fresh ones are the identity in eval
    mode, so folding them would be trivially right)."""
    return _set_bn_statistics(tiny_sr(seed), seed)


def _set_bn_statistics(m: SRResNet, seed: int) -> SRResNet:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)):
            bn.running_mean.copy_(0.2 * torch.randn(bn.num_features, generator=g))
            bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=g))
            bn.weight.copy_(1 + 0.3 * torch.randn(bn.num_features, generator=g))
            bn.bias.copy_(0.1 * torch.randn(bn.num_features, generator=g))
    return m


def test_inference_copy_is_the_same_function():
    m = _tiny_sr_with_bn_statistics()
    fast = inference_copy(m)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in fast.modules())
    x = torch.rand(2, 3, 12, 9)
    with torch.inference_mode():
        ref = m(x)
        out = fast(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(out, ref, atol=1e-5)
    assert inference_copy(m) is fast  # cached


def test_inference_copy_follows_weight_updates():
    m = _tiny_sr_with_bn_statistics()
    first = inference_copy(m)
    with torch.no_grad():
        m.conv3.bias.add_(0.25)  # as an optimizer step would
    second = inference_copy(m)
    assert second is not first
    x = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        assert torch.allclose(second.forward_unclamped(x), m.forward_unclamped(x), atol=1e-5)
        assert not torch.allclose(first.forward_unclamped(x), m.forward_unclamped(x), atol=1e-2)


def _psnr_vs(hr: np.ndarray, sr: np.ndarray) -> float:
    from eval.metrics import psnr

    return psnr(hr, sr, crop_border=4)


def test_fast_upscale_equals_reference_on_a_seeded_tiny_model():
    m = _tiny_sr_with_bn_statistics()
    rng = np.random.default_rng(1)
    hr = (rng.random((96, 80, 3)) * 255).astype(np.uint8)
    lr = downscale_x4(hr)
    ref = upscale_x4(m, lr, tile=16, overlap=6, path="reference")
    fast = upscale_x4(m, lr, tile=16, overlap=6)
    assert np.abs(ref.astype(int) - fast.astype(int)).max() <= 1  # float rounding at .5 only
    assert (ref != fast).mean() < 1e-3
    assert abs(_psnr_vs(hr, fast) - _psnr_vs(hr, ref)) < 1e-3


@pytest.mark.parametrize("name", ["srresnet-x4", "srgan-x4"])
def test_fast_upscale_equals_reference_on_the_embedded_checkpoint(name):
    from pathlib import Path

    from PIL import Image

    from models import hub

    model = hub.load(name, "embedded").model
    photo = Path(__file__).resolve().parent.parent / "demos" / "examples" / "astronaut_256.png"
    hr = np.asarray(Image.open(photo).convert("RGB"))[:128, :192]
    lr = downscale_x4(hr)
    ref = upscale_x4(model, lr, path="reference")
    fast = upscale_x4(model, lr)
    assert np.abs(ref.astype(int) - fast.astype(int)).max() <= 1
    assert abs(_psnr_vs(hr, fast) - _psnr_vs(hr, ref)) < 1e-3


# --- the fused path (issue #21, second round): oneDNN post-ops, the last conv before the shuffle


@pytest.mark.parametrize("k", [3, 5, 9])
def test_subpixel_conv_weight_moves_the_conv_before_the_shuffle(k):
    g = torch.Generator().manual_seed(k)
    weight, z = torch.randn(3, 4, k, k, generator=g), torch.randn(2, 16, 7, 5, generator=g)
    expected = torch.nn.functional.conv2d(torch.nn.functional.pixel_shuffle(z, 2), weight, padding=k // 2)
    moved, pad = subpixel_conv_weight(weight)
    assert moved.shape == (12, 16, k // 2 + 1 + (k % 4 == 3), k // 2 + 1 + (k % 4 == 3))
    got = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(z, moved, padding=pad), 2)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4)  # borders included (zero padding)
    with pytest.raises(ValueError, match="odd"):
        subpixel_conv_weight(torch.zeros(3, 4, 4, 4))


def _with_prelu_slopes(m: SRResNet, seed: int = 5) -> SRResNet:
    """Slopes other than PReLU's 0.25 default (and one negative), so the fused leaky ReLUs are
    checked against different values per layer."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for i, prelu in enumerate(mod for mod in m.modules() if isinstance(mod, torch.nn.PReLU)):
            prelu.weight.fill_(-0.3 if i == 1 else float(torch.rand(1, generator=g)))
    return m


@pytest.mark.parametrize("upscale, residual", [(2, False), (4, True), (4, False), (8, True)])
def test_fused_path_is_the_same_function(upscale, residual):
    torch.manual_seed(upscale)
    m = SRResNet(channels=8, num_rcb=2, upscale=upscale, bicubic_residual=residual).eval()
    m = _with_prelu_slopes(_set_bn_statistics(m, upscale))
    fused = fused_inference(m)
    assert isinstance(fused, FusedSRResNet)
    x = torch.rand(2, 3, 11, 9)
    with torch.inference_mode():
        ref, out = m(x), fused(x)
    assert out.shape == (2, 3, 11 * upscale, 9 * upscale)
    assert (ref - out).abs().max() < 1e-5
    assert fused_inference(m) is fused  # cached


def test_fused_path_follows_weight_updates_and_falls_back():
    m = _with_prelu_slopes(_tiny_sr_with_bn_statistics())
    first = fused_inference(m)
    with torch.no_grad():
        m.conv3.bias.add_(0.25)
    second = fused_inference(m)
    assert second is not first
    x = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        assert torch.allclose(second(x), m(x), atol=1e-5)
    # a PReLU with one slope per channel is not a leaky ReLU: the folded copy runs instead
    m.conv1[1] = torch.nn.PReLU(8)
    assert not FusedSRResNet.eligible(m)
    assert fused_inference(m) is inference_copy(m)


def test_every_path_gives_the_same_upscale():
    m = _with_prelu_slopes(_tiny_sr_with_bn_statistics())
    rng = np.random.default_rng(2)
    hr = (rng.random((80, 96, 3)) * 255).astype(np.uint8)
    lr = downscale_x4(hr)
    outs = {p: upscale_x4(m, lr, tile=16, overlap=6, path=p) for p in ("reference", "folded", "fused")}
    for p in ("folded", "fused"):
        assert np.abs(outs[p].astype(int) - outs["reference"].astype(int)).max() <= 1, p
        assert abs(_psnr_vs(hr, outs[p]) - _psnr_vs(hr, outs["reference"])) < 1e-3, p
    with pytest.raises(ValueError, match="path"):
        upscale_x4(m, lr, path="onnx")
