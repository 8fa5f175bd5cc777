"""Classical baselines the autoencoders are measured against, starting with PCA."""

from __future__ import annotations

import functools

import numpy as np
import torch
from scipy import ndimage
from sklearn.decomposition import PCA

from dashboard.core import data


def fit_pca(x_train: torch.Tensor, k: int, seed: int = 0) -> PCA:
    """PCA with k components on flattened training images."""
    return PCA(n_components=k, random_state=seed).fit(x_train.reshape(len(x_train), -1).numpy())


def pca_reconstruct(pca: PCA, x: torch.Tensor) -> torch.Tensor:
    """Project onto the k components and back, clipped to the valid pixel range; same shape as x."""
    flat = x.reshape(len(x), -1).numpy()
    rebuilt = pca.inverse_transform(pca.transform(flat)).clip(0.0, 1.0)
    return torch.from_numpy(rebuilt.astype(np.float32)).reshape(x.shape)


@functools.lru_cache(maxsize=16)
def pca_for(dataset: str, k: int) -> PCA:
    """The PCA-k baseline fitted on a dataset's train split, cached per process."""
    return fit_pca(data.load(dataset).x_train, k)


def pca_test_mse(dataset: str, k: int) -> float:
    """Per-pixel test MSE of PCA-k, the number every ae-k is compared with."""
    ds = data.load(dataset)
    rebuilt = pca_reconstruct(pca_for(dataset, k), ds.x_test)
    return float((rebuilt - ds.x_test).pow(2).mean())


def median_filter(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Median of each pixel's size x size neighbourhood, per image and channel (the classic cure for impulse noise)."""
    # A window of 1 along batch and channel keeps images and channels apart while scipy filters all at once.
    filtered = ndimage.median_filter(x.detach().cpu().numpy(), size=(1, 1, size, size), mode="nearest")
    return torch.from_numpy(filtered).to(x.dtype)


def gaussian_blur(x: torch.Tensor, sigma: float = 0.8) -> torch.Tensor:
    """Gaussian smoothing with a standard deviation of sigma pixels, per image and channel."""
    blurred = ndimage.gaussian_filter(x.detach().cpu().numpy(), sigma=(0.0, 0.0, sigma, sigma), mode="nearest")
    return torch.from_numpy(blurred).clamp(0.0, 1.0).to(x.dtype)


def pca_denoise(x: torch.Tensor, dataset: str, k: int) -> torch.Tensor:
    """Project images onto the top k principal components of the clean training set and back, clipped to [0, 1]."""
    return pca_reconstruct(pca_for(dataset, k), x)
