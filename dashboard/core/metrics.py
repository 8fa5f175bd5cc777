"""Image-quality metrics (MSE, PSNR, SSIM) and batched inference helpers."""

from __future__ import annotations

import numpy as np
import torch

INFERENCE_BATCH = 1000
DATA_RANGE = 1.0  # pixels lie in [0, 1]
SSIM_WINDOW = 7  # scikit-image's default window side
SSIM_K1, SSIM_K2 = 0.01, 0.03  # the stabilisers of Wang et al. (2004), as scikit-image uses them


def reconstruct(model: torch.nn.Module, x: torch.Tensor, batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
    """decode(encode(x)) in batches, without autograd."""
    with torch.inference_mode():
        return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def encode(model: torch.nn.Module, x: torch.Tensor, batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
    """Latent codes (N, k) in batches, without autograd."""
    with torch.inference_mode():
        return torch.cat([model.encode(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def mse_per_image(x: torch.Tensor, x_hat: torch.Tensor) -> np.ndarray:
    """Mean squared error per image, pixels in [0, 1]: shape (N,)."""
    diff = (torch.as_tensor(x) - torch.as_tensor(x_hat)).reshape(len(x), -1)
    return diff.pow(2).mean(dim=1).double().numpy()


def mse(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean per-pixel squared error over a batch."""
    return float(mse_per_image(x, x_hat).mean())


def psnr_per_image(x: torch.Tensor, x_hat: torch.Tensor) -> np.ndarray:
    """Peak signal-to-noise ratio in dB per image, for a peak of 1; capped where an image is exact."""
    errors = np.maximum(mse_per_image(x, x_hat), 1e-10)
    return 10.0 * np.log10(1.0 / errors)


def psnr(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean of per-image PSNR (dB), the convention of denoising papers."""
    return float(psnr_per_image(x, x_hat).mean())


def ssim_window(height: int, width: int) -> int:
    """The side of the SSIM window: scikit-image's default 7, or the largest odd side a smaller image holds."""
    side = min(SSIM_WINDOW, height, width)
    side = side if side % 2 else side - 1
    if side < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {height}x{width}.")
    return side


def ssim_map(x: torch.Tensor, x_hat: torch.Tensor) -> np.ndarray:
    """Local structural similarity (N, C, H-w+1, W-w+1) of images in [0, 1], w = ssim_window: one value per window
    that lies inside the image.

    These are scikit-image's structural_similarity values with its defaults (a uniform w x w window, sample
    covariance, data range 1), computed for the whole batch at once with the same scipy filter it uses.
    """
    from scipy.ndimage import uniform_filter  # imported on first use: it slows the app's cold start

    a = torch.as_tensor(x).detach().cpu().numpy().astype(np.float64)  # (N, C, H, W)
    b = torch.as_tensor(x_hat).detach().cpu().numpy().astype(np.float64)
    height, width = a.shape[-2:]
    side = ssim_window(height, width)
    size = (1, 1, side, side)  # a window of 1 along the batch and channel axes: each image is filtered on its own

    def local_mean(values: np.ndarray) -> np.ndarray:
        return uniform_filter(values, size)

    unbiased = side ** 2 / (side ** 2 - 1)  # sample covariance, as scikit-image's default
    mu_a, mu_b = local_mean(a), local_mean(b)
    var_a = unbiased * (local_mean(a * a) - mu_a * mu_a)
    var_b = unbiased * (local_mean(b * b) - mu_b * mu_b)
    cov = unbiased * (local_mean(a * b) - mu_a * mu_b)
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    local = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    pad = (side - 1) // 2  # the windows that overhang the border are left out, as scikit-image does
    return local[..., pad:height - pad, pad:width - pad]


def ssim_per_image(x: torch.Tensor, x_hat: torch.Tensor, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """Structural similarity per image (N,), in [-1, 1]: the mean of its ssim_map (over its channels too)."""
    if len(x) == 0:
        return np.zeros(0)
    return np.concatenate([ssim_map(x[i:i + batch_size], x_hat[i:i + batch_size]).mean(axis=(1, 2, 3))
                           for i in range(0, len(x), batch_size)])


def ssim(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean structural similarity over a batch."""
    return float(ssim_per_image(x, x_hat).mean())
