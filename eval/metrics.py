"""Image-quality and distribution metrics, numpy/scipy only.

PSNR and SSIM follow BasicSR's ``calculate_psnr`` / ``calculate_ssim``
conventions: images are compared as float64 on the [0, 255] scale, the
optional Y channel is the unrounded ITU-R BT.601 luma (as MATLAB's
``rgb2ycbcr``), and SSIM (Wang et al. 2004) uses an 11x11 Gaussian window with
sigma 1.5 and averages the SSIM map over the 'valid' region only.

The Frechet distance is the one used by FID: the distance between two
Gaussians fitted to feature vectors.

R-precision (AttnGAN's text-image retrieval metric) scores a CLIP's embeddings
(torch, imported when it is called).
"""

import logging
import math

import numpy as np
from scipy import linalg, ndimage

logger = logging.getLogger(__name__)

# ITU-R BT.601 luma weights for RGB in [0, 1], giving Y in [16, 235].
_Y_OFFSET = 16.0
_Y_WEIGHTS_RGB = np.array([65.481, 128.553, 24.966])

_SSIM_WINDOW_SIZE = 11
_SSIM_SIGMA = 1.5
_SSIM_C1 = (0.01 * 255.0) ** 2
_SSIM_C2 = (0.03 * 255.0) ** 2


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Convert an RGB image to its BT.601 luma (Y) channel, as MATLAB ``rgb2ycbcr``.

    Args:
        img: (H, W, 3) RGB image, uint8 or float with values in [0, 255].

    Returns:
        (H, W) float64 Y channel in [16, 235] (not rounded).
    """
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects an (H, W, 3) RGB image, got shape {img.shape}")
    rgb_unit = img.astype(np.float64) / 255.0
    return _Y_OFFSET + rgb_unit @ _Y_WEIGHTS_RGB


def _prepare_pair(
    a: np.ndarray, b: np.ndarray, crop_border: int, y_channel: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two images and return them as cropped float64 (H, W, C) arrays on [0, 255]."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"Image shapes differ: {a.shape} vs {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    elif a.ndim != 3 or a.shape[2] not in (1, 3):
        raise ValueError(f"Expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {a.shape}")
    for name, img in (("a", a), ("b", b)):
        if not (np.issubdtype(img.dtype, np.integer) or np.issubdtype(img.dtype, np.floating)):
            raise ValueError(f"Image {name} has unsupported dtype {img.dtype}")
        if not np.all(np.isfinite(img)):
            raise ValueError(f"Image {name} contains non-finite values (NaN or inf)")
    if isinstance(crop_border, bool) or not isinstance(crop_border, (int, np.integer)) or crop_border < 0:
        raise ValueError(f"crop_border must be a non-negative int, got {crop_border!r}")

    height, width = a.shape[:2]
    if 2 * crop_border >= height or 2 * crop_border >= width:
        raise ValueError(
            f"crop_border={crop_border} leaves no pixels of a {height}x{width} image"
        )
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]

    if y_channel and a.shape[2] == 3:
        return rgb_to_y(a)[..., None], rgb_to_y(b)[..., None]
    return a.astype(np.float64), b.astype(np.float64)


def psnr(
    a: np.ndarray,
    b: np.ndarray,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    max_value: float = 255.0,
) -> float:
    """Peak signal-to-noise ratio in dB (BasicSR convention).

    Args:
        a, b: images of identical shape, (H, W, 3) RGB or (H, W) / (H, W, 1) gray,
            uint8 or float with values in [0, 255].
        crop_border: pixels removed from each of the four borders before comparing.
        y_channel: for RGB input, compare the BT.601 Y channel; otherwise all channels.
        max_value: peak signal value.

    Returns:
        PSNR in dB; ``inf`` for identical images.
    """
    a_f, b_f = _prepare_pair(a, b, crop_border, y_channel)
    mse = float(np.mean((a_f - b_f) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(max_value**2 / mse)


def _gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """(size,) normalised Gaussian weights centred on the middle tap."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    weights = np.exp(-(offsets**2) / (2.0 * sigma**2))
    return weights / weights.sum()


