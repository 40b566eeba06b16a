"""DCGAN / AC-GAN: data, architectures, latent arithmetic helpers (their training runs: tests/test_training_generators.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data.faces import FaceAttributes, make_faces, random_attributes, render_face
from data.fashion_mnist import load_fashion_mnist, read_idx, to_tensor_range, write_idx
from models.classifiers import FaceAttributeClassifier, FashionClassifier, extract_features
from models.dcgan import (
    ACGANDiscriminator,
    ACGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    check_seed,
    generate,
    interpolation_latents,
    sample_z,
    vector_arithmetic,
)
from models.latent_arithmetic import check_slider, move_along, target_of


def test_faces_are_deterministic_and_attributes_show():
    a = make_faces(8, seed=3)
    b = make_faces(8, seed=3)
    assert a.images.shape == (8, 64, 64, 3) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images)
    assert not np.array_equal(a.images[0], a.images[1])  # jitter: no two alike
    base = random_attributes(np.random.default_rng(0), smile=False, glasses=False)
    neutral = render_face(base).astype(int)
    for changed in (FaceAttributes(**{**base.as_dict(), "smile": True}),
                    FaceAttributes(**{**base.as_dict(), "glasses": True})):  # fmt: skip
        diff = np.abs(render_face(changed).astype(int) - neutral).sum(axis=2)
        assert (diff > 30).sum() > 15  # the attribute changes a visible area ...
        assert (diff > 30).mean() < 0.2  # ... and only that area
    labels = a.labels()
    assert set(labels) == {"smile", "glasses", "hair", "skin", "background"}
    assert all(len(v) == 8 for v in labels.values())


def test_idx_round_trip_and_refusals(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "x.gz", images)
    assert np.array_equal(read_idx(tmp_path / "x.gz"), images)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="IDX"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
    with pytest.raises(ValueError, match="bytes of data"):
        read_idx(tmp_path / "short")
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist("test", tmp_path)
    x = to_tensor_range(images)
    assert x.shape == (5, 1, 32, 32) and x.min() >= -1 and x.max() <= 1


def test_architectures_shapes_and_ranges():
    torch.manual_seed(0)
    g, d = DCGANGenerator(width=8), DCGANDiscriminator(width=8)
    x = g(torch.randn(3, 100))
    assert x.shape == (3, 3, 64, 64) and x.abs().max() <= 1
    assert d(x).shape == (3,)
    ag, ad = ACGANGenerator(width=8), ACGANDiscriminator(width=8)
    y = ag(torch.randn(4, 100), torch.tensor([0, 1, 2, 9]))
    assert y.shape == (4, 1, 32, 32)
    adv, cls = ad(y)
    assert adv.shape == (4,) and cls.shape == (4, 10)
    # AC-GAN: the class changes the image for the same z from the first step
    z = torch.randn(1, 100).repeat(2, 1)
    ag.eval()
    two = ag(z, torch.tensor([0, 5]))
    assert (two[0] - two[1]).abs().mean() > 0.2 * two.abs().mean()
    f = FaceAttributeClassifier(width=4)(x)
    assert f["smile"].shape == (3,) and f["hair"].shape == (3, 5)
    assert FashionClassifier(width=4)(y).shape == (4, 10)
    assert extract_features(FashionClassifier(width=4), y).dtype == torch.float64


def test_save_load_round_trip_is_strict(tmp_path):
    torch.manual_seed(1)
    g = DCGANGenerator(width=8).eval()
    g.save_pretrained(tmp_path / "g")
    again = DCGANGenerator.from_pretrained(tmp_path / "g", strict=True)
    z = sample_z(2, 100, 0)
    assert np.array_equal(generate(g, z), generate(again, z))
    ag = ACGANGenerator(width=8).eval()
    ag.save_pretrained(tmp_path / "ag")
    again = ACGANGenerator.from_pretrained(tmp_path / "ag", strict=True)
    labels = torch.tensor([3, 7])
    assert np.array_equal(generate(ag, z, labels), generate(again, z, labels))
    assert generate(ag, z, labels).shape == (2, 32, 32, 3)


@pytest.mark.parametrize("value", [-1, 2**31, 1.5, float("nan"), float("inf"), "abc", None, True, 1e300])
def test_bad_seeds_are_refused(value):
    with pytest.raises(ValueError, match="seed"):
        check_seed(value)


def test_good_seeds_and_sampling_are_reproducible():
    assert check_seed(7) == 7 and check_seed(7.0) == 7 and check_seed("12") == 12
    assert torch.equal(sample_z(4, 10, 5), sample_z(4, 10, 5))
    assert not torch.equal(sample_z(4, 10, 5), sample_z(4, 10, 6))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -3.5, 1e9, "x", None])
def test_bad_slider_values_are_refused(value):
    with pytest.raises(ValueError):
        check_slider(value, "Smile")


def test_latent_helpers():
    z0, z1 = torch.randn(100), torch.randn(100)
    path = interpolation_latents(z0, z1, 5)
    assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    # slerp keeps the norm between the endpoints' (linear interpolation would shrink it)
    norms = path.norm(dim=1)
    assert norms.min() >= min(z0.norm(), z1.norm()) * 0.95
    a, b, c = torch.ones(3, 4), torch.zeros(3, 4), 2 * torch.ones(3, 4)
    assert torch.equal(vector_arithmetic(a, b, c), torch.full((4,), 3.0))
    assert target_of({"smile": 1, "glasses": 1}, {"smile": 0, "glasses": 1}, {"smile": 0, "glasses": 0}) \
        == {"smile": 1, "glasses": 0}
    moved = move_along(torch.zeros(4), {"smile": torch.ones(4)}, {"smile": 2.0, "unknown": 5.0})
    assert torch.equal(moved, torch.full((4,), 2.0))


def test_exemplar_search_is_cached_and_follows_weight_updates(monkeypatch):
    from models import latent_arithmetic as la

    torch.manual_seed(0)
    g, clf = DCGANGenerator(z_dim=8, width=4).eval(), FaceAttributeClassifier(width=4).eval()
    searches = []
    real = la._search_exemplars
    monkeypatch.setattr(la, "_search_exemplars", lambda *a: searches.append(a) or torch.ones(3, 8))
    concept = {"smile": 1}
    first = la.find_exemplars(g, clf, concept, seed=5, pools=(16,))
    first.add_(1)  # callers get a copy: the cached value cannot be changed through it
    assert torch.equal(la.find_exemplars(g, clf, concept, seed=5, pools=(16,)), torch.ones(3, 8))
    assert len(searches) == 1
    la.find_exemplars(g, clf, concept, seed=6, pools=(16,))  # another seed: another search
    with torch.no_grad():
        g.net[0].weight.mul_(2)  # new weights: the cache must not answer for them
    la.find_exemplars(g, clf, concept, seed=5, pools=(16,))
    assert len(searches) == 3
    monkeypatch.setattr(la, "_search_exemplars", real)
    z = la.find_exemplars(g, clf, {"smile": 1}, seed=1, pools=(8,), k=1)
    assert z is None or z.shape == (1, 8)


def test_checkerboard_excess_sees_a_transposed_convolution_pattern():
    from eval.metrics import checkerboard_excess, upsampling_frequencies

    assert upsampling_frequencies(64).sum() == 15 and not upsampling_frequencies(64)[0, 0]
    from data.faces import make_faces

    a, b = make_faces(64, 64, 3000).images, make_faces(64, 64, 3001).images
    yy, xx = np.mgrid[:64, :64]
    pattern = (((yy // 2) + (xx // 2)) % 2 * 2 - 1)[..., None]  # period 4 px
    checker = np.clip(b + 8.0 * pattern, 0, 255).astype(np.uint8)
    clean = checkerboard_excess(b, a)
    assert 0.5 < clean < 2.0
    assert checkerboard_excess(checker, a) > 10 * clean


def test_resize_generator_and_spectral_discriminator_shapes():
    torch.manual_seed(0)
    g = DCGANGenerator(width=4, upsample="resize")
    x = g(torch.randn(2, 100))
    assert x.shape == (2, 3, 64, 64)
    d = DCGANDiscriminator(width=4, norm="spectral")
    assert d(x).shape == (2,)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    with pytest.raises(ValueError, match="upsample"):
        DCGANGenerator(width=4, upsample="pixelshuffle")


def test_minibatch_std_lets_the_discriminator_see_the_rest_of_the_batch():
    """With the minibatch-deviation channel, a sample's logit depends on the batch it comes in (a
    collapsed batch reads differently from a varied one); without it (spectral norm, no batch norm)
    each logit depends on its own image only."""
    torch.manual_seed(0)
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    collapsed = x[:1].expand(4, -1, -1, -1)
    for mbstd in (False, True):
        d = DCGANDiscriminator(width=4, norm="spectral", minibatch_std=mbstd).eval()
        with torch.no_grad():
            varied, same = d(x)[0], d(collapsed)[0]
        assert d(x).shape == (4,)
        assert torch.allclose(varied, same) is (not mbstd)


def test_before_after_sheet_shows_both_checkpoints_on_the_same_seeds(tmp_path):
    from eval.before_after import sheet

    for name, seed in (("a", 0), ("b", 1)):
        torch.manual_seed(seed)
        DCGANGenerator(width=4).eval().save_pretrained(tmp_path / name)
    same = np.asarray(sheet("dcgan-faces", tmp_path / "a", tmp_path / "a"))
    different = np.asarray(sheet("dcgan-faces", tmp_path / "a", tmp_path / "b"))
    assert different.shape == same.shape and not np.array_equal(different, same)
    assert np.array_equal(different, np.asarray(sheet("dcgan-faces", tmp_path / "a", tmp_path / "b")))  # seeded
