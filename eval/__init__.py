"""Evaluation metrics for generated images (PSNR, SSIM, Frechet distance)."""
