"""Image-quality metrics (MSE, PSNR, SSIM) and batched inference helpers."""

from __future__ import annotations

import numpy as np
import torch

INFERENCE_BATCH = 1000


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


def ssim_per_image(x: torch.Tensor, x_hat: torch.Tensor) -> np.ndarray:
    """Structural similarity per image (scikit-image), window shrunk to fit tiny images."""
    from skimage.metrics import structural_similarity  # imported on first use: it slows the app's cold start

    a = torch.as_tensor(x).detach().cpu().numpy()[:, 0].astype(np.float64)
    b = torch.as_tensor(x_hat).detach().cpu().numpy()[:, 0].astype(np.float64)
    window = min(7, a.shape[1] - (1 - a.shape[1] % 2), a.shape[2] - (1 - a.shape[2] % 2))
    return np.array([structural_similarity(u, v, data_range=1.0, win_size=window) for u, v in zip(a, b)])


def ssim(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean structural similarity over a batch."""
    return float(ssim_per_image(x, x_hat).mean())
