"""The test split's codes as 3D points: the code values themselves, PCA or t-SNE, with what hover needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import ThreadpoolController

from dashboard.compression.rate_distortion import TestSetCodes

PROJECTIONS = ("native", "pca", "tsne")
# scikit-learn's t-SNE runs on its own OpenMP runtime, which the app's torch thread policy does not reach; the limit
# is scoped to one call and to the calling thread.
_THREADPOOLS = ThreadpoolController()


@dataclasses.dataclass(frozen=True)
class TsneConfig:
    """t-SNE settings: three output dimensions are far slower than two, so the run is kept short and cached."""

    max_points: int = 1000  # at most this many test images are embedded
    perplexity: float = 30.0  # effective neighbourhood size
    max_iter: int = 500  # including the 250 early-exaggeration steps; visibly converged on mnist-5k codes
    angle: float = 0.8  # Barnes-Hut trade-off: higher is faster and coarser
    openmp_threads: int = 1  # OpenMP threads spin-wait, which slows t-SNE down on a small shared CPU
    seed: int = 0


@dataclasses.dataclass
class LatentView:
    """Points to draw in 3D, one per test image, with what hover needs."""

    points: np.ndarray  # (N, 3)
    labels: np.ndarray  # (N,)
    errors: np.ndarray  # (N,) reconstruction MSE of each image
    indices: np.ndarray  # (N,) positions in the test split
    description: str  # how the points were made, for the caption


def project_3d(codes: np.ndarray, how: str = "pca", tsne: TsneConfig = TsneConfig()) -> tuple[np.ndarray, str]:
    """Codes (N, k) -> points (N, 3): "native" (k <= 3, padded with zeros), "pca" or "tsne"."""
    codes = np.asarray(codes, dtype=np.float64)
    n, k = codes.shape
    if how == "native":
        if k > 3:
            raise ValueError(f"A {k}-value code cannot be drawn natively in 3D; use 'pca' or 'tsne'.")
        padded = np.hstack([codes, np.zeros((n, 3 - k))])
        return padded, ("the 3 code values themselves" if k == 3 else f"the {k} code values (flat in the rest)")
    if how == "pca":
        if k <= 3:
            return project_3d(codes, "native")
        pca = PCA(n_components=3, random_state=0).fit(codes)
        share = 100 * pca.explained_variance_ratio_.sum()
        return pca.transform(codes), f"PCA of the {k} code values to 3 ({share:.0f}% of their variance)"
    if how == "tsne":
        perplexity = min(tsne.perplexity, max(2.0, (n - 1) / 3))  # t-SNE needs perplexity < n
        model = TSNE(n_components=3, perplexity=perplexity, max_iter=tsne.max_iter, angle=tsne.angle, init="pca",
                     random_state=tsne.seed)
        with _THREADPOOLS.limit(limits=tsne.openmp_threads, user_api="openmp"):
            points = model.fit_transform(codes)
        return points, f"t-SNE of the {k} code values to 3 (distances between clusters mean little)"
    raise ValueError(f"Unknown projection {how!r}; expected one of {PROJECTIONS}.")


def latent_view(codes: TestSetCodes, labels: Sequence[int], how: str = "pca",
                tsne: TsneConfig = TsneConfig()) -> LatentView:
    """The test split's codes as 3D points; t-SNE is limited to the first tsne.max_points images."""
    n = min(len(codes.codes), tsne.max_points) if how == "tsne" else len(codes.codes)
    points, description = project_3d(codes.codes[:n], how, tsne)
    return LatentView(points, np.asarray(labels)[:n], codes.mse[:n], np.arange(n),
                      f"{codes.name}: {description}, {n} test images")