def _filter_valid(img: np.ndarray, kernel_1d: np.ndarray) -> np.ndarray:
    """Separable 2-D filtering of an (H, W) image, keeping only the 'valid' region.

    Returns an (H - k + 1, W - k + 1) array whose values never touch padded pixels.
    """
    radius = len(kernel_1d) // 2
    filtered = ndimage.correlate1d(img, kernel_1d, axis=0, mode="constant")
    filtered = ndimage.correlate1d(filtered, kernel_1d, axis=1, mode="constant")
    return filtered[radius:-radius, radius:-radius]


def _ssim_single_channel(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over the valid region of two (H, W) float64 images on [0, 255]."""
    kernel = _gaussian_kernel_1d(_SSIM_WINDOW_SIZE, _SSIM_SIGMA)
    mu_a = _filter_valid(a, kernel)
    mu_b = _filter_valid(b, kernel)
    mu_a_sq, mu_b_sq, mu_ab = mu_a**2, mu_b**2, mu_a * mu_b
    var_a = _filter_valid(a * a, kernel) - mu_a_sq
    var_b = _filter_valid(b * b, kernel) - mu_b_sq
    cov_ab = _filter_valid(a * b, kernel) - mu_ab
    ssim_map = ((2.0 * mu_ab + _SSIM_C1) * (2.0 * cov_ab + _SSIM_C2)) / (
        (mu_a_sq + mu_b_sq + _SSIM_C1) * (var_a + var_b + _SSIM_C2)
    )
    return float(ssim_map.mean())


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
) -> float:
    """Structural similarity (Wang et al. 2004; BasicSR convention).

    Gaussian window 11x11 with sigma 1.5, C1 = (0.01*255)^2, C2 = (0.03*255)^2;
    the SSIM map is averaged over the 'valid' region (5 pixels trimmed per side)
    and, for multi-channel comparison, averaged over channels.

    Args:
        a, b: images of identical shape, (H, W, 3) RGB or (H, W) / (H, W, 1) gray,
            uint8 or float with values in [0, 255]; at least 11x11 after cropping.
        crop_border: pixels removed from each of the four borders before comparing.
        y_channel: for RGB input, compare the BT.601 Y channel; otherwise all channels.

    Returns:
        Mean SSIM, at most 1.0 (1.0 for identical images).
    """
    a_f, b_f = _prepare_pair(a, b, crop_border, y_channel)
    height, width = a_f.shape[:2]
    if height < _SSIM_WINDOW_SIZE or width < _SSIM_WINDOW_SIZE:
        raise ValueError(
            f"SSIM needs at least {_SSIM_WINDOW_SIZE}x{_SSIM_WINDOW_SIZE} pixels after "
            f"cropping, got {height}x{width}"
        )
    per_channel = [
        _ssim_single_channel(a_f[..., c], b_f[..., c]) for c in range(a_f.shape[2])
    ]
    return float(np.mean(per_channel))


def psnr_rgb(a: np.ndarray, b: np.ndarray, *, crop_border: int = 0, max_value: float = 255.0) -> float:
    """PSNR over all RGB channels; shorthand for ``psnr(..., y_channel=False)``."""
    return psnr(a, b, crop_border=crop_border, y_channel=False, max_value=max_value)


def ssim_rgb(a: np.ndarray, b: np.ndarray, *, crop_border: int = 0) -> float:
    """SSIM averaged over RGB channels; shorthand for ``ssim(..., y_channel=False)``."""
    return ssim(a, b, crop_border=crop_border, y_channel=False)


def _as_gaussian(mu: np.ndarray, sigma: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one Gaussian's parameters: mu -> (D,), sigma -> (D, D), both float64."""
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1:
        raise ValueError(f"mu{name} must be 1-D, got shape {mu.shape}")
    if sigma.shape != (mu.size, mu.size):
        raise ValueError(
            f"sigma{name} must have shape ({mu.size}, {mu.size}) to match mu{name}, got {sigma.shape}"
        )
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"mu{name}/sigma{name} contain non-finite values")
    return mu, sigma


