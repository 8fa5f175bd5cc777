"""PCA of the same activations, the dense baseline: its directions, their reconstruction and their selectivity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import sae as sae_net


@dataclass(frozen=True)
class Directions:
    """Principal directions of a set of activations, the largest variance first."""

    mean: np.ndarray  # (inputs,)
    components: np.ndarray  # (inputs, inputs): row i is direction i, unit length
    explained: np.ndarray  # (inputs,) share of the variance along each direction

    def scores(self, activations: np.ndarray, n: int | None = None) -> np.ndarray:
        """Coordinates (N, n) of activations (N, inputs) along the first n directions: every one is non-zero."""
        return (np.asarray(activations, dtype=np.float64) - self.mean) @ self.components[:n].T

    def fve(self, activations: np.ndarray, n: int) -> float:
        """Fraction of the variance of activations explained by the first n directions (around the fitted mean)."""
        centred = np.asarray(activations, dtype=np.float64) - self.mean
        recon = self.scores(activations, n) @ self.components[:n]
        return float(1.0 - ((centred - recon) ** 2).sum() / ((centred - centred.mean(0)) ** 2).sum())


def fit(activations: np.ndarray) -> Directions:
    """PCA by SVD of the centred activations (N, inputs); each direction's sign is fixed so its mean |score| leans +."""
    a = np.asarray(activations, dtype=np.float64)
    mean = a.mean(0)
    _, singular, vt = np.linalg.svd(a - mean, full_matrices=False)
    # SVD's sign is arbitrary: flip each direction so its larger tail is positive, which makes runs comparable.
    tails = np.sign(((a - mean) @ vt.T) ** 3).sum(0)
    vt = vt * np.where(tails < 0, -1.0, 1.0)[:, None]
    variance = singular ** 2
    return Directions(mean, vt, variance / variance.sum())


def end_purity(scores: np.ndarray, labels: np.ndarray, top: int = sae_net.TOP_IMAGES) -> np.ndarray:
    """Class purity of each direction's top images (n,), taking the better of its two ends.

    A PCA direction has no sign of its own, so each is given its best chance: its `top` highest and its `top`
    lowest images are scored, and the purer end counts.
    """
    values = torch.tensor(np.asarray(scores, dtype=np.float32))
    y = torch.tensor(np.asarray(labels, dtype=np.int64))
    high, low = sae_net.top_purity(values, y, top), sae_net.top_purity(-values, y, top)
    return torch.maximum(high, low).numpy()


def feature_purity(codes: np.ndarray, labels: np.ndarray, top: int = sae_net.TOP_IMAGES) -> np.ndarray:
    """Class purity of each SAE feature's top images (width,); NaN where it fires on fewer than `top` images."""
    values = torch.tensor(np.asarray(codes, dtype=np.float32))
    scores = sae_net.top_purity(values, torch.tensor(np.asarray(labels, dtype=np.int64)), top).numpy()
    return np.where((np.asarray(codes) > 0).sum(0) >= top, scores, np.nan)
