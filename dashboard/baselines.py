"""Classical baselines the autoencoders are measured against, starting with PCA."""

from __future__ import annotations

import functools

import numpy as np
import torch
from sklearn.decomposition import PCA

from . import data


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