def _sqrtm_is_usable(root: np.ndarray, matrix: np.ndarray, rtol: float = 1e-5) -> bool:
    """True when ``root`` is finite and ``root @ root`` reproduces ``matrix``."""
    if not np.all(np.isfinite(root)):
        return False
    matrix_norm = linalg.norm(matrix)
    if matrix_norm == 0.0:
        return True
    return linalg.norm(root @ root - matrix) <= rtol * matrix_norm


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    *,
    eps: float = 1e-6,
) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrtm(sigma1 @ sigma2)).

    Args:
        mu1, mu2: (D,) means (scalars allowed for D = 1).
        sigma1, sigma2: (D, D) covariance matrices (scalars allowed for D = 1).
        eps: diagonal offset added to both covariances when the product's square
            root is numerically unreliable (near-singular covariances).

    Returns:
        The (squared) Frechet distance, >= 0; tiny negative rounding is clamped to 0.
    """
    mu1, sigma1 = _as_gaussian(mu1, sigma1, "1")
    mu2, sigma2 = _as_gaussian(mu2, sigma2, "2")
    if mu1.size != mu2.size:
        raise ValueError(f"Dimension mismatch: {mu1.size} vs {mu2.size}")

    product = sigma1 @ sigma2
    covmean = linalg.sqrtm(product)
    if not _sqrtm_is_usable(covmean, product):
        logger.warning("sqrtm(sigma1 @ sigma2) is unreliable; adding %g to the covariance diagonals", eps)
        offset = eps * np.eye(mu1.size)
        product = (sigma1 + offset) @ (sigma2 + offset)
        covmean = linalg.sqrtm(product)
        if not np.all(np.isfinite(covmean)):
            raise ValueError("Matrix square root is not finite even after the eps offset")

    if np.iscomplexobj(covmean):
        max_imag = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if max_imag > 1e-3:
            raise ValueError(f"sqrtm(sigma1 @ sigma2) has a large imaginary component ({max_imag:.3g})")
        covmean = covmean.real

    mean_diff = mu1 - mu2
    distance = (
        float(mean_diff @ mean_diff)
        + float(np.trace(sigma1))
        + float(np.trace(sigma2))
        - 2.0 * float(np.trace(covmean))
    )
    return max(distance, 0.0)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a set of feature vectors.

    Args:
        features: (N, D) array with N >= 2 finite rows.

    Returns:
        (mu, sigma): (D,) mean and (D, D) unbiased covariance, both float64.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be an (N, D) array, got shape {features.shape}")
    if features.shape[0] < 2:
        raise ValueError(f"Need at least 2 feature vectors for a covariance, got {features.shape[0]}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features contain non-finite values")
    mu = features.mean(axis=0)
    sigma = np.atleast_2d(np.cov(features, rowvar=False))
    return mu, sigma


def frechet_distance_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two (N1, D) and (N2, D) feature sets."""
    features1 = np.asarray(features1)
    features2 = np.asarray(features2)
    if features1.ndim == 2 and features2.ndim == 2 and features1.shape[1] != features2.shape[1]:
        raise ValueError(
            f"Feature dimensions differ: {features1.shape[1]} vs {features2.shape[1]}"
        )
    mu1, sigma1 = feature_statistics(features1)
    mu2, sigma2 = feature_statistics(features2)
    return frechet_distance(mu1, sigma1, mu2, sigma2)


