"""Tests for eval.metrics against closed forms and scikit-image."""

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage import data
from skimage.metrics import structural_similarity

from eval.metrics import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
    psnr,
    psnr_rgb,
    rgb_to_y,
    ssim,
    ssim_rgb,
)

Y_WEIGHT_SUM = 65.481 + 128.553 + 24.966  # = 219, the Y gain for a grey RGB offset


def smooth_noise_rgb(seed: int, size: int = 64) -> np.ndarray:
    """(size, size, 3) uint8 'natural-ish' image: Gaussian-smoothed noise in [40, 215]."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.normal(size=(size, size, 3)), sigma=(2, 2, 0))
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return np.round(40 + 175 * noise).astype(np.uint8)


def test_rgb_to_y_known_values():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    expected = [16.0, 235.0, 16.0 + 65.481, 16.0 + 24.966]
    np.testing.assert_allclose(rgb_to_y(pixels)[0], expected, atol=1e-12)


def test_identical_images():
    img = smooth_noise_rgb(0)
    assert psnr(img, img) == math.inf
    assert psnr_rgb(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert ssim_rgb(img, img) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("error", [1, 3, 10])
def test_uniform_error_psnr(error):
    # Values in [40, 215] so adding up to 10 grey levels never clips.
    img = smooth_noise_rgb(1)
    shifted = img + np.uint8(error)
    assert psnr_rgb(img, shifted) == pytest.approx(20 * math.log10(255 / error), abs=1e-9)
    assert psnr(img, shifted, y_channel=False) == psnr_rgb(img, shifted)
    y_error = error * Y_WEIGHT_SUM / 255.0
    assert psnr(img, shifted) == pytest.approx(20 * math.log10(255 / y_error), abs=1e-9)


def test_psnr_gray_image():
    img = np.full((16, 16), 100, dtype=np.uint8)
    other = img.copy()
    other[0, 0] = 110  # MSE = 100 / 256
    assert psnr(img, other) == pytest.approx(10 * math.log10(255**2 * 256 / 100), abs=1e-9)


def test_crop_border_removes_border_error():
    img = smooth_noise_rgb(2, size=32)
    corrupted = img.copy()
    corrupted[:3] = 0
    corrupted[:, -3:] = 255
    assert math.isfinite(psnr(img, corrupted))
    assert psnr(img, corrupted, crop_border=3) == math.inf
    assert psnr_rgb(img, corrupted, crop_border=3) == math.inf
    assert ssim(img, corrupted) < 1.0
    assert ssim(img, corrupted, crop_border=3) == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_skimage_valid_region():
    a, b = smooth_noise_rgb(3), smooth_noise_rgb(4)
    for ours_a, ours_b, kwargs in (
        (rgb_to_y(a), rgb_to_y(b), {"y_channel": True}),
        (a[..., 1].astype(np.float64), b[..., 1].astype(np.float64), {"y_channel": False}),
    ):
        _, ssim_map = structural_similarity(
            ours_a, ours_b, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=255, full=True,
        )
        reference = ssim_map[5:-5, 5:-5].mean()
        if kwargs["y_channel"]:
            ours = ssim(a, b)
        else:
            ours = ssim(a[..., 1], b[..., 1])
        assert ours == pytest.approx(reference, abs=1e-6)


def test_ssim_rgb_close_to_skimage_channel_mean():
    a = smooth_noise_rgb(5)
    rng = np.random.default_rng(6)
    b = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    reference = structural_similarity(
        a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=255, channel_axis=2,
    )
    assert 0.0 < ssim_rgb(a, b) < 1.0
    assert ssim_rgb(a, b) == pytest.approx(reference, abs=1e-2)


def test_real_photo_degraded():
    photo = data.astronaut()
    rng = np.random.default_rng(7)
    blurred = ndimage.gaussian_filter(photo.astype(np.float64), sigma=(1.5, 1.5, 0))
    degraded = np.clip(np.round(blurred + rng.normal(0, 5, photo.shape)), 0, 255).astype(np.uint8)
    y_psnr, rgb_psnr = psnr(photo, degraded, crop_border=4), psnr_rgb(photo, degraded, crop_border=4)
    assert math.isfinite(y_psnr) and math.isfinite(rgb_psnr)
    assert 15.0 < rgb_psnr < 45.0
    assert y_psnr != pytest.approx(rgb_psnr, abs=1e-3)
    for value in (ssim(photo, degraded, crop_border=4), ssim_rgb(photo, degraded, crop_border=4)):
        assert 0.0 < value < 1.0


@pytest.mark.parametrize("metric", [psnr, ssim, psnr_rgb, ssim_rgb])
def test_image_input_errors(metric):
    img = smooth_noise_rgb(8, size=32)
    with pytest.raises(ValueError, match="shape"):
        metric(img, img[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        nan_img = img.astype(np.float64)
        nan_img[3, 3, 0] = np.nan
        metric(nan_img, img)
    with pytest.raises(ValueError, match="crop_border"):
        metric(img, img, crop_border=16)
    with pytest.raises(ValueError):
        metric(img[..., :2], img[..., :2])


def test_ssim_rejects_too_small_image():
    img = smooth_noise_rgb(9, size=20)
    with pytest.raises(ValueError, match="11x11"):
        ssim(img, img, crop_border=5)


def test_frechet_identical_gaussians():
    rng = np.random.default_rng(10)
    factor = rng.normal(size=(6, 6))
    sigma = factor @ factor.T + 0.1 * np.eye(6)
    mu = rng.normal(size=6)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_same_covariance_different_means():
    rng = np.random.default_rng(11)
    factor = rng.normal(size=(5, 5))
    sigma = factor @ factor.T + np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    expected = float(np.sum((mu1 - mu2) ** 2))
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("m1, s1, m2, s2", [(0.0, 1.0, 0.0, 2.0), (1.5, 0.5, -2.0, 3.0), (3.0, 2.0, 3.0, 2.0)])
def test_frechet_one_dimensional(m1, s1, m2, s2):
    expected = (m1 - m2) ** 2 + s1**2 + s2**2 - 2 * s1 * s2
    assert frechet_distance(m1, s1**2, m2, s2**2) == pytest.approx(expected, abs=1e-10)
    assert frechet_distance([m1], [[s1**2]], [m2], [[s2**2]]) == pytest.approx(expected, abs=1e-10)


def test_frechet_diagonal_covariances():
    var1 = np.array([1.0, 4.0, 0.25, 9.0])
    var2 = np.array([2.0, 1.0, 0.25, 16.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, -1.0, 0.5])
    expected = np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2) + np.sum((mu1 - mu2) ** 2)
    actual = frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert actual == pytest.approx(expected, abs=1e-10)


def test_frechet_symmetric():
    rng = np.random.default_rng(12)
    f1, f2 = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    s1, s2 = f1 @ f1.T + 0.5 * np.eye(8), f2 @ f2.T + 0.5 * np.eye(8)
    m1, m2 = rng.normal(size=8), rng.normal(size=8)
    forward, backward = frechet_distance(m1, s1, m2, s2), frechet_distance(m2, s2, m1, s1)
    assert forward > 0
    assert forward == pytest.approx(backward, rel=1e-9)


def test_frechet_from_samples_approaches_closed_form():
    rng = np.random.default_rng(13)
    std1, std2 = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5])
    mu1, mu2 = np.array([0.0, 0.0, 1.0]), np.array([1.0, -1.0, 1.0])
    f1 = mu1 + std1 * rng.standard_normal((200_000, 3))
    f2 = mu2 + std2 * rng.standard_normal((200_000, 3))
    expected = np.sum((std1 - std2) ** 2) + np.sum((mu1 - mu2) ** 2)  # = 1.25 + 2
    mu, sigma = feature_statistics(f1)
    assert mu.dtype == np.float64 and sigma.shape == (3, 3)
    np.testing.assert_allclose(sigma, np.diag(std1**2), atol=0.03)
    assert frechet_distance_from_features(f1, f2) == pytest.approx(expected, abs=0.03)


def test_frechet_singular_covariance_is_finite():
    rng = np.random.default_rng(14)
    f1, f2 = rng.normal(size=(5, 20)), rng.normal(size=(5, 20))  # N < D: rank-deficient
    value = frechet_distance_from_features(f1, f2)
    assert math.isfinite(value) and value > 0


def test_frechet_input_errors():
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="differ"):
        frechet_distance_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        feature_statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="mismatch"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