def gradient_energy_ratio(output: np.ndarray, reference: np.ndarray, *, crop_border: int = 0) -> float:
    """Sharpness of `output` relative to `reference`: mean squared Sobel gradient magnitude of the
    Y channel of each, as a ratio (1.0 = as much high-frequency energy as the reference; blurry
    upscalers score well below 1, hallucinated texture can exceed it).

    Args:
        output, reference: (H, W, 3) RGB, uint8 or float in [0, 255], same shape.
    """
    a, b = _prepare_pair(output, reference, crop_border, y_channel=True)

    def energy(y: np.ndarray) -> float:
        gx, gy = ndimage.sobel(y, axis=1), ndimage.sobel(y, axis=0)
        return float(np.mean(gx**2 + gy**2))

    a, b = a[..., 0], b[..., 0]
    ref = energy(b)
    if ref == 0:
        raise ValueError("the reference image is flat: gradient energy ratio is undefined")
    return energy(a) / ref


R_PRECISION_CANDIDATES = 100  # the true caption among 99 others (AttnGAN's R-precision protocol)


def r_precision(clip, images: np.ndarray, captions: list[str], seed: int = 0, keys: list | None = None) -> float:
    """Fraction of images whose own caption scores strictly highest among it and 99 captions of
    other scenes (R-precision with R = 1, AttnGAN's protocol), with `clip` (a SceneCLIP) on
    (N, H, W, 3) uint8 images and their N captions. Distractors that say the same thing are never
    drawn (a second 'a red ball' is not a wrong answer): those with an equal key, by default the
    caption text; pass data.text_scenes.content_key(scene) to also treat 'a red ball and a blue
    cube' and 'a blue cube and a red ball' as the same. Deterministic given `seed`."""
    from models.scene_clip import encode_batched

    rng = np.random.default_rng(seed)
    keys = keys if keys is not None else captions
    t = encode_batched(clip, captions, "text", 256)
    v = encode_batched(clip, images, "image", 256)
    same = np.array([[a == b for b in keys] for a in keys])
    hits = 0
    for i in range(len(images)):
        pool = np.flatnonzero(~same[i])
        others = rng.choice(pool, min(R_PRECISION_CANDIDATES - 1, len(pool)), replace=False)
        own = float(v[i] @ t[i])
        hits += bool(own > float((t[others] @ v[i]).max()))
    return hits / len(images)


# --- checkerboard artefacts ----------------------------------------------------------------------


def mean_power_spectrum(images: np.ndarray) -> np.ndarray:
    """Mean 2-D power spectrum |FFT|^2 of the luma of (N, H, W, 3) uint8 (or (N, H, W) grey) images,
    each image's mean removed first; float64 (H, W), frequency (0, 0) at index (0, 0)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x @ np.array([0.299, 0.587, 0.114])
    x = x - x.mean(axis=(1, 2), keepdims=True)
    return (np.abs(np.fft.fft2(x)) ** 2).mean(0)


def upsampling_frequencies(size: int, periods: tuple[int, ...] = (2, 4)) -> np.ndarray:
    """Boolean (size, size) mask of the frequencies where x2 upsampling layers leave their pattern:
    every (u, v) that is a multiple of size / max(periods), except (0, 0). For a 64 px output and
    periods 2 and 4 (the last two x2 layers): the 15 frequencies with u, v in {0, 16, 32, 48}."""
    step = size // max(periods)
    mask = np.zeros((size, size), dtype=bool)
    mask[::step, ::step] = True
    mask[0, 0] = False
    return mask


def checkerboard_excess(generated: np.ndarray, reference: np.ndarray, periods: tuple[int, ...] = (2, 4)) -> float:
    """How much more power `generated` has than `reference` at the upsampling frequencies, relative to
    how much more it has everywhere: mean_{f in peaks} P_g/P_r divided by median_{all other f} P_g/P_r
    (the mean, so one strong peak counts). About 1 = no excess at those frequencies (two sets of real
    images); a transposed-convolution checkerboard gives several times that."""
    pg, pr = mean_power_spectrum(generated), mean_power_spectrum(reference)
    ratio = pg / np.maximum(pr, 1e-12)
    peaks = upsampling_frequencies(pg.shape[0], periods)
    others = ~peaks
    others[0, 0] = False
    return float(ratio[peaks].mean() / np.median(ratio[others]))
